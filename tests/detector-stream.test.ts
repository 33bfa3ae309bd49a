// Judging in the ingest stream: a tree one export carries whole is judged by the ingest worker that prepared it
// (not read back from storage), with the findings the detector would reach from storage; so is a tree whose
// spans came in several exports to that worker (it holds them until the root comes). A tree partly stored
// before a restart is still judged whole, from storage.
// Real OTel exporters against a running Canopy on the real engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../lib/domain';
import { getJson } from './helpers/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, recordingTracer, sendOk, startSpan, type Exporter } from './helpers/otel';

const SERVICE = 'review-svc';
const tool = (file: string) => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lint', 'gen_ai.tool.call.arguments': JSON.stringify({ file }) });

async function metric(canopy: RunningCanopy, name: string): Promise<number> {
  const text = await (await fetch(`${canopy.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

const inStream = (c: RunningCanopy) => metric(c, 'canopy_detector_spans_judged_in_stream_total');
const judged = (c: RunningCanopy) => metric(c, 'canopy_detector_spans_judged_total');

async function loopAlert(canopy: RunningCanopy, traceId: string): Promise<Alert> {
  return eventually(async () => {
    const { body } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?traceId=${traceId}`);
    return body.alerts.find((a) => a.rule === 'loop');
  }, 20_000, 'a loop alert');
}

/**
 * A review request: the Reviewer agent (the root) hands the work to a Fixer agent, which lints files. `files`
 * are the lint calls' arguments, in order; `exportAfter` lists after which calls the spans ended so far are
 * exported (the rest, with both agents, go in the last export). Returns the trace id.
 */
async function review(out: Exporter, files: string[], exportAfter: number[] = [], service = SERVICE): Promise<string> {
  const rec = recordingTracer(service);
  const root = startSpan(rec.tracer, 'invoke_agent Reviewer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Reviewer' });
  const fixer = startSpan(rec.tracer, 'invoke_agent Fixer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Fixer' }, root);
  for (let i = 0; i < files.length; i++) {
    startSpan(rec.tracer, 'execute_tool lint', tool(files[i]), fixer).end();
    if (exportAfter.includes(i)) {
      await sendOk(out, rec.finished());
      rec.reset();
    }
  }
  fixer.end();
  root.end();
  await sendOk(out, rec.finished());
  return root.spanContext().traceId;
}

/** Normal reviews, whole, in one export. */
async function normalReviews(out: Exporter, count: number): Promise<void> {
  const rec = recordingTracer(SERVICE);
  for (let n = 0; n < count; n++) {
    const root = startSpan(rec.tracer, 'invoke_agent Reviewer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Reviewer' });
    const fixer = startSpan(rec.tracer, 'invoke_agent Fixer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Fixer' }, root);
    for (const f of ['a', 'b', 'c']) startSpan(rec.tracer, 'execute_tool lint', tool(`${f}${n}.ts`), fixer).end();
    fixer.end();
    root.end();
  }
  await sendOk(out, rec.finished());
}

/**
 * Sends normal reviews until the detector has a trusted history of them and uses the ingest workers' judgements
 * (made against that history once the detector has told them it).
 */
async function untilJudgedInStream(canopy: RunningCanopy, out: Exporter): Promise<void> {
  await normalReviews(out, 45);
  let n = 0;
  await eventually(async () => {
    await review(out, [`a${n}.ts`, `b${n}.ts`, `c${n++}.ts`]);
    await new Promise((r) => setTimeout(r, 300));
    return (await inStream(canopy)) > 0 ? true : undefined;
  }, 30_000, 'a tree judged by the ingest workers');
  await idle(canopy);
}

/** Until the detector has judged everything sent (its count of spans judged stays put over a few ticks). */
async function idle(canopy: RunningCanopy): Promise<void> {
  await eventually(async () => {
    const a = await judged(canopy);
    await new Promise((r) => setTimeout(r, 2_500));
    return a === (await judged(canopy)) ? true : undefined;
  }, 30_000, 'the detector idle');
}

