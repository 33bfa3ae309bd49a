// How many stored exports carried each tree, counted as ingest tells of them (stored-feed.ts): on the embedded
// store, whose only writer is this process, that tells the detector whether storage holds exactly the spans an
// ingest worker judged a tree from, without the per-tick read of the trace index that asked storage (~25–30 ms
// of the engine at full ingest, which the next insert waited for). Exact for the last one to two minutes; older
// exports are remembered in a filter that can only say "maybe" (a tree it names is asked of storage, as is any
// tree this process may not have seen every export of: one found by reading the activity index, one whose export
// was stored in part). What was stored before counting began is bounded by time instead (stream-judgements.ts).

/** Two exact generations of this length: every export of the last GENERATION_MS at least. */
const GENERATION_MS = 60_000;
/** Older exports' trees, in filter generations of this length (two kept). */
const FILTER_GENERATION_MS = 15 * 60_000;
/** Bits per filter generation (2 MiB): ~18 bits per tree at 1,000 trees/s for 15 min; more trees, more "maybe". */
const FILTER_BITS = 1 << 24;
const FILTER_HASHES = 6;
/**
 * Trees of a generation leaving the exact counts moved into the filter per call: a generation holds ~60,000 trees
 * at full ingest, and hashing them all at once held the event loop ~10–20 ms.
 */
const MOVED_PER_CALL = 256;
/** Trees whose exports may not all be counted; past this the set is dropped and counting starts over from then. */
const MAX_UNCOUNTED = 200_000;

interface Generation {
  fromMs: number;
  stored: Map<string, number>;
}

/** A Bloom filter of trace ids: no false "no". */
class TreeFilter {
  private readonly bits = new Uint32Array(FILTER_BITS / 32);
  constructor(readonly fromMs: number) {}

  add(traceId: string): void {
    const a = hashA(traceId);
    const b = hashB(traceId);
    for (let i = 0; i < FILTER_HASHES; i++) {
      const bit = (a + Math.imul(i, b)) >>> 0 & (FILTER_BITS - 1);
      this.bits[bit >>> 5] |= 1 << (bit & 31);
    }
  }

  /** `a`, `b`: the id's hashes (hashA, hashB), made once for every filter asked. */
  has(a: number, b: number): boolean {
    for (let i = 0; i < FILTER_HASHES; i++) {
      const bit = (a + Math.imul(i, b)) >>> 0 & (FILTER_BITS - 1);
      if ((this.bits[bit >>> 5] & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

// Two FNV-1a hashes of the id, for double hashing (ids are meant to be random, but a client may send any 32 hex
// digits).
function hashA(s: string): number {
  let a = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) a = Math.imul(a ^ s.charCodeAt(i), 0x01000193);
  return a >>> 0;
}

function hashB(s: string): number {
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) b = Math.imul(b ^ s.charCodeAt(i), 0x5bd1e995);
  return (b | 1) >>> 0;
}

export class StoredCounts {
  private current: Generation;
  private previous: Generation | null = null;
  private filter: TreeFilter;
  private filterBefore: TreeFilter | null = null;
  /** The generation before `previous`, on its way into the filter (still asked until it is all there). */
  private leaving: { stored: Map<string, number>; ids: Iterator<string> } | null = null;
  private readonly uncounted = new Set<string>();
  /** Every export stored from here on is counted here or in the filters, or its tree is uncounted. */
  private coveredFromMs: number;
  private started = false;

  constructor(private readonly now: () => number = Date.now) {
    const t = now();
    this.current = { fromMs: t, stored: new Map() };
    this.filter = new TreeFilter(t);
    this.coveredFromMs = -Infinity;
  }

  /**
   * Counting is of use from here on: what was stored before is known to end by `storedBeforeMs` (ingest time,
   * ms), except the trees `uncount` is told of (the detector's catch-up read of the activity index).
   */
  start(storedBeforeMs: number): void {
    this.coveredFromMs = Math.max(this.coveredFromMs, storedBeforeMs);
    this.started = true;
  }

  /** An export's trees, stored; `whole`: all of its writes stored (else its trees are uncounted). */
  add(traceIds: readonly string[], whole: boolean): void {
    this.rotate();
    this.moveLeaving(MOVED_PER_CALL);
    const stored = this.current.stored;
    for (const id of traceIds) {
      if (!whole) this.uncount(id);
      else stored.set(id, (stored.get(id) ?? 0) + 1);
    }
  }

  /** Storage may hold spans of this tree that were never counted here. */
  uncount(traceId: string): void {
    if (this.uncounted.size >= MAX_UNCOUNTED) {
      // Every tree dropped here was stored before now: bounded by time from here on, like what came before counting.
      this.uncounted.clear();
      this.coveredFromMs = Math.max(this.coveredFromMs, this.now());
    }
    this.uncounted.add(traceId);
  }

  /**
   * The stored exports that carried this tree, when every one since `storedBeforeMs()` is counted; null when
   * not known (counting not started, a tree uncounted, or one of its exports older than the exact counts, or
   * maybe: the filter).
   */
  count(traceId: string): number | null {
    this.rotate();
    this.moveLeaving(MOVED_PER_CALL);
    if (!this.started || this.uncounted.has(traceId) || this.leaving?.stored.has(traceId)) return null;
    const a = hashA(traceId);
    const b = hashB(traceId);
    if (this.filter.has(a, b) || this.filterBefore?.has(a, b)) return null;
    return (this.current.stored.get(traceId) ?? 0) + (this.previous?.stored.get(traceId) ?? 0);
  }

  /**
   * Exports stored before this time (ingest time, ms) are not counted: a tree counted here has no other stored
   * span only if all of its spans are later than that (with a slack for clocks: stream-judgements.ts).
   */
  storedBeforeMs(): number {
    this.rotate();
    return this.coveredFromMs;
  }

  private rotate(): void {
    const t = this.now();
    if (t - this.current.fromMs < GENERATION_MS) return;
    // (rarely left: only when a minute brought fewer calls than trees)
    this.moveLeaving(Infinity);
    if (this.previous) {
      if (t - this.filter.fromMs >= FILTER_GENERATION_MS) {
        // The older filter's exports are forgotten: the time bound covers them from here on.
        if (this.filterBefore) this.coveredFromMs = Math.max(this.coveredFromMs, this.filter.fromMs);
        this.filterBefore = this.filter;
        this.filter = new TreeFilter(this.previous.fromMs);
      }
      this.leaving = { stored: this.previous.stored, ids: this.previous.stored.keys() };
    }
    this.previous = this.current;
    this.current = { fromMs: t, stored: new Map() };
  }

  private moveLeaving(max: number): void {
    const leaving = this.leaving;
    if (!leaving) return;
    for (let n = 0; n < max; n++) {
      const next = leaving.ids.next();
      if (next.done) {
        this.leaving = null;
        return;
      }
      this.filter.add(next.value);
    }
  }
}
