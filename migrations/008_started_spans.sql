-- Spans reported when they start (the SDK's span processor, sdk/; lib/domain/started.ts), kept apart from the
-- ended spans in `spans`: nothing that sums, counts or judges spans (the trace index, the list's and the
-- detail's totals, rollups, the detector) ever sees a span twice, whichever version arrives first. Reads that
-- show a running tree (the trace detail, the list's status, the kill switch's ancestry) add the started spans
-- whose ended version is not in `spans` yet. Same columns as `spans`, so ingest writes both with one serialiser.
CREATE TABLE IF NOT EXISTS started_spans AS spans
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (trace_id, span_id)
TTL toDateTime(ingested_at) + toIntervalDay(retention_days);

-- A tree whose spans have only started is live: the list (newest activity first) and the detector's watermark see it.
CREATE MATERIALIZED VIEW IF NOT EXISTS started_spans_activity_mv TO trace_activity AS
SELECT max(ingested_at) AS last_seen, trace_id, max(retention_days) AS retention_days
FROM started_spans
GROUP BY trace_id;

-- ... and it is in the trace index, named by its root's name when the root has started, but with no root id:
-- a root seen at start is not completion. Counts, tokens and cost stay the ended spans'.
CREATE MATERIALIZED VIEW IF NOT EXISTS started_spans_traces_mv TO traces AS
SELECT
    trace_id,
    min(started) AS start_time,
    max(started) AS end_time,
    min(ingested_at) AS first_seen,
    max(ingested_at) AS last_seen,
    '' AS root_span_id,
    maxIf(name, parent_span_id = '') AS root_name,
    groupUniqArray(toString(service_name)) AS services,
    toUInt64(0) AS span_count,
    toUInt64(0) AS error_count,
    toUInt64(0) AS tokens,
    toUInt64(0) AS cost_nanos,
    max(retention_days) AS retention_days
-- `started`: a start time named apart, so that the alias start_time is not read back inside end_time's max().
FROM (SELECT *, start_time AS started FROM started_spans)
GROUP BY trace_id;
