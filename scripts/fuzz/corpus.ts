// Valid OTLP exports to mutate: spans recorded with the real OpenTelemetry SDK and encoded by the real
// OTLP serialisers (@opentelemetry/otlp-transformer), the bytes stock exporters send. Ids come from a
// seeded generator and every time is explicit, so the corpus is the same for the same seed.
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { Rng } from './prng';

export interface SeedBody {
  name: string;
  spans: number;
  protobuf: Uint8Array;
  /** The JSON export as text, and parsed (mutations work on a clone of the parsed value). */
  jsonText: string;
  json: unknown;
}

const BASE_S = 1_767_225_600; // 2026-01-01T00:00:00Z: explicit, so bodies do not depend on the clock

class SeededIds implements IdGenerator {
  constructor(private rng: Rng) {}
  generateTraceId(): string {
    return this.rng.hex(16);
  }
  generateSpanId(): string {
    return this.rng.hex(8);
  }
}

function recorder(rng: Rng, resource: Attributes, scope: string) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    idGenerator: new SeededIds(rng),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  return { tracer: provider.getTracer(scope, '1.2.3'), spans: () => memory.getFinishedSpans() };
}

let clock = 0;
const at = (ms: number): [number, number] => [BASE_S + Math.floor(ms / 1000), (ms % 1000) * 1e6 + (clock++ % 1000)];

function child(tracer: Tracer, name: string, parent: Span | undefined, startMs: number, attributes: Attributes, kind = SpanKind.INTERNAL): Span {
  const ctx = parent ? trace.setSpan(context.active(), parent) : undefined;
  return tracer.startSpan(name, { kind, attributes, startTime: at(startMs) }, ctx);
}

/** invoke_agent → chat (gen_ai.*, tokens, events, an exception) → execute_tool, as agent frameworks emit. */
function genAiTree(rng: Rng, tracer: Tracer, t0: number): void {
  const root = child(tracer, 'invoke_agent Planner', undefined, t0, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner', 'session.id': 'sess-1' }, SpanKind.SERVER);
  for (let i = 0; i < 3; i++) {
    const chat = child(tracer, 'chat gpt-4o', root, t0 + 10 + i * 100, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 1200 + i,
      'gen_ai.usage.output_tokens': 85,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.stop_sequences': ['\n\n', 'END'],
      'gen_ai.response.finish_reasons': ['stop'],
      stream: false,
    }, SpanKind.CLIENT);
    chat.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': `plan step ${i} naïve ☕ 😀` }, at(t0 + 11 + i * 100));
    if (i === 2) {
      chat.recordException(new RangeError('rate limited'), at(t0 + 50 + i * 100));
      chat.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 429' });
    }
    const tool = child(tracer, 'execute_tool search', chat, t0 + 60 + i * 100, {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'search',
      'gen_ai.tool.call.id': `call_${rng.hex(4)}`,
      'tool.args': JSON.stringify({ q: 'weather', n: i }),
    });
    tool.end(at(t0 + 90 + i * 100));
    chat.end(at(t0 + 95 + i * 100));
  }
  root.setStatus({ code: SpanStatusCode.OK });
  root.end(at(t0 + 400));
}

/** OpenInference (llm.*), explicit cost, links, every primitive and array attribute type. */
function openInference(tracer: Tracer, t0: number): void {
  const root = child(tracer, 'ChatCompletion', undefined, t0, {
    'openinference.span.kind': 'LLM',
    'llm.model_name': 'claude-3-5-sonnet-20241022',
    'llm.provider': 'anthropic',
    'llm.token_count.prompt': 900,
    'llm.token_count.completion': 120,
    'llm.token_count.prompt_details.cache_read': 300,
    'llm.cost.total': 0.0042,
    'input.value': '{"messages":[{"role":"user","content":"hi"}]}',
    ints: [1, 2, 3, -4, 2 ** 40],
    doubles: [0.5, -1.25, 1e300],
    bools: [true, false],
    empty: '',
    'user.id': 'u-42',
  });
  const linked = child(tracer, 'retriever', root, t0 + 5, { 'openinference.span.kind': 'RETRIEVER', 'retrieval.documents.count': 4 });
  linked.addLink({ context: root.spanContext(), attributes: { 'link.reason': 'follows' } });
  linked.end(at(t0 + 9));
  root.end(at(t0 + 30));
}

