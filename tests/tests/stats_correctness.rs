//! Every Stats API metric, dimension and filter, compared with a plain
//! Rust fold over the same hand-made events ([`integration_tests::fold`]):
//! visits are cut at 30-minute gaps per person (the ground truth the test
//! knows, not the stored ids), metrics follow the documented definitions,
//! values are named as Plausible names them, and filters are evaluated
//! with Rust string operations and the `regex` crate, never with SQL.
//!
//! The dataset spans three UTC days with visits that cross midnight (one
//! person across two nights in a row), gaps longer than 30 minutes,
//! bounces, interactive and non-interactive custom events, engagement
//! events, two sites in different time zones (one on its DST change day)
//! and injection-looking values.

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use integration_tests::fold::{
    actual, days_ctx, expected, plausible_metrics, to_row, Ctx, Ev, GAP, METRICS, NO_SD,
};
use integration_tests::query_harness::{insert, with_editors, TestQuery};
use integration_tests::{test_config, TestDb, OTHER_SITE, SITE};
use query::api::request::DIMENSIONS;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const OTHER_TZ: &str = "America/New_York";

fn day_start() -> i64 {
    Utc.with_ymd_and_hms(2024, 3, 9, 0, 0, 0)
        .unwrap()
        .timestamp()
}

/// The dataset's draws come from a seeded generator, so every run builds
/// the same data.
fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items.choose(rng).expect("a non-empty list")
}

const PAGES: [&str; 8] = [
    "/",
    "/blog",
    "/blog/post-1",
    "/docs/1",
    "/docs/22",
    "/pricing",
    "/'; DROP TABLE events; --",
    "/a\\'b%' OR 1=1",
];

fn person_attrs(rng: &mut StdRng) -> BTreeMap<&'static str, String> {
    let mut a = BTreeMap::new();
    let (browser, os, device) = *[
        ("Chrome", "Windows", "Desktop"),
        ("Firefox", "Linux", "Desktop"),
        ("Safari", "iOS", "Mobile"),
        ("Samsung Internet", "Android", "Tablet"),
    ]
    .get((rng.next_u64() % 4) as usize)
    .unwrap();
    a.insert("browser", browser.to_string());
    a.insert(
        "browser_version",
        pick(rng, &["120.0", "121.0", "17.2"]).into(),
    );
    a.insert("os", os.to_string());
    a.insert("os_version", pick(rng, &["10", "14.1", ""]).into());
    a.insert("device", device.to_string());
    let (country, region, city) = *[
        ("DE", "DE-BE", "Berlin"),
        ("GB", "GB-ENG", "London"),
        ("US", "US-NY", "New York"),
        ("", "", ""),
    ]
    .get((rng.next_u64() % 4) as usize)
    .unwrap();
    a.insert("country", country.into());
    a.insert("region", region.into());
    a.insert("city", city.into());
    a
}

fn visit_source(rng: &mut StdRng, a: &mut BTreeMap<&'static str, String>) {
    let (source, referrer, medium, usource, campaign) = *[
        ("Google", "google.com/search", "organic", "", ""),
        ("Direct / None", "", "", "", ""),
        ("Hacker News", "news.ycombinator.com/item", "", "", ""),
        ("newsletter", "", "email", "newsletter", "spring'24"),
        ("Bing", "bing.com", "cpc", "", "x\\y"),
    ]
    .get((rng.next_u64() % 5) as usize)
    .unwrap();
    a.insert("source", source.into());
    a.insert("referrer", referrer.into());
    a.insert("utm_medium", medium.into());
    a.insert("utm_source", usource.into());
    a.insert("utm_campaign", campaign.into());
    a.insert("utm_content", pick(rng, &["", "banner"]).into());
    a.insert("utm_term", pick(rng, &["", "analytics"]).into());
}

