//! The collector's rules for `engagement` beacons (issue #21): stored only
//! for a page its visitor viewed within the visit window, never the same
//! one twice for a page view, `sd` clamped to 0..=100 (255 when absent, as
//! Plausible stores it), and `sd`/`e` ignored on every other event.

use integration_tests::*;
use schema::EventRow;
use serde_json::{json, Value};

const VISITOR: &str = "198.51.100.7";
const OTHER_VISITOR: &str = "203.0.113.99";

fn engagement(path: &str, sd: Value, e: Value) -> Value {
    json!({"n": "engagement", "u": format!("https://example.com{path}"), "d": SITE, "sd": sd, "e": e})
}

/// Sends `body` from `visitor`; the drop reason, if any (always a 202).
async fn from(collector: &TestCollector, visitor: &str, body: &Value) -> Option<String> {
    let response = send(collector, body, &[("x-forwarded-for", visitor)]).await;
    assert_eq!(response.status(), 202, "{body}");
    response
        .headers()
        .get("x-analytics-dropped")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn view(collector: &TestCollector, visitor: &str, path: &str) {
    let body = pageview(SITE, &format!("https://example.com{path}"));
    assert_eq!(from(collector, visitor, &body).await, None);
}

async fn engagement_rows(db: &schema::Db) -> Vec<EventRow> {
    db.client()
        .query("SELECT ?fields FROM events WHERE name = 'engagement' ORDER BY engagement_ms")
        .fetch_all()
        .await
        .unwrap()
}

fn depth_and_time(rows: &[EventRow]) -> Vec<(u8, u32)> {
    rows.iter()
        .map(|r| (r.scroll_depth, r.engagement_ms))
        .collect()
}

const NO_PAGEVIEW: Option<&str> = Some("engagement-no-pageview");
const DUPLICATE: Option<&str> = Some("engagement-duplicate");

#[tokio::test]
async fn engagement_needs_a_page_view_by_the_same_visitor_and_is_stored_once() {
    let collector = TestCollector::start(test_config()).await;
    let first = engagement("/read", json!(60), json!(3000));
    let dropped = |reason: Option<&str>| reason.map(str::to_owned);

    // Nothing viewed yet.
    assert_eq!(
        from(&collector, VISITOR, &first).await,
        dropped(NO_PAGEVIEW)
    );
    view(&collector, VISITOR, "/read").await;
    // Another visitor, another page: still nothing viewed.
    assert_eq!(
        from(&collector, OTHER_VISITOR, &first).await,
        dropped(NO_PAGEVIEW)
    );
    let elsewhere = engagement("/other", json!(60), json!(3000));
    assert_eq!(
        from(&collector, VISITOR, &elsewhere).await,
        dropped(NO_PAGEVIEW)
    );
    // The page view's engagement, then the same beacon again.
    assert_eq!(from(&collector, VISITOR, &first).await, None);
    assert_eq!(from(&collector, VISITOR, &first).await, dropped(DUPLICATE));
    // A later one of the same page view (shown again, read on) is stored.
    let later = engagement("/read", json!(85), json!(4000));
    assert_eq!(from(&collector, VISITOR, &later).await, None);
    // A new page view of the page: the first beacon's values count again.
    view(&collector, VISITOR, "/read").await;
    assert_eq!(from(&collector, VISITOR, &first).await, None);

    // Two page views and three engagements.
    expect_event_count(&collector.db, 5).await;
    let rows = engagement_rows(&collector.db).await;
    assert_eq!(depth_and_time(&rows), [(60, 3000), (60, 3000), (85, 4000)]);
    let metrics = collector.metrics().await;
    assert_dropped(
        &metrics,
        &[("engagement-no-pageview", 3), ("engagement-duplicate", 1)],
    );
    assert_metric(&metrics, "analytics_events_accepted_total", 5.0);
    collector.stop().await;
}

#[tokio::test]
async fn the_visit_window_ends_thirty_minutes_after_the_page_was_last_active() {
    let collector = TestCollector::start(test_config()).await;
    view(&collector, VISITOR, "/long-read").await;
    // 29 minutes later: still the visit; engaging keeps it going.
    collector.clock.advance(29 * 60);
    let read_on = engagement("/long-read", json!(40), json!(29 * 60 * 1000));
    assert_eq!(from(&collector, VISITOR, &read_on).await, None);
    collector.clock.advance(29 * 60);
    let more = engagement("/long-read", json!(70), json!(20_000));
    assert_eq!(from(&collector, VISITOR, &more).await, None);
    // Then 30 minutes and a second of nothing: the visit is over.
    collector.clock.advance(30 * 60 + 1);
    let late = engagement("/long-read", json!(90), json!(5_000));
    assert_eq!(
        from(&collector, VISITOR, &late).await.as_deref(),
        NO_PAGEVIEW
    );
    expect_event_count(&collector.db, 3).await;
    collector.stop().await;
}

#[tokio::test]
async fn scroll_depth_is_clamped_and_absent_depth_is_stored_as_255() {
    let collector = TestCollector::start(test_config()).await;
    for path in ["/over", "/under", "/text", "/absent", "/time-only"] {
        view(&collector, VISITOR, path).await;
    }
    let cases = [
        engagement("/over", json!(250), json!(1)),
        engagement("/under", json!(-20), json!(2)),
        engagement("/text", json!("55"), json!(3)),
        json!({"n": "engagement", "u": "https://example.com/absent", "d": SITE, "e": 4}),
        engagement("/time-only", json!("deep"), json!(5)),
    ];
    for body in &cases {
        assert_eq!(from(&collector, VISITOR, body).await, None, "{body}");
    }
    expect_event_count(&collector.db, 10).await;
    let rows = engagement_rows(&collector.db).await;
    let stored: Vec<(&str, u8)> = rows
        .iter()
        .map(|r| (r.pathname.as_str(), r.scroll_depth))
        .collect();
    assert_eq!(
        stored,
        [
            ("/over", 100),
            ("/under", 0),
            ("/text", 55),
            ("/absent", 255),
            ("/time-only", 255)
        ]
    );
    assert_eq!(schema::NO_SCROLL_DEPTH, 255);
    // The unusable "deep" is counted as an ignored `sd`.
    let metrics = collector.metrics().await;
    assert_metric(
        &metrics,
        "analytics_fields_ignored_total{field=\"sd\"}",
        1.0,
    );
    collector.stop().await;
}

#[tokio::test]
async fn an_engagement_with_neither_depth_nor_time_is_refused() {
    let collector = TestCollector::start(test_config()).await;
    view(&collector, VISITOR, "/read").await;
    let empty = json!({"n": "engagement", "u": "https://example.com/read", "d": SITE});
    let response = send(&collector, &empty, &[("x-forwarded-for", VISITOR)]).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"errors": {"name": [
            "engagement event requires a valid integer value for at least one of 'sd' or 'e' fields"
        ]}})
    );
    collector.stop().await;
}

