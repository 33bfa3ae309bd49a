// OTLP/HTTP load client: keep-alive connections to 127.0.0.1, protobuf + gzip bodies, and the exporters'
// retry rule (429/503 → wait Retry-After, resend the same body). A request counts as acknowledged only on 200.

import http from 'node:http';
import type { Body } from './workload';

export interface PostResult {
  status: number;
  retryAfterS: number;
  ms: number;
}

/** What the load loops need of a client: send one gzipped export, say how it was answered (as HTTP would). */
export interface ExportClient {
  post(gz: Buffer): Promise<PostResult>;
  close(): void;
}

export class OtlpClient implements ExportClient {
  readonly agent: http.Agent;
  private readonly url: URL;

  constructor(otlpUrl: string, maxSockets: number) {
    this.url = new URL('/v1/traces', otlpUrl);
    if (this.url.hostname !== '127.0.0.1') throw new Error(`benchmark traffic goes to 127.0.0.1 only, not ${this.url.hostname}`);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  post(gz: Buffer): Promise<PostResult> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', 'content-length': gz.length },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, retryAfterS: Number(res.headers['retry-after'] ?? 0) || 0, ms: performance.now() - started }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(gz);
    });
  }

  close() {
    this.agent.destroy();
  }
}

export interface SendStats {
  requests: number; // bodies acknowledged (200)
  spansAcked: number;
  attempts: number;
  status: Record<string, number>; // every response by status, including refusals that were retried
  errors: number; // connection errors (retried)
  /** Per acknowledged body: first send → 200, including any waits for Retry-After and resends. */
  ackMs: number[];
  /** Per 200 response: the one attempt's latency (what the exporter's HTTP call saw). */
  okAttemptMs: number[];
  firstSendMs: number;
  lastAckMs: number;
}

export function newStats(): SendStats {
  return { requests: 0, spansAcked: 0, attempts: 0, status: {}, errors: 0, ackMs: [], okAttemptMs: [], firstSendMs: Infinity, lastAckMs: 0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends one body until it is acknowledged, as an OTLP exporter would (bounded by `deadline`). */
export async function sendUntilAcked(client: ExportClient, body: Body, stats: SendStats, deadline: number): Promise<boolean> {
  const first = performance.now();
  stats.firstSendMs = Math.min(stats.firstSendMs, first);
  for (;;) {
    stats.attempts++;
    let r: PostResult;
    try {
      r = await client.post(body.gz);
    } catch {
      stats.errors++;
      if (performance.now() > deadline) return false;
      await sleep(200);
      continue;
    }
    stats.status[r.status] = (stats.status[r.status] ?? 0) + 1;
    if (r.status === 200) {
      const now = performance.now();
      stats.requests++;
      stats.spansAcked += body.spans;
      stats.ackMs.push(now - first);
      stats.okAttemptMs.push(r.ms);
      stats.lastAckMs = Math.max(stats.lastAckMs, now);
      return true;
    }
    if (r.status !== 429 && r.status !== 503) throw new Error(`unexpected HTTP ${r.status} from /v1/traces`);
    if (performance.now() > deadline) return false;
    await sleep(Math.max(1, r.retryAfterS) * 1000);
  }
}

/** Closed loop: `concurrency` senders, each sending its next body as soon as the previous one is acked. */
export async function closedLoop(client: ExportClient, bodies: Body[], concurrency: number, opts: { maxMs: number; drainMs?: number }): Promise<SendStats & { sent: number[] }> {
  const stats = newStats();
  const sent: number[] = [];
  const stopAt = performance.now() + opts.maxMs;
  const deadline = stopAt + (opts.drainMs ?? 60_000);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length && performance.now() < stopAt) {
        const i = next++;
        sent.push(i);
        await sendUntilAcked(client, bodies[i]!, stats, deadline);
      }
    }),
  );
  return { ...stats, sent };
}

/**
 * Open loop: one body every `bodies[i].spans / spansPerSecond` seconds whatever the server does (arrivals do
 * not wait for acks), each retried after Retry-After until acknowledged. In flight is capped only by the
 * agent's sockets; requests beyond that queue client-side, as exporters' queues would.
 */
export async function openLoop(
  client: ExportClient,
  bodies: Body[],
  spansPerSecond: number,
  opts: { durationMs: number; drainMs: number; onTick?: (inFlight: number) => void },
): Promise<SendStats & { sent: number[]; offeredSpans: number; offeredMs: number; unacked: number }> {
  const stats = newStats();
  const sent: number[] = [];
  const pending = new Set<Promise<boolean>>();
  const t0 = performance.now();
  const stopAt = t0 + opts.durationMs;
  const deadline = stopAt + opts.drainMs;
  let due = t0;
  let offeredSpans = 0;
  let i = 0;
  let unacked = 0;
  while (i < bodies.length) {
    const now = performance.now();
    if (now >= stopAt) break;
    if (now < due) {
      await sleep(Math.min(due - now, 50));
      continue;
    }
    const body = bodies[i]!;
    sent.push(i++);
    offeredSpans += body.spans;
    due += (body.spans / spansPerSecond) * 1000;
    const p = sendUntilAcked(client, body, stats, deadline).then((ok) => {
      if (!ok) unacked++;
      pending.delete(p);
      return ok;
    });
    pending.add(p);
    opts.onTick?.(pending.size);
  }
  const offeredMs = performance.now() - t0;
  await Promise.all([...pending]);
  return { ...stats, sent, offeredSpans, offeredMs, unacked };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
