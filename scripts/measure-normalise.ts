// Micro-measure of the ingest hot path: µs per span for protobuf decode, normalise and row serialisation.
// Run: node --import tsx scripts/measure-normalise.ts [spanCount]
// Payloads are made by the real OpenTelemetry SDK and OTLP serialiser, in exporter-sized batches of
// 512 spans, with a realistic mix of GenAI spans (chat calls with recorded messages, tools, agents,
// OpenInference and Vercel AI SDK spans).
import { context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeJson } from '../ingest/otlp/decode-json';
import { decodeProtobuf } from '../ingest/otlp/decode-protobuf';
import { normaliseRequest } from '../ingest/normalise/index';
import type { DecodedRequest, SpanRow } from '../ingest/types';
import { createPriceBook } from '../lib/server/prices';

const TOTAL = Number(process.argv[2] ?? 50_000);
const BATCH = 512;
const RUNS = 5;

const words = 'plan search the weather in paris then book a table for two near the louvre and summarise options'.split(' ');
const text = (n: number, seed: number) => Array.from({ length: n }, (_, i) => words[(i * 7 + seed) % words.length]).join(' ');

function child(tracer: Tracer, parent: Span, name: string, attributes: Attributes): void {
  tracer.startSpan(name, { attributes }, trace.setSpan(context.active(), parent)).end();
}

/** One agent turn: ~10 spans across conventions. */
function turn(tracer: Tracer, i: number): void {
  const root = tracer.startSpan('invoke_agent TravelPlanner', {
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'TravelPlanner', 'gen_ai.conversation.id': `conv-${i % 97}` },
  });
  for (let step = 0; step < 3; step++) {
    const messages = JSON.stringify([
      { role: 'system', parts: [{ type: 'text', content: text(60, 1) }] },
      { role: 'user', parts: [{ type: 'text', content: text(120, i + step) }] },
    ]);
    child(tracer, root, 'chat gpt-4o', {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 1024,
      'gen_ai.response.id': `chatcmpl-${i}-${step}`,
      'gen_ai.response.finish_reasons': ['tool_calls'],
      'gen_ai.usage.input_tokens': 1500 + step * 300,
      'gen_ai.usage.output_tokens': 120,
      'gen_ai.usage.cache_read.input_tokens': 1024,
      'gen_ai.input.messages': messages,
      'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: text(40, step) }] }]),
      'server.address': 'api.openai.com',
    });
    child(tracer, root, 'execute_tool search_places', {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'search_places',
      'gen_ai.tool.call.id': `call_${i}_${step}`,
      'gen_ai.tool.call.arguments': JSON.stringify({ query: text(6, i % 5), near: 'Louvre', limit: 5, request_id: `r-${i}` }),
    });
  }
  child(tracer, root, 'ChatAnthropic', {
    'openinference.span.kind': 'LLM',
    'llm.model_name': 'claude-sonnet-4-5',
    'llm.provider': 'anthropic',
    'llm.token_count.prompt': 2200,
    'llm.token_count.completion': 310,
    'llm.input_messages.0.message.role': 'user',
    'llm.input_messages.0.message.content': text(150, i),
    'llm.output_messages.0.message.role': 'assistant',
    'llm.output_messages.0.message.content': text(50, i),
    'session.id': `sess-${i % 13}`,
  });
  child(tracer, root, 'ai.generateText.doGenerate', {
    'ai.operationId': 'ai.generateText.doGenerate',
    'ai.model.id': 'gpt-4o-mini',
    'ai.model.provider': 'openai.chat',
    'ai.prompt.messages': JSON.stringify([{ role: 'user', content: [{ type: 'text', text: text(80, i) }] }]),
    'ai.usage.promptTokens': 800,
    'ai.usage.completionTokens': 90,
    'gen_ai.system': 'openai.chat',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 800,
    'gen_ai.usage.output_tokens': 90,
  });
  root.end();
}

function payloads(): { protobuf: Uint8Array[]; json: string[] } {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'travel-agent', 'service.version': '1.4.2', 'deployment.environment.name': 'prod' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('@acme/agent', '0.9.0');
  for (let i = 0; memory.getFinishedSpans().length < TOTAL; i++) turn(tracer, i);
  const spans = memory.getFinishedSpans().slice(0, TOTAL);
  const protobuf: Uint8Array[] = [];
  const json: string[] = [];
  for (let i = 0; i < spans.length; i += BATCH) {
    const batch = spans.slice(i, i + BATCH);
    protobuf.push(ProtobufTraceSerializer.serializeRequest(batch)!);
    json.push(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(batch)!));
  }
  return { protobuf, json };
}

/** Best of RUNS, in µs per span. */
function measure(fn: () => void): number {
  fn(); // warm-up (JIT, price memo)
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return (best * 1000) / TOTAL;
}

const { protobuf, json } = payloads();
const prices = createPriceBook({});
let decoded: DecodedRequest[] = [];
let rows: SpanRow[][] = [];
let sink = 0;

const results: [string, number][] = [
  ['decode protobuf', measure(() => void (decoded = protobuf.map((b) => decodeProtobuf(b))))],
  ['decode JSON', measure(() => void (sink += json.map((t) => decodeJson(t)).length))],
  ['normalise', measure(() => void (rows = decoded.map((d) => normaliseRequest(d, { prices, retentionDays: 30 }))))],
  ['JSON.stringify rows', measure(() => rows.forEach((batch) => batch.forEach((r) => (sink += JSON.stringify(r).length))))],
];

const bytes = protobuf.reduce((n, b) => n + b.length, 0);
console.log(`${TOTAL} spans in ${protobuf.length} exports of ${BATCH}; ${(bytes / TOTAL).toFixed(0)} protobuf bytes/span; best of ${RUNS} runs`);
for (const [what, us] of results) console.log(`${what.padEnd(22)} ${us.toFixed(2).padStart(7)} µs/span`);
const pipeline = results[0][1] + results[2][1] + results[3][1];
console.log(`${'protobuf → row line'.padEnd(22)} ${pipeline.toFixed(2).padStart(7)} µs/span (${Math.round(1e6 / pipeline).toLocaleString('en')} spans/s on one core)`);
if (sink < 0) console.log(sink);
