//! `schema doctor --config FILE`: in plain words, what each service will do
//! with a config, what ClickHouse and the disks say, and what looks wrong.
//!
//! Everything here only reads: the config, file times and disk space, a few
//! `SELECT`s, and the collector's `/metrics` if it is running. Checks that
//! cannot run (ClickHouse down, collector not started) say so instead of
//! failing the rest.

use crate::config::{Config, Durability, SiteConfig};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A GeoIP file older than this has moved on: networks change owners.
pub const GEOIP_STALE_AFTER: Duration = Duration::from_secs(60 * 86_400);

/// The collector metric that counts forwarding headers from untrusted peers.
const FORWARDED_IGNORED: &str = "analytics_forwarded_header_ignored_total";

/// What the doctor found: lines to print, and the warnings among them.
#[derive(Debug, Default)]
pub struct Report {
    pub text: String,
    pub warnings: Vec<String>,
}

impl Report {
    fn line(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.text, "{}", text.as_ref());
    }

    fn warn(&mut self, text: String) {
        self.warnings.push(text);
    }
}

/// The whole check; `now` is the clock the file ages are measured against.
pub async fn examine(config: &Config, now: SystemTime) -> Report {
    let mut report = Report::default();
    describe_sites(config, &mut report);
    describe_collector(config, now, &mut report);
    describe_query(config, &mut report);
    check_optout_domain(config, &mut report);
    describe_storage(config, day_number(now), &mut report).await;
    check_forwarding(config, &mut report).await;
    report.line("");
    if report.warnings.is_empty() {
        report.line("Nothing looks wrong.");
    } else {
        report.line(format!("{} thing(s) look wrong:", report.warnings.len()));
        for warning in report.warnings.clone() {
            report.line(format!("  ! {warning}"));
        }
    }
    report
}

fn describe_sites(config: &Config, report: &mut Report) {
    report.line(format!("Sites ({}):", config.site.len()));
    for site in &config.site {
        report.line(format!("  {}: {}", site.domain, site_summary(site)));
    }
    if config.site.is_empty() {
        report.warn("no [[site]] is configured: every beacon is dropped as unknown".into());
    }
    if config.editor.is_empty() {
        report.warn("no [[editor]] is configured: nobody can read reports".into());
    }
}

fn site_summary(site: &SiteConfig) -> String {
    let honour = |yes: bool, what: &str| {
        if yes {
            format!("{what} honoured")
        } else {
            format!("{what} ignored")
        }
    };
    let threshold = match site.min_visitors {
        Some(k) => format!("counts under {k} visitors hidden"),
        None => "no visitor threshold".into(),
    };
    format!(
        "{}, {}, opt-out cookie honoured; kept {} days (about {} months); reports in {}, {threshold}",
        honour(site.respect_dnt, "Do-Not-Track"),
        honour(site.respect_gpc, "Global Privacy Control"),
        site.retention_days,
        (f64::from(site.retention_days) / 30.44).round(),
        site.timezone
    )
}

fn describe_collector(config: &Config, now: SystemTime, report: &mut Report) {
    let c = &config.collector;
    report.line(format!("Collector: listens on {}", c.listen));
    report.line(match c.durability {
        Durability::Memory => {
            "  durability memory: 202 once queued in memory; a crash loses what is queued".into()
        }
        Durability::Spool => format!(
            "  durability spool: 202 once fsynced to {} (survives kill -9)",
            c.spool_dir.display()
        ),
    });
    let proxies: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
    report.line(format!(
        "  forwarding headers believed from: {}",
        if proxies.is_empty() {
            "nobody (no trusted_proxies)".into()
        } else {
            proxies.join(", ")
        }
    ));
    match &c.geoip {
        None => report.line("  GeoIP: none configured, so location columns stay empty"),
        Some(path) => describe_geoip(path, now, report),
    }
    if c.durability == Durability::Spool {
        describe_disk(&c.spool_dir, "spool", report);
    }
    describe_disk(&c.dead_letter_dir, "dead letters", report);
}

