-- History brought from Google Analytics 4 or Plausible (`schema import`),
-- as daily totals: never events, never anything that identifies a visitor.
--
-- One row per import: its files (with their sha256, so the same file is
-- never imported twice), its first and last day and what was read. `day`
-- is the import's last day, so that retention ages the record together
-- with its newest totals. Plain columns only, for ClickHouse 18.16.
CREATE TABLE IF NOT EXISTS imports (
    site String,
    id UInt64,
    format String,
    files Array(String),
    sha256 Array(String),
    first_day Date,
    day Date,
    days UInt32,
    rows_read UInt64,
    rows_skipped UInt64,
    imported_at DateTime('UTC')
) ENGINE = MergeTree()
ORDER BY (site, id);

-- Daily totals per dimension value of each import. `dim` is the Stats
-- API's dimension name ('' for the day's totals), `value` its value as
-- live traffic would store it; the numbers are the raw sums every metric
-- is derived from, as in `visit_totals`. `visitors` of a row is that day's
-- unique visitors: across days they add up (as in Plausible), since the
-- identifiers behind them were never kept.
CREATE TABLE IF NOT EXISTS imported_stats (
    site String,
    import_id UInt64,
    day Date,
    dim String,
    value String,
    visitors UInt64,
    visits UInt64,
    pageviews UInt64,
    events UInt64,
    bounces UInt64,
    duration UInt64,
    visit_pageviews UInt64,
    time_on_page UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (site, dim, day, value);
