//! An accepted beacon becomes exactly the expected row, for every site it
//! names, and a graceful stop writes what is still queued.

use integration_tests::*;
use schema::EventRow;
use serde_json::json;

async fn stored_rows(db: &schema::Db) -> Vec<EventRow> {
    db.client()
        .query("SELECT ?fields FROM events ORDER BY site, name")
        .fetch_all()
        .await
        .unwrap()
}

#[tokio::test]
async fn accepted_beacon_lands_with_the_expected_columns() {
    let collector = TestCollector::start_at(test_config(), 1_764_000_000).await;
    let body = json!({
        "n": "pageview",
        "u": "https://www.example.com/blog/hello%20world?utm_source=newsletter&utm_medium=email&utm_campaign=launch&utm_content=top&utm_term=privacy&secret=s3cr3t#frag",
        "d": "example.com",
        "r": "https://www.news.ycombinator.com/item?id=1",
        "w": 1440,
        "p": { "author": "ann", "n": 3 }
    });
    let response = send(&collector, &body, &[]).await;
    assert_eq!(response.status(), 202);
    assert!(response.headers().get("x-analytics-dropped").is_none());
    assert_eq!(response.text().await.unwrap(), "ok");

    expect_event_count(&collector.db, 1).await;
    let row = stored_rows(&collector.db).await.remove(0);
    let expected = EventRow {
        timestamp: 1_764_000_000,
        site: "example.com".into(),
        name: "pageview".into(),
        hostname: "example.com".into(),
        pathname: "/blog/hello world".into(),
        visitor_id: row.visitor_id,
        referrer: "news.ycombinator.com/item".into(),
        utm_source: "newsletter".into(),
        utm_medium: "email".into(),
        utm_campaign: "launch".into(),
        utm_content: "top".into(),
        utm_term: "privacy".into(),
        props_keys: vec!["author".into(), "n".into()],
        props_values: vec!["ann".into(), "3".into()],
        interactive: 1,
        screen_width: 1440,
        // BROWSER_UA is Chrome 130 on Linux; the tag beats the referrer.
        browser: "Chrome".into(),
        browser_version: "130.0".into(),
        os: "Linux".into(),
        device: "Desktop".into(),
        screen_size: "Desktop".into(),
        source: "newsletter".into(),
        medium: "email".into(),
        ..EventRow::default()
    };
    assert_eq!(row, expected);
    assert_ne!(row.visitor_id, 0);
    assert!(tables_containing(&collector.db, b"s3cr3t").await.is_empty());
    collector.stop().await;
}

#[tokio::test]
async fn comma_list_records_once_per_configured_site() {
    let collector = TestCollector::start(test_config()).await;
    let body = pageview("example.com, other.org,unknown.net", "https://example.com/");
    assert_eq!(send(&collector, &body, &[]).await.status(), 202);
    expect_event_count(&collector.db, 2).await;
    let sites: Vec<String> = stored_rows(&collector.db)
        .await
        .into_iter()
        .map(|r| r.site.into())
        .collect();
    assert_eq!(sites, vec!["example.com", "other.org"]);
    collector.stop().await;
}

#[tokio::test]
async fn custom_and_engagement_events_keep_their_fields() {
    let collector = TestCollector::start(test_config()).await;
    let signup = json!({"name": "Signup", "url": "https://example.com/join", "domain": "example.com",
        "props": {"plan": "pro"}, "revenue": {"amount": "19.90", "currency": "eur"}, "interactive": false});
    let engagement = json!({"n": "engagement", "u": "https://example.com/join", "d": "example.com", "sd": 57, "e": 12345});
    // An engagement is stored only for a page its visitor viewed.
    let view = pageview("example.com", "https://example.com/join");
    for body in [&signup, &view, &engagement] {
        assert_eq!(send(&collector, body, &[]).await.status(), 202);
    }
    expect_event_count(&collector.db, 3).await;
    let rows = stored_rows(&collector.db).await;
    let (signup_row, engagement_row) = (&rows[0], &rows[1]);
    assert_eq!(signup_row.name, "Signup");
    assert_eq!(signup_row.props_keys, vec!["plan"]);
    assert_eq!(signup_row.props_values, vec!["pro"]);
    assert_eq!(signup_row.revenue_amount, "19.9");
    assert_eq!(signup_row.revenue_currency, "EUR");
    assert_eq!(signup_row.interactive, 0);
    assert_eq!(engagement_row.name, "engagement");
    assert_eq!(engagement_row.scroll_depth, 57);
    assert_eq!(engagement_row.engagement_ms, 12345);
    collector.stop().await;
}