fn describe_geoip(path: &Path, now: SystemTime, report: &mut Report) {
    let modified = std::fs::metadata(path).and_then(|m| m.modified());
    match modified {
        Err(e) => report.warn(format!("GeoIP file {}: {e}", path.display())),
        Ok(modified) => {
            let age = now.duration_since(modified).unwrap_or_default();
            let days = age.as_secs() / 86_400;
            report.line(format!(
                "  GeoIP: {} (changed {days} days ago)",
                path.display()
            ));
            if age > GEOIP_STALE_AFTER {
                report.warn(format!(
                    "the GeoIP file {} is {days} days old: locations drift as networks change hands; replace it (the collector reloads it by itself)",
                    path.display()
                ));
            }
        }
    }
}

/// Free space where `dir` lives (or would live), from `df`.
fn describe_disk(dir: &Path, what: &str, report: &mut Report) {
    let existing = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("."));
    let output = std::process::Command::new("df")
        .args(["-Pk"])
        .arg(existing)
        .output();
    let free_kib = output.ok().and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.lines()
            .nth(1)?
            .split_whitespace()
            .nth(3)?
            .parse::<u64>()
            .ok()
    });
    match free_kib {
        Some(kib) => report.line(format!(
            "  disk free for {what} ({}): {:.1} GiB",
            dir.display(),
            kib as f64 / 1024.0 / 1024.0
        )),
        None => report.line(format!(
            "  disk free for {what} ({}): unknown",
            dir.display()
        )),
    }
}

fn describe_query(config: &Config, report: &mut Report) {
    let q = &config.query;
    report.line(format!("Query service: listens on {}", q.listen));
    report.line(format!(
        "  reports: at most {} s and {} MiB each; rollups {}",
        q.max_query_seconds,
        q.max_query_memory_mib,
        if q.rollups { "on" } else { "off" }
    ));
    report.line(match q.session_secret {
        Some(_) => "  dashboard sessions: keyed by [query] session_secret".to_string(),
        None => {
            "  dashboard sessions: a key made at start-up (a restart signs everyone out)".into()
        }
    });
}

/// The opt-out cookie's domain must cover the sites, or the collector's
/// cookie is one the sites' pages never see.
fn check_optout_domain(config: &Config, report: &mut Report) {
    let Some(domain) = &config.collector.optout_cookie_domain else {
        return;
    };
    let covers = |site: &str| site == domain || site.ends_with(&format!(".{domain}"));
    if !config.site.iter().any(|s| covers(&s.domain)) {
        report.warn(format!(
            "[collector] optout_cookie_domain `{domain}` covers none of the sites: their pages cannot see the opt-out cookie"
        ));
    }
}

/// Days since the Unix epoch, UTC.
fn day_number(now: SystemTime) -> u32 {
    let seconds = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(seconds / 86_400).unwrap_or(u32::MAX)
}

async fn describe_storage(config: &Config, today: u32, report: &mut Report) {
    let db = match crate::connect(&config.clickhouse).await {
        Ok(db) => db,
        Err(e) => {
            report.warn(format!(
                "ClickHouse at {} does not answer: {e}",
                config.clickhouse.url
            ));
            return;
        }
    };
    let version = db.version();
    report.line(format!(
        "ClickHouse: {} version {}.{}, database `{}`",
        config.clickhouse.url,
        version.0,
        version.1,
        db.database()
    ));
    let latest = crate::migrate::MIGRATIONS.last().map_or(0, |m| m.version);
    match crate::migrate::applied(&db).await {
        Ok(applied) if applied.last() == Some(&latest) => {
            report.line(format!(
                "  schema: migrated to version {latest}, the latest"
            ));
        }
        Ok(applied) => report.warn(format!(
            "the schema is at version {:?} of {latest}: run `schema migrate`",
            applied.last()
        )),
        Err(e) => report.warn(format!("the schema could not be read: {e}")),
    }
    describe_salts(&db, today, report).await;
    describe_server_disks(&db, report).await;
}

