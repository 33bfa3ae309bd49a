// Benchmark workload: realistic AI-agent request trees, recorded through the real OTel SDK and encoded with the
// real exporter serializer (ProtobufTraceSerializer), ~1,000 spans per request body, gzipped like the stock
// exporters (zlib default level). Everything here runs before any timing starts.
//
// Generating every body through the SDK would take far longer than the benchmark itself, so a few template
// bodies are recorded through the SDK and every further body is a copy whose trace ids are rewritten in the
// encoded bytes (a trace id is 16 raw bytes inside each Span message; the offsets are found once per
// template). Span ids are unique per trace, so fresh trace ids make every (trace_id, span_id) unique.

import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { Worker } from 'node:worker_threads';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';

// --- a small seeded PRNG so the workload is the same on every run ---------------------------------------------

export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    // mulberry32
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  token(n: number): string {
    const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let s = '';
    for (let i = 0; i < n; i++) s += abc[Math.floor(this.next() * abc.length)];
    return s;
  }
}

// --- what agents look like ------------------------------------------------------------------------------------

interface Model {
  model: string;
  response: string;
  provider: string;
  server: string;
}
const MODELS: Model[] = [
  { model: 'gpt-4o', response: 'gpt-4o-2024-08-06', provider: 'openai', server: 'api.openai.com' },
  { model: 'gpt-4o-mini', response: 'gpt-4o-mini-2024-07-18', provider: 'openai', server: 'api.openai.com' },
  { model: 'gpt-4.1', response: 'gpt-4.1-2025-04-14', provider: 'openai', server: 'api.openai.com' },
  { model: 'claude-sonnet-4-5', response: 'claude-sonnet-4-5-20250929', provider: 'anthropic', server: 'api.anthropic.com' },
  { model: 'claude-haiku-4-5', response: 'claude-haiku-4-5-20251001', provider: 'anthropic', server: 'api.anthropic.com' },
  { model: 'gemini-2.5-flash', response: 'gemini-2.5-flash', provider: 'gcp.gemini', server: 'generativelanguage.googleapis.com' },
  // a self-hosted fine-tune nobody prices: real traffic always has one
  { model: 'acme-triage-ft-v3', response: 'acme-triage-ft-v3', provider: 'acme-inference', server: 'llm.internal.acme.example' },
];

const TOOLS: { name: string; args: (r: Prng) => Record<string, unknown> }[] = [
  { name: 'web_search', args: (r) => ({ query: `${r.pick(['pricing', 'latency', 'outage', 'changelog', 'quota'])} of ${r.pick(['vector db', 'llm gateway', 'cdn', 'postgres'])} ${r.token(6)}`, max_results: r.int(3, 10) }) },
  { name: 'read_file', args: (r) => ({ path: `src/${r.pick(['api', 'lib', 'ingest', 'ui'])}/${r.token(8)}.ts`, start_line: r.int(1, 400), end_line: r.int(401, 900) }) },
  { name: 'run_sql', args: (r) => ({ query: `SELECT id, status, amount FROM orders WHERE customer_id = ${r.int(1000, 99999)} AND created_at > now() - INTERVAL ${r.int(1, 30)} DAY ORDER BY created_at DESC LIMIT 20` }) },
  { name: 'get_ticket', args: (r) => ({ ticket_id: `T-${r.int(10000, 99999)}`, include_history: r.chance(0.5) }) },
  { name: 'send_email', args: (r) => ({ to: `${r.token(7).toLowerCase()}@example.com`, subject: `Re: ticket T-${r.int(10000, 99999)}`, body_chars: r.int(200, 2000) }) },
  { name: 'vector_search', args: (r) => ({ collection: r.pick(['docs', 'kb', 'tickets']), query: r.token(40), top_k: r.int(4, 16) }) },
];

const SERVICES = ['support-bot', 'research-agent', 'code-assistant', 'billing-agent', 'triage-worker', 'sales-copilot'];
const AGENTS = ['Orchestrator', 'Researcher', 'Coder', 'Reviewer', 'Planner', 'Summarizer', 'Triage'];

export interface TemplateBody {
  /** Uncompressed ExportTraceServiceRequest bytes. */
  proto: Buffer;
  spans: number;
  /** Byte offsets of each trace's id occurrences (16 bytes each), per trace. */
  traceIdOffsets: number[][];
}

