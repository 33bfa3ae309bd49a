// Plays a planned tree through the OTel SDK: every span start and end happens in time order (real or
// compressed), so parallel branches overlap, ids come from the plan, and each agent looks for a kill
// between its steps and stops its branch when Canopy says so.

import { ROOT_CONTEXT, SpanStatusCode, trace, type Context, type HrTime, type Span } from '@opentelemetry/api';
import type { Clock } from './clock';
import type { PlannedIdGenerator } from './ids';
import type { KillChecker, KillStatus, SpanAsk } from './kills';
import type { PlanSpan, TreePlan } from './plan';
import type { Tracing } from './tracer';

export interface PlayOptions {
  tracing: Tracing;
  ids: PlannedIdGenerator;
  clock: Clock;
  kills: KillChecker | null;
  signal?: AbortSignal;
}

export interface PlayResult {
  startedAt: number; // epoch ms of the root start
  spansSent: number; // spans started (and therefore ended and exported)
  killed: boolean;
  killedSpans: number; // spans ended early with status "killed"
  skippedSpans: number; // planned spans never started because their branch was killed
  interrupted: boolean; // the simulator was stopped mid-tree
}

export const KILLED_MESSAGE = 'killed';
export const STOPPED_MESSAGE = 'simulator stopped';

interface PlayEvent {
  at: number;
  end: boolean;
  span: PlanSpan;
}

