// The stock OpenTelemetry SDK, set up the way an instrumented app would set it up: one provider per
// process (the app and its remote worker service), a batch processor, and the OTLP/HTTP protobuf exporter
// with gzip. Nothing here speaks OTLP by hand: the simulator exercises the exporter users really run.

import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { PlannedIdGenerator } from './ids';
import type { ServiceRole } from './plan';

type ExportCallback = Parameters<SpanExporter['export']>[1];
type ExportResult = Parameters<ExportCallback>[0];

/** ExportResultCode.SUCCESS in @opentelemetry/core (not a direct dependency). */
const EXPORT_SUCCESS = 0;

export interface ExportStats {
  exportedSpans: number;
  failedSpans: number;
  lastError: string;
}

/** Requests in flight per exporter. The batch processor's forceFlush exports every queued batch at once
 * (a 100k-span tree is 100 batches), and the OTLP exporter fails, rather than queues, exports over its
 * concurrency limit: so batches wait their turn here. */
const MAX_CONCURRENT_EXPORTS = 8;

/** Counts what the real exporter managed to deliver, so the CLI can fail loudly instead of silently. */
class CountingExporter implements SpanExporter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly inner: SpanExporter,
    private readonly stats: ExportStats,
  ) {}

  export(spans: ReadableSpan[], done: ExportCallback): void {
    const run = (): void => {
      this.active++;
      this.inner.export(spans, (result: ExportResult) => {
        this.active--;
        this.waiting.shift()?.();
        if (result.code === EXPORT_SUCCESS) this.stats.exportedSpans += spans.length;
        else {
          this.stats.failedSpans += spans.length;
          this.stats.lastError = result.error?.message ?? 'export failed';
        }
        done(result);
      });
    };
    if (this.active < MAX_CONCURRENT_EXPORTS) run();
    else this.waiting.push(run);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** `--endpoint` is a base URL like OTEL_EXPORTER_OTLP_ENDPOINT; a URL already ending in /v1/traces is kept. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname.endsWith('/v1/traces')) return url.toString();
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

export interface TracingOptions {
  endpoint: string;
  service: string;
  apiKey?: string;
  ids: PlannedIdGenerator;
  /** Tests swap in an in-memory exporter; everything else about the SDK stays stock. */
  exporter?: (serviceName: string) => SpanExporter;
  /** Processors added to each provider after the exporting one (the kill SDK's, which records ancestry). */
  processors?: () => SpanProcessor[];
}

export class Tracing {
  readonly stats: ExportStats = { exportedSpans: 0, failedSpans: 0, lastError: '' };
  private readonly providers = new Map<ServiceRole, BasicTracerProvider>();
  private readonly tracers = new Map<string, Tracer>();

  constructor(private readonly opts: TracingOptions) {}

  serviceName(role: ServiceRole): string {
    return role === 'main' ? this.opts.service : `${this.opts.service}-worker`;
  }

  private provider(role: ServiceRole): BasicTracerProvider {
    const existing = this.providers.get(role);
    if (existing) return existing;
    const name = this.serviceName(role);
    const inner = this.opts.exporter ? this.opts.exporter(name) : this.otlpExporter();
    const processor = new BatchSpanProcessor(new CountingExporter(inner, this.stats), {
      // A huge tree ends 100k spans within a second in --fast mode: queue them rather than drop them.
      maxQueueSize: 262_144,
      maxExportBatchSize: 1_000,
      // Short delay so live trees appear in Canopy while they run.
      scheduledDelayMillis: 250,
      // Includes the wait for a free export slot behind the other batches of a huge tree.
      exportTimeoutMillis: 120_000,
    });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: name,
        [ATTR_SERVICE_VERSION]: '1.4.2',
        'deployment.environment.name': 'simulation',
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.name': 'opentelemetry',
      }),
      idGenerator: this.opts.ids,
      spanProcessors: [processor, ...(this.opts.processors?.() ?? [])],
      // Attributes such as tool arguments and prompts are not truncated by default; keep it that way.
      spanLimits: { attributeCountLimit: 256, eventCountLimit: 64 },
    });
    this.providers.set(role, provider);
    return provider;
  }

  private otlpExporter(): SpanExporter {
    const headers: Record<string, string> = {};
    if (this.opts.apiKey) headers.Authorization = `Bearer ${this.opts.apiKey}`;
    return new OTLPTraceExporter({
      url: tracesUrl(this.opts.endpoint),
      headers,
      compression: CompressionAlgorithm.GZIP,
      timeoutMillis: 10_000,
      concurrencyLimit: MAX_CONCURRENT_EXPORTS * 2,
    });
  }

  tracer(role: ServiceRole, scope: string): Tracer {
    const key = `${role}\u0000${scope}`;
    let tracer = this.tracers.get(key);
    if (!tracer) {
      tracer = this.provider(role).getTracer(scope, scope === 'ai' ? '4.3.16' : '0.1.0');
      this.tracers.set(key, tracer);
    }
    return tracer;
  }

  /** Never rejects: a failed export is counted in `stats`, which the caller checks. */
  async flush(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.forceFlush().catch((err: unknown) => this.noteFailure(err))));
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.shutdown().catch((err: unknown) => this.noteFailure(err))));
  }

  private noteFailure(err: unknown): void {
    this.stats.failedSpans = Math.max(this.stats.failedSpans, 1);
    this.stats.lastError = (err as Error)?.message ?? String(err);
  }
}
