//! The ground truth the Stats API tests compare the service with: a plain
//! Rust fold over the hand-made events a test inserted. Visits are cut at
//! 30-minute gaps per person (the people the test made, not the stored
//! ids), metrics follow the documented definitions, dimension values are
//! named as Plausible names them (written out here by hand, not taken from
//! the query service), and filters are evaluated with Rust string
//! operations and the `regex` crate, never with SQL.

use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use query::api::request::{Dimension, TimeGrain};
use schema::EventRow;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Seconds without an event after which a visit ends.
pub const GAP: i64 = 1800;

/// One hand-made event, with the person behind it.
#[derive(Debug, Clone)]
pub struct Ev {
    pub site: &'static str,
    pub person: u64,
    pub ts: i64,
    pub name: String,
    pub path: String,
    pub host: String,
    pub props: Vec<(String, String)>,
    pub interactive: bool,
    /// Visit-level attributes as the collector would store them on this event.
    pub attrs: BTreeMap<&'static str, String>,
    /// An engagement event's scroll depth ([`NO_SD`] for none) and engaged
    /// milliseconds; 0 on other events.
    pub sd: u8,
    pub engaged_ms: u32,
}

/// The scroll depth the collector stores for an engagement event without `sd`.
pub const NO_SD: u8 = 255;

impl Ev {
    /// A pageview of `path` with no attributes.
    pub fn pageview(site: &'static str, person: u64, ts: i64, path: &str) -> Self {
        Self {
            site,
            person,
            ts,
            name: "pageview".into(),
            path: path.into(),
            host: "example.com".into(),
            props: Vec::new(),
            interactive: true,
            attrs: BTreeMap::new(),
            sd: 0,
            engaged_ms: 0,
        }
    }

    /// An engagement event of `path` (`sd` [`NO_SD`] when it has none).
    pub fn engagement(
        site: &'static str,
        person: u64,
        ts: i64,
        path: &str,
        sd: u8,
        engaged_ms: u32,
    ) -> Self {
        Self {
            name: "engagement".into(),
            interactive: false,
            sd,
            engaged_ms,
            ..Self::pageview(site, person, ts, path)
        }
    }

    pub fn is_engagement(&self) -> bool {
        self.name == "engagement"
    }

    /// The same event with one visit attribute set.
    pub fn with(mut self, column: &'static str, value: &str) -> Self {
        self.attrs.insert(column, value.into());
        self
    }
}

/// A person's id on a UTC day: what the daily salt would give.
pub fn visitor_id(person: u64, ts: i64) -> u64 {
    let day = ts.div_euclid(86_400) as u64;
    person.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ day.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) | 1
}

/// The stored row: what the collector would write for `e`, including the
/// previous-day id in the first 30 minutes of a UTC day.
pub fn to_row(e: &Ev) -> EventRow {
    let attr = |k: &str| e.attrs.get(k).cloned().unwrap_or_default();
    let prev = if e.ts.rem_euclid(86_400) < GAP {
        visitor_id(e.person, e.ts - 86_400)
    } else {
        0
    };
    EventRow {
        timestamp: e.ts as u32,
        site: e.site.into(),
        name: e.name.clone().into(),
        hostname: e.host.clone().into(),
        pathname: e.path.clone().into(),
        visitor_id: visitor_id(e.person, e.ts),
        prev_visitor_id: prev,
        referrer: attr("referrer").into(),
        utm_source: attr("utm_source").into(),
        utm_medium: attr("utm_medium").into(),
        utm_campaign: attr("utm_campaign").into(),
        utm_content: attr("utm_content").into(),
        utm_term: attr("utm_term").into(),
        props_keys: e.props.iter().map(|(k, _)| k.clone()).collect(),
        props_values: e.props.iter().map(|(_, v)| v.clone()).collect(),
        interactive: u8::from(e.interactive),
        scroll_depth: e.sd,
        engagement_ms: e.engaged_ms,
        browser: attr("browser").into(),
        browser_version: attr("browser_version").into(),
        os: attr("os").into(),
        os_version: attr("os_version").into(),
        device: attr("device").into(),
        source: attr("source").into(),
        country: attr("country").into(),
        region: attr("region").into(),
        city: attr("city").into(),
        ..EventRow::default()
    }
}