/** Records ~`targetSpans` spans worth of agent trees through the SDK and encodes them as one export request. */
export function recordTemplate(rng: Prng, targetSpans: number, baseTimeMs: number): TemplateBody {
  const memory = new InMemorySpanExporter();
  const providers = SERVICES.map(
    (service) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({
          'service.name': service,
          'service.version': `1.${rng.int(0, 9)}.${rng.int(0, 20)}`,
          'deployment.environment.name': 'production',
          'telemetry.sdk.language': 'nodejs',
          'telemetry.sdk.name': 'opentelemetry',
          'host.name': `ip-10-0-${rng.int(0, 255)}-${rng.int(0, 255)}`,
        }),
        spanProcessors: [new SimpleSpanProcessor(memory)],
      }),
  );
  const tracers = providers.map((p) => p.getTracer('canopy-bench.agents', '0.1.0'));
  let t = baseTimeMs;
  const traceIds: string[] = [];
  while (memory.getFinishedSpans().length < targetSpans) {
    const svc = rng.int(0, SERVICES.length - 1);
    const worker = tracers[(svc + 1) % tracers.length]!;
    traceIds.push(recordTree(rng, tracers[svc]!, worker, t));
    t += rng.int(5, 200);
  }
  const spans = memory.getFinishedSpans();
  const proto = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans as ReadableSpan[])!);
  return { proto, spans: spans.length, traceIdOffsets: traceIds.map((id) => findAll(proto, Buffer.from(id, 'hex'))) };
}

function findAll(haystack: Buffer, needle: Buffer): number[] {
  const out: number[] = [];
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) out.push(i);
  return out;
}

function child(tracer: Tracer, parent: Span, name: string, start: number, kind: SpanKind, attributes: Attributes): Span {
  return tracer.startSpan(name, { kind, attributes, startTime: start }, trace.setSpan(context.active(), parent));
}

function chat(rng: Prng, tracer: Tracer, parent: Span, start: number, m: Model): number {
  const input = rng.int(400, 12_000);
  const output = rng.int(20, 900);
  const latency = Math.round(300 + input * 0.01 + output * 18 * (0.7 + rng.next() * 0.6));
  const failed = rng.chance(0.015);
  const span = child(tracer, parent, `chat ${m.model}`, start, SpanKind.CLIENT, {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': m.provider,
    'gen_ai.request.model': m.model,
    'gen_ai.request.temperature': 0.2,
    'gen_ai.request.max_tokens': 4096,
    'server.address': m.server,
    'server.port': 443,
    'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `step ${rng.token(24)}` }] }]),
  });
  if (failed) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'Rate limit exceeded (429)' });
    span.setAttribute('error.type', 'RateLimitError');
    span.addEvent('exception', { 'exception.type': 'RateLimitError', 'exception.message': 'Rate limit exceeded' }, start + 120);
    span.end(start + 140);
    return 140;
  }
  span.setAttributes({
    'gen_ai.response.model': m.response,
    'gen_ai.response.id': `chatcmpl-${rng.token(29)}`,
    'gen_ai.response.finish_reasons': [rng.chance(0.6) ? 'tool_calls' : 'stop'],
    'gen_ai.usage.input_tokens': input,
    'gen_ai.usage.output_tokens': output,
    ...(rng.chance(0.3) ? { 'gen_ai.usage.cache_read.input_tokens': rng.int(0, input) } : {}),
  });
  span.end(start + latency);
  return latency;
}

function tool(rng: Prng, tracer: Tracer, parent: Span, start: number): number {
  const t = rng.pick(TOOLS);
  const duration = rng.int(5, 1500);
  const span = child(tracer, parent, `execute_tool ${t.name}`, start, SpanKind.INTERNAL, {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': t.name,
    'gen_ai.tool.type': 'function',
    'gen_ai.tool.call.id': `call_${rng.token(24)}`,
    'gen_ai.tool.call.arguments': JSON.stringify(t.args(rng)),
    'gen_ai.tool.call.result': `ok (${rng.int(1, 40)} results)`,
  });
  if (rng.chance(0.02)) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'tool timed out' });
    span.setAttribute('error.type', 'ToolError');
  }
  span.end(start + duration);
  return duration;
}

