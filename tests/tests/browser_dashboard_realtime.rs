//! Issue #22's realtime view in headless Chromium, with a real collector:
//! the view shows what `GET /api/dashboard/realtime` answers; a beacon sent
//! to the collector while the page is open shows up on its own (a marker
//! set on the page's `window` survives, so the page was not reloaded); the
//! refresh stops while the tab is hidden and catches up when it is shown.
//! The collector's clock and the query service's are the same second, so
//! the beacon lands in the window's last minute.

use chrono::{TimeZone, Utc};
use integration_tests::browser::{Browser, BrowserOptions};
use integration_tests::dashboard_page::{sign_in, text, wait_ready};
use integration_tests::query_harness::{insert, pageview, with_editors, TestQuery, ADMIN_TOKEN};
use integration_tests::{
    expect_event_count, send, test_config, Clock, SystemClock, TestCollector, SITE,
};
use serde_json::{json, Value};

/// The realtime lists as the page shows them: `[[label, visitors], ...]`.
async fn shown_list(browser: &Browser, id: &str) -> Value {
    browser
        .eval(&format!(
            "return [...document.querySelectorAll('#{id} tbody tr[data-value]')]
                .map(tr => [tr.dataset.value, Number(tr.querySelector('.num').textContent)])"
        ))
        .await
}

/// The same lists from the endpoint.
fn api_list(answer: &Value, list: &str, key: &str) -> Value {
    let rows: Vec<Value> = answer[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!([r[key], r["visitors"]]))
        .collect();
    Value::Array(rows)
}

async fn endpoint(service: &TestQuery) -> Value {
    service
        .http()
        .get(service.url(&format!("/api/dashboard/realtime?site_id={SITE}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Makes the page believe its tab was hidden or shown again.
async fn set_hidden(browser: &Browser, hidden: bool) {
    let state = if hidden { "hidden" } else { "visible" };
    let script = format!(
        "Object.defineProperty(document, 'hidden', {{ value: {hidden}, configurable: true }});
         Object.defineProperty(document, 'visibilityState', {{ value: '{state}', configurable: true }});
         document.dispatchEvent(new Event('visibilitychange'));
         return true"
    );
    browser.eval(&script).await;
}

#[tokio::test]
async fn the_realtime_view_updates_itself_when_a_beacon_arrives() {
    let now = SystemClock.now();
    let mut config = test_config();
    with_editors(&mut config);
    let collector = TestCollector::start_at(config.clone(), now).await;
    let service = TestQuery::start(config, Utc.timestamp_opt(now as i64, 0).unwrap()).await;
    let at = now as i64;
    // Two visitors already: one 10 minutes ago, one 2 minutes ago.
    insert(
        &collector.db,
        &[
            pageview(SITE, at - 600, 1, "/"),
            pageview(SITE, at - 120, 2, "/pricing"),
        ],
    )
    .await;

    let browser = Browser::start(BrowserOptions::default()).await;
    browser
        .open(&service.url(&format!("/?site={SITE}&period=realtime")))
        .await;
    assert!(
        browser
            .wait_for_js("return document.body.dataset.state === 'login'")
            .await
    );
    sign_in(&browser, ADMIN_TOKEN).await;
    wait_ready(&browser).await;

    let before = endpoint(&service).await;
    assert_eq!(before["current_visitors"], 1);
    assert_eq!(before["visitors"], 2);
    assert_eq!(text(&browser, "#rt-current").await, "1");
    assert_eq!(text(&browser, "#rt-visitors").await, "2");
    assert_eq!(
        text(&browser, "#realtime").await,
        "1",
        "the top bar's count"
    );
    assert_eq!(
        shown_list(&browser, "rt-pages").await,
        api_list(&before, "pages", "page")
    );
    assert_eq!(
        shown_list(&browser, "rt-sources").await,
        api_list(&before, "sources", "source")
    );
    let bars = browser
        .eval("return document.querySelectorAll('#rt-chart rect.bar').length")
        .await;
    assert_eq!(bars, 30);
    assert_eq!(
        browser
            .eval("return document.getElementById('realtime-view').dataset.polling")
            .await,
        "live"
    );
    browser.screenshot("dashboard-realtime-before").await;

    // A new visitor's beacon, through the collector, while the page stays open.
    browser
        .eval("window.stillThisPage = true; return true")
        .await;
    let url = format!("https://{SITE}/launch");
    let response = send(&collector, &integration_tests::pageview(SITE, &url), &[]).await;
    assert_eq!(response.status(), 202);
    expect_event_count(&collector.db, 3).await;
    let updated = browser
        .wait_for_js(
            "return document.getElementById('rt-current').textContent === '2'
                && !!document.querySelector('#rt-pages tr[data-value=\"/launch\"]')",
        )
        .await;
    assert!(
        updated,
        "the view did not take in the new pageview: {} current",
        text(&browser, "#rt-current").await
    );
    let after = endpoint(&service).await;
    assert_eq!(after["current_visitors"], 2);
    assert_eq!(after["visitors"], 3);
    assert_eq!(
        after["minutes"][29]["pageviews"], 1,
        "this minute's pageview"
    );
    assert_eq!(
        shown_list(&browser, "rt-pages").await,
        api_list(&after, "pages", "page")
    );
    assert_eq!(text(&browser, "#rt-visitors").await, "3");
    let same_page = browser
        .eval("return window.stillThisPage === true && performance.getEntriesByType('navigation').length === 1")
        .await;
    assert_eq!(same_page, true, "the page was reloaded");
    browser.screenshot("dashboard-realtime-after").await;

    // Hidden, it stops asking; shown again, it asks at once.
    set_hidden(&browser, true).await;
    let polling = "return document.getElementById('realtime-view').dataset.polling";
    assert_eq!(browser.eval(polling).await, "paused");
    let refreshes = "return Number(document.getElementById('realtime-view').dataset.refreshes)";
    let count = browser.eval(refreshes).await.as_u64().unwrap();
    set_hidden(&browser, false).await;
    assert_eq!(browser.eval(polling).await, "live");
    assert!(
        browser.wait_for_js(&format!("{refreshes} > {count}")).await,
        "no refresh on coming back"
    );

    browser.close().await;
    service.stop().await;
    collector.stop().await;
}
