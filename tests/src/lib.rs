//! The integration-test harness: a private clickhouse-server shared by the
//! tests of one binary (each test gets its own database), collectors run
//! in-process on port 0, and polling with a deadline instead of sleeps.

pub mod browser;
pub mod chdb;
pub mod cluster_harness;
pub mod dashboard_page;
pub mod fold;
pub mod geoip_fixture;
pub mod metrics_text;
pub mod query_harness;
pub mod report_catalogue;
pub mod steady_load;

pub use metrics_text::{assert_dropped, assert_metric, metric, parse_metrics};
pub use steady_load::{LoadReport, SteadyLoad, Tally};

pub use collector::clock::{Clock, ManualClock, SystemClock};
use schema::config::{SiteConfig, ENV_CLICKHOUSE_URL};
use schema::{Config, Db};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Sites every test config has. `nodnt.example` ignores DNT and GPC.
pub const SITE: &str = "example.com";
pub const OTHER_SITE: &str = "other.org";
pub const NO_DNT_SITE: &str = "nodnt.example";

/// A browser user agent for beacons.
pub const BROWSER_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";

/// The ClickHouse to test against: `CLICKHOUSE_URL` if set, else a private
/// server started once for this test binary.
pub fn clickhouse_url() -> String {
    if let Ok(url) = std::env::var(ENV_CLICKHOUSE_URL) {
        return url;
    }
    match schema::local_server::shared() {
        Ok(server) => server.http_url().to_owned(),
        Err(e) => panic!("cannot start a private ClickHouse: {e}"),
    }
}

/// Set to `1` to let a run against `CLICKHOUSE_URL` skip the scans of the
/// server's files (whose files may be on another machine). Without it such
/// a run fails rather than pass without those checks.
pub const ENV_ALLOW_SKIPPING_DISK_SCANS: &str = "ALLOW_SKIPPING_DISK_SCANS";

/// The data directory of the private server, for the scan of its files that
/// `what` describes. Against `CLICKHOUSE_URL` the files are not ours to read:
/// the test fails unless `ALLOW_SKIPPING_DISK_SCANS=1`, and then `None`
/// comes back and the skipped scan is named on stderr.
pub fn server_files_to_scan(what: &str) -> Option<std::path::PathBuf> {
    let Ok(url) = std::env::var(ENV_CLICKHOUSE_URL) else {
        let server = schema::local_server::shared()
            .unwrap_or_else(|e| panic!("cannot start a private ClickHouse: {e}"));
        return Some(server.data_dir().to_owned());
    };
    if std::env::var(ENV_ALLOW_SKIPPING_DISK_SCANS).as_deref() != Ok("1") {
        panic!(
            "{ENV_CLICKHOUSE_URL}={url} is set, so the server's files cannot be scanned \
             ({what}); unset it to test against a private server, or set \
             {ENV_ALLOW_SKIPPING_DISK_SCANS}=1 to skip this scan knowingly"
        );
    }
    // Straight to the process's stderr: the test harness captures `eprintln!`
    // of passing tests, and a skipped check must not go unnoticed.
    let note = format!(
        "SKIPPED CHECK ({ENV_ALLOW_SKIPPING_DISK_SCANS}=1): {what}: the server at {url} \
         keeps its files out of reach\n"
    );
    let _ = std::io::stderr().lock().write_all(note.as_bytes());
    None
}

/// A config pointing at a fresh, uniquely named database, with three sites
/// and fast batches so rows land quickly.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.clickhouse.url = clickhouse_url();
    config.clickhouse.database = format!("test_{}", hex::encode(rand::random::<[u8; 6]>()));
    config.collector.listen = "127.0.0.1:0".parse().unwrap();
    config.collector.batch_max_age_ms = 50;
    config.collector.dead_letter_dir = std::env::temp_dir().join(format!(
        "analytics-dead-letter-{}",
        config.clickhouse.database
    ));
    config.site = vec![site_with_goals(), SiteConfig::new(OTHER_SITE), {
        let mut site = SiteConfig::new(NO_DNT_SITE);
        site.respect_dnt = false;
        site.respect_gpc = false;
        site
    }];
    config
}

/// [`SITE`] with goals of every kind, so that goal reports run wherever
/// the other reports do: the built-in ones, a custom event goal, a page
/// glob and a revenue goal.
fn site_with_goals() -> SiteConfig {
    let mut site = SiteConfig::new(SITE);
    site.builtin_goals = true;
    let goal = |event: Option<&str>, page: Option<&str>, currency: Option<&str>| {
        schema::config::GoalConfig {
            event: event.map(String::from),
            page: page.map(String::from),
            display_name: None,
            currency: currency.map(String::from),
        }
    };
    site.goal = vec![
        goal(Some("Signup"), None, None),
        goal(None, Some("/blog/**"), None),
        goal(Some("Purchase"), None, Some("EUR")),
    ];
    site
}

/// A test's database: dropped from the server when the last handle to it
/// goes away (collectors sharing a database share one guard).
pub struct TestDb {
    db: Db,
    _guard: Arc<DropDatabase>,
}

