// Runs the fuzz against a real Canopy (server.ts on the embedded engine, its own temp data dir, started as
// the tests start it) and measures what the summary reports.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startCanopy, type RunningCanopy } from '../../tests/helpers/canopy';
import { exporterFor, sendOk } from '../../tests/helpers/otel';
import { eventually } from '../../tests/helpers/canopy';
import type { TraceDetailResponse } from '../../lib/domain';
import { buildCorpus, buildKnownTrace, type SeedBody } from './corpus';
import { familyOf, makeBody, type BodyContext, type FuzzBody } from './bodies';
import { checkAnswer } from './check';

export interface FuzzOptions {
  seed: number;
  count: number;
  concurrency: number;
  /** A request not answered within this is a hang. */
  timeoutMs: number;
  /** Only these body indices (to reproduce a finding); default every index below count. */
  only?: number[];
  /** Extra environment for Canopy. */
  env?: Record<string, string>;
  /** Run Canopy with this API key (CANOPY_API_KEYS): bodies carry it, ~5% carry none or a wrong one. */
  apiKey?: string;
  /** Mix in large valid exports (BodyContext.flood). */
  flood?: boolean;
  /** How many stored traces' details to read back after the fuzz (default 300). */
  readTraces?: number;
  /** Where bodies with a problem are written (with their headers), to reproduce them. */
  dumpDir?: string;
  log?: (line: string) => void;
}

export interface Problem {
  index: number;
  format: string;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  encoding: string;
  mutations: string[];
  bytes: number;
  status: number | string;
  problem: string;
}

export interface FuzzSummary {
  seed: number;
  count: number;
  concurrency: number;
  timeoutMs: number;
  startedAt: string;
  durationMs: number;
  fuzzMs: number;
  bodies: number;
  bytesSent: number;
  largestBody: number;
  byFormat: Record<string, number>;
  byEncoding: Record<string, number>;
  statuses: Record<string, number>;
  statusesByFormat: Record<string, Record<string, number>>;
  byFamily: Record<string, Record<string, number>>;
  /** Valid exports mixed in: accepted, or deferred with 429/503 + Retry-After (allowed, counted). */
  controls: { sent: number; accepted: number; deferred: number };
  acceptedWithRejections: number;
  rejectedSpans: number;
  backpressure: number;
  wrongEncoding: number;
  badStatus: number;
  otherProblems: number;
  transportErrors: number;
  hangs: number;
  crashes: number;
  exitCode: number | null;
  problems: Problem[];
  problemCount: number;
  notes: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  rss: { startMiB: number; maxMiB: number; endMiB: number; hwmMiB: number; samples: number };
  healthAfter: { status: number | string; ms: number };
  ingestAfter: boolean;
  knownTrace: { traceId: string; spans: number; inputTokens: number; outputTokens: number; after: { spans: number; inputTokens: number; outputTokens: number } | null; intact: boolean };
  /** The read API over what the fuzz stored: the trace list and each seed export's trace detail. */
  readsAfter: { requests: number; traces: number; failures: string[] };
  apiKey?: string;
  flood?: boolean;
  serverErrors: string[];
  dumpDir?: string;
}

/** Log events a healthy server never prints, whatever the input. */
// insert_refused: an export that decoded but whose rows the engine refused (answered 400): spans lost to a
// normaliser bug, not a client's mistake.
const SERVER_ERROR_EVENTS = ['request_failed', 'api_failed', 'unhandled_rejection', 'uncaught_exception', 'ingest_worker_stopped', 'prepare_failed', 'insert_failed', 'insert_refused', 'shutdown_timeout'];

const MiB = 1024 * 1024;

