import { z } from 'zod';
import os from 'node:os';
import path from 'node:path';
import { BUDGET_MAX_USD } from '../domain/budget';

function httpUrl() {
  // zod runs the refinement even after .url() failed, so it must not throw on a non-URL itself.
  return z.string().url().refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL');
}

// Every setting Canopy reads from the environment, validated once at start so a typo fails loudly.
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  CANOPY_OTLP_PORT: z.coerce.number().int().min(0).max(65535).default(4318),
  CANOPY_OTLP_GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(4317),
  CANOPY_HOST: z.string().min(1).default('127.0.0.1'),
  CANOPY_DATA_DIR: z.string().min(1).default('./data'),
  CANOPY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  CANOPY_API_KEYS: z.string().default(''),
  CANOPY_PRICES_FILE: z.string().optional(),
  CANOPY_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  CANOPY_QUEUE_MAX_ROWS: z.coerce.number().int().min(1).default(200_000),
  CANOPY_QUEUE_MAX_BYTES: z.coerce.number().int().min(1024).default(32 * 1024 * 1024),
  CANOPY_BATCH_MAX_ROWS: z.coerce.number().int().min(1).default(100_000),
  CANOPY_BATCH_MAX_BYTES: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
  CANOPY_BATCH_MIN_ROWS: z.coerce.number().int().min(0).default(16_000),
  CANOPY_BATCH_LINGER_MS: z.coerce.number().int().min(0).max(5_000).default(100),
  CANOPY_MAX_DECODING: z.coerce.number().int().min(1).default(32),
  // Spans one export may hold: decoded spans, not bytes, are what an export costs in memory.
  CANOPY_MAX_SPANS_PER_EXPORT: z.coerce.number().int().min(1).default(50_000),
  // Slow or stalled clients: a request must arrive whole within these times, and one address may hold
  // only so many connections, so a few trickling clients cannot hold the server's capacity.
  CANOPY_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),
  CANOPY_BODY_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  CANOPY_MAX_CONNECTIONS_PER_CLIENT: z.coerce.number().int().min(1).default(256),
  // Bytes of export bodies being received at once, over all clients (the memory they can hold).
  CANOPY_MAX_RECEIVING_BYTES: z.coerce.number().int().min(1024).default(256 * 1024 * 1024),
  // Heavy reads (trace list, trace detail) running at once and waiting; the rest get 503 + Retry-After.
  CANOPY_MAX_READS: z.coerce.number().int().min(1).max(256).default(4),
  CANOPY_MAX_QUEUED_READS: z.coerce.number().int().min(0).default(64),
  // Span JSON one trace detail may hold; past it the detail answers the spans that fit, truncated: true.
  CANOPY_TRACE_MAX_BYTES: z.coerce.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  // Threads that inflate, decode, normalise and serialise exports; the engine and the event loop need the rest.
  CANOPY_INGEST_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  CLICKHOUSE_URL: z.string().url().optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z.string().default('default'),
  // Alert delivery. http(s) only: fetch can POST nowhere else, so a wrong scheme fails at start, not at the first alert.
  CANOPY_WEBHOOK_URL: httpUrl().optional(),
  CANOPY_WEBHOOK_SECRET: z.string().min(1).optional(),
  // Base of the links in alerts; unset, the server uses the address it bound.
  CANOPY_PUBLIC_URL: httpUrl().optional(),
  CANOPY_DETECTOR: z.enum(['on', 'off']).default('on'),
  CANOPY_DETECTOR_TICK_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  /** Every tree's budget unless it has its own (lib/domain/budget.ts); unset = none. */
  CANOPY_TREE_BUDGET_USD: z.coerce.number().positive().max(BUDGET_MAX_USD).optional(),
});

