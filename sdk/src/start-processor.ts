// Reports each span to Canopy when it starts, so a running tree is visible live and a branch can be killed before
// it ends, and records each span's parent so the kill watcher knows what is above a span in this process. Ended
// spans are none of its business: the app's own processor (a BatchSpanProcessor) exports them as usual, and
// Canopy counts that ended version.
import { SpanStatusCode, TraceFlags, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { localSpans, type LocalSpans } from './local-spans.js';
import { ReportQueue, type ReportQueueOptions, type ReportStats } from './report-queue.js';
import { STARTED_ATTRIBUTE } from './wire.js';

export interface CanopyStartProcessorOptions extends ReportQueueOptions {
  /** Where parents are recorded (default: the process's registry, which the kill watcher reads). */
  spans?: LocalSpans;
}

export class CanopyStartProcessor implements SpanProcessor {
  private readonly queue: ReportQueue | null;
  private readonly spans: LocalSpans;

  /**
   * @param exporter sends the started reports, e.g. an `OTLPTraceExporter` pointed at Canopy. `null` records
   *   ancestry only (for kill signals) and reports nothing.
   */
  constructor(
    private readonly exporter: SpanExporter | null,
    options: CanopyStartProcessorOptions = {},
  ) {
    this.queue = exporter ? new ReportQueue(exporter, options) : null;
    this.spans = options.spans ?? localSpans();
  }

  /** What became of the started reports so far (all zero without an exporter). */
  get stats(): ReportStats {
    return this.queue?.stats ?? { exported: 0, lost: 0, superseded: 0, exports: 0 };
  }

  onStart(span: Span, _parentContext: Context): void {
    const { traceId, spanId, traceFlags } = span.spanContext();
    this.spans.started(traceId, spanId, parentOf(span));
    if (this.queue && (traceFlags & TraceFlags.SAMPLED) !== 0) this.queue.add(spanId, startedReport(span));
  }

  onEnd(span: ReadableSpan): void {
    const { spanId } = span.spanContext();
    this.spans.ended(spanId);
    this.queue?.supersede(spanId);
  }

  forceFlush(): Promise<void> {
    return this.queue?.flush() ?? Promise.resolve();
  }

  async shutdown(): Promise<void> {
    await this.queue?.shutdown();
    await this.exporter?.shutdown();
  }
}

/** The parent's span id, local or remote; null for a root. */
function parentOf(span: Span): string | null {
  // `parentSpanContext` since SDK 2.0; `parentSpanId` before.
  const legacy = (span as unknown as { parentSpanId?: string }).parentSpanId;
  return span.parentSpanContext?.spanId ?? legacy ?? null;
}

/**
 * The span as it is at its start, as an ordinary finished span for any exporter: ended at its start time, marked
 * with `canopy.span.started = true`. A copy: the live span goes on changing.
 */
export function startedReport(span: Span): ReadableSpan {
  const spanContext = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => spanContext,
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.startTime,
    duration: [0, 0],
    status: { code: SpanStatusCode.UNSET },
    attributes: { ...span.attributes, [STARTED_ATTRIBUTE]: true },
    links: [...span.links],
    events: [],
    ended: true,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: 0,
    droppedLinksCount: span.droppedLinksCount,
  };
}