/// What Plausible's answers call a value our collector stores: its device
/// detector's browser and OS names where uap-core's differ (the ones the
/// tests' datasets hold), and its labels for an empty value.
pub fn plausible_name(column: &str, stored: &str) -> String {
    let renamed = match (column, stored) {
        ("os", "macOS") => "Mac",
        ("os", "Linux") => "GNU/Linux",
        ("os", "ChromeOS") => "Chrome OS",
        ("browser", "Samsung Internet") => "Samsung Browser",
        ("browser", "Edge") => "Microsoft Edge",
        ("browser", "Facebook" | "Instagram" | "Android WebView") => "Mobile App",
        _ => stored,
    };
    if !renamed.is_empty() {
        return renamed.into();
    }
    empty_label(column).unwrap_or_default().into()
}

/// Plausible's label for an empty value of a visit column, if it has one.
fn empty_label(column: &str) -> Option<&'static str> {
    match column {
        "source" | "referrer" => Some("Direct / None"),
        "utm_medium" | "utm_source" | "utm_campaign" | "utm_content" | "utm_term" | "device"
        | "browser" | "browser_version" | "os" | "os_version" => Some("(not set)"),
        _ => None,
    }
}

/// A visit as the definitions describe it: its pageviews and custom events
/// (the interactions), and the engagement events that joined it.
pub struct Visit<'a> {
    pub events: Vec<&'a Ev>,
}

impl Visit<'_> {
    pub fn start(&self) -> i64 {
        self.events[0].ts
    }
    pub fn pageviews(&self) -> u64 {
        self.events.iter().filter(|e| e.name == "pageview").count() as u64
    }
    /// Engagement events are never interactions, whatever their flag.
    pub fn bounce(&self) -> bool {
        self.pageviews() == 1
            && !self
                .events
                .iter()
                .any(|e| e.name != "pageview" && !e.is_engagement() && e.interactive)
    }
    pub fn last_interaction(&self) -> i64 {
        let mut acts = self.events.iter().filter(|e| !e.is_engagement());
        acts.next_back()
            .expect("a visit starts with an interaction")
            .ts
    }
    pub fn duration(&self) -> u64 {
        (self.last_interaction() - self.start()) as u64
    }
    pub fn page(&self, last: bool) -> String {
        let mut pages = self.events.iter().filter(|e| e.name == "pageview");
        let found = if last {
            pages.next_back()
        } else {
            pages.next()
        };
        found.map(|e| e.path.clone()).unwrap_or_default()
    }
}

/// Visits of one site from events in the read window, by person.
pub fn visits<'a>(data: &'a [Ev], site: &str, from: i64, to: i64) -> Vec<Visit<'a>> {
    let mut by_person: BTreeMap<u64, Vec<&Ev>> = BTreeMap::new();
    for e in data
        .iter()
        // Reports read from 6 hours before the range to 6 hours after it.
        .filter(|e| e.site == site && e.ts >= from - 6 * 3600 && e.ts < to + 6 * 3600)
    {
        by_person.entry(e.person).or_default().push(e);
    }
    let mut out = Vec::new();
    for (_, mut events) in by_person {
        // An engagement event after the interactions of its second.
        events.sort_by_key(|e| (e.ts, e.is_engagement()));
        let mut current: Vec<&Ev> = Vec::new();
        let mut last_act: Option<i64> = None;
        for e in events {
            let ended = last_act.is_none_or(|t| e.ts - t > GAP);
            if e.is_engagement() {
                // Joins the visit going on, if any; else belongs to none.
                if !ended {
                    current.push(e);
                }
                continue;
            }
            if ended && !current.is_empty() {
                out.push(Visit {
                    events: std::mem::take(&mut current),
                });
            }
            current.push(e);
            last_act = Some(e.ts);
        }
        if !current.is_empty() {
            out.push(Visit { events: current });
        }
    }
    out
}

/// A report's range and zone.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub tz: Tz,
    pub from: i64,
    pub to: i64,
    /// What `time` means for this range.
    pub auto: &'static str,
}

/// The local days `first` to `last` of `tz`.
pub fn days_ctx(first: &str, last: &str, tz: Tz, auto: &'static str) -> Ctx {
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .timestamp()
    };
    Ctx {
        tz,
        from: start(day(first)),
        to: start(day(last) + Duration::days(1)),
        auto,
    }
}

