//! Engagement events (issue #21): they never shape a visit, and the Stats
//! API reports `time_on_page`, `scroll_depth` and `exit_rate` from them,
//! the same from raw events as from materialized visits. Every expected
//! number below is worked out by hand in the comments beside it.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, with_editors, TestQuery, ADMIN_TOKEN};
use integration_tests::{test_config, TestDb, SITE};
use query::jobs::rollup::Rollup;
use schema::EventRow;
use serde_json::{json, Value};

/// 2024-03-09 10:00:00 UTC.
const TEN: i64 = 1_709_978_400;
/// 2024-03-10 00:00:00 UTC: the salt changes, and with it visitor ids.
const MIDNIGHT: i64 = 1_710_028_800;
/// The scroll depth the collector stores for a beacon without `sd`.
const NO_SD: u8 = 255;

fn engagement(ts: i64, visitor: u64, path: &str, sd: u8, ms: u32) -> EventRow {
    EventRow {
        name: "engagement".into(),
        // The stock tracker's flag on engagement events: not interactive
        // either way, as they must not count as interactions even if set.
        interactive: 1,
        scroll_depth: sd,
        engagement_ms: ms,
        ..pageview(SITE, ts, visitor, path)
    }
}

/// Plausible's case: a pageview, then an engagement beacon 3 s later.
fn plausible_case() -> Vec<EventRow> {
    vec![
        pageview(SITE, TEN, 1, "/"),
        engagement(TEN + 3, 1, "/", 40, 3000),
    ]
}

/// Five visits on 2024-03-09, each with what it tests:
/// - A (visitor 1): Plausible's case on `/`.
/// - B (2): `/a` with two beacons (30 s in all, deepest 70%), then `/b`
///   with one beacon without `sd` (5 s); exits on `/b`; lasts 110 s (from
///   its first pageview to its last, not to the last beacon).
/// - C (3): one pageview of `/a` and no engagement at all.
/// - D (4): `/b` left in a background tab: its beacon (25 s, 100%) comes an
///   hour later, when the visit has long ended, and counts nowhere.
/// - E (5 then 6): `/a` at 23:59, its beacon (60 s, 90%) after midnight
///   under the new id, linked by `prev_visitor_id`: one visit.
fn dataset() -> Vec<EventRow> {
    let mut rows = plausible_case();
    rows.extend([
        pageview(SITE, TEN + 100, 2, "/a"),
        engagement(TEN + 130, 2, "/a", 30, 20_000),
        engagement(TEN + 200, 2, "/a", 70, 10_000),
        pageview(SITE, TEN + 210, 2, "/b"),
        engagement(TEN + 300, 2, "/b", NO_SD, 5_000),
        pageview(SITE, TEN + 1000, 3, "/a"),
        pageview(SITE, TEN + 2000, 4, "/b"),
        engagement(TEN + 2000 + 3600, 4, "/b", 100, 25_000),
        pageview(SITE, MIDNIGHT - 60, 5, "/a"),
        EventRow {
            prev_visitor_id: 5,
            ..engagement(MIDNIGHT + 30, 6, "/a", 90, 60_000)
        },
    ]);
    rows
}

/// The service (its clock two days after the data) and its database.
async fn service() -> (TestQuery, TestDb) {
    let mut config = test_config();
    with_editors(&mut config);
    let now = Utc.timestamp_opt(MIDNIGHT + 2 * 86_400, 0).unwrap();
    let service = TestQuery::start_with(config.clone(), now, false).await;
    (service, TestDb::connect(&config).await)
}

/// Materializes every hour of the data, as the background job would.
async fn materialize(db: &TestDb) {
    let report = Rollup::default()
        .run_at(db, &[SITE.to_string()], MIDNIGHT + 86_400)
        .await
        .unwrap();
    assert!(report.new_hours > 0, "{report:?}");
}

/// `(dimensions, metrics)` of each row, metrics as JSON (some are `null`).
fn rows(answer: &Value) -> Vec<(Vec<String>, Vec<Value>)> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let dims = r["dimensions"].as_array().unwrap();
            let dims = dims.iter().map(|d| d.as_str().unwrap().into()).collect();
            (dims, r["metrics"].as_array().unwrap().clone())
        })
        .collect()
}

fn query(metrics: Value, dimensions: Value, filters: Value) -> Value {
    json!({"site_id": SITE, "date_range": ["2024-03-09", "2024-03-10"],
           "metrics": metrics, "dimensions": dimensions, "filters": filters})
}

#[tokio::test]
async fn an_engagement_beacon_neither_lengthens_a_visit_nor_ends_its_bounce() {
    let (service, db) = service().await;
    insert(&db, &plausible_case()).await;
    let body = query(
        json!([
            "visits",
            "bounce_rate",
            "visit_duration",
            "pageviews",
            "events"
        ]),
        json!([]),
        json!([]),
    );
    // One visit of one pageview: a bounce of 0 s (Plausible: 100 and 0).
    let expected = vec![(
        vec![],
        vec![json!(1), json!(100), json!(0), json!(1), json!(1)],
    )];
    assert_eq!(rows(&service.ok(&body).await), expected, "raw");
    materialize(&db).await;
    assert_eq!(rows(&service.ok(&body).await), expected, "materialized");
    // Entry and exit pages stay the pageview's.
    let exits = query(json!(["visits"]), json!(["visit:exit_page"]), json!([]));
    assert_eq!(
        rows(&service.ok(&exits).await),
        [(vec!["/".to_string()], vec![json!(1)])]
    );
}

