-- The runaway detector's state (detector/, docs/DETECTION.md): its alerts, the history its baselines are
-- made of, and the few values it must find again after a restart (watermark, rule settings).
--
-- alerts: one row per (trace, rule, branch) once merged. `branch` is the span id of the branch it concerns, or
-- '' for a finding about the whole tree (spend, stall, growth), whose `span_id` moves to the root once it
-- arrives. Every change (evidence grown, escalated,
-- acknowledged, resolved, delivered to the webhook) is a new row with a higher `version`, and reads use FINAL.
-- Alerts are rare (a handful per runaway tree), so FINAL over the whole table stays cheap. `notified` is the
-- severity last delivered to the webhook: a restart re-sends only what was never delivered.
CREATE TABLE IF NOT EXISTS alerts
(
    id FixedString(16),
    trace_id FixedString(32),
    rule LowCardinality(String),
    branch String,
    span_id String,
    severity Enum8('warning' = 1, 'critical' = 2),
    title String,
    evidence String,
    status Enum8('open' = 1, 'acknowledged' = 2, 'resolved' = 3),
    first_seen DateTime64(3, 'UTC'),
    last_seen DateTime64(3, 'UTC'),
    notified Enum8('none' = 0, 'warning' = 1, 'critical' = 2),
    version UInt64,
    retention_days UInt16,
    INDEX id_bloom id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (trace_id, rule, branch)
TTL toDateTime(last_seen) + toIntervalDay(retention_days);

-- tree_history: the numbers of each finished tree (detector/baseline.ts TreeStats), per service and root
-- name, so "what this workflow usually costs" survives a restart and is shared by every detector process.
-- `runaway` marks trees that had an alert: their numbers are kept out of the baselines.
CREATE TABLE IF NOT EXISTS tree_history
(
    service_name String,
    root_name String,
    trace_id FixedString(32),
    finished_at DateTime64(3, 'UTC'),
    cost_usd Float64,
    tokens Float64,
    duration_ms Float64,
    spans UInt32,
    max_children UInt32,
    max_depth UInt32,
    max_call_input_tokens Float64,
    runaway UInt8,
    retention_days UInt16
)
ENGINE = ReplacingMergeTree(finished_at)
ORDER BY (service_name, root_name, trace_id)
TTL toDateTime(finished_at) + toIntervalDay(retention_days);

-- detector_state: named JSON values (`watermark`, `rules`), the latest write of each name wins.
CREATE TABLE IF NOT EXISTS detector_state
(
    name String,
    value String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY name;
