//! The Stats API's edges: authentication and site access, refusals with
//! precise messages, an injection corpus, ClickHouse limits, CORS and the
//! realtime endpoint.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{
    insert, pageview, with_editors, TestQuery, ADMIN_TOKEN, VIEWER_TOKEN,
};
use integration_tests::{scalar, test_config, TestDb, OTHER_SITE, SITE};
use schema::EventRow;
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC

/// The rows every test starts with.
fn rows() -> Vec<EventRow> {
    vec![
        pageview(SITE, NOW - 100, 1, "/"),
        pageview(SITE, NOW - 90, 2, "/'; DROP TABLE events; --"),
        pageview(SITE, NOW - 400, 3, "/old"),
        pageview(OTHER_SITE, NOW - 50, 4, "/"),
    ]
}

async fn start(edit: impl FnOnce(&mut schema::Config)) -> (TestQuery, TestDb) {
    let mut config = test_config();
    with_editors(&mut config);
    edit(&mut config);
    let service = TestQuery::start(config.clone(), Utc.timestamp_opt(NOW, 0).unwrap()).await;
    let db = TestDb::connect(&config).await;
    insert(&db, &rows()).await;
    (service, db)
}

fn query(site: &str) -> Value {
    json!({"site_id": site, "metrics": ["visitors"], "date_range": "day"})
}

#[tokio::test]
async fn tokens_and_sites_decide_access() {
    let (service, _db) = start(|_| {}).await;
    assert_eq!(service.post(None, &query(SITE)).await.0, 401);
    let (status, body) = service.post(Some("not-a-token"), &query(SITE)).await;
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("Bearer"));
    let (status, body) = service.post(Some(VIEWER_TOKEN), &query(SITE)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        service.post(Some(VIEWER_TOKEN), &query(OTHER_SITE)).await.0,
        200
    );
    // A viewer cannot tell unknown sites from forbidden ones; an admin is told.
    assert_eq!(
        service
            .post(Some(VIEWER_TOKEN), &query("nope.example"))
            .await
            .0,
        403
    );
    let (status, body) = service
        .post(Some(ADMIN_TOKEN), &query("nope.example"))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("site_id"));
    let ok = service.ok(&query(SITE)).await;
    assert_eq!(ok["results"][0]["metrics"][0], 3);
    service.stop().await;
}

#[tokio::test]
async fn bad_queries_get_400_naming_the_part() {
    let (service, _db) = start(|_| {}).await;
    let raw = service
        .http()
        .post(service.url("/api/v2/query"))
        .bearer_auth(ADMIN_TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert!(raw.text().await.unwrap().contains("not valid JSON"));
    let cases = [
        (
            json!({"site_id": SITE, "metrics": ["visitorz"], "date_range": "day"}),
            "metrics[0]",
        ),
        (
            json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "fortnight"}),
            "date_range",
        ),
        (
            json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day",
                "filters": [["is", "visit:nope", ["x"]]]}),
            "filters[0][1]",
        ),
        (
            json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day",
                "filters": [["matches", "event:page", ["a{2,1}"]]]}),
            "filters[0][2][0]",
        ),
        (
            json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day",
                "filters": [["matches", "event:page", ["x".repeat(600)]]]}),
            "longer than",
        ),
    ];
    for (body, part) in cases {
        let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
        assert_eq!(status, 400, "{body}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(part), "`{message}` should name `{part}`");
    }
    service.stop().await;
}

/// Values that would end a string literal, comment out the rest or stack a
/// statement if they reached SQL unescaped.
const INJECTIONS: [&str; 10] = [
    "'",
    "\\'",
    "' OR '1'='1",
    "'; DROP TABLE events; --",
    "x') UNION ALL SELECT name FROM system.tables --",
    "\\",
    "%' OR 1=1 /*",
    "\0",
    "`events`",
    "'||(SELECT 1)||'",
];

