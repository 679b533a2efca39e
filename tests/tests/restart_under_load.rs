//! A collector stopped (SIGTERM's path) and started again under steady load
//! stores exactly the beacons it answered 202 without a drop header.

use integration_tests::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_and_starting_under_load_loses_and_duplicates_nothing() {
    let mut config = test_config();
    config.collector.visitor_events_per_minute = 0;
    // A fixed port, so the load keeps aiming at the same address across the restart.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    config.collector.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let first = TestCollector::start_on(config.clone()).await;
    let url = first.url("/api/event");

    let running = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8)
        .map(|w| tokio::spawn(steady_load(url.clone(), w, running.clone(), sent.clone())))
        .collect();

    tokio::time::sleep(Duration::from_millis(800)).await;
    let db = first.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = TestCollector::start_on(config).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    running.store(false, Ordering::Relaxed);
    let mut acknowledged = 0;
    for w in workers {
        acknowledged += w.await.unwrap();
    }
    second.stop().await;

    assert!(
        acknowledged > 100,
        "too little load to mean anything: {acknowledged}"
    );
    assert_stored_exactly(&db, acknowledged).await;
}