/// The value as stored, before any naming: what `is` filters also match.
fn stored_value(dim: &str, e: &Ev, v: &Visit) -> String {
    match Dimension::parse(dim).expect("a dimension") {
        Dimension::Page => e.path.clone(),
        Dimension::Name => e.name.clone(),
        Dimension::Hostname => e.host.clone(),
        Dimension::EntryPage => v.page(false),
        Dimension::ExitPage => v.page(true),
        Dimension::Visit(column) => v.events[0].attrs.get(column).cloned().unwrap_or_default(),
        Dimension::Prop(key) => {
            let found = e.props.iter().find(|(k, _)| *k == key);
            found.map_or("(none)".into(), |(_, v)| v.clone())
        }
        Dimension::Time(_) => panic!("time is no stored value"),
        Dimension::Goal => {
            panic!("the fold knows no goals: tests/tests/stats_goals.rs checks them")
        }
    }
}

/// The value as Plausible would have stored it: renamed, empties empty.
fn canonical_value(dim: &str, e: &Ev, v: &Visit) -> String {
    let stored = stored_value(dim, e, v);
    match Dimension::parse(dim) {
        Some(Dimension::Visit(column)) if !stored.is_empty() => plausible_name(column, &stored),
        _ => stored,
    }
}

/// The value a report shows for `dim`.
pub fn dim_value(dim: &str, e: &Ev, v: &Visit, ctx: Ctx) -> String {
    let local = ctx.tz.timestamp_opt(e.ts, 0).unwrap();
    match Dimension::parse(dim).expect("a dimension") {
        Dimension::Time(TimeGrain::Auto) => dim_value(ctx.auto, e, v, ctx),
        Dimension::Time(TimeGrain::Hour) => local.format("%Y-%m-%d %H:00:00").to_string(),
        Dimension::Time(TimeGrain::Day) => local.format("%Y-%m-%d").to_string(),
        Dimension::Time(TimeGrain::Week) => {
            let d = local.date_naive();
            (d - Duration::days(d.weekday().num_days_from_monday().into())).to_string()
        }
        Dimension::Time(TimeGrain::Month) => local.format("%Y-%m-01").to_string(),
        Dimension::Visit(column) => plausible_name(column, &stored_value(dim, e, v)),
        _ => stored_value(dim, e, v),
    }
}

/// Plausible's `is` values turned into stored ones: "(not set)" is empty,
/// and so is "Direct / None" for the acquisition columns (a property's
/// missing value is "(none)" already).
fn is_value(dim: &str, value: &str) -> String {
    let acquisition =
        dim == "visit:source" || dim == "visit:referrer" || dim.starts_with("visit:utm_");
    let property = dim.starts_with("event:props:");
    if !property && (value == "(not set)" || (acquisition && value == "Direct / None")) {
        String::new()
    } else {
        value.into()
    }
}

/// Whether event `e` of visit `v` passes filter `f`.
pub fn matches_filter(f: &Value, e: &Ev, v: &Visit) -> bool {
    let parts = f.as_array().unwrap();
    let op = parts[0].as_str().unwrap();
    match op {
        "and" => parts[1]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| matches_filter(c, e, v)),
        "or" => parts[1]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| matches_filter(c, e, v)),
        "not" => !matches_filter(&parts[1], e, v),
        _ => {
            let dim = parts[1].as_str().unwrap();
            let values: Vec<&str> = parts[2]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            let sensitive = parts
                .get(3)
                .and_then(|m| m["case_sensitive"].as_bool())
                .unwrap_or(true);
            let fold = |s: &str| {
                if sensitive {
                    s.to_string()
                } else {
                    s.to_lowercase()
                }
            };
            let canonical = fold(&canonical_value(dim, e, v));
            let any = match op.trim_end_matches("_not") {
                "is" => {
                    let stored = fold(&stored_value(dim, e, v));
                    values
                        .iter()
                        .any(|x| canonical == fold(&is_value(dim, x)) || stored == fold(x))
                }
                "contains" => values.iter().any(|x| canonical.contains(&fold(x))),
                "matches" => values.iter().any(|x| {
                    let pattern = if sensitive {
                        x.to_string()
                    } else {
                        format!("(?i){x}")
                    };
                    regex::Regex::new(&pattern)
                        .unwrap()
                        .is_match(&canonical_value(dim, e, v))
                }),
                other => panic!("unknown operator {other}"),
            };
            if op.ends_with("_not") {
                !any
            } else {
                any
            }
        }
    }
}