#[tokio::test]
async fn injection_attempts_stay_values() {
    let (service, db) = start(|_| {}).await;
    let before = scalar(&db, "SELECT count() FROM events").await;
    // Today's pageviews of SITE (a UTC site), from the rows as written.
    let todays_pageviews = rows()
        .iter()
        .filter(|r| r.site == SITE && i64::from(r.timestamp) / 86_400 == NOW / 86_400)
        .count();
    assert!(todays_pageviews > 0);
    for attack in INJECTIONS {
        // As filter values and property names, an attack is just a value no
        // event has: the query runs and counts exactly nothing. (No stored
        // page equals an attack: the stored one starts with '/'.)
        let zero_counts = [
            (
                json!({"site_id": SITE, "metrics": ["visitors", "visits"], "date_range": "day",
                       "filters": [["is", "event:page", [attack]]]}),
                json!([{"dimensions": [], "metrics": [0, 0]}]),
            ),
            (
                json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day",
                       "filters": [["contains", "visit:source", [attack]],
                                   ["is_not", format!("event:props:{attack}"), [attack]]]}),
                json!([{"dimensions": [], "metrics": [0]}]),
            ),
            // As a property to break down by, no event has it: every
            // pageview of the day is under "(none)", and nothing else.
            (
                json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day",
                       "dimensions": [format!("event:props:{attack}")]}),
                json!([{"dimensions": ["(none)"], "metrics": [todays_pageviews]}]),
            ),
        ];
        for (body, expected) in zero_counts {
            let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
            assert_eq!(status, 200, "{body} -> {answer}");
            assert_eq!(answer["results"], expected, "{body} -> {answer}");
        }
        // As a site, an attack names no configured site: an admin is told
        // so (400 naming `site_id`), as for any unknown site.
        let body = json!({"site_id": attack, "metrics": ["visitors"], "date_range": "day"});
        let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains("site_id"), "{body} -> {answer}");
        // As a dimension name, it is no dimension: 400 naming the place.
        let body = json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day",
                          "dimensions": [attack]});
        let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains("dimensions[0]"), "{body} -> {answer}");
    }
    // The stored injection-looking page is found by exact match, once.
    let exact = service
        .ok(
            &json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day",
                    "filters": [["is", "event:page", ["/'; DROP TABLE events; --"]]]}),
        )
        .await;
    assert_eq!(exact["results"][0]["metrics"][0], 1);
    assert_eq!(scalar(&db, "SELECT count() FROM events").await, before);
    service.stop().await;
}

#[tokio::test]
async fn a_query_over_its_memory_limit_gets_a_clear_error() {
    // 1 MiB is below what any visit query needs; the config check would
    // refuse it, so it is set on the struct directly.
    let (service, _db) = start(|c| c.query.max_query_memory_mib = 1).await;
    let body = json!({"site_id": SITE, "metrics": ["visits", "bounce_rate"], "date_range": "day",
                      "dimensions": ["visit:entry_page"]});
    let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("memory limit"),
        "{answer}"
    );
    service.stop().await;
}

#[tokio::test]
async fn cors_answers_only_listed_origins() {
    let (service, _db) =
        start(|c| c.query.cors_origins = vec!["https://dash.example".into()]).await;
    let preflight = |origin: &'static str| {
        service
            .http()
            .request(reqwest::Method::OPTIONS, service.url("/api/v2/query"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://dash.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://dash.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    service.stop().await;
}

#[tokio::test]
async fn realtime_counts_visitors_of_the_last_five_minutes() {
    let (service, _db) = start(|_| {}).await;
    let get = |token: Option<&'static str>, site: &str| {
        let mut request = service
            .http()
            .get(service.url(&format!("/api/v1/stats/realtime/visitors?site_id={site}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let answer = get(Some(ADMIN_TOKEN), SITE).await.unwrap();
    assert_eq!(answer.status(), 200);
    // Visitors 1 and 2 are within 300 s of now; visitor 3 is not.
    assert_eq!(answer.text().await.unwrap(), "2");
    assert_eq!(get(None, SITE).await.unwrap().status(), 401);
    assert_eq!(get(Some(VIEWER_TOKEN), SITE).await.unwrap().status(), 403);
    assert_eq!(
        get(Some(VIEWER_TOKEN), OTHER_SITE)
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "1"
    );
    service.stop().await;
}
