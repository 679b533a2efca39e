//! `[query]`: the reporting service's listener and its connection limits,
//! CORS, per-report limits, rollups, and the dashboard's sessions.

use super::Problems;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    pub listen: SocketAddr,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Deadline for a request's headers, so slow clients cannot hold sockets.
    pub header_read_timeout_ms: u64,
    /// Deadline for a request's body.
    pub body_read_timeout_ms: u64,
    /// Browser origins allowed to call the Stats API (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// ClickHouse's `max_execution_time` for every report query.
    pub max_query_seconds: u32,
    /// ClickHouse's `max_memory_usage` for every report query, in MiB.
    pub max_query_memory_mib: u32,
    /// ClickHouse's `max_rows_to_read` for every report query.
    pub max_query_rows_to_read: u64,
    /// Reports running at once, in all; more are answered 429.
    pub max_concurrent_reports: usize,
    /// Reports one editor may have running at once; more are answered 429.
    pub max_concurrent_reports_per_editor: usize,
    /// Materialize visits and read them in reports (see docs/stats-api.md).
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
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout_ms", &self.header_read_timeout_ms)
            .field("body_read_timeout_ms", &self.body_read_timeout_ms)
            .field("cors_origins", &self.cors_origins)
            .field("max_query_seconds", &self.max_query_seconds)
            .field("max_query_memory_mib", &self.max_query_memory_mib)
            .field("max_query_rows_to_read", &self.max_query_rows_to_read)
            .field("max_concurrent_reports", &self.max_concurrent_reports)
            .field(
                "max_concurrent_reports_per_editor",
                &self.max_concurrent_reports_per_editor,
            )
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
            max_connections: 1_000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            cors_origins: Vec::new(),
            max_query_seconds: 20,
            max_query_memory_mib: 2048,
            max_query_rows_to_read: 1_000_000_000,
            max_concurrent_reports: 16,
            max_concurrent_reports_per_editor: 6,
            rollups: true,
            rollup_every_seconds: 30,
            public_url: None,
            session_secret: None,
            session_hours: 12,
        }
    }
}

impl QueryConfig {
    pub(super) fn validate(&self, p: &mut Problems) {
        let q = self;
        let positive = [
            ("query.max_connections", q.max_connections as u64),
            ("query.header_read_timeout_ms", q.header_read_timeout_ms),
            ("query.body_read_timeout_ms", q.body_read_timeout_ms),
            ("query.max_query_seconds", u64::from(q.max_query_seconds)),
            ("query.max_query_rows_to_read", q.max_query_rows_to_read),
            (
                "query.max_concurrent_reports",
                q.max_concurrent_reports as u64,
            ),
            (
                "query.max_concurrent_reports_per_editor",
                q.max_concurrent_reports_per_editor as u64,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                p.add(key, "must be at least 1");
            }
        }
        if q.max_concurrent_reports_per_editor > q.max_concurrent_reports {
            p.add(
                "query.max_concurrent_reports_per_editor",
                "must not be more than query.max_concurrent_reports",
            );
        }
        if q.rollup_every_seconds == 0 {
            p.add("query.rollup_every_seconds", "must be at least 1");
        }
        if q.max_query_memory_mib < 64 {
            p.add("query.max_query_memory_mib", "must be at least 64");
        }
        for (i, origin) in q.cors_origins.iter().enumerate() {
            if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || origin.ends_with('/')
            {
                p.add(
                    &format!("query.cors_origins[{i}]"),
                    "must be an origin such as https://example.com (scheme and host, no path)",
                );
            }
        }
        if let Some(url) = &q.public_url {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || url.contains(|c: char| c.is_whitespace() || c == ';' || c == ',') {
                p.add("query.public_url", "must be an http:// or https:// URL");
            }
        }
        if q.session_secret
            .as_ref()
            .is_some_and(|s| s.chars().count() < MIN_SESSION_SECRET_LEN)
        {
            p.add(
                "query.session_secret",
                &format!("must be at least {MIN_SESSION_SECRET_LEN} characters (say, `openssl rand -hex 32`)"),
            );
        }
        if !(1..=24 * 90).contains(&q.session_hours) {
            p.add(
                "query.session_hours",
                "must be between 1 and 2160 (90 days)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{tests::assert_invalid, Config};

    #[test]
    fn invalid_values_name_their_key() {
        assert_invalid(&[
            (
                "[query]\nmax_query_seconds = 0\n",
                "query.max_query_seconds",
            ),
            ("[query]\nmax_connections = 0\n", "query.max_connections"),
            (
                "[query]\nmax_query_rows_to_read = 0\n",
                "query.max_query_rows_to_read",
            ),
            (
                "[query]\nmax_concurrent_reports = 0\n",
                "query.max_concurrent_reports",
            ),
            (
                "[query]\nmax_concurrent_reports = 4\nmax_concurrent_reports_per_editor = 5\n",
                "query.max_concurrent_reports_per_editor",
            ),
            (
                "[query]\nheader_read_timeout_ms = 0\n",
                "query.header_read_timeout_ms",
            ),
            (
                "[query]\nbody_read_timeout_ms = 0\n",
                "query.body_read_timeout_ms",
            ),
            (
                "[query]\ncors_origins = [\"https://a.example/\"]\n",
                "query.cors_origins[0]",
            ),
            ("[query]\npublic_url = \"stats\"\n", "query.public_url"),
            (
                "[query]\nsession_secret = \"short\"\n",
                "query.session_secret",
            ),
            ("[query]\nsession_hours = 0\n", "query.session_hours"),
        ]);
    }

    #[test]
    fn session_secret_is_not_printed() {
        let secret = "s".repeat(40);
        let c = Config::parse(&format!("[query]\nsession_secret = \"{secret}\"\n")).unwrap();
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains(&secret));
    }
}
