// Started-span reports wait here and leave in batches: one export request per batch, never one per span. A
// report whose span ends before its batch leaves is dropped: the span's ended version, exported by the app's own
// processor, says more. Reports are best effort: a full queue or a failed export loses them, never the spans.
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { untraced } from './untraced.js';

type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

/** ExportResultCode.SUCCESS of @opentelemetry/core, not a dependency of this package. */
const EXPORT_SUCCESS = 0;

export interface ReportQueueOptions {
  /** A report leaves at most this long after its span started (default 500 ms). */
  scheduledDelayMillis?: number;
  /** Reports per export request (default 512). */
  maxExportBatchSize?: number;
  /** Reports waiting at most; past it new ones are dropped (default 4096). */
  maxQueueSize?: number;
  /** An export that has not answered by then counts as failed (default 30 s). */
  exportTimeoutMillis?: number;
}

export interface ReportStats {
  exported: number;
  /** Dropped because the queue was full or the export failed. */
  lost: number;
  /** Not sent because their span ended first. */
  superseded: number;
  exports: number;
}

export class ReportQueue {
  readonly stats: ReportStats = { exported: 0, lost: 0, superseded: 0, exports: 0 };
  private readonly waiting = new Map<string, ReadableSpan>();
  private readonly delayMs: number;
  private readonly batchSize: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly exporter: SpanExporter,
    options: ReportQueueOptions = {},
  ) {
    this.delayMs = options.scheduledDelayMillis ?? 500;
    this.batchSize = Math.max(1, options.maxExportBatchSize ?? 512);
    this.maxQueue = Math.max(this.batchSize, options.maxQueueSize ?? 4096);
    this.timeoutMs = options.exportTimeoutMillis ?? 30_000;
  }

  add(spanId: string, report: ReadableSpan): void {
    if (this.closed) return;
    if (this.waiting.size >= this.maxQueue) {
      this.stats.lost++;
      return;
    }
    this.waiting.set(spanId, report);
    // A drain under way takes the new report too.
    if (this.waiting.size >= this.batchSize) {
      if (!this.draining) void this.drain(false);
    } else this.schedule();
  }

  /** The span ended: its report, if it has not left yet, is moot. */
  supersede(spanId: string): void {
    if (this.waiting.delete(spanId)) this.stats.superseded++;
  }

  /** Sends everything waiting now; resolves once it was answered. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.drain(true);
  }

  async shutdown(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private schedule(): void {
    if (this.timer || this.draining) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain(true);
    }, this.delayMs);
    // A process with nothing else to do exits; shutdown/forceFlush sends what is left.
    this.timer.unref?.();
  }

  /** Sends full batches, and with `all` the last partial one too (its delay is over, or a flush wants it). */
  private drain(all: boolean): Promise<void> {
    if (this.draining) return all ? this.draining.then(() => this.drain(true)) : this.draining;
    this.draining = (async () => {
      while (this.waiting.size >= (all ? 1 : this.batchSize)) {
        const batch: ReadableSpan[] = [];
        for (const [spanId, report] of this.waiting) {
          this.waiting.delete(spanId);
          batch.push(report);
          if (batch.length >= this.batchSize) break;
        }
        await this.send(batch);
      }
    })().finally(() => {
      this.draining = null;
      if (this.waiting.size > 0) this.schedule();
    });
    return this.draining;
  }

  private send(batch: ReadableSpan[]): Promise<void> {
    this.stats.exports++;
    return new Promise((resolve) => {
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (ok) this.stats.exported += batch.length;
        else this.stats.lost += batch.length;
        resolve();
      };
      const timer = setTimeout(() => finish(false), this.timeoutMs);
      timer.unref?.();
      try {
        untraced(() => this.exporter.export(batch, (result: ExportResult) => finish(result.code === EXPORT_SUCCESS)));
      } catch {
        finish(false);
      }
    });
  }
}
