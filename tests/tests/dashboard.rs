//! The dashboard's sessions and pages without a browser: signing in sets a
//! strict, HttpOnly cookie that the Stats API then accepts in place of a
//! bearer token; forged, expired, rotated and cross-site uses are refused;
//! a viewer's cookie reads only their sites; the page itself is served
//! whole from the binary under a strict Content-Security-Policy.

use chrono::{DateTime, TimeZone, Utc};
use integration_tests::query_harness::{
    editor, from_dashboard, insert, with_editors, TestQuery, ADMIN_TOKEN, VIEWER_TOKEN,
};
use integration_tests::{test_config, TestDb, OTHER_SITE, SITE};
use schema::config::Role;
use schema::{Config, EventRow};
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC
/// Sign-in attempts a minute per client network, as docs/dashboard.md says.
const LOGINS_PER_MINUTE: u64 = 20;

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).unwrap()
}

fn pageview(site: &str, ts: i64, visitor: u64) -> EventRow {
    EventRow {
        timestamp: ts as u32,
        site: site.into(),
        name: "pageview".into(),
        pathname: "/".into(),
        visitor_id: visitor,
        interactive: 1,
        ..EventRow::default()
    }
}

fn config() -> Config {
    let mut config = test_config();
    with_editors(&mut config);
    config
}

/// Three visitors of `SITE` and one of `OTHER_SITE` today, two of them
/// within the realtime window.
async fn start(config: &Config) -> (TestQuery, TestDb) {
    let service = TestQuery::start(config.clone(), now()).await;
    let db = TestDb::connect(config).await;
    insert(
        &db,
        &[
            pageview(SITE, NOW - 100, 1),
            pageview(SITE, NOW - 3_000, 2),
            pageview(SITE, NOW - 4_000, 3),
            pageview(OTHER_SITE, NOW - 50, 4),
        ],
    )
    .await;
    (service, db)
}

async fn login(service: &TestQuery, token: &str) -> reqwest::Response {
    service.sign_in(token).await
}

/// The `Set-Cookie` header of a response.
fn set_cookie(response: &reqwest::Response) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn session(service: &TestQuery, token: &str) -> String {
    service.session(token).await
}

fn visitors_today(site: &str) -> Value {
    json!({"site_id": site, "metrics": ["visitors"], "date_range": "day"})
}

/// `POST /api/v2/query` with a cookie and, when `csrf`, the dashboard's header.
async fn post_with_cookie(
    service: &TestQuery,
    cookie: &str,
    csrf: bool,
    body: &Value,
) -> (u16, Value) {
    let mut request = service
        .http()
        .post(service.url("/api/v2/query"))
        .header("cookie", cookie)
        .json(body);
    if csrf {
        request = request.header("x-requested-with", "dashboard");
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get_with_cookie(service: &TestQuery, cookie: &str, path: &str) -> reqwest::Response {
    service
        .http()
        .get(service.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_the_api_accepts() {
    let config = config();
    let (service, _db) = start(&config).await;
    let response = login(&service, ADMIN_TOKEN).await;
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(&response);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(
        attributes[0].starts_with("analytics_session=v1."),
        "{cookie}"
    );
    for expected in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(
            attributes.contains(&expected),
            "{expected} missing: {cookie}"
        );
    }
    // Plain http and no public URL: not Secure, or the browser would drop it.
    assert!(!attributes.contains(&"Secure"), "{cookie}");
    assert_eq!(response.json::<Value>().await.unwrap()["editor"], "admin");

    let pair = attributes[0];
    let (status, by_cookie) = post_with_cookie(&service, pair, true, &visitors_today(SITE)).await;
    assert_eq!(status, 200, "{by_cookie}");
    assert_eq!(by_cookie["results"][0]["metrics"][0], 3);
    let sites = get_with_cookie(&service, pair, "/api/dashboard/sites").await;
    assert_eq!(sites.status(), 200);
    let sites: Value = sites.json().await.unwrap();
    let domains: Vec<&str> = sites["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["domain"].as_str().unwrap())
        .collect();
    let configured: Vec<&str> = config.site.iter().map(|s| s.domain.as_str()).collect();
    assert_eq!(domains, configured);
    let realtime = get_with_cookie(
        &service,
        pair,
        &format!("/api/v1/stats/realtime/visitors?site_id={SITE}"),
    )
    .await;
    assert_eq!(realtime.text().await.unwrap(), "1");
    service.stop().await;
}

#[tokio::test]
async fn a_wrong_token_gets_401_that_says_nothing_about_editors() {
    let (service, _db) = start(&config()).await;
    let mut bodies = Vec::new();
    for token in ["not-a-token", "test-admin-token-", "admin", ""] {
        let response = login(&service, token).await;
        assert_eq!(response.status(), 401, "{token:?}");
        assert!(response.headers().get("set-cookie").is_none());
        bodies.push(response.text().await.unwrap());
    }
    assert!(bodies[0].contains("not accepted"), "{}", bodies[0]);
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    let garbled = service
        .http()
        .post(service.url("/api/dashboard/login"))
        .header("x-requested-with", "dashboard")
        .body("token=abc")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), 400);
    // No session: the dashboard's API and the Stats API want one.
    let sites = service
        .http()
        .get(service.url("/api/dashboard/sites"))
        .send()
        .await
        .unwrap();
    assert_eq!(sites.status(), 401);
    service.stop().await;
}

#[tokio::test]
async fn cookie_requests_from_other_sites_are_refused() {
    let (service, _db) = start(&config()).await;
    // Signing in also needs the header, so no site can sign a browser in.
    let bare = service
        .http()
        .post(service.url("/api/dashboard/login"))
        .json(&json!({ "token": ADMIN_TOKEN }))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    let cross = service
        .http()
        .post(service.url("/api/dashboard/login"))
        .header("x-requested-with", "dashboard")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "token": ADMIN_TOKEN }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);

    let cookie = session(&service, ADMIN_TOKEN).await;
    let (status, answer) = post_with_cookie(&service, &cookie, false, &visitors_today(SITE)).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("X-Requested-With"));
    let forged_site = service
        .http()
        .post(service.url("/api/v2/query"))
        .header("cookie", &cookie)
        .header("x-requested-with", "dashboard")
        .header("sec-fetch-site", "same-site")
        .json(&visitors_today(SITE))
        .send()
        .await
        .unwrap();
    assert_eq!(forged_site.status(), 403);
    // The same request from the dashboard's own page is answered.
    let (status, _) = post_with_cookie(&service, &cookie, true, &visitors_today(SITE)).await;
    assert_eq!(status, 200);
    // A bearer token needs no such header: browsers never add one by themselves.
    assert_eq!(
        service
            .post(Some(ADMIN_TOKEN), &visitors_today(SITE))
            .await
            .0,
        200
    );
    service.stop().await;
}

