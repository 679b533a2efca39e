-- One row per accepted page view, custom event or engagement event.
-- Nothing here can identify a visitor: visitor_id is a keyed hash under a
-- salt that is erased after two days, and no IP or user agent is stored.
-- Plain String (not LowCardinality) and no TTL, so that the DDL runs on
-- ClickHouse 18.16 as well as current releases.
CREATE TABLE IF NOT EXISTS events (
    timestamp DateTime('UTC'),
    site String,
    name String,
    hostname String,
    pathname String,
    visitor_id UInt64,
    referrer String,
    utm_source String,
    utm_medium String,
    utm_campaign String,
    utm_content String,
    utm_term String,
    props_keys Array(String),
    props_values Array(String),
    interactive UInt8,
    screen_width UInt16,
    scroll_depth UInt8,
    engagement_ms UInt32,
    revenue_amount String,
    revenue_currency String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site, toDate(timestamp), visitor_id, timestamp)
SAMPLE BY visitor_id;