describe('the detector judging trees in the ingest stream', () => {
  let canopy: RunningCanopy;
  let out: Exporter;

  beforeAll(async () => {
    canopy = await startCanopy();
    out = exporterFor(canopy.otlpUrl);
    await untilJudgedInStream(canopy, out);
  }, 90_000);

  afterAll(async () => {
    await canopy?.stop();
  });

  it('judges a tree its export carried whole on the ingest worker, with the same finding as from storage', { timeout: 60_000 }, async () => {
    const before = await inStream(canopy);
    const traceId = await review(out, ['x.ts', 'x.ts', 'x.ts', 'x.ts']);
    const alert = await loopAlert(canopy, traceId);
    expect(alert.title).toBe('lint called 4× with identical arguments in a row under Fixer');
    expect(alert.evidence.spanCount).toBe(4);
    expect(alert.severity).toBe('warning');
    // All 6 spans of it judged where they arrived, none read back.
    await idle(canopy);
    expect((await inStream(canopy)) - before).toBe(6);
  });

  it('judges the first tree of a kind it has never seen where it arrived, against no history, as the detector would', { timeout: 60_000 }, async () => {
    const before = await inStream(canopy);
    const traceId = await review(out, ['n.ts', 'n.ts', 'n.ts', 'n.ts'], [], 'first-of-its-kind-svc');
    const alert = await loopAlert(canopy, traceId);
    expect(alert.title).toBe('lint called 4× with identical arguments in a row under Fixer');
    expect(alert.evidence.baseline ?? null).toBeNull();
    await idle(canopy);
    expect((await inStream(canopy)) - before).toBe(6);
  });

  it('judges a tree whose spans came in three exports whole, on the worker that held them for its root', { timeout: 60_000 }, async () => {
    const before = await inStream(canopy);
    // The last export alone (both agents and two calls) looks like a whole tree with no loop in it.
    const traceId = await review(out, ['y.ts', 'y.ts', 'y.ts', 'y.ts'], [0, 1]);
    const alert = await loopAlert(canopy, traceId);
    expect(alert.evidence.spanCount).toBe(4);
    expect(alert.title).toBe('lint called 4× with identical arguments in a row under Fixer');
    await idle(canopy);
    expect((await inStream(canopy)) - before).toBe(6);
  });

  it('after a restart, judges a tree partly stored before it from storage, whole', async () => {
    // Two calls stored by the process before; the rest (both agents, two calls) sent to the next one, which
    // never saw the first export: its workers judge a tree that looks whole but is not, and storage says so.
    const rec = recordingTracer(SERVICE);
    const root = startSpan(rec.tracer, 'invoke_agent Reviewer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Reviewer' });
    const fixer = startSpan(rec.tracer, 'invoke_agent Fixer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Fixer' }, root);
    for (let i = 0; i < 2; i++) startSpan(rec.tracer, 'execute_tool lint', tool('z.ts'), fixer).end();
    await sendOk(out, rec.finished());
    rec.reset();
    const traceId = root.spanContext().traceId;
    await eventually(async () => ((await getJson<{ spans?: unknown[] }>(`${canopy.url}/api/traces/${traceId}`)).body.spans?.length === 2 ? true : undefined));
    expect(await canopy.stop()).toBe(0);
    canopy = await startCanopy({ dataDir: canopy.dataDir });
    out = exporterFor(canopy.otlpUrl);
    await untilJudgedInStream(canopy, out);
    const before = await inStream(canopy);
    for (let i = 0; i < 2; i++) startSpan(rec.tracer, 'execute_tool lint', tool('z.ts'), fixer).end();
    fixer.end();
    root.end();
    await sendOk(out, rec.finished());
    const alert = await loopAlert(canopy, traceId);
    expect(alert.evidence.spanCount).toBe(4);
    await idle(canopy);
    expect((await inStream(canopy)) - before).toBe(0);
  }, 120_000);
});
