//! The tracker script in a real headless Chromium: a test site on its own
//! loopback port loads `/js/script.js` from a collector on another port,
//! and what the browser sends is read back from ClickHouse. Also: the
//! browser sends nothing under DNT, GPC or the opt-out cookie, and the
//! stock Plausible tracker (vendored from npm) is recorded as well.
//! Engagement (issue #21): leaving a long page read for 3 s reports its
//! scroll depth and engaged time, an unscrolled page the share it showed,
//! a background tab no engaged time while hidden; and the stock tracker's
//! engagement is read the same way.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use integration_tests::browser::{Browser, BrowserOptions};
use integration_tests::*;
use std::net::SocketAddr;
use std::time::Duration;

/// The vendored `@plausible-analytics/tracker` build (see its README).
const STOCK_TRACKER: &str = include_str!("../fixtures/plausible-tracker/plausible.js");

/// A tiny site on 127.0.0.1:0 whose pages include the collector's script.
struct TestSite {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct SitePages {
    collector: SocketAddr,
    site_port: u16,
}

impl TestSite {
    async fn start(collector: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pages = SitePages {
            collector,
            site_port: addr.port(),
        };
        let app = Router::new()
            .route("/", get(tracked_page))
            .route(
                "/landing",
                get(|| async { Html("<!doctype html><title>landed</title>") }),
            )
            .route("/stock", get(stock_page))
            .route("/long", get(long_page))
            .route("/stock-long", get(stock_long_page))
            .route("/plausible.js", get(stock_script))
            .with_state(pages);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Where the page's outbound link goes: this site under another host
    /// name, so it is outbound and the navigation has somewhere to land.
    fn outbound_url(&self) -> String {
        format!("http://localhost:{}/landing", self.addr.port())
    }
}

impl Drop for TestSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The queue snippet runs first and queues an event before the deferred
/// tracker loads; `window.stub` lets the test see the tracker took over.
async fn tracked_page(State(pages): State<SitePages>) -> Html<String> {
    let collector = pages.collector;
    let port = pages.site_port;
    Html(format!(
        r#"<!doctype html><html><head><title>test site</title>
<script>
window.analytics = window.analytics || function () {{ (window.analytics.q = window.analytics.q || []).push(arguments) }};
window.stub = window.analytics;
analytics('Queued', {{ props: {{ early: 'yes' }} }});
</script>
<script defer data-domain="{SITE}" data-outbound data-downloads data-local src="http://{collector}/js/script.js"></script>
</head><body>
<h1>Test site</h1>
<a id="out" href="http://localhost:{port}/landing">elsewhere</a>
<a id="same" href="/landing">same site</a>
<a id="download" href="/files/report.PDF?from=page">report</a>
<script>
// The test stays on the page after this click; the tracker sees it anyway.
document.getElementById('download').addEventListener('click', function (e) {{ e.preventDefault() }});
</script>
</body></html>"#
    ))
}

/// The npm build is an ES module. `__plausible` tells it an automated
/// browser is welcome (it ignores webdriver sessions otherwise).
async fn stock_page(State(pages): State<SitePages>) -> Html<String> {
    let collector = pages.collector;
    Html(format!(
        r#"<!doctype html><html><head><title>stock tracker</title>
<script type="module">
import {{ init }} from '/plausible.js';
window.__plausible = true;
init({{ domain: '{SITE}', endpoint: 'http://{collector}/api/event', captureOnLocalhost: true, logging: false }});
window.stockReady = true;
</script>
</head><body><h1>Stock tracker</h1></body></html>"#
    ))
}

/// The height of the long test pages, in CSS pixels (no margins).
const LONG_PAGE_PX: u32 = 5000;

/// A page five thousand pixels long with our tracker.
async fn long_page(State(pages): State<SitePages>) -> Html<String> {
    let collector = pages.collector;
    Html(format!(
        r#"<!doctype html><html><head><title>long read</title>
<script defer data-domain="{SITE}" data-local src="http://{collector}/js/script.js"></script>
</head><body style="margin:0"><div style="height:{LONG_PAGE_PX}px">A long read</div></body></html>"#
    ))
}

/// The same long page with the stock Plausible tracker.
async fn stock_long_page(State(pages): State<SitePages>) -> Html<String> {
    let collector = pages.collector;
    Html(format!(
        r#"<!doctype html><html><head><title>stock long read</title>
<script type="module">
import {{ init }} from '/plausible.js';
window.__plausible = true;
init({{ domain: '{SITE}', endpoint: 'http://{collector}/api/event', captureOnLocalhost: true, logging: false }});
window.stockReady = true;
</script>
</head><body style="margin:0"><div style="height:{LONG_PAGE_PX}px">A long read</div></body></html>"#
    ))
}

async fn stock_script() -> Response {
    (
        [(http::header::CONTENT_TYPE, "application/javascript")],
        STOCK_TRACKER,
    )
        .into_response()
}

/// Opens the tracked page and waits until the real tracker replaced the stub.
async fn open_tracked(browser: &Browser, site: &TestSite) {
    browser.open(&site.url("/")).await;
    assert!(
        browser
            .wait_for_js(
                "return typeof window.analytics == 'function' && window.analytics !== window.stub"
            )
            .await,
        "the tracker script did not run"
    );
}

/// Every stored event as `name path key=value,...`, sorted: the props are
/// zipped from their two arrays here, not by the collector's code.
async fn stored_events(db: &schema::Db) -> Vec<String> {
    let tsv = db
        .fetch_tsv(
            "SELECT name, pathname, arrayStringConcat(arraySort(arrayMap((k, v) -> \
             concat(k, '=', v), props_keys, props_values)), ',') FROM events",
        )
        .await
        .unwrap_or_else(|_| String::new());
    let mut rows: Vec<String> = tsv
        .lines()
        .map(|line| {
            line.split('\t')
                .collect::<Vec<_>>()
                .join(" ")
                .trim_end()
                .to_owned()
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn pageviews_navigation_custom_events_and_outbound_links_land() {
    let collector = TestCollector::start(test_config()).await;
    let site = TestSite::start(collector.addr).await;
    let browser = Browser::start(BrowserOptions::default()).await;

    open_tracked(&browser, &site).await;
    browser
        .eval("history.pushState({}, '', '/pricing'); return true")
        .await;
    browser
        .eval("analytics('Signup', { props: { plan: 'pro', seats: 3 } }); return true")
        .await;
    browser.click("#download").await;
    browser.click("#out").await;
    let landed = wait_until(Duration::from_secs(20), || async {
        browser
            .client()
            .current_url()
            .await
            .is_ok_and(|u| u.as_str() == site.outbound_url())
    })
    .await;
    assert!(landed, "the outbound link did not navigate");

    // Leaving each page (the navigation to /pricing, then the link away)
    // also reports its engagement.
    expect_event_count(&collector.db, 8).await;
    let mut expected = vec![
        format!(
            "File Download /pricing url={}",
            site.url("/files/report.PDF")
        ),
        "Outbound Link: Click /pricing url=".to_owned() + &site.outbound_url(),
        "Queued / early=yes".to_owned(),
        "Signup /pricing plan=pro,seats=3".to_owned(),
        "engagement /".to_owned(),
        "engagement /pricing".to_owned(),
        "pageview /".to_owned(),
        "pageview /pricing".to_owned(),
    ];
    expected.sort();
    assert_eq!(stored_events(&collector.db).await, expected);
    let hosts = collector
        .db
        .fetch_tsv("SELECT DISTINCT site, hostname FROM events")
        .await
        .unwrap();
    assert_eq!(hosts.trim(), format!("{SITE}\t127.0.0.1"));

    browser.close().await;
    collector.stop().await;
}

/// Loads the page, navigates and fires an event: what the control does and
/// every silent browser must not report.
async fn browse(browser: &Browser, site: &TestSite) {
    open_tracked(browser, site).await;
    browser
        .eval("history.pushState({}, '', '/pricing'); analytics('Signup'); return true")
        .await;
}

/// What the open page requested, by the browser's own account (Resource
/// Timing; `sendBeacon` requests are there as initiator "beacon"): how many
/// requests went to `/api/event`, and whether the tracker script loaded from
/// the collector is listed (so the list covers the collector's origin).
async fn requests_seen(browser: &Browser) -> (u64, bool) {
    let seen = browser
        .eval(
            "const names = performance.getEntriesByType('resource').map(e => e.name); \
             return [names.filter(n => n.includes('/api/event')).length, \
                     names.some(n => n.includes('/js/script.js'))]",
        )
        .await;
    (seen[0].as_u64().unwrap(), seen[1].as_bool().unwrap())
}

/// Fails if the page sends a beacon within `window` (or sent one before).
async fn assert_silent(browser: &Browser, window: Duration, who: &str) {
    let sent = wait_until(window, || async { requests_seen(browser).await.0 > 0 }).await;
    let (beacons, script) = requests_seen(browser).await;
    assert!(
        !sent && beacons == 0,
        "{who}: {beacons} requests to /api/event"
    );
    assert!(script, "{who}: the browser did not list the tracker script");
}

#[tokio::test]
async fn dnt_gpc_and_the_optout_cookie_send_nothing() {
    let collector = TestCollector::start(test_config()).await;
    let site = TestSite::start(collector.addr).await;

    // The control: the same page and actions in a plain browser are sent
    // and counted, and its browser lists the beacons the way the silent
    // browsers below are checked: so that check can fail.
    let control = Browser::start(BrowserOptions::default()).await;
    browse(&control, &site).await;
    let started = std::time::Instant::now();
    // Five beacons: the navigation also sends the engagement of `/`.
    let listed = wait_until(Duration::from_secs(20), || async {
        requests_seen(&control).await.0 >= 5
    })
    .await;
    let latency = started.elapsed();
    assert!(listed, "control: {:?}", requests_seen(&control).await);
    assert_eq!(requests_seen(&control).await, (5, true));
    // Leaving the page sends the engagement of `/pricing`; closing the
    // browser on it might or might not.
    control.open(&site.url("/landing")).await;
    control.close().await;
    expect_event_count(&collector.db, 6).await;
    let expected = [
        "Queued / early=yes",
        "Signup /pricing",
        "engagement /",
        "engagement /pricing",
        "pageview /",
        "pageview /pricing",
    ];
    assert_eq!(
        stored_events(&collector.db).await,
        expected.map(String::from)
    );
    // A silent browser's beacon would have been listed as fast; each one
    // stays open and watched ten times as long (at least 2 s).
    let window = (latency * 10).max(Duration::from_secs(2));

    let dnt = Browser::start(BrowserOptions {
        do_not_track: true,
        ..BrowserOptions::default()
    })
    .await;
    open_tracked(&dnt, &site).await;
    assert_eq!(dnt.eval("return navigator.doNotTrack").await, "1");
    browse(&dnt, &site).await;
    assert_silent(&dnt, window, "DNT").await;
    dnt.close().await;

    let gpc = Browser::start(BrowserOptions {
        global_privacy_control: true,
        ..BrowserOptions::default()
    })
    .await;
    open_tracked(&gpc, &site).await;
    assert_eq!(
        gpc.eval("return navigator.globalPrivacyControl").await,
        true
    );
    browse(&gpc, &site).await;
    assert_silent(&gpc, window, "GPC").await;
    gpc.close().await;

    let opted_out = Browser::start(BrowserOptions::default()).await;
    // The cookie belongs to the site's pages, set before the tracker loads.
    opted_out.open(&site.url("/landing")).await;
    opted_out.set_cookie("analytics_optout", "1").await;
    browse(&opted_out, &site).await;
    assert_silent(&opted_out, window, "opt-out cookie").await;
    opted_out.close().await;

    // Had a silent browser sent anything, the collector would have dropped
    // it (DNT/GPC headers, the cookie) or refused it, and counted that.
    expect_event_count(&collector.db, 6).await;
    let metrics = collector.metrics().await;
    assert_metric(&metrics, "analytics_events_accepted_total", 6.0);
    let samples = parse_metrics(&metrics);
    let refused: Vec<&String> = samples
        .keys()
        .filter(|name| {
            name.starts_with("analytics_events_dropped_total{")
                || name.starts_with("analytics_requests_rejected_total{")
        })
        .collect();
    assert!(refused.is_empty(), "{refused:?} in\n{metrics}");
    collector.stop().await;
}

#[tokio::test]
async fn the_stock_plausible_tracker_records_pageviews() {
    let collector = TestCollector::start(test_config()).await;
    let site = TestSite::start(collector.addr).await;
    let browser = Browser::start(BrowserOptions::default()).await;

    browser.open(&site.url("/stock")).await;
    assert!(
        browser
            .wait_for_js("return window.stockReady === true")
            .await
    );
    browser
        .eval("history.pushState({}, '', '/stock/next'); return true")
        .await;

    let pageviews = "SELECT count() FROM events WHERE name = 'pageview'";
    let landed = wait_until(Duration::from_secs(20), || async {
        scalar(&collector.db, pageviews).await >= 2
    })
    .await;
    assert!(landed, "the stock tracker's pageviews did not land");
    let paths = collector
        .db
        .fetch_tsv("SELECT pathname FROM events WHERE name = 'pageview' ORDER BY pathname")
        .await
        .unwrap();
    assert_eq!(paths, "/stock\n/stock/next\n");
    // It also reports engagement (time on page); nothing else.
    let other = "SELECT count() FROM events WHERE name NOT IN ('pageview', 'engagement')";
    assert_eq!(scalar(&collector.db, other).await, 0);

    browser.close().await;
    collector.stop().await;
}

/// Each stored engagement as `(path, sd, e)`, in arrival order.
async fn engagements(db: &schema::Db) -> Vec<(String, u8, u32)> {
    let tsv = db
        .fetch_tsv(
            "SELECT pathname, scroll_depth, engagement_ms FROM events \
             WHERE name = 'engagement' ORDER BY timestamp, engagement_ms",
        )
        .await
        .unwrap();
    tsv.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (
                f[0].to_owned(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// Waits until the collector stored `n` pageviews.
async fn wait_for_pageviews(db: &schema::Db, n: u64) {
    let sql = "SELECT count() FROM events WHERE name = 'pageview'";
    let stored = wait_until(Duration::from_secs(20), || async {
        scalar(db, sql).await >= n
    })
    .await;
    assert!(stored, "{n} pageviews were not stored");
}

/// Waits for the one engagement a page left sends, then checks for 2 s
/// that no other beacon follows: the collector would have accepted or
/// dropped it, and counted either.
async fn the_one_engagement(collector: &TestCollector, pageviews: u64) -> (String, u8, u32) {
    let sql = "SELECT count() FROM events WHERE name = 'engagement'";
    let db = &collector.db;
    let arrived = wait_until(Duration::from_secs(20), || async {
        scalar(db, sql).await >= 1
    })
    .await;
    assert!(arrived, "no engagement arrived");
    let beacons = || async {
        let samples = parse_metrics(&collector.metrics().await);
        samples
            .iter()
            .filter(|(name, _)| {
                name.as_str() == "analytics_events_accepted_total"
                    || name.starts_with("analytics_events_dropped_total{")
            })
            .map(|(_, n)| *n)
            .sum::<f64>()
    };
    let more = wait_until(Duration::from_secs(2), || async {
        beacons().await > (pageviews + 1) as f64
    })
    .await;
    assert!(
        !more,
        "more than one engagement:\n{}",
        collector.metrics().await
    );
    let mut all = engagements(db).await;
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

/// Scrolls so that the bottom of the viewport is at `percent` of the page.
async fn scroll_to(browser: &Browser, percent: u32) {
    let script = format!(
        "window.scrollTo(0, {percent} / 100 * document.documentElement.scrollHeight - innerHeight); \
         return scrollY > 0"
    );
    assert_eq!(browser.eval(&script).await, true);
}

/// The page has the focus and is shown: what engaged time needs.
async fn assert_engaged(browser: &Browser) {
    let state = browser
        .eval("return [document.visibilityState, document.hasFocus()]")
        .await;
    assert_eq!(state, serde_json::json!(["visible", true]));
}

#[tokio::test]
async fn leaving_a_long_page_reports_its_scroll_depth_and_engaged_time() {
    let collector = TestCollector::start(test_config()).await;
    let site = TestSite::start(collector.addr).await;
    let browser = Browser::start(BrowserOptions::default()).await;

    browser.open(&site.url("/long")).await;
    wait_for_pageviews(&collector.db, 1).await;
    assert_engaged(&browser).await;
    scroll_to(&browser, 60).await;
    // Reading: about 3 s on the page.
    tokio::time::sleep(Duration::from_secs(3)).await;
    browser.open(&site.url("/landing")).await;

    let (path, sd, e) = the_one_engagement(&collector, 1).await;
    eprintln!("our tracker after 3 s at 60%: sd {sd}, e {e} ms");
    assert_eq!(path, "/long");
    assert!((55..=70).contains(&sd), "sd {sd}");
    assert!((2_000..=6_000).contains(&e), "e {e}");
    browser.close().await;
    collector.stop().await;
}

#[tokio::test]
async fn a_page_never_scrolled_reports_the_share_it_showed() {
    let collector = TestCollector::start(test_config()).await;
    let site = TestSite::start(collector.addr).await;
    let browser = Browser::start(BrowserOptions::default()).await;

    browser.open(&site.url("/long")).await;
    wait_for_pageviews(&collector.db, 1).await;
    let shown = browser.eval("return innerHeight").await.as_f64().unwrap();
    let share = (shown * 100.0 / f64::from(LONG_PAGE_PX)).round() as u8;
    browser.open(&site.url("/landing")).await;

    let (path, sd, _) = the_one_engagement(&collector, 1).await;
    eprintln!("unscrolled: sd {sd} ({shown} px of {LONG_PAGE_PX})");
    assert_eq!(path, "/long");
    assert_eq!(sd, share, "{shown} px of {LONG_PAGE_PX} shown");
    browser.close().await;
    collector.stop().await;
}

#[tokio::test]
async fn time_in_a_background_tab_is_not_engaged_time() {
    let collector = TestCollector::start(test_config()).await;
    let site = TestSite::start(collector.addr).await;
    let browser = Browser::start(BrowserOptions::default()).await;

    browser.open(&site.url("/landing")).await;
    let before = browser.client().windows().await.unwrap();
    // A new tab behind the one shown, as a middle click opens a link.
    let created = browser
        .cdp(
            "Target.createTarget",
            serde_json::json!({"url": site.url("/long"), "background": true}),
        )
        .await;
    let opened = std::time::Instant::now();
    wait_for_pageviews(&collector.db, 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Then it is brought forward and read for about a second.
    let target = created["targetId"].as_str().unwrap().to_owned();
    browser
        .cdp(
            "Target.activateTarget",
            serde_json::json!({ "targetId": target }),
        )
        .await;
    let tab = browser
        .client()
        .windows()
        .await
        .unwrap()
        .into_iter()
        .find(|w| !before.contains(w))
        .expect("the new tab");
    browser.client().switch_to_window(tab).await.unwrap();
    assert!(
        browser
            .wait_for_js("return document.visibilityState == 'visible' && document.hasFocus()")
            .await,
        "the tab did not come forward"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    browser.open(&site.url("/landing")).await;
    let open_for = opened.elapsed();

    // Chromium gives the tab focus a moment before it shows it, which
    // sends an engagement with no time; leaving sends the second.
    let sql = "SELECT count() FROM events WHERE name = 'engagement' AND engagement_ms > 0";
    let db = &collector.db;
    let arrived = wait_until(Duration::from_secs(20), || async {
        scalar(db, sql).await >= 1
    })
    .await;
    assert!(
        arrived,
        "no engaged time arrived: {:?}",
        engagements(db).await
    );
    let all = engagements(db).await;
    assert!(all.iter().all(|(path, _, _)| path == "/long"), "{all:?}");
    let e: u32 = all.iter().map(|(_, _, e)| e).sum();
    eprintln!("background tab: {all:?} after {open_for:?} open");
    // Open for 4 s or more, of which 3 in the background.
    assert!(open_for >= Duration::from_secs(4), "{open_for:?}");
    assert!(
        (500..=2_500).contains(&e),
        "e {e} after {open_for:?} open: {all:?}"
    );
    let metrics = collector.metrics().await;
    let dropped = parse_metrics(&metrics)
        .into_keys()
        .filter(|name| name.starts_with("analytics_events_dropped_total{"))
        .count();
    assert_eq!(dropped, 0, "{metrics}");
    browser.close().await;
    collector.stop().await;
}

#[tokio::test]
async fn the_stock_plausible_trackers_engagement_is_read() {
    let collector = TestCollector::start(test_config()).await;
    let site = TestSite::start(collector.addr).await;
    let browser = Browser::start(BrowserOptions::default()).await;

    browser.open(&site.url("/stock-long")).await;
    assert!(
        browser
            .wait_for_js("return window.stockReady === true")
            .await
    );
    wait_for_pageviews(&collector.db, 1).await;
    assert_engaged(&browser).await;
    scroll_to(&browser, 60).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    browser.open(&site.url("/landing")).await;

    let (path, sd, e) = the_one_engagement(&collector, 1).await;
    eprintln!("stock tracker after 3 s at 60%: sd {sd}, e {e} ms");
    assert_eq!(path, "/stock-long");
    assert!((55..=70).contains(&sd), "sd {sd}");
    assert!((2_000..=6_000).contains(&e), "e {e}");
    browser.close().await;
    collector.stop().await;
}
