//! The data lifecycle against a real ClickHouse: retention removes exactly
//! the expired days (whole months as partitions, the rest by mutation) from
//! events and every table derived from them; deleting a site leaves none of
//! its rows in any table; an export holds exactly the site's events, as CSV
//! and as Parquet. Expected rows are worked out here from what was inserted.

use chrono::{NaiveDate, TimeZone, Utc};
use clickhouse::Row;
use integration_tests::query_harness::insert;
use integration_tests::{scalar, test_config, TestDb, NO_DNT_SITE, OTHER_SITE, SITE};
use query::jobs::rollup::Rollup;
use schema::retention::{self, Cutoffs};
use schema::{Config, Db, EventRow};
use std::collections::BTreeMap;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(60);
/// A site with rows but no `[[site]]`: it gets the default retention.
const UNLISTED: &str = "gone.example";

fn day_number(y: i32, m: u32, d: u32) -> u32 {
    let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    u32::try_from((date - epoch).num_days()).unwrap()
}

fn event(site: &str, day: u32, hour: u32, path: &str, visitor: u64) -> EventRow {
    EventRow {
        timestamp: day * 86_400 + hour * 3600,
        site: site.into(),
        name: "pageview".into(),
        hostname: site.into(),
        pathname: path.into(),
        visitor_id: visitor,
        interactive: 1,
        ..EventRow::default()
    }
}

/// Every table of the database with a `site` column, read from the server
/// (not from the code under test), views included.
async fn tables_with_site(db: &Db) -> Vec<String> {
    let sql = format!(
        "SELECT table FROM system.columns WHERE database = '{}' AND name = 'site' ORDER BY table",
        db.database()
    );
    db.fetch_tsv(&sql)
        .await
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `(site, day) -> rows` of a table, with `day` the SQL of a row's day number.
async fn per_day(db: &Db, table: &str, day: &str) -> BTreeMap<(String, u32), u64> {
    let sql = format!("SELECT site, {day} AS d, count() FROM {table} GROUP BY site, d");
    db.fetch_rows(&sql)
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            (
                (row[0].clone(), row[1].parse().unwrap()),
                row[2].parse().unwrap(),
            )
        })
        .collect()
}

/// The tables derived from events, and the SQL of their rows' day.
const DERIVED: [(&str, &str); 3] = [
    ("visit_events", "intDiv(toUInt32(timestamp), 86400)"),
    ("visit_totals", "intDiv(toUInt32(chunk), 86400)"),
    ("visit_totals_daily", "toUInt32(day)"),
];
const EVENTS_DAY: &str = "intDiv(toUInt32(timestamp), 86400)";

async fn materialize(db: &Db, config: &Config, now_day: u32) {
    let sites: Vec<String> = config.site.iter().map(|s| s.domain.clone()).collect();
    Rollup::default()
        .run_at(db, &sites, i64::from(now_day) * 86_400 + 12 * 3600)
        .await
        .unwrap();
}

