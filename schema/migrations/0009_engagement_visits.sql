-- Engagement events stop shaping visits (issue #21). An `engagement`
-- event (time on page and scroll depth, sent when a page is hidden or
-- left) used to count as an interactive event: a one-page visit followed by
-- one was not a bounce, and its duration ran to the beacon. Visits are now
-- cut, timed and given entry and exit pages from pageviews and custom
-- events only (query/src/sql/visits.rs), and `visit_events` carries each
-- engagement event's `scroll_depth` and `engagement_ms`, so that time on
-- page and scroll depth are read from materialized visits like the rest.
--
-- Every materialized visit was built the old way, and everything here is
-- derived from `events`, so it is done as migrations 7 and 8 did: the
-- materialized tables are dropped and made again, the query service finds
-- nothing materialized and rebuilds visits and rollups from the events,
-- and reports use the raw path meanwhile. Views first, so that no insert
-- reaches a dropped target.
DROP TABLE IF EXISTS visit_totals_mv;
DROP TABLE IF EXISTS visit_totals;
DROP TABLE IF EXISTS visit_totals_daily;
DROP TABLE IF EXISTS visit_days;
DROP TABLE IF EXISTS visit_chunks;
DROP TABLE IF EXISTS visit_events;

-- As in migration 8, except for the two engagement columns of `visit_events`.
--
-- Events with their visit's attributes, for visits that started in a
-- materialized hour (`chunk`): what the query service would otherwise build
-- at query time (see query/src/visits.rs). Only the latest `generation` of a
-- chunk, as recorded in `visit_chunks`, is current. Within a day, rows are
-- sorted by the visit's source (see above).
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
    scroll_depth UInt8,
    engagement_ms UInt32,
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
ORDER BY (site, toDate(timestamp), v_source, chunk, generation);

-- One row per materialized hour that has events (and one for the first hour
-- of every materialized span); the highest generation of an hour wins.
-- Materialized spans run without gaps from the earliest `chunk` to the
-- latest `covered_to`. `read_at` is when the hour's events were read: an
-- event inserted after it may be missing from the hour.
CREATE TABLE IF NOT EXISTS visit_chunks (
    chunk DateTime('UTC'),
    generation UInt64,
    covered_to DateTime('UTC'),
    read_at DateTime('UTC'),
    materialized_at DateTime('UTC')
) ENGINE = MergeTree()
ORDER BY (chunk, generation);

-- Hourly totals per dimension value, kept from `visit_events` by the view
-- below: what most reports need, without reading events. `dim` is the Stats
-- API's dimension name ('' for the totals), `value` its value. Visit numbers
-- count at each visit's first event.
CREATE TABLE IF NOT EXISTS visit_totals (
    site String,
    chunk DateTime('UTC'),
    generation UInt64,
    dim String,
    value String,
    visitors AggregateFunction(uniqCombinedIf(14), UInt64, UInt8),
    pageviews AggregateFunction(sum, UInt64),
    events AggregateFunction(sum, UInt64),
    visits AggregateFunction(sum, UInt64),
    bounces AggregateFunction(sum, UInt64),
    duration AggregateFunction(sum, UInt64),
    visit_pageviews AggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(chunk)
ORDER BY (site, dim, chunk, generation, value);

CREATE MATERIALIZED VIEW IF NOT EXISTS visit_totals_mv TO visit_totals AS
SELECT
    site, chunk, generation, dim, value,
    uniqCombinedIfState(14)(visitor_id, name != 'engagement') AS visitors,
    sumState(toUInt64(name = 'pageview')) AS pageviews,
    sumState(toUInt64(name != 'engagement')) AS events,
    sumState(toUInt64(is_first)) AS visits,
    sumState(toUInt64(is_first AND v_bounce)) AS bounces,
    sumState(toUInt64(if(is_first, v_duration, 0))) AS duration,
    sumState(toUInt64(if(is_first, v_pageviews, 0))) AS visit_pageviews
FROM visit_events
ARRAY JOIN
    ['', 'event:page', 'event:name', 'event:hostname', 'visit:entry_page', 'visit:exit_page',
     'visit:source', 'visit:referrer', 'visit:utm_medium', 'visit:utm_source', 'visit:utm_campaign',
     'visit:utm_content', 'visit:utm_term', 'visit:device', 'visit:browser', 'visit:browser_version',
     'visit:os', 'visit:os_version', 'visit:country', 'visit:region', 'visit:city'] AS dim,
    ['', pathname, name, hostname, v_entry_page, v_exit_page,
     v_source, v_referrer, v_utm_medium, v_utm_source, v_utm_campaign,
     v_utm_content, v_utm_term, v_device, v_browser, v_browser_version,
     v_os, v_os_version, v_country, v_region, v_city] AS value
GROUP BY site, chunk, generation, dim, value;

-- The hourly totals merged per UTC day, made by the query service for each
-- complete day it has materialized; a day's newest generation in
-- `visit_days` is current. Long ranges read these instead of hours.
CREATE TABLE IF NOT EXISTS visit_totals_daily (
    site String,
    day Date,
    generation UInt64,
    dim String,
    value String,
    visitors AggregateFunction(uniqCombinedIf(14), UInt64, UInt8),
    pageviews AggregateFunction(sum, UInt64),
    events AggregateFunction(sum, UInt64),
    visits AggregateFunction(sum, UInt64),
    bounces AggregateFunction(sum, UInt64),
    duration AggregateFunction(sum, UInt64),
    visit_pageviews AggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (site, dim, day, generation, value);

CREATE TABLE IF NOT EXISTS visit_days (
    day Date,
    generation UInt64,
    made_at DateTime('UTC')
) ENGINE = MergeTree()
ORDER BY (day, generation);
