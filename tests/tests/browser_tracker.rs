//! The tracker script in a real headless Chromium: a test site on its own
//! loopback port loads `/js/script.js` from a collector on another port,
//! and what the browser sends is read back from ClickHouse. Also: the
//! browser sends nothing under DNT, GPC or the opt-out cookie, and the
//! stock Plausible tracker (vendored from npm) is recorded as well.

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

    expect_event_count(&collector.db, 6).await;
    let mut expected = vec![
        format!(
            "File Download /pricing url={}",
            site.url("/files/report.PDF")
        ),
        "Outbound Link: Click /pricing url=".to_owned() + &site.outbound_url(),
        "Queued / early=yes".to_owned(),
        "Signup /pricing plan=pro,seats=3".to_owned(),
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
    let listed = wait_until(Duration::from_secs(20), || async {
        requests_seen(&control).await.0 >= 4
    })
    .await;
    let latency = started.elapsed();
    assert!(listed, "control: {:?}", requests_seen(&control).await);
    assert_eq!(requests_seen(&control).await, (4, true));
    control.close().await;
    expect_event_count(&collector.db, 4).await;
    let expected = [
        "Queued / early=yes",
        "Signup /pricing",
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
    expect_event_count(&collector.db, 4).await;
    let metrics = collector.metrics().await;
    assert_metric(&metrics, "analytics_events_accepted_total", 4.0);
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
