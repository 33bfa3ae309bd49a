import { z } from 'zod';
import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { issuesText, readJsonBody } from '@/lib/server/request-body';
import { detectorSettingsSchema } from '@/detector/settings';
import { BACKTEST_MAX_TREES, backtestStored } from '@/detector/backtest';

export const dynamic = 'force-dynamic';

const DAY_MS = 24 * 3600_000;

const body = z.strictObject({
  /** What a PUT of /api/detector/rules would hold: fields left out take their defaults. */
  rules: z.unknown().optional(),
  since: z.union([z.number(), z.string()]).optional(),
  until: z.union([z.number(), z.string()]).optional(),
  /** At most this many trees. Trees are read in trace-id order, and ids are random: a limit samples the range evenly. */
  limit: z.number().int().min(1).max(BACKTEST_MAX_TREES).optional(),
});

/** ms since the epoch, or an ISO-8601 time; a bare number as a string counts as ms. */
function timeOf(v: number | string | undefined, fallback: number): number | null {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (/^\d{1,15}$/.test(v)) return Number(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return null; // Date.parse takes odd strings ("1", "May") too
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

// One backtest at a time per process: it is seconds of reading and CPU, and a second one would only halve both.
let running = false;

/**
 * Replays proposed rule settings over the trees stored in [since, until] (default: the last 24 h) and says
 * which trees each rule would have flagged, compared with the settings in force. Creates no alerts.
 */
export const POST = apiRoute(
  async (request: Request) => {
    const raw = await readJsonBody(request);
    if (!raw.ok) return raw.response;
    const parsed = body.safeParse(raw.value);
    if (!parsed.success) return jsonError(400, issuesText(parsed.error.issues));
    const rules = detectorSettingsSchema.safeParse(parsed.data.rules ?? {});
    if (!rules.success) return jsonError(400, issuesText(rules.error.issues.map((i) => ({ ...i, path: ['rules', ...i.path] }))));
    const now = Date.now();
    const untilMs = timeOf(parsed.data.until, now);
    if (untilMs === null) return jsonError(400, 'until: not a time (ISO-8601, or ms since the epoch)');
    const sinceMs = timeOf(parsed.data.since, untilMs - DAY_MS);
    if (sinceMs === null) return jsonError(400, 'since: not a time (ISO-8601, or ms since the epoch)');
    if (sinceMs > untilMs) return jsonError(400, 'since: must not be after until');
    if (running) return jsonError(503, 'Another backtest is running; try again when it ends', { 'retry-after': '5' });
    running = true;
    try {
      return json(await backtestStored(getRuntime().storage, { proposed: rules.data, sinceMs, untilMs, now, maxTrees: parsed.data.limit, signal: request.signal }));
    } finally {
      running = false;
    }
  },
  { heavy: true, write: true },
);
