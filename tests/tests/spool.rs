//! `durability = "spool"`: under steady load, ClickHouse stops for a while
//! and comes back; every beacon acknowledged meanwhile is stored exactly
//! once, and the spool empties.

use integration_tests::*;
use schema::config::Durability;
use schema::local_server::{LocalServer, LocalServerOptions};
use std::time::Duration;

/// Acknowledged beacons each phase must see before the test moves on.
const MIN_PER_PHASE: u64 = 50;
const PER_PHASE: &str = "50 beacons acknowledged";

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

    // Each phase waits for enough acknowledged beacons of its own, so a
    // collector that refused everything while ClickHouse was down, or after
    // it came back, fails here rather than passing on the other phases.
    let load = SteadyLoad::start(collector.url("/api/event"), 8, "before the outage");
    load.wait_for(PER_PHASE, Duration::from_secs(30), |t| {
        t.acknowledged >= MIN_PER_PHASE
    })
    .await;
    tokio::task::block_in_place(|| server.stop());
    load.next_phase("ClickHouse down");
    load.wait_for(PER_PHASE, Duration::from_secs(30), |t| {
        t.acknowledged >= MIN_PER_PHASE
    })
    .await;
    // ClickHouse is down, yet beacons are acknowledged from the spool.
    let spooled = wait_until(Duration::from_secs(10), || async {
        metric(&collector.metrics().await, "analytics_spool_bytes").is_some_and(|b| b > 0.0)
    })
    .await;
    let metrics = collector.metrics().await;
    assert!(spooled, "the spool holds the outage's rows:\n{metrics}");
    tokio::task::block_in_place(|| server.restart()).expect("restart clickhouse");
    load.next_phase("ClickHouse back");
    load.wait_for(PER_PHASE, Duration::from_secs(30), |t| {
        t.acknowledged >= MIN_PER_PHASE
    })
    .await;
    let report = load.stop().await;
    report.assert_each_phase_acknowledged(MIN_PER_PHASE);
    // The collector is up throughout: every request gets an answer, and
    // the only answer besides 202 a beacon may get is back-pressure (503
    // with Retry-After, the spool's appender falling behind), counted here.
    report.assert_nothing_unexpected();
    let total = report.total();
    assert_eq!(total.no_answer, 0, "requests went unanswered: {report:#?}");
    eprintln!("load by phase: {report:#?}");
    let acknowledged = total.acknowledged;
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
