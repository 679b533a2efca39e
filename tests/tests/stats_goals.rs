//! Goals, conversion rates, revenue and custom properties through the
//! Stats API, against hand-computed expectations over six hand-made
//! visitors (each expectation's arithmetic is spelled out beside it), on
//! raw events and again once the day's visits are materialized (the
//! answers must not change).
//!
//! The goals: `Signup` (event), `Visit /blog/**` and `Pricing` (pageview
//! globs), `Purchase` (EUR) and `Donation` (USD) revenue goals, and the
//! built-in `Outbound Link: Click`, `File Download` and `404`, whose
//! events are stored as Plausible's stock tracker names them.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, serve, TestQuery, ADMIN_TOKEN};
use integration_tests::SITE;
use query::jobs::rollup::Rollup;
use schema::config::GoalConfig;
use schema::EventRow;
use serde_json::{json, Value};

/// 2024-03-09 10:00:00 UTC.
const T: i64 = 1_709_978_400;
const DAY: [&str; 2] = ["2024-03-09", "2024-03-09"];

fn event(visitor: u64, at: i64, name: &str, path: &str, source: &str) -> EventRow {
    EventRow {
        timestamp: (T + at) as u32,
        site: SITE.into(),
        name: name.into(),
        pathname: path.into(),
        visitor_id: visitor,
        interactive: 1,
        source: source.into(),
        ..EventRow::default()
    }
}

fn with_props(mut row: EventRow, props: &[(&str, &str)]) -> EventRow {
    row.props_keys = props.iter().map(|p| p.0.to_string()).collect();
    row.props_values = props.iter().map(|p| p.1.to_string()).collect();
    row
}

fn with_revenue(mut row: EventRow, amount: &str, currency: &str) -> EventRow {
    row.revenue_amount = amount.into();
    row.revenue_currency = currency.into();
    row
}

/// 19 events of 6 visitors (sources: 1, 2, 6 Google; 3 none; 4, 5 Twitter).
fn dataset() -> Vec<EventRow> {
    let g = "Google";
    vec![
        // 1: reads the blog, signs up (author Ann).
        event(1, 0, "pageview", "/", g),
        event(1, 60, "pageview", "/blog/a", g),
        with_props(event(1, 120, "Signup", "/blog/a", g), &[("author", "Ann")]),
        // 2: deep blog page, pricing, buys for 10.50 EUR (plan pro).
        event(2, 0, "pageview", "/blog/x/y", g),
        event(2, 30, "pageview", "/pricing", g),
        with_revenue(
            with_props(event(2, 60, "Purchase", "/pricing", g), &[("plan", "pro")]),
            "10.5",
            "EUR",
        ),
        event(2, 90, "pageview", "/", g),
        // 3: buys twice (5 EUR, 7 USD: a currency not its goal's), clicks out.
        event(3, 0, "pageview", "/", ""),
        with_revenue(event(3, 10, "Purchase", "/", ""), "5", "EUR"),
        with_revenue(event(3, 20, "Purchase", "/", ""), "7", "USD"),
        with_props(
            event(3, 30, "Outbound Link: Click", "/", ""),
            &[("url", "https://x.example/")],
        ),
        event(3, 40, "pageview", "/about", ""),
        // 4: `/blogs` is no blog page; downloads a PDF, donates 20 USD.
        event(4, 0, "pageview", "/blogs", "Twitter"),
        with_props(
            event(4, 5, "File Download", "/blogs", "Twitter"),
            &[("url", "https://a.example/a.pdf")],
        ),
        with_revenue(event(4, 10, "Donation", "/blogs", "Twitter"), "20", "USD"),
        // 5: a missing page.
        event(5, 0, "pageview", "/missing", "Twitter"),
        with_props(
            event(5, 1, "404", "/missing", "Twitter"),
            &[("path", "/missing")],
        ),
        // 6: `/pricing/` and `/blog` match neither glob.
        event(6, 0, "pageview", "/pricing/", g),
        event(6, 10, "pageview", "/blog", g),
    ]
}

fn goal(
    event: Option<&str>,
    page: Option<&str>,
    name: Option<&str>,
    cur: Option<&str>,
) -> GoalConfig {
    GoalConfig {
        event: event.map(String::from),
        page: page.map(String::from),
        display_name: name.map(String::from),
        currency: cur.map(String::from),
    }
}