#[tokio::test]
async fn forged_cookies_are_refused() {
    let (service, _db) = start(&config()).await;
    let viewer = session(&service, VIEWER_TOKEN).await;
    let value = viewer.strip_prefix("analytics_session=").unwrap();
    let parts: Vec<&str> = value.split('.').collect();
    assert_eq!(parts.len(), 4, "{value}");
    let mut flipped = parts[3].to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let forgeries = [
        // The viewer's MAC under the admin's name.
        format!("v1.{}.{}.{}", parts[1], hex::encode("admin"), parts[3]),
        // A later expiry.
        format!("v1.{}.{}.{}", NOW + 10 * 86_400, parts[2], parts[3]),
        format!(
            "v1.{}.{}.{}",
            parts[1],
            parts[2],
            String::from_utf8(flipped).unwrap()
        ),
        format!("v1.{}.{}.", parts[1], parts[2]),
        "garbage".to_owned(),
    ];
    for forged in forgeries {
        let cookie = format!("analytics_session={forged}");
        let (status, _) = post_with_cookie(&service, &cookie, true, &visitors_today(SITE)).await;
        assert_eq!(status, 401, "{forged}");
        let (status, _) =
            post_with_cookie(&service, &cookie, true, &visitors_today(OTHER_SITE)).await;
        assert_eq!(status, 401, "{forged}");
    }
    // The untouched cookie still works: the refusals were the forgeries'.
    let (status, _) = post_with_cookie(&service, &viewer, true, &visitors_today(OTHER_SITE)).await;
    assert_eq!(status, 200);
    service.stop().await;
}

#[tokio::test]
async fn a_viewers_session_reads_only_their_sites() {
    let (service, _db) = start(&config()).await;
    let cookie = session(&service, VIEWER_TOKEN).await;
    let sites: Value = get_with_cookie(&service, &cookie, "/api/dashboard/sites")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sites["editor"], "viewer");
    // With the site's local day and the service's clock, from which the
    // page works out "yesterday" and "year to date".
    assert_eq!(
        sites["sites"],
        json!([{"domain": OTHER_SITE, "timezone": "UTC", "today": "2024-03-09"}])
    );
    assert_eq!(sites["now"], "2024-03-09T16:00:00Z");
    let (status, answer) = post_with_cookie(&service, &cookie, true, &visitors_today(SITE)).await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) =
        post_with_cookie(&service, &cookie, true, &visitors_today(OTHER_SITE)).await;
    assert_eq!(status, 200);
    assert_eq!(answer["results"][0]["metrics"][0], 1);
    let realtime = get_with_cookie(
        &service,
        &cookie,
        &format!("/api/v1/stats/realtime/visitors?site_id={SITE}"),
    )
    .await;
    assert_eq!(realtime.status(), 403);
    service.stop().await;
}

