-- One row per span, normalised from any GenAI convention, with the raw attributes kept as maps.
-- ReplacingMergeTree on (trace_id, span_id): a span an exporter re-sends collapses to one row at merge
-- time; reads that must be exact use FINAL (cheap here because every read filters on trace_id, the
-- first key column). ingested_at is the version, so the latest copy wins.
-- Retention is per row (retention_days is written at ingest from CANOPY_RETENTION_DAYS), so changing
-- the setting needs no DDL and no string-built SQL.
CREATE TABLE IF NOT EXISTS spans
(
    trace_id FixedString(32),
    span_id FixedString(16),
    parent_span_id String,
    service_name LowCardinality(String),
    name String,
    kind UInt8,
    status Enum8('unset' = 0, 'ok' = 1, 'error' = 2),
    status_message String,
    start_time DateTime64(9),
    end_time DateTime64(9),
    category LowCardinality(String),
    model LowCardinality(String),
    provider LowCardinality(String),
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_write_tokens UInt64,
    cost_usd Nullable(Float64),
    counts_usage UInt8,
    agent_name String,
    tool_name String,
    session_id String,
    user_id String,
    call_signature String,
    error_type String,
    attributes Map(String, String),
    resource_id FixedString(16),
    scope_name LowCardinality(String),
    retention_days UInt16,
    ingested_at DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (trace_id, span_id)
TTL toDateTime(ingested_at) + toIntervalDay(retention_days);
