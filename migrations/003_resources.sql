-- Resource attributes (service, host, SDK, deployment), stored once per distinct resource instead of on
-- every span row: they are identical for every span an SDK instance sends, and as a Map on each row they
-- cost about a third of the insert. spans.resource_id points here. The receiver writes a resource
-- before acknowledging the spans that refer to it, and writes it again at least daily while it is in
-- use, so the TTL on last_seen never drops a resource that live spans still point to.
CREATE TABLE IF NOT EXISTS resources
(
    resource_id FixedString(16),
    service_name LowCardinality(String),
    attributes Map(String, String),
    retention_days UInt16,
    last_seen DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(last_seen)
ORDER BY resource_id
TTL toDateTime(last_seen) + toIntervalDay(retention_days);
