//! The query service in-process on a loopback port, with editors whose
//! tokens the tests know, and direct inserts of hand-made event rows.

use chrono::{DateTime, Utc};
use schema::config::{EditorConfig, Role};
use schema::{Config, Db, EventRow};
use serde_json::Value;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// May read every site.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// May read only [`crate::OTHER_SITE`].
pub const VIEWER_TOKEN: &str = "test-viewer-token";

/// Adds an admin editor for every site and a viewer of `OTHER_SITE`.
pub fn with_editors(config: &mut Config) {
    config.editor = vec![
        editor("admin", ADMIN_TOKEN, Role::Admin, &["*"]),
        editor("viewer", VIEWER_TOKEN, Role::Viewer, &[crate::OTHER_SITE]),
    ];
}

/// An editor of `sites` whose token is `token` (the config holds its hash).
pub fn editor(name: &str, token: &str, role: Role, sites: &[&str]) -> EditorConfig {
    EditorConfig {
        name: name.into(),
        token_sha256: schema::auth::token_sha256(token),
        role,
        sites: sites.iter().map(|s| s.to_string()).collect(),
    }
}

/// A pageview as the collector stores it, by `visitor` at `ts` (Unix seconds).
pub fn pageview(site: &str, ts: i64, visitor: u64, path: &str) -> EventRow {
    EventRow {
        timestamp: u32::try_from(ts).expect("a timestamp ClickHouse stores"),
        site: site.into(),
        name: "pageview".into(),
        pathname: path.into(),
        visitor_id: visitor,
        interactive: 1,
        ..EventRow::default()
    }
}

/// A fresh test database and config with the test editors, changed by
/// `edit`, served with "now" pinned: the service, the database and the
/// config it runs with.
pub async fn serve(
    edit: impl FnOnce(&mut Config),
    now: DateTime<Utc>,
) -> (TestQuery, crate::TestDb, Config) {
    let mut config = crate::test_config();
    with_editors(&mut config);
    edit(&mut config);
    let service = TestQuery::start(config.clone(), now).await;
    let db = crate::TestDb::connect(&config).await;
    (service, db, config)
}

/// A request to `url` as the dashboard's scripts send it: with
/// `X-Requested-With`, and the session cookie (`name=value`) if given.
pub fn from_dashboard(
    client: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = client.post(url).header("x-requested-with", "dashboard");
    match cookie {
        Some(cookie) => request.header("cookie", cookie),
        None => request,
    }
}

/// Writes rows as they are, bypassing the collector.
pub async fn insert(db: &Db, rows: &[EventRow]) {
    let mut insert = db.client().insert::<EventRow>("events").await.unwrap();
    for row in rows {
        insert.write(row).await.unwrap();
    }
    insert.end().await.unwrap();
}

pub struct TestQuery {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    http: reqwest::Client,
}

impl TestQuery {
    /// Migrates the config's database, then serves with "now" pinned. The
    /// background materializer does not run: tests run it when they mean to.
    pub async fn start(config: Config, now: DateTime<Utc>) -> Self {
        Self::start_with(config, now, false).await
    }

    /// As [`Self::start`], choosing whether the materializer runs.
    pub async fn start_with(config: Config, now: DateTime<Utc>, rollup_job: bool) -> Self {
        let db = schema::connect(&config.clickhouse).await.unwrap();
        schema::migrate::migrate(&db).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let service = query::QueryService::new(config)
            .with_now(move || now)
            .with_rollup_job(rollup_job);
        let shutdown = stop.clone().cancelled_owned();
        let task = tokio::spawn(async move { service.run(listener, shutdown).await });
        let http = reqwest::Client::new();
        let ready = crate::wait_until(std::time::Duration::from_secs(10), || {
            let http = http.clone();
            async move {
                let url = format!("http://{addr}/healthz");
                http.get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        assert!(ready, "query service did not come up");
        Self {
            addr,
            stop,
            task,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `POST /api/v2/query` with an optional bearer token: status and JSON.
    pub async fn post(&self, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self.http.post(self.url("/api/v2/query")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    /// A query as the admin that must succeed.
    pub async fn ok(&self, body: &Value) -> Value {
        let (status, json) = self.post(Some(ADMIN_TOKEN), body).await;
        assert_eq!(status, 200, "{body} -> {json}");
        json
    }

    /// Signs in to the dashboard with `token`, as its page does.
    pub async fn sign_in(&self, token: &str) -> reqwest::Response {
        from_dashboard(&self.http, &self.url("/api/dashboard/login"), None)
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .unwrap()
    }

    /// Signs in and returns the session cookie's `name=value` to send back.
    pub async fn session(&self, token: &str) -> String {
        let response = self.sign_in(token).await;
        assert_eq!(response.status(), 200);
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
    }
}