impl Deref for TestDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl TestDb {
    pub async fn connect(config: &Config) -> Self {
        let db = schema::connect(&config.clickhouse).await.unwrap();
        Self {
            _guard: DropDatabase::for_config(config),
            db,
        }
    }
}

struct DropDatabase {
    url: String,
    database: String,
}

impl DropDatabase {
    fn for_config(config: &Config) -> Arc<Self> {
        static LIVE: Mutex<Option<HashMap<String, Weak<DropDatabase>>>> = Mutex::new(None);
        let mut live = LIVE.lock().unwrap();
        let live = live.get_or_insert_with(HashMap::new);
        let key = format!("{} {}", config.clickhouse.url, config.clickhouse.database);
        if let Some(guard) = live.get(&key).and_then(Weak::upgrade) {
            return guard;
        }
        let guard = Arc::new(Self {
            url: config.clickhouse.url.clone(),
            database: config.clickhouse.database.clone(),
        });
        live.insert(key, Arc::downgrade(&guard));
        guard
    }
}

impl Drop for DropDatabase {
    /// Blocking and best-effort: a failed clean-up must not fail the test.
    fn drop(&mut self) {
        let Some(host) = self.url.strip_prefix("http://") else {
            return;
        };
        let host = host.trim_end_matches('/');
        let sql = format!("DROP DATABASE IF EXISTS {}", self.database);
        let request = format!(
            "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{sql}",
            sql.len()
        );
        if let Ok(mut stream) = std::net::TcpStream::connect(host) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = stream.write_all(request.as_bytes());
            let _ = stream.read_to_end(&mut Vec::new());
        }
    }
}

/// A collector running in this process on a loopback port.
pub struct TestCollector {
    pub addr: SocketAddr,
    pub config: Config,
    pub db: TestDb,
    pub clock: Arc<ManualClock>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestCollector {
    /// Starts with the real time of day on a manual clock.
    pub async fn start(config: Config) -> Self {
        Self::start_at(config, SystemClock.now()).await
    }

    /// Starts on `config.collector.listen` itself (not a fresh port), for
    /// tests that restart a collector at the same address.
    pub async fn start_on(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind(config.collector.listen)
            .await
            .unwrap();
        Self::start_with(config, SystemClock.now(), listener).await
    }

    /// Starts with a manual clock set to `seconds` since the epoch.
    pub async fn start_at(config: Config, seconds: u64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_with(config, seconds, listener).await
    }

    async fn start_with(config: Config, seconds: u64, listener: tokio::net::TcpListener) -> Self {
        Self::start_customised(config, seconds, listener, |c| c).await
    }

    /// Like [`start_at`](Self::start_at), with further settings of the
    /// collector (such as `with_import_wait`).
    pub async fn start_at_with(
        config: Config,
        seconds: u64,
        customise: impl FnOnce(collector::Collector) -> collector::Collector,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_customised(config, seconds, listener, customise).await
    }

    async fn start_customised(
        config: Config,
        seconds: u64,
        listener: tokio::net::TcpListener,
        customise: impl FnOnce(collector::Collector) -> collector::Collector,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(seconds));
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let collector = collector::Collector::new(config.clone())
            .with_clock(clock.clone())
            .with_salt_refresh(Duration::from_millis(100))
            .with_geoip_check(Duration::from_millis(100));
        let collector = customise(collector);
        let shutdown = stop.clone().cancelled_owned();
        let mut task = tokio::spawn(async move { collector.run(listener, shutdown).await });
        // With `admin_listen` (a fixed port), `/readyz` is only there.
        let ready_at = config.collector.admin_listen.unwrap_or(addr);
        wait_ready(ready_at, &mut task).await;
        Self {
            addr,
            db: TestDb::connect(&config).await,
            config,
            clock,
            stop,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The URL of an operator's endpoint: on `admin_listen` when it is set.
    pub fn admin_url(&self, path: &str) -> String {
        let addr = self.config.collector.admin_listen.unwrap_or(self.addr);
        format!("http://{addr}{path}")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.admin_url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Graceful stop: returns once every queued row was written. The database
    /// lives on while the returned handle does.
    pub async fn stop(self) -> TestDb {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("collector stops in time")
            .expect("collector task")
            .expect("collector ran without error");
        self.db
    }
}

/// Waits for `/readyz`, failing with the collector's own error if it exits.
async fn wait_ready(addr: SocketAddr, task: &mut tokio::task::JoinHandle<anyhow::Result<()>>) {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/readyz");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if task.is_finished() {
            let outcome = task.await;
            panic!("collector exited during start-up: {outcome:?}");
        }
        if client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("collector did not become ready within 30 s");
}

/// Fails unless `events` holds exactly `n` rows, each on its own page: the
/// acknowledged beacons, none lost and none stored twice.
pub async fn assert_stored_exactly(db: &Db, n: u64) {
    assert_eq!(
        scalar(db, "SELECT count() FROM events").await,
        n,
        "rows stored"
    );
    let distinct = scalar(db, "SELECT uniqExact(pathname) FROM events").await;
    assert_eq!(distinct, n, "a beacon was stored twice");
}

/// Polls `check` until it is true or `deadline` passes.
pub async fn wait_until<F, Fut>(deadline: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A single number from a query such as `SELECT count() FROM events`.
pub async fn scalar(db: &Db, sql: &str) -> u64 {
    let text = db.fetch_tsv(sql).await.unwrap();
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql} gave {text:?}"))
}

/// Waits until `events` holds exactly `n` rows, and fails if it ever holds
/// more or never gets there.
pub async fn expect_event_count(db: &Db, n: u64) {
    let reached = wait_until(Duration::from_secs(20), || async {
        scalar(db, "SELECT count() FROM events").await >= n
    })
    .await;
    let have = scalar(db, "SELECT count() FROM events").await;
    assert!(reached, "expected {n} rows in events, have {have}");
    assert_eq!(have, n, "more rows than accepted events");
}

/// A JSON beacon as Plausible's tracker sends it.
pub fn pageview(domain: &str, url: &str) -> serde_json::Value {
    serde_json::json!({ "n": "pageview", "u": url, "d": domain, "r": null, "w": 1280 })
}

/// Posts a beacon as `text/plain` with a browser user agent and the given
/// extra headers.
pub async fn send(
    collector: &TestCollector,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(collector.url("/api/event"))
        .header("content-type", "text/plain")
        .header("user-agent", BROWSER_UA)
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Every `(table.column)` of the database whose stored values contain
/// `needle`, over all String-like columns (String, FixedString, arrays and
/// nullables of them).
pub async fn tables_containing(db: &Db, needle: &[u8]) -> Vec<String> {
    let columns = db
        .fetch_tsv(&format!(
            "SELECT table, name, type FROM system.columns WHERE database = '{}'",
            db.database()
        ))
        .await
        .unwrap();
    let needle_hex = hex::encode(needle);
    let mut hits = Vec::new();
    for line in columns.lines() {
        let mut f = line.split('\t');
        let (table, column, ty) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        let Some(condition) = contains_condition(column, ty, &needle_hex) else {
            continue;
        };
        let sql = format!(
            "SELECT count() FROM {}.{table} WHERE {condition}",
            db.database()
        );
        if scalar(db, &sql).await > 0 {
            hits.push(format!("{table}.{column}"));
        }
    }
    hits
}

fn contains_condition(column: &str, ty: &str, needle_hex: &str) -> Option<String> {
    let needle = format!("unhex('{needle_hex}')");
    if ty.starts_with("Array(") && ty.contains("String") {
        return Some(format!(
            "arrayExists(x -> position(toString(x), {needle}) > 0, {column})"
        ));
    }
    ty.contains("String")
        .then(|| format!("position(toString({column}), {needle}) > 0"))
}

/// Files under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if meta.is_file() {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if bytes.windows(needle.len()).any(|w| w == needle) {
                hits.push(path);
            }
        }
    }
    hits
}

