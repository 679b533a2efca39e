//! The load generator against a real collector: a bounded, seeded run with
//! `--verify` stores exactly the accepted beacons, and the bots, DNT and GPC
//! share of the traffic comes back as drops by reason, matching what the
//! generator drew beacon by beacon.

use integration_tests::*;
use loadtest::{Options, VerifyOptions, WorkloadConfig};
use std::time::Duration;

const COUNT: u64 = 1_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_run_is_stored_exactly_and_drops_are_reported_by_reason() {
    let collector = TestCollector::start(test_config()).await;
    let workload = WorkloadConfig {
        seed: 7,
        sites: vec![SITE.into(), OTHER_SITE.into()],
        ..WorkloadConfig::default()
    };
    let options = Options {
        target: collector.url(""),
        connections: 8,
        count: Some(COUNT),
        duration: Some(Duration::from_secs(60)),
        // One pass over the pool, so the expected drops can be counted.
        pool: COUNT as usize,
        workload: workload.clone(),
        verify: Some(VerifyOptions {
            clickhouse_url: collector.config.clickhouse.url.clone(),
            database: collector.config.clickhouse.database.clone(),
            timeout: Duration::from_secs(20),
        }),
        ..Options::default()
    };
    let report = loadtest::run(options).await.unwrap();

    // Every test site respects DNT and GPC; consent is checked before bots.
    let drawn = loadtest::workload::generate(&workload, COUNT as usize);
    let dnt = drawn.iter().filter(|b| b.dnt).count() as u64;
    let gpc = drawn.iter().filter(|b| !b.dnt && b.gpc).count() as u64;
    let bot = drawn.iter().filter(|b| !b.dnt && !b.gpc && b.bot).count() as u64;
    assert!(dnt > 0 && gpc > 0 && bot > 0, "the sample has each kind");
    assert_eq!(report.sent, COUNT);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        report.transport_errors.is_empty(),
        "{:?}",
        report.transport_errors
    );
    let expected_drops = [("bot", bot), ("dnt", dnt), ("gpc", gpc)];
    let reported: Vec<(&str, u64)> = report
        .dropped
        .iter()
        .map(|(reason, n)| (reason.as_str(), *n))
        .collect();
    assert_eq!(reported, expected_drops, "{}", report.table());
    assert_eq!(report.accepted, COUNT - bot - dnt - gpc);
    let verified = report.verification.clone().expect("verified");
    assert!(verified.ok, "{}", report.table());
    assert_eq!(verified.stored, report.accepted);
    assert_stored_by_site(&collector, &drawn, &report).await;
    assert_dropped(&collector.metrics().await, &expected_drops);
    collector.stop().await;
}

/// Each site got the beacons that named it and were not dropped.
async fn assert_stored_by_site(
    collector: &TestCollector,
    drawn: &[loadtest::workload::Beacon],
    report: &loadtest::Report,
) {
    let kept = |site: usize| {
        drawn
            .iter()
            .filter(|b| b.site == site && !b.dnt && !b.gpc && !b.bot)
            .count() as u64
    };
    let db = &collector.db;
    let stored = |site: &str| {
        let sql = format!("SELECT count() FROM events WHERE site = '{site}'");
        async move { scalar(db, &sql).await }
    };
    assert_eq!(stored(SITE).await, kept(0));
    assert_eq!(stored(OTHER_SITE).await, kept(1));
    assert_eq!(kept(0) + kept(1), report.accepted);
}
