import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
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
export declare class ReportQueue {
    private readonly exporter;
    readonly stats: ReportStats;
    private readonly waiting;
    private readonly delayMs;
    private readonly batchSize;
    private readonly maxQueue;
    private readonly timeoutMs;
    private timer;
    private draining;
    private closed;
    constructor(exporter: SpanExporter, options?: ReportQueueOptions);
    add(spanId: string, report: ReadableSpan): void;
    /** The span ended: its report, if it has not left yet, is moot. */
    supersede(spanId: string): void;
    /** Sends everything waiting now; resolves once it was answered. */
    flush(): Promise<void>;
    shutdown(): Promise<void>;
    private schedule;
    /** Sends full batches, and with `all` the last partial one too (its delay is over, or a flush wants it). */
    private drain;
    private send;
}
