//! A site's k-anonymity threshold (`[[site]] min_visitors = K`): no answer
//! of the query service shows a count of 1 to K-1 visitors. A seeded site
//! with known small groups is asked every report shape (aggregate,
//! breakdown, time series, realtime, CSV, the dashboard's session), from
//! raw events and from rollups, and in cluster mode; every expected number
//! is counted here from the seeded rows.

use chrono::{TimeZone, Utc};
use integration_tests::cluster_harness::TestCluster;
use integration_tests::query_harness::{
    from_dashboard, insert, with_editors, TestQuery, ADMIN_TOKEN,
};
use integration_tests::{test_config, TestDb, NO_DNT_SITE, OTHER_SITE, SITE};
use schema::{Config, EventRow};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The threshold of [`SITE`] and [`OTHER_SITE`].
const K: usize = 3;
/// 2024-03-09 00:00 UTC: the seeded day.
const DAY: i64 = 1_709_942_400;
/// The service's clock: the next day at noon.
const NOW: i64 = DAY + 86_400 + 12 * 3600;
const RANGE: [&str; 2] = ["2024-03-09", "2024-03-09"];

/// One seeded visitor: id, the UTC hour of their visit, source, country,
/// city and the pages they view (a minute apart, so one visit).
struct Visitor {
    id: u64,
    hour: i64,
    source: &'static str,
    country: &'static str,
    city: &'static str,
    pages: &'static [&'static str],
}

const fn v(
    id: u64,
    hour: i64,
    source: &'static str,
    country: &'static str,
    city: &'static str,
    pages: &'static [&'static str],
) -> Visitor {
    Visitor {
        id,
        hour,
        source,
        country,
        city,
        pages,
    }
}

/// Pages `/c`, `/a` and `/b` have 1, 1 and 2 visitors, three distinct
/// ones together (4 if summed); sources `Direct / None`, `Newsletter` and
/// `Hacker News` are small; hour 11 has 2 visitors; Smallville has one.
const VISITORS: [Visitor; 13] = [
    v(1, 10, "Google", "DE", "Berlin", &["/", "/blog", "/c"]),
    v(2, 10, "Google", "DE", "Berlin", &["/", "/blog"]),
    v(3, 10, "Google", "DE", "Berlin", &["/", "/blog"]),
    v(4, 10, "Google", "DE", "Berlin", &["/", "/blog"]),
    v(5, 10, "Google", "DE", "Berlin", &["/"]),
    v(6, 10, "Google", "DE", "Berlin", &["/"]),
    v(7, 10, "Google", "DE", "Berlin", &["/"]),
    v(8, 10, "Google", "DE", "Berlin", &["/"]),
    v(9, 11, "", "DE", "Berlin", &["/"]),
    v(10, 11, "", "FR", "Paris", &["/"]),
    v(11, 12, "Newsletter", "FR", "Paris", &["/a", "/b"]),
    v(12, 12, "Hacker News", "US", "Smallville", &["/b"]),
    v(13, 12, "Google", "DE", "Berlin", &["/"]),
];

fn rows() -> Vec<EventRow> {
    let mut rows = Vec::new();
    for visitor in &VISITORS {
        for (i, page) in visitor.pages.iter().enumerate() {
            rows.push(EventRow {
                timestamp: (DAY + visitor.hour * 3600 + 600 + 60 * i as i64) as u32,
                site: SITE.into(),
                name: "pageview".into(),
                pathname: (*page).into(),
                visitor_id: visitor.id,
                interactive: 1,
                source: visitor.source.into(),
                country: visitor.country.into(),
                city: visitor.city.into(),
                ..EventRow::default()
            });
        }
    }
    rows
}

/// A group's value for one seeded visitor and page view, as answers show it.
type Key = fn(&Visitor, &str) -> String;

fn page(_: &Visitor, page: &str) -> String {
    page.into()
}

fn source(v: &Visitor, _: &str) -> String {
    if v.source.is_empty() {
        "Direct / None".into()
    } else {
        v.source.into()
    }
}

fn country(v: &Visitor, _: &str) -> String {
    v.country.into()
}

