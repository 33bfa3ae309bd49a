-- The trace list's indexes, rebuilt so that a list page costs the same with 100 k or 1 M traces stored
-- (docs/DESIGN.md, "Reads"; numbers in docs/BENCHMARKS.md).
--
-- trace_activity: the time-ordered activity index. One row per (trace, insert that carried its spans),
-- ORDER BY (last_seen, trace_id): the list's default order ("newest activity first") is a read of the newest
-- rows in key order that stops after a page, and "traces touched since a watermark" is a primary-key range.
-- A trace touched by several inserts has several rows; its newest is its position, the older ones are skipped
-- by the reads (lib/server/queries/trace-list.ts).
--
-- traces: one row per trace once merged (AggregatingMergeTree ORDER BY trace_id), read by primary key for a
-- page's display fields and filters, and scanned for the other sort orders. Small granules and compression
-- blocks, because its reads are scattered point reads (a page's ids are random). Sort keys (spans, errors,
-- tokens, cost) are sums over the spans of each insert with re-sent spans counted once per insert; a span
-- re-sent in a later insert counts again in the key (never in the displayed numbers, which are exact: see
-- DESIGN.md).
--
-- trace_search: what the search matches, as text: per (trace, insert), the distinct lowercased span names,
-- agents, tools, models, services and error types (at most 1,000), sorted and joined by newlines. Identical
-- texts of one trace collapse on merge (ReplacingMergeTree). An n-gram bloom filter skips the granules that
-- cannot hold a rare substring; ORDER BY trace_id makes "does this trace match" a primary-key read, with
-- 64-row granules because each such read decompresses and matches a whole granule of text.
--
-- spans gets bloom filters on span_id (1%), for the exact span-id search, and on trace_id (0.1%): a page's spans
-- are read by trace id (`traceStats`, the detail), and the primary key alone reads one granule per trace in
-- every part, which a longer history multiplies; the filter skips the parts that lack the trace. Its rate is
-- low because a page asks for 50 ids at once and each granule is tested against all of them. Measured on the
-- bench's 1 M-trace store (50 M spans, 9 parts): a 50-trace page's stats read 324 granules without it, 150 with
-- 1%, 75 with 0.1% (~130 → ~80 ms); it weighs ~40 bytes per 1,000 spans (a granule holds few trace ids).

-- `traces` (replaced) and `trace_search` are built from `spans` (exact, FINAL) in 16 slices of the trace-id space,
-- so that the rebuild's memory stays small; then the activity index gets one row per trace. Every statement
-- can run again after a crash (nothing is ingested while migrations run).

DROP VIEW IF EXISTS traces_mv;
DROP VIEW IF EXISTS trace_activity_mv;
DROP VIEW IF EXISTS trace_search_mv;
DROP TABLE IF EXISTS traces;
DROP TABLE IF EXISTS trace_activity;
DROP TABLE IF EXISTS trace_search;

