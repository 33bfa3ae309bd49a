// The main thread's handle on the judge worker (judge-worker.ts): one request at a time in flight per call,
// started on first use and again after it died (a tick then fails, logged, and the next one starts afresh).
import { Worker } from 'node:worker_threads';
import type { RootBaseline } from './baseline';
import type { JudgeReply, JudgeRequest, Judgement, TreeHead } from './judge-worker';
import type { DetectorSettings } from './settings';

const WORKER_URL = new URL('./judge-worker-entry.mjs', import.meta.url);

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class JudgeThread {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 0;
  private closed = false;
  private readonly pending = new Map<number, Pending>();

  /** Parses a batch's span rows (JSONEachRow bytes, moved to the worker) and builds each tree's snapshot. */
  load(rows: Buffer, lastSeen: Record<string, number>, now: number): Promise<TreeHead[]> {
    // Moved, not copied, when the bytes are a whole buffer of their own (a read of many chunks is joined into
    // one); copied when they are a view into a larger one (a pool), which the worker must not take.
    const whole = rows.byteOffset === 0 && rows.byteLength === rows.buffer.byteLength && rows.buffer instanceof ArrayBuffer;
    const owned = whole ? new Uint8Array(rows.buffer as ArrayBuffer) : new Uint8Array(rows.byteLength);
    if (!whole) owned.set(rows);
    return this.call({ op: 'load', id: 0, rows: owned, lastSeen, now }, [owned.buffer]) as Promise<TreeHead[]>;
  }

  /** Runs the rules over loaded trees (and forgets them), in one message. Null for a tree not loaded. */
  judge(trees: { traceId: string; baseline: RootBaseline | null }[], settings: DetectorSettings): Promise<(Judgement | null)[]> {
    return this.call({ op: 'judge', id: 0, trees, settings }) as Promise<(Judgement | null)[]>;
  }

  drop(traceIds: string[]): Promise<void> {
    return this.call({ op: 'drop', id: 0, traceIds }) as Promise<void>;
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    await w?.terminate();
  }

  private async call(req: JudgeRequest, transfer: ArrayBuffer[] = []): Promise<unknown> {
    // Closed (the detector is stopping): no new thread is started for a tick that is being abandoned.
    if (this.closed) throw new Error("The detector's judge thread is closed");
    await this.start();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.postMessage({ ...req, id }, transfer);
    });
  }

  /** Starts the thread (loading its code takes a few seconds: better at start than on the first tick). */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const worker = new Worker(WORKER_URL);
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: JudgeReply | { ready: true }) => {
        if ('ready' in msg) return resolve();
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if ('error' in msg) p.reject(new Error(`Judging trees failed: ${msg.error}`));
        else p.resolve(msg.result);
      });
      const fail = (err: Error) => {
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (this.worker === worker) {
          this.worker = null;
          this.ready = null;
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`The detector's judge thread exited (${code})`)));
    });
    return this.ready;
  }
}