#[derive(Default)]
struct Group<'a> {
    visitors: BTreeSet<u64>,
    pageviews: u64,
    events: u64,
    visits: BTreeMap<(usize, i64), &'a Visit<'a>>,
    /// Engagement numbers per (visit, page).
    pages: BTreeMap<(usize, String), PageVisit>,
}

/// One page in one visit, for the engagement metrics.
#[derive(Default)]
struct PageVisit {
    engaged: bool,
    ms: u64,
    sd: Option<u8>,
    /// A pageview of the page in range, in a visit starting in range.
    viewed: bool,
    exited: bool,
}

/// What a metric without a value (`null`) reads as in these maps.
pub const NULL: f64 = -1.0;

/// Adds the engagement numbers of in-range events to the groups the other
/// metrics made (a report has no other groups).
fn add_engagement<'a>(
    groups: &mut BTreeMap<Vec<String>, Group<'a>>,
    all: &'a [Visit<'a>],
    ctx: Ctx,
    dims: &[&str],
    filters: &[Value],
) {
    for (vi, v) in all.iter().enumerate() {
        let visit_in = v.start() >= ctx.from && v.start() < ctx.to;
        for e in &v.events {
            let in_range = e.ts >= ctx.from && e.ts < ctx.to;
            if !in_range || !filters.iter().all(|f| matches_filter(f, e, v)) {
                continue;
            }
            let key: Vec<String> = dims.iter().map(|d| dim_value(d, e, v, ctx)).collect();
            let Some(g) = groups.get_mut(&key) else {
                continue;
            };
            let p = g.pages.entry((vi, e.path.clone())).or_default();
            if e.is_engagement() {
                p.engaged = true;
                p.ms += u64::from(e.engaged_ms);
                if e.sd <= 100 {
                    p.sd = Some(p.sd.map_or(e.sd, |x| x.max(e.sd)));
                }
            } else if e.name == "pageview" && visit_in {
                p.viewed = true;
                p.exited = v.page(true) == e.path;
            }
        }
    }
}

/// The engagement metric `m` of a group, [`NULL`] without a value.
fn engagement_metric(m: &str, g: &Group) -> f64 {
    let mean = |sum: f64, n: usize| if n == 0 { NULL } else { sum / n as f64 };
    let pages = g.pages.values();
    match m {
        "time_on_page" => {
            let engaged: Vec<&PageVisit> = pages.filter(|p| p.engaged).collect();
            let ms: u64 = engaged.iter().map(|p| p.ms).sum();
            let t = mean(ms as f64 / 1000.0, engaged.len());
            if t == NULL {
                t
            } else {
                t.round()
            }
        }
        "scroll_depth" => {
            let sds: Vec<f64> = pages.filter_map(|p| p.sd).map(f64::from).collect();
            let d = mean(sds.iter().sum(), sds.len());
            if d == NULL {
                d
            } else {
                d.round()
            }
        }
        "exit_rate" => {
            let viewed: Vec<&PageVisit> = pages.filter(|p| p.viewed).collect();
            let exits = viewed.iter().filter(|p| p.exited).count();
            let r = mean(exits as f64 * 100.0, viewed.len());
            if r == NULL {
                r
            } else {
                (r * 10.0).round() / 10.0
            }
        }
        other => panic!("unknown metric {other}"),
    }
}

