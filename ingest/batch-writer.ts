import type { Metrics } from '../lib/server/metrics';
import { InvalidPayloadError, engineErrorCode, isDataError } from '../lib/server/storage/insert-errors';

export { InvalidPayloadError };

/** The queue is full: the caller should answer 429 with Retry-After so the exporter backs off. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('Canopy is at capacity; retry later');
  }
}

/** The writer is shutting down and takes nothing new. */
export class WriterClosedError extends Error {
  constructor() {
    super('Canopy is shutting down; retry later');
  }
}

export interface BatchWriterOptions {
  maxQueueRows: number;
  maxQueueBytes: number;
  maxBatchRows: number;
  /** The engine's memory for one insert grows with its size: bytes bound it where rows vary in width. */
  maxBatchBytes?: number;
  /**
   * Wait up to maxLingerMs for at least minBatchRows before inserting: the engine's CPU per row falls
   * steeply with insert size (fewer, larger parts to write and merge), so a short wait buys throughput.
   */
  minBatchRows?: number;
  maxLingerMs?: number;
}

interface Pending {
  payload: Uint8Array;
  rows: number;
  /** Given when the insert began (ms since the epoch): no later than the engine's ingest time of its rows. */
  resolve: (insertedFromMs: number) => void;
  reject: (err: unknown) => void;
}

type InsertFn = (payload: Buffer) => Promise<void>;

/**
 * Group commit: every request's rows wait while one insert runs, then all that waited go in as the next
 * insert, so ClickHouse sees few large inserts however many exporters call at once. A request's promise
 * settles only when its rows are stored (accepted = stored). Queue bounds keep memory bounded under overload.
 */
export class BatchWriter {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private queuedBytes = 0;
  private inFlight: Promise<void> | null = null;
  private closed = false;
  private waitingRows = 0; // queued and not yet taken into an insert
  private waitingBytes = 0;
  private stopLingering: (() => void) | null = null;
  private scratch: Buffer | null = null;

  constructor(
    private readonly insert: InsertFn,
    private readonly opts: BatchWriterOptions,
    private readonly metrics?: Metrics,
  ) {}

  /** True when a request of this size would be refused now: lets the receiver refuse before decoding. */
  wouldRefuse(rows = 1, bytes = 0): boolean {
    return this.closed || this.queuedRows + rows > this.opts.maxQueueRows || this.queuedBytes + bytes > this.opts.maxQueueBytes;
  }

