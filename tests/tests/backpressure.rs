//! With ClickHouse down, accepted beacons wait in the bounded queue; once it
//! is full the collector answers 503 with Retry-After instead of growing or
//! hanging; when ClickHouse is back every accepted beacon is stored once.

use integration_tests::*;
use schema::local_server::{LocalServer, LocalServerOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_answers_503_and_accepted_rows_survive_an_outage() {
    // A server of this test's own, since it is stopped on purpose.
    let mut server =
        tokio::task::block_in_place(|| LocalServer::start(LocalServerOptions::default()))
            .expect("private clickhouse");
    let mut config = test_config();
    config.clickhouse.url = server.http_url();
    config.collector.batch_max_rows = 5;
    config.collector.queue_capacity = 10;
    config.collector.batch_max_age_ms = 20;
    let collector = TestCollector::start(config).await;

    tokio::task::block_in_place(|| server.stop());
    let mut accepted = 0u64;
    let mut refused = 0u64;
    for i in 0..40 {
        let body = pageview(SITE, &format!("https://example.com/{i}"));
        let response = send(&collector, &body, &[]).await;
        match response.status().as_u16() {
            202 => accepted += 1,
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    // The queue holds 10 rows and the writer at most one batch of 5 more.
    assert!(refused > 0, "the queue never filled");
    assert!((10..=15).contains(&accepted), "accepted {accepted}");

    tokio::task::block_in_place(|| server.restart()).expect("restart clickhouse");
    let landed = wait_until(Duration::from_secs(30), || async {
        collector
            .db
            .fetch_tsv("SELECT count() FROM events")
            .await
            .is_ok_and(|n| n.trim() == accepted.to_string())
    })
    .await;
    assert!(landed, "expected {accepted} rows after the outage");
    let db = collector.stop().await;
    assert_stored_exactly(&db, accepted).await;
}
