//! The privacy invariant, checked on storage: after real beacons, neither the
//! raw address, its truncation, nor the user agent appears in any column of
//! any table, in the server's files, or in the collector's log output (at
//! trace level).

use integration_tests::*;

const RAW_IP: &str = "198.51.100.77";
const TRUNCATED_IP: &str = "198.51.100.0";
const RAW_IP6: &str = "2001:db8:4242:17::beef";
const TRUNCATED_IP6: &str = "2001:db8:4242::";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) PrivacyProbe/9.1 Gecko/20100101 Firefox/131.0";

#[tokio::test]
async fn no_address_or_user_agent_is_stored_or_logged() {
    let logs = capture_logs();
    let collector = TestCollector::start(test_config()).await;
    let client = reqwest::Client::new();
    let pages = [("/unique-control-7f3e9a", RAW_IP), ("/b", RAW_IP6)];
    for (path, ip) in pages {
        for name in ["pageview", "Signup"] {
            let body = serde_json::json!({
                "n": name, "u": format!("https://example.com{path}"), "d": SITE,
                "r": "https://www.google.com/", "p": {"plan": "pro"}
            });
            let response = client
                .post(collector.url("/api/event"))
                .header("user-agent", UA)
                .header("x-forwarded-for", ip)
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 202);
        }
    }
    // Refused and malformed requests carry the same data and must not leak either.
    let refused = client
        .post(collector.url("/api/event"))
        .header("user-agent", UA)
        .header("x-forwarded-for", RAW_IP)
        .header("dnt", "1")
        .body(pageview(SITE, "https://example.com/c").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["x-analytics-dropped"], "dnt");
    let malformed = client
        .post(collector.url("/api/event"))
        .header("user-agent", UA)
        .header("x-forwarded-for", RAW_IP)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    expect_event_count(&collector.db, 4).await;
    let db = collector.stop().await;

    // The scanners can find what they look for: a stored page path.
    // Unlike anything else stored, so compression cannot fold it into a match.
    let stored = b"/unique-control-7f3e9a";
    assert_eq!(
        tables_containing(&db, stored).await,
        vec!["events.pathname"]
    );
    // No column could hold an address in binary form either: no IP type,
    // no column named ip as a word of its name (`rows_skipped` is none).
    let address_columns = format!(
        "SELECT count() FROM system.columns WHERE database = '{}' AND (type LIKE '%IP%' OR match(name, '(^|_)ip(v4|v6)?(_|$)'))",
        db.database()
    );
    assert_eq!(scalar(&db, &address_columns).await, 0);
    let secrets = [
        RAW_IP,
        TRUNCATED_IP,
        RAW_IP6,
        TRUNCATED_IP6,
        UA,
        "PrivacyProbe",
    ];
    for secret in secrets {
        let hits = tables_containing(&db, secret.as_bytes()).await;
        assert!(hits.is_empty(), "{secret:?} stored in {hits:?}");
    }
    // Binary forms of the addresses, as a careless FixedString would hold them.
    let binary: [&[u8]; 2] = [&[198, 51, 100, 77], &[198, 51, 100, 0]];
    for secret in binary {
        assert!(tables_containing(&db, secret).await.is_empty());
    }
    if let Some(dir) = server_files_to_scan("privacy scan of the server's files") {
        assert!(!files_containing(&dir, stored).is_empty());
        for secret in secrets {
            let files = files_containing(&dir, secret.as_bytes());
            assert!(files.is_empty(), "{secret:?} in files {files:?}");
        }
    }
    let logged = logs.text();
    assert!(logged.contains("collector stopped"), "logs were captured");
    for secret in secrets {
        assert!(!logged.contains(secret), "{secret:?} in the logs");
    }
}
