//! Daily salts: agreed through ClickHouse, kept for today and yesterday, and
//! erased everywhere (tables and the server's files) once older.

use integration_tests::*;
use std::time::Duration;

const DAY: u64 = 86_400;

async fn salt_days(db: &schema::Db) -> Vec<u16> {
    let tsv = db
        .fetch_tsv("SELECT DISTINCT toUInt16(day) AS d FROM salts ORDER BY d")
        .await
        .unwrap();
    tsv.lines().map(|l| l.parse().unwrap()).collect()
}

async fn salt_of(db: &schema::Db, day: u16) -> Vec<u8> {
    let sql =
        format!("SELECT hex(salt) FROM salts WHERE toUInt16(day) = {day} ORDER BY salt LIMIT 1");
    hex::decode(db.fetch_tsv(&sql).await.unwrap().trim()).unwrap()
}

async fn visitor_on(collector: &TestCollector, tag: &str) -> u64 {
    let body = pageview(SITE, &format!("https://example.com/{tag}"));
    assert_eq!(
        send(collector, &body, &[("x-forwarded-for", "198.51.100.9")])
            .await
            .status(),
        202
    );
    let sql = format!("SELECT count() FROM events WHERE pathname = '/{tag}'");
    assert!(
        wait_until(Duration::from_secs(20), || async {
            scalar(&collector.db, &sql).await == 1
        })
        .await
    );
    scalar(
        &collector.db,
        &format!("SELECT visitor_id FROM events WHERE pathname = '/{tag}'"),
    )
    .await
}

#[tokio::test]
async fn day_change_erases_salts_older_than_yesterday_everywhere() {
    let start = 20_000 * DAY + 3_600;
    let collector = TestCollector::start_at(test_config(), start).await;
    let day0 = collector.clock.today();
    let first = visitor_on(&collector, "day0").await;
    let salt0 = salt_of(&collector.db, day0).await;
    assert_eq!(salt0.len(), 32);
    if let Some(dir) = server_files_to_scan("the server's files hold today's salt") {
        // The disk scan below can see a salt: it finds today's.
        assert!(!files_containing(&dir, &salt0).is_empty());
    }
    assert_eq!(salt_days(&collector.db).await, vec![day0]);

    // Next day: a new salt, yesterday's kept.
    collector.clock.advance(DAY);
    let second = visitor_on(&collector, "day1").await;
    assert_ne!(
        first, second,
        "the same visitor is a new visitor on a new day"
    );
    assert_eq!(salt_days(&collector.db).await, vec![day0, day0 + 1]);

    // Two days on, with no traffic: the periodic refresh alone erases day 0.
    collector.clock.advance(DAY);
    let erased = wait_until(Duration::from_secs(10), || async {
        salt_days(&collector.db).await == vec![day0 + 1, day0 + 2]
    })
    .await;
    assert!(
        erased,
        "salt days now: {:?}",
        salt_days(&collector.db).await
    );
    assert!(tables_containing(&collector.db, &salt0).await.is_empty());

    // Dropped parts are deleted from disk within seconds, not minutes.
    if let Some(dir) = server_files_to_scan("an erased salt is gone from the server's files") {
        let gone = wait_until(Duration::from_secs(30), || async {
            files_containing(&dir, &salt0).is_empty()
        })
        .await;
        assert!(
            gone,
            "old salt still on disk: {:?}",
            files_containing(&dir, &salt0)
        );
    }
    collector.stop().await;
}

#[tokio::test]
async fn a_restart_mid_day_keeps_the_salt_and_collectors_agree() {
    let config = test_config();
    let first = TestCollector::start(config.clone()).await;
    let before = visitor_on(&first, "before").await;
    // Kept alive: the database outlives the first collector.
    let _first_db = first.stop().await;

    // Two collectors on the same database: both use the stored salt.
    let a = TestCollector::start(config.clone()).await;
    let b = TestCollector::start(config).await;
    let after_a = visitor_on(&a, "after-a").await;
    let after_b = visitor_on(&b, "after-b").await;
    assert_eq!(before, after_a);
    assert_eq!(after_a, after_b);
    assert_eq!(salt_days(&a.db).await.len(), 1);
    a.stop().await;
    b.stop().await;
}