/** One agent loop: model call, then tools, repeated; sometimes delegating to a sub-agent on another service. */
function agent(rng: Prng, tracer: Tracer, worker: Tracer, parent: Span | null, name: string, start: number, steps: number, conversation: string, depth: number): { span: Span; end: number } {
  const attributes: Attributes = {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': name,
    'gen_ai.agent.id': `agent_${name.toLowerCase()}`,
    'gen_ai.conversation.id': conversation,
  };
  const span = parent
    ? child(tracer, parent, `invoke_agent ${name}`, start, depth > 1 ? SpanKind.SERVER : SpanKind.INTERNAL, attributes)
    : tracer.startSpan(`invoke_agent ${name}`, { kind: SpanKind.SERVER, attributes, startTime: start, root: true });
  if (!parent) span.setAttributes({ 'user.id': `user_${rng.int(1, 5000)}`, 'session.id': conversation });
  const model = rng.pick(MODELS);
  let t = start + rng.int(1, 20);
  for (let s = 0; s < steps; s++) {
    t += chat(rng, tracer, span, t, model) + rng.int(1, 10);
    const tools = rng.int(0, 3);
    for (let k = 0; k < tools; k++) t += tool(rng, tracer, span, t) + rng.int(1, 5);
    if (depth < 2 && rng.chance(0.15)) {
      const sub = agent(rng, worker, worker, span, rng.pick(AGENTS), t, rng.int(2, 4), conversation, depth + 1);
      t = sub.end + rng.int(1, 10);
    }
  }
  t += chat(rng, tracer, span, t, model);
  span.end(t + 2);
  return { span, end: t + 2 };
}

function recordTree(rng: Prng, tracer: Tracer, worker: Tracer, start: number): string {
  const { span } = agent(rng, tracer, worker, null, rng.pick(AGENTS), start, rng.int(4, 12), `conv_${rng.token(16)}`, 0);
  return span.spanContext().traceId;
}

// --- bodies ---------------------------------------------------------------------------------------------------

export interface Body {
  gz: Buffer;
  spans: number;
}

/** A copy of a template with fresh random trace ids, written at the recorded offsets. */
export function variant(template: TemplateBody): Buffer {
  const out = Buffer.from(template.proto);
  const ids = crypto.randomBytes(16 * template.traceIdOffsets.length);
  template.traceIdOffsets.forEach((offsets, i) => {
    ids[16 * i] |= 1; // never all zero
    for (const at of offsets) ids.copy(out, at, 16 * i, 16 * i + 16);
  });
  return out;
}

export interface Workload {
  templates: TemplateBody[];
  bodies: Body[];
  spansPerBody: number;
  protoBytesPerSpan: number;
  gzBytesPerSpan: number;
  recordMs: number;
  gzipMs: number;
}

/**
 * `count` unique request bodies of ~`spansPerBody` spans, from `templateCount` SDK-recorded templates.
 * Gzip runs in worker threads (one per core) since it dominates preparation.
 */
export async function buildWorkload(opts: { count: number; spansPerBody: number; templateCount: number; seed?: number }): Promise<Workload> {
  const rng = new Prng(opts.seed ?? 42);
  const t0 = performance.now();
  const base = Date.now() - 60_000;
  const templates: TemplateBody[] = [];
  for (let i = 0; i < opts.templateCount; i++) templates.push(recordTemplate(rng, opts.spansPerBody, base + i * 1000));
  const recordMs = performance.now() - t0;

  const t1 = performance.now();
  const raws: Buffer[] = [];
  for (let i = 0; i < opts.count; i++) raws.push(i < templates.length ? templates[i]!.proto : variant(templates[i % templates.length]!));
  const gz = await gzipAll(raws);
  const gzipMs = performance.now() - t1;
  const bodies = gz.map((b, i) => ({ gz: b, spans: templates[i % templates.length]!.spans }));
  const totalSpans = bodies.reduce((n, b) => n + b.spans, 0);
  return {
    templates,
    bodies,
    spansPerBody: totalSpans / bodies.length,
    protoBytesPerSpan: raws.reduce((n, b) => n + b.length, 0) / totalSpans,
    gzBytesPerSpan: gz.reduce((n, b) => n + b.length, 0) / totalSpans,
    recordMs,
    gzipMs,
  };
}

const GZIP_WORKER = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', ({ id, bufs }) => {
  const out = bufs.map((b) => { const z = zlib.gzipSync(b); return z.buffer.slice(z.byteOffset, z.byteOffset + z.length); });
  parentPort.postMessage({ id, out }, out);
});`;

async function gzipAll(raws: Buffer[], threads = 2): Promise<Buffer[]> {
  if (raws.length < 8) return raws.map((b) => zlib.gzipSync(b));
  const out: Buffer[] = new Array(raws.length);
  const workers = Array.from({ length: threads }, () => new Worker(GZIP_WORKER, { eval: true }));
  const chunk = 16;
  let next = 0;
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const send = () => {
            if (next >= raws.length) return resolve();
            const id = next;
            const bufs = raws.slice(id, Math.min(raws.length, id + chunk));
            next += bufs.length;
            w.postMessage({ id, bufs: bufs.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.length)) });
          };
          w.on('message', ({ id, out: zs }: { id: number; out: ArrayBuffer[] }) => {
            zs.forEach((z, k) => (out[id + k] = Buffer.from(z)));
            send();
          });
          w.on('error', reject);
          send();
        }),
    ),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  return out;
}
