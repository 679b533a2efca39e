//! Issue #22's dashboard views in headless Chromium, on visits placed by
//! hand over a year and a bit around a pinned clock:
//! - every period of the date picker shows the visitors the test counted
//!   itself for those days, and so does each period's keyboard shortcut
//!   (`?` lists them);
//! - a custom range, and a comparison with the year before through the
//!   API's `include.comparisons`;
//! - filters with `is not` and `does not contain` and several values,
//!   whose URL reproduces the view when opened again;
//! - the dark theme follows `prefers-color-scheme`.
//!
//! Screenshots go to `target/test-artifacts/dashboard-views-*.png`.

use chrono::{NaiveDate, TimeZone, Utc};
use fantoccini::Locator;
use integration_tests::browser::{Browser, BrowserOptions};
use integration_tests::dashboard_page::{
    headline, press, select, sign_in, text, wait_for_url, wait_ready,
};
use integration_tests::query_harness::{insert, pageview, serve, ADMIN_TOKEN};
use integration_tests::SITE;
use schema::EventRow;
use serde_json::json;

const NOW: i64 = 1_710_000_000; // Saturday 2024-03-09 16:00:00 UTC

/// One visitor's one pageview at noon UTC of `day` (today: 10:00).
struct Visit {
    visitor: u64,
    day: &'static str,
    source: &'static str,
    page: &'static str,
}

const VISITS: [Visit; 10] = [
    Visit {
        visitor: 1,
        day: "2024-03-09",
        source: "Google",
        page: "/",
    },
    Visit {
        visitor: 2,
        day: "2024-03-09",
        source: "Bing",
        page: "/blog/a",
    },
    Visit {
        visitor: 3,
        day: "2024-03-08",
        source: "Google",
        page: "/blog/b",
    },
    Visit {
        visitor: 4,
        day: "2024-03-08",
        source: "",
        page: "/pricing",
    },
    Visit {
        visitor: 5,
        day: "2024-02-01",
        source: "Bing",
        page: "/blog/a",
    },
    Visit {
        visitor: 6,
        day: "2024-01-05",
        source: "Google",
        page: "/",
    },
    Visit {
        visitor: 7,
        day: "2023-12-20",
        source: "Twitter",
        page: "/",
    },
    Visit {
        visitor: 8,
        day: "2023-11-01",
        source: "Google",
        page: "/docs",
    },
    Visit {
        visitor: 9,
        day: "2023-03-09",
        source: "Google",
        page: "/",
    },
    Visit {
        visitor: 10,
        day: "2023-02-10",
        source: "Bing",
        page: "/blog/c",
    },
];

fn date(day: &str) -> NaiveDate {
    NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()
}

fn rows() -> Vec<EventRow> {
    VISITS
        .iter()
        .map(|v| {
            // Today's visits are at 10:00, before the clock's 16:00.
            let hour = if v.day == "2024-03-09" { 10 } else { 12 };
            let at = date(v.day).and_hms_opt(hour, 0, 0).unwrap().and_utc();
            EventRow {
                source: v.source.into(),
                ..pageview(SITE, at.timestamp(), v.visitor, v.page)
            }
        })
        .collect()
}

/// Visitors between two days (inclusive) that `keep` selects, counted here.
fn visitors(first: &str, last: &str, keep: impl Fn(&Visit) -> bool) -> String {
    let (first, last) = (date(first), date(last));
    VISITS
        .iter()
        .filter(|v| (first..=last).contains(&date(v.day)) && keep(v))
        .count()
        .to_string()
}

/// The days each period covers on Saturday 2024-03-09, as the API resolves
/// them (`month` and `12mo` run to the end of the month; `all` from the
/// first event), and the period's shortcut.
const PERIODS: [(&str, char, &str, &str); 9] = [
    ("day", 'd', "2024-03-09", "2024-03-09"),
    ("yesterday", 'e', "2024-03-08", "2024-03-08"),
    ("7d", '7', "2024-03-03", "2024-03-09"),
    ("30d", '3', "2024-02-09", "2024-03-09"),
    ("month", 'm', "2024-03-01", "2024-03-31"),
    ("90d", '9', "2023-12-11", "2024-03-09"),
    ("year", 'y', "2024-01-01", "2024-03-09"),
    ("12mo", 'l', "2023-04-01", "2024-03-31"),
    ("all", 'a', "2023-02-10", "2024-03-09"),
];