function toHrTime(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

function timeline(plan: TreePlan): PlayEvent[] {
  const events: PlayEvent[] = [];
  for (const span of plan.spans) {
    events.push({ at: span.start, end: false, span }, { at: span.end, end: true, span });
  }
  // Same instant: starts before ends; parents start before children and end after them.
  events.sort((a, b) => {
    if (a.at !== b.at) return a.at - b.at;
    if (a.end !== b.end) return a.end ? 1 : -1;
    return a.end ? b.span.index - a.span.index : a.span.index - b.span.index;
  });
  return events;
}

export async function playTree(plan: TreePlan, opts: PlayOptions): Promise<PlayResult> {
  const { tracing, ids, clock, kills, signal } = opts;
  const spans = plan.spans;
  const anchor = clock.anchor(plan.durationMs);
  const live = new Map<number, Span>();
  const gone = new Set<number>(); // ended early or skipped: their planned events are ignored
  const byId = new Map(spans.map((s) => [s.spanId, s.index]));
  const detachedParents = new Set(spans.filter((s) => s.detached).map((s) => s.parent));
  const result: PlayResult = {
    startedAt: anchor,
    spansSent: 0,
    killed: false,
    killedSpans: 0,
    skippedSpans: 0,
    interrupted: false,
  };
  let played = 0; // the offset the last event was played at: earlier than planned once a killed branch's time is skipped
  // A killed branch ends now, not when the plan said: what was planned after its end (the parent going on,
  // the root finishing) moves earlier by the time it would still have taken, but never before what was
  // played already (a sibling branch still running): the skip shrinks to fit, so steps keep their durations.
  // Applied once per tree, for the first branch killed.
  let skipFrom = Infinity;
  let skip = 0;
  const shifted = (planned: number): number => (planned >= skipFrom ? planned - skip : planned);
  const timeOf = (planned: number): number => {
    if (planned >= skipFrom && planned - skip < played) skip = Math.max(0, planned - played);
    return Math.max(played, shifted(planned));
  };
  let stop = false;

  const isUnder = (index: number, roots: Set<number>): boolean => {
    for (let i = index; i >= 0; i = spans[i]!.parent) if (roots.has(i)) return true;
    return false;
  };

  /** Ends live spans (deepest first) with an error; they are over, whatever the plan said. */
  const endEarly = (indices: number[], message: string): void => {
    const at = toHrTime(clock.now(anchor + played));
    indices.sort((a, b) => b - a);
    for (const index of indices) {
      const span = live.get(index);
      if (!span) continue;
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      if (message === KILLED_MESSAGE) {
        span.setAttribute('error.type', 'killed');
        result.killedSpans++;
      }
      span.end(at);
      live.delete(index);
      gone.add(index);
    }
  };

  const applyKill = (status: KillStatus): void => {
    if (!status.killed) return;
    if (status.traceKilled) {
      endEarly([...live.keys()], KILLED_MESSAGE);
      stop = true;
      return;
    }
    const roots = new Set<number>();
    for (const id of status.spanIds) {
      const index = byId.get(id);
      if (index !== undefined) roots.add(index);
    }
    if (roots.size === 0) return;
    endEarly([...live.keys()].filter((i) => isUnder(i, roots)), KILLED_MESSAGE);
    const plannedEnd = Math.max(...[...roots].map((i) => spans[i]!.end));
    const now = Math.max(played, clock.now(anchor + played) - anchor);
    if (skipFrom === Infinity && plannedEnd > now) (skipFrom = plannedEnd), (skip = plannedEnd - now);
    for (const index of roots) gone.add(index);
    if (roots.has(0)) stop = true;
  };

  /** The deepest running spans, each with the ids above it: a kill of any running branch covers one of them. */
  const runningLeaves = (): SpanAsk[] => {
    const withLiveChild = new Set<number>();
    for (const index of live.keys()) withLiveChild.add(spans[index]!.parent);
    const asks: SpanAsk[] = [];
    for (const index of live.keys()) {
      if (withLiveChild.has(index)) continue;
      const ancestors: string[] = [];
      for (let p = spans[index]!.parent; p >= 0; p = spans[p]!.parent) ancestors.push(spans[p]!.spanId);
      asks.push({ spanId: spans[index]!.spanId, ancestors });
    }
    return asks;
  };

  const checkKill = async (): Promise<boolean> => {
    if (signal?.aborted) return true;
    if (kills) applyKill(await kills.status(plan.traceId, runningLeaves));
    return stop;
  };

  const start = (span: PlanSpan): void => {
    let context: Context = ROOT_CONTEXT;
    if (span.parent >= 0) {
      const parent = live.get(span.parent);
      if (!parent || gone.has(span.parent)) {
        // The branch above was killed: this step never happens.
        gone.add(span.index);
        result.skippedSpans++;
        return;
      }
      const parentPlan = spans[span.parent]!;
      context =
        parentPlan.service === span.service
          ? trace.setSpan(ROOT_CONTEXT, parent)
          : // Another process: the parent arrives as a propagated (remote) context, as over HTTP.
            trace.setSpanContext(ROOT_CONTEXT, { ...parent.spanContext(), isRemote: true });
    }
    ids.plan(plan.traceId, span.spanId);
    const otelSpan = tracing.tracer(span.service, span.scope).startSpan(
      span.name,
      { kind: span.kind, startTime: toHrTime(anchor + played), attributes: span.attributes, root: span.parent < 0 },
      context,
    );
    live.set(span.index, otelSpan);
    result.spansSent++;
  };

  const finish = async (span: PlanSpan): Promise<void> => {
    const otelSpan = live.get(span.index);
    if (!otelSpan) return;
    for (const event of span.events) otelSpan.addEvent(event.name, event.attributes, toHrTime(anchor + Math.min(played, shifted(event.at))));
    if (span.status === 'error') otelSpan.setStatus({ code: SpanStatusCode.ERROR, message: span.statusMessage });
    else if (span.status === 'ok') otelSpan.setStatus({ code: SpanStatusCode.OK });
    otelSpan.end(toHrTime(anchor + played));
    live.delete(span.index);
    // Children that outlive their parent must arrive after it was exported, as they do in real apps.
    if (detachedParents.has(span.index)) await tracing.flush();
  };

  /** Waits for an event's time, checking for kills; a kill may make it moot (its branch) or due sooner (after it). */
  const waitFor = async (event: PlayEvent): Promise<void> => {
    for (;;) {
      const target = timeOf(event.at);
      const changed = () => stop || gone.has(event.span.index) || timeOf(event.at) !== target;
      await clock.waitUntil(anchor + target, async () => (await checkKill()) || changed());
      if (signal?.aborted || !changed() || stop || gone.has(event.span.index)) return;
    }
  };

  for (const event of timeline(plan)) {
    if (stop) break;
    if (gone.has(event.span.index)) continue;
    if (!event.end && event.span.parent >= 0 && gone.has(event.span.parent)) {
      // Below a killed branch: this step never happens, and nobody waits for its time.
      gone.add(event.span.index);
      result.skippedSpans++;
      continue;
    }
    await waitFor(event);
    if (stop || signal?.aborted) break;
    if (gone.has(event.span.index)) continue;
    played = timeOf(event.at);
    if (event.end) {
      await finish(event.span);
      continue;
    }
    // Between steps: an agent asks whether its tree or branch was killed before doing the next thing.
    if (event.span.parent >= 0 && (await checkKill())) break;
    if (gone.has(event.span.index)) continue;
    start(event.span);
  }
  if (signal?.aborted && live.size > 0) {
    result.interrupted = true;
    endEarly([...live.keys()], STOPPED_MESSAGE);
  }
  // Anything still open here belonged to a killed tree.
  if (live.size > 0) endEarly([...live.keys()], KILLED_MESSAGE);
  // A kill that arrived after its branch had already finished changed nothing.
  result.killed = result.killedSpans > 0 || result.skippedSpans > 0;
  kills?.forget(plan.traceId);
  return result;
}