#[tokio::test]
async fn json_content_type_and_long_keys_are_accepted() {
    let collector = TestCollector::start(test_config()).await;
    let response = reqwest::Client::new()
        .post(collector.url("/api/event"))
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", BROWSER_UA)
        .body(
            json!({"name": "pageview", "url": "https://example.com/a", "domain": "example.com"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    expect_event_count(&collector.db, 1).await;
    collector.stop().await;
}

#[tokio::test]
async fn graceful_stop_flushes_rows_still_waiting_for_their_batch() {
    let mut config = test_config();
    // Far longer than the test: only the stop can flush these rows.
    config.collector.batch_max_age_ms = 600_000;
    let collector = TestCollector::start(config).await;
    for i in 0..25 {
        let body = pageview(SITE, &format!("https://example.com/p{i}"));
        assert_eq!(send(&collector, &body, &[]).await.status(), 202);
    }
    assert_eq!(scalar(&collector.db, "SELECT count() FROM events").await, 0);
    let db = collector.stop().await;
    assert_eq!(scalar(&db, "SELECT count() FROM events").await, 25);
}

#[tokio::test]
async fn metrics_count_accepted_and_dropped_events() {
    let collector = TestCollector::start(test_config()).await;
    for _ in 0..3 {
        send(&collector, &pageview(SITE, "https://example.com/"), &[]).await;
    }
    send(
        &collector,
        &pageview(SITE, "https://example.com/"),
        &[("dnt", "1")],
    )
    .await;
    send(&collector, &pageview("nope.net", "https://nope.net/"), &[]).await;
    expect_event_count(&collector.db, 3).await;
    let text = collector.metrics().await;
    assert_metric(&text, "analytics_events_accepted_total", 3.0);
    assert_dropped(&text, &[("dnt", 1), ("unknown-site", 1)]);
    assert_metric(&text, "analytics_rows_written_total", 3.0);
    // Present, with values of their own: at least one insert was timed.
    let inserts = metric(&text, "analytics_insert_duration_seconds_count");
    assert!(inserts.is_some_and(|n| n >= 1.0), "{text}");
    assert!(
        metric(&text, "analytics_queue_depth_rows").is_some(),
        "{text}"
    );
    collector.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let collector = TestCollector::start(test_config()).await;
    let health = reqwest::get(collector.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(collector.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    collector.stop().await;
}

#[tokio::test]
async fn beacons_answer_cross_origin_pages_and_their_preflights() {
    let collector = TestCollector::start(test_config()).await;
    let client = reqwest::Client::new();
    let preflight = client
        .request(reqwest::Method::OPTIONS, collector.url("/api/event"))
        .header("origin", "https://blog.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(h["access-control-allow-headers"], "content-type");
    assert_eq!(h["access-control-max-age"], "86400");

    let body = pageview(SITE, "https://example.com/cors");
    for headers in [
        vec![("origin", "https://blog.example.com")],
        vec![("dnt", "1")],
    ] {
        let response = send(&collector, &body, &headers).await;
        assert_eq!(response.status(), 202);
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(h["access-control-expose-headers"], "x-analytics-dropped");
        assert!(h["vary"].to_str().unwrap().contains("origin"));
    }
    // Errors too, so a page can read what was wrong.
    let bad = send(&collector, &serde_json::json!({"n": "pageview"}), &[]).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["access-control-allow-origin"], "*");
    // Other routes do not speak CORS.
    let import = client
        .request(reqwest::Method::OPTIONS, collector.url("/api/import"))
        .send()
        .await
        .unwrap();
    assert!(import
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    collector.stop().await;
}
