import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, hex, recordingTracer, sendOk, startSpan } from './helpers/otel';
import { findTrace, listTraces, waitForTrace } from './helpers/api';

// A running Canopy fed by the stock OTel exporters; everything is asserted through the read API.

let canopy: RunningCanopy;
beforeAll(async () => {
  canopy = await startCanopy();
});
afterAll(async () => {
  await canopy?.stop();
});

function agentTree(tracer: ReturnType<typeof recordingTracer>['tracer'], model = 'gpt-4o') {
  const root = startSpan(tracer, 'invoke_agent Planner', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' });
  const tools = ['search', 'fetch'].map((tool) => {
    const t = startSpan(tracer, `execute_tool ${tool}`, {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool,
      'gen_ai.tool.call.arguments': JSON.stringify({ query: tool }),
    }, root);
    const llm = startSpan(tracer, `chat ${model}`, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': model,
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
    }, t);
    llm.end();
    t.end();
    return t;
  });
  root.end();
  return { root, tools };
}

describe('OTLP ingest through the stock exporters', () => {
  it('stores a protobuf+gzip tree with tokens, cost, depth and per-branch rollups', async () => {
    const rec = recordingTracer('planner-svc');
    agentTree(rec.tracer);
    const spans = rec.finished();
    await sendOk(exporterFor(canopy.otlpUrl, 'proto'), spans);
    const { traceId } = hex(spans[0]);

    const detail = await waitForTrace(canopy.url, traceId, 5);
    expect(detail.trace).toMatchObject({ spanCount: 5, inputTokens: 2000, outputTokens: 400, maxDepth: 3, unpricedSpans: 0, status: 'completed', serviceName: 'planner-svc', rootName: 'invoke_agent Planner' });
    expect(detail.trace.costUsd).toBeGreaterThan(0);
    const root = detail.spans.find((s) => s.parentSpanId === null)!;
    expect(root).toMatchObject({ depth: 0, orphan: false, category: 'agent', agentName: 'Planner' });
    expect(root.rollup).toMatchObject({ spanCount: 5, inputTokens: 2000, outputTokens: 400 });
    const tool = detail.spans.find((s) => s.toolName === 'search')!;
    expect(tool).toMatchObject({ category: 'tool', depth: 1 });
    expect(tool.rollup).toMatchObject({ spanCount: 2, inputTokens: 1000, outputTokens: 200 });
    expect(tool.rollup.costUsd).toBeCloseTo(detail.trace.costUsd / 2, 9);
    const llm = detail.spans.find((s) => s.category === 'llm')!;
    expect(llm).toMatchObject({ model: 'gpt-4o', provider: 'openai', depth: 2, inputTokens: 1000, outputTokens: 200 });

    const listed = await findTrace(canopy.url, traceId);
    expect(listed).toMatchObject({ spanCount: 5, inputTokens: 2000, maxDepth: 3 });
  });

  it('accepts the JSON exporter too', async () => {
    const rec = recordingTracer('json-svc');
    agentTree(rec.tracer, 'gpt-4o-mini');
    const spans = rec.finished();
    await sendOk(exporterFor(canopy.otlpUrl, 'json'), spans);
    const detail = await waitForTrace(canopy.url, hex(spans[0]).traceId, 5);
    expect(detail.trace).toMatchObject({ spanCount: 5, inputTokens: 2000, outputTokens: 400, serviceName: 'json-svc' });
  });

  it('takes OTLP on the app port as well as on the OTLP port', async () => {
    const rec = recordingTracer();
    agentTree(rec.tracer);
    const spans = rec.finished();
    await sendOk(exporterFor(canopy.url, 'proto'), spans);
    await waitForTrace(canopy.url, hex(spans[0]).traceId, 5);
  });

  it('assembles a trace whose children arrive before their parent, across several requests', async () => {
    const rec = recordingTracer();
    agentTree(rec.tracer);
    const spans = rec.finished(); // ended children first, root last
    const exporter = exporterFor(canopy.otlpUrl);
    const traceId = hex(spans[0]).traceId;
    await sendOk(exporter, spans.slice(0, 2));
    const partial = await waitForTrace(canopy.url, traceId, 2);
    expect(partial.trace.status).toBe('running');
    expect(partial.spans.filter((s) => s.orphan)).toHaveLength(1); // the tool whose parent has not arrived yet
    await sendOk(exporter, spans.slice(4));
    await sendOk(exporter, spans.slice(2, 4));
    const full = await waitForTrace(canopy.url, traceId, 5);
    expect(full.spans.filter((s) => s.orphan)).toHaveLength(0);
    expect(full.trace).toMatchObject({ spanCount: 5, maxDepth: 3, status: 'completed', inputTokens: 2000 });
  });

  it('counts a re-sent span once', async () => {
    const rec = recordingTracer();
    agentTree(rec.tracer);
    const spans = rec.finished();
    const exporter = exporterFor(canopy.otlpUrl);
    await sendOk(exporter, spans);
    await sendOk(exporter, spans);
    await sendOk(exporter, spans.slice(0, 2));
    const traceId = hex(spans[0]).traceId;
    const detail = await waitForTrace(canopy.url, traceId, 5);
    expect(detail.spans).toHaveLength(5);
    expect(detail.trace).toMatchObject({ spanCount: 5, inputTokens: 2000, outputTokens: 400 });
    expect(await findTrace(canopy.url, traceId)).toMatchObject({ spanCount: 5, inputTokens: 2000 });
  });

  it('shows spans whose parent never arrives as orphans, still in the rollup of their own branch', async () => {
    const rec = recordingTracer();
    const root = startSpan(rec.tracer, 'invoke_agent Lost', { 'gen_ai.operation.name': 'invoke_agent' });
    const child = startSpan(rec.tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 }, root);
    child.end();
    root.end();
    const [childSpan] = rec.finished();
    await sendOk(exporterFor(canopy.otlpUrl), [childSpan]);
    const detail = await waitForTrace(canopy.url, hex(childSpan).traceId, 1);
    expect(detail.spans[0]).toMatchObject({ orphan: true, depth: 0, parentSpanId: hex(rec.finished()[1]).spanId });
    expect(detail.spans[0].rollup).toMatchObject({ spanCount: 1, inputTokens: 10, outputTokens: 5 });
    expect(detail.trace).toMatchObject({ rootSpanId: null, spanCount: 1, inputTokens: 10 });
  });

  it('keeps an unknown model unpriced (null), never $0', async () => {
    const rec = recordingTracer();
    const root = startSpan(rec.tracer, 'invoke_agent X', { 'gen_ai.operation.name': 'invoke_agent' });
    startSpan(rec.tracer, 'chat acme-llm-9000', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'acme-llm-9000', 'gen_ai.provider.name': 'acme', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10 }, root).end();
    startSpan(rec.tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10 }, root).end();
    root.end();
    const spans = rec.finished();
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    const detail = await waitForTrace(canopy.url, hex(spans[0]).traceId, 3);
    expect(detail.spans.find((s) => s.model === 'acme-llm-9000')!.costUsd).toBeNull();
    expect(detail.spans.find((s) => s.model === 'gpt-4o')!.costUsd).toBeGreaterThan(0);
    expect(detail.trace.unpricedSpans).toBe(1);
    expect(detail.trace.inputTokens).toBe(200);
  });

  it('normalises OpenInference, OpenLLMetry and Vercel AI SDK spans, counting a Vercel call once', async () => {
    const rec = recordingTracer('conventions');
    const root = startSpan(rec.tracer, 'workflow', { 'traceloop.span.kind': 'workflow', 'traceloop.entity.name': 'support' });
    const oiAgent = startSpan(rec.tracer, 'Agent', { 'openinference.span.kind': 'AGENT', 'agent.name': 'Researcher' }, root);
    startSpan(rec.tracer, 'ChatCompletion', { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'llm.provider': 'openai', 'llm.token_count.prompt': 300, 'llm.token_count.completion': 30, 'llm.cost.total': 0.5 }, oiAgent).end();
    startSpan(rec.tracer, 'search', { 'openinference.span.kind': 'TOOL', 'tool.name': 'web_search', 'input.value': '{"q":"x"}' }, oiAgent).end();
    oiAgent.end();
    const outer = startSpan(rec.tracer, 'ai.generateText', { 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.chat', 'ai.usage.promptTokens': 50, 'ai.usage.completionTokens': 7 }, root);
    startSpan(rec.tracer, 'ai.generateText.doGenerate', { 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.chat', 'ai.usage.promptTokens': 50, 'ai.usage.completionTokens': 7 }, outer).end();
    startSpan(rec.tracer, 'ai.toolCall', { 'ai.toolCall.name': 'lookup', 'ai.toolCall.args': '{"id":1}' }, outer).end();
    outer.end();
    const tlAgent = startSpan(rec.tracer, 'writer.agent', { 'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'Writer' }, root);
    startSpan(rec.tracer, 'openai.chat', { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.prompt_tokens': 20, 'gen_ai.usage.completion_tokens': 2, 'llm.request.type': 'chat' }, tlAgent).end();
    tlAgent.end();
    root.end();
    const spans = rec.finished();
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    const detail = await waitForTrace(canopy.url, hex(spans[0]).traceId, spans.length);
    const by = (name: string) => detail.spans.find((s) => s.name === name)!;
    expect(by('ChatCompletion')).toMatchObject({ category: 'llm', model: 'gpt-4o', provider: 'openai', inputTokens: 300, outputTokens: 30, costUsd: 0.5 });
    expect(by('Agent')).toMatchObject({ category: 'agent' });
    expect(by('search')).toMatchObject({ category: 'tool', toolName: 'web_search' });
    expect(by('ai.generateText.doGenerate')).toMatchObject({ category: 'llm', model: 'gpt-4o-mini', inputTokens: 50, outputTokens: 7 });
    expect(by('ai.toolCall')).toMatchObject({ category: 'tool', toolName: 'lookup' });
    expect(by('writer.agent')).toMatchObject({ category: 'agent', agentName: 'Writer' });
    expect(by('openai.chat')).toMatchObject({ category: 'llm', model: 'gpt-4o', provider: 'openai', inputTokens: 20, outputTokens: 2 });
    expect(by('ai.generateText').rollup).toMatchObject({ inputTokens: 50, outputTokens: 7 });
    expect(detail.trace).toMatchObject({ inputTokens: 300 + 50 + 20, outputTokens: 30 + 7 + 2 });
  });

  it('lists newest activity first and pages with a cursor', async () => {
    const first = await listTraces(canopy.url, '?limit=2');
    expect(first.traces).toHaveLength(2);
    expect(first.nextCursor).toBeTruthy();
    const second = await listTraces(canopy.url, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.traces.length).toBeGreaterThan(0);
    const ids = [...first.traces, ...second.traces].map((t) => t.traceId);
    expect(new Set(ids).size).toBe(ids.length);
    const times = [...first.traces, ...second.traces].map((t) => Date.parse(t.lastSeen));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const byService = await listTraces(canopy.url, '?service=json-svc');
    expect(byService.traces.length).toBeGreaterThan(0);
    expect(byService.traces.every((t) => t.serviceName === 'json-svc')).toBe(true);
  });
});
