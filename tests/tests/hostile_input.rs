//! Thousands of malformed requests: each gets a 4xx (or, for headers past
//! the size bound, a closed connection), never a 5xx or a hang, and good
//! beacons sent in between are all stored.

use integration_tests::*;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const VALID: &str = r#"{"n":"pageview","u":"https://example.com/a?utm_source=x","d":"example.com","r":"https://google.com/","p":{"k":"v"},"w":1280}"#;

/// A malformed body of one of several kinds, and the content type to send.
fn hostile_body(rng: &mut StdRng) -> (Vec<u8>, &'static str) {
    let valid = VALID.as_bytes();
    match rng.random_range(0..7) {
        // Cut short.
        0 => (
            valid[..rng.random_range(0..valid.len())].to_vec(),
            "text/plain",
        ),
        // One byte replaced by something random.
        1 => {
            let mut body = valid.to_vec();
            let at = rng.random_range(0..body.len());
            body[at] = (rng.next_u64() & 0xff) as u8;
            (body, "text/plain")
        }
        // Deep nesting.
        2 => (
            "[".repeat(1 + rng.random_range(0..20_000)).into_bytes(),
            "text/plain",
        ),
        // Invalid UTF-8 inside a string.
        3 => (
            b"{\"n\":\"\xc3\x28\",\"u\":\"https://example.com/\",\"d\":\"example.com\"}".to_vec(),
            "text/plain",
        ),
        // Random bytes.
        4 => (
            (0..rng.random_range(0..512))
                .map(|_| (rng.next_u64() & 0xff) as u8)
                .collect(),
            "application/json",
        ),
        // Too large.
        5 => (
            vec![b' '; 65 * 1024 + rng.random_range(0..100_000)],
            "text/plain",
        ),
        // A content type that is not accepted.
        _ => (valid.to_vec(), "multipart/form-data"),
    }
}

/// Sends one raw HTTP/1.1 request and returns the status, or `None` if the
/// server closed the connection without an answer.
async fn raw_request(
    addr: std::net::SocketAddr,
    head_extra: &str,
    body: &[u8],
    content_type: &str,
) -> Option<u16> {
    let mut socket = tokio::net::TcpStream::connect(addr).await.ok()?;
    let head = format!(
        "POST /api/event HTTP/1.1\r\nHost: x\r\nUser-Agent: {BROWSER_UA}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{head_extra}\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.ok()?;
    // The server may answer (413) and close before the body is all written.
    let _ = socket.write_all(body).await;
    let mut reply = Vec::new();
    let _ = socket.read_to_end(&mut reply).await;
    let text = String::from_utf8_lossy(&reply);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_and_good_beacons_keep_landing() {
    let mut config = test_config();
    config.collector.visitor_events_per_minute = 0;
    let collector = TestCollector::start(config).await;
    let addr = collector.addr;
    let mut rng = StdRng::seed_from_u64(0x9e37_79b9_7f4a_7c15);
    let mut good = 0u64;
    for round in 0..40 {
        let mut requests = Vec::new();
        for _ in 0..50 {
            let (body, content_type) = hostile_body(&mut rng);
            // Now and then, a header far past the 32 KiB bound.
            let extra = if rng.random_range(0..25) == 0 {
                format!("X-Junk: {}\r\n", "a".repeat(64 * 1024))
            } else {
                String::new()
            };
            requests.push(tokio::spawn(async move {
                let status = tokio::time::timeout(
                    Duration::from_secs(10),
                    raw_request(addr, &extra, &body, content_type),
                )
                .await
                .expect("an answer or a close, never a hang");
                (status, extra.is_empty())
            }));
        }
        for request in requests {
            let (status, normal_headers) = request.await.unwrap();
            match status {
                Some(code) => assert!((400..500).contains(&code) || code == 202, "got {code}"),
                None => assert!(!normal_headers, "closed without an answer"),
            }
        }
        let body = pageview(SITE, &format!("https://example.com/good{round}"));
        assert_eq!(send(&collector, &body, &[]).await.status(), 202);
        good += 1;
    }
    // Some mutations are still valid beacons; count exactly what was stored
    // under the good paths.
    let stored = wait_until(Duration::from_secs(20), || async {
        scalar(
            &collector.db,
            "SELECT count() FROM events WHERE startsWith(pathname, '/good')",
        )
        .await
            == good
    })
    .await;
    assert!(stored, "not every good beacon was stored");
    let metrics = collector.metrics().await;
    let server_errors: Vec<String> = parse_metrics(&metrics)
        .into_keys()
        .filter(|name| name.contains("status=\"5"))
        .collect();
    assert!(
        server_errors.is_empty(),
        "a 5xx was answered: {server_errors:?}\n{metrics}"
    );
    collector.stop().await;
}
