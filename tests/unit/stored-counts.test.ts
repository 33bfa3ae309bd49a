// The stored exports counted per tree as ingest tells of them: the detector uses an ingest worker's judgement
// without asking storage only where this count is exact, so every way it can be incomplete must say "unknown".
import { describe, expect, it } from 'vitest';
import { StoredCounts } from '../../detector/stored-counts';

const id = (n: number) => n.toString(16).padStart(32, '0');
const ids = (...ns: number[]) => ns.map(id);

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('stored exports counted per tree', () => {
  it('counts each tree’s stored exports once counting has started, and knows nothing before', () => {
    const c = clock();
    const counts = new StoredCounts(c.now);
    counts.add(ids(1, 2), true);
    expect(counts.count(id(1))).toBeNull();
    counts.start(500);
    expect(counts.storedBeforeMs()).toBe(500);
    counts.add(ids(1), true);
    c.advance(30_000);
    counts.add(ids(1, 3), true);
    expect(counts.count(id(1))).toBe(3);
    expect(counts.count(id(3))).toBe(1);
    expect(counts.count(id(4))).toBe(0);
  });

  it('says unknown for a tree an export stored in part, or one found by reading the activity index', () => {
    const counts = new StoredCounts(clock().now);
    counts.start(0);
    counts.add(ids(1, 2), false);
    counts.add(ids(3), true);
    counts.uncount(id(3));
    expect(counts.count(id(1))).toBeNull();
    expect(counts.count(id(2))).toBeNull();
    expect(counts.count(id(3))).toBeNull();
  });

  it('keeps exact counts for a minute at least, then remembers the trees as "maybe stored", never as unstored', () => {
    const c = clock();
    const counts = new StoredCounts(c.now);
    counts.start(0);
    counts.add(ids(1), true);
    c.advance(61_000);
    counts.add(ids(2), true);
    expect(counts.count(id(1))).toBe(1);
    c.advance(61_000);
    expect(counts.count(id(1))).toBeNull();
    expect(counts.count(id(2))).toBe(1);
    c.advance(61_000);
    expect(counts.count(id(2))).toBeNull();
    // A tree never stored is still known as such.
    expect(counts.count(id(9))).toBe(0);
    expect(counts.storedBeforeMs()).toBe(0);
  });

  it('never counts a tree of a generation on its way into the filter as unstored, while it moves or after', () => {
    const c = clock();
    const counts = new StoredCounts(c.now);
    counts.start(0);
    const many = Array.from({ length: 20_000 }, (_, n) => n + 1);
    counts.add(ids(...many), true);
    c.advance(61_000);
    counts.add(ids(1), true);
    c.advance(61_000);
    // The first generation now leaves the exact counts, moved into the filter a few hundred trees per call.
    for (const n of [20_000, 19_999, 10_000, 2, 5_000]) expect(counts.count(id(n))).toBeNull();
    for (let call = 0; call < 200; call++) counts.count(id(1_000_000 + call));
    for (const n of many) expect(counts.count(id(n))).toBeNull();
  });

  it('once it forgets old exports, bounds what it forgot by time', () => {
    const c = clock();
    const counts = new StoredCounts(c.now);
    counts.start(0);
    counts.add(ids(1), true);
    const before = c.now();
    // Two filter generations of 15 minutes are kept: past that the oldest trees are forgotten.
    for (let m = 0; m < 40; m++) {
      c.advance(60_000);
      counts.add(ids(100 + m), true);
    }
    expect(counts.storedBeforeMs()).toBeGreaterThan(before);
    expect(counts.storedBeforeMs()).toBeLessThanOrEqual(c.now());
  });

  it('past 200,000 trees found by reading the index, drops them and bounds them by time from then', () => {
    const c = clock();
    const counts = new StoredCounts(c.now);
    counts.start(0);
    for (let n = 0; n < 200_000; n++) counts.uncount(id(n));
    expect(counts.storedBeforeMs()).toBe(0);
    c.advance(1000);
    counts.uncount(id(300_000));
    expect(counts.storedBeforeMs()).toBe(c.now());
    expect(counts.count(id(300_000))).toBeNull();
  });
});
