//! The query service's listener: a client that sends half a request
//! (slowloris) is cut off without holding up others, connections past the
//! cap are refused with 503 at once, bodies have a deadline and a size cap,
//! and headers a size cap. Every case gets an answer or a closed socket;
//! the time bounds below only prove "does not hang".

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{serve, TestQuery, ADMIN_TOKEN};
use integration_tests::{wait_until, TestDb, SITE};
use schema::Config;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const NOW: i64 = 1_710_000_000;

async fn start(edit: impl FnOnce(&mut Config)) -> (TestQuery, TestDb) {
    let (service, db, _) = serve(edit, Utc.timestamp_opt(NOW, 0).unwrap()).await;
    (service, db)
}

/// Reads whatever the server sends until it closes or `limit` passes.
async fn read_reply(socket: &mut TcpStream, limit: Duration) -> String {
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(limit, socket.read_to_end(&mut reply)).await;
    String::from_utf8_lossy(&reply).into_owned()
}

/// Whether the server closed `socket` within `limit` (EOF or reset).
async fn closed_within(socket: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A small report by bearer token, on a fresh connection.
async fn report(service: &TestQuery) -> u16 {
    let body = json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day"});
    match reqwest::Client::new()
        .post(service.url("/api/v2/query"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_and_does_not_hold_up_others() {
    let (service, _db) = start(|c| c.query.header_read_timeout_ms = 500).await;
    let mut slow = TcpStream::connect(service.addr).await.unwrap();
    slow.write_all(b"POST /api/v2/query HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .unwrap();
    // While it stalls, others are served.
    assert_eq!(report(&service).await, 200);
    assert!(
        closed_within(&mut slow, Duration::from_secs(10)).await,
        "a half-sent request held its connection"
    );
    // An idle keep-alive connection after a whole request is cut off too.
    let mut idle = TcpStream::connect(service.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(10)).await);
    assert_eq!(report(&service).await, 200);
    service.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_get_503_with_retry_after() {
    let (service, _db) = start(|c| {
        c.query.max_connections = 2;
        c.query.header_read_timeout_ms = 500;
    })
    .await;
    // The harness's readiness probe may still hold a place for a moment
    // (until its idle connection meets the header deadline); an idle
    // client refused for that reason proves nothing, and the case is
    // tried again. A service that never lets two idle clients in fails by
    // the deadline.
    let held = wait_until(Duration::from_secs(15), || async {
        two_idle_clients_hold_both_places(&service).await
    })
    .await;
    assert!(held, "two idle clients never held both places");
    let served = wait_until(Duration::from_secs(10), || async {
        report(&service).await == 200
    })
    .await;
    assert!(served, "places were not given back");
    service.stop().await;
}

/// Two clients connect and send nothing; a third is answered 503 with
/// `Retry-After` and closed. `false` when an idle client was itself
/// refused, so the case proved nothing.
async fn two_idle_clients_hold_both_places(service: &TestQuery) -> bool {
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(TcpStream::connect(service.addr).await.unwrap());
    }
    let mut third = TcpStream::connect(service.addr).await.unwrap();
    let reply = read_reply(&mut third, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply:?}");
    assert!(reply.contains("Retry-After: 1"), "{reply}");
    let body = reply.split_once("\r\n\r\n").unwrap().1;
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"], "too many open connections");
    let mut refused = false;
    for socket in &mut idle {
        let reply = read_reply(socket, Duration::from_secs(10)).await;
        refused |= reply.starts_with("HTTP/1.1 503");
    }
    !refused
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408() {
    let (service, _db) = start(|c| c.query.body_read_timeout_ms = 300).await;
    let mut socket = TcpStream::connect(service.addr).await.unwrap();
    let head = format!(
        "POST /api/v2/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"site_id\":"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let reply = read_reply(&mut socket, Duration::from_secs(10)).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply:?}");
    assert!(reply.contains("body"), "{reply}");
    assert_eq!(report(&service).await, 200);
    service.stop().await;
}

#[tokio::test]
async fn oversized_bodies_and_headers_are_refused() {
    let (service, _db) = start(|_| {}).await;
    // A body past the cap: 413 naming it, before any of it is parsed.
    let big = format!("{{\"site_id\": \"{}\"}}", "x".repeat(1_100_000));
    let response = reqwest::Client::new()
        .post(service.url("/api/v2/query"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let text = response.text().await.unwrap();
    assert!(text.contains("1048576 bytes"), "{text}");
    // Headers past 32 KiB: 431, from the listener.
    let mut socket = TcpStream::connect(service.addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "p".repeat(40 * 1024)
    );
    let _ = socket.write_all(head.as_bytes()).await;
    let reply = read_reply(&mut socket, Duration::from_secs(10)).await;
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply:?}");
    assert_eq!(report(&service).await, 200);
    service.stop().await;
}
