// Runs prepareExport off the event loop: inflating, decoding and normalising a 1,000-span export is ~15 ms of
// uninterrupted JS, which on the main thread delayed every API read and serialised with the engine's work.
import { parentPort, workerData } from 'node:worker_threads';
import { createPriceBook } from '../lib/prices';
import { prepareExport, type ExportFormat } from './prepare';
import { transferable } from './transfer';
import type { BodyEncoding } from './body';

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
}

const { pricesFile, retentionDays, maxBodyBytes } = workerData as PrepareWorkerData;
const ctx = { prices: createPriceBook({ userFile: pricesFile }), retentionDays, maxBodyBytes };

parentPort!.postMessage({ ready: true });
parentPort!.on('message', ({ id, body, encoding, format }: PrepareRequest) => {
  try {
    const result = prepareExport(body, encoding, format, ctx);
    if (result.ok && result.prepared.payload) {
      const payload = transferable(result.prepared.payload);
      result.prepared.payload = payload;
      parentPort!.postMessage({ id, result }, [payload.buffer as ArrayBuffer]);
    } else parentPort!.postMessage({ id, result });
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