/// An engagement event's scroll depth, from its time: every fifth one
/// reports none.
fn engagement_sd(name: &str, ts: i64) -> u8 {
    match (name, ts % 5) {
        ("engagement", 0) => NO_SD,
        ("engagement", _) => (ts % 101) as u8,
        _ => 0,
    }
}

/// Random visits for 30 people on both sites, plus hand-made edge cases.
fn dataset() -> Vec<Ev> {
    let mut rng = StdRng::seed_from_u64(0x5EED_1234_ABCD_0001);
    let mut out = Vec::new();
    for person in 1..=30u64 {
        let site = if person % 3 == 0 { OTHER_SITE } else { SITE };
        let base_attrs = person_attrs(&mut rng);
        let mut ts = day_start() + (rng.next_u64() % (3 * 86_400 - 7200)) as i64;
        for _visit in 0..(1 + rng.next_u64() % 3) {
            let mut attrs = base_attrs.clone();
            visit_source(&mut rng, &mut attrs);
            for i in 0..(1 + rng.next_u64() % 4) {
                let name = match rng.next_u64() % 10 {
                    0 => "Signup",
                    1 => "Download",
                    2 if i > 0 => "engagement",
                    _ => "pageview",
                };
                let interactive = name != "engagement" && !(name == "Download" && person % 2 == 0);
                let mut props = Vec::new();
                if name == "Signup" {
                    props.push((
                        "plan".into(),
                        pick(&mut rng, &["pro", "free", "it's"]).into(),
                    ));
                }
                if rng.next_u64() % 5 == 0 {
                    props.push(("k'ey".into(), "v\\al".into()));
                }
                out.push(Ev {
                    site,
                    person,
                    ts,
                    name: name.into(),
                    path: pick(&mut rng, &PAGES).into(),
                    host: pick(&mut rng, &["example.com", "blog.example.com"]).into(),
                    props,
                    interactive,
                    attrs: attrs.clone(),
                    // Not from `rng`, so the other events stay as they were.
                    sd: engagement_sd(name, ts),
                    engaged_ms: if name == "engagement" {
                        (ts % 7000) as u32
                    } else {
                        0
                    },
                });
                // Later events of a visit carry their own (internal) source.
                attrs.insert("source", "Direct / None".into());
                attrs.insert("referrer", String::new());
                ts += 1 + (rng.next_u64() % 900) as i64;
            }
            ts += GAP + 1 + (rng.next_u64() % 20_000) as i64;
        }
    }
    out.extend(edge_cases());
    out
}

/// One person continuous across two UTC midnights; a bounce with a
/// non-interactive event; a gap of exactly 30 minutes (same visit) and of
/// 30 minutes and one second (two visits).
fn edge_cases() -> Vec<Ev> {
    let mut rng = StdRng::seed_from_u64(42);
    let mut attrs = person_attrs(&mut rng);
    visit_source(&mut rng, &mut attrs);
    attrs.insert("source", "DuckDuckGo".into());
    let ev = |person, ts: i64, name: &str, path: &str| Ev {
        site: SITE,
        person,
        ts,
        name: name.into(),
        path: path.into(),
        host: "example.com".into(),
        props: Vec::new(),
        interactive: name != "engagement" && name != "Outbound",
        attrs: attrs.clone(),
        sd: engagement_sd(name, ts),
        engaged_ms: if name == "engagement" { 1500 } else { 0 },
    };
    let d1 = day_start() + 86_400;
    let d2 = d1 + 86_400;
    let mut out = Vec::new();
    // Person 100 crosses two midnights in a row, so its ids of three days
    // link up: 23:40 day 0 to 00:20 day 1, then 23:00 day 1 to 00:15 day 2.
    for (i, t) in [d1 - 1200, d1 - 300, d1 + 600, d1 + 1200]
        .iter()
        .enumerate()
    {
        out.push(ev(
            100,
            *t,
            "pageview",
            if i == 0 { "/night" } else { "/docs/1" },
        ));
    }
    for t in [d2 - 3600, d2 - 2100, d2 - 600, d2 + 900] {
        out.push(ev(100, t, "pageview", "/blog"));
    }
    // Person 101: one pageview and a non-interactive event: a bounce.
    out.push(ev(101, d1 + 40_000, "pageview", "/"));
    out.push(ev(101, d1 + 40_100, "Outbound", "/"));
    // Person 102: gaps of exactly 1800 s, then 1801 s.
    out.push(ev(102, d1 + 50_000, "pageview", "/pricing"));
    out.push(ev(102, d1 + 51_800, "pageview", "/blog"));
    out.push(ev(102, d1 + 53_601, "pageview", "/pricing"));
    // Person 103: a pageview in the first minute of day 0, so that whole day
    // is materialized and has daily totals whatever the random visits draw.
    out.push(ev(103, day_start() + 30, "pageview", "/"));
    out
}

