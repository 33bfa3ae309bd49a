// Pure display formatting shared by the list and the trace page. No React here.

const ISO_RE = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * ISO-8601 → epoch milliseconds, keeping sub-millisecond digits as a fraction (span timestamps are
 * nanosecond precision; Date.parse alone would drop or reject the extra digits). A missing offset is
 * read as UTC.
 */
export function parseTimeMs(iso: string): number {
  const m = ISO_RE.exec(iso);
  if (!m) return Date.parse(iso);
  const base = Date.parse(`${m[1].replace(' ', 'T')}${m[3] ?? 'Z'}`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + frac;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms === 0) return '0 ms';
  if (ms < 0.9995) return `${Math.max(1, Math.round(ms * 1000))} µs`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const totalS = Math.round(s);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const sec = totalS % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(sec).padStart(2, '0')}s`;
}

export function formatRelative(iso: string, now: number): string {
  const t = parseTimeMs(iso);
  if (!Number.isFinite(t)) return '—';
  const diff = Math.round((now - t) / 1000);
  if (diff < 5) return 'just now';
  if (diff < 60) return `${diff}s ago`;
  if (diff < 3600) return `${Math.floor(diff / 60)}m ago`;
  if (diff < 86_400) return `${Math.floor(diff / 3600)}h ago`;
  if (diff < 7 * 86_400) return `${Math.floor(diff / 86_400)}d ago`;
  return formatAbsolute(iso);
}

export function formatAbsolute(iso: string): string {
  const t = parseTimeMs(iso);
  if (!Number.isFinite(t)) return iso;
  const d = new Date(t);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatInt(n: number): string {
  return intFmt.format(n);
}

/** USD with enough precision that a single cheap call is not rounded to $0.00. */
export function formatUsd(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '$0.00';
  if (v < 0.0001) return '<$0.0001';
  if (v < 0.01) return `$${v.toFixed(4)}`;
  if (v < 1) return `$${v.toFixed(3)}`;
  return `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function shortId(id: string, n = 8): string {
  return id.length > n ? id.slice(0, n) : id;
}

// ---- Console pages (alerts, spend, settings) ----

/** Three significant digits and a unit: 950, 12.4k, 3.73M, 1.2B. Token counts and other large tallies. */
export function formatCompact(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  if (a < 999.5) return sign + formatInt(a);
  const units = [['k', 1e3], ['M', 1e6], ['B', 1e9]] as const;
  // Round to three digits first, then pick the unit the rounded value fits: 999,950 reads 1.00M, not 1000k.
  let i = 0;
  while (i < units.length - 1 && Number((a / units[i][1]).toPrecision(3)) >= 1000) i++;
  const v = Number((a / units[i][1]).toPrecision(3));
  return `${sign}${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[i][0]}`;
}

/** "1.2M tokens", "1 token". */
export function formatTokens(n: number): string {
  return `${formatCompact(n)} ${n === 1 ? 'token' : 'tokens'}`;
}

/** USD for chart axes: short, never more than 4 characters of digits ($0.05, $1.20, $12, $1.2k). */
export function formatUsdShort(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '$0';
  if (v < 0.01) return `$${v.toPrecision(1)}`;
  if (v < 10) return `$${v.toFixed(2)}`;
  if (v < 1000) return `$${Math.round(v)}`;
  return `$${formatCompact(v)}`;
}

/** Spend per minute, e.g. "$0.42/min"; "—" when there is no rate. */
export function formatUsdPerMinute(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '—' : `${formatUsd(v)}/min`;
}

/** A share of a whole as a percentage: "42%", "4.2%", "<0.1%", "0%". */
export function formatShare(part: number, whole: number): string {
  if (!(whole > 0) || !Number.isFinite(part) || part <= 0) return '0%';
  const p = (part / whole) * 100;
  if (p < 0.1) return '<0.1%';
  if (p < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * A chart's time tick in local time, as precise as its buckets: "14:05" for buckets under a day's worth of
 * hours, "Nov 28 14:00" for hour buckets, "Nov 28" once a bucket is a quarter of a day or more.
 */
export function formatTimeTick(ms: number, bucketMs: number): string {
  const d = new Date(ms);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  const day = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
  if (bucketMs < 3_600_000) return hm;
  if (bucketMs < 6 * 3_600_000) return `${day} ${hm}`;
  return day;
}

/** A bucket as a span of local time, for tooltips: "Nov 28 14:00–14:15", or with both days when it crosses one. */
export function formatBucket(ms: number, bucketMs: number): string {
  const from = new Date(ms);
  const to = new Date(ms + bucketMs);
  const day = (d: Date) => `${MONTHS[d.getMonth()]} ${d.getDate()}`;
  const hm = (d: Date) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return day(from) === day(to) ? `${day(from)} ${hm(from)}–${hm(to)}` : `${day(from)} ${hm(from)} – ${day(to)} ${hm(to)}`;
}

/** A whole interval in its largest unit: "1 min", "15 min", "2 h", "1 day", "45 s". */
export function formatInterval(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '—';
  if (ms % 86_400_000 === 0) return ms === 86_400_000 ? '1 day' : `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}
