// Runs prepareExport off the event loop: inflating, decoding and normalising a 1,000-span export is ~15 ms of
// uninterrupted JS, which on the main thread delayed every API read and serialised with the engine's work.
import { parentPort, workerData } from 'node:worker_threads';
import { createPriceBook } from '../lib/server/prices';
import { INGEST_NICE, lowerThisThreadPriority } from '../lib/server/thread-priority';
import { prepareExport, type ExportFormat } from './prepare';
import type { BodyEncoding } from './body';
import type { SpanRow } from './types';
import { StreamJudge, type ExportTrees, type StreamContext, type StreamTree } from '../detector/stream-judge';

export interface PrepareRequest {
  id: number;
  body: Uint8Array;
  encoding: BodyEncoding;
  format: ExportFormat;
}

export interface PrepareWorkerData {
  pricesFile?: string;
  retentionDays: number;
  maxBodyBytes: number;
  maxSpans?: number;
}

/** Insert buffers handed back once their rows are stored (see PreparePool.recycle). */
export interface RecycleMessage {
  recycle: ArrayBuffer;
}

/** What the detector lets this worker judge trees with; null: judge none (no detector in this process). */
export interface DetectorContextMessage {
  detector: StreamContext | null;
}

/** An export's trees, sent after its answer (detector/stream-judge.ts). */
export interface StreamTreesMessage {
  trees: StreamTree[];
}

const { pricesFile, retentionDays, maxBodyBytes, maxSpans } = workerData as PrepareWorkerData;
const MAX_FREE = 8;
const free: ArrayBuffer[] = [];

/** A recycled buffer that fits, else new memory. */
function allocate(bytes: number): Uint8Array {
  const i = free.findIndex((b) => b.byteLength >= bytes);
  if (i >= 0) return new Uint8Array(free.splice(i, 1)[0], 0, bytes);
  // Room to grow: the next export is rarely exactly this size.
  return new Uint8Array(new ArrayBuffer(Math.ceil(bytes * 1.125)), 0, bytes);
}

// Below the main thread, which answers the exports and the control API (lib/server/thread-priority.ts).
lowerThisThreadPriority(INGEST_NICE);

let judge: StreamJudge | null = null;
// What judging the export's trees needs, taken from its rows as they are made (the rows themselves are not kept).
let taken: ExportTrees | null = null;
const keepEnded = (rows: SpanRow[]) => {
  try {
    taken = judge && rows.length > 0 ? judge.take(rows) : null;
  } catch {
    taken = null; // the detector reads these trees from storage; the export itself is never failed by judging
  }
};
// Listed only for a detector in this process, which then learns of stored trees from ingest (detector/stored-feed.ts).
const listTraces = () => judge !== null;
const ctx = { prices: createPriceBook({ userFile: pricesFile }), retentionDays, maxBodyBytes, maxSpans, allocate, keepEnded, listTraces };

parentPort!.postMessage({ ready: true });
parentPort!.on('message', (message: PrepareRequest | RecycleMessage | DetectorContextMessage) => {
  if ('recycle' in message) {
    if (free.length < MAX_FREE) free.push(message.recycle);
    return;
  }
  if ('detector' in message) {
    // The trees held for their root stay held across new settings and histories.
    if (!message.detector) judge = null;
    else if (judge) judge.update(message.detector);
    else judge = new StreamJudge(message.detector);
    return;
  }
  const { id, body, encoding, format } = message;
  try {
    const result = prepareExport(body, encoding, format, ctx);
    // A payload's memory always comes from allocate(): its own ArrayBuffer, safe to transfer whole.
    const payloads = result.ok ? [result.prepared.payload, result.prepared.startedPayload] : [];
    parentPort!.postMessage({ id, result }, payloads.flatMap((p) => (p ? [p.buffer as ArrayBuffer] : [])));
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
  const trees = taken;
  taken = null;
  // After the answer, so judging never delays an export's acknowledgement.
  if (judge && trees) parentPort!.postMessage({ trees: judge.judge(trees, Date.now()) } satisfies StreamTreesMessage);
});