/// Two services over the same events: `service` reads visits materialized
/// up to the middle of the dataset and builds the rest; `raw` builds all.
struct Fixture {
    data: Vec<Ev>,
    service: TestQuery,
    raw: TestQuery,
    _db: TestDb,
}

impl Fixture {
    async fn stop(self) {
        self.service.stop().await;
        self.raw.stop().await;
    }
}

async fn fixture() -> Fixture {
    let mut config = test_config();
    with_editors(&mut config);
    config
        .site
        .iter_mut()
        .find(|s| s.domain == OTHER_SITE)
        .unwrap()
        .timezone = OTHER_TZ.into();
    let now = Utc
        .timestamp_opt(day_start() + 2 * 86_400 + 43_200, 0)
        .unwrap();
    let service = TestQuery::start(config.clone(), now).await;
    let mut raw_config = config.clone();
    raw_config.query.rollups = false;
    let raw = TestQuery::start(raw_config, now).await;
    let db = TestDb::connect(&config).await;
    let data = dataset();
    insert(&db, &data.iter().map(to_row).collect::<Vec<_>>()).await;
    // Hours up to 2024-03-10 19:00 UTC have settled by 20:00.
    let materialize_at = day_start() + 86_400 + 20 * 3600;
    let sites = [SITE.to_string(), OTHER_SITE.to_string()];
    let report = query::jobs::rollup::Rollup::default()
        .run_at(&db, &sites, materialize_at)
        .await
        .unwrap();
    assert!(report.new_hours > 24, "{report:?}");
    // 2024-03-09 is a complete materialized day: its daily totals exist.
    let daily = integration_tests::scalar(&db, "SELECT count() FROM visit_totals_daily").await;
    assert!(daily > 0, "no daily totals were made");
    Fixture {
        data,
        service,
        raw,
        _db: db,
    }
}

async fn check(
    f: &Fixture,
    site: &str,
    ctx: Ctx,
    date_range: Value,
    dims: &[&str],
    filters: &[Value],
) {
    check_metrics(f, site, ctx, date_range, dims, filters, &METRICS).await;
}

/// Event metrics alone: the shape the hourly rollup answers for time and
/// event dimensions too.
const EVENT_METRICS: [&str; 4] = ["visitors", "pageviews", "events", "percentage"];

async fn check_metrics(
    f: &Fixture,
    site: &str,
    ctx: Ctx,
    date_range: Value,
    dims: &[&str],
    filters: &[Value],
    metrics: &[&str],
) {
    // Only the metrics Plausible answers with these dimensions and filters:
    // it refuses the others (the conformance tests check that we do too).
    let metrics = plausible_metrics(metrics, dims, filters);
    let metrics = metrics.as_slice();
    let body = json!({
        "site_id": site, "metrics": metrics, "date_range": date_range,
        "dimensions": dims, "filters": filters,
    });
    let got = actual(&f.service.ok(&body).await);
    let raw = actual(&f.raw.ok(&body).await);
    let want = expected(&f.data, site, ctx, dims, filters, metrics);
    // Every case, filtered or not, must select something: an empty (or
    // all-zero) fold would make "the API agrees" mean nothing.
    assert!(
        want.values().flatten().any(|v| *v != 0.0),
        "the dataset should exercise {dims:?} under {filters:?}: the fold is {want:?}"
    );
    assert_eq!(raw, want, "query {body} built from raw events");
    assert_eq!(got, want, "query {body}");
}