fn hour(v: &Visitor, _: &str) -> String {
    format!("2024-03-09 {:02}:00:00", v.hour)
}

/// Visitors and pageviews per group of `key`, over the visitors `keep` keeps.
fn groups(key: Key, keep: impl Fn(&Visitor) -> bool) -> BTreeMap<String, (BTreeSet<u64>, u64)> {
    let mut out: BTreeMap<String, (BTreeSet<u64>, u64)> = BTreeMap::new();
    for visitor in VISITORS.iter().filter(|v| keep(v)) {
        for p in visitor.pages {
            let entry = out.entry(key(visitor, p)).or_default();
            entry.0.insert(visitor.id);
            entry.1 += 1;
        }
    }
    out
}

/// What a breakdown by `key` answers under K, by hand: groups of K or more
/// visitors as they are; the rest merged into `(other)`, whose visitors are
/// the distinct visitors of the merged groups; `null` metrics for a row
/// still under K. Ordered by visitors, then value, as the service orders.
fn expected_breakdown(key: Key, keep: impl Fn(&Visitor) -> bool) -> Vec<(String, Value)> {
    let mut rows: Vec<(String, usize, u64)> = Vec::new();
    let mut other: (BTreeSet<u64>, u64) = Default::default();
    for (value, (ids, pageviews)) in groups(key, keep) {
        if ids.len() >= K {
            rows.push((value, ids.len(), pageviews));
        } else {
            other.0.extend(ids);
            other.1 += pageviews;
        }
    }
    if !other.0.is_empty() {
        rows.push(("(other)".into(), other.0.len(), other.1));
    }
    let shown = |n: usize| if n >= K { n } else { 0 };
    rows.sort_by(|a, b| shown(b.1).cmp(&shown(a.1)).then(a.0.cmp(&b.0)));
    rows.into_iter()
        .map(|(value, n, pageviews)| {
            let metrics = if n >= K {
                json!([n, pageviews])
            } else {
                json!([null, null])
            };
            (value, metrics)
        })
        .collect()
}

fn results(answer: &Value) -> Vec<(String, Value)> {
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
            (dims.join(" | "), r["metrics"].clone())
        })
        .collect()
}

fn breakdown(dimension: &str) -> Value {
    json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors", "pageviews"],
           "dimensions": [dimension]})
}

fn with_threshold(config: &mut Config) {
    with_editors(config);
    for site in &mut config.site {
        if site.domain != NO_DNT_SITE {
            site.min_visitors = Some(K as u32);
        }
    }
}

/// The seeded site served twice from one database with the threshold on:
/// from raw events only, and with the seeded day materialized for rollups.
struct Fixture {
    raw: TestQuery,
    rolled: TestQuery,
    plain: TestQuery,
    db: TestDb,
}

async fn fixture() -> Fixture {
    let mut config = test_config();
    with_threshold(&mut config);
    let now = Utc.timestamp_opt(NOW, 0).unwrap();
    let rolled = TestQuery::start(config.clone(), now).await;
    let mut raw_config = config.clone();
    raw_config.query.rollups = false;
    let raw = TestQuery::start(raw_config, now).await;
    let mut plain_config = config.clone();
    for site in &mut plain_config.site {
        site.min_visitors = None;
    }
    let plain = TestQuery::start(plain_config, now).await;
    let db = TestDb::connect(&config).await;
    insert(&db, &rows()).await;
    let sites: Vec<String> = config.site.iter().map(|s| s.domain.clone()).collect();
    let report = query::jobs::rollup::Rollup::default()
        .run_at(&db, &sites, NOW)
        .await
        .unwrap();
    assert!(report.new_hours > 0, "{report:?}");
    Fixture {
        raw,
        rolled,
        plain,
        db,
    }
}