/** Vercel AI SDK (ai.*) spans. */
function vercel(tracer: Tracer, t0: number): void {
  const root = child(tracer, 'ai.generateText', undefined, t0, { 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.chat', 'ai.usage.promptTokens': 50, 'ai.usage.completionTokens': 7, 'operation.name': 'ai.generateText' });
  const call = child(tracer, 'ai.generateText.doGenerate', root, t0 + 1, { 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.chat', 'ai.usage.inputTokens': 50, 'ai.usage.outputTokens': 7, 'gen_ai.system': 'openai' });
  call.end(at(t0 + 20));
  root.end(at(t0 + 21));
}

/** A wide fan-out of small spans: many spans per request. */
function fanout(tracer: Tracer, t0: number, n: number): void {
  const root = child(tracer, 'batch', undefined, t0, { 'job.id': 7 });
  for (let i = 0; i < n; i++) child(tracer, `item ${i}`, root, t0 + i, { i, 'gen_ai.request.model': i % 2 ? 'gpt-4o-mini' : 'unknown-model-x', 'gen_ai.usage.input_tokens': i }).end(at(t0 + i + 1));
  root.end(at(t0 + n + 2));
}

function build(rng: Rng, name: string, resource: Attributes, scope: string, record: (tracer: Tracer) => void): SeedBody {
  const r = recorder(rng, resource, scope);
  record(r.tracer);
  return encode(name, r.spans());
}

function encode(name: string, spans: ReadableSpan[]): SeedBody {
  const protobuf = ProtobufTraceSerializer.serializeRequest(spans)!;
  const jsonText = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!);
  return { name, spans: spans.length, protobuf, jsonText, json: JSON.parse(jsonText) };
}

/** The seed bodies every mutation starts from. */
export function buildCorpus(seed: number): SeedBody[] {
  const rng = new Rng(seed, -1);
  const res = (service: string, extra: Attributes = {}) => ({ 'service.name': service, 'service.version': '2.1.0', 'host.name': 'fuzz-host', ...extra });
  const corpus = [
    build(rng, 'genai-tree', res('planner-agent'), 'openai-instrumentation', (t) => genAiTree(rng, t, 0)),
    build(rng, 'openinference', res('rag-app', { 'deployment.environment': 'prod', 'process.pid': 1234 }), 'openinference', (t) => openInference(t, 1000)),
    build(rng, 'vercel-ai', res('next-app'), 'ai', (t) => vercel(t, 2000)),
    build(rng, 'fanout-40', res('batcher'), 'jobs', (t) => fanout(t, 3000, 40)),
    build(rng, 'single-bare', {}, '', (t) => t.startSpan('bare', { startTime: at(4000) }).end(at(4001))),
  ];
  // Several resources and scopes in one request: spans recorded by two SDK instances, sent together.
  const a = recorder(rng, res('svc-a'), 'scope-a');
  const b = recorder(rng, res('svc-b', { region: 'eu' }), 'scope-b');
  genAiTree(rng, a.tracer, 5000);
  vercel(b.tracer, 6000);
  corpus.push(encode('two-resources', [...a.spans(), ...b.spans()]));
  return corpus;
}

/** A distinct agent trace with known span and token counts, sent before the fuzz and checked after it. */
export function buildKnownTrace(): { spans: ReadableSpan[]; traceId: string; inputTokens: number; outputTokens: number } {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'fuzz-known-trace' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('fuzz');
  const root = tracer.startSpan('invoke_agent Known', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Known' } });
  const ctx = trace.setSpan(context.active(), root);
  let input = 0;
  let output = 0;
  for (let i = 0; i < 4; i++) {
    const s = tracer.startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000 + i, 'gen_ai.usage.output_tokens': 10 + i } }, ctx);
    input += 1000 + i;
    output += 10 + i;
    s.end();
  }
  root.end();
  const spans = memory.getFinishedSpans();
  return { spans, traceId: root.spanContext().traceId, inputTokens: input, outputTokens: output };
}
