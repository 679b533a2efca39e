//! `POST /api/event` takes what Plausible's trackers and Plausible's own
//! Events API take: each shape below is posted to a real collector and its
//! stored row read back from ClickHouse. A pageview is never lost over an
//! optional field: a value that cannot be used is left out of the row and
//! counted in `analytics_fields_ignored_total{field}`. What is still
//! refused (`400` naming the field, nothing stored) is in `bad_input.rs`.

use integration_tests::*;
use schema::EventRow;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A shape that must be stored once, and what its row must say.
struct Accepted {
    what: &'static str,
    body: String,
    /// The stored row's pathname, unique among the cases.
    path: &'static str,
    check: fn(&EventRow),
    /// The optional fields it leaves out, as metric labels.
    ignored: &'static [&'static str],
}

fn accepted(
    what: &'static str,
    body: Value,
    path: &'static str,
    check: fn(&EventRow),
    ignored: &'static [&'static str],
) -> Accepted {
    Accepted {
        what,
        body: body.to_string(),
        path,
        check,
        ignored,
    }
}

fn props_of(row: &EventRow) -> Vec<(&str, &str)> {
    row.props_keys
        .iter()
        .map(String::as_str)
        .zip(row.props_values.iter().map(String::as_str))
        .collect()
}

/// 35 props written by hand in the order `k34` down to `k00` (a JSON map
/// would sort them), so the first 30 in the body are `k05` to `k34`.
fn thirty_five_props_body() -> String {
    let pairs: Vec<String> = (0..35)
        .rev()
        .map(|n| format!(r#""k{n:02}":"v{n}""#))
        .collect();
    format!(
        r#"{{"n":"pageview","u":"https://example.com/many-props","d":"example.com","p":{{{}}}}}"#,
        pairs.join(",")
    )
}

fn accepted_cases() -> Vec<Accepted> {
    vec![
        accepted(
            "props not an object",
            json!({"n": "pageview", "u": "https://example.com/props-list", "d": SITE, "p": [1, 2]}),
            "/props-list",
            |row| assert!(row.props_keys.is_empty()),
            &["props"],
        ),
        accepted(
            "props with bad values",
            json!({"n": "Signup", "u": "https://example.com/props-bad", "d": SITE,
                   "p": {"plan": "pro", "long": "x".repeat(2001), "k".repeat(301): "v",
                         "nested": {"a": 1}, "list": [1], "gone": null}}),
            "/props-bad",
            |row| assert_eq!(props_of(row), [("plan", "pro")]),
            &["props"],
        ),
        Accepted {
            what: "35 props",
            body: thirty_five_props_body(),
            path: "/many-props",
            check: |row| {
                let want: Vec<String> = (5..35).map(|n| format!("k{n:02}")).collect();
                assert_eq!(row.props_keys, want);
                let values: Vec<String> = (5..35).map(|n| format!("v{n}")).collect();
                assert_eq!(row.props_values, values);
            },
            ignored: &["props"],
        },
        accepted(
            "legacy meta props",
            json!({"n": "pageview", "u": "https://example.com/meta", "d": SITE, "m": "{\"plan\":\"pro\"}"}),
            "/meta",
            |row| assert_eq!(props_of(row), [("plan", "pro")]),
            &[],
        ),
        accepted(
            "invalid revenue",
            json!({"n": "Purchase", "u": "https://example.com/revenue-bad", "d": SITE,
                   "$": {"amount": "lots", "currency": "EUR"}, "p": {"plan": "pro"}}),
            "/revenue-bad",
            |row| {
                assert_eq!(
                    (row.revenue_amount.as_str(), row.revenue_currency.as_str()),
                    ("", "")
                );
                assert_eq!(props_of(row), [("plan", "pro")]);
            },
            &["revenue"],
        ),
        accepted(
            "the tracker's empty revenue",
            json!({"n": "Tagged click", "u": "https://example.com/revenue-empty", "d": SITE, "$": {}}),
            "/revenue-empty",
            |row| assert_eq!(row.revenue_amount, ""),
            &[],
        ),
        accepted(
            "revenue as a string",
            json!({"n": "Purchase", "u": "https://example.com/revenue-text", "d": SITE,
                   "revenue": "{\"amount\":20.2,\"currency\":\"eur\"}"}),
            "/revenue-text",
            |row| {
                assert_eq!(
                    (row.revenue_amount.as_str(), row.revenue_currency.as_str()),
                    ("20.2", "EUR")
                );
            },
            &[],
        ),
        accepted(
            "numeric event name",
            json!({"n": 404, "u": "https://example.com/missing-page", "d": SITE}),
            "/missing-page",
            |row| assert_eq!(row.name, "404"),
            &[],
        ),
        accepted(
            "www domain",
            json!({"n": "pageview", "u": "https://www.example.com/www-domain", "d": "www.example.com"}),
            "/www-domain",
            |row| assert_eq!((row.site.as_str(), row.hostname.as_str()), (SITE, SITE)),
            &[],
        ),
        accepted(
            "www and bare domain together",
            json!({"n": "pageview", "u": "https://example.com/both-names", "d": "www.example.com,example.com"}),
            "/both-names",
            |row| assert_eq!(row.site, SITE),
            &[],
        ),
        accepted(
            "no domain",
            json!({"n": "pageview", "u": "https://www.example.com/no-domain"}),
            "/no-domain",
            |row| assert_eq!((row.site.as_str(), row.hostname.as_str()), (SITE, SITE)),
            &[],
        ),
        accepted(
            "browser extension page",
            json!({"n": "pageview", "u": "chrome-extension://abcdefghijklmnop/popup.html", "d": SITE}),
            "/popup.html",
            |row| assert_eq!((row.site.as_str(), row.hostname.as_str()), (SITE, "(none)")),
            &[],
        ),
        accepted(
            "app page with tags",
            json!({"n": "pageview", "u": "capacitor://localhost/app-home?utm_source=push&token=secret", "d": SITE}),
            "/app-home",
            |row| {
                assert_eq!(row.hostname, "(none)");
                assert_eq!(
                    (row.utm_source.as_str(), row.source.as_str()),
                    ("push", "push")
                );
            },
            &[],
        ),
        accepted(
            "path without a host",
            json!({"n": "pageview", "u": "/just/a/path", "d": SITE}),
            "/just/a/path",
            |row| assert_eq!(row.hostname, "(none)"),
            &[],
        ),
        accepted(
            "opaque page URL",
            json!({"n": "pageview", "u": "about:blank", "d": SITE}),
            "/",
            |row| assert_eq!(row.hostname, "(none)"),
            &[],
        ),
        accepted(
            "extension referrer",
            json!({"n": "pageview", "u": "https://example.com/from-extension", "d": SITE,
                   "r": "chrome-extension://abcdefghijklmnop/options.html"}),
            "/from-extension",
            |row| {
                assert_eq!(
                    (row.referrer.as_str(), row.source.as_str()),
                    ("", "Direct / None")
                )
            },
            &[],
        ),
        accepted(
            "known Android app referrer",
            json!({"n": "pageview", "u": "https://example.com/from-gmail", "d": SITE,
                   "r": "android-app://com.google.android.gm/"}),
            "/from-gmail",
            |row| {
                assert_eq!(row.referrer, "android-app://com.google.android.gm");
                assert_eq!(
                    (row.source.as_str(), row.medium.as_str()),
                    ("Gmail", "email")
                );
            },
            &[],
        ),
        accepted(
            "unknown Android app referrer",
            json!({"n": "pageview", "u": "https://example.com/from-app", "d": SITE,
                   "r": "android-app://com.example.reader"}),
            "/from-app",
            |row| {
                assert_eq!(row.referrer, "android-app://com.example.reader");
                assert_eq!(row.source, "android-app://com.example.reader");
            },
            &[],
        ),
        accepted(
            "every other optional field unusable",
            json!({"n": "pageview", "u": "https://example.com/app#/route", "d": SITE,
                   "r": 7, "i": 0, "h": 2, "w": "wide", "sd": -1, "e": [1]}),
            "/app",
            |row| {
                assert_eq!((row.referrer.as_str(), row.interactive), ("", 1));
                assert_eq!(
                    (row.screen_width, row.scroll_depth, row.engagement_ms),
                    (0, 0, 0)
                );
            },
            &["referrer", "interactive", "hashMode", "w", "sd", "e"],
        ),
        accepted(
            "numbers as strings",
            json!({"n": "engagement", "u": "https://example.com/read", "d": SITE,
                   "sd": "60", "e": "1500", "h": "1"}),
            "/read",
            |row| assert_eq!((row.scroll_depth, row.engagement_ms), (60, 1500)),
            &[],
        ),
    ]
}

/// Posts a pageview of each engagement case's URL; their paths.
async fn view_engaged_pages(collector: &TestCollector, cases: &[Accepted]) -> Vec<&'static str> {
    let mut viewed = Vec::new();
    for case in cases {
        let body: Value = serde_json::from_str(&case.body).unwrap();
        if body["n"] == "engagement" {
            let url = body["u"].as_str().unwrap();
            let view = pageview(SITE, url).to_string();
            assert_eq!(post(collector, &view).await.0, 202);
            viewed.push(case.path);
        }
    }
    viewed
}

async fn post(collector: &TestCollector, body: &str) -> (u16, Value, Option<String>) {
    let response = reqwest::Client::new()
        .post(collector.url("/api/event"))
        .header("content-type", "text/plain")
        .header("user-agent", BROWSER_UA)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let dropped = response
        .headers()
        .get("x-analytics-dropped")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        dropped,
    )
}

