//! Migrations and the row/table contract on a real server.

use integration_tests::*;
use schema::event::TableRow;
use schema::{EventRow, SaltRow};

async fn fresh_db() -> TestDb {
    TestDb::connect(&test_config()).await
}

#[tokio::test]
async fn migrations_apply_once_and_record_themselves() {
    let db = fresh_db().await;
    let all: Vec<u32> = schema::migrate::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(schema::migrate::migrate(&db).await.unwrap(), all);
    assert_eq!(
        schema::migrate::migrate(&db).await.unwrap(),
        Vec::<u32>::new()
    );
    assert_eq!(schema::migrate::applied(&db).await.unwrap(), all);
    let tables = db
        .fetch_tsv(&format!(
            "SELECT name FROM system.tables WHERE database = '{}' ORDER BY name",
            db.database()
        ))
        .await
        .unwrap();
    // Materialized views are tables in `system.tables`; ClickHouse 18.16
    // lists a view's hidden inner table only when it has no `TO` table.
    assert_eq!(
        tables,
        "events\nimported_stats\nimports\nsalts\nschema_migrations\nvisit_chunks\nvisit_days\nvisit_events\nvisit_totals\nvisit_totals_daily\nvisit_totals_mv\n"
    );
}

#[tokio::test]
async fn a_migration_interrupted_after_some_columns_runs_again() {
    let db = fresh_db().await;
    schema::migrate::migrate(&db).await.unwrap();
    // Pretend migration 3 stopped after two of its columns.
    forget_migration(&db, 3).await;
    for column in [
        "city",
        "region",
        "country",
        "click_id_param",
        "medium",
        "source",
        "screen_size",
        "device",
        "os_version",
        "os",
    ] {
        db.execute(&format!("ALTER TABLE events DROP COLUMN {column}"))
            .await
            .unwrap();
    }
    let others: Vec<u32> = schema::migrate::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .filter(|&v| v != 3)
        .collect();
    assert_eq!(schema::migrate::applied(&db).await.unwrap(), others);
    assert_eq!(schema::migrate::migrate(&db).await.unwrap(), vec![3]);
    schema::migrate::verify(&db).await.unwrap();
}

#[tokio::test]
async fn events_table_has_the_columns_other_tools_rely_on() {
    let db = fresh_db().await;
    schema::migrate::migrate(&db).await.unwrap();
    let describe = db.fetch_tsv("DESCRIBE TABLE events").await.unwrap();
    for column in [
        "timestamp\tDateTime",
        "site\tString",
        "name\tString",
        "pathname\tString",
        "visitor_id\tUInt64",
        "utm_source\tString",
        "utm_medium\tString",
        "utm_campaign\tString",
        "utm_content\tString",
        "utm_term\tString",
    ] {
        assert!(
            describe.lines().any(|l| l.starts_with(column)),
            "{column} missing in\n{describe}"
        );
    }
}

#[tokio::test]
async fn table_check_catches_a_type_the_struct_does_not_match() {
    let db = fresh_db().await;
    db.client()
        .clone()
        .with_database("system")
        .query(&format!("CREATE DATABASE {}", db.database()))
        .execute()
        .await
        .unwrap();
    // `salt` as String where the struct writes 32 raw bytes for FixedString(32).
    db.execute("CREATE TABLE salts (day Date, salt String, created_at DateTime) ENGINE = MergeTree() ORDER BY day")
        .await
        .unwrap();
    let err = schema::table_check::check::<SaltRow>(&db)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`salt` is String, code expects FixedString(32)"),
        "{err}"
    );
}

#[tokio::test]
async fn rows_round_trip_through_the_real_table() {
    let db = fresh_db().await;
    schema::migrate::migrate(&db).await.unwrap();
    let row = EventRow {
        timestamp: 1_700_000_000,
        site: "example.com".into(),
        name: "Signup".into(),
        hostname: "example.com".into(),
        pathname: "/ünïcode path".into(),
        visitor_id: u64::MAX - 1,
        referrer: "news.ycombinator.com".into(),
        utm_source: "s".into(),
        utm_medium: "m".into(),
        utm_campaign: "c".into(),
        utm_content: "co".into(),
        utm_term: "t".into(),
        props_keys: vec!["a".into(), "b".into()],
        props_values: vec!["1".into(), "".into()],
        interactive: 1,
        screen_width: 65535,
        scroll_depth: 100,
        engagement_ms: u32::MAX,
        revenue_amount: "19.9".into(),
        revenue_currency: "EUR".into(),
        browser: "Firefox".into(),
        browser_version: "131.0".into(),
        os: "Linux".into(),
        os_version: "".into(),
        device: "Desktop".into(),
        screen_size: "Laptop".into(),
        source: "Hacker News".into(),
        medium: "referral".into(),
        click_id_param: "".into(),
        country: "DE".into(),
        region: "DE-BE".into(),
        city: "Berlin".into(),
        batch_id: 42,
        prev_visitor_id: u64::MAX - 2,
    };
    let mut insert = db
        .client()
        .insert::<EventRow>(EventRow::TABLE)
        .await
        .unwrap();
    insert.write(&row).await.unwrap();
    insert.end().await.unwrap();
    let back: Vec<EventRow> = db
        .client()
        .query("SELECT ?fields FROM events")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(back, vec![row]);
    // Independently of the struct: the server's own rendering of two columns.
    let text = db
        .fetch_tsv("SELECT toString(timestamp, 'UTC'), visitor_id FROM events")
        .await
        .unwrap();
    assert_eq!(text, "2023-11-14 22:13:20\t18446744073709551614\n");
}

#[tokio::test]
async fn dead_letter_files_replay_with_the_documented_command() {
    let db = fresh_db().await;
    schema::migrate::migrate(&db).await.unwrap();
    let row = EventRow {
        timestamp: 1_700_000_000,
        site: "example.com".into(),
        name: "pageview".into(),
        pathname: "/a \"quoted\" path".into(),
        visitor_id: u64::MAX - 7,
        props_keys: vec!["k".into()],
        props_values: vec!["v\nw".into()],
        country: "GB".into(),
        ..EventRow::default()
    };
    let dir = std::env::temp_dir().join(format!("dead-letter-replay-{}", db.database()));
    let file = collector::delivery::dead_letter::DeadLetters::new(&dir)
        .keep(std::slice::from_ref(&row))
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    // What `clickhouse-client --query "INSERT INTO events FORMAT JSONEachRow" < FILE` sends.
    db.execute(&format!("INSERT INTO events FORMAT JSONEachRow\n{text}"))
        .await
        .unwrap();
    let back: Vec<EventRow> = db
        .client()
        .query("SELECT ?fields FROM events")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(back, vec![row]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The collector's RowBinary bytes, inserted into the real server and read
/// back by column name through the crate's own decoder: every column lands
/// where it belongs (each one holds a value no other column holds).
#[tokio::test]
async fn every_column_survives_the_row_binary_insert() {
    use collector::delivery::sink::{ClickHouseSink, EventSink};
    let config = test_config();
    let db = TestDb::connect(&config).await;
    schema::migrate::migrate(&db).await.unwrap();
    let row = schema::row_binary::every_column_example();
    let rows = vec![row.clone(), EventRow::default(), row];
    let sink = ClickHouseSink::new((*db).clone(), &config.clickhouse.url);
    sink.insert(&schema::EncodedRows::of(&rows)).await.unwrap();
    let back: Vec<EventRow> = db
        .client()
        .query("SELECT ?fields FROM events ORDER BY timestamp, site")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(
        back,
        vec![rows[1].clone(), rows[0].clone(), rows[2].clone()]
    );
}