impl Fixture {
    /// The thresholded services: raw events, then rollups.
    fn both(&self) -> [(&'static str, &TestQuery); 2] {
        [("raw", &self.raw), ("rollups", &self.rolled)]
    }
}

#[tokio::test]
async fn breakdown_rows_under_k_merge_into_an_other_row_counted_from_the_merged_rows() {
    let f = fixture().await;
    let cases: [(&str, Key); 3] = [
        ("event:page", page),
        ("visit:source", source),
        ("visit:country", country),
    ];
    for (name, service) in f.both() {
        for (dimension, key) in cases {
            let answer = service.ok(&breakdown(dimension)).await;
            let expected = expected_breakdown(key, |_| true);
            assert_eq!(results(&answer), expected, "{name} {dimension}: {answer}");
            assert_eq!(answer["meta"]["min_visitors"], json!(K), "{answer}");
        }
        // By hand: /c {1}, /a {11}, /b {11, 12} make an (other) of three
        // visitors, not the four their rows add up to, and 4 pageviews.
        let pages = results(&service.ok(&breakdown("event:page")).await);
        let other = pages.iter().find(|(v, _)| v == "(other)").unwrap();
        assert_eq!(other.1, json!([3, 4]), "{name}");
        // The totals stay what they are without a threshold.
        let total =
            json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors", "pageviews"]});
        assert_eq!(
            results(&service.ok(&total).await),
            [(String::new(), json!([VISITORS.len(), rows().len()]))],
            "{name}"
        );
    }
    // Unthresholded, the small rows are there as they are.
    let plain = results(&f.plain.ok(&breakdown("event:page")).await);
    assert!(plain.contains(&("/b".into(), json!([2, 2]))), "{plain:?}");
}

#[tokio::test]
async fn time_buckets_and_aggregates_under_k_are_suppressed() {
    let f = fixture().await;
    let series = json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors", "pageviews"],
                        "dimensions": ["time:hour"]});
    for (name, service) in f.both() {
        let answer = service.ok(&series).await;
        // Hour 10: 8 visitors, hour 11: 2 (hidden), hour 12: 3.
        let by_hand: Vec<(String, Value)> = groups(hour, |_| true)
            .into_iter()
            .map(|(h, (ids, pv))| {
                let m = if ids.len() >= K {
                    json!([ids.len(), pv])
                } else {
                    json!([null, null])
                };
                (h, m)
            })
            .collect();
        assert_eq!(results(&answer), by_hand, "{name}: {answer}");
        assert_eq!(answer["meta"]["suppressed_rows"], json!(1), "{answer}");
        // An aggregate of fewer than K: the range of hour 11 alone, asked
        // through a filter on its sources.
        let small = json!({"site_id": SITE, "date_range": RANGE,
            "metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"],
            "filters": [["is", "visit:source", ["Direct / None"]]]});
        let answer = service.ok(&small).await;
        assert_eq!(
            answer["results"][0]["metrics"],
            json!([null, null, null, null, null]),
            "{name}: {answer}"
        );
        assert_eq!(answer["meta"]["suppressed_rows"], json!(1));
    }
    // With a comparison against an empty day, the compared values and the
    // changes are hidden too, never shown as a drop to zero.
    let compared = json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors"],
        "dimensions": ["time:hour"], "include": {"comparisons": {"mode": "previous_period"}}});
    let answer = f.raw.ok(&compared).await;
    for row in answer["results"].as_array().unwrap() {
        assert_eq!(row["comparison"]["metrics"], json!([null]), "{row}");
        assert_eq!(row["comparison"]["change"], json!([null]), "{row}");
    }
}

#[tokio::test]
async fn filters_cannot_peel_the_threshold_back() {
    let f = fixture().await;
    for (name, service) in f.both() {
        // Smallville has one visitor: every page of theirs is under K, and
        // so is the (other) row they make.
        let mut body = breakdown("event:page");
        body["filters"] = json!([["is", "visit:city", ["Smallville"]]]);
        let answer = service.ok(&body).await;
        let expected = expected_breakdown(page, |v| v.city == "Smallville");
        assert_eq!(expected, [("(other)".into(), json!([null, null]))]);
        assert_eq!(results(&answer), expected, "{name}: {answer}");
        // France: two visitors, each source its own small group.
        let mut body = breakdown("visit:source");
        body["filters"] = json!([["is", "visit:country", ["FR"]]]);
        let answer = service.ok(&body).await;
        let expected = expected_breakdown(source, |v| v.country == "FR");
        assert_eq!(results(&answer), expected, "{name}: {answer}");
        // Germany by page: `/` and `/blog` stay, `/c` (one visitor) merges
        // into an (other) that is still under K.
        let mut body = breakdown("event:page");
        body["filters"] = json!([["is", "visit:country", ["DE"]]]);
        let answer = service.ok(&body).await;
        let expected = expected_breakdown(page, |v| v.country == "DE");
        assert_eq!(expected.len(), 3, "{expected:?}");
        assert_eq!(results(&answer), expected, "{name}: {answer}");
    }
}