/// Expected `(dimension values, metrics)` rows, computed by hand.
pub fn expected(
    data: &[Ev],
    site: &str,
    ctx: Ctx,
    dims: &[&str],
    filters: &[Value],
    metrics: &[&str],
) -> BTreeMap<Vec<String>, Vec<f64>> {
    let all = visits(data, site, ctx.from, ctx.to);
    let mut groups: BTreeMap<Vec<String>, Group> = BTreeMap::new();
    let mut total_visitors = BTreeSet::new();
    for (vi, v) in all.iter().enumerate() {
        let visit_in = v.start() >= ctx.from && v.start() < ctx.to;
        for e in &v.events {
            let event_in = e.ts >= ctx.from && e.ts < ctx.to && e.name != "engagement";
            if !(event_in || (visit_in && e.ts < ctx.to)) {
                continue;
            }
            if !filters.iter().all(|f| matches_filter(f, e, v)) {
                continue;
            }
            let key: Vec<String> = dims.iter().map(|d| dim_value(d, e, v, ctx)).collect();
            let g = groups.entry(key).or_default();
            if event_in {
                g.visitors.insert(visitor_id(e.person, e.ts));
                total_visitors.insert(visitor_id(e.person, e.ts));
                g.events += 1;
                g.pageviews += u64::from(e.name == "pageview");
            }
            if visit_in {
                g.visits.insert((vi, v.start()), v);
            }
        }
    }
    add_engagement(&mut groups, &all, ctx, dims, filters);
    let uses_visits = dims.iter().any(|d| d.starts_with("visit:"))
        || metrics
            .iter()
            .any(|m| ["visits", "bounce_rate", "visit_duration", "views_per_visit"].contains(m))
        || filters.iter().any(|f| f.to_string().contains("\"visit:"));
    groups
        .into_iter()
        // Without visits, only events in range make a group.
        .filter(|(_, g)| uses_visits || g.events > 0)
        .map(|(key, g)| {
            let n = g.visits.len() as f64;
            let per_visit = |x: f64| if n == 0.0 { 0.0 } else { x / n };
            let values = metrics
                .iter()
                .map(|m| match *m {
                    "visitors" => g.visitors.len() as f64,
                    "visits" => n,
                    "pageviews" => g.pageviews as f64,
                    "events" => g.events as f64,
                    "bounce_rate" => {
                        (per_visit(g.visits.values().filter(|v| v.bounce()).count() as f64) * 100.0)
                            .round()
                    }
                    "visit_duration" => {
                        per_visit(g.visits.values().map(|v| v.duration()).sum::<u64>() as f64)
                            .round()
                    }
                    "views_per_visit" => {
                        (per_visit(g.visits.values().map(|v| v.pageviews()).sum::<u64>() as f64)
                            * 100.0)
                            .round()
                            / 100.0
                    }
                    "percentage" => {
                        let t = total_visitors.len() as f64;
                        if t == 0.0 {
                            0.0
                        } else {
                            (g.visitors.len() as f64 * 1000.0 / t).round() / 10.0
                        }
                    }
                    other => engagement_metric(other, &g),
                })
                .collect();
            (key, values)
        })
        .collect()
}

/// The API's rows as the same map.
pub fn actual(response: &Value) -> BTreeMap<Vec<String>, Vec<f64>> {
    response["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let dims = r["dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect();
            let metrics = r["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_f64().unwrap_or(NULL))
                .collect();
            (dims, metrics)
        })
        .collect()
}

/// Every metric of the Stats API.
pub const METRICS: [&str; 11] = [
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "percentage",
    "time_on_page",
    "scroll_depth",
    "exit_rate",
];

/// The metrics of `metrics` that Plausible answers together with `dims`
/// and `filters` (it refuses a query holding any other): session metrics
/// not with event dimensions (unless `event:page` is the only one), event
/// metrics not with entry or exit pages (same exception), and
/// `views_per_visit` with no dimension and no `event:page` filter. The
/// engagement metrics need the page: `time_on_page` and `scroll_depth` an
/// `event:page` dimension or filter, `exit_rate` the dimension.
pub fn plausible_metrics<'a>(
    metrics: &[&'a str],
    dims: &[&str],
    filters: &[Value],
) -> Vec<&'a str> {
    let event_dims: Vec<&&str> = dims.iter().filter(|d| d.starts_with("event:")).collect();
    let page_only = event_dims.len() == 1 && *event_dims[0] == "event:page";
    let session_dims = dims
        .iter()
        .any(|d| *d == "visit:entry_page" || *d == "visit:exit_page");
    let page_filter = filters
        .iter()
        .any(|f| f.to_string().contains("\"event:page\""));
    let page_dim = dims.contains(&"event:page");
    metrics
        .iter()
        .copied()
        .filter(|m| match *m {
            "views_per_visit" => dims.is_empty() && !page_filter,
            "bounce_rate" | "visit_duration" => page_only || event_dims.is_empty(),
            "pageviews" | "events" => page_only || !session_dims,
            "time_on_page" | "scroll_depth" => page_dim || page_filter,
            "exit_rate" => page_dim,
            _ => true,
        })
        .collect()
}
