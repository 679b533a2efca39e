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
    let expected =
        visitor_id_by_hand(&collector.db, day, SITE, &[203, 0, 113, 0], BROWSER_UA).await;
    assert_eq!(stored, expected);
    collector.stop().await;
}

#[tokio::test]
async fn events_just_after_midnight_also_carry_yesterdays_id() {
    let day = SystemClock.today();
    let midnight = u64::from(day) * 86_400;
    // Start the evening before, so that the previous day's salt exists.
    let collector = TestCollector::start_at(test_config(), midnight - 60).await;
    let ids_at = |seconds: u64, tag: &'static str| {
        collector.clock.set(midnight + seconds);
        let collector = &collector;
        async move {
            visitor_of(collector, tag, proxied("203.0.113.77", BROWSER_UA)).await;
            let sql =
                format!("SELECT visitor_id, prev_visitor_id FROM events WHERE pathname = '/{tag}'");
            let row = collector.db.fetch_rows(&sql).await.unwrap().remove(0);
            (
                row[0].parse::<u64>().unwrap(),
                row[1].parse::<u64>().unwrap(),
            )
        }
    };
    let just_after = ids_at(10, "just-after").await;
    let last_second = ids_at(1799, "last-second").await;
    let half_past = ids_at(1800, "half-past").await;

    let truncated = [203, 0, 113, 0];
    let today = visitor_id_by_hand(&collector.db, day, SITE, &truncated, BROWSER_UA).await;
    let yesterday = visitor_id_by_hand(&collector.db, day - 1, SITE, &truncated, BROWSER_UA).await;
    assert_ne!(today, yesterday);
    assert_eq!(just_after, (today, yesterday));
    assert_eq!(last_second, (today, yesterday));
    assert_eq!(half_past, (today, 0), "00:30:00 is past the window");
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
