import type { IncomingMessage, ServerResponse } from 'node:http';
import { BatchWriter } from './batch-writer';
import { createTraceReceiver, type ExportOutcome, type Transport } from './receiver';
import { ResourceRegistry } from './resource-registry';
import { StoredExports } from './stored-exports';
import { SPAN_ROWS_FORMAT } from './serialise';
import type { PreparePool } from './prepare-pool';
import type { WireBody } from './body';
import type { CanopyConfig } from '../lib/server/config';
import type { Metrics } from '../lib/server/metrics';
import type { Storage } from '../lib/server/storage/storage';

/** OTLP in, stored spans out: the receiver, the group-commit writer and the resource registry. */
export interface Ingest {
  /** POST /v1/traces; once stopping, refused with 503 so the exporter retries elsewhere or later. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Refuses an export before it is read (no key), in the request's encoding. */
  refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void;
  /** An export another transport (gRPC) received whole (compressed or not); once stopping, refused as unavailable (503). */
  accept(message: WireBody, transport: Transport, signal?: AbortSignal): Promise<ExportOutcome>;
  /** Refuses new exports from now on (503, retried by the exporter); `stop` then waits for those in flight. */
  drain(): void;
  /** Refuses new exports, answers those in flight, then stores everything accepted. */
  stop(): Promise<void>;
  /** Which exports' spans are stored, told as they are (the embedded store's detector listens). */
  stored: StoredExports;
}

export function startIngest(deps: { config: CanopyConfig; storage: Storage; pool: PreparePool; metrics: Metrics; log: (e: Record<string, unknown>) => void }): Ingest {
  const { config, storage, metrics } = deps;
  const options = {
    maxQueueRows: config.queueMaxRows,
    maxQueueBytes: config.queueMaxBytes,
    maxBatchRows: config.batchMaxRows,
    maxBatchBytes: config.batchMaxBytes,
    minBatchRows: config.batchMinRows,
    maxLingerMs: config.batchLingerMs,
  };
  const writer = new BatchWriter((payload) => storage.insertRaw('spans', payload, SPAN_ROWS_FORMAT), options, metrics);
  // Started-span reports (sdk/) have their own queue and inserts: they never hold up ended spans, nor count in their bounds.
  const startedWriter = new BatchWriter((payload) => storage.insertRaw('started_spans', payload, SPAN_ROWS_FORMAT), options);
  const resources = new ResourceRegistry((payload) => storage.insertRaw('resources', payload));
  const stored = new StoredExports();
  const receiver = createTraceReceiver({
    writer, startedWriter, resources, pool: deps.pool, metrics, log: deps.log,
    maxBodyBytes: config.maxBodyBytes, maxDecoding: config.maxDecoding, maxReceivingBytes: config.maxReceivingBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    stored,
  });

  let stopping = false;
  let active = 0;
  const idle: (() => void)[] = [];
  // Exports of every transport in flight: the stop waits for each to be answered.
  const tracked = async <T>(work: () => Promise<T>): Promise<T> => {
    active++;
    try {
      return await work();
    } finally {
      if (--active === 0) idle.splice(0).forEach((f) => f());
    }
  };
  return {
    refuse: receiver.refuse,
    async handle(req, res) {
      if (stopping) return receiver.refuse(req, res, 503, 'Canopy is shutting down; retry later', { 'retry-after': '5', connection: 'close' });
      await tracked(() => receiver.handle(req, res));
    },
    async accept(message, transport, signal) {
      if (stopping) return { ok: false, status: 503, message: 'Canopy is shutting down; retry later', retryAfterSeconds: 5 };
      // OTLP/gRPC carries protobuf only.
      return tracked(() => receiver.accept(message, 'protobuf', transport, signal));
    },
    stored,
    drain() {
      stopping = true;
    },
    async stop() {
      stopping = true;
      // Exports already being read or decoded still get their answer; then everything queued is flushed.
      if (active > 0) await new Promise<void>((resolve) => idle.push(resolve));
      await Promise.all([writer.close(), startedWriter.close()]);
    },
  };
}