export interface CanopyConfig {
  port: number;
  otlpPort: number;
  otlpGrpcPort: number;
  host: string;
  dataDir: string;
  retentionDays: number;
  apiKeys: string[];
  pricesFile?: string;
  maxBodyBytes: number;
  queueMaxRows: number;
  queueMaxBytes: number;
  batchMaxRows: number;
  batchMaxBytes: number;
  batchMinRows: number;
  batchLingerMs: number;
  maxDecoding: number;
  maxSpansPerExport: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  maxConnectionsPerClient: number;
  maxReceivingBytes: number;
  maxReads: number;
  maxQueuedReads: number;
  traceMaxBytes: number;
  ingestThreads: number;
  clickhouse?: { url: string; user: string; password: string; database: string };
  webhookUrl?: string;
  webhookSecret?: string;
  publicUrl?: string;
  detector: boolean;
  detectorTickMs: number;
  /** CANOPY_TREE_BUDGET_USD: the budget of a tree without its own; null when unset. */
  treeBudgetUsd: number | null;
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): CanopyConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const apiKeys = e.CANOPY_API_KEYS.split(',').map((k) => k.trim()).filter(Boolean);
  if (!isLoopback(e.CANOPY_HOST) && apiKeys.length === 0) {
    throw new ConfigError(
      `Refusing to listen on ${e.CANOPY_HOST} without authentication: anyone who can reach it could write spans ` +
        `and read every trace. Set CANOPY_API_KEYS=key1,key2 (clients send "Authorization: Bearer <key>"), ` +
        `or bind CANOPY_HOST=127.0.0.1.`,
    );
  }
  return {
    port: e.PORT,
    otlpPort: e.CANOPY_OTLP_PORT,
    otlpGrpcPort: e.CANOPY_OTLP_GRPC_PORT,
    host: e.CANOPY_HOST,
    dataDir: path.resolve(e.CANOPY_DATA_DIR),
    retentionDays: e.CANOPY_RETENTION_DAYS,
    apiKeys,
    pricesFile: e.CANOPY_PRICES_FILE,
    maxBodyBytes: e.CANOPY_MAX_BODY_BYTES,
    queueMaxRows: e.CANOPY_QUEUE_MAX_ROWS,
    queueMaxBytes: e.CANOPY_QUEUE_MAX_BYTES,
    batchMaxRows: e.CANOPY_BATCH_MAX_ROWS,
    batchMaxBytes: e.CANOPY_BATCH_MAX_BYTES,
    batchMinRows: e.CANOPY_BATCH_MIN_ROWS,
    batchLingerMs: e.CANOPY_BATCH_LINGER_MS,
    maxDecoding: e.CANOPY_MAX_DECODING,
    maxSpansPerExport: e.CANOPY_MAX_SPANS_PER_EXPORT,
    headersTimeoutMs: Math.min(e.CANOPY_HEADERS_TIMEOUT_MS, e.CANOPY_BODY_TIMEOUT_MS),
    bodyTimeoutMs: e.CANOPY_BODY_TIMEOUT_MS,
    maxConnectionsPerClient: e.CANOPY_MAX_CONNECTIONS_PER_CLIENT,
    maxReceivingBytes: e.CANOPY_MAX_RECEIVING_BYTES,
    maxReads: e.CANOPY_MAX_READS,
    maxQueuedReads: e.CANOPY_MAX_QUEUED_READS,
    traceMaxBytes: e.CANOPY_TRACE_MAX_BYTES,
    ingestThreads: e.CANOPY_INGEST_THREADS ?? Math.max(1, Math.min(4, os.availableParallelism() - 1)),
    clickhouse: e.CLICKHOUSE_URL
      ? { url: e.CLICKHOUSE_URL, user: e.CLICKHOUSE_USER, password: e.CLICKHOUSE_PASSWORD, database: e.CLICKHOUSE_DATABASE }
      : undefined,
    webhookUrl: e.CANOPY_WEBHOOK_URL,
    webhookSecret: e.CANOPY_WEBHOOK_SECRET,
    publicUrl: e.CANOPY_PUBLIC_URL,
    detector: e.CANOPY_DETECTOR === 'on',
    detectorTickMs: e.CANOPY_DETECTOR_TICK_MS,
    treeBudgetUsd: e.CANOPY_TREE_BUDGET_USD ?? null,
  };
}

/** A loopback host name or address (an IPv4-mapped IPv6 address as sockets report it included). */
export function isLoopback(host: string): boolean {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
