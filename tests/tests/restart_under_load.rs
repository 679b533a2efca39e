//! A collector stopped (SIGTERM's path) and started again under steady load
//! stores exactly the beacons it answered 202 without a drop header.

use integration_tests::*;
use std::time::Duration;

/// Acknowledged beacons each collector must give before the test moves on.
const MIN_PER_PHASE: u64 = 50;
const PER_PHASE: &str = "50 beacons acknowledged";

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

    // Each phase waits for its own condition, so a collector that refused
    // everything after the restart fails instead of passing on the first
    // collector's acknowledgements.
    let load = SteadyLoad::start(url, 8, "first collector");
    load.wait_for(PER_PHASE, Duration::from_secs(30), |t| {
        t.acknowledged >= MIN_PER_PHASE
    })
    .await;
    let db = first.stop().await;
    // Nothing listens now: the load must have hit the closed port before
    // the second collector starts, or the restart was never under load.
    load.next_phase("no collector");
    load.wait_for("a request refused", Duration::from_secs(10), |t| {
        t.no_answer >= 1
    })
    .await;
    // Answers while the second collector starts (it listens before it
    // reports ready) are counted apart, so "no collector" means just that.
    load.next_phase("second collector starting");
    let second = TestCollector::start_on(config).await;
    load.next_phase("second collector");
    load.wait_for(PER_PHASE, Duration::from_secs(30), |t| {
        t.acknowledged >= MIN_PER_PHASE
    })
    .await;
    let report = load.stop().await;
    second.stop().await;

    eprintln!("load by phase: {report:#?}");
    let (first_phase, down, second_phase) = (
        &report.phases[0].1,
        &report.phases[1].1,
        &report.phases[3].1,
    );
    assert!(first_phase.acknowledged >= MIN_PER_PHASE, "{report:#?}");
    assert!(second_phase.acknowledged >= MIN_PER_PHASE, "{report:#?}");
    // With no collector listening, nothing can be acknowledged.
    assert_eq!(down.acknowledged, 0, "{report:#?}");
    // Besides 202, a beacon may only get back-pressure (503 with
    // Retry-After, e.g. from a collector draining on stop), or no answer
    // while no collector listens.
    report.assert_nothing_unexpected();
    let acknowledged = report.total().acknowledged;
    assert!(
        acknowledged > 100,
        "too little load to mean anything: {acknowledged}"
    );
    assert_stored_exactly(&db, acknowledged).await;
}