#[tokio::test]
async fn depth_and_time_on_other_events_are_ignored() {
    let collector = TestCollector::start(test_config()).await;
    let pageview =
        json!({"n": "pageview", "u": "https://example.com/a", "d": SITE, "sd": 70, "e": 9000});
    let signup =
        json!({"n": "Signup", "u": "https://example.com/a", "d": SITE, "sd": 20, "e": 100});
    for body in [&pageview, &signup] {
        assert_eq!(from(&collector, VISITOR, body).await, None);
    }
    expect_event_count(&collector.db, 2).await;
    let stored = collector
        .db
        .fetch_tsv("SELECT name, scroll_depth, engagement_ms FROM events ORDER BY name")
        .await
        .unwrap();
    assert_eq!(stored, "Signup\t0\t0\npageview\t0\t0\n");
    let metrics = collector.metrics().await;
    assert_metric(
        &metrics,
        "analytics_fields_ignored_total{field=\"sd\"}",
        2.0,
    );
    assert_metric(&metrics, "analytics_fields_ignored_total{field=\"e\"}", 2.0);
    collector.stop().await;
}

#[tokio::test]
async fn a_page_viewed_before_midnight_is_engaged_with_after_it() {
    let day = SystemClock.today();
    let midnight = u64::from(day) * 86_400;
    // Start the evening before, so that the previous day's salt exists.
    let collector = TestCollector::start_at(test_config(), midnight - 300).await;
    view(&collector, VISITOR, "/late").await;
    collector.clock.set(midnight + 600);
    let read = engagement("/late", json!(75), json!(600_000));
    assert_eq!(from(&collector, VISITOR, &read).await, None);
    expect_event_count(&collector.db, 2).await;
    let ids = collector
        .db
        .fetch_tsv("SELECT name, visitor_id, prev_visitor_id FROM events ORDER BY timestamp")
        .await
        .unwrap();
    let rows: Vec<Vec<&str>> = ids.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows[0][0], "pageview");
    assert_eq!(rows[1][0], "engagement");
    // Today's id differs; yesterday's is the page view's.
    assert_ne!(rows[1][1], rows[0][1]);
    assert_eq!(rows[1][2], rows[0][1]);
    collector.stop().await;
}

#[tokio::test]
async fn after_a_restart_earlier_page_views_are_not_known() {
    let config = test_config();
    let collector = TestCollector::start(config.clone()).await;
    view(&collector, VISITOR, "/before").await;
    let db = collector.stop().await;
    let collector = TestCollector::start(config).await;
    let read = engagement("/before", json!(50), json!(2000));
    assert_eq!(
        from(&collector, VISITOR, &read).await.as_deref(),
        NO_PAGEVIEW
    );
    // A page viewed since the restart is engaged with as usual.
    view(&collector, VISITOR, "/after").await;
    let read = engagement("/after", json!(50), json!(2000));
    assert_eq!(from(&collector, VISITOR, &read).await, None);
    expect_event_count(&collector.db, 3).await;
    collector.stop().await;
    drop(db);
}