#[tokio::test]
async fn what_plausible_accepts_is_stored_once_with_what_it_could_use() {
    let mut config = test_config();
    config.collector.visitor_events_per_minute = 0;
    let collector = TestCollector::start(config).await;
    let cases = accepted_cases();
    // An engagement is stored only for a page its visitor viewed
    // (engagement_beacons.rs): each engagement case's page is viewed first.
    let viewed = view_engaged_pages(&collector, &cases).await;
    // Every wrong answer is listed, not only the first.
    let mut wrong = Vec::new();
    for case in &cases {
        let (status, body, dropped) = post(&collector, &case.body).await;
        if (status, &dropped) != (202, &None) {
            wrong.push(format!("{}: {status} {dropped:?} {body}", case.what));
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));

    expect_event_count(&collector.db, (cases.len() + viewed.len()) as u64).await;
    let rows: Vec<EventRow> = collector
        .db
        .client()
        .query("SELECT ?fields FROM events")
        .fetch_all()
        .await
        .unwrap();
    for case in &cases {
        let matching: Vec<&EventRow> = rows
            .iter()
            .filter(|r| r.pathname == case.path)
            .filter(|r| r.name != "pageview" || !viewed.contains(&case.path))
            .collect();
        assert_eq!(matching.len(), 1, "{}: rows at {}", case.what, case.path);
        (case.check)(matching[0]);
    }

    // Each field left out is counted once per event that left it out.
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    for field in cases.iter().flat_map(|c| c.ignored) {
        *want.entry(field).or_default() += 1;
    }
    let metrics = collector.metrics().await;
    let got: BTreeMap<String, f64> = parse_metrics(&metrics)
        .into_iter()
        .filter(|(name, _)| name.starts_with("analytics_fields_ignored_total{"))
        .collect();
    let want: BTreeMap<String, f64> = want
        .into_iter()
        .map(|(field, n)| {
            (
                format!("analytics_fields_ignored_total{{field=\"{field}\"}}"),
                n as f64,
            )
        })
        .collect();
    assert_eq!(got, want, "{metrics}");
    collector.stop().await;
}