#[tokio::test]
async fn logout_clears_the_cookie() {
    let (service, _db) = start(&config()).await;
    let cookie = session(&service, ADMIN_TOKEN).await;
    let without_header = service
        .http()
        .post(service.url("/api/dashboard/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(without_header.status(), 403);
    let logout = service.url("/api/dashboard/logout");
    let response = from_dashboard(service.http(), &logout, Some(&cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cleared = set_cookie(&response);
    let attributes: Vec<&str> = cleared.split(';').map(str::trim).collect();
    assert_eq!(attributes[0], "analytics_session=");
    for expected in ["Max-Age=0", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(attributes.contains(&expected), "{expected}: {cleared}");
    }
    // What a browser sends after applying that header: no session cookie.
    let (status, _) =
        post_with_cookie(&service, "analytics_session=", true, &visitors_today(SITE)).await;
    assert_eq!(status, 401);
    service.stop().await;
}

#[tokio::test]
async fn sessions_survive_restarts_with_the_secret_and_end_when_the_token_rotates() {
    let mut config = config();
    config.query.session_secret = Some("a-test-secret-of-more-than-32-characters".into());
    config.query.session_hours = 1;
    let (service, _db) = start(&config).await;
    let cookie = session(&service, ADMIN_TOKEN).await;
    service.stop().await;

    // Same secret, same token: the session carries over.
    let again = TestQuery::start(config.clone(), now()).await;
    let (status, _) = post_with_cookie(&again, &cookie, true, &visitors_today(SITE)).await;
    assert_eq!(status, 200);
    again.stop().await;

    // An hour later it has expired.
    let later = TestQuery::start(config.clone(), now() + chrono::Duration::seconds(3_600)).await;
    let (status, _) = post_with_cookie(&later, &cookie, true, &visitors_today(SITE)).await;
    assert_eq!(status, 401);
    later.stop().await;

    // Without the secret the key is new, so the session is not accepted.
    let mut no_secret = config.clone();
    no_secret.query.session_secret = None;
    let fresh_key = TestQuery::start(no_secret, now()).await;
    let (status, _) = post_with_cookie(&fresh_key, &cookie, true, &visitors_today(SITE)).await;
    assert_eq!(status, 401);
    fresh_key.stop().await;

    // The admin's token is rotated: the old session ends, the new token signs in.
    let mut rotated = config.clone();
    rotated.editor[0] = editor("admin", "a-new-admin-token", Role::Admin, &["*"]);
    let after = TestQuery::start(rotated, now()).await;
    let (status, _) = post_with_cookie(&after, &cookie, true, &visitors_today(SITE)).await;
    assert_eq!(status, 401);
    assert_eq!(login(&after, ADMIN_TOKEN).await.status(), 401);
    let renewed = session(&after, "a-new-admin-token").await;
    let (status, _) = post_with_cookie(&after, &renewed, true, &visitors_today(SITE)).await;
    assert_eq!(status, 200);
    after.stop().await;
}

#[tokio::test]
async fn an_https_public_url_makes_the_cookie_secure_and_scoped() {
    let mut config = config();
    config.query.public_url = Some("https://stats.example.com/dash/".into());
    let (service, _db) = start(&config).await;
    let cookie = set_cookie(&login(&service, ADMIN_TOKEN).await);
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"Secure"), "{cookie}");
    assert!(attributes.contains(&"Path=/dash/"), "{cookie}");
    service.stop().await;
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited() {
    let (service, _db) = start(&config()).await;
    let mut limited = None;
    let mut answered = 0;
    let started = std::time::Instant::now();
    // The documented limit is 20 a minute per client network (every
    // attempt here comes from 127.0.0.1), all of them available at once;
    // 40 quick attempts cannot all fit. Other networks: tests/sign_in.rs.
    for _ in 0..40 {
        let response = login(&service, "wrong").await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 401);
        answered += 1;
    }
    let limited = limited.expect("no attempt was refused as too many");
    // Not refused early either: the whole burst was answered, plus at most
    // one more attempt for every 3 s (60 s / 20) the loop took.
    let refilled = started.elapsed().as_secs() / 3;
    assert!(
        (LOGINS_PER_MINUTE..=LOGINS_PER_MINUTE + refilled).contains(&answered),
        "{answered} attempts answered before the first refusal"
    );
    assert_eq!(limited.headers()["retry-after"], "60");
    assert!(limited.text().await.unwrap().contains("too many"));
    service.stop().await;
}

#[tokio::test]
async fn the_dashboard_is_served_from_the_binary_under_a_strict_policy() {
    let (service, _db) = start(&config()).await;
    let page = service.http().get(service.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("http"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    // Every file the page and its modules name is served here, and none of
    // them points anywhere else.
    let reference = regex::Regex::new(r##"(?:src|href)="([^"#]+)"|from '\./([^']+)'"##).unwrap();
    let mut pending: Vec<String> = vec![html];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(text) = pending.pop() {
        assert!(!text.contains("https://") && !text.contains("//cdn"));
        for found in reference.captures_iter(&text) {
            let name = found.get(1).or(found.get(2)).unwrap().as_str().to_owned();
            if !seen.insert(name.clone()) {
                continue;
            }
            let response = service
                .http()
                .get(service.url(&format!("/{name}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{name}");
            assert!(response.headers().contains_key("content-security-policy"));
            if name.ends_with(".js") {
                assert!(response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/javascript"));
                pending.push(response.text().await.unwrap());
            }
        }
    }
    for expected in ["app.js", "style.css", "api.js", "chart.js", "view.js"] {
        assert!(
            seen.contains(expected),
            "{expected} not referenced: {seen:?}"
        );
    }
    service.stop().await;
}
