//! Every malformed request gets a precise 4xx naming what is wrong, and the
//! collector keeps serving good beacons afterwards.

use integration_tests::*;
use serde_json::{json, Value};

struct Case {
    what: &'static str,
    content_type: Option<&'static str>,
    user_agent: bool,
    body: Vec<u8>,
    status: u16,
    /// The JSON error key that must be present, e.g. "url".
    field: &'static str,
}

fn case(what: &'static str, body: Value, field: &'static str) -> Case {
    Case {
        what,
        content_type: Some("text/plain"),
        user_agent: true,
        body: body.to_string().into_bytes(),
        status: 400,
        field,
    }
}

/// Optional-field problems are not here: those events are stored without
/// the field (see `events_api_conformance.rs`).
fn cases() -> Vec<Case> {
    let url = "https://example.com/";
    let eleven_domains: Vec<String> = (0..11).map(|i| format!("s{i}.example")).collect();
    let eleven_domains = eleven_domains.join(",");
    vec![
        case("missing name", json!({"u": url, "d": SITE}), "name"),
        case(
            "long name",
            json!({"n": "x".repeat(121), "u": url, "d": SITE}),
            "name",
        ),
        case(
            "blank name",
            json!({"n": "  ", "u": url, "d": SITE}),
            "name",
        ),
        case(
            "name an object",
            json!({"n": {"x": 1}, "u": url, "d": SITE}),
            "name",
        ),
        case(
            "name a fraction",
            json!({"n": 1.5, "u": url, "d": SITE}),
            "name",
        ),
        case("missing url", json!({"n": "pageview", "d": SITE}), "url"),
        case(
            "url not a string",
            json!({"n": "pageview", "u": 7, "d": SITE}),
            "url",
        ),
        case(
            "data url",
            json!({"n": "pageview", "u": "data:text/html,hi", "d": SITE}),
            "url",
        ),
        case(
            "long url",
            json!({"n": "pageview", "u": format!("{url}{}", "a".repeat(2000)), "d": SITE}),
            "url",
        ),
        case(
            "url with an unreadable host",
            json!({"n": "pageview", "u": "https://exa mple.com/", "d": SITE}),
            "url",
        ),
        case(
            "no domain and a url without a host",
            json!({"n": "pageview", "u": "/just/a/path"}),
            "domain",
        ),
        case(
            "domain not a string",
            json!({"n": "pageview", "u": url, "d": 7}),
            "domain",
        ),
        case(
            "blank domain",
            json!({"n": "pageview", "u": url, "d": " , "}),
            "domain",
        ),
        case(
            "eleven domains",
            json!({"n": "pageview", "u": url, "d": eleven_domains}),
            "domain",
        ),
        case("not an object", json!([1, 2, 3]), "request"),
        Case {
            body: b"{\"n\": \"pageview\", ".to_vec(),
            ..case("broken json", json!(null), "request")
        },
        Case {
            body: vec![b'{', 0xff, 0xfe, b'}'],
            ..case("invalid utf-8", json!(null), "request")
        },
        Case {
            body: "[".repeat(60_000).into_bytes(),
            ..case("deep nesting", json!(null), "request")
        },
        Case {
            user_agent: false,
            ..case(
                "no user agent",
                json!({"n": "pageview", "u": url, "d": SITE}),
                "user_agent",
            )
        },
        Case {
            status: 415,
            content_type: Some("application/x-www-form-urlencoded"),
            ..case(
                "form body",
                json!({"n": "pageview", "u": url, "d": SITE}),
                "request",
            )
        },
        Case {
            status: 413,
            body: format!("{{\"n\":\"{}\"}}", "x".repeat(70_000)).into_bytes(),
            ..case("oversized body", json!(null), "request")
        },
    ]
}

async fn post(collector: &TestCollector, c: &Case) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(collector.url("/api/event"))
        .body(c.body.clone());
    if let Some(ct) = c.content_type {
        request = request.header("content-type", ct);
    }
    if c.user_agent {
        request = request.header("user-agent", BROWSER_UA);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_bad_input_gets_its_status_and_a_useful_message() {
    let collector = TestCollector::start(test_config()).await;
    for c in cases() {
        let (status, body) = post(&collector, &c).await;
        assert_eq!(status, c.status, "{}: {body}", c.what);
        let messages = &body["errors"][c.field];
        assert!(
            messages.as_array().is_some_and(
                |m| !m.is_empty() && m.iter().all(|s| s.as_str().is_some_and(|s| s.len() > 5))
            ),
            "{}: expected a message under errors.{} in {body}",
            c.what,
            c.field
        );
    }
    // Still serving, and nothing bad was stored.
    assert_eq!(
        send(&collector, &pageview(SITE, "https://example.com/ok"), &[])
            .await
            .status(),
        202
    );
    expect_event_count(&collector.db, 1).await;
    collector.stop().await;
}

#[tokio::test]
async fn oversized_chunked_body_is_refused_while_streaming() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let collector = TestCollector::start(test_config()).await;
    let mut socket = tokio::net::TcpStream::connect(collector.addr)
        .await
        .unwrap();
    let head = format!(
        "POST /api/event HTTP/1.1\r\nHost: x\r\nUser-Agent: {BROWSER_UA}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
    for _ in 0..100 {
        // The server may answer and close before all chunks are written.
        if socket.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut response = vec![0u8; 512];
    let n = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read(&mut response),
    )
    .await
    .expect("an answer, not a hang")
    .unwrap();
    let text = String::from_utf8_lossy(&response[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    collector.stop().await;
}

#[tokio::test]
async fn wrong_method_and_unknown_path() {
    let collector = TestCollector::start(test_config()).await;
    let get = reqwest::get(collector.url("/api/event")).await.unwrap();
    assert_eq!(get.status(), 405);
    let body: Value = get.json().await.unwrap();
    assert_eq!(body["error"], "method not allowed");
    let missing = reqwest::get(collector.url("/nope")).await.unwrap();
    assert_eq!(missing.status(), 404);
    collector.stop().await;
}