/// The query service's dimensions, and custom properties whose keys need
/// quoting in SQL.
fn dimensions() -> impl Iterator<Item = &'static str> {
    let fixed = DIMENSIONS.iter().map(|(name, _)| *name);
    fixed.chain([
        "event:props:plan",
        "event:props:k'ey",
        "event:props:none'); DROP TABLE events; --",
    ])
}

#[tokio::test]
async fn every_metric_by_every_dimension_matches_the_fold() {
    let f = fixture().await;
    let ctx = days_ctx("2024-03-09", "2024-03-11", Tz::UTC, "time:day");
    let range = json!(["2024-03-09", "2024-03-11"]);
    check(&f, SITE, ctx, range.clone(), &[], &[]).await;
    for dim in dimensions() {
        check(&f, SITE, ctx, range.clone(), &[dim], &[]).await;
        check_metrics(&f, SITE, ctx, range.clone(), &[dim], &[], &EVENT_METRICS).await;
    }
    for dims in [["time:hour", "visit:source"], ["time:day", "event:page"]] {
        check_metrics(&f, SITE, ctx, range.clone(), &dims, &[], &EVENT_METRICS).await;
    }
    check(
        &f,
        SITE,
        ctx,
        range.clone(),
        &["visit:source", "event:page"],
        &[],
    )
    .await;
    // A single day: visits that started the day before are not this day's,
    // and those running past midnight count whole.
    let day = days_ctx("2024-03-10", "2024-03-10", Tz::UTC, "time:hour");
    for dim in ["time", "visit:exit_page", "event:page"] {
        check(
            &f,
            SITE,
            day,
            json!(["2024-03-10", "2024-03-10"]),
            &[dim],
            &[],
        )
        .await;
    }
    f.stop().await;
}