async fn start() -> (TestQuery, integration_tests::TestDb) {
    let now = Utc.timestamp_opt(T + 2 * 86_400, 0).unwrap();
    let (service, db, _) = serve(
        |config| {
            let site = config.site.iter_mut().find(|s| s.domain == SITE).unwrap();
            site.builtin_goals = true;
            site.goal = vec![
                goal(Some("Signup"), None, None, None),
                goal(None, Some("/blog/**"), None, None),
                goal(None, Some("/pricing"), Some("Pricing"), None),
                goal(Some("Purchase"), None, None, Some("EUR")),
                goal(Some("Donation"), None, None, Some("USD")),
            ];
        },
        now,
    )
    .await;
    insert(&db, &dataset()).await;
    (service, db)
}

/// `{dimension values joined by "|": metrics}` of an answer.
fn rows(answer: &Value) -> Vec<(String, Vec<Value>)> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let dims: Vec<&str> = r["dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            (dims.join("|"), r["metrics"].as_array().unwrap().clone())
        })
        .collect()
}

fn query(metrics: Value, dimensions: Value, filters: Value) -> Value {
    json!({"site_id": SITE, "date_range": DAY, "metrics": metrics,
        "dimensions": dimensions, "filters": filters})
}

/// Every report the test checks, with its expected rows.
fn cases() -> Vec<(Value, Vec<(&'static str, Value)>)> {
    vec![
        // Conversions per goal, against all 6 visitors.
        (
            query(
                json!(["visitors", "events", "conversion_rate"]),
                json!(["event:goal"]),
                json!([]),
            ),
            vec![
                // 2 once and 3 twice: 2 of 6, 3 events.
                ("Purchase", json!([2, 3, 33.3])),
                // Visitors 1 and 2 each saw a page under /blog/ (not 6's
                // `/blog`, not 4's `/blogs`): 2 of 6.
                ("Visit /blog/**", json!([2, 2, 33.3])),
                ("404", json!([1, 1, 16.7])),
                ("Donation", json!([1, 1, 16.7])),
                ("File Download", json!([1, 1, 16.7])),
                ("Outbound Link: Click", json!([1, 1, 16.7])),
                // `/pricing` exactly: visitor 2, not 6's `/pricing/`.
                ("Pricing", json!([1, 1, 16.7])),
                ("Signup", json!([1, 1, 16.7])),
            ],
        ),
        // A goal filter under a source filter: Google has visitors 1, 2
        // and 6, of whom 1 and 2 read the blog: 66.7%.
        (
            query(
                json!(["visitors", "conversion_rate"]),
                json!([]),
                json!([
                    ["is", "visit:source", ["Google"]],
                    ["is", "event:goal", ["Visit /blog/**"]]
                ]),
            ),
            vec![("", json!([2, 66.7]))],
        ),
        // Per source: Google's 3 visitors hold 1 buyer (2); the one
        // visitor without a source (3) bought.
        (
            query(
                json!(["visitors", "group_conversion_rate"]),
                json!(["visit:source"]),
                json!([["is", "event:goal", ["Purchase"]]]),
            ),
            vec![
                ("Direct / None", json!([1, 100.0])),
                ("Google", json!([1, 33.3])),
            ],
        ),
        // Revenue per goal in its currency: Purchase 10.5 + 5 EUR over 2
        // events, with 3's 7 USD beside it; Donation 20 USD.
        (
            query(
                json!(["events", "total_revenue", "average_revenue"]),
                json!(["event:goal"]),
                json!([["is", "event:goal", ["Purchase", "Donation", "Signup"]]]),
            ),
            vec![
                (
                    "Purchase",
                    json!([3,
                        {"value": 15.5, "currency": "EUR", "short": "€15.5", "long": "€15.50",
                         "other_currencies": [{"value": 7.0, "currency": "USD", "short": "$7.0", "long": "$7.00"}]},
                        {"value": 7.75, "currency": "EUR", "short": "€7.8", "long": "€7.75",
                         "other_currencies": [{"value": 7.0, "currency": "USD", "short": "$7.0", "long": "$7.00"}]}]),
                ),
                (
                    "Donation",
                    json!([1,
                        {"value": 20.0, "currency": "USD", "short": "$20.0", "long": "$20.00"},
                        {"value": 20.0, "currency": "USD", "short": "$20.0", "long": "$20.00"}]),
                ),
                ("Signup", json!([1, null, null])),
            ],
        ),
        // Goal filter operators on goal names.
        (
            query(
                json!(["visitors"]),
                json!([]),
                json!([["contains", "event:goal", ["Link"]]]),
            ),
            vec![("", json!([1]))],
        ),
        (
            query(
                json!(["visitors"]),
                json!([]),
                json!([["matches", "event:goal", ["^Visit"]]]),
            ),
            vec![("", json!([2]))],
        ),
        // Every event but the 3 purchases: 16 of 19, by all 6 visitors.
        (
            query(
                json!(["visitors", "events"]),
                json!([]),
                json!([["is_not", "event:goal", ["Purchase"]]]),
            ),
            vec![("", json!([6, 16]))],
        ),
        // Properties: one event carries an author; the other 18 read `(none)`.
        (
            query(
                json!(["visitors", "events"]),
                json!(["event:props:author"]),
                json!([]),
            ),
            vec![("(none)", json!([6, 18])), ("Ann", json!([1, 1]))],
        ),
        (
            query(
                json!(["visitors", "events"]),
                json!([]),
                json!([["is", "event:props:author", ["(none)"]]]),
            ),
            vec![("", json!([6, 18]))],
        ),
        (
            query(
                json!(["visitors", "events"]),
                json!([]),
                json!([["is_not", "event:props:author", ["(none)"]]]),
            ),
            vec![("", json!([1, 1]))],
        ),
        (
            query(
                json!(["visitors"]),
                json!(["event:props:url"]),
                json!([["contains", "event:props:url", [".pdf"]]]),
            ),
            vec![("https://a.example/a.pdf", json!([1]))],
        ),
        (
            query(
                json!(["visitors"]),
                json!([]),
                json!([
                    ["matches", "event:props:url", ["^https://x\\."]],
                    ["contains_not", "event:props:url", ["pdf"]]
                ]),
            ),
            vec![("", json!([1]))],
        ),
        // Which plan brings purchases: 2's `pro` (1 of the 1 visitor with
        // a `pro` event) and 3's events without a plan (1 of all 6).
        (
            query(
                json!(["visitors", "events", "group_conversion_rate"]),
                json!(["event:props:plan"]),
                json!([["is", "event:goal", ["Purchase"]]]),
            ),
            vec![
                ("(none)", json!([1, 2, 16.7])),
                ("pro", json!([1, 1, 100.0])),
            ],
        ),
    ]
}

fn check(answer: &Value, expected: &[(&str, Value)], body: &Value) {
    let got: Vec<(String, Vec<Value>)> = rows(answer);
    let want: Vec<(String, Vec<Value>)> = expected
        .iter()
        .map(|(d, m)| (d.to_string(), m.as_array().unwrap().clone()))
        .collect();
    assert_eq!(got, want, "{body}");
}

#[tokio::test]
async fn goals_conversions_revenue_and_props_on_raw_events_and_materialized_visits() {
    let (service, db) = start().await;
    let mut raw = Vec::new();
    for (body, expected) in cases() {
        let answer = service.ok(&body).await;
        check(&answer, &expected, &body);
        raw.push(answer["results"].clone());
    }
    // The day materialized: the same answers from `visit_events` and the
    // rollups (revenue reads raw events on purpose).
    let report = Rollup::default()
        .run_once(&db, &[SITE.to_string()])
        .await
        .unwrap();
    assert!(report.new_hours > 0, "{report:?}");
    for ((body, _), before) in cases().into_iter().zip(raw) {
        let answer = service.ok(&body).await;
        assert_eq!(answer["results"], before, "materialized: {body}");
    }
    service.stop().await;
}

#[tokio::test]
async fn goal_queries_are_checked() {
    let (service, _db) = start().await;
    let refused = [
        (
            query(
                json!(["visitors"]),
                json!([]),
                json!([["is", "event:goal", ["Nope"]]]),
            ),
            "The goal `Nope` is not configured",
        ),
        (
            query(
                json!(["conversion_rate"]),
                json!(["visit:source"]),
                json!([]),
            ),
            "Metric `conversion_rate` can only be queried with event:goal filters or dimensions.",
        ),
        (
            query(json!(["bounce_rate"]), json!(["event:goal"]), json!([])),
            "cannot be queried along with event dimension(s) `event:goal`",
        ),
    ];
    for (body, message) in refused {
        let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(message), "{error}");
    }
    // The dashboard's list of goals, built-in ones last.
    let goals: Value = service
        .http()
        .get(service.url(&format!("/api/dashboard/goals?site_id={SITE}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = goals["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Signup",
            "Visit /blog/**",
            "Pricing",
            "Purchase",
            "Donation",
            "Outbound Link: Click",
            "File Download",
            "404"
        ]
    );
    assert_eq!(
        goals["goals"][3],
        json!({"name": "Purchase", "event": "Purchase", "currency": "EUR"})
    );
    assert_eq!(goals["goals"][1]["page"], "/blog/**");
    service.stop().await;
}
