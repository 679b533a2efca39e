//! The realtime view's endpoint, `GET /api/dashboard/realtime`, on events
//! placed by hand around a pinned clock: visitors and pageviews per minute
//! of the last 30, the top pages and sources of the window, and the
//! current visitors, each expected value worked out below from the rows
//! themselves. Also: events outside the window or of another site do not
//! count, the window's visitors are the Stats API's for the same seconds,
//! and the endpoint refuses as the realtime API does.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{
    insert, pageview, serve, TestQuery, ADMIN_TOKEN, VIEWER_TOKEN,
};
use integration_tests::{OTHER_SITE, SITE};
use schema::EventRow;
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC

fn visit_page(ts: i64, visitor: u64, path: &str, source: &str) -> EventRow {
    EventRow {
        source: source.into(),
        ..pageview(SITE, ts, visitor, path)
    }
}

fn named(ts: i64, visitor: u64, name: &str) -> EventRow {
    EventRow {
        name: name.into(),
        ..pageview(SITE, ts, visitor, "/")
    }
}

/// Minute `ago` is the 60 seconds ending `ago` minutes before now.
fn rows() -> Vec<EventRow> {
    vec![
        // Visitor 1: from Google 28 minutes ago, back a minute ago; an
        // event stamped 30 s in the future waits until the clock gets there.
        visit_page(NOW - 1_700, 1, "/", "Google"),
        visit_page(NOW - 100, 1, "/pricing", ""),
        visit_page(NOW + 30, 1, "/future", ""),
        // Visitor 2: direct, three minutes ago, with a custom event (a
        // visitor of that minute, not a pageview).
        visit_page(NOW - 200, 2, "/", ""),
        named(NOW - 190, 2, "Signup"),
        // Visitor 3: from Hacker News this minute, two pageviews and an
        // engagement ping (which counts nowhere).
        visit_page(NOW - 50, 3, "/blog", "Hacker News"),
        visit_page(NOW - 30, 3, "/blog", ""),
        named(NOW - 20, 3, "engagement"),
        // Visitor 7: from Google six minutes ago (not current: over 5 min).
        visit_page(NOW - 400, 7, "/", "Google"),
        // Visitor 8: from Google this minute.
        visit_page(NOW - 45, 8, "/", "Google"),
        // Outside the window: exactly 30 minutes ago, and long before.
        visit_page(NOW - 1_800, 4, "/old", "Bing"),
        visit_page(NOW - 5_000, 6, "/older", "Bing"),
        // Another site.
        pageview(OTHER_SITE, NOW - 10, 9, "/other"),
    ]
}

async fn realtime(service: &TestQuery, site: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = service
        .http()
        .get(service.url(&format!("/api/dashboard/realtime?site_id={site}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn the_last_thirty_minutes_minute_by_minute_with_top_pages_and_sources() {
    let (service, db, _) = serve(|_| {}, Utc.timestamp_opt(NOW, 0).unwrap()).await;
    insert(&db, &rows()).await;
    let (status, answer) = realtime(&service, SITE, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{answer}");

    assert_eq!(answer["site_id"], SITE);
    assert_eq!(answer["now"], "2024-03-09T16:00:00Z");
    assert_eq!(answer["window_minutes"], 30);
    // Any event in the last five minutes, as /api/v1/stats/realtime counts
    // them: visitors 1 (100 s ago), 2, 3 and 8; not 7 (400 s ago).
    assert_eq!(answer["current_visitors"], 4);
    // Visitors 1, 2, 3, 7 and 8; pageviews 2 + 1 + 2 + 1 + 1.
    assert_eq!(answer["visitors"], 5);
    assert_eq!(answer["pageviews"], 7);

    // (minutes ago, visitors, pageviews) of the minutes with events.
    let expected: Vec<(u64, u64, u64)> =
        vec![(28, 1, 1), (6, 1, 1), (3, 1, 1), (1, 1, 1), (0, 2, 3)];
    let minutes = answer["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 30);
    for (i, m) in minutes.iter().enumerate() {
        let ago = 29 - i as u64;
        assert_eq!(m["minutes_ago"], ago, "oldest first");
        let (visitors, pageviews) = expected
            .iter()
            .find(|e| e.0 == ago)
            .map_or((0, 0), |e| (e.1, e.2));
        assert_eq!(
            (m["visitors"].as_u64(), m["pageviews"].as_u64()),
            (Some(visitors), Some(pageviews)),
            "{ago} minutes ago: {m}"
        );
    }

    // "/" by visitors 1, 2, 7 and 8; the blog by 3; pricing by 1. Ties by name.
    assert_eq!(
        answer["pages"],
        json!([
            {"page": "/", "visitors": 4},
            {"page": "/blog", "visitors": 1},
            {"page": "/pricing", "visitors": 1},
        ])
    );
    // Each visitor under the source of their first event here: Google for
    // 1, 7 and 8 (1's later pageview has no source), direct for 2, Hacker
    // News for 3.
    assert_eq!(
        answer["sources"],
        json!([
            {"source": "Google", "visitors": 3},
            {"source": "Direct / None", "visitors": 1},
            {"source": "Hacker News", "visitors": 1},
        ])
    );

    // The window's visitors are the Stats API's over the same seconds.
    let api = service
        .ok(&json!({
            "site_id": SITE,
            "metrics": ["visitors", "pageviews"],
            "date_range": ["2024-03-09T15:30:01Z", "2024-03-09T16:00:00Z"],
        }))
        .await;
    assert_eq!(api["results"][0]["metrics"], json!([5, 7]));

    // The other site has its own window.
    let (status, other) = realtime(&service, OTHER_SITE, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(other["pages"], json!([{"page": "/other", "visitors": 1}]));
    assert_eq!(other["current_visitors"], 1);
    service.stop().await;
}

#[tokio::test]
async fn an_empty_window_is_thirty_empty_minutes() {
    let (service, _db, _) = serve(|_| {}, Utc.timestamp_opt(NOW, 0).unwrap()).await;
    let (status, answer) = realtime(&service, SITE, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["visitors"], 0);
    assert_eq!(answer["current_visitors"], 0);
    assert_eq!(answer["pages"], json!([]));
    assert_eq!(answer["sources"], json!([]));
    let minutes = answer["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 30);
    assert!(minutes
        .iter()
        .all(|m| m["visitors"] == 0 && m["pageviews"] == 0));
    service.stop().await;
}

#[tokio::test]
async fn it_is_refused_as_the_realtime_api_is() {
    let (service, _db, _) = serve(|_| {}, Utc.timestamp_opt(NOW, 0).unwrap()).await;
    // No caller.
    assert_eq!(realtime(&service, SITE, None).await.0, 401);
    // A viewer of the other site only.
    let (status, body) = realtime(&service, SITE, Some(VIEWER_TOKEN)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        realtime(&service, OTHER_SITE, Some(VIEWER_TOKEN)).await.0,
        200
    );
    // No site named.
    let response = service
        .http()
        .get(service.url("/api/dashboard/realtime"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // The session cookie works too, as it does for the page.
    let cookie = service.session(ADMIN_TOKEN).await;
    let response = service
        .http()
        .get(service.url(&format!("/api/dashboard/realtime?site_id={SITE}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    service.stop().await;
}