#[tokio::test]
async fn retention_removes_exactly_the_expired_days() {
    let mut config = test_config();
    config.site[0].retention_days = 40; // SITE
    config.site[1].retention_days = 400; // OTHER_SITE; NO_DNT_SITE keeps the default
    let db = TestDb::connect(&config).await;
    schema::migrate::migrate(&db).await.unwrap();
    let today = day_number(2024, 6, 15);
    // The first kept day of each site, worked out by hand.
    let first_kept: BTreeMap<&str, u32> = [
        (SITE, day_number(2024, 5, 6)),
        (OTHER_SITE, day_number(2023, 5, 12)),
        (NO_DNT_SITE, day_number(2022, 4, 17)),
        (UNLISTED, day_number(2022, 4, 17)),
    ]
    .into();
    assert_eq!(first_kept[SITE], today - 40);
    assert_eq!(first_kept[UNLISTED], today - 790);
    let days: &[(&str, u32)] = &[
        // March 2022 holds only an expired day of a site not in the config:
        // dropped as a partition.
        (UNLISTED, day_number(2022, 3, 1)),
        (UNLISTED, day_number(2022, 6, 1)),
        (NO_DNT_SITE, day_number(2022, 4, 16)),
        (NO_DNT_SITE, day_number(2022, 4, 17)),
        // May 2023: one expired and one kept day of the same site.
        (OTHER_SITE, day_number(2023, 5, 11)),
        (OTHER_SITE, day_number(2023, 5, 12)),
        // January 2024: expired for one site, kept for the other.
        (SITE, day_number(2024, 1, 10)),
        (OTHER_SITE, day_number(2024, 1, 10)),
        // March 2024: every row expired, so the month is dropped whole.
        (SITE, day_number(2024, 3, 5)),
        (SITE, day_number(2024, 3, 6)),
        // The last expired and the first kept day.
        (SITE, day_number(2024, 5, 5)),
        (SITE, day_number(2024, 5, 6)),
        (SITE, day_number(2024, 6, 14)),
        (OTHER_SITE, day_number(2024, 6, 14)),
    ];
    let mut rows = Vec::new();
    let mut inserted: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for (i, (site, day)) in days.iter().enumerate() {
        // Two visitors, three events on each day.
        for (j, (hour, visitor)) in [(9, 1), (9, 2), (10, 1)].into_iter().enumerate() {
            rows.push(event(site, *day, hour, &format!("/p{i}/{j}"), visitor));
            *inserted.entry((site.to_string(), *day)).or_default() += 1;
        }
    }
    insert(&db, &rows).await;
    materialize(&db, &config, today).await;

    let expect_after = |before: &BTreeMap<(String, u32), u64>| -> BTreeMap<(String, u32), u64> {
        before
            .iter()
            .filter(|((site, day), _)| *day >= first_kept[site.as_str()])
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    assert_eq!(per_day(&db, "events", EVENTS_DAY).await, inserted);
    let mut derived_before = BTreeMap::new();
    for (table, day) in DERIVED {
        let before = per_day(&db, table, day).await;
        assert_ne!(
            expect_after(&before),
            before,
            "{table} has no expired rows to remove"
        );
        derived_before.insert(table, before);
    }

    let cutoffs = Cutoffs::for_config(&config, today);
    let report = retention::enforce(std::slice::from_ref(&*db), &cutoffs, DEADLINE)
        .await
        .unwrap();

    assert_eq!(
        per_day(&db, "events", EVENTS_DAY).await,
        expect_after(&inserted)
    );
    for (table, day) in DERIVED {
        assert_eq!(
            per_day(&db, table, day).await,
            expect_after(&derived_before[table]),
            "{table}"
        );
    }
    let events = report.tables.iter().find(|t| t.table == "events").unwrap();
    assert_eq!(events.dropped_months, [202_203, 202_403], "{report}");
    let expired_events: u64 =
        inserted.values().sum::<u64>() - expect_after(&inserted).values().sum::<u64>();
    assert_eq!(events.rows(), expired_events, "{report}");
    assert_eq!(events.rows_dropped, 9, "three days of three events");
    // Every table with site data took part.
    let mut reported: Vec<&str> = report.tables.iter().map(|t| t.table.as_str()).collect();
    reported.sort_unstable();
    let mut stored = tables_with_site(&db).await;
    stored.retain(|t| !t.ends_with("_mv"));
    assert_eq!(reported, stored);

    // A second run removes nothing, and the materializer does not bring
    // expired rows back.
    let again = retention::enforce(std::slice::from_ref(&*db), &cutoffs, DEADLINE)
        .await
        .unwrap();
    assert_eq!(again.rows(), 0, "{again}");
    materialize(&db, &config, today + 1).await;
    for (table, day) in DERIVED {
        let after = per_day(&db, table, day).await;
        assert!(
            after
                .iter()
                .all(|((site, d), _)| *d >= first_kept[site.as_str()]),
            "{table} has expired rows again: {after:?}"
        );
    }
}

#[tokio::test]
async fn deleting_a_site_leaves_none_of_its_rows() {
    let config = test_config();
    let db = TestDb::connect(&config).await;
    schema::migrate::migrate(&db).await.unwrap();
    let first = day_number(2024, 3, 1);
    let mut rows = Vec::new();
    for day in first..first + 3 {
        for (i, site) in [SITE, OTHER_SITE].into_iter().enumerate() {
            rows.push(event(site, day, 10, "/", 1));
            rows.push(event(site, day, 11, &format!("/{i}"), 2));
        }
    }
    insert(&db, &rows).await;
    for site in [SITE, OTHER_SITE] {
        insert_import(&db, site).await;
    }
    materialize(&db, &config, first + 4).await;
    let tables = tables_with_site(&db).await;
    assert!(tables.len() >= 4, "{tables:?}");
    let count =
        |table: &str, site: &str| format!("SELECT count() FROM {table} WHERE site = '{site}'");
    let mut before = BTreeMap::new();
    for table in &tables {
        let mine = scalar(&db, &count(table, SITE)).await;
        assert!(mine > 0, "{table} has no rows of the site to delete");
        before.insert(
            table.clone(),
            (mine, scalar(&db, &count(table, OTHER_SITE)).await),
        );
    }

    for bad in ["", "*", "%", "example.%"] {
        assert!(
            schema::site_delete::delete_site(std::slice::from_ref(&*db), bad, DEADLINE)
                .await
                .is_err(),
            "`{bad}` was accepted"
        );
    }
    let report = schema::site_delete::delete_site(std::slice::from_ref(&*db), SITE, DEADLINE)
        .await
        .unwrap();

    for table in &tables {
        assert_eq!(scalar(&db, &count(table, SITE)).await, 0, "{table}");
        assert_eq!(
            scalar(&db, &count(table, OTHER_SITE)).await,
            before[table].1,
            "{table}: the other site's rows changed"
        );
    }
    // The report names every table that had rows, with their number.
    let reported: BTreeMap<String, u64> = report.tables.iter().cloned().collect();
    for (table, (mine, _)) in &before {
        if !table.ends_with("_mv") {
            assert_eq!(reported.get(table), Some(mine), "{report}");
        }
    }
    assert_eq!(report.tables[0].0, "events");
    // Materializing again does not bring the site back.
    materialize(&db, &config, first + 5).await;
    for table in &tables {
        assert_eq!(
            scalar(&db, &count(table, SITE)).await,
            0,
            "{table} after a run"
        );
    }
}

/// An imported history of `site` (`schema import`'s two tables), written
/// directly: deletion must reach it as it reaches the site's events.
async fn insert_import(db: &Db, site: &str) {
    db.execute(&format!(
        "INSERT INTO imports (site, id, format, files, sha256, first_day, day, days, \
         rows_read, rows_skipped, imported_at) VALUES ('{site}', 1, 'ga4', ['events.json'], \
         ['00'], '2023-01-01', '2023-01-02', 2, 10, 0, '2024-03-01 00:00:00')"
    ))
    .await
    .unwrap();
    db.execute(&format!(
        "INSERT INTO imported_stats (site, import_id, day, dim, value, visitors, visits, \
         pageviews, events, bounces, duration, visit_pageviews, time_on_page) VALUES \
         ('{site}', 1, '2023-01-01', '', '', 3, 4, 5, 0, 1, 60, 5, 0), \
         ('{site}', 1, '2023-01-02', 'event:page', '/', 2, 2, 2, 0, 2, 0, 2, 0)"
    ))
    .await
    .unwrap();
}

/// Rows of both sites with every kind of value an export must carry.
fn export_rows() -> Vec<EventRow> {
    let base = Utc
        .with_ymd_and_hms(2024, 2, 3, 4, 5, 6)
        .unwrap()
        .timestamp() as u32;
    let mut rows = Vec::new();
    for i in 0..25u32 {
        let mut row = event(SITE, 0, 0, &format!("/page/{i}"), u64::MAX - u64::from(i));
        row.timestamp = base + i * 3601;
        row.referrer = format!("https://ref.example/?q=\"quoted\",comma {i}").into();
        row.props_keys = if i % 3 == 0 {
            Vec::new()
        } else {
            vec!["plan".into(), format!("it's {i}")]
        };
        row.props_values = row.props_keys.iter().map(|k| format!("v\\{k}")).collect();
        row.screen_width = 1280 + i as u16;
        row.scroll_depth = (i * 4) as u8;
        row.engagement_ms = 4_000_000_000 - i;
        row.country = "DE".into();
        row.city = "Köln".into();
        row.batch_id = u64::from(i) << 40;
        rows.push(row);
    }
    rows.push(event(OTHER_SITE, 19_800, 1, "/not-mine", 7));
    rows
}

/// ClickHouse's text for an `Array(String)`, written out independently.
fn array_literal(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect();
    format!("[{}]", quoted.join(","))
}

/// The exported text of each column, as ClickHouse's CSV writes it.
fn csv_fields(row: &EventRow) -> Vec<String> {
    let time = Utc.timestamp_opt(i64::from(row.timestamp), 0).unwrap();
    let json = serde_json::to_value(row).unwrap();
    EventRow::COLUMN_NAMES
        .iter()
        .map(|name| match *name {
            "timestamp" => time.format("%Y-%m-%d %H:%M:%S").to_string(),
            "props_keys" => array_literal(&row.props_keys),
            "props_values" => array_literal(&row.props_values),
            other => match &json[other] {
                serde_json::Value::String(s) => s.clone(),
                value => value.to_string(),
            },
        })
        .collect()
}

#[tokio::test]
async fn an_export_holds_exactly_the_sites_events() {
    let config = test_config();
    let db = TestDb::connect(&config).await;
    schema::migrate::migrate(&db).await.unwrap();
    let rows = export_rows();
    insert(&db, &rows).await;
    let mine: Vec<&EventRow> = rows.iter().filter(|r| r.site == SITE).collect();
    let dir = tempfile::tempdir().unwrap();

    let csv_path = dir.path().join("export.csv");
    let written = schema::export::export_site(&db, SITE, &csv_path)
        .await
        .unwrap();
    assert_eq!(written, mine.len() as u64);
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut expected_header: Vec<String> = EventRow::COLUMN_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected_header.push("inserted_at".into());
    assert_eq!(header, expected_header);
    let mut got: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    for row in &mut got {
        let inserted_at = row.pop().unwrap();
        assert_eq!(inserted_at.len(), 19, "inserted_at `{inserted_at}`");
    }
    got.sort();
    let mut expected: Vec<Vec<String>> = mine.iter().map(|r| csv_fields(r)).collect();
    expected.sort();
    assert_eq!(got, expected);

    let parquet_path = dir.path().join("export.parquet");
    let written = schema::export::export_site(&db, SITE, &parquet_path)
        .await
        .unwrap();
    assert_eq!(written, mine.len() as u64);
    let mut from_parquet = read_parquet(&parquet_path);
    from_parquet.sort_by_key(|r| r.timestamp);
    let mut expected: Vec<EventRow> = mine.into_iter().cloned().collect();
    expected.sort_by_key(|r| r.timestamp);
    assert_eq!(from_parquet, expected);
}

/// Reads an exported file back into rows with the parquet crate's reader,
/// checking each column's type on the way.
fn read_parquet(path: &std::path::Path) -> Vec<EventRow> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::{Field, Row};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let text = |f: &Field| match f {
        Field::Str(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    };
    let list = |f: &Field| match f {
        Field::ListInternal(l) => l.elements().iter().map(text).collect::<Vec<_>>(),
        other => panic!("not a list: {other:?}"),
    };
    let to_row = |row: Row| {
        let fields: BTreeMap<String, Field> = row.into_columns().into_iter().collect();
        let s = |name: &str| text(&fields[name]);
        EventRow {
            timestamp: match fields["timestamp"] {
                Field::TimestampMillis(ms) => u32::try_from(ms / 1000).unwrap(),
                ref other => panic!("timestamp is {other:?}"),
            },
            visitor_id: match fields["visitor_id"] {
                Field::ULong(v) => v,
                ref other => panic!("visitor_id is {other:?}"),
            },
            batch_id: match fields["batch_id"] {
                Field::ULong(v) => v,
                ref other => panic!("batch_id is {other:?}"),
            },
            prev_visitor_id: match fields["prev_visitor_id"] {
                Field::ULong(v) => v,
                ref other => panic!("prev_visitor_id is {other:?}"),
            },
            screen_width: match fields["screen_width"] {
                Field::UShort(v) => v,
                ref other => panic!("screen_width is {other:?}"),
            },
            scroll_depth: match fields["scroll_depth"] {
                Field::UByte(v) => v,
                ref other => panic!("scroll_depth is {other:?}"),
            },
            interactive: match fields["interactive"] {
                Field::UByte(v) => v,
                ref other => panic!("interactive is {other:?}"),
            },
            engagement_ms: match fields["engagement_ms"] {
                Field::UInt(v) => v,
                ref other => panic!("engagement_ms is {other:?}"),
            },
            props_keys: list(&fields["props_keys"]),
            props_values: list(&fields["props_values"]),
            site: s("site").into(),
            name: s("name").into(),
            hostname: s("hostname").into(),
            pathname: s("pathname").into(),
            referrer: s("referrer").into(),
            utm_source: s("utm_source").into(),
            utm_medium: s("utm_medium").into(),
            utm_campaign: s("utm_campaign").into(),
            utm_content: s("utm_content").into(),
            utm_term: s("utm_term").into(),
            revenue_amount: s("revenue_amount").into(),
            revenue_currency: s("revenue_currency").into(),
            browser: s("browser").into(),
            browser_version: s("browser_version").into(),
            os: s("os").into(),
            os_version: s("os_version").into(),
            device: s("device").into(),
            screen_size: s("screen_size").into(),
            source: s("source").into(),
            medium: s("medium").into(),
            click_id_param: s("click_id_param").into(),
            country: s("country").into(),
            region: s("region").into(),
            city: s("city").into(),
        }
    };
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| to_row(row.unwrap()))
        .collect()
}

