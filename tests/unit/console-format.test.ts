// Formatters the console pages added to components/format.ts: numbers for humans.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatBucket, formatCompact, formatInterval, formatShare, formatTimeTick, formatTokens, formatUsdPerMinute, formatUsdShort } from '../../components/format';

describe('formatCompact', () => {
  it('gives three significant digits and a unit', () => {
    expect(formatCompact(0)).toBe('0');
    expect(formatCompact(950)).toBe('950');
    expect(formatCompact(999)).toBe('999');
    expect(formatCompact(1000)).toBe('1.00k');
    expect(formatCompact(12_400)).toBe('12.4k');
    expect(formatCompact(3_730_784)).toBe('3.73M');
    expect(formatCompact(1_200_000_000)).toBe('1.20B');
    expect(formatCompact(-45_600)).toBe('-45.6k');
  });

  it('rounds into the next unit rather than printing 1000k', () => {
    expect(formatCompact(999.6)).toBe('1.00k');
    expect(formatCompact(999_950)).toBe('1.00M');
    expect(formatCompact(99_960)).toBe('100k');
  });

  it('says nothing for what is not a number', () => {
    expect(formatCompact(Number.NaN)).toBe('—');
    expect(formatCompact(Infinity)).toBe('—');
  });
});

describe('formatTokens', () => {
  it('names the unit, singular for one', () => {
    expect(formatTokens(1)).toBe('1 token');
    expect(formatTokens(1_200_000)).toBe('1.20M tokens');
  });
});

describe('formatUsdShort', () => {
  it('is short enough for an axis', () => {
    expect(formatUsdShort(0)).toBe('$0');
    expect(formatUsdShort(0.004)).toBe('$0.004');
    expect(formatUsdShort(0.05)).toBe('$0.05');
    expect(formatUsdShort(1.2)).toBe('$1.20');
    expect(formatUsdShort(12.4)).toBe('$12');
    expect(formatUsdShort(1234)).toBe('$1.23k');
  });
});

describe('formatUsdPerMinute', () => {
  it('is a cost per minute, or a dash without a rate', () => {
    expect(formatUsdPerMinute(0.42)).toBe('$0.420/min');
    expect(formatUsdPerMinute(0.0042)).toBe('$0.0042/min');
    expect(formatUsdPerMinute(null)).toBe('—');
  });
});

describe('formatShare', () => {
  it('is a percentage with precision where it matters', () => {
    expect(formatShare(1, 4)).toBe('25%');
    expect(formatShare(42, 1000)).toBe('4.2%');
    expect(formatShare(1, 10_000)).toBe('<0.1%');
    expect(formatShare(0, 10)).toBe('0%');
    expect(formatShare(5, 0)).toBe('0%');
  });
});

describe('formatInterval', () => {
  it('names a bucket size in its largest whole unit', () => {
    expect(formatInterval(60_000)).toBe('1 min');
    expect(formatInterval(15 * 60_000)).toBe('15 min');
    expect(formatInterval(2 * 3_600_000)).toBe('2 h');
    expect(formatInterval(86_400_000)).toBe('1 day');
    expect(formatInterval(1_000)).toBe('1 s');
    expect(formatInterval(0)).toBe('—');
  });
});

describe('time ticks and buckets (local time)', () => {
  const tz = process.env.TZ;
  beforeEach(() => {
    process.env.TZ = 'UTC';
  });
  afterEach(() => {
    process.env.TZ = tz;
  });
  const t = Date.UTC(2026, 10, 28, 14, 5);

  it('shows as much of the time as the buckets resolve', () => {
    expect(formatTimeTick(t, 60_000)).toBe('14:05');
    expect(formatTimeTick(t, 15 * 60_000)).toBe('14:05');
    expect(formatTimeTick(t, 2 * 3_600_000)).toBe('Nov 28 14:05');
    expect(formatTimeTick(t, 6 * 3_600_000)).toBe('Nov 28');
  });

  it('spells a bucket as a span, with both days when it crosses midnight', () => {
    expect(formatBucket(t, 15 * 60_000)).toBe('Nov 28 14:05–14:20');
    expect(formatBucket(Date.UTC(2026, 10, 28, 18), 6 * 3_600_000)).toBe('Nov 28 18:00 – Nov 29 00:00');
  });
});
