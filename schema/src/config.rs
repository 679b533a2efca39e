//! The one TOML config file every binary reads (`--config FILE`), its
//! defaults, environment overrides and start-up validation.
//!
//! Unknown keys are rejected so that a typo never silently falls back to a
//! default; every error names the key it is about.

use ipnet::IpNet;
use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variables that override the file, for containers and tests.
pub const ENV_CLICKHOUSE_URL: &str = "CLICKHOUSE_URL";
pub const ENV_CLICKHOUSE_DATABASE: &str = "CLICKHOUSE_DATABASE";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config: `{key}`: {message}")]
    Invalid { key: String, message: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub clickhouse: ClickHouseConfig,
    #[serde(default)]
    pub collector: CollectorConfig,
    #[serde(default)]
    pub query: QueryConfig,
    #[serde(default)]
    pub site: Vec<SiteConfig>,
    #[serde(default)]
    pub editor: Vec<EditorConfig>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    pub url: String,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Cluster mode: a cluster of the servers' `remote_servers`. Tables are
    /// then created on every host, as local tables behind `Distributed`
    /// ones of the public names (see [`crate::cluster`]).
    pub cluster: Option<String>,
    /// HTTP URLs of every host of the cluster. Empty: each `host_name` of
    /// `system.clusters` on the port of `url`.
    pub hosts: Vec<String>,
    /// Local tables use `Replicated*MergeTree` (a keeper and the `{shard}`
    /// and `{replica}` macros must be configured on the servers).
    pub replicated: bool,
}

/// The password is never printed.
impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("cluster", &self.cluster)
            .field("hosts", &self.hosts)
            .field("replicated", &self.replicated)
            .finish()
    }
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".into(),
            database: "analytics".into(),
            user: None,
            password: None,
            cluster: None,
            hosts: Vec::new(),
            replicated: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    pub listen: SocketAddr,
    /// `X-Forwarded-For` / `Forwarded` are believed only from these peers.
    pub trusted_proxies: Vec<IpNet>,
    /// Which header the trusted proxies write. Only that one is read, so a
    /// client cannot slip in the other.
    pub forwarded_header: ForwardedHeader,
    pub optout_cookie: String,
    /// Lets a collector on a subdomain set the cookie for the whole site.
    pub optout_cookie_domain: Option<String>,
    /// A batch is written when it reaches this many rows ...
    pub batch_max_rows: usize,
    /// ... or when its oldest row is this old, whichever comes first.
    pub batch_max_age_ms: u64,
    /// Rows that may wait in memory for the writer; past it the collector answers 503.
    pub queue_capacity: usize,
    /// Bytes those rows may take (their strings); past it the collector answers 503.
    pub queue_max_bytes: usize,
    /// Open connections at once; past it new ones get 503 and are closed.
    pub max_connections: usize,
    /// Deadline for a request's headers, so slow clients cannot hold sockets.
    pub header_read_timeout_ms: u64,
    /// Deadline for a request's body.
    pub body_read_timeout_ms: u64,
    /// Events per minute one visitor may send to one site; 0 turns it off.
    pub visitor_events_per_minute: u32,
    /// Events per second one site may receive in all; 0 turns it off.
    pub site_events_per_second: u32,
    /// The public URL the collector is reached under (https there marks the
    /// opt-out cookie Secure).
    pub public_url: Option<String>,
    /// A MaxMind-format database (GeoIP2/GeoLite2 City or Country, DB-IP
    /// lite, or the flat `@ip-location-db` layout). Reloaded when it changes.
    pub geoip: Option<PathBuf>,
    /// Replaces the vendored referrer-spam list: one domain a line.
    pub referrer_spam_file: Option<PathBuf>,
    /// Drops traffic from these networks: one CIDR range a line.
    pub datacenter_ranges_file: Option<PathBuf>,
    /// Batches ClickHouse would not take are kept here as JSON lines.
    pub dead_letter_dir: PathBuf,
    /// When an accepted event is safe: in memory, or fsynced to the spool.
    pub durability: Durability,
    /// Where the spool keeps its segments (`durability = "spool"`).
    pub spool_dir: PathBuf,
    /// Bytes the spool may hold; past it the collector answers 503.
    pub spool_max_bytes: u64,
}

