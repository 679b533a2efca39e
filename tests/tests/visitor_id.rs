//! Visitor ids: the /24 (or /48) of the address plus the user agent under the
//! day's salt, with forwarding headers believed only from trusted proxies.

use integration_tests::*;
use std::net::IpAddr;

const OTHER_UA: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Version/18.0 Mobile Safari/604.1";

/// One beacon's origin as the collector sees it.
struct From<'a> {
    /// The loopback address the request is sent from (the socket peer).
    source: &'a str,
    forwarded_for: Option<&'a str>,
    user_agent: &'a str,
}

/// Sends a beacon to a page named after `tag` and returns its stored visitor id.
async fn visitor_of(collector: &TestCollector, tag: &str, from: From<'_>) -> u64 {
    let client = reqwest::Client::builder()
        .local_address(from.source.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let mut request = client
        .post(collector.url("/api/event"))
        .header("user-agent", from.user_agent)
        .body(pageview(SITE, &format!("https://example.com/{tag}")).to_string());
    if let Some(xff) = from.forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    assert_eq!(request.send().await.unwrap().status(), 202);
    let sql = format!("SELECT count() FROM events WHERE pathname = '/{tag}'");
    let landed = wait_until(std::time::Duration::from_secs(20), || async {
        scalar(&collector.db, &sql).await == 1
    })
    .await;
    assert!(landed, "beacon {tag} did not land");
    let sql = format!("SELECT visitor_id FROM events WHERE pathname = '/{tag}'");
    scalar(&collector.db, &sql).await
}

fn proxied<'a>(client: &'a str, user_agent: &'a str) -> From<'a> {
    From {
        source: "127.0.0.1",
        forwarded_for: Some(client),
        user_agent,
    }
}

#[tokio::test]
async fn same_network_and_browser_is_one_visitor() {
    let collector = TestCollector::start(test_config()).await;
    let a = visitor_of(&collector, "a", proxied("198.51.100.7", BROWSER_UA)).await;
    let b = visitor_of(&collector, "b", proxied("198.51.100.200", BROWSER_UA)).await;
    let other_ua = visitor_of(&collector, "c", proxied("198.51.100.7", OTHER_UA)).await;
    let other_net = visitor_of(&collector, "d", proxied("198.51.101.7", BROWSER_UA)).await;
    let v6a = visitor_of(&collector, "e", proxied("2001:db8:1:2::1", BROWSER_UA)).await;
    let v6b = visitor_of(&collector, "f", proxied("2001:db8:1:ffff::9", BROWSER_UA)).await;
    let v6_other = visitor_of(&collector, "g", proxied("2001:db8:2::1", BROWSER_UA)).await;
    assert_eq!(a, b, "same /24, same user agent");
    assert_ne!(a, other_ua, "different user agent");
    assert_ne!(a, other_net, "different /24");
    assert_eq!(v6a, v6b, "same /48");
    assert_ne!(v6a, v6_other, "different /48");
    collector.stop().await;
}

#[tokio::test]
async fn visitor_id_is_the_documented_keyed_hash() {
    let collector = TestCollector::start(test_config()).await;
    let stored = visitor_of(&collector, "h", proxied("203.0.113.77", BROWSER_UA)).await;

    // Recompute from the documented recipe with the salt in storage.
    let day = collector.clock.today();
    let sql =
        format!("SELECT hex(salt) FROM salts WHERE toUInt16(day) = {day} ORDER BY salt LIMIT 1");
    let salt_hex = collector.db.fetch_tsv(&sql).await.unwrap();
    let salt: [u8; 32] = hex::decode(salt_hex.trim()).unwrap().try_into().unwrap();
    let mut input = Vec::new();
    for part in [SITE.as_bytes(), &[203, 0, 113, 0], BROWSER_UA.as_bytes()] {
        input.extend_from_slice(&(part.len() as u64).to_le_bytes());
        input.extend_from_slice(part);
    }
    let digest = blake3::keyed_hash(&salt, &input);
    let expected = u64::from_le_bytes(digest.as_bytes()[..8].try_into().unwrap());
    assert_eq!(stored, expected);
    collector.stop().await;
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let mut config = test_config();
    config.collector.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let collector = TestCollector::start(config).await;
    // 127.0.0.2 is not a trusted proxy: its header must not count.
    let spoofed = visitor_of(
        &collector,
        "spoofed",
        From {
            source: "127.0.0.2",
            forwarded_for: Some("198.51.100.7"),
            user_agent: BROWSER_UA,
        },
    )
    .await;
    let plain = visitor_of(
        &collector,
        "plain",
        From {
            source: "127.0.0.2",
            forwarded_for: None,
            user_agent: BROWSER_UA,
        },
    )
    .await;
    let through_proxy =
        visitor_of(&collector, "proxied", proxied("198.51.100.7", BROWSER_UA)).await;
    let proxy_itself = visitor_of(
        &collector,
        "proxy",
        From {
            source: "127.0.0.1",
            forwarded_for: None,
            user_agent: BROWSER_UA,
        },
    )
    .await;
    assert_eq!(spoofed, plain, "the spoofed header was ignored");
    assert_ne!(through_proxy, spoofed, "a trusted proxy's header counts");
    // 127.0.0.1 and 127.0.0.2 share a /24, so the peer address is what was hashed.
    assert_eq!(proxy_itself, plain);
    collector.stop().await;
}
