//! Bounds on what clients can hold: rate limits per visitor, a cap on open
//! connections, and deadlines for headers and bodies. Every case gets an
//! answer (or a closed socket), never a hang.

use integration_tests::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads whatever the server sends until it closes or `limit` passes.
async fn read_reply(socket: &mut TcpStream, limit: Duration) -> String {
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(limit, socket.read_to_end(&mut reply)).await;
    String::from_utf8_lossy(&reply).into_owned()
}

#[tokio::test]
async fn a_visitor_over_its_rate_limit_is_dropped_as_rate_limited() {
    let mut config = test_config();
    config.collector.visitor_events_per_minute = 3;
    let collector = TestCollector::start(config).await;
    let mut reasons = Vec::new();
    for i in 0..5 {
        let body = pageview(SITE, &format!("https://example.com/{i}"));
        let response = send(&collector, &body, &[("x-forwarded-for", "198.51.100.4")]).await;
        assert_eq!(response.status(), 202);
        reasons.push(
            response
                .headers()
                .get("x-analytics-dropped")
                .map(|v| v.to_str().unwrap().to_owned()),
        );
    }
    let limited = reasons
        .iter()
        .filter(|r| r.as_deref() == Some("rate-limited"))
        .count();
    assert_eq!((reasons.len() - limited, limited), (3, 2), "{reasons:?}");
    // Another visitor is not affected.
    let other = send(
        &collector,
        &pageview(SITE, "https://example.com/x"),
        &[("x-forwarded-for", "203.0.113.9")],
    )
    .await;
    assert!(other.headers().get("x-analytics-dropped").is_none());
    expect_event_count(&collector.db, 4).await;
    let metrics = collector.metrics().await;
    assert_dropped(&metrics, &[("rate-limited", 2)]);
    collector.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_get_503_and_idle_ones_are_closed() {
    let mut config = test_config();
    config.collector.max_connections = 2;
    config.collector.header_read_timeout_ms = 500;
    let collector = TestCollector::start(config).await;

    // The cap is seen only if our two idle clients hold both places. The
    // readiness probe's connection may still hold one for a moment (its
    // close reaches the server asynchronously); an idle client refused for
    // that reason is told 503 at once, and the whole case is tried again.
    // A collector that never lets two idle clients in fails by the deadline.
    let held = wait_until(Duration::from_secs(10), || async {
        slowloris_case(&collector).await
    })
    .await;
    assert!(held, "two idle clients never held both places");

    // ...which frees their places for real beacons.
    let ok = wait_until(Duration::from_secs(5), || async {
        send_plain(&collector).await == 202
    })
    .await;
    assert!(ok, "the collector did not accept new connections again");
    collector.stop().await;
}

/// Two clients connect and send nothing (slowloris); a third is refused with
/// 503; the two are cut off once the header deadline passes. `false` when
/// an idle client was itself refused (a place was still taken by an
/// earlier connection), so the case proved nothing and may be tried again.
async fn slowloris_case(collector: &TestCollector) -> bool {
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(TcpStream::connect(collector.addr).await.unwrap());
    }
    // No pause needed: connect() returns once the handshake is done, so
    // the server's one accept loop takes (and counts) both idle clients
    // before this third one.
    let mut third = TcpStream::connect(collector.addr).await.unwrap();
    let reply = read_reply(&mut third, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(reply.contains("Retry-After: 1"), "{reply}");

    // The idle ones are cut off once the header deadline passes...
    let mut refused = false;
    for socket in &mut idle {
        let started = tokio::time::Instant::now();
        let reply = read_reply(socket, Duration::from_secs(5)).await;
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "an idle connection was held"
        );
        refused |= reply.starts_with("HTTP/1.1 503");
    }
    !refused
}

async fn send_plain(collector: &TestCollector) -> u16 {
    let body = pageview(SITE, "https://example.com/after");
    match reqwest::Client::new()
        .post(collector.url("/api/event"))
        .header("user-agent", BROWSER_UA)
        .body(body.to_string())
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408() {
    let mut config = test_config();
    config.collector.body_read_timeout_ms = 300;
    let collector = TestCollector::start(config).await;
    let mut socket = TcpStream::connect(collector.addr).await.unwrap();
    let head = format!(
        "POST /api/event HTTP/1.1\r\nHost: x\r\nUser-Agent: {BROWSER_UA}\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n{{\"n\":"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let reply = read_reply(&mut socket, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("did not arrive"), "{reply}");
    collector.stop().await;
}