/// What `202` promises; see the README's "Delivery guarantee".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Queued in memory: a crash loses what is queued.
    Memory,
    /// Written and fsynced to the spool: survives `kill -9`.
    Spool,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid literal"),
            trusted_proxies: vec![
                "127.0.0.1/32".parse().expect("valid literal"),
                "::1/128".parse().expect("valid literal"),
            ],
            forwarded_header: ForwardedHeader::XForwardedFor,
            optout_cookie: "analytics_optout".into(),
            optout_cookie_domain: None,
            batch_max_rows: 10_000,
            batch_max_age_ms: 1_000,
            queue_capacity: 100_000,
            queue_max_bytes: 256 * 1024 * 1024,
            max_connections: 10_000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            visitor_events_per_minute: 120,
            site_events_per_second: 10_000,
            public_url: None,
            geoip: None,
            referrer_spam_file: None,
            datacenter_ranges_file: None,
            dead_letter_dir: PathBuf::from("var/dead-letter"),
            durability: Durability::Memory,
            spool_dir: PathBuf::from("var/spool"),
            spool_max_bytes: 1024 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ForwardedHeader {
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=...`.
    #[serde(rename = "forwarded")]
    Forwarded,
}

/// Upper bounds that keep a typo from reserving gigabytes at start-up.
pub const MAX_BATCH_ROWS: usize = 1_000_000;
pub const MAX_QUEUE_ROWS: usize = 10_000_000;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    pub listen: SocketAddr,
    /// Browser origins allowed to call the Stats API (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// ClickHouse's `max_execution_time` for every report query.
    pub max_query_seconds: u32,
    /// ClickHouse's `max_memory_usage` for every report query, in MiB.
    pub max_query_memory_mib: u32,
    /// Materialize visits and read them in reports (see the README).
    pub rollups: bool,
    /// How often the materializer runs, in seconds.
    pub rollup_every_seconds: u32,
    /// The URL editors open the dashboard under: https there marks the
    /// session cookie Secure, and its path scopes the cookie.
    pub public_url: Option<String>,
    /// Keys the dashboard's session cookies. Without it a random key is made
    /// at start-up, so a restart signs everyone out and several instances
    /// do not accept each other's sessions.
    pub session_secret: Option<String>,
    /// How long a dashboard session lasts, in hours.
    pub session_hours: u32,
}

/// The session secret is never printed.
impl std::fmt::Debug for QueryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryConfig")
            .field("listen", &self.listen)
            .field("cors_origins", &self.cors_origins)
            .field("max_query_seconds", &self.max_query_seconds)
            .field("max_query_memory_mib", &self.max_query_memory_mib)
            .field("rollups", &self.rollups)
            .field("rollup_every_seconds", &self.rollup_every_seconds)
            .field("public_url", &self.public_url)
            .field(
                "session_secret",
                &self.session_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("session_hours", &self.session_hours)
            .finish()
    }
}

/// The shortest `[query] session_secret` accepted: guessing it must be as
/// hard as guessing a random 128-bit key.
pub const MIN_SESSION_SECRET_LEN: usize = 32;

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8081".parse().expect("valid literal"),
            cors_origins: Vec::new(),
            max_query_seconds: 20,
            max_query_memory_mib: 2048,
            rollups: true,
            rollup_every_seconds: 30,
            public_url: None,
            session_secret: None,
            session_hours: 12,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub domain: String,
    #[serde(default = "yes")]
    pub respect_dnt: bool,
    #[serde(default = "yes")]
    pub respect_gpc: bool,
    /// Page hostnames accepted for this site (`example.com`, `*.example.com`);
    /// empty accepts any. Others are dropped as `hostname`.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Glob patterns of paths not to record (`/admin/**`), dropped as `excluded`.
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    /// IANA time zone that reports of this site use for days and hours.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Whole UTC days a stored event is kept after its own day; older ones
    /// are erased by the retention job (see [`crate::retention`]).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

/// About 26 months: a year-on-year comparison of the previous year still works.
pub const DEFAULT_RETENTION_DAYS: u32 = 790;

/// Longer than any Unix day number a `Date` can hold, so a typo is caught.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

fn default_retention_days() -> u32 {
    DEFAULT_RETENTION_DAYS
}

impl SiteConfig {
    /// A site with the defaults, for tests and generated configs.
    pub fn new(domain: &str) -> Self {
        Self {
            domain: domain.into(),
            respect_dnt: true,
            respect_gpc: true,
            hostnames: Vec::new(),
            exclude_paths: Vec::new(),
            timezone: utc(),
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditorConfig {
    pub name: String,
    /// Hex of sha256(bearer token): the token itself is never in the file.
    pub token_sha256: String,
    pub role: Role,
    /// Domains this editor may read, or `["*"]`.
    pub sites: Vec<String>,
}

impl Config {
    /// Reads, applies environment overrides and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })?;
        config.apply_env(|name| std::env::var(name).ok());
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text without environment overrides or validation.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })
    }

    /// `CLICKHOUSE_URL` and `CLICKHOUSE_DATABASE` win over the file.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(url) = var(ENV_CLICKHOUSE_URL).filter(|v| !v.is_empty()) {
            self.clickhouse.url = url;
        }
        if let Some(db) = var(ENV_CLICKHOUSE_DATABASE).filter(|v| !v.is_empty()) {
            self.clickhouse.database = db;
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_clickhouse()?;
        self.validate_collector()?;
        self.validate_sites()?;
        self.validate_query()?;
        self.validate_editors()
    }

    pub fn site(&self, domain: &str) -> Option<&SiteConfig> {
        self.site.iter().find(|s| s.domain == domain)
    }

    fn validate_clickhouse(&self) -> Result<(), ConfigError> {
        let url = &self.clickhouse.url;
        if url.starts_with("https://") {
            // No TLS stack is built in; see the README's ClickHouse section.
            return invalid(
                "clickhouse.url",
                "https is not supported; reach ClickHouse over a private network or a local TLS proxy",
            );
        }
        if !url.starts_with("http://") {
            return invalid("clickhouse.url", "must start with http://");
        }
        if !is_identifier(&self.clickhouse.database) {
            return invalid(
                "clickhouse.database",
                "must be letters, digits and underscores, not starting with a digit",
            );
        }
        self.validate_cluster()
    }

    fn validate_cluster(&self) -> Result<(), ConfigError> {
        let c = &self.clickhouse;
        match &c.cluster {
            Some(name) if !is_identifier(name) => {
                return invalid(
                    "clickhouse.cluster",
                    "must be letters, digits and underscores, not starting with a digit",
                )
            }
            None if !c.hosts.is_empty() || c.replicated => {
                let key = if c.replicated {
                    "clickhouse.replicated"
                } else {
                    "clickhouse.hosts"
                };
                return invalid(key, "needs clickhouse.cluster");
            }
            _ => {}
        }
        for (i, host) in c.hosts.iter().enumerate() {
            if !host.starts_with("http://") || host.contains(char::is_whitespace) {
                return invalid(&format!("clickhouse.hosts[{i}]"), "must be an http:// URL");
            }
        }
        Ok(())
    }

    fn validate_collector(&self) -> Result<(), ConfigError> {
        let c = &self.collector;
        if !is_cookie_name(&c.optout_cookie) {
            return invalid("collector.optout_cookie", "must be a valid cookie name");
        }
        if !(1..=MAX_BATCH_ROWS).contains(&c.batch_max_rows) {
            return invalid(
                "collector.batch_max_rows",
                &format!("must be between 1 and {MAX_BATCH_ROWS}"),
            );
        }
        if c.batch_max_age_ms == 0 {
            return invalid("collector.batch_max_age_ms", "must be at least 1");
        }
        if !(c.batch_max_rows..=MAX_QUEUE_ROWS).contains(&c.queue_capacity) {
            return invalid(
                "collector.queue_capacity",
                &format!("must be between collector.batch_max_rows and {MAX_QUEUE_ROWS}"),
            );
        }
        let positive = [
            ("collector.queue_max_bytes", c.queue_max_bytes as u64),
            ("collector.max_connections", c.max_connections as u64),
            ("collector.header_read_timeout_ms", c.header_read_timeout_ms),
            ("collector.body_read_timeout_ms", c.body_read_timeout_ms),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return invalid(key, "must be at least 1");
        }
        if let Some(domain) = &c.optout_cookie_domain {
            if !is_domain(domain) {
                return invalid(
                    "collector.optout_cookie_domain",
                    "must be a lowercase host name such as example.com",
                );
            }
        }
        if let Some(url) = &c.public_url {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || url.contains(char::is_whitespace) {
                return invalid("collector.public_url", "must be an http:// or https:// URL");
            }
        }
        Ok(())
    }

    fn validate_sites(&self) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for (i, site) in self.site.iter().enumerate() {
            let key = format!("site[{i}].domain");
            if !is_domain(&site.domain) {
                return invalid(&key, "must be a lowercase host name such as example.com");
            }
            if !seen.insert(&site.domain) {
                return invalid(&key, "is listed twice");
            }
            for (j, host) in site.hostnames.iter().enumerate() {
                if !is_domain(host.strip_prefix("*.").unwrap_or(host)) {
                    return invalid(
                        &format!("site[{i}].hostnames[{j}]"),
                        "must be a lowercase host name, optionally starting with `*.`",
                    );
                }
            }
            for (j, glob) in site.exclude_paths.iter().enumerate() {
                if let Err(e) = globset::Glob::new(glob) {
                    return invalid(&format!("site[{i}].exclude_paths[{j}]"), &e.to_string());
                }
            }
            if !(1..=MAX_RETENTION_DAYS).contains(&site.retention_days) {
                return invalid(
                    &format!("site[{i}].retention_days"),
                    &format!("must be between 1 and {MAX_RETENTION_DAYS}"),
                );
            }
            if site.timezone.parse::<chrono_tz::Tz>().is_err() {
                return invalid(
                    &format!("site[{i}].timezone"),
                    "must be an IANA time zone such as Europe/Berlin",
                );
            }
        }
        Ok(())
    }

    fn validate_query(&self) -> Result<(), ConfigError> {
        let q = &self.query;
        if q.max_query_seconds == 0 {
            return invalid("query.max_query_seconds", "must be at least 1");
        }
        if q.rollup_every_seconds == 0 {
            return invalid("query.rollup_every_seconds", "must be at least 1");
        }
        if q.max_query_memory_mib < 64 {
            return invalid("query.max_query_memory_mib", "must be at least 64");
        }
        for (i, origin) in q.cors_origins.iter().enumerate() {
            if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || origin.ends_with('/')
            {
                return invalid(
                    &format!("query.cors_origins[{i}]"),
                    "must be an origin such as https://example.com (scheme and host, no path)",
                );
            }
        }
        if let Some(url) = &q.public_url {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || url.contains(|c: char| c.is_whitespace() || c == ';' || c == ',') {
                return invalid("query.public_url", "must be an http:// or https:// URL");
            }
        }
        if q.session_secret
            .as_ref()
            .is_some_and(|s| s.chars().count() < MIN_SESSION_SECRET_LEN)
        {
            return invalid(
                "query.session_secret",
                &format!("must be at least {MIN_SESSION_SECRET_LEN} characters (say, `openssl rand -hex 32`)"),
            );
        }
        if !(1..=24 * 90).contains(&q.session_hours) {
            return invalid(
                "query.session_hours",
                "must be between 1 and 2160 (90 days)",
            );
        }
        Ok(())
    }

    fn validate_editors(&self) -> Result<(), ConfigError> {
        for (i, editor) in self.editor.iter().enumerate() {
            let t = &editor.token_sha256;
            if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                return invalid(
                    &format!("editor[{i}].token_sha256"),
                    "must be 64 hex digits (sha256 of the token)",
                );
            }
            for site in &editor.sites {
                if site != "*" && self.site(site).is_none() {
                    return invalid(
                        &format!("editor[{i}].sites"),
                        &format!("`{site}` is not a configured [[site]]"),
                    );
                }
            }
        }
        Ok(())
    }
}

fn invalid<T>(key: &str, message: &str) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    })
}

/// A ClickHouse identifier we can splice into SQL without quoting.
pub fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_cookie_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b))
}

/// A lowercase host name such as `example.com`: what a `[[site]] domain` may be.
pub fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with('.')
        && !s.ends_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[clickhouse]
url = "http://127.0.0.1:8123"
database = "analytics"

[collector]
listen = "127.0.0.1:8080"
trusted_proxies = ["127.0.0.1/32", "::1/128"]
optout_cookie = "analytics_optout"

[query]
listen = "127.0.0.1:8081"

[[site]]
domain = "example.com"
respect_dnt = true
respect_gpc = true

[[site]]
domain = "blog.example.org"
respect_dnt = false
retention_days = 30

[[editor]]
name = "alice"
token_sha256 = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
role = "viewer"
sites = ["example.com"]
"#;

    #[test]
    fn sample_from_the_docs_parses_with_defaults() {
        let c = Config::parse(SAMPLE).unwrap();
        c.validate().unwrap();
        assert_eq!(c.site.len(), 2);
        assert!(c.site("example.com").unwrap().respect_gpc);
        assert!(!c.site("blog.example.org").unwrap().respect_dnt);
        assert!(c.site("blog.example.org").unwrap().respect_gpc);
        assert_eq!(c.site("example.com").unwrap().retention_days, 790);
        assert_eq!(c.site("blog.example.org").unwrap().retention_days, 30);
        assert_eq!(c.editor[0].role, Role::Viewer);
        assert_eq!(c.collector.batch_max_rows, 10_000);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::parse("[collector]\nlisten_addr = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }

    #[test]
    fn bad_cidr_is_named() {
        let err = Config::parse("[collector]\ntrusted_proxies = [\"10.0.0.0/99\"]\n").unwrap_err();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            ("[clickhouse]\ndatabase = \"a-b\"\n", "clickhouse.database"),
            ("[clickhouse]\nurl = \"localhost:8123\"\n", "clickhouse.url"),
            ("[clickhouse]\nurl = \"https://ch:8443\"\n", "clickhouse.url"),
            ("[clickhouse]\ncluster = \"a-b\"\n", "clickhouse.cluster"),
            ("[clickhouse]\nreplicated = true\n", "clickhouse.replicated"),
            ("[clickhouse]\nhosts = [\"http://a:8123\"]\n", "clickhouse.hosts"),
            (
                "[clickhouse]\ncluster = \"c\"\nhosts = [\"a:8123\"]\n",
                "clickhouse.hosts[0]",
            ),
            ("[collector]\nbatch_max_rows = 2000000\n", "collector.batch_max_rows"),
            (
                "[[site]]\ndomain = \"a.example\"\ntimezone = \"Mars/Base\"\n",
                "site[0].timezone",
            ),
            ("[query]\nmax_query_seconds = 0\n", "query.max_query_seconds"),
            (
                "[[site]]\ndomain = \"a.com\"\nretention_days = 0\n",
                "site[0].retention_days",
            ),
            (
                "[query]\ncors_origins = [\"https://a.example/\"]\n",
                "query.cors_origins[0]",
            ),
            (
                "[collector]\nqueue_capacity = 100000000000\n",
                "collector.queue_capacity",
            ),
            (
                "[collector]\noptout_cookie_domain = \".example.com;x\"\n",
                "collector.optout_cookie_domain",
            ),
            ("[collector]\npublic_url = \"stats\"\n", "collector.public_url"),
            ("[query]\npublic_url = \"stats\"\n", "query.public_url"),
            ("[query]\nsession_secret = \"short\"\n", "query.session_secret"),
            ("[query]\nsession_hours = 0\n", "query.session_hours"),
            (
                "[[site]]\ndomain = \"a.com\"\nhostnames = [\"a.com\", \"*.A.com\"]\n",
                "site[0].hostnames[1]",
            ),
            (
                "[[site]]\ndomain = \"a.com\"\nexclude_paths = [\"/admin/[\"]\n",
                "site[0].exclude_paths[0]",
            ),
            ("[collector]\noptout_cookie = \"a b\"\n", "collector.optout_cookie"),
            ("[[site]]\ndomain = \"Example.com\"\n", "site[0].domain"),
            (
                "[[site]]\ndomain = \"a.com\"\n[[site]]\ndomain = \"a.com\"\n",
                "site[1].domain",
            ),
            (
                "[[editor]]\nname = \"a\"\ntoken_sha256 = \"abc\"\nrole = \"admin\"\nsites = [\"*\"]\n",
                "editor[0].token_sha256",
            ),
        ];
        for (text, key) in cases {
            let err = Config::parse(text).unwrap().validate().unwrap_err();
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn editor_site_must_exist() {
        let text = SAMPLE.replace("sites = [\"example.com\"]", "sites = [\"nope.com\"]");
        let err = Config::parse(&text).unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("nope.com"), "{err}");
    }

    #[test]
    fn forwarded_header_choice() {
        let c = Config::parse("[collector]\nforwarded_header = \"forwarded\"\n").unwrap();
        assert_eq!(c.collector.forwarded_header, ForwardedHeader::Forwarded);
        assert!(Config::parse("[collector]\nforwarded_header = \"x-real-ip\"\n").is_err());
    }

    #[test]
    fn password_is_not_printed() {
        let c = Config::parse("[clickhouse]\npassword = \"hunter2\"\n").unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        let secret = "s".repeat(40);
        let c = Config::parse(&format!("[query]\nsession_secret = \"{secret}\"\n")).unwrap();
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains(&secret));
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = Config::parse(SAMPLE).unwrap();
        c.apply_env(|name| match name {
            ENV_CLICKHOUSE_URL => Some("http://127.0.0.1:9999".into()),
            ENV_CLICKHOUSE_DATABASE => Some("other".into()),
            _ => None,
        });
        assert_eq!(c.clickhouse.url, "http://127.0.0.1:9999");
        assert_eq!(c.clickhouse.database, "other");
    }
}
