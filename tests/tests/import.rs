//! `POST /api/import`: admin-only NDJSON backfills through the beacon
//! pipeline, answered with per-line outcomes; real salts for today and
//! yesterday, a throw-away salt per older day; no loss under back-pressure
//! or a ClickHouse outage; no address or user agent kept anywhere.

use chrono::{DateTime, SecondsFormat};
use integration_tests::*;
use schema::config::{Durability, Role};
use schema::local_server::{LocalServer, LocalServerOptions};
use schema::Config;
use serde_json::{json, Value};
use std::time::Duration;

/// Admin of every site.
const ADMIN: &str = "import-admin-token";
/// Admin of `SITE` only.
const SITE_ADMIN: &str = "import-site-admin-token";
/// Reads every site, imports nothing.
const VIEWER: &str = "import-viewer-token";

const DAY: u64 = 86_400;
const IP: &str = "198.51.100.7";
const TRUNCATED: [u8; 4] = [198, 51, 100, 0];
const BOT_UA: &str = "Googlebot/2.1 (+http://www.google.com/bot.html)";

fn import_config() -> Config {
    let editor = |token: &str, role, sites: &[&str]| {
        integration_tests::query_harness::editor(token, token, role, sites)
    };
    let mut config = test_config();
    config.editor = vec![
        editor(ADMIN, Role::Admin, &["*"]),
        editor(SITE_ADMIN, Role::Admin, &[SITE]),
        editor(VIEWER, Role::Viewer, &["*"]),
    ];
    config.site[0].exclude_paths = vec!["/private/*".into()];
    config
}

/// Noon UTC of the real current day, so "today" lines can lie in the past.
fn noon_today() -> u64 {
    u64::from(SystemClock.today()) * DAY + DAY / 2
}