  /** Resolves once the rows are stored, with when their insert began (at or before their ingest time). */
  write(payload: Uint8Array, rows: number): Promise<number> {
    if (this.closed) return Promise.reject(new WriterClosedError());
    // A single request bigger than the whole queue is still taken when the queue is empty, so a large but
    // legal export can never be refused forever.
    const empty = this.queuedRows === 0;
    if (!empty && this.wouldRefuse(rows, payload.length)) {
      // Refusing work while lingering for a bigger batch would be absurd: insert what is there now.
      this.stopLingering?.();
      return Promise.reject(new QueueFullError(this.retryAfterSeconds()));
    }
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ payload, rows, resolve, reject });
      this.queuedRows += rows;
      this.waitingRows += rows;
      this.waitingBytes += payload.length;
      this.queuedBytes += payload.length;
      this.report();
      if (this.stopLingering && this.batchIsFull()) this.stopLingering();
      if (!this.inFlight) this.inFlight = this.drain();
    });
  }

  get depth() {
    return { rows: this.queuedRows, bytes: this.queuedBytes };
  }

  /** Stops taking writes and resolves once everything already taken is stored (or has failed). */
  async close(): Promise<void> {
    this.closed = true;
    this.stopLingering?.();
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      await this.linger();
      const batch = this.takeBatch();
      const rows = sum(batch, (p) => p.rows);
      const bytes = sum(batch, (p) => p.payload.length);
      try {
        await this.store(batch, rows, bytes);
      } finally {
        // Only now, retries included, are the batch's rows out of the queue: its bound keeps counting them.
        this.queuedRows -= rows;
        this.queuedBytes -= bytes;
        this.report();
      }
    }
    this.inFlight = null;
  }

  /**
   * Inserts the batch and settles every request in it; never throws. When the engine refuses the rows as
   * invalid data, one bad request must not fail the others: the batch is split in halves and each half
   * inserted again, down to single requests, so the good ones are stored and only a request refused on its
   * own is rejected as invalid. Halving finds k bad requests among n in about 2k·log2(n) inserts where
   * retrying each alone would take n (and write n tiny parts). The embedded engine stores nothing of a
   * failed insert (checked up to 19 MB, above the largest batch), and a row written twice would collapse at
   * merge anyway. Any other failure means storage cannot write: the requests are rejected with it (503, the
   * exporter retries) and not retried here, where it would only hold up the queue.
   */
  private async store(batch: Pending[], rows: number, bytes: number): Promise<void> {
    const stop = this.metrics?.insertSeconds.startTimer();
    const from = Date.now();
    try {
      await this.insert(this.join(batch, bytes));
      stop?.();
      this.metrics?.batchRows.observe(rows);
      for (const p of batch) p.resolve(from);
      return;
    } catch (err) {
      this.metrics?.insertFailures.inc();
      if (!isDataError(err)) {
        for (const p of batch) p.reject(err);
      } else if (batch.length === 1) {
        batch[0].reject(new InvalidPayloadError(engineErrorCode(err)!, err instanceof Error ? err.message : String(err)));
      } else {
        const mid = batch.length >>> 1;
        for (const half of [batch.slice(0, mid), batch.slice(mid)]) {
          await this.store(half, sum(half, (p) => p.rows), sum(half, (p) => p.payload.length));
        }
      }
    }
  }

  /**
   * One buffer for the insert. Batches are copied into a buffer reused from insert to insert (one insert
   * runs at a time, and it is done with its bytes when it settles): a fresh 8 MiB allocation per insert
   * made V8 collect garbage on the event loop every few inserts, for the external memory alone. A retried
   * part of a batch is copied again from its requests' own bytes; a single request is inserted from them.
   */
  private join(batch: Pending[], bytes: number): Buffer {
    const first = batch[0].payload;
    if (batch.length === 1) return Buffer.from(first.buffer, first.byteOffset, first.byteLength);
    if (!this.scratch || this.scratch.length < bytes) this.scratch = Buffer.allocUnsafeSlow(Math.max(bytes, this.opts.maxBatchBytes ?? 0));
    let at = 0;
    for (const p of batch) {
      this.scratch.set(p.payload, at);
      at += p.payload.length;
    }
    return this.scratch.subarray(0, bytes);
  }

  private takeBatch(): Pending[] {
    const maxBytes = this.opts.maxBatchBytes ?? Infinity;
    let rows = 0;
    let bytes = 0;
    let count = 0;
    while (
      count < this.queue.length &&
      (count === 0 || (rows + this.queue[count].rows <= this.opts.maxBatchRows && bytes + this.queue[count].payload.length <= maxBytes))
    ) {
      rows += this.queue[count].rows;
      bytes += this.queue[count].payload.length;
      count++;
    }
    this.waitingRows -= rows;
    this.waitingBytes -= bytes;
    return this.queue.splice(0, count);
  }

  private batchIsFull(): boolean {
    // In-flight rows count against the queue bound too, so a batch of half the queue is as big as it gets.
    const o = this.opts;
    const rows = Math.min(o.minBatchRows ?? 0, o.maxBatchRows, Math.floor(o.maxQueueRows / 2));
    const bytes = Math.min(o.maxBatchBytes ?? Infinity, Math.floor(o.maxQueueBytes / 2));
    return this.waitingRows >= rows || this.waitingBytes >= bytes;
  }

  private linger(): Promise<void> {
    const linger = this.opts.maxLingerMs ?? 0;
    if (this.closed || linger <= 0 || this.batchIsFull()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.stopLingering?.(), linger);
      this.stopLingering = () => {
        clearTimeout(timer);
        this.stopLingering = null;
        resolve();
      };
    });
  }

  /**
   * Seconds a refused client should wait: spread at random over a few seconds (more with a longer backlog)
   * so that exporters refused together do not all come back in the same instant and be refused again.
   */
  retryAfterSeconds(): number {
    const spread = 3 + Math.ceil(this.queuedRows / 50_000);
    return 1 + Math.floor(Math.random() * spread);
  }

  private report() {
    this.metrics?.queueRows.set(this.queuedRows);
    this.metrics?.queueBytes.set(this.queuedBytes);
  }
}

function sum(batch: readonly Pending[], of: (p: Pending) => number): number {
  let n = 0;
  for (const p of batch) n += of(p);
  return n;
}
