//! Demo data for `scripts/up --demo`: a month of a small site's traffic,
//! drawn from the same seeded mix as the load ([`crate::workload`]: its
//! browsers, referrers and campaigns), arranged into visits, and sent
//! through the collector's `POST /api/import`, so it takes the real
//! pipeline (bots, truncation, hashing, enrichment) like live traffic.
//!
//! The visitors' addresses fall in the networks of a tiny GeoIP database
//! that [`write_geoip`] writes, so the location reports fill in too. Both
//! are synthetic: the networks are not where their cities are.
//!
//! The same seed and the same last day give the same lines, so a second
//! run (after the site's data is deleted) gives the same totals.

use crate::geoip::{write_city_db, GeoEntry};
use crate::workload::{weighted, BROWSERS, CAMPAIGNS, REFERRERS};
use anyhow::Context;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::net::Ipv4Addr;
use std::path::Path;

const DAY: i64 = 86_400;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub seed: u64,
    /// The site's domain, as configured in `[[site]]`.
    pub site: String,
    /// Whole UTC days of traffic, ending the day before `today`.
    pub days: u32,
    /// Visitors on an ordinary weekday; weekends see fewer.
    pub visitors_per_day: u32,
    /// The current UTC day (days since the epoch): no event falls on it, so
    /// a run later the same day gives the same data.
    pub today: i64,
}

/// The site's pages, most visited first (drawn with a falling weight).
const PAGES: &[(&str, u32)] = &[
    ("/", 40),
    ("/blog", 14),
    ("/pricing", 12),
    ("/blog/leaving-google-analytics", 10),
    ("/docs", 8),
    ("/blog/privacy-first-analytics", 7),
    ("/docs/getting-started", 6),
    ("/about", 4),
    ("/blog/clickhouse-on-a-small-server", 4),
    ("/docs/tracker", 3),
    ("/docs/stats-api", 3),
    ("/changelog", 2),
    ("/contact", 2),
];

/// Where the demo's visitors are: country, ISO 3166-2 subdivision, city,
/// and a weight. Each gets a /12 of made-up addresses (see [`network`]).
const PLACES: &[(&str, &str, &str, u32)] = &[
    ("US", "CA", "San Francisco", 9),
    ("US", "NY", "New York", 9),
    ("US", "TX", "Austin", 5),
    ("DE", "BE", "Berlin", 9),
    ("DE", "BY", "Munich", 5),
    ("GB", "ENG", "London", 10),
    ("GB", "SCT", "Edinburgh", 3),
    ("FR", "IDF", "Paris", 7),
    ("NL", "NH", "Amsterdam", 5),
    ("SE", "AB", "Stockholm", 3),
    ("IN", "KA", "Bengaluru", 7),
    ("BR", "SP", "São Paulo", 5),
    ("JP", "13", "Tokyo", 5),
    ("CA", "ON", "Toronto", 4),
    ("AU", "NSW", "Sydney", 4),
];

/// Custom events, the page they happen on, their props, and how often a
/// visit to that page sends one.
const EVENTS: &[(&str, &str, &str, f64)] = &[
    (
        "Signup",
        "/pricing",
        r#"{"plan":"pro","method":"email"}"#,
        0.08,
    ),
    (
        "Signup",
        "/pricing",
        r#"{"plan":"free","method":"github"}"#,
        0.06,
    ),
    (
        "File Download",
        "/docs/getting-started",
        r#"{"url":"https://example.com/guide.pdf"}"#,
        0.15,
    ),
    (
        "Outbound Link: Click",
        "/docs",
        r#"{"url":"https://github.com/"}"#,
        0.10,
    ),
    (
        "Newsletter",
        "/blog/leaving-google-analytics",
        r#"{"author":"ana","position":"footer"}"#,
        0.07,
    ),
    (
        "Newsletter",
        "/blog/privacy-first-analytics",
        r#"{"author":"ben","position":"inline"}"#,
        0.07,
    ),
];

/// The first address of place `k`'s /12: `24.0.0.0/12`, `24.16.0.0/12`, ...
fn network(k: usize) -> Ipv4Addr {
    let k = u8::try_from(k).expect("fewer than 256 places");
    Ipv4Addr::new(24 + k / 16, (k % 16) * 16, 0, 0)
}

/// The tiny GeoIP database the demo's addresses are looked up in.
pub fn write_geoip(path: &Path) -> anyhow::Result<()> {
    let entries: Vec<GeoEntry> = PLACES
        .iter()
        .enumerate()
        .map(|(k, &(country, subdivision, city, _))| GeoEntry {
            network: format!("{}/12", network(k)).parse().expect("a network"),
            country,
            subdivision: Some(subdivision),
            city: Some(city),
        })
        .collect();
    write_city_db(path, &entries)
}

