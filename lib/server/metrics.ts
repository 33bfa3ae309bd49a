import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Canopy's own health, exposed at GET /metrics in Prometheus text format. */
export function createMetrics() {
  const registry = new Registry();
  // Process RSS, heap and event-loop lag: the benchmark reads them here, operators alert on them.
  collectDefaultMetrics({ register: registry, prefix: 'canopy_' });
  const m = {
    registry,
    spansAccepted: new Counter({ name: 'canopy_spans_accepted_total', help: 'Spans stored and acknowledged', registers: [registry] }),
    spansRejected: new Counter({
      name: 'canopy_spans_rejected_total',
      help: 'Spans refused (invalid ids: partial success; or whole requests refused)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    requests: new Counter({
      name: 'canopy_otlp_requests_total',
      help: 'OTLP/HTTP export requests by response status',
      labelNames: ['status'],
      registers: [registry],
    }),
    // By transport: the totals above stay what they were, so existing dashboards keep working.
    spansAcceptedByTransport: new Counter({
      name: 'canopy_spans_accepted_by_transport_total',
      help: 'Spans stored and acknowledged, by the transport they arrived over (http, grpc)',
      labelNames: ['transport'],
      registers: [registry],
    }),
    grpcRequests: new Counter({
      name: 'canopy_otlp_grpc_requests_total',
      help: 'OTLP/gRPC export calls answered by Canopy, by gRPC status code name',
      labelNames: ['code'],
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'canopy_connections_refused_total',
      help: 'Requests refused with 429 because their address held more than CANOPY_MAX_CONNECTIONS_PER_CLIENT connections',
      registers: [registry],
    }),
    queueRows: new Gauge({ name: 'canopy_ingest_queue_rows', help: 'Rows waiting for or in the current insert', registers: [registry] }),
    queueBytes: new Gauge({ name: 'canopy_ingest_queue_bytes', help: 'Bytes waiting for or in the current insert', registers: [registry] }),
    batchRows: new Histogram({
      name: 'canopy_insert_batch_rows',
      help: 'Rows per group-committed insert',
      buckets: [1, 10, 100, 1_000, 10_000, 50_000, 100_000, 500_000],
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: 'canopy_insert_duration_seconds',
      help: 'Latency of one group-committed insert',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    insertFailures: new Counter({ name: 'canopy_insert_failures_total', help: 'Inserts that failed (their requests got 503)', registers: [registry] }),
    webhookDeliveries: new Counter({
      name: 'canopy_webhook_deliveries_total',
      help: 'Alert webhook deliveries by outcome: delivered, retried (one per retry), failed (gave up), dropped (queue full or stopped)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookDeliverySeconds: new Histogram({
      name: 'canopy_webhook_delivery_seconds',
      help: 'Time from queueing an alert webhook to its 2xx, retries included',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
