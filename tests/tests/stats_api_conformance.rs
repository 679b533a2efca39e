//! Plausible's own requests, answered the way Plausible answers them.
//!
//! Each case is a request shape taken from Plausible's Stats API v2
//! documentation (plausible.io/docs/stats-api, its examples and tables) or
//! from its test suite (`query_test.exs`, `query_validations_test.exs`,
//! `query_comparisons_test.exs`, `query_parser_test.exs`), sent to the real
//! service over inserted rows. A valid case is checked against either:
//! - the tests' own fold over the rows ([`integration_tests::fold`]), for
//!   shapes over the general dataset; or
//! - the very answer Plausible's test expects, over the very rows that test
//!   inserts (each such scenario has a site of its own), so the numbers are
//!   Plausible's, not ours.
//!
//! An invalid case must be refused with `400` and a message naming the
//! problem. Every case runs, and all failures are reported together.
//!
//! Where we deliberately answer differently (docs/stats-api.md, "Differences
//! from Plausible"), the case says so.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use integration_tests::fold::{actual, days_ctx, expected, to_row, Ctx, Ev};
use integration_tests::query_harness::{insert, with_editors, TestQuery, ADMIN_TOKEN};
use integration_tests::{test_config, TestDb, SITE};
use schema::config::SiteConfig;
use serde_json::{json, Value};

/// "Now" for the service: Thursday 2021-07-01, noon UTC.
const NOW: &str = "2021-07-01 12:00";

/// One site per scenario of Plausible's tests, so that each holds exactly
/// the rows that test inserts.
const CMP_AGGREGATE: &str = "cmp-aggregate.example";
const CMP_SINGLE: &str = "cmp-single.example";
const CMP_SERIES_OLD: &str = "cmp-series-old.example";
const CMP_UTM: &str = "cmp-utm.example";
const CMP_SERIES: &str = "cmp-series.example";
const CMP_YOY: &str = "cmp-yoy.example";
const CMP_CUSTOM: &str = "cmp-custom.example";
const CMP_BROWSERS: &str = "cmp-browsers.example";
const UTM_CI: &str = "utm-ci.example";
const BREAKDOWNS: &str = "breakdowns.example";

const SCENARIO_SITES: [&str; 10] = [
    CMP_AGGREGATE,
    CMP_SINGLE,
    CMP_SERIES_OLD,
    CMP_UTM,
    CMP_SERIES,
    CMP_YOY,
    CMP_CUSTOM,
    CMP_BROWSERS,
    UTM_CI,
    BREAKDOWNS,
];

fn at(s: &str) -> i64 {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .unwrap()
        .and_utc()
        .timestamp()
}

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(at(NOW), 0).unwrap()
}

// ------------------------------------------------------------------ rows