/// The days the demo covers, as the summary prints them:
/// `30 days, 2026-11-04 to 2026-12-03`.
pub fn span(config: &DemoConfig) -> String {
    let date = |day: i64| {
        DateTime::<Utc>::from_timestamp(day * DAY, 0)
            .map_or_else(String::new, |t| t.date_naive().to_string())
    };
    let first = config.today - i64::from(config.days);
    format!(
        "{} days, {} to {}",
        config.days,
        date(first),
        date(config.today - 1)
    )
}

/// The demo's events as import lines (JSON objects, one per event), in
/// time order.
pub fn lines(config: &DemoConfig) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut lines = Vec::new();
    let mut next_visitor = [0u32; PLACES.len()];
    let first = config.today - i64::from(config.days);
    for day in first..config.today {
        let progress = (day - first) as f64 / f64::from(config.days.max(1));
        for _ in 0..visitors_on(&mut rng, config, day, progress) {
            let place = weighted_index(&mut rng, PLACES.iter().map(|p| p.3));
            let address = visitor_address(place, next_visitor[place], &mut rng);
            next_visitor[place] += 1;
            let visitor = Visitor {
                ip: address.to_string(),
                user_agent: weighted(&mut rng, BROWSERS, total(BROWSERS)),
            };
            let start = day * DAY + time_of_day(&mut rng);
            visit(&mut rng, config, &visitor, start, &mut lines);
        }
    }
    lines.sort_by_key(|line| line["timestamp"].as_str().map(str::to_owned));
    lines
}

struct Visitor {
    ip: String,
    user_agent: &'static str,
}

/// Weekdays see the configured number, weekends about two thirds; the
/// month grows by about a third from start to end, give or take a tenth.
fn visitors_on(rng: &mut StdRng, config: &DemoConfig, day: i64, progress: f64) -> u32 {
    // 1970-01-01 was a Thursday: day 2 was a Saturday, day 3 a Sunday.
    let weekend = matches!(day.rem_euclid(7), 2 | 3);
    let base = f64::from(config.visitors_per_day) * if weekend { 0.65 } else { 1.0 };
    let trend = 0.85 + 0.3 * progress;
    let noise = rng.random_range(0.9..1.1);
    (base * trend * noise).round() as u32
}

/// Visitor `n` of place `k`: its own /24 within the place's /12, so each
/// stays a distinct visitor after the collector's truncation.
fn visitor_address(place: usize, n: u32, rng: &mut StdRng) -> Ipv4Addr {
    let base = u32::from(network(place));
    let network = (n % 4096) << 8;
    Ipv4Addr::from(base + network + rng.random_range(1..255))
}

/// Seconds into the day, busier in the (European and American) daytime.
fn time_of_day(rng: &mut StdRng) -> i64 {
    const HOURS: [u32; 24] = [
        2, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 9, 9, 10, 10, 10, 9, 8, 7, 6, 5, 4, 3,
    ];
    let hour = weighted_index(rng, HOURS.iter().copied()) as i64;
    hour * 3600 + rng.random_range(0..3600)
}

/// One visit: an entry from a source, one to six pages, and now and then a
/// custom event on the page it belongs to.
fn visit(
    rng: &mut StdRng,
    config: &DemoConfig,
    visitor: &Visitor,
    start: i64,
    out: &mut Vec<Value>,
) {
    let site = &config.site;
    let (referrer, tags) = entry_source(rng);
    let pages = 1 + (0..5).take_while(|_| rng.random_bool(0.55)).count();
    let width = screen_width(visitor.user_agent, rng);
    let mut at = start;
    let mut previous: Option<String> = None;
    for i in 0..pages {
        let path = weighted(rng, PAGES, total(PAGES));
        let query = if i == 0 { tags.as_str() } else { "" };
        let url = format!("https://{site}{path}{query}");
        let from = previous.clone().or_else(|| referrer.clone());
        out.push(line(
            visitor,
            at,
            json!({"n": "pageview", "u": url, "d": site, "r": from, "w": width}),
        ));
        for &(name, page, props, chance) in EVENTS {
            if page == path && rng.random_bool(chance) {
                let props: Value = serde_json::from_str(props).expect("valid props");
                at += rng.random_range(5..60);
                out.push(line(
                    visitor,
                    at,
                    json!({"n": name, "u": url, "d": site, "p": props}),
                ));
            }
        }
        previous = Some(url);
        at += rng.random_range(10..300);
    }
}

/// The visit's referrer and its landing page's query string: direct, a
/// referrer from the load's mix, or one of its tagged campaigns.
fn entry_source(rng: &mut StdRng) -> (Option<String>, String) {
    match rng.random_range(0..100) {
        0..35 => (None, String::new()),
        35..88 => (
            Some(weighted(rng, REFERRERS, total(REFERRERS)).to_owned()),
            String::new(),
        ),
        _ => {
            let (source, medium, campaign) = CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())];
            let tags = format!("?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}");
            (None, tags)
        }
    }
}

