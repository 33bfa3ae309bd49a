// Spans reported when they start (the SDK's span processor; lib/domain/started.ts) against a running Canopy on
// the real engine: a running tree is visible and its branches killable before any span ends, the ended version
// is the one counted whichever arrives first, and a tree stays running until its started spans end.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlAnswer, TraceDetailResponse } from '../lib/domain';
import { findTrace, getJson, getTrace } from './helpers/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const NOW_NS = () => BigInt(Date.now()) * 1_000_000n;

interface SpanSpec {
  spanId: string;
  parentSpanId?: string;
  name: string;
  startNs: bigint;
  endNs?: bigint;
  started?: boolean;
  attrs?: Record<string, string | number>;
}

const attr = (key: string, v: string | number | boolean) =>
  ({ key, value: typeof v === 'boolean' ? { boolValue: v } : typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });

/** Posts one OTLP/JSON export, as an exporter would. */
async function post(otlpUrl: string, traceId: string, spans: SpanSpec[]): Promise<void> {
  const body = {
    resourceSpans: [{
      resource: { attributes: [attr('service.name', 'started-test')] },
      scopeSpans: [{
        scope: { name: 'canopy-test' },
        spans: spans.map((s) => ({
          traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: 1,
          startTimeUnixNano: String(s.startNs),
          endTimeUnixNano: String(s.started ? s.startNs : (s.endNs ?? s.startNs + 1_000_000n)),
          attributes: [...Object.entries(s.attrs ?? {}).map(([k, v]) => attr(k, v)), ...(s.started ? [attr('canopy.span.started', true)] : [])],
          status: {},
        })),
      }],
    }],
  };
  const res = await fetch(`${otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.text()).toBe(200);
}

const llm = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.system': 'openai', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 };

describe('spans reported at start', () => {
  let canopy: RunningCanopy;
  beforeAll(async () => {
    canopy = await startCanopy();
  }, 90_000);
  afterAll(async () => {
    await canopy?.stop();
  });

  it('a tree that has only started is visible, running, and its spans place the tree; the ended versions count once', async () => {
    const traceId = hex(16);
    const [root, agent, call] = [hex(8), hex(8), hex(8)];
    const t0 = NOW_NS();
    await post(canopy.otlpUrl, traceId, [
      { spanId: root, name: 'handle_request', startNs: t0, started: true },
      { spanId: agent, parentSpanId: root, name: 'invoke_agent Planner', startNs: t0 + 1_000n, started: true, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' } },
      { spanId: call, parentSpanId: agent, name: 'chat gpt-4o-mini', startNs: t0 + 2_000n, started: true, attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' } },
    ]);
    const live = (await getTrace(canopy.url, traceId))!;
    expect(live.trace.status).toBe('running');
    expect(live.trace.rootName).toBe('handle_request');
    expect(live.trace.runningSpans).toBe(3);
    expect(live.trace.spanCount).toBe(3);
    expect(live.spans.map((s) => [s.name, s.depth, s.running, s.orphan])).toEqual([
      ['handle_request', 0, true, false],
      ['invoke_agent Planner', 1, true, false],
      ['chat gpt-4o-mini', 2, true, false],
    ]);
    const listed = await eventually(() => findTrace(canopy.url, traceId), 10_000, 'the running tree in the list');
    expect(listed.status).toBe('running');

    // A branch can be killed, and a span started under it is covered, before anything ended.
    const killed = await fetch(`${canopy.url}/api/traces/${traceId}/kill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ spanId: agent }) });
    expect(killed.status).toBe(200);
    const { body: answer } = await getJson<ControlAnswer>(`${canopy.url}/api/control/${traceId}?spanId=${call}`);
    expect(answer).toMatchObject({ killed: true, scope: 'branch', killedSpanId: agent });

    // The model call ends; the root is still running: the tree is too, and the call counts once.
    await post(canopy.otlpUrl, traceId, [{ spanId: call, parentSpanId: agent, name: 'chat gpt-4o-mini', startNs: t0 + 2_000n, endNs: t0 + 5_000_000n, attrs: llm }]);
    const half = (await getTrace(canopy.url, traceId))!;
    expect(half.trace).toMatchObject({ status: 'running', runningSpans: 2, spanCount: 3, inputTokens: 1000, outputTokens: 100 });
    expect(half.spans.find((s) => s.spanId === call)).toMatchObject({ running: false, inputTokens: 1000 });

    // Everything ends: completed, three spans, the call's usage once.
    await post(canopy.otlpUrl, traceId, [
      { spanId: agent, parentSpanId: root, name: 'invoke_agent Planner', startNs: t0 + 1_000n, endNs: t0 + 6_000_000n, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' } },
      { spanId: root, name: 'handle_request', startNs: t0, endNs: t0 + 7_000_000n },
    ]);
    const done = (await getTrace(canopy.url, traceId))!;
    expect(done.trace).toMatchObject({ status: 'completed', runningSpans: 0, spanCount: 3, inputTokens: 1000, outputTokens: 100 });
    expect(done.spans.every((s) => !s.running)).toBe(true);
    const row = await eventually(async () => {
      const t = await findTrace(canopy.url, traceId);
      return t?.status === 'completed' ? t : undefined;
    }, 10_000, 'the list to show the tree completed');
    expect(row).toMatchObject({ spanCount: 3, runningSpans: 0, inputTokens: 1000, outputTokens: 100 });
  });

  it('an ended span that arrives before its started report stays ended and counted once', async () => {
    const traceId = hex(16);
    const [root, call] = [hex(8), hex(8)];
    const t0 = NOW_NS();
    await post(canopy.otlpUrl, traceId, [
      { spanId: call, parentSpanId: root, name: 'chat gpt-4o-mini', startNs: t0 + 1_000n, endNs: t0 + 4_000_000n, attrs: llm },
      { spanId: root, name: 'handle_request', startNs: t0, endNs: t0 + 5_000_000n },
    ]);
    await post(canopy.otlpUrl, traceId, [
      { spanId: root, name: 'handle_request', startNs: t0, started: true },
      { spanId: call, parentSpanId: root, name: 'chat gpt-4o-mini', startNs: t0 + 1_000n, started: true, attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' } },
    ]);
    const detail = (await getTrace(canopy.url, traceId)) as TraceDetailResponse;
    expect(detail.trace).toMatchObject({ status: 'completed', runningSpans: 0, spanCount: 2, inputTokens: 1000, outputTokens: 100 });
    expect(detail.spans.map((s) => s.running)).toEqual([false, false]);
    const row = await eventually(() => findTrace(canopy.url, traceId), 10_000, 'the tree in the list');
    expect(row).toMatchObject({ status: 'completed', spanCount: 2, inputTokens: 1000, outputTokens: 100 });
  });

  // A page's first rows of a finished tree come from the tree built for the last page that opened it while nothing
  // was stored since (lib/server/queries/built-trees.ts): whatever is stored since must show.
  it("a tree's first rows, opened again, show every span stored since: an ended one, one reported at start", async () => {
    const traceId = hex(16);
    const root = hex(8);
    const t0 = NOW_NS() - 60_000_000_000n;
    const children = Array.from({ length: 50 }, (_, i) => ({ spanId: hex(8), parentSpanId: root, name: `chat ${i}`, startNs: t0 + BigInt(i + 1) * 1_000_000n, attrs: llm }));
    await post(canopy.otlpUrl, traceId, [{ spanId: root, name: 'invoke_agent Reopened', startNs: t0, endNs: t0 + 10_000_000_000n }, ...children]);
    const first = async () => (await getJson<TraceDetailResponse>(`${canopy.url}/api/traces/${traceId}?first=40`)).body;
    await eventually(async () => ((await first()).trace?.spanCount === 51 ? true : undefined), 15_000, 'the tree stored');
    for (let i = 0; i < 2; i++) {
      const again = await first();
      expect(again.partial).toBe(true);
      expect(again.trace).toMatchObject({ spanCount: 51, status: 'completed', inputTokens: 50_000 });
      expect(again.spans[0]).toMatchObject({ spanId: root });
    }

    // An ended span stored since: counted, and in the root branch's spend.
    await post(canopy.otlpUrl, traceId, [{ spanId: hex(8), parentSpanId: root, name: 'chat late', startNs: t0 + 100_000_000n, attrs: llm }]);
    await eventually(async () => ((await first()).trace?.spanCount === 52 ? true : undefined), 15_000, 'the late span in the first rows');
    const grown = await first();
    expect(grown.trace).toMatchObject({ status: 'completed', inputTokens: 51_000 });
    expect(grown.spans[0].rollup).toMatchObject({ spanCount: 52, inputTokens: 51_000 });

    // A span reported at start since: running.
    const started = hex(8);
    await post(canopy.otlpUrl, traceId, [{ spanId: started, parentSpanId: root, name: 'invoke_agent Late', startNs: NOW_NS(), started: true }]);
    const running = await eventually(async () => {
      const a = await first();
      return a.trace?.status === 'running' ? a : undefined;
    }, 15_000, 'the started span in the first rows');
    expect(running.trace).toMatchObject({ spanCount: 53, runningSpans: 1 });
  });
});
