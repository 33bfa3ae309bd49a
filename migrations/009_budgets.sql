-- Per-tree budgets (issue 11; lib/domain/budget.ts). A budget set through the API is a row here, newest version
-- per trace wins (max_cost_usd NULL: removed). Shared by every Canopy process on one ClickHouse server the way
-- kills are: each polls the rows the server saw in the last few seconds (seen_at is the server's clock).
CREATE TABLE IF NOT EXISTS budgets
(
    trace_id FixedString(32),
    max_cost_usd Nullable(Float64),
    version UInt64,
    seen_at DateTime64(3, 'UTC') DEFAULT now64(3),
    retention_days UInt16,
    INDEX seen_minmax seen_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY trace_id
TTL toDateTime(seen_at) + toIntervalDay(retention_days);

-- A budget set by the attribute canopy.budget.usd, on a span or (copied to each of its spans at ingest) on its
-- resource: a narrow column the detector reads with the spans, where the attributes map would be the widest.
-- Adding a column rewrites nothing: parts written before read it as NULL.
ALTER TABLE spans ADD COLUMN IF NOT EXISTS budget_usd Nullable(Float64);

ALTER TABLE started_spans ADD COLUMN IF NOT EXISTS budget_usd Nullable(Float64);

-- What an auto-kill policy did (enforce) or would have done (observe) about an alert: lib/domain/policy.ts
-- AutoKillRecord as JSON, '' when no policy acted.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS auto_kill String DEFAULT '';
