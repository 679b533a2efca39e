//! How many reports run at once: per editor and in all, bounded by
//! `[query] max_concurrent_reports_per_editor` and `max_concurrent_reports`,
//! with 429 and `Retry-After` past either bound (never a queue). Reports
//! run read-only and under a row-read limit.
//!
//! Reports are held in flight without relying on timing: the query service
//! talks to ClickHouse through a proxy in this test that holds every
//! statement containing a marker until the test releases it, and counts
//! them, so the test knows exactly how many reports are running.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{
    editor, insert, pageview, serve, with_editors, TestQuery, ADMIN_TOKEN, VIEWER_TOKEN,
};
use integration_tests::{test_config, wait_until, TestDb, OTHER_SITE, SITE};
use schema::config::Role;
use schema::EventRow;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const NOW: i64 = 1_710_000_000;
const OTHER_ADMIN_TOKEN: &str = "test-other-admin-token";
/// A page no event has; a report filtering on it is held by the proxy.
const MARKER: &str = "/held-by-the-proxy";

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    held: AtomicUsize,
    release: watch::Receiver<bool>,
}

/// Forwards one ClickHouse HTTP request, after the release if it carries
/// the marker.
async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    if body.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
        proxy.held.fetch_add(1, Ordering::SeqCst);
        let mut release = proxy.release.clone();
        release.wait_for(|go| *go).await.unwrap();
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = proxy
        .http
        .request(parts.method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

/// Starts the proxy in front of `upstream`; the sender releases held
/// statements.
async fn start_proxy(upstream: String) -> (String, Arc<Proxy>, watch::Sender<bool>) {
    let (go, release) = watch::channel(false);
    let proxy = Arc::new(Proxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
        held: AtomicUsize::new(0),
        release,
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, proxy, go)
}

fn report(site: &str, held: bool) -> Value {
    let mut body = json!({"site_id": site, "metrics": ["visitors"], "date_range": "day"});
    if held {
        body["filters"] = json!([["is", "event:page", [MARKER]]]);
    }
    body
}

/// Status, `Retry-After` and error message of a report.
async fn post(service: &TestQuery, token: &str, body: &Value) -> (u16, Option<String>, Value) {
    let response = service
        .http()
        .post(service.url("/api/v2/query"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, response.json().await.unwrap())
}

/// A cheap report of `token` is refused with 429, `Retry-After: 1` and a
/// message holding `words`.
async fn assert_crowded(service: &TestQuery, token: &str, site: &str, words: [&str; 2]) {
    let (status, retry, answer) = post(service, token, &report(site, false)).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(retry.as_deref(), Some("1"));
    let message = answer["error"].as_str().unwrap();
    assert!(words.iter().all(|w| message.contains(w)), "{message}");
}

#[tokio::test]
async fn reports_past_the_per_editor_or_total_bound_get_429_while_others_run() {
    let mut config = test_config();
    with_editors(&mut config);
    config.editor.push(editor(
        "other-admin",
        OTHER_ADMIN_TOKEN,
        Role::Admin,
        &["*"],
    ));
    config.query.max_concurrent_reports = 3;
    config.query.max_concurrent_reports_per_editor = 2;
    let db = TestDb::connect(&config).await;
    let (proxy_url, proxy, release) = start_proxy(config.clickhouse.url.clone()).await;
    let mut proxied = config.clone();
    proxied.clickhouse.url = proxy_url;
    let service = Arc::new(TestQuery::start(proxied, Utc.timestamp_opt(NOW, 0).unwrap()).await);
    let rows = [
        pageview(SITE, NOW - 100, 1, "/"),
        pageview(OTHER_SITE, NOW - 100, 1, "/"),
    ];
    insert(&db, &rows).await;

    let spawn_held = |token: &'static str| {
        let service = service.clone();
        tokio::spawn(async move { post(&service, token, &report(SITE, true)).await })
    };
    let held_reaches = |n: usize| {
        let proxy = proxy.clone();
        async move {
            let reached = wait_until(Duration::from_secs(20), || {
                let held = proxy.held.load(Ordering::SeqCst);
                async move { held >= n }
            })
            .await;
            assert!(reached, "{n} reports never reached ClickHouse");
            assert_eq!(proxy.held.load(Ordering::SeqCst), n);
        }
    };

    // The admin fills both of its places.
    let mut in_flight = vec![spawn_held(ADMIN_TOKEN), spawn_held(ADMIN_TOKEN)];
    held_reaches(2).await;
    assert_crowded(&service, ADMIN_TOKEN, SITE, ["editor", "2"]).await;
    // Another editor's cheap report still runs.
    let (status, _, answer) = post(&service, VIEWER_TOKEN, &report(OTHER_SITE, false)).await;
    assert_eq!(
        (status, &answer["results"][0]["metrics"][0]),
        (200, &json!(1))
    );

    // A third editor takes the last place of the service.
    in_flight.push(spawn_held(OTHER_ADMIN_TOKEN));
    held_reaches(3).await;
    assert_crowded(&service, VIEWER_TOKEN, OTHER_SITE, ["service", "3"]).await;

    // Released, the held reports finish and the places are free again.
    release.send(true).unwrap();
    for report in in_flight {
        let (status, _, answer) = report.await.unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["results"][0]["metrics"][0], 0);
    }
    let (status, _, _) = post(&service, ADMIN_TOKEN, &report(SITE, false)).await;
    assert_eq!(status, 200);
    Arc::into_inner(service).unwrap().stop().await;
}

#[tokio::test]
async fn reports_past_the_row_read_limit_get_422() {
    let now = Utc.timestamp_opt(NOW, 0).unwrap();
    let (service, db, _) = serve(|c| c.query.max_query_rows_to_read = 10, now).await;
    let rows: Vec<EventRow> = (0..100)
        .map(|i| pageview(SITE, NOW - 100 - i, i as u64, &format!("/{i}")))
        .collect();
    insert(&db, &rows).await;
    let (status, _, answer) = post(&service, ADMIN_TOKEN, &report(SITE, false)).await;
    assert_eq!(status, 422, "{answer}");
    let message = answer["error"].as_str().unwrap();
    assert!(message.contains("rows"), "{message}");
    service.stop().await;
}

#[tokio::test]
async fn report_sql_runs_read_only() {
    let config = test_config();
    let db = TestDb::connect(&config).await;
    schema::migrate::migrate(&db).await.unwrap();
    let limits = query::sql::clickhouse::Limits {
        seconds: 10,
        memory_bytes: 1 << 30,
        rows_to_read: 1_000_000,
    };
    let write = "CREATE TABLE written_by_a_report (x UInt8) ENGINE = Memory";
    let outcome = query::sql::clickhouse::fetch_json(&db, write, limits).await;
    assert!(outcome.is_err(), "{outcome:?}");
    let tables = db
        .fetch_tsv("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'written_by_a_report'")
        .await
        .unwrap();
    assert_eq!(tables.trim(), "0");
}