function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const bump = (h: Record<string, number>, k: string, n = 1) => (h[k] = (h[k] ?? 0) + n);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Sends one body over a keep-alive agent; rejects with 'timeout' when no full answer came in time. */
function send(agent: http.Agent, base: string, b: FuzzBody, timeoutMs: number): Promise<Answer> {
  const url = new URL('/v1/traces', base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (b.authorization !== undefined) headers.authorization = b.authorization;
    if (b.contentType !== undefined) headers['content-type'] = b.contentType;
    if (b.contentEncoding !== undefined) headers['content-encoding'] = b.contentEncoding;
    if (!b.chunks) headers['content-length'] = String(b.body.length);
    let done = false;
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 4 * MiB) chunks.push(c);
      });
      res.on('end', () => {
        done = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (err) => {
        done = true;
        clearTimeout(timer);
        reject(err);
      });
    });
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      req.destroy(new Error('timeout'));
      reject(new Error('timeout'));
    }, timeoutMs);
    req.on('error', (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(err);
    });
    if (b.chunks) {
      for (const c of b.chunks) req.write(c);
      req.end();
    } else req.end(b.body);
  });
}

async function timedGet(url: string, timeoutMs: number, headers: Record<string, string>): Promise<{ status: number | string; ms: number }> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { status: res.status, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { status: (err as Error).name === 'TimeoutError' ? 'timeout' : (err as Error).message, ms: Math.round(performance.now() - t0) };
  }
}

function dump(dir: string, b: FuzzBody, problem: Problem): void {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `body-${b.index}`);
  fs.writeFileSync(`${base}.bin`, b.body);
  fs.writeFileSync(`${base}.json`, JSON.stringify({ ...problem, curl: curlFor(b, `${base}.bin`, b.port === 'main' ? 3000 : 4318) }, null, 2) + '\n');
}

