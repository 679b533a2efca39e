//! `durability = "spool"`: a beacon acknowledged while ClickHouse is down is
//! stored exactly once when it comes back, and the spool empties.

use integration_tests::*;
use schema::config::Durability;
use schema::local_server::{LocalServer, LocalServerOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_beacons_survive_a_clickhouse_outage_exactly_once() {
    let mut server =
        tokio::task::block_in_place(|| LocalServer::start(LocalServerOptions::default()))
            .expect("private clickhouse");
    let spool_dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.clickhouse.url = server.http_url();
    config.collector.durability = Durability::Spool;
    config.collector.spool_dir = spool_dir.path().to_owned();
    config.collector.visitor_events_per_minute = 0;
    let collector = TestCollector::start(config).await;

    let mut acknowledged = 0u64;
    let send_some = |from: u64| {
        let collector = &collector;
        async move {
            let mut ok = 0;
            for i in from..from + 30 {
                let body = pageview(SITE, &format!("https://example.com/{i}"));
                if send(collector, &body, &[]).await.status() == 202 {
                    ok += 1;
                }
            }
            ok
        }
    };
    acknowledged += send_some(0).await;
    tokio::task::block_in_place(|| server.stop());
    // ClickHouse is down: beacons are still acknowledged, from the spool.
    acknowledged += send_some(100).await;
    assert_eq!(acknowledged, 60, "every beacon was acknowledged");
    let metrics = collector.metrics().await;
    assert!(
        !metrics.contains("analytics_spool_bytes 0\n"),
        "the spool holds the outage's rows:\n{metrics}"
    );
    tokio::task::block_in_place(|| server.restart()).expect("restart clickhouse");

    let stored = wait_until(Duration::from_secs(40), || async {
        collector
            .db
            .fetch_tsv("SELECT count() FROM events")
            .await
            .is_ok_and(|n| n.trim() == acknowledged.to_string())
    })
    .await;
    assert!(stored, "not every acknowledged beacon was stored");
    let db = collector.stop().await;
    assert_eq!(
        scalar(&db, "SELECT count() FROM events").await,
        acknowledged
    );
    assert_eq!(
        scalar(&db, "SELECT uniqExact(pathname) FROM events").await,
        acknowledged
    );
    assert_eq!(
        scalar(&db, "SELECT countIf(batch_id = 0) FROM events").await,
        0,
        "every row came through the spool"
    );
    let left: Vec<_> = std::fs::read_dir(spool_dir.path()).unwrap().collect();
    assert!(left.is_empty(), "segments left behind: {left:?}");
}
