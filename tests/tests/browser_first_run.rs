//! Issue #26, the first five minutes, in headless Chromium. An editor signs
//! in to a dashboard whose site has no events yet. The page shows the
//! tracker snippet with the collector's configured address and the site's
//! domain, says it is waiting for the first pageview, and asks the server
//! again every few seconds. The test pastes that very snippet into a page
//! of a test site and opens it in another tab, so the tracker sends a real
//! pageview to a real collector. The dashboard then switches to the
//! reports by itself, without navigating: a marker set on its `window`
//! before the pageview survives, and it has had one navigation in all.
//! Screenshots go to `target/test-artifacts/first-run-*.png`.

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use chrono::{TimeZone, Utc};
use fantoccini::Locator;
use integration_tests::browser::{Browser, BrowserOptions};
use integration_tests::query_harness::{with_editors, TestQuery, ADMIN_TOKEN};
use integration_tests::{expect_event_count, test_config, Clock, SystemClock, TestCollector, SITE};
use serde_json::{json, Value};
use std::time::Duration;

async fn sign_in(browser: &Browser, token: &str) {
    let input = browser.client().find(Locator::Css("#token")).await.unwrap();
    input.send_keys(token).await.unwrap();
    browser.click("#login-form button[type=submit]").await;
}

/// Emulates a viewport of this size (headless windows do not get as
/// narrow as a phone).
async fn viewport(browser: &Browser, width: u32, height: u32) {
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
}

