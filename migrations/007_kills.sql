-- Kills (issue 11, lib/server/kill-hub.ts): a whole request tree (span_id = '') or the branch under span_id,
-- stopped by hand, by the auto-kill policy or by a budget. One row per (trace, span) once merged; a revive is
-- a new row with active = 0 and a higher version, a kill after a revive another with active = 1. Reads take
-- the newest version of each key (argMax), so they are exact whether or not the parts were merged.
--
-- `seen_at` is set by the ClickHouse server on insert, never by a client: every Canopy process on one server
-- polls "rows seen in the last few seconds" on that one clock, so a process with a skewed clock neither
-- misses another's kill nor reads it late. Kills are rare (a few per runaway tree): the table stays small,
-- and the minmax index on seen_at keeps the poll to the newest parts.
CREATE TABLE IF NOT EXISTS kills
(
    trace_id FixedString(32),
    span_id String,
    reason String,
    source Enum8('manual' = 1, 'auto' = 2, 'budget' = 3),
    alert_id String,
    created_at DateTime64(3, 'UTC'),
    revoked_at Nullable(DateTime64(3, 'UTC')),
    active UInt8,
    version UInt64,
    seen_at DateTime64(3, 'UTC') DEFAULT now64(3),
    retention_days UInt16,
    INDEX seen_minmax seen_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (trace_id, span_id)
TTL toDateTime(created_at) + toIntervalDay(retention_days);
