//! End to end: history imported with `schema import` (GA4's BigQuery export
//! as NDJSON, plain and gzipped, and Plausible CE's CSV zip), read back
//! through the Stats API with `include.imports`, merged with native events.
//!
//! The fixtures are written here, following GA4's documented export schema
//! and Plausible's export columns. Every expected number is worked out by
//! hand from the fixture in the comments beside it, not by the importer.
//!
//! # The GA4 fixture (2024-03-01 = D1, 2024-03-02 = D2, UTC)
//! - Visit A: user U1, D1 10:00-10:03, Germany, desktop Chrome on Windows,
//!   from google.com; pageviews `/` and `/pricing`, a `signup` event,
//!   engaged. Duration 180 s.
//! - Visit B: user U2, D1 12:00, United States, mobile Safari on iOS,
//!   tagged utm_source=newsletter, medium email; one pageview `/`, never
//!   engaged: a bounce. Duration 0.
//! - Visit C: user U3, D1 23:59 to D2 00:01 (crosses midnight), Germany,
//!   desktop Firefox on Linux, from news.ycombinator.com; pageviews `/blog`
//!   (D1) and `/blog/post` (D2), engaged. Counts as a D1 visit, 120 s.
//! - Visit D: user U1 again, D2 09:00, Germany, direct; one pageview `/`,
//!   a bounce.
//! - Two bad lines in D1's file: one not JSON, one without user_pseudo_id.
//!
//! By hand:
//! - D1: visitors U1, U2, U3 = 3; pageviews 2+1+1 = 4; events 4 + signup = 5;
//!   visits A, B, C = 3; bounces 1 (B); duration 180+0+120 = 300;
//!   visit pageviews 2+1+2 = 5.
//! - D2: visitors U3 (its D2 pageview), U1 = 2; pageviews 2; events 2;
//!   visits 1 (D); bounces 1; duration 0; visit pageviews 1.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, serve};
use integration_tests::*;
use schema::import::{self, store, Format, ImportError, Options};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const D1: &str = "20240301";
const D2: &str = "20240302";
/// The users' and visits' identifiers: what must never be stored.
const U1: &str = "1846298733.1709283600";
const U2: &str = "2093846151.1709294400";
const U3: &str = "3311559026.1709337540";
const IDS: [&str; 7] = [
    U1,
    U2,
    U3,
    "1709283600",
    "1709294400",
    "1709337540",
    "1709370000",
];

/// Microseconds of D1 (or D2) at `h:m`.
fn at(day: &str, h: u32, m: u32) -> i64 {
    let d = if day == D1 { 1 } else { 2 };
    Utc.with_ymd_and_hms(2024, 3, d, h, m, 0)
        .unwrap()
        .timestamp()
        * 1_000_000
}