/** A command line that re-sends the body, for a report. */
export function curlFor(b: FuzzBody, file: string, port = 4318): string {
  const h = [
    b.contentType !== undefined && `-H 'content-type: ${b.contentType}'`,
    b.contentEncoding !== undefined && `-H 'content-encoding: ${b.contentEncoding}'`,
    b.authorization !== undefined && `-H 'authorization: ${b.authorization}'`,
    b.chunks && `-H 'transfer-encoding: chunked'`,
  ].filter(Boolean).join(' ');
  return `curl -sS -i -X POST ${h} --data-binary @${file} http://127.0.0.1:${port}/v1/traces`;
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const corpus = buildCorpus(opts.seed);
  const maxBodyBytes = Number(opts.env?.CANOPY_MAX_BODY_BYTES ?? 16 * MiB);
  const ctx: BodyContext = { seed: opts.seed, corpus, maxBodyBytes, apiKey: opts.apiKey, flood: opts.flood };
  const auth: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  const getTrace = async (base: string, traceId: string): Promise<TraceDetailResponse | undefined> => {
    const res = await fetch(`${base}/api/traces/${traceId}`, { headers: auth, signal: AbortSignal.timeout(10_000) });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET /api/traces/${traceId} → ${res.status} ${await res.text()}`);
    return (await res.json()) as TraceDetailResponse;
  };
  const waitForTrace = (base: string, traceId: string, spans: number) =>
    eventually(async () => {
      const d = await getTrace(base, traceId);
      return d && d.spans.length >= spans ? d : undefined;
    }, 20_000, `trace ${traceId} with ${spans} spans`);
  const indices = opts.only ?? Array.from({ length: opts.count }, (_, i) => i);
  log(`seed ${opts.seed}: ${indices.length} bodies from ${corpus.length} seed exports (${corpus.map((c) => `${c.name}: ${c.spans} spans`).join(', ')}), ${opts.concurrency} at a time`);

  const canopy: RunningCanopy = await startCanopy({ env: { ...opts.env, ...(opts.apiKey ? { CANOPY_API_KEYS: opts.apiKey } : {}) } });
  const pid = canopy.process.pid!;
  let exited = false;
  canopy.process.once('exit', () => (exited = true));
  log(`Canopy pid ${pid} at ${canopy.otlpUrl}, data in ${canopy.dataDir}`);

  const rss = { startMiB: procStatusKiB(pid, 'VmRSS') / 1024, maxMiB: 0, endMiB: 0, hwmMiB: 0, samples: 0 };
  const sampler = setInterval(() => {
    const kib = procStatusKiB(pid, 'VmRSS');
    if (kib) {
      rss.samples++;
      rss.maxMiB = Math.max(rss.maxMiB, kib / 1024);
    }
  }, 100);

  const summary: FuzzSummary = {
    seed: opts.seed,
    count: indices.length,
    concurrency: opts.concurrency,
    timeoutMs: opts.timeoutMs,
    startedAt,
    durationMs: 0,
    fuzzMs: 0,
    bodies: 0,
    bytesSent: 0,
    largestBody: 0,
    byFormat: {},
    byEncoding: {},
    statuses: {},
    statusesByFormat: {},
    byFamily: {},
    controls: { sent: 0, accepted: 0, deferred: 0 },
    acceptedWithRejections: 0,
    rejectedSpans: 0,
    backpressure: 0,
    wrongEncoding: 0,
    badStatus: 0,
    otherProblems: 0,
    transportErrors: 0,
    hangs: 0,
    crashes: 0,
    exitCode: null,
    problems: [],
    problemCount: 0,
    notes: {},
    latencyMs: { p50: 0, p99: 0, max: 0 },
    rss,
    healthAfter: { status: 'not checked', ms: 0 },
    ingestAfter: false,
    knownTrace: { traceId: '', spans: 0, inputTokens: 0, outputTokens: 0, after: null, intact: false },
    readsAfter: { requests: 0, traces: 0, failures: [] },
    apiKey: opts.apiKey,
    flood: opts.flood,
    serverErrors: [],
    dumpDir: opts.dumpDir,
  };

  try {
    // The known trace: sent by the stock exporter before any fuzz body, compared at the end.
    const known = buildKnownTrace();
    await sendOk(exporterFor(canopy.otlpUrl, 'proto', auth), known.spans);
    const before = await waitForTrace(canopy.url, known.traceId, known.spans.length);
    summary.knownTrace = { traceId: known.traceId, spans: before.spans.length, inputTokens: before.trace.inputTokens, outputTokens: before.trace.outputTokens, after: null, intact: false };
    if (before.trace.inputTokens !== known.inputTokens || before.trace.outputTokens !== known.outputTokens) {
      throw new Error(`the known trace was stored with ${before.trace.inputTokens}/${before.trace.outputTokens} tokens, sent ${known.inputTokens}/${known.outputTokens}`);
    }

    const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
    const latencies: number[] = [];
    let next = 0;
    let lastReport = performance.now();
    const fuzzStart = performance.now();
    const record = (b: FuzzBody, status: number | string, problem: string) => {
      summary.problemCount++;
      const p: Problem = { index: b.index, format: b.format, contentType: b.contentType, contentEncoding: b.contentEncoding, encoding: b.encoding, mutations: b.mutations, bytes: b.body.length, status, problem };
      if (summary.problems.length < 50) summary.problems.push(p);
      if (opts.dumpDir && summary.problemCount <= 200) dump(opts.dumpDir, b, p);
    };
    const worker = async () => {
      while (next < indices.length && !exited) {
        const b = makeBody(indices[next++], ctx);
        summary.bodies++;
        summary.bytesSent += b.body.length;
        summary.largestBody = Math.max(summary.largestBody, b.body.length);
        bump(summary.byFormat, b.format);
        bump(summary.byEncoding, b.encoding.split(':')[0]);
        const family = familyOf(b);
        summary.byFamily[family] ??= {};
        summary.statusesByFormat[b.format] ??= {};
        if (b.control) summary.controls.sent++;
        const t = performance.now();
        let answer: Answer;
        try {
          answer = await send(agent, b.port === 'otlp' ? canopy.otlpUrl : canopy.url, b, opts.timeoutMs);
        } catch (err) {
          const what = (err as Error).message === 'timeout' ? 'timeout' : 'transport';
          if (what === 'timeout') summary.hangs++;
          else summary.transportErrors++;
          bump(summary.statuses, what);
          bump(summary.statusesByFormat[b.format], what);
          bump(summary.byFamily[family], what);
          record(b, what, what === 'timeout' ? `no answer within ${opts.timeoutMs} ms` : `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.trim());
          continue;
        }
        latencies.push(performance.now() - t);
        const status = String(answer.status);
        bump(summary.statuses, status);
        bump(summary.statusesByFormat[b.format], status);
        bump(summary.byFamily[family], status);
        const v = checkAnswer(b, answer.status, answer.headers, answer.body);
        if (v.kind === 'backpressure') summary.backpressure++;
        if (v.note) bump(summary.notes, v.note.slice(0, 160));
        if (v.kind === 'bad') {
          if (/Content-Type|not JSON|not an object|not a google|not an Export|wire type|Status/.test(v.problem) && !/^unsupported Content-Type/.test(v.problem)) summary.wrongEncoding++;
          else if (/^HTTP \d|without Retry-After|answered \d+/.test(v.problem)) summary.badStatus++;
          else summary.otherProblems++;
          record(b, answer.status, v.problem);
        }
        if (b.control && answer.status === 200 && v.kind === 'ok') summary.controls.accepted++;
        if (b.control && v.kind === 'backpressure') summary.controls.deferred++;
        if (answer.status === 200 && v.rejected > 0) {
          summary.acceptedWithRejections++;
          summary.rejectedSpans += v.rejected;
        }
        if (performance.now() - lastReport > 5000) {
          lastReport = performance.now();
          log(`${summary.bodies}/${indices.length} sent, RSS ${Math.round(procStatusKiB(pid, 'VmRSS') / 1024)} MiB, statuses ${JSON.stringify(summary.statuses)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    summary.fuzzMs = Math.round(performance.now() - fuzzStart);
    agent.destroy();
    latencies.sort((a, b) => a - b);
    summary.latencyMs = { p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)), max: Math.round(latencies[latencies.length - 1] ?? 0) };

    // Still there, still answering, still ingesting, and the known trace untouched.
    if (!exited) {
      summary.healthAfter = await timedGet(`${canopy.url}/api/health`, 10_000, auth);
      try {
        const probe = buildKnownTrace();
        await sendOk(exporterFor(canopy.otlpUrl, 'proto', auth), probe.spans.slice(0, 2));
        await sendOk(exporterFor(canopy.url, 'json', auth), probe.spans.slice(2));
        await waitForTrace(canopy.url, probe.traceId, probe.spans.length);
        summary.ingestAfter = true;
      } catch (err) {
        log(`ingest after the fuzz failed: ${(err as Error).message}`);
      }
      const after = await getTrace(canopy.url, known.traceId).catch(() => undefined);
      if (after) {
        summary.knownTrace.after = { spans: after.spans.length, inputTokens: after.trace.inputTokens, outputTokens: after.trace.outputTokens };
        const sameSpans = JSON.stringify(after.spans.map((s) => [s.spanId, s.name, s.inputTokens, s.outputTokens]).sort()) === JSON.stringify(before.spans.map((s) => [s.spanId, s.name, s.inputTokens, s.outputTokens]).sort());
        summary.knownTrace.intact = sameSpans && after.spans.length === known.spans.length && after.trace.spanCount === known.spans.length && after.trace.inputTokens === known.inputTokens && after.trace.outputTokens === known.outputTokens;
      }
      // What the fuzz stored must still read back: every page of the trace list, and the detail of up to
      // `readTraces` traces (the seed exports' first: their mutated copies were accepted too), each a 200 (or
      // 404) whose body parses as JSON.
      const read = async (p: string): Promise<unknown> => {
        summary.readsAfter.requests++;
        try {
          const res = await fetch(`${canopy.url}${p}`, { headers: auth, signal: AbortSignal.timeout(30_000) });
          const text = await res.text();
          if (res.status === 404) return undefined;
          if (res.status !== 200) return void summary.readsAfter.failures.push(`GET ${p} → ${res.status}: ${text.slice(0, 300)}`);
          try {
            return JSON.parse(text);
          } catch (err) {
            const at = Number(/position (\d+)/.exec((err as Error).message)?.[1] ?? 0);
            summary.readsAfter.failures.push(`GET ${p} → ${res.status} but not JSON (${(err as Error).message}): …${text.slice(Math.max(0, at - 80), at + 80)}…`);
          }
        } catch (err) {
          summary.readsAfter.failures.push(`GET ${p}: ${(err as Error).message}`);
        }
        return undefined;
      };
      const ids = new Set(corpusTraceIds(corpus));
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const list = (await read(`/api/traces?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)) as { traces?: { traceId: string }[]; nextCursor?: string | null } | undefined;
        for (const t of list?.traces ?? []) ids.add(t.traceId);
        cursor = list?.nextCursor ?? null;
        if (!cursor) break;
      }
      summary.readsAfter.traces = ids.size;
      for (const id of [...ids].slice(0, opts.readTraces ?? 300)) await read(`/api/traces/${id}`);
    }
  } finally {
    clearInterval(sampler);
    rss.endMiB = procStatusKiB(pid, 'VmRSS') / 1024;
    rss.hwmMiB = procStatusKiB(pid, 'VmHWM') / 1024;
    summary.crashes = exited ? 1 : 0;
    summary.exitCode = exited ? canopy.process.exitCode : await canopy.stop();
    for (const line of canopy.output().split('\n')) {
      let event: string | undefined;
      try {
        event = (JSON.parse(line) as { event?: string }).event;
      } catch {
        event = /FATAL|Error|panic|Segmentation|Aborted/.test(line) ? 'stderr' : undefined;
      }
      if (event && (SERVER_ERROR_EVENTS.includes(event) || event === 'stderr')) summary.serverErrors.push(line.slice(0, 2000));
    }
    if (summary.crashes) summary.serverErrors.push(`--- Canopy exited (code ${summary.exitCode}) during the fuzz; last output:\n${canopy.output().slice(-4000)}`);
    fs.rmSync(canopy.dataDir, { recursive: true, force: true });
    summary.durationMs = Math.round(performance.now() - t0);
  }
  return summary;
}

