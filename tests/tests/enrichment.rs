//! Each stored event gains browser, OS, device, screen class, source, medium
//! and location; bots, spam, datacenter traffic, foreign hostnames and
//! excluded paths are dropped with their reason; the GeoIP database can be
//! replaced while the collector serves.

use integration_tests::geoip_fixture::{write_city_db, GeoEntry};
use integration_tests::*;
use schema::EventRow;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

fn geo_db(path: &Path, city: &'static str) {
    let entries = [
        GeoEntry {
            network: "81.2.69.0/24".parse().unwrap(),
            country: "GB",
            subdivision: Some("ENG"),
            city: Some(city),
        },
        GeoEntry {
            network: "2a02:8000::/32".parse().unwrap(),
            country: "DE",
            subdivision: Some("BE"),
            city: Some("Berlin"),
        },
    ];
    write_city_db(path, &entries);
}

async fn start(dir: &Path) -> TestCollector {
    let geoip = dir.join("city.mmdb");
    geo_db(&geoip, "London");
    let datacenters = dir.join("datacenters.txt");
    std::fs::write(&datacenters, "# test ranges\n203.0.113.0/24\n").unwrap();
    let mut config = test_config();
    config.collector.geoip = Some(geoip);
    config.collector.datacenter_ranges_file = Some(datacenters);
    let site = &mut config.site[0];
    site.hostnames = vec!["example.com".into(), "*.example.com".into()];
    site.exclude_paths = vec!["/admin/**".into()];
    TestCollector::start(config).await
}

async fn post(
    collector: &TestCollector,
    body: &serde_json::Value,
    ua: &str,
    headers: &[(&str, &str)],
) -> Option<String> {
    let mut request = reqwest::Client::new()
        .post(collector.url("/api/event"))
        .header("user-agent", ua)
        .body(body.to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 202);
    response
        .headers()
        .get("x-analytics-dropped")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn row_for(db: &schema::Db, path: &str) -> EventRow {
    let sql = format!("SELECT count() FROM events WHERE pathname = '{path}'");
    let landed = wait_until(Duration::from_secs(20), || async {
        scalar(db, &sql).await == 1
    })
    .await;
    assert!(landed, "no row for {path}");
    db.client()
        .query("SELECT ?fields FROM events WHERE pathname = ?")
        .bind(path)
        .fetch_one()
        .await
        .unwrap()
}

#[tokio::test]
async fn events_are_enriched() {
    let dir = tempfile_dir();
    let collector = start(dir.path()).await;
    let body = json!({"n": "pageview", "u": "https://www.example.com/a", "d": SITE,
        "r": "https://www.google.co.uk/search?q=privacy", "w": 1280});
    assert_eq!(
        post(
            &collector,
            &body,
            CHROME_WINDOWS,
            &[("x-forwarded-for", "81.2.69.160")]
        )
        .await,
        None
    );
    let row = row_for(&collector.db, "/a").await;
    assert_eq!(
        (
            row.browser.as_str(),
            row.browser_version.as_str(),
            row.os.as_str(),
            row.os_version.as_str()
        ),
        ("Chrome", "131.0", "Windows", "10")
    );
    assert_eq!(
        (row.device.as_str(), row.screen_size.as_str()),
        ("Desktop", "Laptop")
    );
    assert_eq!(
        (row.source.as_str(), row.medium.as_str()),
        ("Google", "organic")
    );
    assert_eq!(row.referrer, "google.co.uk/search");
    assert_eq!(
        (row.country.as_str(), row.region.as_str(), row.city.as_str()),
        ("GB", "GB-ENG", "London")
    );

    let ad = json!({"n": "pageview", "u": "https://shop.example.com/b?gclid=SECRETCLICK&utm_campaign=x", "d": SITE, "w": 390});
    assert_eq!(
        post(
            &collector,
            &ad,
            SAFARI_IPHONE,
            &[("x-forwarded-for", "2a02:8000:1234::5")]
        )
        .await,
        None
    );
    let row = row_for(&collector.db, "/b").await;
    assert_eq!(
        (
            row.browser.as_str(),
            row.os.as_str(),
            row.os_version.as_str()
        ),
        ("Safari", "iOS", "17.4")
    );
    assert_eq!(
        (row.device.as_str(), row.screen_size.as_str()),
        ("Mobile", "Mobile")
    );
    assert_eq!(
        (
            row.source.as_str(),
            row.medium.as_str(),
            row.click_id_param.as_str()
        ),
        ("Google Ads", "cpc", "gclid")
    );
    assert_eq!(
        (
            row.hostname.as_str(),
            row.country.as_str(),
            row.city.as_str()
        ),
        ("shop.example.com", "DE", "Berlin")
    );
    assert!(
        tables_containing(&collector.db, b"SECRETCLICK")
            .await
            .is_empty(),
        "click id value stored"
    );

    let direct =
        json!({"n": "pageview", "u": "https://example.com/c?utm_source=newsletter", "d": SITE});
    post(
        &collector,
        &direct,
        CHROME_WINDOWS,
        &[("x-forwarded-for", "198.51.100.1")],
    )
    .await;
    let row = row_for(&collector.db, "/c").await;
    assert_eq!(row.source, "newsletter");
    assert_eq!(
        (row.country.as_str(), row.region.as_str(), row.city.as_str()),
        ("", "", ""),
        "not in the database"
    );
    collector.stop().await;
}

#[tokio::test]
async fn every_drop_reason_is_answered_and_counted() {
    let dir = tempfile_dir();
    let collector = start(dir.path()).await;
    let spam_domain = vendored_spam_domain();
    let page =
        |path: &str| json!({"n": "pageview", "u": format!("https://example.com{path}"), "d": SITE});
    type Case<'a> = (&'a str, serde_json::Value, &'a str, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("bot", page("/1"), "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", vec![]),
        ("bot", page("/2"), "curl/8.5.0", vec![]),
        ("bot", page("/3"), CHROME_WINDOWS, vec![("sec-purpose", "prefetch")]),
        ("bot", page("/4"), "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", vec![]),
        ("spam", json!({"n": "pageview", "u": "https://example.com/5", "d": SITE, "r": format!("https://{spam_domain}/")}), CHROME_WINDOWS, vec![]),
        ("datacenter", page("/6"), CHROME_WINDOWS, vec![("x-forwarded-for", "203.0.113.77")]),
        ("hostname", json!({"n": "pageview", "u": "https://evil-copy.net/7", "d": SITE}), CHROME_WINDOWS, vec![]),
        ("excluded", page("/admin/users"), CHROME_WINDOWS, vec![]),
    ];
    for (reason, body, ua, headers) in &cases {
        assert_eq!(
            post(&collector, body, ua, headers).await.as_deref(),
            Some(*reason),
            "{body}"
        );
    }
    // One that passes, so the empty table is not just a slow writer.
    post(&collector, &page("/ok"), CHROME_WINDOWS, &[]).await;
    expect_event_count(&collector.db, 1).await;
    let metrics = collector.metrics().await;
    assert_dropped(
        &metrics,
        &[
            ("bot", 4),
            ("spam", 1),
            ("datacenter", 1),
            ("hostname", 1),
            ("excluded", 1),
        ],
    );
    collector.stop().await;
}