fn rfc3339(seconds: u64) -> String {
    DateTime::from_timestamp(seconds as i64, 0)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A pageview of `path` on `SITE` at `at`, from `ip` with `user_agent`.
fn line(path: &str, at: u64, ip: &str, user_agent: &str) -> Value {
    json!({
        "name": "pageview",
        "url": format!("https://example.com{path}"),
        "domain": SITE,
        "timestamp": rfc3339(at),
        "ip": ip,
        "user_agent": user_agent,
    })
}

fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

async fn post_import(
    collector: &TestCollector,
    token: Option<&str>,
    body: String,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(collector.url("/api/import"))
        .header("content-type", "application/x-ndjson")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Imports as the all-sites admin and returns the 200 answer.
async fn import(collector: &TestCollector, body: String) -> Value {
    let response = post_import(collector, Some(ADMIN), body, &[]).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// `(visitor_id, prev_visitor_id)` of the one row on `path`.
async fn ids_of(collector: &TestCollector, path: impl Into<String>) -> (u64, u64) {
    let path = path.into();
    let sql = format!("SELECT visitor_id, prev_visitor_id FROM events WHERE pathname = '{path}'");
    let rows = collector.db.fetch_rows(&sql).await.unwrap();
    assert_eq!(rows.len(), 1, "rows on {path}");
    (rows[0][0].parse().unwrap(), rows[0][1].parse().unwrap())
}

#[test]
fn timestamps_are_written_as_rfc3339() {
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
}

#[tokio::test]
async fn lines_are_accepted_dropped_or_invalid_by_number() {
    let now = noon_today();
    let collector = TestCollector::start_at(import_config(), now).await;
    let mut first = line("/a", now - 3_600, IP, BROWSER_UA);
    first["referrer"] = json!("https://news.ycombinator.com/item?id=1");
    first["props"] = json!({"plan": "pro"});
    let mut missing_ip = line("/no-ip", now, IP, BROWSER_UA);
    missing_ip.as_object_mut().unwrap().remove("ip");
    let mut unknown_site = line("/unknown", now, IP, BROWSER_UA);
    unknown_site["domain"] = json!("unknown.example");
    let old = now - 10 * DAY;
    let signup = json!({
        "name": "Signup", "url": "https://example.com/pricing?utm_source=newsletter",
        "domain": SITE, "timestamp": rfc3339(old), "ip": "2001:db8:1:2::9",
        "user_agent": BROWSER_UA, "revenue": {"amount": "9.50", "currency": "EUR"},
        "interactive": false,
    });
    let body = [
        first.to_string(),                                        // 1: accepted
        String::new(),                                            // 2: blank, skipped
        line("/bot", now, IP, BOT_UA).to_string(),                // 3: bot
        missing_ip.to_string(),                                   // 4: invalid
        unknown_site.to_string(),                                 // 5: unknown site
        line("/future", now + 3_600, IP, BROWSER_UA).to_string(), // 6: invalid
        "x".repeat(70 * 1024),                                    // 7: too long
        "{not json".into(),                                       // 8: invalid
        signup.to_string(),                                       // 9: accepted
        line("/private/x", now, IP, BROWSER_UA).to_string(),      // 10: excluded
        "   ".into(),                                             // 11: blank
    ]
    .join("\r\n");
    // The importer's own consent headers are not the visitors'.
    let consent = [
        ("dnt", "1"),
        ("sec-gpc", "1"),
        ("cookie", "analytics_optout=1"),
    ];
    let response = post_import(&collector, Some(ADMIN), body, &consent).await;
    assert_eq!(response.status(), 200);
    let mut report: Value = response.json().await.unwrap();
    let json_error = report["invalid"][3]["error"].take();
    assert!(json_error
        .as_str()
        .unwrap()
        .starts_with("request: invalid JSON"));
    assert_eq!(
        report,
        json!({
            "accepted": 2,
            "dropped": {"bot": 1, "unknown-site": 1, "excluded": 1},
            "invalid": [
                {"line": 4, "error": "ip: is required"},
                {"line": 6, "error": "timestamp: is more than 300 seconds in the future"},
                {"line": 7, "error": "line is longer than 65536 bytes"},
                {"line": 8, "error": null},
            ],
            "invalid_count": 4,
        })
    );

    expect_event_count(&collector.db, 2).await;
    let rows = collector
        .db
        .fetch_rows(
            "SELECT toUInt32(timestamp), name, hostname, referrer, source, medium, browser, os, \
             device, props_keys, props_values, visitor_id, prev_visitor_id \
             FROM events WHERE pathname = '/a'",
        )
        .await
        .unwrap();
    let today = SystemClock.today();
    let expected_id = visitor_id_by_hand(&collector.db, today, SITE, &TRUNCATED, BROWSER_UA).await;
    let expected = [
        (now - 3_600).to_string(),
        "pageview".into(),
        "example.com".into(),
        "news.ycombinator.com/item".into(),
        "Hacker News".into(),
        "social".into(),
        "Chrome".into(),
        "Linux".into(),
        "Desktop".into(),
        "['plan']".into(),
        "['pro']".into(),
        expected_id.to_string(),
        "0".into(),
    ];
    assert_eq!(rows, vec![expected.to_vec()]);
    let rows = collector
        .db
        .fetch_rows(
            "SELECT toUInt32(timestamp), name, utm_source, source, revenue_amount, \
             revenue_currency, interactive FROM events WHERE pathname = '/pricing'",
        )
        .await
        .unwrap();
    let expected = [old.to_string(), "Signup".into(), "newsletter".into()];
    assert_eq!(rows[0][..3], expected);
    assert_eq!(rows[0][3..], ["newsletter", "9.5", "EUR", "0"]);

    let metrics = collector.metrics().await;
    for (outcome, n) in [("accepted", 2.0), ("dropped", 3.0), ("invalid", 4.0)] {
        let name = format!("analytics_import_lines_total{{outcome=\"{outcome}\"}}");
        assert_metric(&metrics, &name, n);
    }
    let db = collector.stop().await;
    assert_eq!(scalar(&db, "SELECT count() FROM events").await, 2);
}

#[tokio::test]
async fn only_admin_tokens_import_and_only_their_sites() {
    let now = noon_today();
    let collector = TestCollector::start_at(import_config(), now).await;
    let body = || ndjson(&[line("/x", now, IP, BROWSER_UA)]);

    let none = post_import(&collector, None, body(), &[]).await;
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let unknown = post_import(&collector, Some("not-a-token"), body(), &[]).await;
    assert_eq!(unknown.status(), 401);
    let viewer = post_import(&collector, Some(VIEWER), body(), &[]).await;
    assert_eq!(viewer.status(), 403);
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let wrong_type = reqwest::Client::new()
        .post(collector.url("/api/import"))
        .bearer_auth(ADMIN)
        .header(form[0].0, form[0].1)
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    let get = reqwest::Client::new()
        .get(collector.url("/api/import"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(declared_length_status(&collector, 2 << 30).await, 413);

    // A site's admin: lines of other sites are invalid, its own accepted.
    let mut elsewhere = line("/other", now, IP, BROWSER_UA);
    elsewhere["domain"] = json!(OTHER_SITE);
    let body = ndjson(&[elsewhere, line("/mine", now, IP, BROWSER_UA)]);
    let response = post_import(&collector, Some(SITE_ADMIN), body, &[]).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(
        report,
        json!({
            "accepted": 1, "dropped": {}, "invalid_count": 1,
            "invalid": [{"line": 1, "error": "domain: this token may not import events for other.org"}],
        })
    );
    expect_event_count(&collector.db, 1).await;
    collector.stop().await;
}

/// The status of an import that declares a body of `length` bytes, sent
/// by hand since an HTTP client would insist on sending that many.
async fn declared_length_status(collector: &TestCollector, length: u64) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(collector.addr)
        .await
        .unwrap();
    let request = format!(
        "POST /api/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head))
        .await
        .expect("an answer before the body")
        .unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

#[tokio::test]
async fn real_salts_for_today_and_yesterday_a_throw_away_salt_for_older_days() {
    let today = SystemClock.today();
    let midnight = u64::from(today) * DAY;
    // Start the day before, so that yesterday's salt exists, then move on.
    let collector = TestCollector::start_at(import_config(), midnight - DAY / 2).await;
    collector.clock.set(midnight + DAY / 2);
    let rotated = wait_until(Duration::from_secs(10), || async {
        let sql = format!("SELECT count() FROM salts WHERE toUInt16(day) = {today}");
        scalar(&collector.db, &sql).await > 0
    })
    .await;
    assert!(rotated, "today's salt was not agreed");

    let lines = |suffix: &str| {
        let at =
            |path: &str, seconds: u64| line(&format!("{path}{suffix}"), seconds, IP, BROWSER_UA);
        ndjson(&[
            at("/today-early", midnight + 600),
            at("/today", midnight + 11 * 3_600),
            at("/yesterday", midnight - DAY + 8 * 3_600),
            at("/yesterday-early", midnight - DAY + 300),
            at("/two-days-ago-late", midnight - DAY - 3_600),
            at("/old-a", midnight - 10 * DAY + 10 * 3_600),
            at("/old-b", midnight - 10 * DAY + 15 * 3_600),
            at("/old-early", midnight - 10 * DAY + 1_200),
            at("/old-half-past", midnight - 10 * DAY + 1_800),
            at("/older-evening", midnight - 11 * DAY + 22 * 3_600),
        ])
    };
    assert_eq!(import(&collector, lines("")).await["accepted"], 10);
    assert_eq!(import(&collector, lines("-again")).await["accepted"], 10);
    expect_event_count(&collector.db, 20).await;

    let by_hand = |day| visitor_id_by_hand(&collector.db, day, SITE, &TRUNCATED, BROWSER_UA);
    let (today_id, yesterday_id) = (by_hand(today).await, by_hand(today - 1).await);
    for suffix in ["", "-again"] {
        let ids = |path: &str| ids_of(&collector, format!("{path}{suffix}"));
        // Today and yesterday: the real salts, the same in every import.
        assert_eq!(ids("/today-early").await, (today_id, yesterday_id));
        assert_eq!(ids("/today").await, (today_id, 0));
        assert_eq!(ids("/yesterday").await, (yesterday_id, 0));
        // Two days ago is erased: its id comes from this import's own salt,
        // which is also the previous-day salt of yesterday's first half hour.
        let (two_days_ago, _) = ids("/two-days-ago-late").await;
        assert_ne!(two_days_ago, yesterday_id);
        assert_eq!(ids("/yesterday-early").await, (yesterday_id, two_days_ago));
        // Within one import, one old day keeps one id per visitor.
        let (old, _) = ids("/old-a").await;
        assert_eq!(ids("/old-b").await, (old, 0));
        let (older, _) = ids("/older-evening").await;
        assert_ne!(old, older);
        assert_eq!(ids("/old-early").await, (old, older));
        assert_eq!(ids("/old-half-past").await, (old, 0));
    }
    // Across imports, old days' ids differ: each import had its own salts.
    for path in ["/old-a", "/older-evening", "/two-days-ago-late"] {
        let (first, _) = ids_of(&collector, path).await;
        let (second, _) = ids_of(&collector, format!("{path}-again")).await;
        assert_ne!(first, second, "{path}");
    }

    // Imported server-side events join live traffic of the same visitor.
    let beacon = pageview(SITE, "https://example.com/live");
    let live = send(&collector, &beacon, &[("x-forwarded-for", IP)]).await;
    assert_eq!(live.status(), 202);
    expect_event_count(&collector.db, 21).await;
    assert_eq!(ids_of(&collector, "/live").await, (today_id, 0));

    // No throw-away salt was stored: only today's and yesterday's exist.
    let days = collector
        .db
        .fetch_tsv("SELECT DISTINCT toUInt16(day) AS d FROM salts ORDER BY d")
        .await
        .unwrap();
    assert_eq!(days, format!("{}\n{today}\n", today - 1));
    collector.stop().await;
}

/// `n` lines, each on its own page, all accepted.
fn numbered_lines(n: u64, now: u64) -> Vec<Value> {
    (1..=n)
        .map(|i| line(&format!("/p{i}"), now - i, IP, BROWSER_UA))
        .collect()
}

#[tokio::test]
async fn an_import_larger_than_the_queue_waits_for_room_and_lands_completely() {
    let mut config = import_config();
    config.collector.queue_capacity = 5;
    config.collector.batch_max_rows = 3;
    config.collector.batch_max_age_ms = 10;
    let now = noon_today();
    let collector = TestCollector::start_at(config, now).await;
    let report = import(&collector, ndjson(&numbered_lines(1_000, now))).await;
    assert_eq!(report["accepted"], 1_000);
    assert_eq!(report["invalid_count"], 0);
    expect_event_count(&collector.db, 1_000).await;
    let db = collector.stop().await;
    assert_stored_exactly(&db, 1_000).await;
}

#[tokio::test]
async fn a_spooled_import_lands_completely() {
    let mut config = import_config();
    config.collector.durability = Durability::Spool;
    let spool = tempfile::tempdir().unwrap();
    config.collector.spool_dir = spool.path().to_owned();
    let now = noon_today();
    let collector = TestCollector::start_at(config, now).await;
    let report = import(&collector, ndjson(&numbered_lines(2_500, now))).await;
    assert_eq!(report["accepted"], 2_500);
    expect_event_count(&collector.db, 2_500).await;
    let db = collector.stop().await;
    assert_stored_exactly(&db, 2_500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_stops_the_import_with_503_and_the_line_to_resume_from() {
    // A server of this test's own, since it is stopped on purpose.
    let mut server =
        tokio::task::block_in_place(|| LocalServer::start(LocalServerOptions::default()))
            .expect("private clickhouse");
    let mut config = import_config();
    config.clickhouse.url = server.http_url();
    config.collector.queue_capacity = 4;
    config.collector.batch_max_rows = 2;
    config.collector.batch_max_age_ms = 10;
    let now = noon_today();
    let collector = TestCollector::start_at_with(config, now, |c| {
        c.with_import_wait(Duration::from_millis(300))
    })
    .await;
    let lines = numbered_lines(100, now);

    tokio::task::block_in_place(|| server.stop());
    let response = post_import(&collector, Some(ADMIN), ndjson(&lines), &[]).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let report: Value = response.json().await.unwrap();
    let resume = report["resume_from_line"].as_u64().unwrap();
    assert_eq!(report["accepted"], resume - 1, "{report}");
    assert!((2..100).contains(&resume), "{report}");
    assert!(report["error"].is_string(), "{report}");

    tokio::task::block_in_place(|| server.restart()).expect("restart clickhouse");
    // As a client would after Retry-After: once the queue drains, resume.
    let drained = wait_until(Duration::from_secs(30), || async {
        let count = collector.db.fetch_tsv("SELECT count() FROM events").await;
        count.is_ok_and(|n| n.trim() == (resume - 1).to_string())
    })
    .await;
    assert!(drained, "the lines accepted before the outage did not land");
    // The rest, resumed as the protocol says: on another 503 (a slow host
    // can keep the small queue full past the short import wait), from the
    // line that answer names. Every line is accepted exactly once.
    let accepted = resume_until_done(&collector, &lines, resume).await;
    assert_eq!(accepted, 101 - resume);
    let landed = wait_until(Duration::from_secs(30), || async {
        collector
            .db
            .fetch_tsv("SELECT count() FROM events")
            .await
            .is_ok_and(|n| n.trim() == "100")
    })
    .await;
    assert!(landed, "expected 100 rows after the outage");
    let db = collector.stop().await;
    assert_stored_exactly(&db, 100).await;
}

/// Imports `lines` from line `from` (1-based), and again from where each
/// `503` says to resume, until an import completes; the lines accepted in
/// all. Bounded: at most 50 attempts.
async fn resume_until_done(collector: &TestCollector, lines: &[Value], mut from: u64) -> u64 {
    let mut accepted = 0;
    for _ in 0..50 {
        let rest = &lines[usize::try_from(from - 1).unwrap()..];
        let response = post_import(collector, Some(ADMIN), ndjson(rest), &[]).await;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let report: Value = response.json().await.unwrap();
        accepted += report["accepted"].as_u64().unwrap();
        match status.as_u16() {
            200 => return accepted,
            503 => {
                let resume = report["resume_from_line"].as_u64().unwrap();
                assert_eq!(report["accepted"], resume - 1, "{report}");
                from += resume - 1;
                // The wait the answer asks for, as a client honours it.
                let seconds = retry_after.expect("a 503 says when to retry");
                tokio::time::sleep(Duration::from_secs(seconds)).await;
            }
            other => panic!("import answered {other}: {report}"),
        }
    }
    panic!("the import never completed");
}

#[tokio::test]
async fn imported_addresses_and_user_agents_are_kept_nowhere() {
    const RAW_IP: &str = "203.0.113.177";
    const RAW_IP6: &str = "2001:db8:5151:17::beef";
    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) ImportProbe/7.7 Gecko/20100101 Firefox/131.0";
    let secrets = [
        RAW_IP,
        "203.0.113.0",
        RAW_IP6,
        "2001:db8:5151::",
        UA,
        "ImportProbe",
    ];
    let logs = capture_logs();
    let mut config = import_config();
    config.collector.durability = Durability::Spool;
    let spool = tempfile::tempdir().unwrap();
    config.collector.spool_dir = spool.path().to_owned();
    let now = noon_today();
    let collector = TestCollector::start_at(config, now).await;

    let control = "/import-control-5d1c9e";
    let mut unknown_site = line("/u", now, RAW_IP, UA);
    unknown_site["domain"] = json!("unknown.example");
    let mut invalid = line("/bad", now, RAW_IP, UA);
    invalid["timestamp"] = json!("not a time");
    let body = ndjson(&[
        line(control, now - 60, RAW_IP, UA),
        line("/v6", now - 30, RAW_IP6, UA),
        unknown_site,
        invalid,
    ]);
    let response = post_import(&collector, Some(ADMIN), body, &[]).await;
    assert_eq!(response.status(), 200);
    let answer = response.text().await.unwrap();
    for secret in secrets {
        assert!(
            !answer.contains(secret),
            "{secret:?} in the answer {answer}"
        );
    }
    // Right away, while segments may still be on disk.
    for secret in secrets {
        let files = files_containing(spool.path(), secret.as_bytes());
        assert!(files.is_empty(), "{secret:?} in spool files {files:?}");
    }
    expect_event_count(&collector.db, 2).await;
    let dead_letters = collector.config.collector.dead_letter_dir.clone();
    let db = collector.stop().await;

    assert_eq!(
        tables_containing(&db, control.as_bytes()).await,
        vec!["events.pathname"],
        "the scan finds what is stored"
    );
    for secret in secrets {
        let hits = tables_containing(&db, secret.as_bytes()).await;
        assert!(hits.is_empty(), "{secret:?} stored in {hits:?}");
    }
    for secret in [&[203, 0, 113, 177][..], &[203, 0, 113, 0]] {
        assert!(tables_containing(&db, secret).await.is_empty());
    }
    let dirs = [
        Some(spool.path().to_owned()),
        Some(dead_letters),
        server_files_to_scan("privacy scan of the server's files after an import"),
    ];
    for dir in dirs.into_iter().flatten() {
        for secret in secrets {
            let files = files_containing(&dir, secret.as_bytes());
            assert!(files.is_empty(), "{secret:?} in files {files:?}");
        }
    }
    let logged = logs.text();
    assert!(logged.contains("import finished"), "logs were captured");
    for secret in secrets {
        assert!(!logged.contains(secret), "{secret:?} in the logs");
    }
}

#[tokio::test]
async fn a_stopping_collector_ends_an_import_with_the_line_to_resume_from() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let now = noon_today();
    let collector = TestCollector::start_at(import_config(), now).await;
    let mut stream = tokio::net::TcpStream::connect(collector.addr)
        .await
        .unwrap();
    // Three lines of a body announced much longer, which never comes.
    let lines = ndjson(&numbered_lines(3, now));
    let request = format!(
        "POST /api/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 1000000\r\n\r\n{lines}"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    expect_event_count(&collector.db, 3).await;

    let stopped = tokio::spawn(collector.stop());
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("an answer while stopping")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["accepted"], 3, "{body}");
    assert_eq!(body["resume_from_line"], 4, "{body}");
    assert_eq!(body["error"], "the collector is stopping");
    let db = stopped.await.unwrap();
    assert_stored_exactly(&db, 3).await;
}
