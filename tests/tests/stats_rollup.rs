//! Materialized visits: late events make their hours be materialized again,
//! superseded generations go away, and the background job runs by itself.
//! (That materialized and freshly built visits agree on every metric,
//! dimension and filter is checked in `stats_correctness.rs`.)

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, with_editors, TestQuery};
use integration_tests::{forget_migration, scalar, test_config, wait_until, TestDb, SITE};
use query::jobs::rollup::Rollup;
use schema::EventRow;
use serde_json::json;
use std::time::Duration;

/// 2024-03-09 10:00:00 UTC.
const TEN: i64 = 1_709_978_400;

fn pageview(ts: i64, visitor: u64, path: &str) -> EventRow {
    EventRow {
        timestamp: ts as u32,
        site: SITE.into(),
        name: "pageview".into(),
        pathname: path.into(),
        visitor_id: visitor,
        interactive: 1,
        ..EventRow::default()
    }
}

/// The query service with editors, its clock at [`TEN`], and its database.
async fn service_at_ten() -> (TestQuery, TestDb) {
    let mut config = test_config();
    with_editors(&mut config);
    let service = TestQuery::start(config.clone(), Utc.timestamp_opt(TEN, 0).unwrap()).await;
    (service, TestDb::connect(&config).await)
}

fn metrics(answer: &serde_json::Value) -> Vec<f64> {
    answer["results"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn late_events_are_materialized_again() {
    let (service, db) = service_at_ten().await;
    let sites = [SITE.to_string()];
    let mut rollup = Rollup::default();
    // Visitor 1: two pageviews ten minutes apart.
    insert(&db, &[pageview(TEN, 1, "/"), pageview(TEN + 600, 1, "/a")]).await;
    let first = rollup.run_once(&db, &sites).await.unwrap();
    assert!(first.new_hours > 0 && first.redone_hours == 0, "{first:?}");
    let body = json!({"site_id": SITE, "date_range": "day",
        "metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]});
    assert_eq!(
        metrics(&service.ok(&body).await),
        [1.0, 1.0, 2.0, 0.0, 600.0]
    );

    // Late: visitor 1 goes on at 10:20, and visitor 2 bounces at 11:00.
    insert(
        &db,
        &[pageview(TEN + 1200, 1, "/b"), pageview(TEN + 3600, 2, "/")],
    )
    .await;
    let second = rollup.run_once(&db, &sites).await.unwrap();
    assert!(
        second.redone_hours > 0 && second.new_hours == 0,
        "{second:?}"
    );
    // Two visitors, two visits, four pageviews; one bounce of two; visits of
    // 1,200 s and 0 s.
    assert_eq!(
        metrics(&service.ok(&body).await),
        [2.0, 2.0, 4.0, 50.0, 600.0]
    );
    // Another run changes nothing.
    rollup.run_once(&db, &sites).await.unwrap();
    assert_eq!(
        metrics(&service.ok(&body).await),
        [2.0, 2.0, 4.0, 50.0, 600.0]
    );
    // The superseded generation is deleted (a mutation, so eventually).
    let one_generation = wait_until(Duration::from_secs(20), || async {
        scalar(&db, "SELECT count() FROM (SELECT chunk FROM visit_events GROUP BY chunk HAVING uniqExact(generation) > 1)").await == 0
    })
    .await;
    assert!(one_generation, "old generations linger");
    service.stop().await;
}

#[tokio::test]
async fn the_background_job_materializes_settled_hours() {
    let mut config = test_config();
    with_editors(&mut config);
    config.query.rollup_every_seconds = 1;
    let db = TestDb::connect(&config).await;
    schema::migrate::migrate(&db).await.unwrap();
    insert(&db, &[pageview(TEN, 1, "/"), pageview(TEN + 60, 2, "/")]).await;
    let service = TestQuery::start_with(config, Utc.timestamp_opt(TEN, 0).unwrap(), true).await;
    let materialized = wait_until(Duration::from_secs(20), || async {
        scalar(&db, "SELECT count() FROM visit_events").await == 2
    })
    .await;
    assert!(materialized, "the job did not materialize the two events");
    let answer = service
        .ok(&json!({"site_id": SITE, "date_range": "day", "metrics": ["visitors", "visits"]}))
        .await;
    assert_eq!(metrics(&answer), [2.0, 2.0]);
    service.stop().await;
}

#[tokio::test]
async fn upgrading_to_visits_sorted_by_source_rebuilds_them() {
    let (service, db) = service_at_ten().await;
    let sites = [SITE.to_string()];
    let from = |ts: i64, visitor: u64, source: &str| EventRow {
        source: source.into(),
        ..pageview(ts, visitor, "/")
    };
    // Visitor 1 from Google views two pages, visitor 2 from Bing one.
    insert(
        &db,
        &[
            from(TEN, 1, "Google"),
            from(TEN + 60, 1, "Google"),
            from(TEN + 120, 2, "Bing"),
        ],
    )
    .await;
    Rollup::default().run_once(&db, &sites).await.unwrap();
    let body = json!({"site_id": SITE, "date_range": "day",
        "metrics": ["visitors", "visits", "pageviews"],
        "filters": [["is", "visit:source", ["Google"]]]});
    assert_eq!(metrics(&service.ok(&body).await), [1.0, 1.0, 2.0]);

    // A database at version 7: migrations 8 and 9 (engagement columns)
    // drop what was materialized.
    forget_migration(&db, 8).await;
    forget_migration(&db, 9).await;
    assert_eq!(schema::migrate::migrate(&db).await.unwrap(), vec![8, 9]);
    assert_eq!(scalar(&db, "SELECT count() FROM visit_events").await, 0);
    assert_eq!(query::jobs::rollup::coverage(&db).await.unwrap(), None);
    let key = db
        .fetch_tsv(&format!(
            "SELECT sorting_key FROM system.tables WHERE database = '{}' AND name = 'visit_events'",
            db.database()
        ))
        .await
        .unwrap();
    assert_eq!(
        key.trim(),
        "site, toDate(timestamp), v_source, chunk, generation"
    );
    // Reports use the raw path until the materializer has run again.
    assert_eq!(metrics(&service.ok(&body).await), [1.0, 1.0, 2.0]);
    let rebuilt = Rollup::default().run_once(&db, &sites).await.unwrap();
    assert!(rebuilt.new_hours > 0, "{rebuilt:?}");
    assert_eq!(scalar(&db, "SELECT count() FROM visit_events").await, 3);
    assert_eq!(metrics(&service.ok(&body).await), [1.0, 1.0, 2.0]);
    service.stop().await;
}
