import { Worker } from 'node:worker_threads';
import type { ExportFormat, PrepareResult } from './prepare';
import type { DetectorContextMessage, PrepareRequest, PrepareWorkerData, RecycleMessage, StreamTreesMessage } from './prepare-worker';
import type { StreamContext, StreamTree } from '../detector/stream-judge';
import type { WireBody } from './body';

/** The worker preparing a request died (e.g. out of memory); it is replaced, and a retry can succeed. */
export class PrepareWorkerStoppedError extends Error {}

export interface PreparePool {
  /** Inflates, decodes, normalises and serialises one export body on a worker thread. */
  prepare(body: WireBody, format: ExportFormat): Promise<PrepareResult>;
  /**
   * Gives a prepared payload's memory back to the workers once its rows are stored, so it is reused
   * instead of collected: arriving buffers count as external memory, and their churn alone (~45 MB/s at
   * full ingest) made V8 run a full garbage collection on the event loop several times a second.
   */
  recycle(payload: Uint8Array): void;
  /**
   * Lets the workers judge whole trees of the exports they prepare with this context (null: stop). Each
   * export's trees then reach `listener` after its answer.
   */
  judgeTrees(context: StreamContext | null, listener: ((trees: StreamTree[]) => void) | null): void;
  close(): Promise<void>;
}

export interface PreparePoolOptions extends PrepareWorkerData {
  threads: number;
  log: (event: Record<string, unknown>) => void;
}

interface Slot {
  worker: Worker;
  alive: boolean;
  jobs: Map<number, { resolve: (r: PrepareResult) => void; reject: (e: Error) => void }>;
}

type Reply = { id: number; result: PrepareResult; error?: undefined } | { id: number; error: string; result?: undefined };
type WorkerMessage = Reply | { ready: true } | StreamTreesMessage;

const WORKER_URL = new URL('./prepare-worker-entry.mjs', import.meta.url);

/**
 * A view that owns its whole ArrayBuffer, so it can be transferred to the worker instead of copied. Small
 * Buffers share Node's allocation pool (transferring that would detach other Buffers): those, and any
 * other view into a larger buffer, are copied once.
 */
function transferable(bytes: Uint8Array): Uint8Array {
  const owns = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return owns ? bytes : new Uint8Array(bytes);
}

/**
 * Export bodies are prepared on `threads` workers so the event loop only moves bytes: the main thread stays
 * free for HTTP, the group-commit writer and the API, and JS work overlaps the engine's inserts. A worker that
 * dies fails only its own requests (503, the exporter retries) and is replaced.
 */
export async function createPreparePool(opts: PreparePoolOptions): Promise<PreparePool> {
  let nextId = 0;
  let recycled = 0;
  let closing = false;
  let started = false; // until then a failure fails the pool's creation instead of restarting a worker
  const slots: Slot[] = [];
  let context: StreamContext | null = null;
  let listener: ((trees: StreamTree[]) => void) | null = null;

  /** Resolves once the worker has loaded; rejects if it dies first (a bad price file, a load error). */
  function spawn(index: number): Promise<void> {
    const data: PrepareWorkerData = { pricesFile: opts.pricesFile, retentionDays: opts.retentionDays, maxBodyBytes: opts.maxBodyBytes, maxSpans: opts.maxSpans };
    const worker = new Worker(WORKER_URL, { workerData: data });
    const slot: Slot = { worker, alive: true, jobs: new Map() };
    slots[index] = slot;
    // Before any export: messages wait in order until the worker listens.
    if (context) worker.postMessage({ detector: context } satisfies DetectorContextMessage);
    let ready = false;
    return new Promise<void>((resolveReady, rejectReady) => {
      worker.on('message', (reply: WorkerMessage) => {
        if ('ready' in reply) {
          ready = true;
          return resolveReady();
        }
        if ('trees' in reply) {
          listener?.(reply.trees);
          return;
        }
        const job = slot.jobs.get(reply.id);
        if (!job) return;
        slot.jobs.delete(reply.id);
        if (reply.error !== undefined) job.reject(new Error(`Preparing an export failed: ${reply.error}`));
        else job.resolve(reply.result);
      });
      let stopped = false;
      const fail = (why: string) => {
        if (stopped) return;
        stopped = true;
        slot.alive = false;
        for (const job of slot.jobs.values()) job.reject(new PrepareWorkerStoppedError(`The ingest worker stopped: ${why}`));
        slot.jobs.clear();
        if (!ready) rejectReady(new Error(`The ingest worker could not start: ${why}`));
        if (closing || !started || slots[index] !== slot) return;
        opts.log({ event: 'ingest_worker_stopped', reason: why });
        // One that never started waits before the next attempt, so a persistent failure cannot spin.
        const restart = () => void spawn(index).catch(() => {});
        if (ready) restart();
        else setTimeout(restart, 1000).unref();
      };
      worker.on('error', (err) => fail(err.message));
      worker.on('exit', (code) => fail(`exit code ${code}`));
    });
  }

  const threads = Math.max(1, opts.threads);
  try {
    await Promise.all(Array.from({ length: threads }, (_, i) => spawn(i)));
  } catch (err) {
    closing = true;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw err;
  }
  started = true;

  return {
    prepare({ bytes, encoding }, format) {
      // The least busy worker: bodies differ in size by orders of magnitude, so round-robin would queue
      // small exports behind a large one.
      const live = slots.filter((s) => s.alive);
      if (live.length === 0) return Promise.reject(new PrepareWorkerStoppedError('No ingest worker is running; it is being restarted'));
      const slot = live.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
      const id = nextId++;
      const owned = transferable(bytes);
      return new Promise<PrepareResult>((resolve, reject) => {
        slot.jobs.set(id, { resolve, reject });
        slot.worker.postMessage({ id, body: owned, encoding, format } satisfies PrepareRequest, [owned.buffer as ArrayBuffer]);
      });
    },
    recycle(payload) {
      // Round-robin, so every worker gets memory back, not only the first.
      const live = slots.filter((s) => s.alive);
      const slot = live[recycled++ % Math.max(1, live.length)];
      if (!slot || payload.buffer.byteLength < 64 * 1024 || !(payload.buffer instanceof ArrayBuffer)) return;
      slot.worker.postMessage({ recycle: payload.buffer } satisfies RecycleMessage, [payload.buffer]);
    },
    judgeTrees(next, to) {
      context = next;
      listener = next ? to : null;
      for (const s of slots) if (s.alive) s.worker.postMessage({ detector: next } satisfies DetectorContextMessage);
    },
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
