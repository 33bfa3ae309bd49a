// The trace page's derived numbers and names: pure, so they are unit-tested (tests/unit/trace-numbers.test.ts).
import type { Alert, SpanView, TraceSummary } from '@/lib/domain';
import { parseTimeMs } from '../format';

/**
 * Spend per minute over the tree's life so far: its cost over the time from its first span's start to its last
 * news (now, for a running tree). Null when there is no spend or no time to spread it over (under a second).
 */
export function burnRatePerMin(t: Pick<TraceSummary, 'costUsd' | 'startTime' | 'lastSeen' | 'durationMs' | 'status'>, nowMs: number): number | null {
  if (!(t.costUsd > 0)) return null;
  const start = parseTimeMs(t.startTime);
  const end = t.status === 'running' ? Math.max(nowMs, parseTimeMs(t.lastSeen)) : start + t.durationMs;
  const life = Math.max(end - start, t.durationMs);
  if (!Number.isFinite(life) || life < 1000) return null;
  return t.costUsd / (life / 60_000);
}

/**
 * How a tree is called: its root's name; until the root arrives, its earliest known top span's agent or name.
 * `provisional` says the root has not arrived.
 */
export function treeName(rootName: string, spans: readonly Pick<SpanView, 'depth' | 'startTime' | 'agentName' | 'name'>[]): { name: string; provisional: boolean } {
  if (rootName) return { name: rootName, provisional: false };
  let earliest: (typeof spans)[number] | null = null;
  let at = Infinity;
  for (const s of spans) {
    if (s.depth !== 0) continue;
    const t = parseTimeMs(s.startTime);
    if (t < at) (at = t), (earliest = s);
  }
  if (!earliest) return { name: '', provisional: true };
  return { name: earliest.agentName && !earliest.name.includes(earliest.agentName) ? `${earliest.agentName} · ${earliest.name}` : earliest.name, provisional: true };
}

export interface Tick {
  /** Time from the trace's start, ms. */
  atMs: number;
  /** Share of the scale, 0–100. */
  pct: number;
}

const STEPS = [1, 2, 5];

/** Most intervals the tree's timeline column (~140 px wide) shows: at five, labels such as "500ms" and "1s" overlapped. */
export const TIMELINE_MAX_TICKS = 3;

/** Round time ticks for a waterfall of `durationMs`: at most `maxTicks`, every `stepMs` from 0. */
export function timeTicks(durationMs: number, maxTicks = 5): { stepMs: number; ticks: Tick[] } {
  if (!(durationMs > 0)) return { stepMs: 0, ticks: [{ atMs: 0, pct: 0 }] };
  let stepMs = 0;
  for (let exp = -3; stepMs === 0; exp++) {
    for (const m of STEPS) {
      const step = m * 10 ** exp;
      if (durationMs / step <= maxTicks) {
        stepMs = step;
        break;
      }
    }
  }
  const ticks: Tick[] = [];
  for (let k = 0; k * stepMs <= durationMs + 1e-9; k++) ticks.push({ atMs: k * stepMs, pct: ((k * stepMs) / durationMs) * 100 });
  return { stepMs, ticks };
}

/** A tick's label: "0", "250ms", "1.5s", "2m", "1m30s". */
export function tickLabel(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${Number(ms.toPrecision(3))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toPrecision(3))}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (ms < 3_600_000) return s ? `${m}m${s}s` : `${m}m`;
  const h = Math.floor(ms / 3_600_000);
  const rm = Math.round((ms % 3_600_000) / 60_000);
  return rm ? `${h}h${rm}m` : `${h}h`;
}

/** A span's start and end (ms since the epoch); a running span runs until `nowMs`. */
export function spanExtent(s: Pick<SpanView, 'startTime' | 'endTime' | 'durationMs' | 'running'>, nowMs: number): { startMs: number; endMs: number } {
  const startMs = parseTimeMs(s.startTime);
  if (s.running) return { startMs, endMs: Math.max(startMs, nowMs) };
  const end = parseTimeMs(s.endTime);
  return { startMs, endMs: Number.isFinite(end) ? Math.max(end, startMs) : startMs + (s.durationMs || 0) };
}

/** Alerts not resolved, by each span they name (the branch's root and the evidence's spans), worst first. */
export function alertsBySpan(alerts: readonly Alert[]): Map<string, Alert[]> {
  const out = new Map<string, Alert[]>();
  const live = alerts.filter((a) => a.status !== 'resolved').sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1));
  for (const a of live) {
    for (const id of new Set([a.spanId, ...(a.evidence?.spanIds ?? [])])) {
      const list = out.get(id);
      if (list) list.push(a);
      else out.set(id, [a]);
    }
  }
  return out;
}

/** A share of a whole for a bar, 0–100 (0 when the whole is not positive). */
export function sharePct(part: number, whole: number): number {
  if (!(whole > 0) || !(part > 0)) return 0;
  return Math.min(100, (part / whole) * 100);
}