CREATE TABLE traces
(
    trace_id FixedString(32),
    start_time SimpleAggregateFunction(min, DateTime64(9)),
    end_time SimpleAggregateFunction(max, DateTime64(9)),
    first_seen SimpleAggregateFunction(min, DateTime64(3)),
    last_seen SimpleAggregateFunction(max, DateTime64(3)),
    root_span_id SimpleAggregateFunction(max, String),
    root_name SimpleAggregateFunction(max, String),
    services SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    span_count SimpleAggregateFunction(sum, UInt64),
    error_count SimpleAggregateFunction(sum, UInt64),
    tokens SimpleAggregateFunction(sum, UInt64),
    cost_nanos SimpleAggregateFunction(sum, UInt64),
    retention_days SimpleAggregateFunction(max, UInt16),
    INDEX services_bloom services TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = AggregatingMergeTree
ORDER BY trace_id
TTL toDateTime(last_seen) + toIntervalDay(retention_days)
SETTINGS index_granularity = 256, min_compress_block_size = 4096, max_compress_block_size = 16384;

CREATE TABLE trace_search
(
    trace_id FixedString(32),
    text String,
    last_seen DateTime64(3),
    retention_days UInt16,
    INDEX text_ngram text TYPE ngrambf_v1(3, 512, 2, 0) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(last_seen)
ORDER BY (trace_id, cityHash64(text))
TTL toDateTime(last_seen) + toIntervalDay(retention_days)
SETTINGS index_granularity = 64, min_compress_block_size = 4096, max_compress_block_size = 16384;

CREATE TABLE trace_activity
(
    last_seen DateTime64(3),
    trace_id FixedString(32),
    retention_days UInt16
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(last_seen)
ORDER BY (last_seen, trace_id)
TTL toDateTime(last_seen) + toIntervalDay(retention_days);

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id < '1' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '1' AND trace_id < '2' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '2' AND trace_id < '3' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '3' AND trace_id < '4' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '4' AND trace_id < '5' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '5' AND trace_id < '6' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '6' AND trace_id < '7' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '7' AND trace_id < '8' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '8' AND trace_id < '9' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= '9' AND trace_id < 'a' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'a' AND trace_id < 'b' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'b' AND trace_id < 'c' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'c' AND trace_id < 'd' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'd' AND trace_id < 'e' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'e' AND trace_id < 'f' GROUP BY trace_id;

INSERT INTO traces
SELECT trace_id, min(start_time), max(end_time), min(ingested_at), max(ingested_at),
    maxIf(toString(span_id), parent_span_id = ''), maxIf(name, parent_span_id = ''),
    groupUniqArray(toString(service_name)),
    count(), countIf(status = 'error'), sumIf(input_tokens + output_tokens, counts_usage = 1),
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'f' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id < '1' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '1' AND trace_id < '2' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '2' AND trace_id < '3' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '3' AND trace_id < '4' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '4' AND trace_id < '5' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '5' AND trace_id < '6' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '6' AND trace_id < '7' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '7' AND trace_id < '8' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '8' AND trace_id < '9' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= '9' AND trace_id < 'a' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'a' AND trace_id < 'b' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'b' AND trace_id < 'c' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'c' AND trace_id < 'd' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'd' AND trace_id < 'e' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'e' AND trace_id < 'f' GROUP BY trace_id;

INSERT INTO trace_search
SELECT trace_id, arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n'), max(ingested_at), max(retention_days)
FROM spans FINAL WHERE trace_id >= 'f' GROUP BY trace_id;

INSERT INTO trace_activity
SELECT max(last_seen), trace_id, max(retention_days) FROM traces GROUP BY trace_id;

-- From here on every insert into spans feeds the three indexes. Re-sent copies of a span inside one insert
-- count once in the sort keys (LIMIT 1 BY); the attributes and other wide columns are not read.
CREATE MATERIALIZED VIEW traces_mv TO traces AS
SELECT
    trace_id,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    min(ingested_at) AS first_seen,
    max(ingested_at) AS last_seen,
    maxIf(toString(span_id), parent_span_id = '') AS root_span_id,
    maxIf(name, parent_span_id = '') AS root_name,
    groupUniqArray(toString(service_name)) AS services,
    count() AS span_count,
    countIf(status = 'error') AS error_count,
    sumIf(input_tokens + output_tokens, counts_usage = 1) AS tokens,
    sumIf(toUInt64(greatest(0, round(ifNull(cost_usd, 0) * 1e9))), counts_usage = 1) AS cost_nanos,
    max(retention_days) AS retention_days
FROM
(
    SELECT trace_id, span_id, parent_span_id, service_name, name, status, start_time, end_time, input_tokens,
        output_tokens, cost_usd, counts_usage, retention_days, ingested_at
    FROM spans
    LIMIT 1 BY trace_id, span_id
)
GROUP BY trace_id;

CREATE MATERIALIZED VIEW trace_search_mv TO trace_search AS
SELECT
    trace_id,
    arrayStringConcat(arraySort(arrayDistinct(arrayFilter(x -> x != '', arrayMap(x -> lowerUTF8(x), arrayConcat(groupUniqArray(1000)(name), groupUniqArray(1000)(agent_name), groupUniqArray(1000)(tool_name), groupUniqArray(toString(model)), groupUniqArray(toString(service_name)), groupUniqArray(1000)(error_type)))))), '\n') AS text,
    max(ingested_at) AS last_seen,
    max(retention_days) AS retention_days
FROM spans
GROUP BY trace_id;

CREATE MATERIALIZED VIEW trace_activity_mv TO trace_activity AS
SELECT max(ingested_at) AS last_seen, trace_id, max(retention_days) AS retention_days
FROM spans
GROUP BY trace_id;

ALTER TABLE spans ADD INDEX IF NOT EXISTS span_id_bloom span_id TYPE bloom_filter(0.01) GRANULARITY 1;

ALTER TABLE spans ADD INDEX IF NOT EXISTS trace_id_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1;

-- Builds both filters for the parts already stored, in the background (reads stay correct meanwhile: a part
-- without them is read as before).
ALTER TABLE spans MATERIALIZE INDEX span_id_bloom;

ALTER TABLE spans MATERIALIZE INDEX trace_id_bloom;