function corpusTraceIds(corpus: SeedBody[]): string[] {
  const ids = new Set<string>();
  for (const c of corpus) for (const m of c.jsonText.matchAll(/"traceId":"([0-9a-f]{32})"/g)) ids.add(m[1]);
  return [...ids];
}

/** The properties a run must have; each failed one as a sentence (empty = pass). */
export function verdicts(s: FuzzSummary, maxRssMiB: number): string[] {
  const out: string[] = [];
  if (s.crashes) out.push(`Canopy exited during the fuzz (code ${s.exitCode})`);
  if (s.hangs) out.push(`${s.hangs} requests got no answer within ${s.timeoutMs} ms`);
  if (s.transportErrors) out.push(`${s.transportErrors} requests failed at the transport level (connection reset/closed without an answer)`);
  if (s.problemCount - s.hangs - s.transportErrors > 0) out.push(`${s.problemCount - s.hangs - s.transportErrors} answers were wrong (5xx, wrong status or wrong encoding); first: ${JSON.stringify(s.problems.find((p) => typeof p.status === 'number'))}`);
  if (s.healthAfter.status !== 200) out.push(`GET /api/health after the fuzz: ${s.healthAfter.status}`);
  if (!s.ingestAfter) out.push('a valid export after the fuzz was not stored');
  if (!s.knownTrace.intact) out.push(`the known trace changed: before ${JSON.stringify({ spans: s.knownTrace.spans, inputTokens: s.knownTrace.inputTokens, outputTokens: s.knownTrace.outputTokens })}, after ${JSON.stringify(s.knownTrace.after)}`);
  if (s.readsAfter.failures.length) out.push(`${s.readsAfter.failures.length} of ${s.readsAfter.requests} reads of the fuzzed data failed; first: ${s.readsAfter.failures[0].slice(0, 400)}`);
  if (s.rss.maxMiB > maxRssMiB) out.push(`RSS reached ${Math.round(s.rss.maxMiB)} MiB (bound ${maxRssMiB} MiB)`);
  if (s.serverErrors.length) out.push(`the server logged ${s.serverErrors.length} errors; first: ${s.serverErrors[0].slice(0, 500)}`);
  if (s.exitCode !== 0 && !s.crashes) out.push(`Canopy exited with ${s.exitCode} on SIGTERM after the fuzz`);
  const lost = s.controls.sent - s.controls.accepted - s.controls.deferred;
  if (lost) out.push(`${lost} of ${s.controls.sent} valid exports sent during the fuzz were neither accepted nor deferred with Retry-After`);
  return out;
}

export const defaultDumpDir = (seed: number) => path.join(os.tmpdir(), `canopy-fuzz-${seed}`);
