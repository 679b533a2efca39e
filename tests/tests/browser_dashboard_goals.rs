//! Issue #22's goal conversions and properties panels in headless Chromium:
//! - each goal's uniques, total and conversion rate on the page are the
//!   Stats API's, and those are the ones counted here by hand; the revenue
//!   goal shows the API's revenue;
//! - clicking a goal filters the dashboard by it (`goal=` in the URL); the
//!   properties panel then starts on that goal's own property (`author`,
//!   though `section` has more visitors), with the API's conversion rates;
//! - clicking a property value adds its filter to the URL
//!   (`prop.author=Ana`), and the view reloads from that URL alike.
//!
//! Screenshots go to `target/test-artifacts/dashboard-goals-*.png`.

use chrono::{TimeZone, Utc};
use integration_tests::browser::{Browser, BrowserOptions};
use integration_tests::dashboard_page::{headline, sign_in, text, wait_for_url, wait_ready};
use integration_tests::query_harness::{insert, pageview, serve, ADMIN_TOKEN};
use integration_tests::SITE;
use schema::config::GoalConfig;
use schema::EventRow;
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC

fn event(visitor: u64, ago: i64, name: &str, path: &str, props: &[(&str, &str)]) -> EventRow {
    EventRow {
        name: name.into(),
        props_keys: props.iter().map(|p| p.0.to_string()).collect(),
        props_values: props.iter().map(|p| p.1.to_string()).collect(),
        ..pageview(SITE, NOW - ago, visitor, path)
    }
}

fn purchase(visitor: u64, ago: i64, amount: &str) -> EventRow {
    EventRow {
        revenue_amount: amount.into(),
        revenue_currency: "EUR".into(),
        ..event(visitor, ago, "Purchase", "/pricing", &[])
    }
}

/// Six visitors today. Every pageview carries `section`; `author` is on
/// the blog pageviews and on the signups; `plan` on one signup.
fn rows() -> Vec<EventRow> {
    let news = [("section", "news")];
    let shop = [("section", "shop")];
    vec![
        // 1: reads Ana's post, signs up (author Ana, plan pro).
        event(
            1,
            3_000,
            "pageview",
            "/blog/x",
            &[("section", "news"), ("author", "Ana")],
        ),
        event(
            1,
            2_900,
            "Signup",
            "/blog/x",
            &[("author", "Ana"), ("plan", "pro")],
        ),
        // 2: reads Bo's post, signs up.
        event(
            2,
            2_800,
            "pageview",
            "/blog/y",
            &[("section", "news"), ("author", "Bo")],
        ),
        event(2, 2_700, "Signup", "/blog/y", &[("author", "Bo")]),
        // 3: reads Ana's post, buys for 10 EUR.
        event(
            3,
            2_600,
            "pageview",
            "/blog/x",
            &[("section", "news"), ("author", "Ana")],
        ),
        purchase(3, 2_500, "10"),
        // 4: pricing, buys for 5.50 EUR.
        event(4, 2_400, "pageview", "/pricing", &shop),
        purchase(4, 2_300, "5.5"),
        // 5: the front page only.
        event(5, 2_200, "pageview", "/", &news),
        // 6: the shop, then signs up from Ana's post.
        event(6, 2_100, "pageview", "/shop", &shop),
        event(6, 2_000, "Signup", "/blog/x", &[("author", "Ana")]),
    ]
}

fn goal(event: Option<&str>, page: Option<&str>, currency: Option<&str>) -> GoalConfig {
    GoalConfig {
        event: event.map(String::from),
        page: page.map(String::from),
        currency: currency.map(String::from),
        ..GoalConfig::default()
    }
}

/// A number as the page writes a rate: at most one decimal, no `.0`.
fn percent(value: &Value) -> String {
    let n = value.as_f64().unwrap();
    if n.fract() == 0.0 {
        format!("{}%", n as i64)
    } else {
        format!("{n}%")
    }
}

/// The goals panel: goal -> (uniques, total, conversion rate, revenue).
async fn goals_panel(browser: &Browser) -> Value {
    browser
        .eval(
            "return Object.fromEntries([...document.querySelectorAll('#panel-goals tbody tr')].map(tr => [
                tr.dataset.goal,
                [...tr.querySelectorAll('td.num')].map(td => td.textContent)]))",
        )
        .await
}

/// The properties panel: value -> [visitors, events, (conversion rate)].
async fn props_panel(browser: &Browser) -> Value {
    browser
        .eval(
            "return Object.fromEntries([...document.querySelectorAll('#panel-props tbody tr')]
                .filter(tr => tr.querySelector('.row-filter'))
                .map(tr => [tr.querySelector('.row-filter').dataset.value,
                            [...tr.querySelectorAll('td.num')].map(td => td.textContent)]))",
        )
        .await
}