#[tokio::test]
async fn periods_comparisons_filters_and_the_url_reproduce_the_views() {
    let (service, db, _) = serve(|_| {}, Utc.timestamp_opt(NOW, 0).unwrap()).await;
    insert(&db, &rows()).await;
    let browser = Browser::start(BrowserOptions::default()).await;
    browser.open(&service.url("/")).await;
    assert!(
        browser
            .wait_for_js("return document.body.dataset.state === 'login'")
            .await
    );
    sign_in(&browser, ADMIN_TOKEN).await;
    wait_ready(&browser).await;

    // The picker: each period's visitors and days.
    for (period, _, first, last) in PERIODS {
        select(&browser, "#period", period).await;
        wait_for_url(&browser, &format!("period={period}")).await;
        let expected = visitors(first, last, |_| true);
        assert_eq!(headline(&browser, "visitors").await, expected, "{period}");
        let status = text(&browser, "#status").await;
        assert!(
            status.starts_with(&format!("{first} to {last}")),
            "{period}: {status}"
        );
    }
    // The same from the keyboard, from another period each time.
    for (period, key, first, last) in PERIODS.iter().rev() {
        press(&browser, *key).await;
        wait_for_url(&browser, &format!("period={period}")).await;
        assert_eq!(
            headline(&browser, "visitors").await,
            visitors(first, last, |_| true),
            "{key}"
        );
    }
    // `r` is the realtime view, in place of the reports.
    press(&browser, 'r').await;
    wait_for_url(&browser, "period=realtime").await;
    assert_eq!(
        browser
            .eval("return [document.getElementById('reports').hidden, document.getElementById('realtime-view').hidden]")
            .await,
        json!([true, false])
    );
    // `?` lists the shortcuts; Escape closes the list.
    press(&browser, '?').await;
    assert!(
        browser
            .wait_for_js("return document.getElementById('shortcuts-help').open")
            .await
    );
    let help = text(&browser, "#shortcuts-help").await;
    for needle in ["Yesterday", "Year to date", "Realtime", "Last 90 days"] {
        assert!(help.contains(needle), "{help}");
    }
    browser.screenshot("dashboard-views-shortcuts").await;
    press(&browser, '\u{e00c}').await; // Escape
    assert!(
        browser
            .wait_for_js("return !document.getElementById('shortcuts-help').open")
            .await
    );

    // A custom range of days.
    select(&browser, "#period", "custom").await;
    wait_for_url(&browser, "period=custom").await;
    browser
        .eval(
            "document.getElementById('from').value = '2024-01-01';
             const to = document.getElementById('to');
             to.value = '2024-02-29';
             to.dispatchEvent(new Event('change'));
             return true",
        )
        .await;
    wait_for_url(&browser, "from=2024-01-01&to=2024-02-29").await;
    assert_eq!(
        headline(&browser, "visitors").await,
        visitors("2024-01-01", "2024-02-29", |_| true)
    );

    // Year to date against the same days a year before (365 days: the
    // leap day moves the end to March 10th), through the API's comparison.
    press(&browser, 'y').await;
    wait_for_url(&browser, "period=year").await;
    select(&browser, "#compare", "year_over_year").await;
    wait_for_url(&browser, "compare=year_over_year").await;
    let before = visitors("2023-01-01", "2023-03-10", |_| true);
    assert_eq!(before, "2");
    let api = service
        .ok(&json!({
            "site_id": SITE, "metrics": ["visitors"], "date_range": ["2024-01-01", "2024-03-09"],
            "include": {"comparisons": {"mode": "year_over_year"}},
        }))
        .await;
    assert_eq!(
        api["results"][0]["comparison"]["metrics"][0].to_string(),
        before
    );
    let badge = text(&browser, "#headline .stat[data-metric=visitors] .change").await;
    // 6 now against 2: three times as many.
    assert_eq!(badge, "↑ +200%");
    let status = text(&browser, "#status").await;
    assert!(
        status.ends_with("compared with 2023-01-01 to 2023-03-10"),
        "{status}"
    );
    assert!(text(&browser, "#legend-previous")
        .await
        .contains("a year before"));
    // `x` stops comparing.
    press(&browser, 'x').await;
    assert!(
        browser
            .wait_for_js("return !location.search.includes('compare=')")
            .await
    );
    wait_ready(&browser).await;

    // Filters: source is not Google or Bing, then page does not contain
    // "pric", over all time.
    press(&browser, 'a').await;
    wait_for_url(&browser, "period=all").await;
    add_filter(&browser, "source", "is_not", &["Google", "Bing"]).await;
    wait_for_url(&browser, "not.source=Google&not.source=Bing").await;
    let not_big = |v: &Visit| v.source != "Google" && v.source != "Bing";
    assert_eq!(
        headline(&browser, "visitors").await,
        visitors("2023-01-01", "2024-03-09", not_big)
    );
    assert_eq!(
        text(&browser, "#filters .chip").await,
        "Source is not Google or Bing ×"
    );
    add_filter(&browser, "page", "contains_not", &["pric"]).await;
    wait_for_url(&browser, "not_contains.page=pric").await;
    let both = |v: &Visit| not_big(v) && !v.page.contains("pric");
    let expected = visitors("2023-01-01", "2024-03-09", both);
    assert_eq!(expected, "1");
    assert_eq!(headline(&browser, "visitors").await, expected);
    let api = service
        .ok(&json!({
            "site_id": SITE, "metrics": ["visitors"], "date_range": "all",
            "filters": [["is_not", "visit:source", ["Google", "Bing"]], ["contains_not", "event:page", ["pric"]]],
        }))
        .await;
    assert_eq!(api["results"][0]["metrics"][0].to_string(), expected);
    browser.screenshot("dashboard-views-filters").await;

    // The URL is the view: opened afresh, the same chips and numbers.
    let url = browser.eval("return location.href").await;
    browser.open(url.as_str().unwrap()).await;
    wait_ready(&browser).await;
    assert_eq!(headline(&browser, "visitors").await, expected);
    let chips = browser
        .eval("return [...document.querySelectorAll('#filters .chip')].map(c => c.textContent)")
        .await;
    assert_eq!(
        chips,
        json!([
            "Source is not Google or Bing ×",
            "Page does not contain pric ×"
        ])
    );
    assert_eq!(
        browser
            .eval("return document.getElementById('period').value")
            .await,
        "all"
    );
    // Removing the first chip keeps the second.
    browser.click("#filters .chip").await;
    assert!(
        browser
            .wait_for_js("return !location.search.includes('not.source')")
            .await
    );
    wait_ready(&browser).await;
    let no_pricing = visitors("2023-01-01", "2024-03-09", |v| !v.page.contains("pric"));
    assert_eq!(headline(&browser, "visitors").await, no_pricing);

    // The dark theme follows the system's choice.
    let background = "return getComputedStyle(document.body).backgroundColor";
    assert_eq!(browser.eval(background).await, "rgb(245, 246, 248)");
    color_scheme(&browser, "dark").await;
    assert_eq!(browser.eval(background).await, "rgb(17, 21, 28)");
    browser.screenshot("dashboard-views-dark").await;
    color_scheme(&browser, "light").await;
    assert_eq!(browser.eval(background).await, "rgb(245, 246, 248)");

    browser.close().await;
    service.stop().await;
}

/// Adds a filter through the form: dimension, operator, values.
async fn add_filter(browser: &Browser, key: &str, op: &str, values: &[&str]) {
    browser.click("#add-filter").await;
    assert!(
        browser
            .wait_for_js("return document.getElementById('filter-dialog').open")
            .await
    );
    select(browser, "#filter-key", key).await;
    select(browser, "#filter-op", op).await;
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            browser.click("#filter-add-value").await;
        }
        let inputs = browser
            .client()
            .find_all(Locator::Css("#filter-values input"))
            .await
            .unwrap();
        inputs[i].send_keys(value).await.unwrap();
    }
    browser.click("#filter-apply").await;
}

/// Emulates the system's `prefers-color-scheme`.
async fn color_scheme(browser: &Browser, scheme: &str) {
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )
        .await;
}
