//! End to end: events imported through the collector's `POST /api/import`
//! (real hashing, throw-away salts for old days) and live beacons, read back
//! through the Stats API. Expected numbers are worked out by hand below.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{with_editors, TestQuery, ADMIN_TOKEN};
use integration_tests::*;
use serde_json::{json, Value};

const CHROME: &str = BROWSER_UA;
const FIREFOX: &str =
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// 2024-05-01 00:00:00 UTC: long past, so its salt is a throw-away one.
fn day() -> i64 {
    Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0)
        .unwrap()
        .timestamp()
}

fn line(name: &str, path: &str, at: i64, ip: &str, ua: &str, referrer: &str) -> Value {
    json!({
        "name": name,
        "url": format!("https://example.com{path}"),
        "domain": SITE,
        "referrer": referrer,
        "timestamp": Utc.timestamp_opt(at, 0).unwrap().to_rfc3339(),
        "ip": ip,
        "user_agent": ua,
    })
}

async fn import(collector: &TestCollector, lines: &[Value]) -> Value {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let response = reqwest::Client::new()
        .post(collector.url("/api/import"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn metrics(answer: &Value) -> Vec<f64> {
    answer["results"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_f64().unwrap())
        .collect()
}

fn breakdown(answer: &Value) -> Vec<(String, f64)> {
    let mut rows: Vec<(String, f64)> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dimensions"][0].as_str().unwrap().into(),
                r["metrics"][0].as_f64().unwrap(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

#[tokio::test]
async fn imported_history_reads_back_as_worked_out_by_hand() {
    let mut config = test_config();
    with_editors(&mut config);
    let collector = TestCollector::start(config.clone()).await;
    let d = day();
    let h = 3600;
    let lines = [
        // A: one visit across midnight, 23:50 to 00:35 (2,700 s), 3 pageviews.
        line(
            "pageview",
            "/",
            d + 23 * h + 50 * 60,
            "203.0.113.7",
            CHROME,
            "",
        ),
        line(
            "pageview",
            "/docs",
            d + 24 * h + 10 * 60,
            "203.0.113.7",
            CHROME,
            "",
        ),
        line(
            "pageview",
            "/pricing",
            d + 24 * h + 35 * 60,
            "203.0.113.7",
            CHROME,
            "",
        ),
        // B: a bounce at 10:00, then a visit of 600 s with 2 pageviews.
        line("pageview", "/", d + 10 * h, "198.51.100.1", FIREFOX, ""),
        line("pageview", "/blog", d + 15 * h, "198.51.100.1", FIREFOX, ""),
        line(
            "pageview",
            "/blog/post",
            d + 15 * h + 600,
            "198.51.100.1",
            FIREFOX,
            "",
        ),
        // C: A's network, another browser; one pageview and an interactive
        // custom event 60 s later: not a bounce.
        line("pageview", "/", d + 12 * h, "203.0.113.9", SAFARI_IOS, ""),
        line(
            "Signup",
            "/",
            d + 12 * h + 60,
            "203.0.113.9",
            SAFARI_IOS,
            "",
        ),
        // D: from Google the next morning, a bounce.
        line(
            "pageview",
            "/",
            d + 33 * h,
            "192.0.2.44",
            CHROME,
            "https://www.google.com/",
        ),
    ];
    let report = import(&collector, &lines).await;
    assert_eq!(report["accepted"], 9, "{report}");
    expect_event_count(&collector.db, 9).await;

    let service = TestQuery::start(config.clone(), Utc::now()).await;
    let all = [
        "visitors",
        "visits",
        "pageviews",
        "events",
        "bounce_rate",
        "visit_duration",
        "views_per_visit",
    ];
    let ask = |range: Value, extra: Value| {
        let mut body = json!({"site_id": SITE, "metrics": all, "date_range": range});
        if let Value::Object(more) = extra {
            body.as_object_mut().unwrap().extend(more);
        }
        body
    };
    let both_days = json!(["2024-05-01", "2024-05-02"]);
    // Visitors: A twice (ids rotate at midnight), B, C, D = 5. Visits: A, B
    // twice, C, D = 5. Pageviews 3+3+1+1 = 8; events add the Signup = 9.
    // Bounces: B's first and D's = 40 %. Durations 2700+0+600+60+0 = 3360,
    // over 5 = 672 s. Pageviews per visit 8/5 = 1.6.
    let got = metrics(&service.ok(&ask(both_days.clone(), json!({}))).await);
    assert_eq!(got, [5.0, 5.0, 8.0, 9.0, 40.0, 672.0, 1.6]);
    // May 1st alone: visits that start that day are A, B, B and C (A's runs
    // past midnight and keeps its full length); its events are A's first
    // pageview, B's three, C's pageview and Signup.
    let first = metrics(
        &service
            .ok(&ask(json!(["2024-05-01", "2024-05-01"]), json!({})))
            .await,
    );
    assert_eq!(first, [3.0, 4.0, 5.0, 6.0, 25.0, 840.0, 1.75]);
    // May 2nd: only D's visit starts; A's two late pageviews still count.
    let second = metrics(
        &service
            .ok(&ask(json!(["2024-05-02", "2024-05-02"]), json!({})))
            .await,
    );
    assert_eq!(second, [2.0, 1.0, 3.0, 3.0, 100.0, 0.0, 1.0]);

    let by = |dim: &str| json!({"site_id": SITE, "metrics": ["visits"], "date_range": both_days, "dimensions": [dim]});
    assert_eq!(
        breakdown(&service.ok(&by("visit:entry_page")).await),
        [("/".into(), 4.0), ("/blog".into(), 1.0)]
    );
    assert_eq!(
        breakdown(&service.ok(&by("visit:exit_page")).await),
        [
            ("/".into(), 3.0),
            ("/blog/post".into(), 1.0),
            ("/pricing".into(), 1.0)
        ]
    );
    assert_eq!(
        breakdown(&service.ok(&by("visit:source")).await),
        [("Direct / None".into(), 4.0), ("Google".into(), 1.0)]
    );
    assert_eq!(
        breakdown(&service.ok(&by("visit:browser")).await),
        [
            ("Chrome".into(), 2.0),
            ("Firefox".into(), 2.0),
            ("Safari".into(), 1.0)
        ]
    );
    // A filter on a page reached after midnight still finds A's whole visit
    // (views per visit, as in Plausible, only without a page filter).
    let pricing = ask(
        both_days,
        json!({"filters": [["is", "event:page", ["/pricing"]]],
               "metrics": &all[..all.len() - 1]}),
    );
    assert_eq!(
        metrics(&service.ok(&pricing).await),
        [1.0, 1.0, 1.0, 1.0, 0.0, 2700.0]
    );
    service.stop().await;
    collector.stop().await;
}

#[tokio::test]
async fn a_server_side_event_joins_the_live_visitor_of_today() {
    let mut config = test_config();
    with_editors(&mut config);
    let collector = TestCollector::start(config.clone()).await;
    let response = send(&collector, &pageview(SITE, "https://example.com/cart"), &[]).await;
    assert_eq!(response.status(), 202);
    // The beacon came from 127.0.0.1 with the browser user agent.
    let now = Utc::now().timestamp();
    let report = import(
        &collector,
        &[line(
            "Purchase",
            "/cart",
            now - 5,
            "127.0.0.1",
            BROWSER_UA,
            "",
        )],
    )
    .await;
    assert_eq!(report["accepted"], 1, "{report}");
    expect_event_count(&collector.db, 2).await;
    let service = TestQuery::start(config, Utc::now()).await;
    let body = json!({"site_id": SITE, "metrics": ["visitors", "visits", "events", "bounce_rate"], "date_range": "day"});
    // One visitor, one visit, two events; the Purchase is interactive, so no bounce.
    assert_eq!(metrics(&service.ok(&body).await), [1.0, 1.0, 2.0, 0.0]);
    service.stop().await;
    collector.stop().await;
}
