// Spans made by the real OpenTelemetry SDK and serialised by the real OTLP serialisers, so the decoder
// is tested against the bytes exporters actually send.
import { context, trace, type Attributes, type Span, type SpanKind, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeJson } from '../../ingest/otlp/decode-json';
import { decodeProtobuf } from '../../ingest/otlp/decode-protobuf';
import { normaliseRequest } from '../../ingest/normalise/index';
import type { DecodedRequest, SpanRow } from '../../ingest/types';
import { createPriceBook, type PriceBook } from '../../lib/server/prices';

export interface Recorder {
  tracer: Tracer;
  spans(): ReadableSpan[];
}

export function recorder(resource: Attributes = { 'service.name': 'test-svc' }, scope = 'test-scope'): Recorder {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  return { tracer: provider.getTracer(scope, '1.0.0'), spans: () => memory.getFinishedSpans() };
}

export interface SpanSpec {
  name: string;
  attributes?: Attributes;
  kind?: SpanKind;
  parent?: Span;
}

export function start(tracer: Tracer, spec: SpanSpec): Span {
  const ctx = spec.parent ? trace.setSpan(context.active(), spec.parent) : undefined;
  return tracer.startSpan(spec.name, { attributes: spec.attributes, kind: spec.kind }, ctx);
}

export function toProtobuf(spans: ReadableSpan[]): Uint8Array {
  return ProtobufTraceSerializer.serializeRequest(spans)!;
}

export function toJson(spans: ReadableSpan[]): string {
  return new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!);
}

export const defaultPrices: PriceBook = createPriceBook({});

/** Rows for `spans` as the pipeline makes them from a protobuf export. */
export function rowsFor(spans: ReadableSpan[], prices: PriceBook = defaultPrices): SpanRow[] {
  return normaliseRequest(decodeProtobuf(toProtobuf(spans)), { prices, retentionDays: 30 });
}

/** Records a single finished span with these attributes and returns its row. */
export function rowOf(name: string, attributes: Attributes, prices: PriceBook = defaultPrices): SpanRow {
  const r = recorder();
  start(r.tracer, { name, attributes }).end();
  return rowsFor(r.spans(), prices)[0];
}

export function allSpans(req: DecodedRequest) {
  return req.resourceSpans.flatMap((rs) => rs.scopes.flatMap((s) => s.spans));
}

export { decodeJson, decodeProtobuf };