/// The documented visitor id of `site`, a truncated address (its bytes) and
/// a user agent under the stored salt of `day`, computed with blake3
/// directly rather than by the collector's code.
pub async fn visitor_id_by_hand(
    db: &Db,
    day: u16,
    site: &str,
    truncated_ip: &[u8],
    user_agent: &str,
) -> u64 {
    let sql =
        format!("SELECT hex(salt) FROM salts WHERE toUInt16(day) = {day} ORDER BY salt LIMIT 1");
    let salt_hex = db.fetch_tsv(&sql).await.unwrap();
    let salt: [u8; 32] = hex::decode(salt_hex.trim())
        .unwrap_or_else(|_| panic!("no salt stored for day {day}"))
        .try_into()
        .unwrap_or_else(|_| panic!("no salt stored for day {day}"));
    let mut input = Vec::new();
    for part in [site.as_bytes(), truncated_ip, user_agent.as_bytes()] {
        input.extend_from_slice(&(part.len() as u64).to_le_bytes());
        input.extend_from_slice(part);
    }
    let digest = blake3::keyed_hash(&salt, &input);
    u64::from_le_bytes(digest.as_bytes()[..8].try_into().unwrap())
}

/// Log output captured in memory, to scan for what must never be logged.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Every line captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of this test binary, at trace level. Only one
/// test of a binary may call it.
pub fn capture_logs() -> CapturedLogs {
    let captured = CapturedLogs::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    captured
}

/// Removes migration `version`'s record from `schema_migrations`, as if it
/// had never run (or stopped half way), and waits for that mutation.
pub async fn forget_migration(db: &Db, version: u32) {
    db.execute(&format!(
        "ALTER TABLE schema_migrations DELETE WHERE version = {version}"
    ))
    .await
    .unwrap();
    let gone = wait_until(std::time::Duration::from_secs(10), || async {
        !schema::migrate::applied(db)
            .await
            .unwrap()
            .contains(&version)
    })
    .await;
    assert!(gone, "the mutation removing the record did not finish");
}