async fn state(browser: &Browser) -> String {
    browser
        .eval("return document.body.dataset.state + ': ' + (document.getElementById('status')?.textContent ?? '')")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Whether the element is laid out (not `display: none` itself or by an
/// ancestor).
async fn shown(browser: &Browser, css: &str) -> bool {
    let script = format!(
        "const e = document.querySelector({css:?}); return !!e && e.getClientRects().length > 0"
    );
    browser.eval(&script).await == Value::Bool(true)
}

/// A page of the test site: the snippet exactly as the dashboard showed it.
async fn serve_page(snippet: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let page = format!(
        "<!doctype html><html><head><title>new site</title>\n{snippet}\n</head>\
         <body><h1>Hello</h1></body></html>"
    );
    let app = Router::new().route("/", get(move || async move { Html(page) }));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/"), task)
}

#[tokio::test]
async fn a_new_site_shows_its_snippet_then_its_reports_when_the_first_pageview_arrives() {
    let now = SystemClock.now();
    let mut config = test_config();
    with_editors(&mut config);
    let collector = TestCollector::start_at(config.clone(), now).await;
    // The query service reads the same config: the collector's real address.
    config.collector.listen = collector.addr;
    let service = TestQuery::start(config, Utc.timestamp_opt(now as i64, 0).unwrap()).await;

    let browser = Browser::start(BrowserOptions::default()).await;
    browser.open(&service.url(&format!("/?site={SITE}"))).await;
    assert!(
        browser
            .wait_for_js("return document.body.dataset.state === 'login'")
            .await
    );
    sign_in(&browser, ADMIN_TOKEN).await;
    assert!(
        browser
            .wait_for_js("return document.body.dataset.state === 'waiting'")
            .await,
        "the dashboard did not start waiting ({})",
        state(&browser).await
    );

    // The snippet, with this collector's address and the site's domain;
    // `data-local` because the collector listens on loopback.
    let expected = format!(
        "<script defer data-domain=\"{SITE}\" data-local src=\"http://{}/js/script.js\"></script>",
        collector.addr
    );
    let snippet = browser
        .eval("return document.getElementById('snippet').value")
        .await;
    assert_eq!(snippet, json!(expected));
    let label = browser
        .eval("return document.querySelector('label[for=snippet]')?.textContent ?? ''")
        .await;
    assert!(
        label.as_str().unwrap().contains("snippet"),
        "the snippet has no label: {label}"
    );
    assert!(shown(&browser, "#first-run").await);
    assert!(
        !shown(&browser, "#reports").await,
        "the reports show while waiting"
    );
    let waiting = browser
        .eval(
            "const w = document.getElementById('waiting');
             return [w.textContent, w.getAttribute('aria-live'), w.getClientRects().length > 0];",
        )
        .await;
    assert!(
        waiting[0]
            .as_str()
            .unwrap()
            .contains("Waiting for the first pageview"),
        "{waiting}"
    );
    assert_eq!(waiting[1], "polite", "{waiting}");
    assert_eq!(waiting[2], true, "{waiting}");
    let heading = browser
        .eval("return document.getElementById('first-run-title').textContent")
        .await;
    assert!(heading.as_str().unwrap().contains(SITE), "{heading}");
    browser.screenshot("first-run-waiting").await;
    // On a phone the panel fits the width: the snippet wraps, nothing
    // scrolls sideways.
    viewport(&browser, 390, 900).await;
    let overflow = browser
        .eval("return [document.documentElement.scrollWidth, innerWidth]")
        .await;
    assert!(
        overflow[0].as_u64() <= overflow[1].as_u64(),
        "scrolls sideways: {overflow}"
    );
    let cut = browser
        .eval(
            "const s = document.getElementById('snippet'); return [s.scrollHeight, s.clientHeight]",
        )
        .await;
    assert!(
        cut[0].as_u64() <= cut[1].as_u64(),
        "the snippet is cut off: {cut}"
    );
    browser.screenshot("first-run-waiting-phone").await;
    browser
        .cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;

    // The copy button puts the snippet on the clipboard.
    browser
        .cdp(
            "Browser.grantPermissions",
            json!({
                "origin": service.url("").trim_end_matches('/'),
                "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
            }),
        )
        .await;
    browser.click("#copy-snippet").await;
    assert!(
        browser
            .wait_for_js(
                "return document.getElementById('copy-status').textContent.includes('Copied')"
            )
            .await,
        "no confirmation of the copy: {}",
        browser
            .eval("return document.getElementById('copy-status').textContent")
            .await
    );
    let clipboard = browser.eval("return navigator.clipboard.readText()").await;
    assert_eq!(clipboard, json!(expected));

    // Nothing arrives by itself: after more than one poll it still waits,
    // and it did ask again.
    browser
        .eval("window.firstRunMarker = 'set before the pageview'; return true")
        .await;
    let navigations = "return performance.getEntriesByType('navigation').length";
    assert_eq!(browser.eval(navigations).await, 1);
    let polls = "return performance.getEntriesByType('resource')
                     .filter(e => e.name.includes('api/dashboard/setup')).length";
    let before = browser.eval(polls).await.as_u64().unwrap();
    assert!(
        integration_tests::wait_until(Duration::from_secs(15), || async {
            browser.eval(polls).await.as_u64().unwrap() >= before + 2
        })
        .await,
        "the dashboard does not ask again while it waits"
    );
    assert_eq!(
        browser.eval("return document.body.dataset.state").await,
        "waiting"
    );

    // Paste the snippet into a page and open it in another tab: the
    // tracker sends a pageview to the collector.
    let (page, site_task) = serve_page(expected.clone()).await;
    let client = browser.client();
    let dashboard = client.window().await.unwrap();
    let tab = client.new_window(true).await.unwrap();
    client.switch_to_window(tab.handle).await.unwrap();
    browser.open(&page).await;
    expect_event_count(&collector.db, 1).await;
    client.close_window().await.unwrap();
    client.switch_to_window(dashboard).await.unwrap();

    assert!(
        browser
            .wait_for_js("return document.body.dataset.state === 'ready'")
            .await,
        "the dashboard did not switch to the reports ({})",
        state(&browser).await
    );
    let after = browser
        .eval(
            "return [window.firstRunMarker, performance.getEntriesByType('navigation').length,
                     document.querySelector('#headline [data-metric=visitors] .value')?.textContent];",
        )
        .await;
    assert_eq!(
        after,
        json!(["set before the pageview", 1, "1"]),
        "the page was reloaded, or the reports do not show the pageview"
    );
    // Focus was on the copy button, which went away with the panel: it is
    // on the reports now, and a screen reader hears why they appeared.
    let focus = browser
        .eval("return [document.activeElement.id, document.getElementById('announce').textContent]")
        .await;
    assert_eq!(focus[0], "main", "{focus}");
    assert!(
        focus[1].as_str().unwrap().contains("first pageview"),
        "{focus}"
    );
    // The current visitors are asked for at once, not 30 s later.
    assert!(
        browser
            .wait_for_js("return document.getElementById('realtime').textContent === '1'")
            .await
    );
    assert!(shown(&browser, "#reports").await);
    assert!(!shown(&browser, "#first-run").await);
    browser.screenshot("first-run-arrived").await;

    browser.close().await;
    site_task.abort();
    service.stop().await;
    collector.stop().await;
}
