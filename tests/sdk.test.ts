// The SDK (sdk/, issue 11 part 6) against a running Canopy on the real engine: kill signals stopping a Vercel AI
// SDK tool loop (tree kill, branch kill above the span, a sibling alive), a branch killed in another process
// found through the control API, started-span reports, one event stream per process, reconnecting after a
// restart without missing kills, fail open and fail closed, API keys, the example agent and the Python snippet.
// Between the SDK and Canopy stands, where a test needs to count requests or cut the connection, a transparent
// proxy (tests/helpers/http-proxy.ts); Canopy itself is never imitated. First, the parts that need no Canopy.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { context, ROOT_CONTEXT, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type Span as SdkSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import OpenAI from 'openai';
import { z } from 'zod';
import type * as domain from '../lib/domain';
import { NOT_KILLED as DOMAIN_NOT_KILLED } from '../lib/domain/kill';
import { STARTED_ATTRIBUTE as DOMAIN_STARTED_ATTRIBUTE } from '../lib/domain/started';
import { MAX_ANCESTORS as SERVER_MAX_ANCESTORS } from '../lib/server/kill-ids';
import { assertAlive, CanopyStartProcessor, canopy, configureCanopy, isKilledError, KilledError, killSignal, KillWatcher, startedReport, STARTED_ATTRIBUTE, type KillWatcherOptions } from '../sdk/src/index';
import { resolveEndpoint } from '../sdk/src/config';
import { LocalSpans, localSpans } from '../sdk/src/local-spans';
import { SseParser, type SseEvent } from '../sdk/src/sse';
import type * as wire from '../sdk/src/wire';
import { MAX_ANCESTORS } from '../sdk/src/wire';
import { getJson, getTrace, waitForTrace } from './helpers/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { startProxy, type HttpProxy } from './helpers/http-proxy';
import { exporterFor, recordingTracer, sendOk } from './helpers/otel';

const ROOT = path.resolve(import.meta.dirname, '..');
const JSON_TYPE = { 'content-type': 'application/json' };

async function killOk(base: string, traceId: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<domain.Kill> {
  const res = await fetch(`${base}/api/traces/${traceId}/kill`, { method: 'POST', headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(body) });
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json as domain.Kill;
}

/**
 * Kills and returns when: `requested` before the request, `inForce` once Canopy answered. A kill is stored and
 * pushed before Canopy answers, so what follows `inForce` is the SDK's latency alone, whatever the machine's
 * load does to the request itself.
 */
async function timedKill(base: string, traceId: string, body: Record<string, unknown> = {}) {
  const requested = Date.now();
  const kill = await killOk(base, traceId, body);
  return { kill, requested, inForce: Date.now() };
}

/** Logs the latency of an abort and checks the SDK's share of it: within a second of the kill being in force. */
function expectStoppedSoon(what: string, stoppedAt: number, t: { requested: number; inForce: number }): void {
  console.log(`${what} ${stoppedAt - t.requested} ms after the kill request (${t.inForce - t.requested} ms of it the request itself)`);
  expect(stoppedAt - t.inForce).toBeLessThan(1_000);
}

const hex = (bytes: number) => Array.from({ length: bytes }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join('');
const ids = (span: Span) => span.spanContext();
const under = (span: Span): Context => trace.setSpan(ROOT_CONTEXT, span);
/** A span of another process, as it arrives in a propagated context. */
const remoteParent = (traceId: string, spanId: string) => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: 1, isRemote: true });
/** Resolves with the time the signal aborts. */
const abortedAt = (signal: AbortSignal) =>
  new Promise<number>((resolve) => (signal.aborted ? resolve(Date.now()) : signal.addEventListener('abort', () => resolve(Date.now()), { once: true })));

/** Waits like a network call, and gives up the way fetch does: rejecting with the signal's reason. */
function latency(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}

/** A Vercel AI SDK agent stuck in a tool loop: the mock model asks for `run_tests` every turn, forever. */
function toolLoop(abortSignal: AbortSignal, functionId: string) {
  const steps: number[] = [];
  let turn = 0;
  const model = new MockLanguageModelV3({
    provider: 'openai.chat',
    modelId: 'gpt-4o-mini',
    doGenerate: async ({ abortSignal: signal }) => {
      await latency(40, signal);
      turn++;
      return {
        content: [{ type: 'tool-call', toolCallId: `call_${turn}`, toolName: 'run_tests', input: '{"path":"src/"}' }],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage: { inputTokens: { total: 900, noCache: 900, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 20, text: 20, reasoning: 0 } },
        warnings: [],
      };
    },
  });
  const runTests = tool({
    inputSchema: z.object({ path: z.string() }),
    execute: async (_input, { abortSignal: signal }) => {
      await latency(20, signal);
      steps.push(Date.now());
      return 'FAILED 1 of 212 tests';
    },
  });
  const done = generateText({
    model,
    tools: { run_tests: runTests },
    stopWhen: stepCountIs(1_000_000),
    prompt: 'Make the tests pass.',
    abortSignal,
    experimental_telemetry: { isEnabled: true, functionId },
  }).then(
    () => {
      throw new Error(`${functionId}: the loop ended by itself`);
    },
    (error: unknown) => ({ error, at: Date.now() }),
  );
  return { steps, done };
}

