//! Sign-in limits and sign-out: the limits on sign-in attempts and on
//! refused bearer tokens count per client network (the /24 of an IPv4
//! address), so one client using up its attempts locks out nobody else;
//! and signing out ends the editor's sessions on the server, so a copy of
//! the cookie taken before is refused after.
//!
//! Loopback answers every 127.0.0.0/8 address, so clients here send from
//! 127.0.0.1, 127.0.0.2 (the same /24) and 127.0.1.1 (another).

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{
    from_dashboard, serve, TestQuery, ADMIN_TOKEN, VIEWER_TOKEN,
};
use integration_tests::{TestDb, OTHER_SITE, SITE};
use serde_json::{json, Value};
use std::net::IpAddr;

const NOW: i64 = 1_710_000_000;
/// Sign-in attempts a minute per client network, as documented.
const LOGINS_PER_MINUTE: usize = 20;
/// Refused bearer tokens a minute per client network, as documented.
const TOKEN_FAILURES_PER_MINUTE: usize = 30;

async fn start() -> (TestQuery, TestDb) {
    let (service, db, _) = serve(|_| {}, Utc.timestamp_opt(NOW, 0).unwrap()).await;
    (service, db)
}

/// A client whose connections come from `from`.
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login(service: &TestQuery, client: &reqwest::Client, token: &str) -> reqwest::Response {
    from_dashboard(client, &service.url("/api/dashboard/login"), None)
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
}

fn report(site: &str) -> Value {
    json!({"site_id": site, "metrics": ["visitors"], "date_range": "day"})
}

async fn bearer(service: &TestQuery, client: &reqwest::Client, token: &str) -> reqwest::Response {
    client
        .post(service.url("/api/v2/query"))
        .bearer_auth(token)
        .json(&report(SITE))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn one_network_using_up_its_sign_in_attempts_does_not_lock_out_another() {
    let (service, _db) = start().await;
    let first = client_from("127.0.0.1");
    for i in 0..LOGINS_PER_MINUTE {
        let status = login(&service, &first, "wrong").await.status();
        assert_eq!(status, 401, "attempt {i}");
    }
    let refused = login(&service, &first, ADMIN_TOKEN).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "60");
    // The same /24 shares the limit...
    let neighbour = client_from("127.0.0.2");
    assert_eq!(login(&service, &neighbour, ADMIN_TOKEN).await.status(), 429);
    // ...another network has its own.
    let other = client_from("127.0.1.1");
    assert_eq!(login(&service, &other, ADMIN_TOKEN).await.status(), 200);
    assert_eq!(login(&service, &other, "wrong").await.status(), 401);
    service.stop().await;
}

#[tokio::test]
async fn refused_bearer_tokens_are_limited_per_network() {
    let (service, _db) = start().await;
    let first = client_from("127.0.0.1");
    for i in 0..TOKEN_FAILURES_PER_MINUTE {
        let status = bearer(&service, &first, &format!("guess-{i}"))
            .await
            .status();
        assert_eq!(status, 401, "guess {i}");
    }
    let refused = bearer(&service, &first, "guess-more").await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "60");
    // Past the limit no token is tried from there, a right one neither.
    assert_eq!(bearer(&service, &first, ADMIN_TOKEN).await.status(), 429);
    // Another network is not affected, with a right token or a wrong one.
    let other = client_from("127.0.1.1");
    assert_eq!(bearer(&service, &other, ADMIN_TOKEN).await.status(), 200);
    assert_eq!(bearer(&service, &other, "guess-x").await.status(), 401);
    service.stop().await;
}

/// The `name=value` of a sign-in's cookie.
async fn session(service: &TestQuery, token: &str) -> String {
    let response = login(service, service.http(), token).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

async fn with_cookie(service: &TestQuery, cookie: &str, site: &str) -> u16 {
    let url = service.url("/api/v2/query");
    let request = from_dashboard(service.http(), &url, Some(cookie)).json(&report(site));
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_cookie_copied_before_sign_out_is_refused_after_it() {
    let (service, _db) = start().await;
    let laptop = session(&service, ADMIN_TOKEN).await;
    let phone = session(&service, ADMIN_TOKEN).await;
    let viewer = session(&service, VIEWER_TOKEN).await;
    let copy = laptop.clone();
    assert_eq!(with_cookie(&service, &copy, SITE).await, 200);
    let logout = service.url("/api/dashboard/logout");
    let signed_out = from_dashboard(service.http(), &logout, Some(&laptop)).send();
    assert_eq!(signed_out.await.unwrap().status(), 200);
    // The copy, and the editor's other sessions, end with it...
    assert_eq!(with_cookie(&service, &copy, SITE).await, 401);
    assert_eq!(with_cookie(&service, &phone, SITE).await, 401);
    // ...another editor's do not...
    assert_eq!(with_cookie(&service, &viewer, OTHER_SITE).await, 200);
    // ...and signing in again (in the same second) works.
    let again = session(&service, ADMIN_TOKEN).await;
    assert_eq!(with_cookie(&service, &again, SITE).await, 200);
    assert_eq!(with_cookie(&service, &copy, SITE).await, 401);
    service.stop().await;
}