#[tokio::test]
async fn every_filter_matches_the_fold() {
    let f = fixture().await;
    let ctx = days_ctx("2024-03-09", "2024-03-11", Tz::UTC, "time:day");
    let range = json!(["2024-03-09", "2024-03-11"]);
    let filters = [
        json!(["is", "visit:source", ["Google", "DuckDuckGo"]]),
        json!(["is_not", "visit:country", ["DE"]]),
        json!(["contains", "event:page", ["/blog"]]),
        json!(["contains_not", "event:page", ["/blog", "docs"]]),
        json!(["matches", "event:page", ["^/docs/[0-9]+$"]]),
        json!(["matches_not", "visit:browser", ["^Fire"]]),
        json!(["is", "event:name", ["Signup"]]),
        json!(["is", "event:props:plan", ["pro", "it's"]]),
        json!(["is", "event:props:plan", ["(none)"]]),
        json!(["is", "event:hostname", ["blog.example.com"]]),
        json!(["is", "visit:entry_page", ["/"]]),
        json!(["is", "visit:exit_page", ["/pricing"]]),
        json!(["is", "visit:utm_campaign", ["spring'24"]]),
        json!(["is", "event:page", ["/'; DROP TABLE events; --"]]),
        json!(["contains", "event:page", ["%' OR 1=1"]]),
        json!(["is", "event:props:k'ey", ["v\\al"]]),
        json!(["is", "visit:utm_campaign", ["x\\y"]]),
        json!([
            "and",
            [
                ["is", "visit:device", ["Desktop"]],
                ["contains", "event:page", ["/"]]
            ]
        ]),
        json!([
            "or",
            [
                ["is", "visit:country", ["GB"]],
                ["is", "event:name", ["Download"]]
            ]
        ]),
        json!([
            "not",
            [
                "or",
                [
                    ["is", "visit:os", ["iOS"]],
                    ["contains", "event:page", ["blog"]]
                ]
            ]
        ]),
        // Three levels deep, each operator inside another.
        json!([
            "or",
            [
                [
                    "and",
                    [
                        ["not", ["is", "visit:device", ["Mobile"]]],
                        [
                            "or",
                            [
                                ["contains", "event:page", ["docs"]],
                                ["is", "event:name", ["Signup"]]
                            ]
                        ]
                    ]
                ],
                ["not", ["not", ["is", "visit:country", ["GB"]]]]
            ]
        ]),
        // Plausible's names match the values stored under uap-core's names,
        // and the old names still match too.
        json!(["is", "visit:os", ["GNU/Linux"]]),
        json!(["is", "visit:os", ["Linux"]]),
        json!(["is_not", "visit:browser", ["Samsung Browser"]]),
        json!(["contains_not", "visit:browser", ["Samsung Browser"]]),
        json!(["matches", "visit:os", ["^GNU/"]]),
        // Empty values read and filter as Plausible's labels.
        json!(["is", "visit:utm_medium", ["(not set)"]]),
        json!(["is", "visit:referrer", ["Direct / None"]]),
        json!(["is_not", "visit:os_version", ["(not set)"]]),
        // The case_sensitive modifier.
        json!(["is", "visit:browser", ["chrome", "SAFARI"], {"case_sensitive": false}]),
        json!(["is_not", "visit:utm_term", ["ANALYTICS"], {"case_sensitive": false}]),
        json!(["contains", "event:page", ["/BLOG"], {"case_sensitive": false}]),
        json!(["contains_not", "visit:os", ["gnu"], {"case_sensitive": false}]),
        json!(["matches", "event:page", ["^/DOCS/[0-9]+$"], {"case_sensitive": false}]),
        json!(["matches_not", "visit:source", ["^google"], {"case_sensitive": false}]),
        json!(["is", "event:page", ["/blog"], {"case_sensitive": true}]),
    ];
    for filter in &filters {
        check(
            &f,
            SITE,
            ctx,
            range.clone(),
            &[],
            std::slice::from_ref(filter),
        )
        .await;
        check(
            &f,
            SITE,
            ctx,
            range.clone(),
            &["visit:source"],
            std::slice::from_ref(filter),
        )
        .await;
        check(
            &f,
            SITE,
            ctx,
            range.clone(),
            &["event:page"],
            std::slice::from_ref(filter),
        )
        .await;
    }
    // Several top-level filters mean all of them.
    check(&f, SITE, ctx, range, &["time:day"], &filters[1..3]).await;
    f.stop().await;
}

#[tokio::test]
async fn a_site_in_another_zone_buckets_by_its_local_time() {
    let f = fixture().await;
    let tz: Tz = OTHER_TZ.parse().unwrap();
    // New York moves its clocks forward on 2024-03-10.
    let ctx = days_ctx("2024-03-09", "2024-03-11", tz, "time:day");
    for dim in ["time", "time:hour", "visit:source"] {
        check(
            &f,
            OTHER_SITE,
            ctx,
            json!(["2024-03-09", "2024-03-11"]),
            &[dim],
            &[],
        )
        .await;
    }
    f.stop().await;
}