/// A person's visit attributes, as the collector stores them on each event.
fn person(
    site: &'static str,
    id: u64,
    attrs: &[(&'static str, &str)],
) -> impl Fn(&str, &str) -> Ev {
    let attrs: Vec<(&'static str, String)> =
        attrs.iter().map(|(k, v)| (*k, v.to_string())).collect();
    move |when: &str, path: &str| {
        let mut e = Ev::pageview(site, id, at(when), path);
        for (k, v) in &attrs {
            e = e.with(k, v);
        }
        e
    }
}

fn custom(mut e: Ev, name: &str, props: &[(&str, &str)], interactive: bool) -> Ev {
    e.name = name.into();
    e.props = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    e.interactive = interactive;
    e
}

/// The general dataset of [`SITE`]: ten people over the three months
/// before "now", with values stored under uap-core's names (`macOS`,
/// `Linux`, `Samsung Internet`, `Edge`, `Facebook`) and empty ones.
fn general() -> Vec<Ev> {
    let p1 = person(
        SITE,
        1,
        &[
            ("browser", "Chrome"),
            ("browser_version", "91.0"),
            ("os", "macOS"),
            ("os_version", "10.15"),
            ("device", "Desktop"),
            ("source", "Google"),
            ("referrer", "google.com"),
            ("utm_medium", "cpc"),
            ("utm_source", "google"),
            ("country", "US"),
            ("region", "US-CA"),
            ("city", "San Francisco"),
        ],
    );
    let p2 = person(
        SITE,
        2,
        &[
            ("browser", "Safari"),
            ("browser_version", "14.1"),
            ("os", "iOS"),
            ("os_version", "14.6"),
            ("device", "Mobile"),
            ("country", "DE"),
            ("region", "DE-BE"),
            ("city", "Berlin"),
        ],
    );
    let p3 = person(
        SITE,
        3,
        &[
            ("browser", "Firefox"),
            ("browser_version", "89.0"),
            ("os", "Linux"),
            ("device", "Desktop"),
            ("source", "Hacker News"),
            ("referrer", "news.ycombinator.com"),
            ("utm_medium", "Social"),
            ("country", "EE"),
            ("region", "EE-37"),
            ("city", "Tallinn"),
        ],
    );
    let p4 = person(
        SITE,
        4,
        &[
            ("browser", "Edge"),
            ("browser_version", "91.0"),
            ("os", "Windows"),
            ("os_version", "10"),
            ("device", "Desktop"),
            ("source", "Twitter"),
            ("referrer", "t.co"),
            ("utm_medium", "SOCIAL"),
            ("utm_campaign", "summer"),
            ("country", "US"),
            ("region", "US-NY"),
            ("city", "New York"),
        ],
    );
    let p5 = person(
        SITE,
        5,
        &[
            ("browser", "Samsung Internet"),
            ("browser_version", "14.2"),
            ("os", "Android"),
            ("os_version", "11"),
            ("device", "Tablet"),
            ("source", "Google"),
            ("country", "GB"),
            ("region", "GB-ENG"),
            ("city", "London"),
        ],
    );
    let p6 = person(
        SITE,
        6,
        &[
            ("browser", "Chrome"),
            ("browser_version", "91.0"),
            ("os", "ChromeOS"),
            ("device", "Desktop"),
            ("source", "DuckDuckGo"),
        ],
    );
    let p7 = person(SITE, 7, &[]);
    let p8 = person(
        SITE,
        8,
        &[
            ("browser", "Chrome"),
            ("browser_version", "91.0"),
            ("os", "Windows"),
            ("os_version", "10"),
            ("device", "Desktop"),
            ("source", "Google"),
            ("country", "US"),
        ],
    );
    let p9 = person(
        SITE,
        9,
        &[
            ("browser", "Facebook"),
            ("browser_version", "320.0"),
            ("os", "iOS"),
            ("os_version", "14.6"),
            ("device", "Mobile"),
            ("source", "Facebook"),
            ("referrer", "m.facebook.com"),
            ("country", "GB"),
        ],
    );
    let p10 = person(
        SITE,
        10,
        &[
            ("browser", "Firefox"),
            ("browser_version", "89.0"),
            ("os", "Windows"),
            ("os_version", "10"),
            ("device", "Desktop"),
            ("source", "Direct / None"),
            ("country", "US"),
        ],
    );
    let mut blog_host = p5("2021-06-15 08:10", "/docs/1");
    blog_host.host = "blog.example.com".into();
    let mut plausible_host = p8("2021-07-01 11:30", "/blog/post-2");
    plausible_host.host = "a.plausible.io".into();
    vec![
        p1("2021-07-01 09:00", "/"),
        p1("2021-07-01 09:05", "/blog/post-1"),
        custom(
            p1("2021-07-01 09:06", "/blog/post-1"),
            "Signup",
            &[("author", "Uku")],
            true,
        ),
        p2("2021-07-01 10:00", "/BLOG"),
        p3("2021-06-30 23:50", "/blog"),
        p3("2021-07-01 00:10", "/docs"),
        p4("2021-06-28 12:00", "/pricing"),
        custom(
            p4("2021-06-28 12:01", "/pricing"),
            "Download",
            &[("author", "Marko")],
            true,
        ),
        p5("2021-06-15 08:00", "/"),
        blog_host,
        p6("2021-05-20 15:00", "/about"),
        p7("2021-04-05 10:00", "/"),
        plausible_host,
        custom(
            p8("2021-07-01 11:31", "/blog/post-2"),
            "Outbound",
            &[("url", "https://example.org")],
            false,
        ),
        p9("2021-06-30 14:00", "/user/123"),
        p10("2021-07-01 11:55", "/"),
    ]
}

/// Pageviews of distinct people, one per `(time, attributes)`: how
/// Plausible's tests `build(:pageview, ...)` without a `user_id`.
fn pageviews(
    site: &'static str,
    first_person: u64,
    rows: &[(&str, &[(&'static str, &str)])],
) -> Vec<Ev> {
    rows.iter()
        .enumerate()
        .map(|(i, (when, attrs))| person(site, first_person + i as u64, attrs)(when, "/"))
        .collect()
}

/// The rows of each scenario from Plausible's tests, on its own site.
fn scenarios() -> Vec<Ev> {
    let none: &[(&'static str, &str)] = &[];
    let mut out = Vec::new();
    // query_comparisons_test.exs, "aggregate previous_period comparison".
    out.extend(pageviews(
        CMP_AGGREGATE,
        100,
        &[
            ("2021-04-20 00:00", none),
            ("2021-05-01 00:00", none),
            ("2021-05-02 00:00", none),
            ("2021-05-03 00:00", none),
        ],
    ));
    // query_comparisons_test.exs (internal API version), "aggregates a single metric".
    out.extend(pageviews(
        CMP_SINGLE,
        200,
        &[
            ("2021-01-01 00:00", none),
            ("2021-01-01 00:25", none),
            ("2021-01-02 00:00", none),
            ("2021-01-07 00:00", none),
        ],
    ));
    // query_comparisons_test.exs (internal API version), "timeseries comparison".
    out.extend(pageviews(
        CMP_SERIES_OLD,
        300,
        &[
            ("2021-01-01 00:00", none),
            ("2021-01-01 00:25", none),
            ("2021-01-06 00:00", none),
            ("2021-01-07 00:00", none),
            ("2021-01-08 00:00", none),
        ],
    ));
    // "utm_source previous_period comparison".
    let google: &[(&'static str, &str)] = &[("utm_source", "Google")];
    out.extend(pageviews(
        CMP_UTM,
        400,
        &[
            ("2021-04-20 00:00", google),
            ("2021-04-21 00:00", google),
            ("2021-04-22 00:00", google),
            ("2021-04-23 00:00", google),
            ("2021-04-24 00:00", &[("utm_source", "Bing")]),
            ("2021-05-01 00:00", google),
            ("2021-05-02 00:00", none),
            ("2021-05-03 00:00", &[("utm_source", "Facebook")]),
            ("2021-05-04 00:00", google),
        ],
    ));
    // "time series previous_period comparison" (also with match_day_of_week).
    out.extend(pageviews(
        CMP_SERIES,
        500,
        &[
            ("2021-05-27 00:00", none),
            ("2021-05-28 00:00", none),
            ("2021-05-30 00:00", none),
            ("2021-05-30 00:00", none),
            ("2021-05-31 00:00", none),
            ("2021-06-01 00:00", none),
            ("2021-06-02 00:00", none),
            ("2021-06-02 00:00", none),
            ("2021-06-03 00:00", none),
        ],
    ));
    // "time series year_over_year comparison".
    out.extend(pageviews(
        CMP_YOY,
        600,
        &[
            ("2020-01-01 00:00", none),
            ("2020-01-05 00:00", none),
            ("2020-01-30 00:00", none),
            ("2020-01-31 00:00", none),
            ("2019-01-01 00:00", none),
            ("2019-01-01 00:00", none),
            ("2019-01-05 00:00", none),
            ("2019-01-05 00:00", none),
            ("2019-01-31 00:00", none),
        ],
    ));
    // "time series custom date range comparison".
    out.extend(pageviews(
        CMP_CUSTOM,
        700,
        &[
            ("2021-05-01 00:00", none),
            ("2021-05-02 00:00", none),
            ("2021-05-03 00:00", none),
            ("2021-05-03 00:00", none),
            ("2021-05-04 00:00", none),
            ("2021-06-01 00:00", none),
            ("2021-06-02 00:00", none),
            ("2021-06-02 00:00", none),
            ("2021-06-03 00:00", none),
        ],
    ));
    // "dimensional comparison with low limit".
    let firefox: &[(&'static str, &str)] = &[("browser", "Firefox")];
    let safari: &[(&'static str, &str)] = &[("browser", "Safari")];
    let chrome: &[(&'static str, &str)] = &[("browser", "Chrome")];
    out.extend(pageviews(
        CMP_BROWSERS,
        800,
        &[
            ("2021-01-01 00:00", firefox),
            ("2021-01-01 00:00", firefox),
            ("2021-01-01 00:00", firefox),
            ("2021-01-01 00:00", firefox),
            ("2021-01-01 00:00", safari),
            ("2021-01-01 00:00", safari),
            ("2021-01-01 00:00", safari),
            ("2021-01-01 00:00", chrome),
            ("2021-01-07 00:00", chrome),
            ("2021-01-07 00:00", chrome),
            ("2021-01-07 00:00", chrome),
            ("2021-01-07 00:00", firefox),
            ("2021-01-07 00:00", firefox),
            ("2021-01-08 00:00", safari),
        ],
    ));
    // query_test.exs, "can filter by utm_medium case insensitively": one
    // person's visit tagged `Social` (then `SOCIAL`), and an untagged one.
    let tagged = person(UTM_CI, 900, &[("utm_medium", "Social")]);
    out.push(tagged("2021-01-01 00:00", "/"));
    out.push(tagged("2021-01-01 00:25", "/").with("utm_medium", "SOCIAL"));
    out.extend(pageviews(UTM_CI, 901, &[("2021-01-01 00:00", none)]));
    // query_test.exs, "simple breakdown by <dimension>": three pageviews
    // with one value, two with another, one with none (stored empty), a
    // day per dimension. The OS is stored under uap-core's name `macOS`.
    for (i, (column, first, second, _)) in BREAKDOWN_CASES.iter().enumerate() {
        let day = format!("2021-02-{:02}", i + 1);
        let stored_first = if *first == "Mac" { "macOS" } else { first };
        let one: Vec<(&'static str, &str)> = vec![(*column, stored_first)];
        let two: Vec<(&'static str, &str)> = vec![(*column, second)];
        let times = ["00:00", "00:25", "00:55", "01:00", "01:25", "01:55"];
        let whens: Vec<String> = times.iter().map(|t| format!("{day} {t}")).collect();
        out.extend(pageviews(
            BREAKDOWNS,
            1000 + 10 * i as u64,
            &[
                (whens[0].as_str(), one.as_slice()),
                (whens[1].as_str(), one.as_slice()),
                (whens[2].as_str(), one.as_slice()),
                (whens[3].as_str(), two.as_slice()),
                (whens[4].as_str(), two.as_slice()),
                (whens[5].as_str(), none),
            ],
        ));
    }
    out
}

/// query_test.exs's "simple breakdown" table: the visit column, two
/// values, and the label Plausible gives an empty value.
const BREAKDOWN_CASES: [(&str, &str, &str, &str); 10] = [
    ("source", "Google", "Twitter", "Direct / None"),
    ("referrer", "example.com", "google.com", "Direct / None"),
    ("utm_medium", "Search", "social", "(not set)"),
    ("utm_source", "Google", "Bing", "(not set)"),
    ("utm_campaign", "ads", "profile", "(not set)"),
    ("utm_content", "Content1", "blog2", "(not set)"),
    ("utm_term", "Term1", "favicon", "(not set)"),
    ("os", "Mac", "Windows", "(not set)"),
    ("browser", "Chrome", "Safari", "(not set)"),
    ("device", "Mobile", "Desktop", "(not set)"),
];

// ----------------------------------------------------------------- cases

/// What a case must answer.
enum Expect {
    /// `200` with the rows the fold computes over the general dataset for
    /// the body's metrics, dimensions and filters in `Ctx`.
    Fold(Ctx),
    /// `200` with exactly these results, in this order: Plausible's own
    /// expected answer.
    Rows(Value),
    /// `200` with these results in any order (Plausible's answer, where
    /// rows tie and neither side promises an order).
    RowsAnyOrder(Value),
    /// `400` with a message holding each of these.
    Refused(&'static [&'static str]),
}

struct Case {
    name: &'static str,
    body: Value,
    expect: Expect,
    /// Further `(JSON pointer, value)` pairs the answer must hold.
    also: Vec<(&'static str, Value)>,
}

fn case(name: &'static str, body: Value, expect: Expect) -> Case {
    Case {
        name,
        body,
        expect,
        also: Vec::new(),
    }
}

impl Case {
    fn and(mut self, pointer: &'static str, value: Value) -> Self {
        self.also.push((pointer, value));
        self
    }
}

/// A body for the general site.
fn q(extra: Value) -> Value {
    let mut body = json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "all"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A body for a scenario site.
fn on(site: &str, extra: Value) -> Value {
    let mut body = q(extra);
    body["site_id"] = json!(site);
    body
}

fn utc(first: &str, last: &str, auto: &'static str) -> Ctx {
    days_ctx(first, last, Tz::UTC, auto)
}

/// From "all": the first event's day to today.
fn all() -> Ctx {
    utc("2021-04-05", "2021-07-01", "time:day")
}

fn valid_cases() -> Vec<Case> {
    use Expect::*;
    let mut cases = vec![
        // The docs' examples.
        case(
            "docs: simple aggregate",
            q(json!({"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events"], "date_range": "7d"})),
            // Our "7d" ends today (Plausible's latest ends it yesterday; see the docs).
            Fold(utc("2021-06-25", "2021-07-01", "time:day")),
        ),
        case(
            "docs: custom date range",
            q(json!({"metrics": ["visitors", "pageviews"], "date_range": ["2021-06-01", "2021-06-30"]})),
            Fold(utc("2021-06-01", "2021-06-30", "time:day")),
        )
        .and("/query/date_range", json!(["2021-06-01T00:00:00+00:00", "2021-06-30T23:59:59+00:00"])),
        case(
            "docs: country and city analysis",
            q(json!({"dimensions": ["visit:country", "visit:city"]})),
            Fold(all()),
        ),
        case(
            "docs: UTM medium, source analysis (empty values are (not set))",
            q(json!({"dimensions": ["visit:utm_medium", "visit:utm_source"]})),
            Fold(all()),
        ),
        case(
            "docs: filtering by page and country",
            q(json!({"metrics": ["visitors", "pageviews"], "filters": [["contains", "event:page", ["/blog"]], ["is", "visit:country", ["US", "DE", "EE"]]]})),
            Fold(all()),
        ),
        case(
            "docs: case insensitive filtering",
            q(json!({"metrics": ["visitors", "pageviews"], "filters": [["contains", "event:page", ["/BLOG"], {"case_sensitive": false}]]})),
            Fold(all()),
        ),
        case(
            "docs: timeseries query",
            q(json!({"metrics": ["visitors", "pageviews"], "date_range": "month", "dimensions": ["time"]})),
            Fold(utc("2021-07-01", "2021-07-31", "time:day")),
        ),
        case(
            "docs: timeseries query hourly, with labels",
            q(json!({"date_range": "day", "dimensions": ["time:hour"], "include": {"time_labels": true}})),
            Fold(utc("2021-07-01", "2021-07-01", "time:hour")),
        )
        .and("/meta/time_labels/0", json!("2021-07-01 00:00:00"))
        .and("/meta/time_labels/23", json!("2021-07-01 23:00:00")),
        case(
            "docs: using custom properties",
            q(json!({"metrics": ["visitors", "events"], "dimensions": ["event:props:author"], "order_by": [["events", "desc"]]})),
            Fold(all()),
        ),
        case(
            "docs: logical operations, or of and and not",
            q(json!({"metrics": ["visitors", "pageviews"], "filters": [["or", [
                ["and", [["is", "visit:country", ["US"]], ["contains", "event:page", ["/blog"]]]],
                ["not", ["is", "visit:country", ["US", "GB"]]]
            ]]]})),
            Fold(all()),
        ),
        case(
            "docs: operators is_not, contains_not and matches together",
            q(json!({"metrics": ["visitors", "pageviews"], "filters": [
                ["is_not", "event:page", ["/pricing"]],
                ["contains_not", "event:page", ["docs", "pricing"]],
                ["matches", "event:page", ["^/user/\\d+$", "^/$"]]
            ]})),
            Fold(all()),
        ),
        case(
            "docs: matches takes re2 patterns, `?` included",
            q(json!({"metrics": ["visitors", "pageviews"], "filters": [["matches", "event:page", ["^/blog(/post-[0-9])?$"]]]})),
            Fold(all()),
        ),
        case(
            "docs: date_range 28d",
            q(json!({"metrics": ["visitors", "pageviews"], "date_range": "28d"})),
            Fold(utc("2021-06-04", "2021-07-01", "time:day")),
        ),
        case(
            "docs: date_range 91d",
            q(json!({"metrics": ["visitors", "pageviews"], "date_range": "91d"})),
            Fold(utc("2021-04-02", "2021-07-01", "time:day")),
        )
        .and("/query/date_range/0", json!("2021-04-02T00:00:00+00:00")),
        case(
            "docs: date_range 6mo by time:month",
            q(json!({"date_range": "6mo", "dimensions": ["time:month"]})),
            Fold(utc("2021-02-01", "2021-07-31", "time:month")),
        ),
        case(
            "api_query_parser_test: 24h",
            q(json!({"metrics": ["visitors", "pageviews"], "date_range": "24h"})),
            Fold(Ctx {
                tz: Tz::UTC,
                from: at("2021-06-30 12:00"),
                to: at(NOW) + 1,
                auto: "time:hour",
            }),
        )
        .and("/query/date_range", json!(["2021-06-30T12:00:00+00:00", "2021-07-01T12:00:00+00:00"])),
        case(
            "api_query_parser_test: 24h by time is by hour",
            q(json!({"date_range": "24h", "dimensions": ["time"]})),
            Fold(Ctx {
                tz: Tz::UTC,
                from: at("2021-06-30 12:00"),
                to: at(NOW) + 1,
                auto: "time:hour",
            }),
        ),
        case(
            "query_parser_test: any Nd shorthand (10d)",
            q(json!({"date_range": "10d"})),
            Fold(utc("2021-06-22", "2021-07-01", "time:day")),
        ),
        // Nesting, from the docs' logical operators, deeper than one level.
        case(
            "nested and/or/not four levels deep",
            q(json!({"metrics": ["visitors", "visits"], "dimensions": ["visit:source"], "filters": [["not", ["or", [
                ["and", [["not", ["contains", "event:page", ["blog"]]], ["or", [["is", "visit:device", ["Mobile"]], ["is", "visit:os", ["Windows"]]]]]],
                ["is", "visit:country", ["EE"]]
            ]]]]})),
            Fold(all()),
        ),
        // Dimension values as Plausible names them.
        case(
            "visit:os is named as Plausible names it (Mac, GNU/Linux, Chrome OS, (not set))",
            q(json!({"metrics": ["visitors", "visits"], "dimensions": ["visit:os"]})),
            Fold(all()),
        ),
        case(
            "visit:browser is named as Plausible names it",
            q(json!({"metrics": ["visitors"], "dimensions": ["visit:browser", "visit:browser_version"]})),
            Fold(all()),
        ),
        case(
            "visit:source and visit:referrer of direct visits are Direct / None",
            q(json!({"metrics": ["visitors"], "dimensions": ["visit:source", "visit:referrer"]})),
            Fold(all()),
        ),
        case(
            "visit:device and visit:os_version of unknown ones are (not set)",
            q(json!({"metrics": ["visitors"], "dimensions": ["visit:device", "visit:os_version"]})),
            Fold(all()),
        ),
        case(
            "a filter on Plausible's name matches the stored name (Mac for macOS)",
            q(json!({"metrics": ["visitors", "pageviews"], "filters": [["is", "visit:os", ["Mac"]]]})),
            Fold(all()),
        ),
        case(
            "a filter on (not set) matches empty values",
            q(json!({"metrics": ["visitors"], "dimensions": ["visit:browser"], "filters": [["is", "visit:utm_medium", ["(not set)"]]]})),
            Fold(all()),
        ),
        case(
            "a filter on Direct / None matches empty sources",
            q(json!({"metrics": ["visitors"], "filters": [["is", "visit:source", ["Direct / None"]]]})),
            Fold(all()),
        ),
        // Combinations Plausible allows.
        case(
            "session metrics by event:page, the one event dimension allowed",
            q(json!({"metrics": ["visitors", "bounce_rate", "visit_duration"], "dimensions": ["event:page"]})),
            Fold(all()),
        ),
        case(
            "visits (either table) by event:name",
            q(json!({"metrics": ["visitors", "visits", "events"], "dimensions": ["event:name"]})),
            Fold(all()),
        ),
        case(
            "event:hostname at the top level",
            q(json!({"metrics": ["visitors", "pageviews"], "filters": [["is", "event:hostname", ["a.plausible.io"]]]})),
            Fold(all()),
        ),
        case(
            "views_per_visit alone, without dimensions or page filters",
            q(json!({"metrics": ["views_per_visit", "visits"], "filters": [["is", "visit:country", ["US"]]]})),
            Fold(all()),
        ),
        case(
            "docs: pagination with total rows",
            q(json!({"metrics": ["pageviews"], "dimensions": ["event:page"], "order_by": [["pageviews", "desc"], ["event:page", "asc"]], "pagination": {"limit": 2, "offset": 1}, "include": {"total_rows": true}})),
            // Ten pages: "/" has 4 pageviews, the others 1 each, in byte order
            // ("/BLOG", "/about", "/blog", ...).
            Rows(json!([
                {"dimensions": ["/BLOG"], "metrics": [1]},
                {"dimensions": ["/about"], "metrics": [1]},
            ])),
        )
        .and("/meta/total_rows", json!(10)),
        // query_test.exs, case-insensitive filters, over its own rows.
        case(
            "query_test: can filter by utm_medium case insensitively",
            on(UTM_CI, json!({"metrics": ["pageviews", "visitors", "bounce_rate", "visit_duration"], "filters": [["is", "visit:utm_medium", ["sociaL"], {"case_sensitive": false}]]})),
            Rows(json!([{"metrics": [2, 1, 0, 1500], "dimensions": []}])),
        ),
        case(
            "query_test: can filter by is_not utm_medium case insensitively",
            on(UTM_CI, json!({"metrics": ["pageviews"], "filters": [["is_not", "visit:utm_medium", ["sociaL"], {"case_sensitive": false}]]})),
            Rows(json!([{"metrics": [1], "dimensions": []}])),
        ),
        // query_comparisons_test.exs, over the rows each test inserts.
        case(
            "query_comparisons_test: aggregate previous_period comparison",
            on(CMP_AGGREGATE, json!({"metrics": ["pageviews"], "date_range": ["2021-05-01", "2021-05-31"], "include": {"comparisons": {"mode": "previous_period"}}})),
            Rows(json!([{"dimensions": [], "metrics": [3], "comparison": {"dimensions": [], "metrics": [1], "change": [200]}}])),
        )
        .and("/query/comparison_date_range", json!(["2021-03-31T00:00:00+00:00", "2021-04-30T23:59:59+00:00"]))
        .and("/query/include/comparisons/mode", json!("previous_period")),
        case(
            "query_comparisons_test: aggregates a single metric",
            on(CMP_SINGLE, json!({"metrics": ["pageviews"], "date_range": ["2021-01-07", "2021-01-13"], "include": {"comparisons": {"mode": "previous_period"}}})),
            Rows(json!([{"dimensions": [], "metrics": [1], "comparison": {"change": [-67], "dimensions": [], "metrics": [3]}}])),
        ),
        case(
            "query_comparisons_test: timeseries comparison (every day, also empty ones)",
            on(CMP_SERIES_OLD, json!({"metrics": ["pageviews"], "date_range": ["2021-01-07", "2021-01-13"], "dimensions": ["time:day"], "include": {"comparisons": {"mode": "previous_period"}}})),
            Rows(json!([
                {"dimensions": ["2021-01-07"], "metrics": [1], "comparison": {"dimensions": ["2020-12-31"], "metrics": [0], "change": [100]}},
                {"dimensions": ["2021-01-08"], "metrics": [1], "comparison": {"dimensions": ["2021-01-01"], "metrics": [2], "change": [-50]}},
                {"dimensions": ["2021-01-09"], "metrics": [0], "comparison": {"dimensions": ["2021-01-02"], "metrics": [0], "change": [0]}},
                {"dimensions": ["2021-01-10"], "metrics": [0], "comparison": {"dimensions": ["2021-01-03"], "metrics": [0], "change": [0]}},
                {"dimensions": ["2021-01-11"], "metrics": [0], "comparison": {"dimensions": ["2021-01-04"], "metrics": [0], "change": [0]}},
                {"dimensions": ["2021-01-12"], "metrics": [0], "comparison": {"dimensions": ["2021-01-05"], "metrics": [0], "change": [0]}},
                {"dimensions": ["2021-01-13"], "metrics": [0], "comparison": {"dimensions": ["2021-01-06"], "metrics": [1], "change": [-100]}},
            ])),
        ),
        case(
            "query_comparisons_test: utm_source previous_period comparison",
            on(CMP_UTM, json!({"metrics": ["pageviews"], "date_range": ["2021-05-01", "2021-05-31"], "dimensions": ["visit:utm_source"], "include": {"comparisons": {"mode": "previous_period"}}})),
            RowsAnyOrder(json!([
                {"dimensions": ["Google"], "metrics": [2], "comparison": {"dimensions": ["Google"], "metrics": [4], "change": [-50]}},
                {"dimensions": ["Facebook"], "metrics": [1], "comparison": {"dimensions": ["Facebook"], "metrics": [0], "change": [100]}},
                {"dimensions": ["(not set)"], "metrics": [1], "comparison": {"dimensions": ["(not set)"], "metrics": [0], "change": [100]}},
            ])),
        ),
        case(
            "query_comparisons_test: time series previous_period comparison",
            on(CMP_SERIES, json!({"metrics": ["pageviews"], "date_range": ["2021-06-01", "2021-06-04"], "dimensions": ["time:day"], "include": {"comparisons": {"mode": "previous_period"}}})),
            Rows(json!([
                {"dimensions": ["2021-06-01"], "metrics": [1], "comparison": {"dimensions": ["2021-05-28"], "metrics": [1], "change": [0]}},
                {"dimensions": ["2021-06-02"], "metrics": [2], "comparison": {"dimensions": ["2021-05-29"], "metrics": [0], "change": [100]}},
                {"dimensions": ["2021-06-03"], "metrics": [1], "comparison": {"dimensions": ["2021-05-30"], "metrics": [2], "change": [-50]}},
                {"dimensions": ["2021-06-04"], "metrics": [0], "comparison": {"dimensions": ["2021-05-31"], "metrics": [1], "change": [-100]}},
            ])),
        )
        .and("/query/comparison_date_range", json!(["2021-05-28T00:00:00+00:00", "2021-05-31T23:59:59+00:00"])),
        case(
            "query_comparisons_test: time series previous_period comparison with match_day_of_week",
            on(CMP_SERIES, json!({"metrics": ["pageviews"], "date_range": ["2021-06-01", "2021-06-04"], "dimensions": ["time:day"], "include": {"comparisons": {"mode": "previous_period", "match_day_of_week": true}}})),
            Rows(json!([
                {"dimensions": ["2021-06-01"], "metrics": [1], "comparison": {"dimensions": ["2021-05-25"], "metrics": [0], "change": [100]}},
                {"dimensions": ["2021-06-02"], "metrics": [2], "comparison": {"dimensions": ["2021-05-26"], "metrics": [0], "change": [100]}},
                {"dimensions": ["2021-06-03"], "metrics": [1], "comparison": {"dimensions": ["2021-05-27"], "metrics": [1], "change": [0]}},
                {"dimensions": ["2021-06-04"], "metrics": [0], "comparison": {"dimensions": ["2021-05-28"], "metrics": [1], "change": [-100]}},
            ])),
        )
        .and("/query/comparison_date_range", json!(["2021-05-25T00:00:00+00:00", "2021-05-28T23:59:59+00:00"])),
        case(
            "query_comparisons_test: time series year_over_year comparison",
            on(CMP_YOY, json!({"metrics": ["pageviews"], "date_range": ["2020-01-01", "2020-01-31"], "dimensions": ["time:day"], "include": {"comparisons": {"mode": "year_over_year"}}})),
            // The test checks three days of the 31; all are checked here.
            Rows(Value::Null),
        )
        .and("/results/0", json!({"dimensions": ["2020-01-01"], "metrics": [1], "comparison": {"dimensions": ["2019-01-01"], "metrics": [2], "change": [-50]}}))
        .and("/results/4", json!({"dimensions": ["2020-01-05"], "metrics": [1], "comparison": {"dimensions": ["2019-01-05"], "metrics": [2], "change": [-50]}}))
        .and("/results/30", json!({"dimensions": ["2020-01-31"], "metrics": [1], "comparison": {"dimensions": ["2019-01-31"], "metrics": [1], "change": [0]}}))
        .and("/results/29", json!({"dimensions": ["2020-01-30"], "metrics": [1], "comparison": {"dimensions": ["2019-01-30"], "metrics": [0], "change": [100]}}))
        .and("/results/1", json!({"dimensions": ["2020-01-02"], "metrics": [0], "comparison": {"dimensions": ["2019-01-02"], "metrics": [0], "change": [0]}})),
        case(
            "query_comparisons_test: time series custom date range comparison",
            on(CMP_CUSTOM, json!({"metrics": ["pageviews"], "date_range": ["2021-06-01", "2021-06-04"], "dimensions": ["time:day"], "include": {"comparisons": {"mode": "custom", "date_range": ["2021-05-01", "2021-05-04"]}}})),
            Rows(json!([
                {"dimensions": ["2021-06-01"], "metrics": [1], "comparison": {"dimensions": ["2021-05-01"], "metrics": [1], "change": [0]}},
                {"dimensions": ["2021-06-02"], "metrics": [2], "comparison": {"dimensions": ["2021-05-02"], "metrics": [1], "change": [100]}},
                {"dimensions": ["2021-06-03"], "metrics": [1], "comparison": {"dimensions": ["2021-05-03"], "metrics": [2], "change": [-50]}},
                {"dimensions": ["2021-06-04"], "metrics": [0], "comparison": {"dimensions": ["2021-05-04"], "metrics": [1], "change": [-100]}},
            ])),
        ),
        case(
            "query_comparisons_test: dimensional comparison with low limit",
            on(CMP_BROWSERS, json!({"metrics": ["visitors", "percentage"], "date_range": ["2021-01-07", "2021-01-13"], "dimensions": ["visit:browser"], "include": {"comparisons": {"mode": "previous_period"}}, "pagination": {"limit": 2}})),
            Rows(json!([
                {"dimensions": ["Chrome"], "metrics": [3, 50.0], "comparison": {"dimensions": ["Chrome"], "metrics": [1, 12.5], "change": [200, 300]}},
                {"dimensions": ["Firefox"], "metrics": [2, 33.3], "comparison": {"dimensions": ["Firefox"], "metrics": [4, 50.0], "change": [-50, -33]}},
            ])),
        ),
        case(
            "query_comparisons_test: dimensional comparison with low limit, second page",
            on(CMP_BROWSERS, json!({"metrics": ["visitors", "percentage"], "date_range": ["2021-01-07", "2021-01-13"], "dimensions": ["visit:browser"], "include": {"comparisons": {"mode": "previous_period"}}, "pagination": {"limit": 2, "offset": 2}})),
            Rows(json!([
                {"dimensions": ["Safari"], "metrics": [1, 16.7], "comparison": {"dimensions": ["Safari"], "metrics": [3, 37.5], "change": [-67, -55]}},
            ])),
        ),
    ];
    for (column, first, second, empty) in BREAKDOWN_CASES {
        let i = BREAKDOWN_CASES.iter().position(|c| c.0 == column).unwrap();
        let day = format!("2021-02-{:02}", i + 1);
        cases.push(case(
            BREAKDOWN_NAMES[i],
            on(
                BREAKDOWNS,
                json!({"date_range": [day, day], "dimensions": [format!("visit:{column}")]}),
            ),
            Rows(json!([
                {"dimensions": [first], "metrics": [3]},
                {"dimensions": [second], "metrics": [2]},
                {"dimensions": [empty], "metrics": [1]},
            ])),
        ));
    }
    cases
}

const BREAKDOWN_NAMES: [&str; 10] = [
    "query_test: simple breakdown by visit:source",
    "query_test: simple breakdown by visit:referrer",
    "query_test: simple breakdown by visit:utm_medium",
    "query_test: simple breakdown by visit:utm_source",
    "query_test: simple breakdown by visit:utm_campaign",
    "query_test: simple breakdown by visit:utm_content",
    "query_test: simple breakdown by visit:utm_term",
    "query_test: simple breakdown by visit:os",
    "query_test: simple breakdown by visit:browser",
    "query_test: simple breakdown by visit:device",
];

fn invalid_cases() -> Vec<Case> {
    use Expect::Refused;
    vec![
        // query_validations_test.exs
        case(
            "query_validations_test: session metrics cannot be used with event:name dimension",
            q(json!({"metrics": ["visitors", "bounce_rate"], "dimensions": ["event:name"]})),
            Refused(&["Session metric(s) `bounce_rate`", "event:name"]),
        ),
        case(
            "query_validations_test: session metrics cannot be used with event:props:* dimension",
            q(json!({"metrics": ["visitors", "bounce_rate"], "dimensions": ["event:props:url"]})),
            Refused(&["Session metric(s) `bounce_rate`", "event:props:url"]),
        ),
        case(
            "table_decider: visit_duration with event:hostname and event:page",
            q(
                json!({"metrics": ["visit_duration"], "dimensions": ["event:page", "event:hostname"]}),
            ),
            Refused(&["Session metric(s) `visit_duration`", "event:hostname"]),
        ),
        case(
            "table_decider: event metrics cannot be used with session dimensions",
            q(json!({"metrics": ["pageviews", "events"], "dimensions": ["visit:entry_page"]})),
            Refused(&["Event metric(s) `pageviews`, `events`", "visit:entry_page"]),
        ),
        case(
            "query_validations_test: views_per_visit cannot be used with event:page filter",
            q(
                json!({"metrics": ["views_per_visit"], "filters": [["is", "event:page", ["/something"]]]}),
            ),
            Refused(&["Metric `views_per_visit` cannot be queried with a filter on `event:page`"]),
        ),
        case(
            "views_per_visit cannot be used with a nested event:page filter",
            q(
                json!({"metrics": ["views_per_visit"], "filters": [["or", [["is", "visit:country", ["US"]], ["not", ["contains", "event:page", ["/blog"]]]]]]}),
            ),
            Refused(&["Metric `views_per_visit` cannot be queried with a filter on `event:page`"]),
        ),
        case(
            "query_validations_test: views_per_visit cannot be used together with dimensions",
            q(json!({"metrics": ["views_per_visit"], "dimensions": ["event:name"]})),
            Refused(&["Metric `views_per_visit` cannot be queried with `dimensions`"]),
        ),
        case(
            "views_per_visit cannot be used with a time dimension",
            q(json!({"metrics": ["visitors", "views_per_visit"], "dimensions": ["time:day"]})),
            Refused(&["Metric `views_per_visit` cannot be queried with `dimensions`"]),
        ),
        case(
            "query_parser_test: event:hostname filter not at top level is invalid",
            q(json!({"filters": [["not", ["is", "event:hostname", ["a.plausible.io"]]]]})),
            Refused(&[
                "Dimension `event:hostname` can only be filtered at the top level",
                "filters[0]",
            ]),
        ),
        case(
            "event:hostname inside or is not at the top level",
            q(
                json!({"filters": [["or", [["is", "event:hostname", ["a.plausible.io"]], ["is", "visit:country", ["US"]]]]]}),
            ),
            Refused(&["Dimension `event:hostname` can only be filtered at the top level"]),
        ),
        case(
            "query_validations_test: filtering by visit:country with invalid country code",
            q(json!({"metrics": ["pageviews"], "filters": [["is", "visit:country", ["USA"]]]})),
            Refused(&[
                "visit:country needs to be a valid 2-letter country code",
                "filters[0][2][0]",
            ]),
        ),
        case(
            "visit:country is_not with an invalid code inside and",
            q(json!({"filters": [["and", [["is_not", "visit:country", ["EE", "Germany"]]]]]})),
            Refused(&[
                "visit:country needs to be a valid 2-letter country code",
                "filters[0][1][0][2][1]",
            ]),
        ),
        case(
            "query_validations_test: validates that dimensions are valid",
            q(json!({"dimensions": ["badproperty"]})),
            Refused(&["dimensions[0]", "badproperty"]),
        ),
        case(
            "query_validations_test: empty custom property is invalid",
            q(json!({"dimensions": ["event:props:"]})),
            Refused(&["dimensions[0]"]),
        ),
        case(
            "query_validations_test: validates that correct date range is used",
            q(json!({"date_range": "bad_period", "dimensions": ["event:name"]})),
            Refused(&["date_range", "bad_period"]),
        ),
        case(
            "query_validations_test: fails when an invalid metric is provided",
            q(json!({"metrics": ["visitors", "baa"], "dimensions": ["event:name"]})),
            Refused(&["metrics[1]", "baa"]),
        ),
        case(
            "query_validations_test: a metric can't be asked multiple times",
            q(json!({"metrics": ["views_per_visit", "visitors", "visitors"]})),
            Refused(&["visitors", "twice"]),
        ),
        case(
            "query_parser_test: realtime and 30m are unavailable in the public API",
            q(json!({"date_range": "realtime"})),
            Refused(&["date_range", "realtime"]),
        ),
        case(
            "query_parser_test: shorthands are bounded (0d)",
            q(json!({"date_range": "0d"})),
            Refused(&["date_range", "0d"]),
        ),
        case(
            "query_parser_test: setting include.time_labels without time dimension",
            q(json!({"include": {"time_labels": true}})),
            Refused(&["time_labels", "time dimension"]),
        ),
        case(
            "query_parser_test: setting invalid include value",
            q(json!({"include": "foobar"})),
            Refused(&["include"]),
        ),
        case(
            "query_parser_test: mode=custom without date_range is invalid",
            q(json!({"include": {"comparisons": {"mode": "custom"}}})),
            Refused(&["include.comparisons.date_range"]),
        ),
        case(
            "query_parser_test: mode=previous_period with date_range is invalid",
            q(
                json!({"include": {"comparisons": {"mode": "previous_period", "date_range": ["2024-01-01", "2024-01-31"]}}}),
            ),
            Refused(&["include.comparisons.date_range", "custom"]),
        ),
        case(
            "an unknown comparison mode",
            q(json!({"include": {"comparisons": {"mode": "last_week"}}})),
            Refused(&["include.comparisons.mode", "last_week"]),
        ),
        case(
            "query_parser_test: out of range limit value",
            q(json!({"pagination": {"limit": 100_000}})),
            Refused(&["pagination.limit"]),
        ),
        case(
            "query_parser_test: order_by entry not a queried metric or dimension",
            q(json!({"order_by": [["pageviews", "desc"]]})),
            Refused(&["order_by[0]", "pageviews"]),
        ),
        case(
            "query_parser_test: unknown filter operator",
            q(json!({"filters": [["bad_op", "event:page", ["/"]]]})),
            Refused(&["filters[0][0]", "bad_op"]),
        ),
        case(
            "an unknown filter modifier",
            q(json!({"filters": [["is", "event:page", ["/"], {"case_insensitive": true}]]})),
            Refused(&["filters[0][3]", "case_insensitive"]),
        ),
    ]
}

// ------------------------------------------------------------------ run

async fn start() -> (TestQuery, TestDb, Vec<Ev>) {
    let mut config = test_config();
    with_editors(&mut config);
    config
        .site
        .extend(SCENARIO_SITES.iter().map(|s| SiteConfig::new(s)));
    let service = TestQuery::start(config.clone(), now()).await;
    let db = TestDb::connect(&config).await;
    let data = general();
    let rows: Vec<_> = data.iter().chain(scenarios().iter()).map(to_row).collect();
    insert(&db, &rows).await;
    (service, db, data)
}

/// What is wrong with the answer to `case`, if anything.
fn judge(case: &Case, status: u16, answer: &Value, data: &[Ev]) -> Option<String> {
    let body = &case.body;
    match &case.expect {
        Expect::Refused(parts) => {
            if status != 400 {
                return Some(format!("expected 400, got {status} {answer}"));
            }
            let message = answer["error"].as_str().unwrap_or_default();
            let missing: Vec<&&str> = parts.iter().filter(|p| !message.contains(**p)).collect();
            if !missing.is_empty() {
                return Some(format!("the message `{message}` should name {missing:?}"));
            }
        }
        _ if status != 200 => return Some(format!("expected 200, got {status} {answer}")),
        Expect::Fold(ctx) => {
            let strings = |key: &str| -> Vec<String> {
                body[key]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default()
            };
            let (metrics, dims) = (strings("metrics"), strings("dimensions"));
            let metrics: Vec<&str> = metrics.iter().map(String::as_str).collect();
            let dims: Vec<&str> = dims.iter().map(String::as_str).collect();
            let filters = body["filters"].as_array().cloned().unwrap_or_default();
            let want = expected(data, SITE, *ctx, &dims, &filters, &metrics);
            if want.values().flatten().all(|v| *v == 0.0) {
                return Some(format!(
                    "the dataset should exercise this case: the fold is {want:?}"
                ));
            }
            let got = actual(answer);
            if got != want {
                return Some(format!(
                    "rows differ from the fold\n    got:  {got:?}\n    want: {want:?}"
                ));
            }
        }
        Expect::Rows(rows) => {
            if !rows.is_null() && answer["results"] != *rows {
                return Some(format!(
                    "results differ from Plausible's\n    got:  {}\n    want: {rows}",
                    answer["results"]
                ));
            }
        }
        Expect::RowsAnyOrder(rows) => {
            let sorted = |v: &Value| {
                let mut rows: Vec<String> = v
                    .as_array()
                    .map(|a| a.iter().map(Value::to_string).collect())
                    .unwrap_or_default();
                rows.sort();
                rows
            };
            if sorted(&answer["results"]) != sorted(rows) {
                return Some(format!(
                    "results differ from Plausible's\n    got:  {}\n    want: {rows}",
                    answer["results"]
                ));
            }
        }
    }
    for (pointer, value) in &case.also {
        if answer.pointer(pointer) != Some(value) {
            return Some(format!(
                "{pointer} should be {value}, is {:?}",
                answer.pointer(pointer)
            ));
        }
    }
    None
}

#[tokio::test]
async fn plausibles_requests_get_plausibles_answers() {
    let (service, _db, data) = start().await;
    let (valid, invalid) = (valid_cases(), invalid_cases());
    assert!(
        valid.len() + invalid.len() >= 40,
        "at least 40 shapes: {} valid, {} invalid",
        valid.len(),
        invalid.len()
    );
    let mut failures = Vec::new();
    for case in valid.iter().chain(&invalid) {
        let (status, answer) = service.post(Some(ADMIN_TOKEN), &case.body).await;
        if let Some(problem) = judge(case, status, &answer, &data) {
            failures.push(format!("{}\n  {}\n  {problem}", case.name, case.body));
        }
    }
    let total = valid.len() + invalid.len();
    assert!(
        failures.is_empty(),
        "{} of {total} cases ({} valid, {} invalid) differ from Plausible:\n\n{}",
        failures.len(),
        valid.len(),
        invalid.len(),
        failures.join("\n\n")
    );
    service.stop().await;
}
