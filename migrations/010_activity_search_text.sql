-- The activity index carries each row's search text (the same lowercased names, agents, tools, models,
-- services and error types `trace_search` holds for that insert of the trace), so a list filtered by a common
-- term decides most traces of an activity window from the window's own rows: one contiguous range of the
-- activity index, where checking each trace against `trace_search` reads one scattered granule per trace, a
-- cost that grew with the history stored (55 ms at 100 k traces, 90 ms at 1 M: docs/BENCHMARKS.md). Rows written
-- before this migration, and rows of spans reported at start, have has_text = 0: their traces are checked
-- against `trace_search` as before.
ALTER TABLE trace_activity ADD COLUMN IF NOT EXISTS text String DEFAULT '';

ALTER TABLE trace_activity ADD COLUMN IF NOT EXISTS has_text UInt8 DEFAULT 0;

-- Fed from trace_search's rows (one per trace per insert, its text already built) instead of from spans:
-- the text is computed once per insert, not twice.
DROP VIEW IF EXISTS trace_activity_mv;

CREATE MATERIALIZED VIEW trace_activity_mv TO trace_activity AS
SELECT last_seen, trace_id, retention_days, text, toUInt8(1) AS has_text
FROM trace_search;