#[tokio::test]
async fn named_ranges_equal_their_explicit_dates() {
    let f = fixture().await;
    // "Now" is noon UTC on 2024-03-11.
    for (name, first, last) in [
        ("day", "2024-03-11", "2024-03-11"),
        ("7d", "2024-03-05", "2024-03-11"),
        ("month", "2024-03-01", "2024-03-31"),
        ("all", "2024-03-09", "2024-03-11"),
    ] {
        let ctx = days_ctx(first, last, Tz::UTC, "time:day");
        let metrics = plausible_metrics(&METRICS, &["visit:source"], &[]);
        let named = f.service.ok(&json!({"site_id": SITE, "metrics": metrics, "date_range": name, "dimensions": ["visit:source"]})).await;
        let want = expected(&f.data, SITE, ctx, &["visit:source"], &[], &metrics);
        assert!(
            want.values().flatten().any(|v| *v != 0.0),
            "the dataset should have visits in {name}: {want:?}"
        );
        assert_eq!(actual(&named), want, "{name}");
        assert_eq!(
            named["query"]["date_range"][0].as_str().unwrap(),
            format!("{first}T00:00:00+00:00"),
            "{name}"
        );
    }
    f.stop().await;
}

#[tokio::test]
async fn ordering_pagination_and_totals() {
    let f = fixture().await;
    let ctx = days_ctx("2024-03-09", "2024-03-11", Tz::UTC, "time:day");
    let all = expected(&f.data, SITE, ctx, &["event:page"], &[], &["pageviews"]);
    let mut want: Vec<(Vec<String>, Vec<f64>)> = all.into_iter().collect();
    // More than one page of three, or the pagination below proves nothing.
    assert!(want.len() > 3, "{want:?}");
    // Pageviews descending, then the page ascending.
    want.sort_by(|a, b| b.1[0].partial_cmp(&a.1[0]).unwrap().then(a.0.cmp(&b.0)));
    let body = |offset: usize| {
        json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": ["2024-03-09", "2024-03-11"],
        "dimensions": ["event:page"], "order_by": [["pageviews", "desc"]],
        "pagination": {"limit": 3, "offset": offset}, "include": {"total_rows": true}})
    };
    let mut got = Vec::new();
    for offset in (0..want.len()).step_by(3) {
        let page = f.service.ok(&body(offset)).await;
        assert_eq!(
            page["meta"]["total_rows"].as_u64().unwrap() as usize,
            want.len()
        );
        for r in page["results"].as_array().unwrap() {
            got.push((
                vec![r["dimensions"][0].as_str().unwrap().to_string()],
                vec![r["metrics"][0].as_f64().unwrap()],
            ));
        }
    }
    assert_eq!(got, want);
    // time_labels cover the range even where nothing happened.
    let labels = f.service.ok(&json!({"site_id": SITE, "metrics": ["visitors"], "date_range": ["2024-03-01", "2024-03-11"],
        "dimensions": ["time:day"], "include": {"time_labels": true}})).await;
    let expected_labels: Vec<String> = (1..=11).map(|d| format!("2024-03-{d:02}")).collect();
    assert_eq!(labels["meta"]["time_labels"], json!(expected_labels));
    let days: Vec<&str> = labels["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dimensions"][0].as_str().unwrap())
        .collect();
    let mut sorted = days.clone();
    sorted.sort();
    assert_eq!(days, sorted, "time is ordered ascending by default");
    f.stop().await;
}

#[tokio::test]
async fn csv_carries_the_same_rows_with_a_header() {
    let f = fixture().await;
    let body = json!({"site_id": SITE, "metrics": ["visitors", "bounce_rate"], "date_range": ["2024-03-09", "2024-03-11"],
        "dimensions": ["visit:utm_campaign"]});
    let json_rows = f.service.ok(&body).await;
    let csv = f
        .service
        .http()
        .post(f.service.url("/api/v2/query"))
        .bearer_auth(integration_tests::query_harness::ADMIN_TOKEN)
        .header("accept", "text/csv")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["visit:utm_campaign", "visitors", "bounce_rate"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let from_json: Vec<Vec<String>> = json_rows["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut row = vec![r["dimensions"][0].as_str().unwrap().to_string()];
            row.extend(
                r["metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.to_string()),
            );
            row
        })
        .collect();
    assert_eq!(rows, from_json);
    assert!(
        rows.iter().any(|r| r[0] == "spring'24"),
        "quotes survive CSV"
    );
    f.stop().await;
}
