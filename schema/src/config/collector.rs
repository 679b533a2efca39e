//! `[collector]`: the ingest endpoint's listeners and limits, batching and
//! durability, proxies and the opt-out cookie, and the enrichment files.

use super::{is_domain, Problems};
use ipnet::IpNet;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    pub listen: SocketAddr,
    /// Where `/metrics` and `/readyz` are served instead of `listen`, so
    /// they can stay off the public port; unset, `listen` serves them.
    pub admin_listen: Option<SocketAddr>,
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

/// What `202` promises; see docs/delivery.md.
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
            admin_listen: None,
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

impl CollectorConfig {
    pub(super) fn validate(&self, p: &mut Problems) {
        let c = self;
        if !is_cookie_name(&c.optout_cookie) {
            p.add("collector.optout_cookie", "must be a valid cookie name");
        }
        if !(1..=MAX_BATCH_ROWS).contains(&c.batch_max_rows) {
            p.add(
                "collector.batch_max_rows",
                &format!("must be between 1 and {MAX_BATCH_ROWS}"),
            );
        }
        if c.batch_max_age_ms == 0 {
            p.add("collector.batch_max_age_ms", "must be at least 1");
        }
        if !(c.batch_max_rows..=MAX_QUEUE_ROWS).contains(&c.queue_capacity) {
            p.add(
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
        for (key, value) in positive {
            if value == 0 {
                p.add(key, "must be at least 1");
            }
        }
        if let Some(domain) = &c.optout_cookie_domain {
            if !is_domain(domain) {
                p.add(
                    "collector.optout_cookie_domain",
                    "must be a lowercase host name such as example.com",
                );
            }
        }
        if c.admin_listen
            .is_some_and(|admin| collides(admin, c.listen))
        {
            p.add(
                "collector.admin_listen",
                "must be another port than collector.listen",
            );
        }
        if let Some(url) = &c.public_url {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || url.contains(char::is_whitespace) {
                p.add("collector.public_url", "must be an http:// or https:// URL");
            }
        }
    }
}

/// Two addresses one process cannot both bind: the same port (not 0,
/// which picks a free one) on the same address, or on a wildcard address.
fn collides(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.port() != 0
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

fn is_cookie_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::super::{tests::assert_invalid, Config};
    use super::ForwardedHeader;

    #[test]
    fn invalid_values_name_their_key() {
        assert_invalid(&[
            (
                "[collector]\nbatch_max_rows = 2000000\n",
                "collector.batch_max_rows",
            ),
            (
                "[collector]\nqueue_capacity = 100000000000\n",
                "collector.queue_capacity",
            ),
            (
                "[collector]\noptout_cookie_domain = \".example.com;x\"\n",
                "collector.optout_cookie_domain",
            ),
            (
                "[collector]\npublic_url = \"stats\"\n",
                "collector.public_url",
            ),
            (
                "[collector]\noptout_cookie = \"a b\"\n",
                "collector.optout_cookie",
            ),
        ]);
    }

    #[test]
    fn admin_listen_is_optional_and_needs_its_own_port() {
        assert_eq!(Config::parse("").unwrap().collector.admin_listen, None);
        let c = Config::parse("[collector]\nadmin_listen = \"127.0.0.1:9090\"\n").unwrap();
        c.validate().unwrap();
        assert_eq!(
            c.collector.admin_listen,
            Some("127.0.0.1:9090".parse().unwrap())
        );
        let other_host =
            "[collector]\nlisten = \"10.0.0.1:8080\"\nadmin_listen = \"127.0.0.1:8080\"\n";
        Config::parse(other_host).unwrap().validate().unwrap();
        let both_free = "[collector]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n";
        Config::parse(both_free).unwrap().validate().unwrap();
        assert_invalid(&[
            (
                "[collector]\nlisten = \"127.0.0.1:8080\"\nadmin_listen = \"127.0.0.1:8080\"\n",
                "collector.admin_listen",
            ),
            (
                "[collector]\nlisten = \"0.0.0.0:8080\"\nadmin_listen = \"127.0.0.1:8080\"\n",
                "collector.admin_listen",
            ),
        ]);
        let err = Config::parse("[collector]\nadmin_listen = \"localhost\"\n").unwrap_err();
        assert!(err.to_string().contains("admin_listen"), "{err}");
    }

    #[test]
    fn bad_cidr_is_named() {
        let err = Config::parse("[collector]\ntrusted_proxies = [\"10.0.0.0/99\"]\n").unwrap_err();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
    }

    #[test]
    fn forwarded_header_choice() {
        let c = Config::parse("[collector]\nforwarded_header = \"forwarded\"\n").unwrap();
        assert_eq!(c.collector.forwarded_header, ForwardedHeader::Forwarded);
        assert!(Config::parse("[collector]\nforwarded_header = \"x-real-ip\"\n").is_err());
    }
}