#[tokio::test]
async fn the_collector_enforces_retention_by_itself() {
    let mut config = test_config();
    config.site[0].retention_days = 10;
    let today = day_number(2024, 6, 15);
    let schedule = collector::jobs::retention::RetentionSchedule {
        first: Duration::from_millis(200),
        every: Duration::from_secs(3600),
    };
    // Past SITE's 10 days, kept, and another site's (default 790 days),
    // stored before the collector starts so that its first run finds them.
    let db = TestDb::connect(&config).await;
    schema::migrate::migrate(&db).await.unwrap();
    let rows = [
        event(SITE, today - 11, 9, "/old", 1),
        event(SITE, today - 10, 9, "/kept", 1),
        event(OTHER_SITE, today - 11, 9, "/other", 1),
    ];
    insert(&db, &rows).await;
    let running = integration_tests::TestCollector::start_at_with(
        config.clone(),
        u64::from(today) * 86_400 + 3600,
        |c| c.with_retention(schedule),
    )
    .await;
    let erased = integration_tests::wait_until(Duration::from_secs(20), || async {
        scalar(
            &running.db,
            "SELECT count() FROM events WHERE pathname = '/old'",
        )
        .await
            == 0
    })
    .await;
    assert!(erased, "the job did not erase the expired day");
    assert_eq!(
        scalar(&running.db, "SELECT count() FROM events").await,
        2,
        "only the expired row goes"
    );
    running.stop().await;
}