describe('SDK parts that need no Canopy', () => {
  const temp: string[] = [];
  const tempDir = (prefix: string) => (temp.push(fs.mkdtempSync(path.join(os.tmpdir(), prefix))), temp.at(-1)!);
  afterAll(() => {
    for (const dir of temp) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('parses Server-Sent Events as the standard says, however the stream is cut', () => {
    const stream = 'retry: 1000\n: subscribed\n\nid: h.1\nevent: kill\ndata: {"a":\ndata: 1}\n\r\n: heartbeat\r\nevent: revive\rdata:x\r\rdata: no blank line at the end';
    const run = (chunks: string[]) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      let retry = 0;
      const parser = new SseParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c), onRetry: (ms) => (retry = ms) });
      for (const c of chunks) parser.feed(new TextEncoder().encode(c));
      parser.end();
      return { events, comments, retry, lastEventId: parser.lastEventId };
    };
    const whole = run([stream]);
    expect(whole).toEqual({
      events: [
        { type: 'kill', data: '{"a":\n1}', lastEventId: 'h.1' },
        // No id on it: the last one stays in force.
        { type: 'revive', data: 'x', lastEventId: 'h.1' },
      ],
      comments: ['subscribed', 'heartbeat'],
      retry: 1000,
      lastEventId: 'h.1',
    });
    // Every possible cut, CRLF split included, and byte by byte (multi-byte characters too).
    for (let i = 0; i <= stream.length; i++) expect(run([stream.slice(0, i), stream.slice(i)]), `cut at ${i}`).toEqual(whole);
    expect(run([...stream])).toEqual(whole);
    const utf8 = new TextEncoder().encode('\uFEFFevent: kill\ndata: "naïve ☃"\n\n');
    const events: SseEvent[] = [];
    const parser = new SseParser({ onEvent: (e) => events.push(e) });
    for (const byte of utf8) parser.feed(new Uint8Array([byte]));
    expect(events).toEqual([{ type: 'kill', data: '"naïve ☃"', lastEventId: '' }]);
    // An id with NUL is ignored; `retry` must be digits; an event without data is not dispatched but its id counts.
    const odd = run(['id: ok\n\nid: bad\u0000\nretry: 1s\nevent: kill\n\n']);
    expect(odd).toMatchObject({ events: [], retry: 0, lastEventId: 'ok' });
  });

  it('keeps the wire types identical to the server\'s (lib/domain/kill.ts)', () => {
    // Checked by `tsc --noEmit -p .` (npm test's first step): a field added or changed on one side only fails it.
    expectTypeOf<wire.Kill>().toEqualTypeOf<domain.Kill>();
    expectTypeOf<wire.KillEvent>().toEqualTypeOf<domain.KillEvent>();
    expectTypeOf<wire.ControlAnswer>().toEqualTypeOf<domain.ControlAnswer>();
    expectTypeOf<wire.KillScope>().toEqualTypeOf<domain.KillScope>();
    expectTypeOf<wire.KillSource>().toEqualTypeOf<domain.KillSource>();
    const inSdk: wire.ControlAnswer = DOMAIN_NOT_KILLED;
    expect(inSdk.killed).toBe(false);
    expect(STARTED_ATTRIBUTE).toBe(DOMAIN_STARTED_ATTRIBUTE);
    expect(MAX_ANCESTORS).toBe(SERVER_MAX_ANCESTORS);
  });

  it('finds Canopy from the options, CANOPY_URL, the OTLP endpoint, or the default', () => {
    expect(resolveEndpoint({ url: 'http://c:1/', apiKey: 'k' }, { CANOPY_URL: 'http://x' })).toEqual({ url: 'http://c:1', apiKey: 'k', source: 'option' });
    expect(resolveEndpoint({}, { CANOPY_URL: 'https://canopy.example.com/', CANOPY_API_KEY: 'env-key' })).toEqual({ url: 'https://canopy.example.com', apiKey: 'env-key', source: 'CANOPY_URL' });
    expect(resolveEndpoint({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://10.1.2.3:4318' }).url).toBe('http://10.1.2.3:3000');
    expect(resolveEndpoint({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://canopy:4317' }).url).toBe('http://canopy:3000');
    expect(resolveEndpoint({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://canopy:3000' }).url).toBe('http://canopy:3000');
    expect(resolveEndpoint({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toMatchObject({ url: 'http://127.0.0.1:3000', source: 'default' });
    expect(resolveEndpoint({}, {})).toEqual({ url: 'http://127.0.0.1:3000', apiKey: undefined, source: 'default' });
  });

  it('reports spans at start in batches, drops the reports of spans that ended first, and records parents', async () => {
    const batches: ReadableSpan[][] = [];
    const memory: SpanExporter = {
      export: (spans, done) => (batches.push(spans), done({ code: 0 })),
      shutdown: async () => {},
    };
    const spans = new LocalSpans(50);
    const processor = new CanopyStartProcessor(memory, { scheduledDelayMillis: 50, maxExportBatchSize: 16, spans });
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'unit' }), spanProcessors: [processor] });
    const tracer = provider.getTracer('unit');
    const root = tracer.startSpan('root', { attributes: { 'gen_ai.agent.name': 'Planner' } });
    const children = Array.from({ length: 9 }, (_, i) => tracer.startSpan(`step ${i}`, {}, under(root)));
    for (const c of children.slice(0, 4)) c.end();
    root.setAttribute('added.later', true);
    await sleep(20);
    expect(batches).toEqual([]); // not a request per span: they wait for the batch
    await processor.forceFlush();
    expect(batches.map((b) => b.length)).toEqual([6]);
    const reports = batches.flat();
    expect(reports.map((r) => r.name)).toEqual(['root', 'step 4', 'step 5', 'step 6', 'step 7', 'step 8']);
    expect(processor.stats).toEqual({ exported: 6, lost: 0, superseded: 4, exports: 1 });
    const rootReport = reports[0]!;
    // As the span was when it started: what was set later is not in the report.
    expect(rootReport.attributes).toEqual({ 'gen_ai.agent.name': 'Planner', [STARTED_ATTRIBUTE]: true });
    expect(rootReport.endTime).toEqual(rootReport.startTime);
    expect(rootReport.ended).toBe(true);
    expect(reports[1]!.parentSpanContext?.spanId).toBe(ids(root).spanId);
    // A full batch leaves at once; the rest after the delay.
    const more = Array.from({ length: 40 }, (_, i) => tracer.startSpan(`more ${i}`, {}, under(root)));
    await sleep(5);
    expect(batches.map((b) => b.length)).toEqual([6, 16, 16]);
    await sleep(100);
    expect(batches.map((b) => b.length)).toEqual([6, 16, 16, 8]);
    // Ancestry, recorded as spans start.
    const child = children[6]!;
    expect(spans.lineage(ids(child).traceId, ids(child).spanId)).toEqual({
      traceId: ids(child).traceId,
      chain: [ids(child).spanId, ids(root).spanId],
      rootReached: true,
      ask: { spanId: ids(child).spanId, ancestors: [ids(root).spanId] },
    });
    expect(spans.liveSpans(ids(root).traceId)).toHaveLength(46);
    // Ended spans are forgotten after the grace period (the next start sweeps them).
    for (const c of [...children, ...more]) c.end();
    root.end();
    await sleep(60);
    tracer.startSpan('later').end();
    expect(spans.knows(ids(child).spanId)).toBe(false);
    expect(spans.liveTraces()).toEqual([]);
    await provider.shutdown();
  });

  it('ships sdk/dist built from sdk/src, and installs from the folder and from a packed tarball', () => {
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    const out = tempDir('canopy-sdk-build-');
    const build = spawnSync(tsc, ['-p', 'sdk/tsconfig.json', '--outDir', out], { cwd: ROOT, encoding: 'utf8' });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    const built = fs.readdirSync(out).sort();
    expect(fs.readdirSync(path.join(ROOT, 'sdk/dist')).sort(), 'sdk/dist is stale: run npm run build in sdk/').toEqual(built);
    for (const file of built) expect(fs.readFileSync(path.join(ROOT, 'sdk/dist', file), 'utf8'), `sdk/dist/${file} is stale: run npm run build in sdk/`).toBe(fs.readFileSync(path.join(out, file), 'utf8'));

    const npm = (args: string[], cwd: string) => {
      const run = spawnSync('npm', [...args, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', timeout: 120_000 });
      expect(run.status, `npm ${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(0);
      return run.stdout;
    };
    const packDir = tempDir('canopy-sdk-pack-');
    const tarball = path.join(packDir, npm(['pack', '--pack-destination', packDir], path.join(ROOT, 'sdk')).trim().split('\n').at(-1)!);
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/README.md');
    expect(listing.filter((f) => f.startsWith('package/src/'))).toEqual([]);

    for (const source of [tarball, path.join(ROOT, 'sdk')]) {
      const app = tempDir('canopy-sdk-app-');
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
      // Peers come from the repository's node_modules, as an app's own OpenTelemetry would (no registry here).
      npm(['install', '--legacy-peer-deps', source], app);
      fs.symlinkSync(path.join(ROOT, 'node_modules/@opentelemetry'), path.join(app, 'node_modules/@opentelemetry'));
      fs.writeFileSync(
        path.join(app, 'main.ts'),
        `import { CanopyStartProcessor, KillWatcher, KilledError, killSignal, type KillWatcherOptions } from '@canopy/sdk';
const options: KillWatcherOptions = { url: 'http://127.0.0.1:1', failClosed: true, failClosedAfterMs: 0, onError: () => {} };
const watcher = new KillWatcher(options);
const signal: AbortSignal = watcher.killSignal({ traceId: '${hex(16)}', spanId: '${hex(8)}' });
console.log(JSON.stringify({ processor: typeof CanopyStartProcessor, aborted: signal.aborted, killed: signal.reason instanceof KilledError, fn: typeof killSignal }));
watcher.close();
`,
      );
      fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, outDir: 'out', types: [], skipLibCheck: false, lib: ['ES2022', 'DOM'] }, include: ['main.ts'] }));
      const typecheck = spawnSync(tsc, ['-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
      expect(typecheck.status, `${source}: ${typecheck.stdout}${typecheck.stderr}`).toBe(0);
      const run = spawnSync(process.execPath, ['out/main.js'], { cwd: app, encoding: 'utf8', timeout: 20_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ processor: 'function', aborted: true, killed: true, fn: 'function' });
    }
  }, 180_000);
});

describe('SDK against a running Canopy', () => {
  let canopy_: RunningCanopy;
  let proxy: HttpProxy;
  let provider: NodeTracerProvider;
  let tracer: Tracer;
  let starts: CanopyStartProcessor;
  const exports: { at: number; spans: ReadableSpan[] }[] = [];
  const watchers: KillWatcher[] = [];
  const errors: Error[] = [];
  const watcher = (options: KillWatcherOptions = {}) => {
    const w = new KillWatcher({ url: proxy.url, onError: (e) => errors.push(e), ...options });
    watchers.push(w);
    return w;
  };
  /** Control API questions about this trace since request number `from`. */
  const controlAsks = (traceId: string, from = 0) => proxy.count(new RegExp(`^/api/control/${traceId}`), from);

  beforeAll(async () => {
    canopy_ = await startCanopy();
    proxy = await startProxy(canopy_.url);
    // The app's OpenTelemetry: Canopy's start processor beside the usual batch processor, both through the proxy
    // (Canopy's app port takes OTLP/HTTP too), so a restarted Canopy on new ports is reached the same way.
    const recorded: SpanExporter = exporterFor(proxy.url);
    const recording: SpanExporter = {
      export: (spans, done) => (exports.push({ at: Date.now(), spans }), recorded.export(spans, done)),
      shutdown: () => recorded.shutdown(),
    };
    starts = new CanopyStartProcessor(recording, { scheduledDelayMillis: 100 });
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-test-agent' }),
      spanProcessors: [starts, new BatchSpanProcessor(exporterFor(proxy.url), { scheduledDelayMillis: 200 })],
    });
    provider.register();
    tracer = trace.getTracer('sdk-test');
  }, 120_000);

  // One watcher per process, as in an app: each test's own are closed after it (they share the process's span
  // registry, so a leftover one would ask about the next test's spans too).
  afterEach(() => {
    for (const w of watchers.splice(0)) w.close();
    canopy().close();
  });

  afterAll(async () => {
    await provider?.shutdown().catch(() => {});
    await proxy?.close();
    await canopy_?.stop();
  });

  it('reports spans when they start: the running tree is in Canopy before any span ends', async () => {
    const root = tracer.startSpan('invoke_agent Planner', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' } });
    const { traceId, spanId: rootId } = ids(root);
    const children = Array.from({ length: 30 }, (_, i) => tracer.startSpan(`execute_tool step_${i}`, { attributes: { 'gen_ai.tool.name': `step_${i}` } }, under(root)));
    const startedAt = Date.now();
    const detail = await eventually(async () => {
      const d = await getTrace(canopy_.url, traceId);
      return d && d.spans.some((s) => s.spanId === rootId) && d.spans.length >= 31 ? d : undefined;
    }, 10_000, 'the running tree in Canopy');
    console.log(`started spans visible in Canopy ${Date.now() - startedAt} ms after they started`);
    expect(root.isRecording()).toBe(true); // nothing ended yet
    expect(detail.spans.find((s) => s.spanId === rootId)?.name).toBe('invoke_agent Planner');
    // Sent at start, marked, ended at their start time, in batches rather than a request per span.
    const reports = exports.filter((e) => e.spans.some((s) => s.spanContext().traceId === traceId));
    expect(reports.length).toBeLessThanOrEqual(2);
    const rootReport = reports.flatMap((e) => e.spans).find((s) => s.spanContext().spanId === rootId)!;
    expect(rootReport.attributes[STARTED_ATTRIBUTE]).toBe(true);
    expect(rootReport.endTime).toEqual(rootReport.startTime);
    expect(rootReport.attributes['gen_ai.agent.name']).toBe('Planner');
    expect(detail.trace).toMatchObject({ status: 'running', runningSpans: 31 });
    expect(detail.spans.every((s) => s.running)).toBe(true);

    // A model call under it reports usage when it ends: counted once, however many versions of it arrived.
    const call = tracer.startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.system': 'openai' } }, under(root));
    call.setAttributes({ 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 });
    call.end();
    for (const c of children) c.end();
    root.end();
    await provider.forceFlush();
    const done = await eventually(async () => {
      const d = await getTrace(canopy_.url, traceId);
      return d?.trace.status === 'completed' ? d : undefined;
    }, 10_000, 'the ended tree');
    expect(done.trace).toMatchObject({ spanCount: 32, runningSpans: 0, inputTokens: 1000, outputTokens: 100 });
    expect(done.spans.some((s) => s.running)).toBe(false);
  });

  it('stops a running AI SDK tool loop within a second of a kill of a branch above its span; the sibling goes on until the tree is killed', async () => {
    const w = watcher();
    expect(await w.ready()).toBe(true);
    const mark = proxy.requests.length;
    const root = tracer.startSpan('invoke_agent ReleaseManager');
    const coder = tracer.startSpan('invoke_agent CodingAgent', {}, under(root));
    const turn = tracer.startSpan('agent turn', {}, under(coder));
    const docs = tracer.startSpan('invoke_agent DocsWriter', {}, under(root));
    const { traceId } = ids(root);
    const coderId = ids(coder).spanId;
    // Each loop gets its signal in its own span's context, as `abortSignal: killSignal()` would.
    const a = context.with(under(turn), () => toolLoop(w.killSignal(), 'coder'));
    const b = context.with(under(docs), () => toolLoop(w.killSignal(), 'docs'));
    await eventually(async () => (a.steps.length >= 3 && b.steps.length >= 3 ? true : undefined), 10_000, 'both loops running');

    const branchKill = await timedKill(canopy_.url, traceId, { spanId: coderId, reason: 'run_tests 40 times' });
    const stopped = await a.done;
    expectStoppedSoon('AI SDK loop under the killed branch stopped', stopped.at, branchKill);
    expect(isKilledError(stopped.error)).toBe(true);
    expect(stopped.error).toBeInstanceOf(KilledError);
    expect(stopped.error).toMatchObject({ traceId, spanId: coderId, scope: 'branch', reason: 'run_tests 40 times' });
    expect(a.steps.filter((at) => at > stopped.at)).toEqual([]);

    // The sibling branch goes on.
    const before = b.steps.length;
    await sleep(800);
    expect(b.steps.length).toBeGreaterThan(before + 1);
    const treeKill = await timedKill(canopy_.url, traceId, { reason: 'enough' });
    const treeStopped = await b.done;
    expectStoppedSoon('AI SDK sibling loop stopped after the tree kill', treeStopped.at, treeKill);
    expect(treeStopped.error).toMatchObject({ traceId, spanId: null, scope: 'tree', reason: 'enough' });
    // Every span of this tree is local and its ancestry known: not one control question was needed.
    expect(controlAsks(traceId, mark)).toBe(0);
    for (const s of [turn, coder, docs, root]) s.end();
  });

  it('stops an OpenAI client call in flight (`signal: killSignal()`)', async () => {
    // A slow OpenAI-compatible endpoint: each completion takes 5 s, as a long generation would.
    const slow = http.createServer((req, res) => {
      req.resume();
      const timer = setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 0, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop', logprobs: null }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      }, 5_000);
      res.on('close', () => clearTimeout(timer));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const client = new OpenAI({ apiKey: 'test', baseURL: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/v1`, maxRetries: 0 });
      const w = watcher();
      expect(await w.ready()).toBe(true);
      const agent = tracer.startSpan('invoke_agent Writer');
      const { traceId } = ids(agent);
      const signal = w.killSignal(under(agent));
      const call = client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Write the release notes.' }] }, { signal }).then(
        () => {
          throw new Error('the call finished');
        },
        (error: unknown) => ({ error, at: Date.now() }),
      );
      await sleep(300);
      const t = await timedKill(canopy_.url, traceId, { reason: 'over budget' });
      const { error, at } = await call;
      expectStoppedSoon('OpenAI call aborted', at, t);
      expect(error).toBeInstanceOf(OpenAI.APIUserAbortError);
      expect(signal.reason).toMatchObject({ scope: 'tree', reason: 'over budget' });
      agent.end();
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('stops the example agent (examples/ai-sdk-loop) with the curl line it prints', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/ai-sdk-loop/agent.ts'], {
      cwd: ROOT,
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: canopy_.otlpUrl, CANOPY_URL: canopy_.url, LOOP_MAX_STEPS: '500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const lines: { at: number; line: Record<string, unknown> }[] = [];
    readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push({ at: Date.now(), line: JSON.parse(l) }));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(async () => (lines.filter((l) => l.line.event === 'step').length >= 3 ? true : undefined), 30_000, `the agent looping:\n${stderr}`);
      const started = lines.find((l) => l.line.event === 'started')!.line as { traceId: string; kill: string };
      expect(started.kill).toContain(`${canopy_.url}/api/traces/${started.traceId}/kill`);
      const requested = Date.now();
      const curl = spawnSync('bash', ['-c', started.kill], { encoding: 'utf8' });
      const inForce = Date.now();
      expect(curl.status, curl.stderr).toBe(0);
      expect(JSON.parse(curl.stdout)).toMatchObject({ traceId: started.traceId, scope: 'tree', active: true });
      expect(await exited, stderr).toBe(0);
      const killed = lines.find((l) => l.line.event === 'killed')!;
      // Its line is read from another process's stdout: a little more than the SDK's own latency.
      console.log(`example agent stopped ${killed.at - requested} ms after the kill request (${inForce - requested} ms of it curl)`);
      expect(killed.at - inForce).toBeLessThan(1_500);
      expect(killed.line).toMatchObject({ scope: 'tree', reason: 'stuck in a loop' });
      const detail = await eventually(async () => {
        const d = await getTrace(canopy_.url, started.traceId);
        return d?.spans.some((s) => s.name === 'ai.toolCall') && d.spans.some((s) => s.name === 'invoke_agent CodingAgent' && s.status === 'error') ? d : undefined;
      }, 10_000, 'the killed agent\'s spans');
      expect(detail.trace).toMatchObject({ killed: true, status: 'killed' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('stops spans below a branch killed in another process: the control API resolves the ancestry once per kill, not per call', async () => {
    const w = watcher();
    expect(await w.ready()).toBe(true);
    // Another process (another service) runs R → M → P and R → N → Q, reported at start; only Canopy knows them.
    const upstream = recordingTracer('upstream-service');
    const r = upstream.tracer.startSpan('invoke_agent Orchestrator');
    const m = upstream.tracer.startSpan('invoke_agent Researcher', {}, under(r));
    const n = upstream.tracer.startSpan('invoke_agent Writer', {}, under(r));
    const p = upstream.tracer.startSpan('POST /search', {}, under(m));
    const q = upstream.tracer.startSpan('POST /draft', {}, under(n));
    const { traceId } = ids(r);
    await sendOk(exporterFor(canopy_.otlpUrl), [r, m, n, p, q].map((s) => startedReport(s as unknown as SdkSpan)));
    await waitForTrace(canopy_.url, traceId, 5);

    // This process serves the calls P and Q made: its spans' parents are remote.
    const mark = proxy.requests.length;
    const e1 = tracer.startSpan('handle search', {}, remoteParent(traceId, ids(p).spanId));
    const g1 = tracer.startSpan('chat gpt-4o-mini', {}, under(e1));
    const e2 = tracer.startSpan('handle draft', {}, remoteParent(traceId, ids(q).spanId));
    const g2 = tracer.startSpan('chat gpt-4o-mini', {}, under(e2));
    const signals = (span: Span, count: number) => Array.from({ length: count }, () => w.killSignal(under(span)));
    const below = [...signals(g1, 10), ...signals(e1, 10)];
    const beside = signals(g2, 10);
    // First sight of each entry from another process: one question each (a kill may predate the subscription).
    await eventually(async () => (controlAsks(traceId, mark) >= 2 ? true : undefined), 5_000, 'the first-sight questions');
    await sleep(300);
    expect(controlAsks(traceId, mark)).toBe(2);
    expect(below.some((s) => s.aborted)).toBe(false);

    const t = await timedKill(canopy_.url, traceId, { spanId: ids(m).spanId, reason: 'researcher loops' });
    const { kill } = t;
    const at = await Promise.all(below.map(abortedAt));
    expectStoppedSoon('branch killed in another process: local spans below it aborted', Math.max(...at), t);
    for (const s of below) expect(s.reason).toMatchObject({ traceId, spanId: kill.spanId, scope: 'branch', reason: 'researcher loops' });
    expect(() => w.assertAlive(under(g1))).toThrow(KilledError);
    await sleep(300);
    expect(beside.some((s) => s.aborted)).toBe(false);
    expect(w.check(under(g2))).toBeNull();
    // One more question per entry for that kill event, and none for the calls after it.
    for (let i = 0; i < 20; i++) w.killSignal(under(i % 2 ? g1 : g2));
    await sleep(200);
    expect(controlAsks(traceId, mark)).toBe(4);
    for (const s of [g1, e1, g2, e2]) s.end();
  });

  it('keeps one event stream per process, however many signals and checks', async () => {
    const mark = proxy.requests.length;
    const w = configureCanopy({ url: proxy.url, onError: (e) => errors.push(e) });
    expect(canopy()).toBe(w);
    // Connected before the tree starts: a tree running at connection time is asked about once (a kill may
    // predate the connection), which is not what this test counts.
    expect(await w.ready()).toBe(true);
    const root = tracer.startSpan('invoke_agent Swarm');
    const { traceId } = ids(root);
    const agents = Array.from({ length: 20 }, (_, i) => tracer.startSpan(`invoke_agent worker_${i}`, {}, under(root)));
    const signals = agents.map((agent) => context.with(under(agent), () => Array.from({ length: 15 }, () => killSignal())));
    for (const agent of agents) context.with(under(agent), () => assertAlive());
    await killOk(canopy_.url, traceId, { spanId: ids(agents[7]!).spanId });
    await Promise.all(signals[7]!.map(abortedAt));
    await sleep(300);
    expect(signals.flat().filter((s) => s.aborted)).toHaveLength(15);
    expect(proxy.count(/^\/api\/control\/events/, mark)).toBe(1);
    expect(controlAsks(traceId, mark)).toBe(0);
    for (const s of [...agents, root]) s.end();
  });

  it('fails open by default, and fails closed when asked, while Canopy is unreachable', async () => {
    const open = watcher();
    const closed = watcher({ failClosed: true, failClosedAfterMs: 500, reconnectMinMs: 200, reconnectMaxMs: 500 });
    expect(await open.ready()).toBe(true);
    expect(await closed.ready()).toBe(true);
    const span = tracer.startSpan('invoke_agent Careful');
    const ctx = under(span);
    const openSignal = open.killSignal(ctx);
    const closedSignal = closed.killSignal(ctx);
    const errorsBefore = errors.length;
    const t0 = Date.now();
    proxy.block();
    try {
      const at = await abortedAt(closedSignal);
      expect(at - t0).toBeGreaterThanOrEqual(450);
      expect(at - t0).toBeLessThan(3_000);
      expect(closedSignal.reason).toMatchObject({ scope: 'unreachable', traceId: ids(span).traceId });
      expect(() => closed.assertAlive(ctx)).toThrow(/unreachable/);
      expect(closed.killSignal(ctx).aborted).toBe(true);
      await sleep(Math.max(0, 1_500 - (Date.now() - t0)));
      expect(openSignal.aborted).toBe(false);
      expect(() => open.assertAlive(ctx)).not.toThrow();
      expect(errors.length).toBeGreaterThan(errorsBefore);
      // Never connected at all: the same.
      const nowhere = new KillWatcher({ url: 'http://127.0.0.1:1', failClosed: true, failClosedAfterMs: 200, onError: () => {} });
      const nowhereOpen = new KillWatcher({ url: 'http://127.0.0.1:1', onError: () => {} });
      watchers.push(nowhere, nowhereOpen);
      nowhere.start();
      nowhereOpen.start();
      await sleep(300);
      expect(nowhere.killSignal(ctx).reason).toMatchObject({ scope: 'unreachable' });
      expect(nowhereOpen.killSignal(ctx).aborted).toBe(false);
    } finally {
      proxy.unblock();
    }
    expect(await closed.ready(5_000)).toBe(true);
    expect(closed.killSignal(ctx).aborted).toBe(false);
    expect(() => closed.assertAlive(ctx)).not.toThrow();
    span.end();
  });

  it('reconnects after Canopy restarts and learns the kills made while it was away', async () => {
    const w = watcher({ reconnectMinMs: 200, reconnectMaxMs: 1_000 });
    expect(await w.ready()).toBe(true);
    // An event seen before the outage, so the reconnect has a Last-Event-ID to send.
    const seen = hex(16);
    const s = w.killSignal({ traceId: seen });
    await killOk(canopy_.url, seen);
    await abortedAt(s);

    const one = tracer.startSpan('invoke_agent Planner');
    const branchA = tracer.startSpan('invoke_agent A', {}, under(one));
    const branchB = tracer.startSpan('invoke_agent B', {}, under(one));
    const two = tracer.startSpan('invoke_agent Other');
    const stepA = tracer.startSpan('step', {}, under(branchA));
    const signalA = w.killSignal(under(stepA));
    const signalB = w.killSignal(under(branchB));
    const signalTwo = w.killSignal(under(two));
    const t1 = ids(one).traceId;
    const t2 = ids(two).traceId;

    proxy.block();
    const mark = proxy.requests.length;
    await killOk(canopy_.url, t1, { spanId: ids(branchA).spanId, reason: 'killed before the restart' });
    const dataDir = canopy_.dataDir;
    expect(await canopy_.stop()).toBe(0);
    canopy_ = await startCanopy({ dataDir });
    proxy.setTarget(canopy_.url);
    await killOk(canopy_.url, t2, { reason: 'killed after the restart' });
    await sleep(300);
    expect([signalA.aborted, signalB.aborted, signalTwo.aborted]).toEqual([false, false, false]);

    const t0 = Date.now();
    proxy.unblock();
    await Promise.all([abortedAt(signalA), abortedAt(signalTwo)]);
    console.log(`after the restart, kills made while disconnected were learned ${Date.now() - t0} ms after the connection was possible again`);
    expect(signalA.reason).toMatchObject({ scope: 'branch', spanId: ids(branchA).spanId, reason: 'killed before the restart' });
    expect(signalTwo.reason).toMatchObject({ scope: 'tree', reason: 'killed after the restart' });
    await sleep(300);
    expect(signalB.aborted).toBe(false);
    const reconnect = proxy.requests.slice(mark).find((r) => r.path.startsWith('/api/control/events'))!;
    expect(reconnect.headers['last-event-id']).toBeTruthy();
    // One question per tree running here, and one more where it found a branch kill (is there another?).
    expect(controlAsks(t2, mark)).toBe(1);
    expect(controlAsks(t1, mark)).toBe(2);
    for (const span of [stepA, branchA, branchB, one, two]) span.end();
  }, 180_000);

  it('the Python snippet (examples/python/canopy_kill.py, the same as in sdk/README.md) sees kills, and kills made before it connected', async () => {
    const file = fs.readFileSync(path.join(ROOT, 'examples/python/canopy_kill.py'), 'utf8');
    expect(fs.readFileSync(path.join(ROOT, 'sdk/README.md'), 'utf8')).toContain(file.trim());
    const traceId = hex(16);
    const [spanId, parent, rootId] = [hex(8), hex(8), hex(8)];
    const py = await runPython(canopy_.url, [traceId, spanId, `${parent},${rootId}`]);
    const t0 = Date.now();
    await killOk(canopy_.url, traceId, { spanId: parent, reason: 'python branch' });
    const killed = await py.next('killed');
    console.log(`Python snippet saw the kill ${Date.now() - t0} ms after the kill request`);
    expect(killed).toMatchObject({ event: 'killed', scope: 'branch', spanId: parent, reason: 'python branch' });
    expect(await py.exited).toBe(0);

    const early = hex(16);
    await killOk(canopy_.url, early, { reason: 'before python started' });
    const late = await runPython(canopy_.url, [early]);
    expect(await late.next('killed')).toMatchObject({ scope: 'tree', reason: 'before python started' });
    expect(await late.exited).toBe(0);
  });

  it('makes the simulator\'s agents obey kills through the SDK', async () => {
    const { SdkKillChecker } = await import('../sim/kills');
    const w = watcher();
    const checker = new SdkKillChecker(w);
    expect(await w.ready()).toBe(true);
    const traceId = hex(16);
    const [rootId, agentId, toolId, otherId] = [hex(8), hex(8), hex(8), hex(8)];
    const running = () => [
      { spanId: toolId, ancestors: [agentId, rootId] },
      { spanId: otherId, ancestors: [rootId] },
    ];
    expect(await checker.status(traceId, running)).toEqual({ killed: false, spanIds: [], traceKilled: false });
    await killOk(canopy_.url, traceId, { spanId: agentId });
    await eventually(async () => ((await checker.status(traceId, running)).killed ? true : undefined), 2_000, 'the branch kill');
    expect(await checker.status(traceId, running)).toEqual({ killed: true, spanIds: [agentId], traceKilled: false });
    await killOk(canopy_.url, traceId);
    await eventually(async () => ((await checker.status(traceId, running)).traceKilled ? true : undefined), 2_000, 'the tree kill');
  });
});

describe('SDK against a Canopy with API keys', () => {
  let c: RunningCanopy;
  const KEY = 'sdk-test-key';
  const auth = { authorization: `Bearer ${KEY}` };
  const watchers: KillWatcher[] = [];

  beforeAll(async () => {
    c = await startCanopy({ env: { CANOPY_API_KEYS: KEY } });
  }, 120_000);
  afterAll(async () => {
    for (const w of watchers) w.close();
    await c?.stop();
  });

  it('subscribes, reports and asks with the key; without it, it says why and fails open', async () => {
    const refused: Error[] = [];
    const withKey = new KillWatcher({ url: c.url, apiKey: KEY, onError: (e) => refused.push(e) });
    const withoutKey = new KillWatcher({ url: c.url, onError: (e) => refused.push(e) });
    watchers.push(withKey, withoutKey);
    expect(await withKey.ready()).toBe(true);
    expect(await withoutKey.ready(1_500)).toBe(false);
    expect(refused.map((e) => e.message).join('\n')).toMatch(/401.*CANOPY_API_KEY/);

    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-keyed-agent' }),
      spanProcessors: [new CanopyStartProcessor(exporterFor(c.otlpUrl, 'proto', auth), { scheduledDelayMillis: 50 })],
    });
    const tracer = provider.getTracer('sdk-test');
    const root = tracer.startSpan('invoke_agent Keyed');
    const step = tracer.startSpan('execute_tool search', {}, under(root));
    const { traceId } = ids(root);
    expect(localSpans().lineage(traceId, ids(step).spanId).rootReached).toBe(true);
    await eventually(async () => {
      const { status, body } = await getJson<domain.TraceDetailResponse>(`${c.url}/api/traces/${traceId}`, auth);
      return status === 200 && body.spans.length >= 2 ? true : undefined;
    }, 10_000, 'the started reports, sent with the key');

    const keyed = withKey.killSignal(under(step));
    const unkeyed = withoutKey.killSignal(under(step));
    await killOk(c.url, traceId, { reason: 'keyed kill' }, auth);
    await abortedAt(keyed);
    expect(keyed.reason).toMatchObject({ scope: 'tree', reason: 'keyed kill' });
    await sleep(300);
    expect(unkeyed.aborted).toBe(false);
    expect(() => withoutKey.assertAlive(under(step))).not.toThrow();

    const py = await runPython(c.url, [traceId], { CANOPY_API_KEY: KEY });
    expect(await py.next('killed')).toMatchObject({ scope: 'tree', reason: 'keyed kill' });
    step.end();
    root.end();
    await provider.shutdown();
  });
});

/** Runs the Python snippet as a script; resolves once it is subscribed. */
async function runPython(url: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn('python3', [path.join(ROOT, 'examples/python/canopy_kill.py'), ...args], {
    env: { ...process.env, CANOPY_URL: url, CANOPY_WAIT_SECONDS: '20', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines: Record<string, unknown>[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const next = (event: string) => eventually(async () => lines.find((l) => l.event === event), 10_000, `"${event}" from the Python snippet: ${stderr}`);
  try {
    await next('watching');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { next, exited };
}
