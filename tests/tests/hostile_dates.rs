//! Date ranges at and past the edges: years a date parser accepts but
//! ClickHouse cannot store, impossible days, lists that are not pairs, a
//! site with no events asked for `all`, and time buckets too many to list.
//! Each gets a 400 naming `date_range` or the bucket limit, or a correct
//! answer; none may take the service down or keep it busy for long.

use chrono::{NaiveDate, TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, serve, TestQuery, ADMIN_TOKEN};
use integration_tests::{TestDb, NO_DNT_SITE, OTHER_SITE, SITE};
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC

fn body(site: &str, range: Value) -> Value {
    json!({"site_id": site, "metrics": ["visitors"], "date_range": range})
}

/// A site without events.
const EMPTY_SITE: &str = "empty.example";
/// A second near the end of the range the API allows: New York's
/// 2105-12-31 23:00 local.
const EDGE_OF_2105: i64 = 4_291_761_600;

/// SITE (UTC) has an event today; OTHER_SITE (Kolkata) one five seconds
/// into 1970; NO_DNT_SITE (New York) one in the last hour of 2105 there.
async fn start() -> (TestQuery, TestDb) {
    let (service, db, _) = serve(
        |config| {
            // East and west of UTC, so local days at the edges start before
            // 1970 and end after 2105 in UTC.
            config.site[1].timezone = "Asia/Kolkata".into();
            config.site[2].timezone = "America/New_York".into();
            config
                .site
                .push(schema::config::SiteConfig::new(EMPTY_SITE));
        },
        Utc.timestamp_opt(NOW, 0).unwrap(),
    )
    .await;
    let rows = [
        pageview(SITE, NOW - 100, 1, "/"),
        pageview(OTHER_SITE, 5, 1, "/"),
        pageview(NO_DNT_SITE, EDGE_OF_2105, 1, "/"),
    ];
    insert(&db, &rows).await;
    (service, db)
}

#[tokio::test]
async fn hostile_date_ranges_get_400_naming_date_range() {
    let (service, _db) = start().await;
    // Under the 1 MiB body cap, so it reaches the parser.
    let huge: Vec<String> = (0..70_000).map(|_| "2024-01-01".to_owned()).collect();
    let refused = [
        json!(["+262143-12-31", "+262143-12-31"]),
        json!(["-262144-01-01", "2024-01-01"]),
        json!(["-0001-01-01", "2024-01-01"]),
        json!(["0000-01-01", "2024-01-01"]),
        json!(["1969-12-31", "2024-01-01"]),
        json!(["2024-01-01", "2106-01-01"]),
        json!(["2024-01-01", "9999-12-31"]),
        json!(["2024-02-30", "2024-03-01"]),
        json!(["2024-13-01", "2024-12-01"]),
        json!(["2024-01-01"]),
        json!(["2024-01-01", "2024-01-02", "2024-01-03"]),
        json!([]),
        json!(huge),
        json!([1, 2]),
        json!(["1969-12-31T23:59:59Z", "1970-01-01T10:00:00Z"]),
        json!(["2105-12-31T00:00:00Z", "2106-02-07T06:28:16Z"]),
        json!(["2024-01-01T25:00:00Z", "2024-01-02T00:00:00Z"]),
        json!(["2024-01-01T00:00:00+99:00", "2024-01-02T00:00:00Z"]),
        json!(["2024-01-02", "2024-01-01"]),
        json!("forever"),
        json!(null),
        json!({"from": "2024-01-01"}),
    ];
    let mut failures = Vec::new();
    for range in refused {
        let shown: String = range.to_string().chars().take(80).collect();
        let (status, answer) = service.post(Some(ADMIN_TOKEN), &body(SITE, range)).await;
        let message = answer["error"].as_str().unwrap_or_default();
        if status != 400 || !message.contains("date_range") {
            failures.push(format!("{shown}: {status} {answer}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Still serving.
    assert_eq!(
        service.ok(&body(SITE, json!("day"))).await["results"][0]["metrics"][0],
        1
    );
    service.stop().await;
}

#[tokio::test]
async fn ranges_at_the_edges_of_what_clickhouse_stores_are_answered() {
    let (service, _db) = start().await;
    // Each range, and which sites' one event it holds.
    let cases = [
        (json!(["1970-01-01", "2105-12-31"]), [true, true, true]),
        (json!(["1970-01-01", "1970-01-01"]), [false, true, false]),
        (json!(["2105-12-31", "2105-12-31"]), [false, false, true]),
        (
            json!(["1970-01-01T00:00:00Z", "2105-12-31T23:59:59Z"]),
            [true, true, false],
        ),
    ];
    for (range, holds) in cases {
        for (site, holds_it) in [SITE, OTHER_SITE, NO_DNT_SITE].into_iter().zip(holds) {
            let answer = service.ok(&body(site, range.clone())).await;
            assert_eq!(
                answer["results"][0]["metrics"][0],
                u64::from(holds_it),
                "{site} {range}: {answer}"
            );
        }
    }
    // `all` for a site without events is today.
    let answer = service.ok(&body(EMPTY_SITE, json!("all"))).await;
    assert_eq!(answer["results"][0]["metrics"][0], 0);
    let first = answer["query"]["date_range"][0].as_str().unwrap();
    assert!(first.starts_with("2024-03-09T00:00:00"), "{answer}");
    service.stop().await;
}

fn labels_body(site: &str, dimension: &str, range: Value) -> Value {
    json!({"site_id": site, "metrics": ["visitors"], "date_range": range,
           "dimensions": [dimension], "include": {"time_labels": true}})
}

#[tokio::test]
async fn hourly_buckets_are_bounded_and_every_label_is_listed() {
    let (service, _db) = start().await;
    // Ten years of hours: refused at once, naming the limit.
    let started = std::time::Instant::now();
    let ten_years = labels_body(SITE, "time:hour", json!(["2014-01-01", "2023-12-31"]));
    let (status, answer) = service.post(Some(ADMIN_TOKEN), &ten_years).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.contains("time:hour") && message.contains("93 days"),
        "{message}"
    );
    // Generous: only proves that the refusal does not do the work first.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let range = json!(["2014-01-01T00:00:00Z", "2014-06-30T23:59:59Z"]);
    let (status, _) = service
        .post(Some(ADMIN_TOKEN), &labels_body(SITE, "time:hour", range))
        .await;
    assert_eq!(status, 400);

    // The longest hourly range: every hour of 93 days, in order, once.
    let first = NaiveDate::from_ymd_opt(2023, 12, 1).unwrap();
    let last = first + chrono::Duration::days(92);
    let range = json!([first.to_string(), last.to_string()]);
    let answer = service.ok(&labels_body(SITE, "time:hour", range)).await;
    let labels: Vec<&str> = answer["meta"]["time_labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..93 * 24)
        .map(|h| {
            (first.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(h))
                .format("%Y-%m-%d %H:00:00")
                .to_string()
        })
        .collect();
    assert_eq!(labels, expected);

    // Days may span everything ClickHouse stores: one label a day.
    let all_days = labels_body(SITE, "time:day", json!(["1970-01-01", "2105-12-31"]));
    let answer = service.ok(&all_days).await;
    let labels = answer["meta"]["time_labels"].as_array().unwrap();
    let days =
        NaiveDate::from_ymd_opt(2106, 1, 1).unwrap() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    assert_eq!(labels.len() as i64, days.num_days());
    assert_eq!(labels[0], "1970-01-01");
    assert_eq!(labels[labels.len() - 1], "2105-12-31");
    service.stop().await;
}
