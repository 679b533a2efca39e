-- When each event reached the server. The query service materializes visits
-- (below) and re-materializes the hours that an insert arriving late (an
-- import, a spool replay after an outage) makes stale.
ALTER TABLE events ADD COLUMN inserted_at DateTime DEFAULT now();

-- Events with their visit's attributes, for visits that started in a
-- materialized hour (`chunk`): what the query service would otherwise build
-- at query time (see query/src/visits.rs). Only the latest `generation` of a
-- chunk, as recorded in `visit_chunks`, is current.
CREATE TABLE IF NOT EXISTS visit_events (
    site String,
    chunk DateTime('UTC'),
    generation UInt64,
    timestamp DateTime('UTC'),
    name String,
    pathname String,
    hostname String,
    visitor_id UInt64,
    props_keys Array(String),
    props_values Array(String),
    vkey UInt64,
    is_first UInt8,
    v_start UInt32,
    v_duration UInt32,
    v_pageviews UInt32,
    v_bounce UInt8,
    v_entry_page String,
    v_exit_page String,
    v_source String,
    v_referrer String,
    v_utm_medium String,
    v_utm_source String,
    v_utm_campaign String,
    v_utm_content String,
    v_utm_term String,
    v_device String,
    v_browser String,
    v_browser_version String,
    v_os String,
    v_os_version String,
    v_country String,
    v_region String,
    v_city String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site, toDate(timestamp), chunk, generation);

-- One row per materialized hour that has events (and one for the first hour
-- of every materialized span); the highest generation of an hour wins.
-- Materialized spans run without gaps from the earliest `chunk` to the
-- latest `covered_to`.
CREATE TABLE IF NOT EXISTS visit_chunks (
    chunk DateTime('UTC'),
    generation UInt64,
    covered_to DateTime('UTC'),
    materialized_at DateTime('UTC')
) ENGINE = MergeTree()
ORDER BY (chunk, generation);