/// Salt days present: today's and yesterday's at most, or the erasure is
/// not running.
async fn describe_salts(db: &crate::Db, today: u32, report: &mut Report) {
    match db
        .fetch_tsv("SELECT DISTINCT toUInt32(day) FROM salts ORDER BY 1")
        .await
    {
        Ok(text) => {
            let days: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
            let names: Vec<String> = days.iter().map(|&d| day_name(d, today)).collect();
            report.line(format!(
                "  salts: {}",
                if names.is_empty() {
                    "none yet (the collector makes today's)".into()
                } else {
                    names.join(", ")
                }
            ));
            if days.iter().any(|&d| d + 1 < today) {
                report.warn(
                    "a salt older than yesterday exists: no collector has rotated salts today; start one, or run `schema migrate`, which erases them".into(),
                );
            }
        }
        Err(e) => report.warn(format!("the salts could not be read: {e}")),
    }
}

fn day_name(day: u32, today: u32) -> String {
    match today.checked_sub(day) {
        Some(0) => "today".into(),
        Some(1) => "yesterday".into(),
        Some(n) => format!("{n} days ago"),
        None => "a future day".into(),
    }
}

/// ClickHouse reports its disks from 19.15 on; older servers cannot say.
async fn describe_server_disks(db: &crate::Db, report: &mut Report) {
    let sql = "SELECT name, path, free_space FROM system.disks ORDER BY name";
    match db.fetch_rows(sql).await {
        Ok(rows) => {
            for row in rows {
                let free: f64 = row.get(2).and_then(|f| f.parse().ok()).unwrap_or(0.0);
                report.line(format!(
                    "  ClickHouse disk {} ({}): {:.1} GiB free",
                    row[0],
                    row.get(1).map_or("", String::as_str),
                    free / 1024f64.powi(3)
                ));
            }
        }
        Err(_) => report.line(
            "  ClickHouse disks: this server does not report them (before 19.15); check its data directory's disk",
        ),
    }
}

/// Reads the running collector's metrics for forwarding headers it had to
/// ignore: behind a proxy missing from `trusted_proxies`, every visitor
/// looks like the proxy.
async fn check_forwarding(config: &Config, report: &mut Report) {
    let c = &config.collector;
    // With `admin_listen`, the metrics are served there only.
    let mut addr = c.admin_listen.unwrap_or(c.listen);
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}/metrics");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build();
    let text = match client {
        Ok(client) => match client.get(&url).send().await {
            Ok(response) => response.text().await.ok(),
            Err(_) => None,
        },
        Err(_) => None,
    };
    let Some(text) = text else {
        report.line(format!(
            "Collector metrics: not reachable at {url} (is the collector running?)"
        ));
        return;
    };
    let ignored = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(FORWARDED_IGNORED)?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0);
    report.line(format!("Collector metrics: read from {url}"));
    if ignored > 0.0 {
        report.warn(format!(
            "{ignored} beacon(s) carried a forwarding header from a peer that is not in [collector] trusted_proxies: if the collector runs behind a reverse proxy, add the proxy's address there, or every visitor looks like the proxy"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opt_out_domain_must_cover_a_site() {
        let mut config = Config::parse(
            "[collector]\noptout_cookie_domain = \"example.com\"\n[[site]]\ndomain = \"blog.example.com\"\n",
        )
        .unwrap();
        let mut report = Report::default();
        check_optout_domain(&config, &mut report);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        config.collector.optout_cookie_domain = Some("example.org".into());
        check_optout_domain(&config, &mut report);
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].contains("example.org"));
        // A suffix that is not a whole label does not cover.
        config.collector.optout_cookie_domain = Some("ample.com".into());
        let mut report = Report::default();
        check_optout_domain(&config, &mut report);
        assert_eq!(report.warnings.len(), 1);
    }

    #[test]
    fn an_old_geoip_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        std::fs::write(&path, b"x").unwrap();
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        let mut report = Report::default();
        describe_geoip(
            &path,
            written + Duration::from_secs(59 * 86_400),
            &mut report,
        );
        assert!(report.warnings.is_empty());
        describe_geoip(
            &path,
            written + Duration::from_secs(61 * 86_400),
            &mut report,
        );
        assert_eq!(report.warnings.len(), 1);
        assert!(
            report.warnings[0].contains("61 days old"),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn salt_days_are_named_from_today() {
        assert_eq!(day_name(100, 100), "today");
        assert_eq!(day_name(99, 100), "yesterday");
        assert_eq!(day_name(97, 100), "3 days ago");
    }
}