#[tokio::test]
async fn the_threshold_changes_no_answer_when_every_group_has_k_visitors() {
    let f = fixture().await;
    let queries = [
        json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]}),
        json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors", "pageviews"], "dimensions": ["time:hour"],
               "filters": [["is_not", "visit:source", ["Direct / None"]]]}),
        json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors", "visits", "percentage"], "dimensions": ["visit:source"],
               "filters": [["is", "visit:source", ["Google", "Hacker News", "Newsletter"]], ["is", "visit:country", ["DE", "FR", "US"]]]}),
        json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors", "pageviews"], "dimensions": ["event:page"],
               "filters": [["is", "event:page", ["/", "/blog"]]]}),
        json!({"site_id": SITE, "date_range": RANGE, "metrics": ["visitors", "bounce_rate"], "dimensions": ["visit:device"]}),
    ];
    let mut checked = 0;
    for query in &queries {
        let plain = f.plain.ok(query).await;
        let visitors: Vec<u64> = plain["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["metrics"][0].as_u64().unwrap())
            .collect();
        if visitors.iter().any(|&n| n < K as u64) {
            // Only the queries whose every group has K visitors say
            // anything here; the third one does not (its Hacker News and
            // Newsletter rows are small), which the (other) row shows.
            let answer = f.raw.ok(query).await;
            assert!(
                results(&answer).iter().any(|(v, _)| v == "(other)"),
                "{answer}"
            );
            continue;
        }
        for (name, service) in f.both() {
            let answer = service.ok(query).await;
            assert_eq!(answer["results"], plain["results"], "{name} {query}");
            assert_eq!(
                answer["meta"]["suppressed_rows"],
                json!(0),
                "{name} {query}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, queries.len() - 1);
}

/// `Accept: text/csv` with the admin's token: the cells of each row.
async fn csv(service: &TestQuery, body: &Value) -> Vec<Vec<String>> {
    let response = service
        .http()
        .post(service.url("/api/v2/query"))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "text/csv")
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

#[tokio::test]
async fn csv_exports_and_the_dashboards_session_follow_the_same_rules() {
    let f = fixture().await;
    let fewer = format!("<{K}");
    for (name, service) in f.both() {
        let pages = csv(service, &breakdown("event:page")).await;
        let expected: Vec<Vec<String>> = expected_breakdown(page, |_| true)
            .into_iter()
            .map(|(value, m)| {
                let cell = |v: &Value| v.as_u64().map_or(fewer.clone(), |n| n.to_string());
                vec![value, cell(&m[0]), cell(&m[1])]
            })
            .collect();
        assert_eq!(pages, expected, "{name}");
        let mut series = breakdown("time:hour");
        series["dimensions"] = json!(["time:hour"]);
        let hours = csv(service, &series).await;
        assert!(
            hours.contains(&vec![
                "2024-03-09 11:00:00".into(),
                fewer.clone(),
                fewer.clone()
            ]),
            "{name}: {hours:?}"
        );
    }
    // The dashboard asks the same API with its session: the same rows.
    let cookie = f.raw.session(ADMIN_TOKEN).await;
    let url = f.raw.url("/api/v2/query");
    let response = from_dashboard(f.raw.http(), &url, Some(&cookie))
        .json(&breakdown("visit:source"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(results(&answer), expected_breakdown(source, |_| true));
    // And its assets know the shape: null metrics read "< K".
    let format = f
        .raw
        .http()
        .get(f.raw.url("/format.js"))
        .send()
        .await
        .unwrap();
    assert!(format
        .text()
        .await
        .unwrap()
        .contains("export function fewer(k)"));
}

/// Visitors with a pageview a minute before [`NOW`] on `site`.
fn recent(site: &str, ids: std::ops::Range<u64>) -> Vec<EventRow> {
    ids.map(|id| EventRow {
        timestamp: (NOW - 60) as u32,
        site: site.into(),
        name: "pageview".into(),
        pathname: "/".into(),
        visitor_id: id,
        interactive: 1,
        ..EventRow::default()
    })
    .collect()
}

/// `GET /api/v1/stats/realtime/visitors` with `auth` applied.
async fn realtime(service: &TestQuery, site: &str, cookie: Option<&str>) -> Value {
    let url = service.url(&format!("/api/v1/stats/realtime/visitors?site_id={site}"));
    let request = match cookie {
        Some(c) => service
            .http()
            .get(url)
            .header("x-requested-with", "dashboard")
            .header("cookie", c),
        None => service.http().get(url).bearer_auth(ADMIN_TOKEN),
    };
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn realtime_shows_fewer_than_k() {
    let f = fixture().await;
    // SITE: three now; OTHER_SITE (also K = 3): two; NO_DNT_SITE (no
    // threshold): one.
    let mut rows = recent(SITE, 100..103);
    rows.extend(recent(OTHER_SITE, 200..202));
    rows.extend(recent(NO_DNT_SITE, 300..301));
    insert(&f.db, &rows).await;
    assert_eq!(realtime(&f.raw, SITE, None).await, json!(3));
    assert_eq!(realtime(&f.raw, OTHER_SITE, None).await, json!("<3"));
    assert_eq!(realtime(&f.raw, NO_DNT_SITE, None).await, json!(1));
    let cookie = f.raw.session(ADMIN_TOKEN).await;
    assert_eq!(
        realtime(&f.raw, OTHER_SITE, Some(&cookie)).await,
        json!("<3")
    );
    assert_eq!(realtime(&f.plain, OTHER_SITE, None).await, json!(2));

    // The dashboard's realtime view: the same current visitors, every
    // minute and total under K as "<3", and no page or source under K.
    let view = |site: &str| {
        let url = f
            .raw
            .url(&format!("/api/dashboard/realtime?site_id={site}"));
        let request = f.raw.http().get(url).bearer_auth(ADMIN_TOKEN);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let small = view(OTHER_SITE).await;
    assert_eq!(small["current_visitors"], json!("<3"), "{small}");
    assert_eq!(small["visitors"], json!("<3"), "{small}");
    assert_eq!(small["pageviews"], json!("<3"), "{small}");
    assert_eq!(small["pages"], json!([]), "{small}");
    assert_eq!(small["sources"], json!([]), "{small}");
    assert_eq!(small["min_visitors"], json!(K), "{small}");
    for minute in small["minutes"].as_array().unwrap() {
        assert_eq!(minute["visitors"], json!("<3"), "{minute}");
    }
    let big = view(SITE).await;
    assert_eq!(big["current_visitors"], json!(3), "{big}");
    assert_eq!(big["visitors"], json!(3), "{big}");
    assert_eq!(big["pages"], json!([{"page": "/", "visitors": 3}]), "{big}");
    let last_minutes: Vec<&Value> = big["minutes"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(2)
        .collect();
    assert!(
        last_minutes.contains(&&json!({"minutes_ago": 1, "visitors": 3, "pageviews": 3})),
        "{big}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_thresholds_the_same_way() {
    let cluster = TestCluster::start();
    let mut config = cluster.config(1);
    with_threshold(&mut config);
    let now = Utc.timestamp_opt(NOW, 0).unwrap();
    let service = TestQuery::start(config, now).await;
    let db = schema::connect(&cluster.config(0).clickhouse)
        .await
        .unwrap();
    insert(&db, &rows()).await;
    let cases: [(&str, Key); 2] = [("event:page", page), ("visit:source", source)];
    for (dimension, key) in cases {
        let answer = service.ok(&breakdown(dimension)).await;
        assert_eq!(
            results(&answer),
            expected_breakdown(key, |_| true),
            "{dimension}: {answer}"
        );
    }
    service.stop().await;
}