#[tokio::test]
async fn geoip_database_is_replaced_while_serving() {
    let dir = tempfile_dir();
    let owned = start(dir.path()).await;
    let collector = &owned;
    let send = |n: usize| {
        let body = json!({"n": "pageview", "u": format!("https://example.com/geo{n}"), "d": SITE});
        async move {
            post(
                collector,
                &body,
                CHROME_WINDOWS,
                &[("x-forwarded-for", "81.2.69.10")],
            )
            .await
        }
    };
    send(0).await;
    assert_eq!(row_for(&collector.db, "/geo0").await.city, "London");

    // Replaced by rename, as operators must; requests keep flowing meanwhile.
    geo_db(&dir.path().join("city.mmdb"), "Manchester");
    let mut n = 0;
    let switched = wait_until(Duration::from_secs(20), || {
        n += 1;
        async move {
            send(n).await;
            row_for(&collector.db, &format!("/geo{n}")).await.city == "Manchester"
        }
    })
    .await;
    assert!(switched, "the new database was never used");
    let unlocated = scalar(
        &collector.db,
        "SELECT count() FROM events WHERE city NOT IN ('London', 'Manchester')",
    )
    .await;
    assert_eq!(unlocated, 0, "every event during the reload was located");
    owned.stop().await;
}

fn tempfile_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A domain from the vendored spam list, read from the data file itself.
fn vendored_spam_domain() -> String {
    let list = include_str!("../../collector/data/referrer-spam/spammers.txt");
    list.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap()
        .to_owned()
}