/// A width that fits the browser: phones, tablets, or desktops.
fn screen_width(user_agent: &str, rng: &mut StdRng) -> u16 {
    let widths: &[u16] = if user_agent.contains("iPad") {
        &[768, 820, 1024]
    } else if user_agent.contains("Mobile") {
        &[360, 390, 414]
    } else {
        &[1280, 1366, 1440, 1536, 1920, 2560]
    };
    widths[rng.random_range(0..widths.len())]
}

/// One import line: the beacon plus what a server-side event says for
/// itself.
fn line(visitor: &Visitor, at: i64, mut beacon: Value) -> Value {
    let timestamp = DateTime::<Utc>::from_timestamp(at, 0).expect("a time in range");
    beacon["timestamp"] = json!(timestamp.to_rfc3339());
    beacon["ip"] = json!(visitor.ip);
    beacon["user_agent"] = json!(visitor.user_agent);
    beacon
}

fn total<T>(items: &[(T, u32)]) -> u32 {
    items.iter().map(|(_, w)| w).sum()
}

/// An index drawn with these weights.
fn weighted_index(rng: &mut StdRng, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let mut pick = rng.random_range(0..weights.clone().sum::<u32>());
    for (i, w) in weights.enumerate() {
        if pick < w {
            return i;
        }
        pick -= w;
    }
    unreachable!("pick is below the sum of the weights")
}

/// What the import answered, summed over its requests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub accepted: u64,
    pub dropped: u64,
    pub invalid: u64,
}

/// Sends `lines` to `POST {target}/api/import` as one request, so every
/// day's events are hashed under one salt of that day (the import makes a
/// salt per older day for each request).
pub async fn import(target: &str, token: &str, lines: &[Value]) -> anyhow::Result<Imported> {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let response = reqwest::Client::new()
        .post(format!("{}/api/import", target.trim_end_matches('/')))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .with_context(|| format!("posting the demo data to {target}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "the import answered {status}: {text}");
    let report: Value = serde_json::from_str(&text).context("reading the import's answer")?;
    let dropped = report["dropped"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    Ok(Imported {
        accepted: report["accepted"].as_u64().unwrap_or(0),
        dropped,
        invalid: report["invalid_count"].as_u64().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashSet};

    fn config() -> DemoConfig {
        DemoConfig {
            seed: 7,
            site: "demo.example".into(),
            days: 30,
            visitors_per_day: 100,
            today: 20_000,
        }
    }

    #[test]
    fn a_month_of_visits_before_today_and_the_same_each_time() {
        let a = lines(&config());
        assert_eq!(a, lines(&config()));
        let days: BTreeSet<i64> = a
            .iter()
            .map(|l| DateTime::parse_from_rfc3339(l["timestamp"].as_str().unwrap()).unwrap())
            .map(|t| t.timestamp().div_euclid(DAY))
            .collect();
        assert_eq!(days.len(), 30, "every day has traffic");
        assert_eq!(*days.first().unwrap(), 20_000 - 30);
        assert_eq!(*days.last().unwrap(), 20_000 - 1, "nothing on today");
        let visitors: HashSet<&str> = a.iter().map(|l| l["ip"].as_str().unwrap()).collect();
        assert!(
            (2_000..3_500).contains(&visitors.len()),
            "{}",
            visitors.len()
        );
    }

    #[test]
    fn visits_have_sources_pages_and_custom_events() {
        let a = lines(&config());
        let with = |f: &dyn Fn(&Value) -> bool| a.iter().filter(|l| f(l)).count();
        assert!(with(&|l| l["u"].as_str().unwrap().contains("utm_campaign=")) > 100);
        assert!(with(&|l| l["r"].as_str().is_some_and(|r| r.contains("google"))) > 100);
        assert!(with(&|l| l["n"] == "Signup") > 20);
        assert!(with(&|l| l["p"]["author"].is_string()) > 20);
        let pages: HashSet<&str> = a.iter().map(|l| l["u"].as_str().unwrap()).collect();
        assert!(pages.len() > 10);
    }

    #[test]
    fn every_address_lies_in_a_place_of_the_database() {
        for l in lines(&config()) {
            let ip: Ipv4Addr = l["ip"].as_str().unwrap().parse().unwrap();
            let k = (0..PLACES.len())
                .find(|&k| u32::from(ip) >> 20 == u32::from(network(k)) >> 20)
                .unwrap_or_else(|| panic!("{ip} is in no place"));
            assert!(k < PLACES.len());
        }
    }
}
