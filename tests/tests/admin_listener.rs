//! `[collector] admin_listen`: `/metrics` and `/readyz` move to a listener
//! of their own and the public port answers `404` for them; `/healthz`
//! stays on both. Without it, one port serves everything. Both listeners
//! start together and stop together.

use integration_tests::*;
use std::net::SocketAddr;

/// A loopback port nothing listens on now (the collector binds it next).
fn free_port() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap()
}

async fn status(url: &str) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn with_admin_listen_the_operator_endpoints_leave_the_public_port() {
    let mut config = test_config();
    let admin = free_port();
    config.collector.admin_listen = Some(admin);
    let collector = TestCollector::start(config).await;
    let public = |path: &str| collector.url(path);
    let operator = |path: &str| format!("http://{admin}{path}");
    assert_eq!(collector.admin_url("/metrics"), operator("/metrics"));

    assert_eq!(status(&public("/metrics")).await, 404);
    assert_eq!(status(&public("/readyz")).await, 404);
    assert_eq!(status(&public("/healthz")).await, 200);
    assert_eq!(status(&public("/optout")).await, 200);
    let beacon = pageview(SITE, "https://example.com/admin-split");
    assert_eq!(send(&collector, &beacon, &[]).await.status(), 202);

    assert_eq!(status(&operator("/metrics")).await, 200);
    assert_eq!(status(&operator("/readyz")).await, 200);
    assert_eq!(status(&operator("/healthz")).await, 200);
    assert_eq!(status(&operator("/optout")).await, 404);
    let on_admin = reqwest::Client::new()
        .post(operator("/api/event"))
        .header("user-agent", BROWSER_UA)
        .body(beacon.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        on_admin.status(),
        404,
        "beacons are not taken on the admin port"
    );

    // One set of metrics: the admin port counts what the public one answered.
    let metrics = collector.metrics().await;
    assert_metric(&metrics, "analytics_events_accepted_total", 1.0);
    assert_metric(
        &metrics,
        "analytics_requests_rejected_total{status=\"404\"}",
        4.0,
    );
    expect_event_count(&collector.db, 1).await;

    let public_addr = collector.addr;
    collector.stop().await;
    for addr in [public_addr, admin] {
        let refused = tokio::net::TcpStream::connect(addr).await;
        assert!(refused.is_err(), "{addr} still accepts after the stop");
    }
}

#[tokio::test]
async fn without_admin_listen_one_port_serves_everything() {
    let collector = TestCollector::start(test_config()).await;
    for path in ["/metrics", "/readyz", "/healthz", "/optout"] {
        assert_eq!(status(&collector.url(path)).await, 200, "{path}");
    }
    collector.stop().await;
}

#[tokio::test]
async fn an_admin_address_in_use_stops_start_up_naming_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = test_config();
    config.collector.admin_listen = Some(taken.local_addr().unwrap());
    let _db = TestDb::connect(&config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = listener.local_addr().unwrap();
    let run = collector::Collector::new(config).run(listener, std::future::pending());
    let error = tokio::time::timeout(std::time::Duration::from_secs(30), run)
        .await
        .expect("start-up fails rather than hangs")
        .expect_err("the admin address is taken");
    assert!(
        format!("{error:#}").contains("collector.admin_listen"),
        "{error:#}"
    );
    let refused = tokio::net::TcpStream::connect(public).await;
    assert!(refused.is_err(), "the public port was closed too");
}
