//! `durability = "spool"`: under steady load, ClickHouse stops for a while
//! and comes back; every beacon acknowledged meanwhile is stored exactly
//! once, and the spool empties.

use integration_tests::*;
use schema::config::Durability;
use schema::local_server::{LocalServer, LocalServerOptions};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
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

    let running = Arc::new(AtomicBool::new(true));
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            tokio::spawn(steady_load(
                collector.url("/api/event"),
                w,
                running.clone(),
                next.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::block_in_place(|| server.stop());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // ClickHouse is down, yet beacons are acknowledged from the spool.
    let metrics = collector.metrics().await;
    assert!(
        !metrics.contains("analytics_spool_bytes 0\n"),
        "the spool holds the outage's rows:\n{metrics}"
    );
    tokio::task::block_in_place(|| server.restart()).expect("restart clickhouse");
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.store(false, Ordering::Relaxed);
    let mut acknowledged = 0;
    for w in workers {
        acknowledged += w.await.unwrap();
    }
    assert!(
        acknowledged > 100,
        "too little load to mean anything: {acknowledged}"
    );

    let stored = wait_until(Duration::from_secs(40), || async {
        collector
            .db
            .fetch_tsv("SELECT count() FROM events")
            .await
            .is_ok_and(|n| n.trim().parse::<u64>().is_ok_and(|n| n >= acknowledged))
    })
    .await;
    assert!(stored, "not every acknowledged beacon was stored");
    let db = collector.stop().await;
    assert_stored_exactly(&db, acknowledged).await;
    assert_eq!(
        scalar(&db, "SELECT countIf(batch_id = 0) FROM events").await,
        0,
        "every row came through the spool"
    );
    let left: Vec<_> = std::fs::read_dir(spool_dir.path()).unwrap().collect();
    assert!(left.is_empty(), "segments left behind: {left:?}");
}
