// A simulator plan → the spans storage would hold for it, without sending anything: each planned span is
// shaped as the OTLP decoder hands it to ingest (what sim/player.ts makes the OTel SDK emit: the planned
// ids, times, attributes, status and events, the service per role) and run through the real normaliser
// (ingest/normalise `normaliseSpan`), so rules see exactly the rows `spans` would hold: category, agent
// and tool names, call_signature, error type, tokens and the USD cost from the real price table.
// Used by the offline evaluation (scripts/eval.ts) and the detector's unit tests.
import { createPriceBook, type PriceBook } from '../../lib/server/prices';
import { normaliseSpan, spanOrigin, type SpanOrigin } from '../../ingest/normalise';
import type { DecodedSpan, SpanRow } from '../../ingest/types';
import type { PlanSpan, TreePlan } from '../../sim/plan';
import { buildSnapshot, detectorSpan, type DetectorSpan, type TreeSnapshot } from '../snapshot';

let prices: PriceBook | null = null;
const origins = new Map<string, SpanOrigin>();

/** The SDK resource each simulated process reports (sim/tracer.ts), keyed by role and scope. */
function originOf(service: string, role: PlanSpan['service'], scope: string): SpanOrigin {
  const key = `${service}\0${role}\0${scope}`;
  let origin = origins.get(key);
  if (!origin) {
    origin = spanOrigin(
      {
        'service.name': role === 'main' ? service : `${service}-worker`,
        'service.version': '1.4.2',
        'deployment.environment.name': 'simulation',
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.name': 'opentelemetry',
      },
      scope,
    );
    origins.set(key, origin);
  }
  return origin;
}

const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

function nanos(epochMs: number): string {
  // Integer ms and the sub-ms remainder, so the nanosecond string is exact.
  const whole = Math.floor(epochMs);
  const frac = Math.round((epochMs - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(frac)).toString();
}

export interface PlanRowsOptions {
  /** Epoch ms of the tree's start (the player's anchor). Default: the tree ends now. */
  anchorMs?: number;
  service?: string;
  /** Only spans that have ended by this offset (ms from the tree start) were exported: a live tree's view. */
  endedBy?: number;
}

/** The `spans` rows the plan's tree becomes once stored. */
export function planRows(plan: TreePlan, opts: PlanRowsOptions = {}): SpanRow[] {
  prices ??= createPriceBook({});
  const anchor = opts.anchorMs ?? Date.now() - plan.durationMs - 1;
  const service = opts.service ?? 'sim-agents';
  const rows: SpanRow[] = [];
  for (const s of plan.spans) {
    if (opts.endedBy !== undefined && s.end > opts.endedBy) continue;
    const decoded: DecodedSpan = {
      traceId: plan.traceId,
      spanId: s.spanId,
      parentSpanId: s.parent < 0 ? '' : plan.spans[s.parent]!.spanId,
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: nanos(anchor + s.start),
      endTimeUnixNano: nanos(anchor + s.end),
      attributes: { ...s.attributes },
      statusCode: STATUS_CODE[s.status],
      statusMessage: s.status === 'error' ? s.statusMessage : '',
      events: s.events.map((e) => ({ name: e.name, timeUnixNano: nanos(anchor + e.at), attributes: { ...e.attributes } })),
    };
    rows.push(normaliseSpan(decoded, originOf(service, s.service, s.scope), { prices, retentionDays: 30 }));
  }
  return rows;
}

export function planSpans(plan: TreePlan, opts: PlanRowsOptions = {}): DetectorSpan[] {
  return planRows(plan, opts).map(detectorSpan);
}

/** The snapshot a rule would see of this planned tree once stored (finished, or as of `endedBy`). */
export function planSnapshot(plan: TreePlan, opts: PlanRowsOptions & { now?: number } = {}): TreeSnapshot {
  const anchor = opts.anchorMs ?? Date.now() - plan.durationMs - 1;
  const spans = planSpans(plan, { ...opts, anchorMs: anchor });
  const now = opts.now ?? anchor + (opts.endedBy ?? plan.durationMs) + 1;
  return buildSnapshot(spans, { traceId: plan.traceId, now });
}