#[tokio::test]
async fn goal_conversions_and_properties_are_the_apis_and_filter_by_click() {
    let (service, db, _) = serve(
        |c| {
            c.site[0].goal = vec![
                goal(Some("Signup"), None, None),
                goal(Some("Purchase"), None, Some("EUR")),
                goal(None, Some("/pricing"), None),
            ];
        },
        Utc.timestamp_opt(NOW, 0).unwrap(),
    )
    .await;
    insert(&db, &rows()).await;
    let browser = Browser::start(BrowserOptions::default()).await;
    browser
        .open(&service.url(&format!("/?site={SITE}&period=day")))
        .await;
    assert!(
        browser
            .wait_for_js("return document.body.dataset.state === 'login'")
            .await
    );
    sign_in(&browser, ADMIN_TOKEN).await;
    wait_ready(&browser).await;

    // Conversions, against all 6 visitors: Signup by 1, 2 and 6 (3 events);
    // Purchase by 3 and 4, 15.5 EUR; the pricing page by 4.
    let api = service
        .ok(&json!({
            "site_id": SITE, "date_range": "day", "dimensions": ["event:goal"],
            "metrics": ["visitors", "events", "conversion_rate", "total_revenue"],
        }))
        .await;
    let by_goal = |name: &str| -> Value {
        api["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["dimensions"][0] == name)
            .unwrap_or_else(|| panic!("no {name} in {api}"))["metrics"]
            .clone()
    };
    let signup = by_goal("Signup");
    assert_eq!((&signup[0], &signup[1]), (&json!(3), &json!(3)));
    assert_eq!(signup[2].as_f64(), Some(50.0));
    let purchase = by_goal("Purchase");
    assert_eq!(purchase[0], 2);
    assert_eq!(purchase[2].as_f64(), Some(33.3));
    assert_eq!(purchase[3]["value"].as_f64(), Some(15.5));
    let pricing = by_goal("Visit /pricing");
    assert_eq!(pricing[2].as_f64(), Some(16.7));

    let shown = goals_panel(&browser).await;
    for (name, metrics) in [
        ("Signup", &signup),
        ("Purchase", &purchase),
        ("Visit /pricing", &pricing),
    ] {
        let row = &shown[name];
        assert_eq!(row[0], metrics[0].to_string(), "{name} uniques: {shown}");
        assert_eq!(row[1], metrics[1].to_string(), "{name} total: {shown}");
        assert_eq!(
            row[2],
            percent(&metrics[2]),
            "{name} conversion rate: {shown}"
        );
    }
    assert_eq!(shown["Purchase"][3], purchase[3]["short"], "{shown}");
    assert_eq!(shown["Signup"][3], "–", "no revenue goal: {shown}");

    // Without a goal filter the properties panel starts on the key with
    // the most visitors: section (all 6), then author (1, 2, 3, 6), plan.
    // Its values: news (1, 2, 3, 5), shop (4, 6), and none on the signups
    // and purchases (1, 2, 3, 4, 6).
    let keys = browser
        .eval("return [...document.querySelectorAll('#prop-key option')].map(o => o.value)")
        .await;
    assert_eq!(keys, json!(["section", "author", "plan"]));
    assert_eq!(
        props_panel(&browser).await,
        json!({"news": ["4", "4"], "shop": ["2", "2"], "(none)": ["5", "5"]})
    );
    browser.screenshot("dashboard-goals").await;

    // Clicking a goal filters by it.
    browser
        .click("#panel-goals .row-filter[data-value='Signup']")
        .await;
    wait_for_url(&browser, "goal=Signup").await;
    assert_eq!(headline(&browser, "visitors").await, "3");
    assert!(text(&browser, "#filters .chip")
        .await
        .starts_with("Goal is Signup"));
    // The goal's own keys come first (author on 1, 2, 6; plan on 1), and the
    // panel starts on author: Ana's signups by 1 and 6, Bo's by 2.
    assert_eq!(
        browser
            .eval("return document.getElementById('prop-key').value")
            .await,
        "author"
    );
    let keys = browser
        .eval("return [...document.querySelectorAll('#prop-key option')].map(o => o.value)")
        .await;
    assert_eq!(keys, json!(["author", "plan", "section"]));
    let api = service
        .ok(&json!({
            "site_id": SITE, "date_range": "day", "dimensions": ["event:props:author"],
            "metrics": ["visitors", "events", "conversion_rate"],
            "filters": [["is", "event:goal", ["Signup"]]],
        }))
        .await;
    let mut expected = serde_json::Map::new();
    for row in api["results"].as_array().unwrap() {
        let m = &row["metrics"];
        expected.insert(
            row["dimensions"][0].as_str().unwrap().into(),
            json!([m[0].to_string(), m[1].to_string(), percent(&m[2])]),
        );
    }
    assert_eq!(
        Value::Object(expected.clone()),
        json!({"Ana": ["2", "2", "33.3%"], "Bo": ["1", "1", "16.7%"]})
    );
    assert_eq!(props_panel(&browser).await, Value::Object(expected));
    browser.screenshot("dashboard-goals-signup").await;

    // Clicking a property value adds its filter to the URL.
    browser
        .click("#panel-props .row-filter[data-value='Ana']")
        .await;
    wait_for_url(&browser, "prop.author=Ana").await;
    let search = browser.eval("return location.search").await;
    assert!(search.as_str().unwrap().contains("goal=Signup"), "{search}");
    assert_eq!(headline(&browser, "visitors").await, "2");
    let chips = browser
        .eval("return [...document.querySelectorAll('#filters .chip')].map(c => c.textContent)")
        .await;
    assert_eq!(
        chips,
        json!(["Goal is Signup ×", "Property author is Ana ×"])
    );
    // And the URL alone gives the same view.
    let url = browser.eval("return location.href").await;
    browser.open(url.as_str().unwrap()).await;
    wait_ready(&browser).await;
    assert_eq!(headline(&browser, "visitors").await, "2");
    assert_eq!(goals_panel(&browser).await["Signup"][0], "2");

    browser.close().await;
    service.stop().await;
}