/// What differs between the fixture's events; everything else is fixed.
struct Ev<'a> {
    day: &'a str,
    us: i64,
    name: &'a str,
    user: &'a str,
    session: &'a str,
    page: &'a str,
    referrer: &'a str,
    engaged: bool,
    engagement_ms: i64,
    device: (&'a str, &'a str, &'a str),
    country: &'a str,
    tags: Option<(&'a str, &'a str, &'a str)>,
}

fn event(e: &Ev) -> Value {
    let mut params = vec![
        json!({"key": "ga_session_id", "value": {"int_value": e.session}}),
        json!({"key": "ga_session_number", "value": {"int_value": "1"}}),
        json!({"key": "page_location", "value": {"string_value": format!("https://example.com{}", e.page)}}),
    ];
    if !e.referrer.is_empty() {
        params.push(json!({"key": "page_referrer", "value": {"string_value": e.referrer}}));
    }
    if e.engaged {
        params.push(json!({"key": "session_engaged", "value": {"string_value": "1"}}));
    }
    if e.engagement_ms > 0 {
        params.push(json!({"key": "engagement_time_msec", "value": {"int_value": e.engagement_ms.to_string()}}));
    }
    let (category, browser, os) = e.device;
    let mut row = json!({
        "event_date": e.day,
        "event_timestamp": e.us.to_string(),
        "event_name": e.name,
        "event_params": params,
        "user_pseudo_id": e.user,
        "user_id": null,
        "device": {"category": category, "operating_system": os,
                   "web_info": {"browser": browser, "browser_version": "1.0"}},
        "geo": {"country": e.country, "region": "", "city": ""},
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
    });
    if let Some((source, medium, campaign)) = e.tags {
        row["collected_traffic_source"] = json!({
            "manual_source": source, "manual_medium": medium, "manual_campaign_name": campaign
        });
    }
    row
}

const DESKTOP_CHROME: (&str, &str, &str) = ("desktop", "Chrome", "Windows");
const MOBILE_SAFARI: (&str, &str, &str) = ("mobile", "Safari", "iOS");
const DESKTOP_FIREFOX: (&str, &str, &str) = ("desktop", "Firefox", "Linux");

fn ev<'a>(day: &'a str, us: i64, name: &'a str, user: &'a str, session: &'a str) -> Ev<'a> {
    Ev {
        day,
        us,
        name,
        user,
        session,
        page: "/",
        referrer: "",
        engaged: false,
        engagement_ms: 0,
        device: DESKTOP_CHROME,
        country: "Germany",
        tags: None,
    }
}

fn day1() -> Vec<Value> {
    let google = "https://www.google.com/";
    let hn = "https://news.ycombinator.com/item?id=1";
    let a = |us, name, page, engaged, ms| Ev {
        page,
        referrer: google,
        engaged,
        engagement_ms: ms,
        ..ev(D1, us, name, U1, "1709283600")
    };
    let b = |us, name| Ev {
        device: MOBILE_SAFARI,
        country: "United States",
        tags: Some(("newsletter", "email", "spring")),
        ..ev(D1, us, name, U2, "1709294400")
    };
    let c = |us, name, page| Ev {
        page,
        referrer: hn,
        device: DESKTOP_FIREFOX,
        ..ev(D1, us, name, U3, "1709337540")
    };
    vec![
        event(&a(at(D1, 10, 0), "session_start", "/", false, 0)),
        event(&a(at(D1, 10, 0), "page_view", "/", false, 0)),
        event(&a(at(D1, 10, 1), "page_view", "/pricing", false, 0)),
        event(&a(
            at(D1, 10, 2),
            "user_engagement",
            "/pricing",
            true,
            30_000,
        )),
        event(&a(at(D1, 10, 3), "signup", "/pricing", true, 0)),
        event(&b(at(D1, 12, 0), "session_start")),
        event(&b(at(D1, 12, 0), "page_view")),
        event(&c(at(D1, 23, 59), "session_start", "/blog")),
        event(&c(at(D1, 23, 59), "page_view", "/blog")),
    ]
}

fn day2() -> Vec<Value> {
    let c = Ev {
        page: "/blog/post",
        engaged: true,
        device: DESKTOP_FIREFOX,
        ..ev(D2, at(D2, 0, 1), "page_view", U3, "1709337540")
    };
    vec![
        event(&c),
        event(&ev(D2, at(D2, 9, 0), "session_start", U1, "1709370000")),
        event(&ev(D2, at(D2, 9, 0), "page_view", U1, "1709370000")),
    ]
}

/// D1's export with two bad lines in it (lines 3 and 6), and D2's gzipped.
fn write_ga4(dir: &Path) -> (PathBuf, PathBuf) {
    let mut lines: Vec<String> = day1().iter().map(Value::to_string).collect();
    lines.insert(2, "{not json".into());
    let mut no_user = day1()[0].clone();
    no_user.as_object_mut().unwrap().remove("user_pseudo_id");
    lines.insert(5, no_user.to_string());
    let first = dir.join(format!("events_{D1}.json"));
    std::fs::write(&first, lines.join("\n") + "\n").unwrap();
    let second = dir.join(format!("events_{D2}.json.gz"));
    let text: String = day2().iter().map(|v| format!("{v}\n")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    std::fs::write(&second, gz.finish().unwrap()).unwrap();
    (first, second)
}

/// The same two days as Plausible CE would export them, written by hand
/// from the numbers in the module doc.
fn write_plausible(dir: &Path) -> PathBuf {
    let files: &[(&str, &str)] = &[
        (
            "imported_visitors_20240301_20240302.csv",
            "date,visitors,pageviews,bounces,visits,visit_duration\n\
             2024-03-01,3,4,1,3,300\n2024-03-02,2,2,1,1,0\n",
        ),
        (
            "imported_sources_20240301_20240302.csv",
            "date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,pageviews,visitors,visits,visit_duration,bounces\n\
             2024-03-01,Google,google.com,,,,,,2,1,1,180,0\n\
             2024-03-01,newsletter,,newsletter,email,spring,,,1,1,1,0,1\n\
             2024-03-01,Hacker News,news.ycombinator.com,,,,,,2,1,1,120,0\n\
             2024-03-02,,,,,,,,1,1,1,0,1\n",
        ),
        (
            "imported_pages_20240301_20240302.csv",
            "date,hostname,page,visits,visitors,pageviews,total_scroll_depth,total_scroll_depth_visits\n\
             2024-03-01,example.com,/,2,2,2,0,0\n2024-03-01,example.com,/pricing,1,1,1,0,0\n\
             2024-03-01,example.com,/blog,1,1,1,0,0\n2024-03-02,example.com,/blog/post,1,1,1,0,0\n\
             2024-03-02,example.com,/,1,1,1,0,0\n",
        ),
        (
            "imported_custom_events_20240301_20240302.csv",
            "date,name,link_url,path,visitors,events\n2024-03-01,signup,,,1,1\n",
        ),
        (
            "imported_locations_20240301_20240302.csv",
            "date,country,region,city,visitors,visits,visit_duration,bounces,pageviews\n\
             2024-03-01,DE,,0,2,2,300,0,4\n2024-03-01,US,,0,1,1,0,1,1\n\
             2024-03-02,DE,,0,1,1,0,1,1\n",
        ),
    ];
    let path = dir.join("plausible-export.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, text) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap()
}

fn query(site: &str, extra: Value) -> Value {
    let mut body = json!({
        "site_id": site,
        "metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events"],
        "date_range": ["2024-03-01", "2024-03-03"],
        "include": {"imports": true},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// `dimension value -> first metric`, sorted by value.
fn breakdown(answer: &Value) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dimensions"][0].as_str().unwrap().to_owned(),
                r["metrics"][0].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn strs(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = rows.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    v.sort();
    v
}

#[tokio::test]
async fn ga4_and_plausible_exports_give_the_totals_worked_out_by_hand() {
    let logs = capture_logs();
    let (service, db, config) = serve(|_| {}, now()).await;
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = write_ga4(dir.path());
    let files = vec![first.clone(), second.clone()];

    // Strict: the first bad line stops the import, named by file, line, field.
    let strict = Options {
        strict: true,
        progress: false,
    };
    let err = import::import(&db, SITE, Format::Ga4, &files, strict)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:3: field `(json", first.display())),
        "{text}"
    );
    assert_eq!(store::list(&db, SITE).await.unwrap(), vec![]);

    // Lenient: the two bad lines are counted and skipped.
    let summary = import::import(&db, SITE, Format::Ga4, &files, Options::default())
        .await
        .unwrap();
    // 9 + 2 bad lines in D1's file, 3 in D2's.
    assert_eq!(summary.rows_read, 14);
    assert_eq!(summary.skipped.values().sum::<u64>(), 2);
    assert_eq!(summary.skipped.get("user_pseudo_id missing"), Some(&1));
    assert_eq!(summary.days.len(), 2);

    let zip = write_plausible(dir.path());
    let summary = import::import(
        &db,
        OTHER_SITE,
        Format::Plausible,
        std::slice::from_ref(&zip),
        Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(summary.skipped.values().sum::<u64>(), 0);

    for site in [SITE, OTHER_SITE] {
        // Two days summed: visitors 3+2, visits 3+1, pageviews 4+2,
        // bounce rate 2/4, duration 300/4, events 5+2.
        let answer = service.ok(&query(site, json!({}))).await;
        assert_eq!(
            answer["results"][0]["metrics"],
            json!([5, 4, 6, 50, 75, 7]),
            "{site}: {answer}"
        );
        assert_eq!(answer["meta"]["imports_included"], json!(true), "{site}");

        let by_day = service
            .ok(&query(
                site,
                json!({"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]}),
            ))
            .await;
        let days: Vec<(String, Value)> = by_day["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["dimensions"][0].as_str().unwrap().to_owned(),
                    r["metrics"].clone(),
                )
            })
            .collect();
        assert_eq!(
            days,
            vec![
                ("2024-03-01".to_owned(), json!([3, 4])),
                ("2024-03-02".to_owned(), json!([2, 2]))
            ],
            "{site}"
        );

        // Visits per source: one each; D's is direct.
        let sources = service
            .ok(&query(
                site,
                json!({"metrics": ["visits"], "dimensions": ["visit:source"]}),
            ))
            .await;
        assert_eq!(
            breakdown(&sources),
            strs(&[
                ("Google", 1),
                ("newsletter", 1),
                ("Hacker News", 1),
                ("Direct / None", 1)
            ]),
            "{site}"
        );

        // Pageviews per page: `/` by A, B (D1) and D (D2).
        let pages = service
            .ok(&query(
                site,
                json!({"metrics": ["pageviews"], "dimensions": ["event:page"]}),
            ))
            .await;
        assert_eq!(
            breakdown(&pages),
            strs(&[("/", 3), ("/pricing", 1), ("/blog", 1), ("/blog/post", 1)]),
            "{site}"
        );

        // Visitors per country, per day summed: DE 2 (D1) + 1 (D2), US 1.
        let countries = service
            .ok(&query(
                site,
                json!({"metrics": ["visitors"], "dimensions": ["visit:country"]}),
            ))
            .await;
        assert_eq!(
            breakdown(&countries),
            strs(&[("DE", 3), ("US", 1)]),
            "{site}"
        );

        let events = service
            .ok(&query(
                site,
                json!({"metrics": ["events"], "dimensions": ["event:name"],
                       "filters": [["is", "event:name", ["signup"]]]}),
            ))
            .await;
        assert_eq!(breakdown(&events), strs(&[("signup", 1)]), "{site}");
    }

    // The same file again, or another holding an imported day: refused.
    let again = import::import(
        &db,
        SITE,
        Format::Ga4,
        std::slice::from_ref(&second),
        Options::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(again, ImportError::Refused(_)), "{again}");
    assert!(again.to_string().contains("already imported"), "{again}");
    let copy = dir.path().join("copy.json");
    let mut lines: Vec<String> = day2().iter().map(Value::to_string).collect();
    lines.push(String::new());
    std::fs::write(&copy, lines.join("\n")).unwrap();
    let overlap = import::import(&db, SITE, Format::Ga4, &[copy], Options::default())
        .await
        .unwrap_err();
    assert!(
        overlap
            .to_string()
            .contains("2024-03-02 is already imported"),
        "{overlap}"
    );

    // No identifier anywhere: not in any table, not in the logs.
    for id in IDS {
        assert_eq!(
            tables_containing(&db, id.as_bytes()).await,
            Vec::<String>::new(),
            "{id}"
        );
        assert!(!logs.text().contains(id), "{id} was logged");
    }

    // Listed with its files and counts, then deleted with its rows.
    let listed = store::list(&db, SITE).await.unwrap();
    assert_eq!(listed.len(), 1);
    let imported = &listed[0];
    assert_eq!(
        (
            imported.first_day.as_str(),
            imported.last_day.as_str(),
            imported.days
        ),
        ("2024-03-01", "2024-03-02", 2)
    );
    assert_eq!((imported.rows_read, imported.rows_skipped), (14, 2));
    assert_eq!(
        imported.files,
        vec![format!("events_{D1}.json"), format!("events_{D2}.json.gz")]
    );
    let hosts = schema::erase::hosts(&config).await.unwrap();
    let removed = store::delete(&hosts, SITE, imported.id, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(removed > 0);
    let left = scalar(
        &db,
        &format!("SELECT count() FROM imported_stats WHERE site = '{SITE}'"),
    )
    .await;
    assert_eq!(left, 0);
    assert_eq!(store::list(&db, SITE).await.unwrap(), vec![]);
    let answer = service.ok(&query(SITE, json!({}))).await;
    assert_eq!(
        answer["meta"]["imports_skip_reason"],
        json!("no_imported_data")
    );
    service.stop().await;
}

#[tokio::test]
async fn include_imports_merges_with_native_days_and_warns_when_it_cannot() {
    let (service, db, _config) = serve(|_| {}, now()).await;
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = write_ga4(dir.path());
    import::import(&db, SITE, Format::Ga4, &[first, second], Options::default())
        .await
        .unwrap();
    // Native events on D2 (which therefore takes no imported totals) and
    // D3: visitor 9 views `/` on D2 and `/new` on D3, one bounce each.
    let ts = |d: u32| {
        Utc.with_ymd_and_hms(2024, 3, d, 10, 0, 0)
            .unwrap()
            .timestamp()
    };
    insert(
        &db,
        &[
            pageview(SITE, ts(2), 9, "/"),
            pageview(SITE, ts(3), 9, "/new"),
        ],
    )
    .await;

    // Native alone: one visitor, two visits and pageviews.
    let native = service
        .ok(
            &json!({"site_id": SITE, "metrics": ["visitors", "visits", "pageviews"],
                    "date_range": ["2024-03-01", "2024-03-03"]}),
        )
        .await;
    assert_eq!(native["results"][0]["metrics"], json!([1, 2, 2]));
    assert!(native["meta"].get("imports_included").is_none());

    // With imports: D1's imported 3 visitors, 3 visits, 4 pageviews added;
    // D2's imported totals give way to the native day.
    let merged = service
        .ok(&query(
            SITE,
            json!({"metrics": ["visitors", "visits", "pageviews"]}),
        ))
        .await;
    assert_eq!(
        merged["results"][0]["metrics"],
        json!([4, 5, 6]),
        "{merged}"
    );

    let by_day = service
        .ok(&query(
            SITE,
            json!({"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]}),
        ))
        .await;
    let days: Vec<Value> = by_day["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!([r["dimensions"][0], r["metrics"]]))
        .collect();
    assert_eq!(
        days,
        vec![
            json!(["2024-03-01", [3, 4]]),
            json!(["2024-03-02", [1, 1]]),
            json!(["2024-03-03", [1, 1]])
        ]
    );

    // Pages: `/` twice on D1 (imported) and once on D2 (native).
    let pages = service
        .ok(&query(
            SITE,
            json!({"metrics": ["pageviews"], "dimensions": ["event:page"]}),
        ))
        .await;
    assert_eq!(
        breakdown(&pages),
        strs(&[("/", 3), ("/pricing", 1), ("/blog", 1), ("/new", 1)])
    );
    let sources = service
        .ok(&query(
            SITE,
            json!({"metrics": ["visitors"], "dimensions": ["visit:source"]}),
        ))
        .await;
    assert_eq!(
        breakdown(&sources),
        strs(&[
            ("Google", 1),
            ("newsletter", 1),
            ("Hacker News", 1),
            ("Direct / None", 1)
        ])
    );

    // A filter on another dimension than the breakdown's: native only, and
    // Plausible's warning.
    let warned = service
        .ok(&query(
            SITE,
            json!({"metrics": ["pageviews"], "dimensions": ["event:page"],
                   "filters": [["is", "visit:country", ["DE"]]]}),
        ))
        .await;
    assert_eq!(warned["meta"]["imports_included"], json!(false));
    assert_eq!(
        warned["meta"]["imports_skip_reason"],
        json!("unsupported_query")
    );
    assert!(warned["meta"]["imports_warning"]
        .as_str()
        .unwrap()
        .starts_with("Imported stats are not included"));
    assert_eq!(warned["results"], json!([]));

    // Hours are finer than imported days.
    let hourly = service
        .ok(&json!({"site_id": SITE, "metrics": ["visitors"], "date_range": ["2024-03-01", "2024-03-01"],
                    "dimensions": ["time:hour"], "include": {"imports": true}}))
        .await;
    assert_eq!(
        hourly["meta"]["imports_skip_reason"],
        json!("unsupported_interval")
    );
    service.stop().await;
}
