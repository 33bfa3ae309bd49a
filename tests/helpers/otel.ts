import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';

/** A tracer whose finished spans are collected in memory, to be sent by a real exporter when the test says. */
export function recordingTracer(serviceName = 'test-agent', resource: Attributes = {}): { tracer: Tracer; finished: () => ReadableSpan[]; reset: () => void } {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, ...resource }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  return { tracer: provider.getTracer('canopy-tests'), finished: () => memory.getFinishedSpans(), reset: () => memory.reset() };
}

export type Exporter = ProtoExporter | JsonExporter;

/** The stock OTLP exporters as users configure them: protobuf or JSON, gzip on. */
export function exporterFor(otlpUrl: string, kind: 'proto' | 'json' = 'proto', headers: Record<string, string> = {}): Exporter {
  const options = { url: `${otlpUrl}/v1/traces`, compression: CompressionAlgorithm.GZIP, headers, timeoutMillis: 60_000 };
  return kind === 'proto' ? new ProtoExporter(options) : new JsonExporter(options);
}

export function send(exporter: Exporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

export async function sendOk(exporter: Exporter, spans: ReadableSpan[]): Promise<void> {
  const result = await send(exporter, spans);
  if (result.code !== ExportResultCode.SUCCESS) throw result.error ?? new Error('export failed');
}

/** Starts a span under `parent` (or a new root); the test ends it, so any order of ends is possible. */
export function startSpan(tracer: Tracer, name: string, attributes: Attributes, parent?: Span): Span {
  const ctx = parent ? trace.setSpan(context.active(), parent) : undefined;
  return tracer.startSpan(name, { attributes }, ctx);
}

export const hex = (span: ReadableSpan) => ({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId });
