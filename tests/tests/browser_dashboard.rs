//! Browser test 3 of issue #6: an editor signs in through the real form in
//! headless Chromium; the dashboard shows the numbers the Stats API gives
//! for the same data; clicking a source filters the pages list to that
//! source's pages (computed here from the test's own events); the filter
//! lives in the URL and survives a reload; screenshots at laptop and phone
//! widths are saved under `target/test-artifacts/`.

use chrono::{TimeZone, Utc};
use fantoccini::Locator;
use integration_tests::browser::{Browser, BrowserOptions};
use integration_tests::query_harness::{insert, with_editors, TestQuery, ADMIN_TOKEN};
use integration_tests::{test_config, TestDb, SITE};
use schema::EventRow;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC

/// A visitor's visit: where they came from and the pages they saw, a minute apart.
struct Visit {
    visitor: u64,
    source: &'static str,
    referrer: &'static str,
    browser: &'static str,
    start: i64,
    pages: &'static [&'static str],
}

fn visits() -> Vec<Visit> {
    let v = |visitor, source, referrer, browser, ago, pages| Visit {
        visitor,
        source,
        referrer,
        browser,
        start: NOW - ago,
        pages,
    };
    vec![
        v(
            1,
            "Google",
            "google.com",
            "Chrome",
            30_000,
            &["/", "/pricing"],
        ),
        v(2, "Google", "google.com", "Firefox", 20_000, &["/"]),
        v(
            3,
            "Google",
            "google.com",
            "Chrome",
            15_000,
            &["/pricing", "/docs/start"],
        ),
        v(4, "Google", "google.com", "Safari", 9_000, &["/"]),
        v(
            5,
            "Hacker News",
            "news.ycombinator.com",
            "Firefox",
            8_000,
            &["/blog/launch"],
        ),
        v(
            6,
            "Hacker News",
            "news.ycombinator.com",
            "Chrome",
            7_000,
            &["/blog/launch", "/"],
        ),
        v(
            7,
            "Hacker News",
            "news.ycombinator.com",
            "Chrome",
            5_000,
            &["/blog"],
        ),
        v(8, "Direct / None", "", "Safari", 4_000, &["/about"]),
        // Within the last five minutes: the one current visitor.
        v(9, "Direct / None", "", "Chrome", 120, &["/", "/about"]),
    ]
}

fn rows(visits: &[Visit]) -> Vec<EventRow> {
    let mut rows = Vec::new();
    for visit in visits {
        for (i, page) in visit.pages.iter().enumerate() {
            rows.push(EventRow {
                timestamp: (visit.start + 60 * i as i64) as u32,
                site: SITE.into(),
                name: "pageview".into(),
                hostname: SITE.into(),
                pathname: (*page).into(),
                visitor_id: visit.visitor,
                referrer: visit.referrer.into(),
                source: visit.source.into(),
                browser: visit.browser.into(),
                os: "Linux".into(),
                device: "Desktop".into(),
                country: "DE".into(),
                interactive: 1,
                ..EventRow::default()
            });
            // Read for 20 s and more, then left: time on page that changes
            // none of the other numbers (issue #21).
            rows.push(EventRow {
                timestamp: (visit.start + 60 * i as i64 + 30) as u32,
                name: "engagement".into(),
                scroll_depth: 50 + visit.visitor as u8,
                engagement_ms: 20_000 + 1_000 * visit.visitor as u32,
                ..rows.last().unwrap().clone()
            });
        }
    }
    rows
}

/// Visitors per page among the visits `keep` selects, from the test's data.
fn visitors_per_page(visits: &[Visit], keep: impl Fn(&Visit) -> bool) -> BTreeMap<String, u64> {
    let mut seen: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for visit in visits.iter().filter(|v| keep(v)) {
        for page in visit.pages {
            seen.entry((*page).into())
                .or_default()
                .insert(visit.visitor);
        }
    }
    seen.into_iter()
        .map(|(page, who)| (page, who.len() as u64))
        .collect()
}

/// How the dashboard writes each headline metric (see `assets/format.js`).
fn shown(metric: &str, value: &Value) -> String {
    let Some(n) = value.as_f64() else {
        return "–".into();
    };
    match metric {
        "bounce_rate" | "scroll_depth" | "exit_rate" => format!("{}%", n.round()),
        "visit_duration" | "time_on_page" => {
            let s = n as u64;
            match s {
                0..60 => format!("{s}s"),
                60..3600 => format!("{}m {:02}s", s / 60, s % 60),
                _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
            }
        }
        _ => format!("{n}"),
    }
}

const HEADLINE: [&str; 6] = [
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
];

/// The headline numbers as the API gives them for these filters, written
/// the dashboard's way.
async fn api_headline(service: &TestQuery, filters: Value) -> BTreeMap<String, String> {
    let answer = service
        .ok(&json!({"site_id": SITE, "metrics": HEADLINE, "date_range": "30d", "filters": filters}))
        .await;
    let metrics = answer["results"][0]["metrics"].as_array().unwrap().clone();
    let mut out: BTreeMap<String, String> = HEADLINE
        .iter()
        .zip(&metrics)
        .map(|(m, v)| (m.to_string(), shown(m, v)))
        .collect();
    // Engaged time: time on page over every page (every path has a `/`).
    let mut every_page = filters.as_array().unwrap().clone();
    every_page.push(json!(["contains", "event:page", ["/"]]));
    let engaged = service
        .ok(
            &json!({"site_id": SITE, "metrics": ["time_on_page"], "date_range": "30d",
                    "filters": every_page}),
        )
        .await;
    let value = &engaged["results"][0]["metrics"][0];
    assert!(value.as_f64().unwrap() >= 20.0, "{engaged}");
    out.insert("time_on_page".into(), shown("time_on_page", value));
    out
}

/// Top pages' details view: each page's cells after its visitors, as the
/// dashboard writes them.
async fn dom_page_details(browser: &Browser) -> BTreeMap<String, Vec<String>> {
    let pairs = browser
        .eval(
            "return [...document.querySelectorAll('#panel-pages tbody tr')]
                .filter(tr => tr.querySelector('.row-filter'))
                .map(tr => [tr.querySelector('.row-filter').dataset.value,
                            [...tr.querySelectorAll('.num')].slice(1).map(td => td.textContent)]);",
        )
        .await;
    serde_json::from_value::<Vec<(String, Vec<String>)>>(pairs)
        .unwrap()
        .into_iter()
        .collect()
}

/// The same from the Stats API.
async fn api_page_details(service: &TestQuery) -> BTreeMap<String, Vec<String>> {
    let metrics = ["time_on_page", "scroll_depth", "exit_rate"];
    let answer = service
        .ok(
            &json!({"site_id": SITE, "metrics": metrics, "date_range": "30d",
                    "dimensions": ["event:page"]}),
        )
        .await;
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let cells = metrics
                .iter()
                .zip(r["metrics"].as_array().unwrap())
                .map(|(m, v)| shown(m, v))
                .collect();
            (r["dimensions"][0].as_str().unwrap().to_string(), cells)
        })
        .collect()
}

async fn dom_headline(browser: &Browser) -> BTreeMap<String, String> {
    let pairs = browser
        .eval(
            "return [...document.querySelectorAll('#headline .stat')]
                .map(s => [s.dataset.metric, s.querySelector('.value').textContent]);",
        )
        .await;
    serde_json::from_value::<Vec<(String, String)>>(pairs)
        .unwrap()
        .into_iter()
        .collect()
}

async fn dom_pages(browser: &Browser) -> BTreeMap<String, u64> {
    let pairs = browser
        .eval(
            "return [...document.querySelectorAll('#panel-pages tbody tr')]
                .filter(tr => tr.querySelector('.row-filter'))
                .map(tr => [tr.querySelector('.row-filter').dataset.value,
                            Number(tr.querySelector('.num').textContent)]);",
        )
        .await;
    serde_json::from_value::<Vec<(String, u64)>>(pairs)
        .unwrap()
        .into_iter()
        .collect()
}

/// Waits until the dashboard has loaded every report for the current view.
async fn wait_ready(browser: &Browser) {
    let ready = browser
        .wait_for_js("return document.body.dataset.state === 'ready'")
        .await;
    let status = browser
        .eval("return document.body.dataset.state + ': ' + document.getElementById('status').textContent")
        .await;
    assert!(ready, "the dashboard did not finish loading ({status})");
}

/// Emulates a viewport of this size (headless windows do not get as
/// narrow as a phone) and lets the page redraw for it.
async fn viewport(browser: &Browser, width: u32, height: u32, mobile: bool) {
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    browser
        .eval("window.dispatchEvent(new Event('resize')); return true")
        .await;
}

async fn sign_in(browser: &Browser, token: &str) {
    let input = browser.client().find(Locator::Css("#token")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(token).await.unwrap();
    browser.click("#login-form button[type=submit]").await;
}

#[tokio::test]
async fn an_editor_signs_in_sees_the_api_numbers_and_filters_by_source() {
    let mut config = test_config();
    with_editors(&mut config);
    let service = TestQuery::start(config.clone(), Utc.timestamp_opt(NOW, 0).unwrap()).await;
    let db = TestDb::connect(&config).await;
    let visits = visits();
    insert(&db, &rows(&visits)).await;

    let browser = Browser::start(BrowserOptions::default()).await;
    browser.open(&service.url("/")).await;
    assert!(
        browser
            .wait_for_js("return document.body.dataset.state === 'login'")
            .await,
        "no sign-in form"
    );
    // A wrong token is refused in the form, and no session starts.
    sign_in(&browser, "not-the-token").await;
    assert!(
        browser
            .wait_for_js(
                "return document.getElementById('login-error').textContent.includes('not accepted')"
            )
            .await
    );
    sign_in(&browser, ADMIN_TOKEN).await;
    wait_ready(&browser).await;
    let shown = browser
        .eval(
            "const visible = (id) => getComputedStyle(document.getElementById(id)).display !== 'none';
             return [visible('login'), visible('dashboard')];",
        )
        .await;
    assert_eq!(
        shown,
        json!([false, true]),
        "the form should give way to the reports"
    );
    // The session cookie is HttpOnly: the page's scripts cannot read it.
    let cookies = browser.eval("return document.cookie").await;
    assert!(!cookies.as_str().unwrap().contains("analytics_session"));

    // Headline numbers: the API's, and the visitors the test knows it made.
    let expected = api_headline(&service, json!([])).await;
    assert_eq!(expected["visitors"], visits.len().to_string());
    assert_eq!(dom_headline(&browser).await, expected);
    let realtime = browser
        .eval("return document.getElementById('realtime').textContent")
        .await;
    assert_eq!(realtime, "1");
    assert_eq!(
        dom_pages(&browser).await,
        visitors_per_page(&visits, |_| true)
    );
    // Top pages' details view adds time on page, scroll depth, exit rate.
    browser.click("#panel-pages .details").await;
    assert!(
        browser
            .wait_for_js("return document.querySelectorAll('#panel-pages tbody tr:first-child td').length === 5")
            .await
    );
    let heads = browser
        .eval("return [...document.querySelectorAll('#panel-pages thead th')].map(th => th.textContent)")
        .await;
    assert_eq!(
        heads,
        json!([
            "Page",
            "Visitors",
            "Time on page",
            "Scroll depth",
            "Exit rate"
        ])
    );
    assert_eq!(
        dom_page_details(&browser).await,
        api_page_details(&service).await
    );
    // A tall laptop viewport, so the screenshot holds the whole page.
    viewport(&browser, 1280, 1700, false).await;
    browser.screenshot("dashboard-laptop").await;
    browser.click("#panel-pages .details").await;
    assert!(
        browser
            .wait_for_js("return document.querySelectorAll('#panel-pages tbody tr:first-child td').length === 2")
            .await
    );

    // Clicking a source filters everything, the pages list included.
    browser
        .click("#panel-sources .row-filter[data-value='Google']")
        .await;
    let google = visitors_per_page(&visits, |v| v.source == "Google");
    assert!(
        browser
            .wait_for_js("return location.search.includes('source=Google')")
            .await
    );
    wait_ready(&browser).await;
    assert_eq!(dom_pages(&browser).await, google);
    assert_ne!(google, visitors_per_page(&visits, |_| true));
    let filter = json!([["is", "visit:source", ["Google"]]]);
    let filtered = api_headline(&service, filter).await;
    assert_eq!(filtered["visitors"], "4");
    assert_eq!(dom_headline(&browser).await, filtered);
    let chip = browser
        .eval("return document.querySelector('#filters .chip').textContent")
        .await;
    assert!(
        chip.as_str().unwrap().contains("Source is Google"),
        "{chip}"
    );
    browser.screenshot("dashboard-laptop-filtered").await;

    // The view is in the URL: reloading it keeps the filter.
    let url = browser.eval("return location.href").await;
    browser.open(url.as_str().unwrap()).await;
    wait_ready(&browser).await;
    assert_eq!(dom_pages(&browser).await, google);

    // Comparing with the 30 days before, which hold no events: every
    // count is new, and the URL says so.
    integration_tests::dashboard_page::select(&browser, "#compare", "previous_period").await;
    assert!(
        browser
            .wait_for_js("return location.search.includes('compare=previous_period')")
            .await
    );
    wait_ready(&browser).await;
    let badges = browser
        .eval("return [...document.querySelectorAll('#headline .change')].map(b => b.textContent)")
        .await;
    // The headline's, and engaged time's.
    assert_eq!(
        badges.as_array().unwrap().len(),
        HEADLINE.len() + 1,
        "{badges}"
    );
    assert_eq!(badges[0], "new", "{badges}");
    viewport(&browser, 390, 2600, false).await;
    assert!(
        browser
            .wait_for_js("return document.querySelector('#chart svg').getAttribute('width') < 400")
            .await,
        "the chart did not follow the narrower window: {}",
        browser
            .eval("return [innerWidth, document.documentElement.scrollWidth, document.getElementById('chart').clientWidth, document.querySelector('#chart svg').getAttribute('width')].join(' ')")
            .await
    );
    browser.screenshot("dashboard-phone").await;

    // Removing the chip brings every page back.
    browser.click("#filters .chip").await;
    assert!(
        browser
            .wait_for_js("return !location.search.includes('source=')")
            .await
    );
    wait_ready(&browser).await;
    assert_eq!(
        dom_pages(&browser).await,
        visitors_per_page(&visits, |_| true)
    );

    browser.close().await;
    service.stop().await;
}
