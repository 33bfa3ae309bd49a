import { type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type LocalSpans } from './local-spans.js';
import { type ReportQueueOptions, type ReportStats } from './report-queue.js';
export interface CanopyStartProcessorOptions extends ReportQueueOptions {
    /** Where parents are recorded (default: the process's registry, which the kill watcher reads). */
    spans?: LocalSpans;
}
export declare class CanopyStartProcessor implements SpanProcessor {
    private readonly exporter;
    private readonly queue;
    private readonly spans;
    /**
     * @param exporter sends the started reports, e.g. an `OTLPTraceExporter` pointed at Canopy. `null` records
     *   ancestry only (for kill signals) and reports nothing.
     */
    constructor(exporter: SpanExporter | null, options?: CanopyStartProcessorOptions);
    /** What became of the started reports so far (all zero without an exporter). */
    get stats(): ReportStats;
    onStart(span: Span, _parentContext: Context): void;
    onEnd(span: ReadableSpan): void;
    forceFlush(): Promise<void>;
    shutdown(): Promise<void>;
}
/**
 * The span as it is at its start, as an ordinary finished span for any exporter: ended at its start time, marked
 * with `canopy.span.started = true`. A copy: the live span goes on changing.
 */
export declare function startedReport(span: Span): ReadableSpan;
