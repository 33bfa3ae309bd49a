-- Per-trace index for the trace list. Every column is an idempotent aggregate (min, max, any,
-- set union), so a re-sent span cannot inflate it; exact counts and spend for a page of traces come from
-- the spans table (FINAL) by primary key. Filled by a materialized view on every insert into spans.
CREATE TABLE IF NOT EXISTS traces
(
    trace_id FixedString(32),
    start_time SimpleAggregateFunction(min, DateTime64(9)),
    end_time SimpleAggregateFunction(max, DateTime64(9)),
    last_seen SimpleAggregateFunction(max, DateTime64(3)),
    root_span_id SimpleAggregateFunction(max, String),
    root_name SimpleAggregateFunction(max, String),
    services SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    has_error SimpleAggregateFunction(max, UInt8),
    retention_days SimpleAggregateFunction(max, UInt16)
)
ENGINE = AggregatingMergeTree
ORDER BY trace_id
TTL toDateTime(last_seen) + toIntervalDay(retention_days);

CREATE MATERIALIZED VIEW IF NOT EXISTS traces_mv TO traces AS
SELECT
    trace_id,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    max(ingested_at) AS last_seen,
    maxIf(toString(span_id), parent_span_id = '') AS root_span_id,
    maxIf(name, parent_span_id = '') AS root_name,
    groupUniqArray(toString(service_name)) AS services,
    max(status = 'error') AS has_error,
    max(retention_days) AS retention_days
FROM spans
GROUP BY trace_id;