#[tokio::test]
async fn time_on_page_scroll_depth_and_exit_rate_by_page_by_hand() {
    let (service, db) = service().await;
    insert(&db, &dataset()).await;
    let by_page = query(
        json!(["visits", "time_on_page", "scroll_depth", "exit_rate"]),
        json!(["event:page"]),
        json!([]),
    );
    let expected = vec![
        // `/a`: visits B, C, E. Time: (30 + 60) s over the two visits that
        // sent engagement (B, E; C sent none) = 45. Depth: (70 + 90) / 2 =
        // 80. Exits: C and E of three = 66.7%.
        (
            vec!["/a".to_string()],
            vec![json!(3), json!(45), json!(80), json!(66.7)],
        ),
        // `/b`: visits B, D. Time: B's 5 s (D's beacon came after its visit
        // ended). Depth: none reported (B's beacon had no `sd`). Exits:
        // both = 100%.
        (
            vec!["/b".to_string()],
            vec![json!(2), json!(5), Value::Null, json!(100.0)],
        ),
        // `/`: visit A: 3 s, 40%, its exit.
        (
            vec!["/".to_string()],
            vec![json!(1), json!(3), json!(40), json!(100.0)],
        ),
    ];
    let totals = query(
        json!(["visits", "bounce_rate", "visit_duration", "pageviews"]),
        json!([]),
        json!([]),
    );
    // Five visits; bounces A, C, D, E = 80%; durations 0, 110, 0, 0, 0 =
    // 22 s on average; six pageviews.
    let expected_totals = vec![(vec![], vec![json!(5), json!(80), json!(22), json!(6)])];
    // Filtered to `/a`, without a dimension: the numbers of `/a` above.
    let filtered = query(
        json!(["time_on_page", "scroll_depth"]),
        json!([]),
        json!([["is", "event:page", ["/a"]]]),
    );
    let expected_filtered = vec![(vec![], vec![json!(45), json!(80)])];
    for path in ["raw", "materialized"] {
        if path == "materialized" {
            materialize(&db).await;
        }
        assert_eq!(rows(&service.ok(&by_page).await), expected, "{path}");
        assert_eq!(rows(&service.ok(&totals).await), expected_totals, "{path}");
        assert_eq!(
            rows(&service.ok(&filtered).await),
            expected_filtered,
            "{path}"
        );
    }
}

#[tokio::test]
async fn engagement_metrics_by_day_order_and_csv() {
    let (service, db) = service().await;
    insert(&db, &dataset()).await;
    // By page and day, ordered by time on page. On the 9th, `/a` has B's
    // 30 s (E's beacon is on the 10th, where `/a` has no pageview and so
    // no row), 70%, and exits C and E of B, C, E.
    let mut body = query(
        json!(["time_on_page", "scroll_depth", "exit_rate"]),
        json!(["event:page", "time:day"]),
        json!([]),
    );
    body["order_by"] = json!([["time_on_page", "desc"]]);
    assert_eq!(
        rows(&service.ok(&body).await),
        [
            (
                vec!["/a".to_string(), "2024-03-09".to_string()],
                vec![json!(30), json!(70), json!(66.7)]
            ),
            (
                vec!["/b".to_string(), "2024-03-09".to_string()],
                vec![json!(5), Value::Null, json!(100.0)]
            ),
            (
                vec!["/".to_string(), "2024-03-09".to_string()],
                vec![json!(3), json!(40), json!(100.0)]
            ),
        ]
    );
    // CSV: a metric without a value is an empty cell.
    body["order_by"] = json!([["event:page", "asc"]]);
    let response = service
        .http()
        .post(service.url("/api/v2/query"))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "text/csv")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "event:page,time:day,time_on_page,scroll_depth,exit_rate\n\
         /,2024-03-09,3,40,100.0\n\
         /a,2024-03-09,30,70,66.7\n\
         /b,2024-03-09,5,,100.0\n"
    );
}

#[tokio::test]
async fn engagement_metrics_without_their_page_are_refused_by_name() {
    let (service, _db) = service().await;
    for (metric, message) in [
        (
            "time_on_page",
            "Metric `time_on_page` can only be queried with event:page filters or dimensions",
        ),
        (
            "scroll_depth",
            "Metric `scroll_depth` can only be queried with event:page filters or dimensions",
        ),
        (
            "exit_rate",
            "Metric `exit_rate` can only be queried with an event:page dimension",
        ),
    ] {
        let body = query(json!([metric]), json!(["visit:source"]), json!([]));
        let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
        assert_eq!((status, answer["error"].as_str()), (400, Some(message)));
    }
}
