//! A catalogue of Stats API requests that together make the query service
//! build every kind of SQL it can: every metric, every dimension, every
//! filter operator and their nesting, every kind of date range, ordering,
//! pagination, `include`, CSV, and sites in zones that the rollup path
//! does or does not serve. Each entry has a name, so a failure names it.
//!
//! Every entry is one Plausible answers: metrics it would refuse with the
//! entry's dimensions and filters are left out
//! ([`crate::fold::plausible_metrics`]).
//!
//! Building visits is the costly part of a report (about a second a query
//! on ClickHouse 26 even over a few rows), so expressions are combined where
//! the SQL allows: one query groups by every visit dimension, one filter
//! tree holds an operator over three dimensions, one `order_by` names every
//! metric. Each dimension alone, which is what the rollup path serves, is
//! asked for on the rollup path, where it reads totals instead of visits.

use serde_json::{json, Value};

/// One request of the catalogue.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub body: Value,
    /// Asks for `text/csv` instead of JSON.
    pub csv: bool,
}

pub use crate::fold::METRICS;

/// Metrics that need no visits: the events-table path.
const EVENT_METRICS: [&str; 3] = ["visitors", "pageviews", "events"];

/// Custom properties asked for by key; every other dimension is the query
/// service's own list ([`query::api::request::DIMENSIONS`]).
const PROPS: [&str; 3] = ["event:props:plan", "event:props:author", "event:props:url"];

/// Every dimension the catalogue asks for.
pub fn dimensions() -> Vec<&'static str> {
    let fixed = query::api::request::DIMENSIONS
        .iter()
        .map(|(name, _)| *name);
    fixed.chain(PROPS).collect()
}

/// Every filter operator of the query service.
fn ops() -> [&'static str; 6] {
    query::api::request::Op::ALL.map(query::api::request::Op::name)
}

/// Dimensions filtered by: event ones, a property, visit ones.
const FILTERED: [(&str, &str); 5] = [
    ("event:page", "/blog"),
    ("event:name", "Signup"),
    ("event:props:plan", "pro"),
    ("visit:source", "Google"),
    ("visit:country", "DE"),
];

const NAMED_RANGES: [&str; 9] = [
    "day", "7d", "28d", "30d", "month", "6mo", "12mo", "year", "all",
];

/// Every entry, for `site`; `zoned_sites` get the time-zone entries.
/// `rollups` adds what only the rollup path answers differently.
pub fn catalogue(site: &str, zoned_sites: &[&str], rollups: bool) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut add = |name: String, body: Value| {
        out.push(Entry {
            name,
            body: answerable(body),
            csv: false,
        })
    };
    let base = |metrics: &[&str]| json!({"site_id": site, "metrics": metrics, "date_range": "7d"});
    let with = |mut body: Value, key: &str, value: Value| {
        body[key] = value;
        body
    };
    add("all metrics".into(), base(&METRICS));
    add("event metrics".into(), base(&EVENT_METRICS));
    let (time, other): (Vec<&str>, Vec<&str>) =
        dimensions().iter().partition(|d| d.starts_with("time"));
    let (visit, event): (Vec<&str>, Vec<&str>) =
        other.iter().partition(|d| d.starts_with("visit:"));
    add(
        "by every visit dimension".into(),
        with(base(&METRICS), "dimensions", json!(visit)),
    );
    add(
        "by every event dimension and time:day".into(),
        with(
            base(&METRICS),
            "dimensions",
            json!([event.clone(), vec!["time:day"]].concat()),
        ),
    );
    for d in &event {
        add(
            format!("by {d}, all metrics"),
            with(base(&METRICS), "dimensions", json!([d])),
        );
        add(
            format!("by {d}, event metrics"),
            with(base(&EVENT_METRICS), "dimensions", json!([d])),
        );
    }
    for d in &time {
        add(
            format!("by {d}, visitors and visits"),
            with(base(&["visitors", "visits"]), "dimensions", json!([d])),
        );
        add(
            format!("by {d}, event metrics"),
            with(base(&EVENT_METRICS), "dimensions", json!([d])),
        );
    }
    if rollups {
        // Over past days only: the rollup reads hourly and daily totals.
        for d in &visit {
            let body = with(base(&METRICS), "dimensions", json!([d]));
            add(
                format!("by {d}, past days"),
                with(body, "date_range", json!(["2026-11-23", "2026-11-24"])),
            );
        }
        add(
            "by time:day, event metrics, past days".into(),
            with(
                with(
                    base(&EVENT_METRICS),
                    "dimensions",
                    json!(["time:day", "visit:source"]),
                ),
                "date_range",
                json!(["2026-11-23", "2026-11-24"]),
            ),
        );
    }
    for op in ops() {
        let parts: Vec<Value> = FILTERED
            .iter()
            .map(|(dim, value)| {
                let value = if op.starts_with("matches") {
                    format!("^{value}")
                } else {
                    value.to_string()
                };
                // Countries are two-letter codes (`is` refuses others).
                let nothing = if *dim == "visit:country" {
                    "ZZ"
                } else {
                    "nothing-matches"
                };
                json!([op, dim, [value, nothing]])
            })
            .collect();
        add(
            format!("filter {op} over event, property and visit dimensions"),
            with(base(&METRICS), "filters", json!([["or", parts.clone()]])),
        );
        add(
            format!("filter {op} event:page, by event:page, event metrics"),
            with(
                with(base(&EVENT_METRICS), "filters", json!([parts[0].clone()])),
                "dimensions",
                json!(["event:page"]),
            ),
        );
    }
    let nested = [
        (
            "and of two",
            json!([
                ["is", "visit:country", ["DE", "FR"]],
                ["contains", "event:page", ["/"]]
            ]),
        ),
        (
            "and inside not inside or",
            json!([[
                "or",
                [
                    [
                        "not",
                        [
                            "and",
                            [
                                ["is", "visit:device", ["Mobile"]],
                                ["is_not", "event:props:plan", ["pro"]]
                            ]
                        ]
                    ],
                    ["contains_not", "visit:browser", ["Fire"]]
                ]
            ]]),
        ),
        (
            "values with the client crate's placeholders and quotes",
            json!([[
                "or",
                [
                    ["contains", "event:page", ["?", "??"]],
                    ["is", "visit:source", ["?fields", "it's"]],
                    ["matches", "event:props:plan", ["^p?r\\?o??$"]]
                ]
            ]]),
        ),
        (
            "deep nesting of event filters",
            json!([[
                "not",
                [
                    "not",
                    [
                        "not",
                        ["not", ["or", [["and", [["is", "event:page", ["/"]]]]]]]
                    ]
                ]
            ]]),
        ),
    ];
    for (name, filters) in nested {
        add(
            format!("filters {name}, by visit:source"),
            with(
                with(base(&METRICS), "filters", filters),
                "dimensions",
                json!(["visit:source"]),
            ),
        );
    }
    for range in NAMED_RANGES {
        add(
            format!("range {range}, by time"),
            with(
                with(base(&EVENT_METRICS), "date_range", json!(range)),
                "dimensions",
                json!(["time"]),
            ),
        );
    }
    let ranges = [
        ("dates", json!(["2026-11-23", "2026-11-24"])),
        (
            "whole hours",
            json!(["2026-11-23T22:00:00Z", "2026-11-24T00:59:59Z"]),
        ),
        (
            "not whole hours",
            json!(["2026-11-23T23:30:00+00:00", "2026-11-24T00:20:00+00:00"]),
        ),
        (
            "from the first storable day",
            json!(["1970-01-01", "2026-11-24"]),
        ),
    ];
    for (name, range) in ranges {
        add(
            format!("range {name}, by visit:entry_page"),
            with(
                with(base(&METRICS), "date_range", range.clone()),
                "dimensions",
                json!(["visit:entry_page"]),
            ),
        );
    }
    let by_page = with(base(&METRICS), "dimensions", json!(["event:page"]));
    let every_metric: Vec<Value> = METRICS
        .iter()
        .enumerate()
        .map(|(i, m)| json!([m, if i % 2 == 0 { "asc" } else { "desc" }]))
        .collect();
    add(
        "order by every metric".into(),
        with(by_page.clone(), "order_by", json!(every_metric)),
    );
    add(
        "order by a dimension, paginated, with total rows".into(),
        with(
            with(
                with(
                    with(base(&EVENT_METRICS), "dimensions", json!(["event:page"])),
                    "order_by",
                    json!([["event:page", "desc"]]),
                ),
                "pagination",
                json!({"limit": 2, "offset": 1}),
            ),
            "include",
            json!({"total_rows": true}),
        ),
    );
    add(
        "time labels".into(),
        with(
            with(base(&["visitors"]), "dimensions", json!(["time:day"])),
            "include",
            json!({"time_labels": true, "total_rows": true, "imports": false}),
        ),
    );
    for zoned in zoned_sites {
        let mut body = base(&METRICS);
        body["site_id"] = json!(zoned);
        add(format!("site {zoned}, all metrics"), body.clone());
        for d in ["time:hour", "time:day"] {
            let mut body = with(base(&EVENT_METRICS), "dimensions", json!([d]));
            body["site_id"] = json!(zoned);
            add(format!("site {zoned}, by {d}"), body);
        }
    }
    for op in ops() {
        // Case-insensitive, over a page and over an OS stored under another
        // name than Plausible's (read through the name mapping).
        let value = |v: &str| {
            if op.starts_with("matches") {
                format!("^{v}")
            } else {
                v.into()
            }
        };
        add(
            format!("filter {op}, case-insensitive, by visit:os"),
            with(
                with(
                    base(&METRICS),
                    "filters",
                    json!([["or", [
                        [op, "event:page", [value("/BLOG")], {"case_sensitive": false}],
                        [op, "visit:os", [value("mac")], {"case_sensitive": false}]
                    ]]]),
                ),
                "dimensions",
                json!(["visit:os"]),
            ),
        );
    }
    for (name, range) in [
        ("24h", json!("24h")),
        ("91d", json!("91d")),
        ("3mo", json!("3mo")),
    ] {
        add(
            format!("range {name}, by time"),
            with(
                with(base(&["visitors", "visits"]), "date_range", range),
                "dimensions",
                json!(["time"]),
            ),
        );
    }
    let comparisons = [
        (
            "previous period, by visit:browser",
            json!({"mode": "previous_period"}),
            json!(["visit:browser"]),
        ),
        (
            "year over year matching weekdays, by time:day",
            json!({"mode": "year_over_year", "match_day_of_week": true}),
            json!(["time:day"]),
        ),
        (
            "custom range, by event:page and visit:os",
            json!({"mode": "custom", "date_range": ["2026-11-01", "2026-11-07"]}),
            json!(["event:page", "visit:os"]),
        ),
    ];
    for (name, comparison, dimensions) in comparisons {
        let body = with(
            base(&["visitors", "bounce_rate", "percentage"]),
            "dimensions",
            dimensions,
        );
        add(
            format!("comparison with {name}"),
            with(body, "include", json!({"comparisons": comparison})),
        );
    }
    // Goals of test_config's site (built-in, event, page glob, revenue).
    let goal_metrics = [
        "visitors",
        "events",
        "conversion_rate",
        "total_revenue",
        "average_revenue",
    ];
    add(
        "goals: conversions and revenue by event:goal".into(),
        with(base(&goal_metrics), "dimensions", json!(["event:goal"])),
    );
    add(
        "goals: group conversion rate by visit:source under a goal filter".into(),
        with(
            with(
                base(&["visitors", "conversion_rate", "group_conversion_rate"]),
                "filters",
                json!([
                    ["is", "event:goal", ["Visit /blog/**", "Signup"]],
                    ["contains_not", "event:goal", ["404"]]
                ]),
            ),
            "dimensions",
            json!(["visit:source"]),
        ),
    );
    add(
        "goals: a goal's properties, (none) included".into(),
        with(
            with(
                base(&["visitors", "events", "group_conversion_rate"]),
                "filters",
                json!([
                    ["matches", "event:goal", ["^Sign"]],
                    ["is_not", "event:props:author", ["(none)", "x"]]
                ]),
            ),
            "dimensions",
            json!(["event:props:plan"]),
        ),
    );
    let csv: Vec<Entry> = ["by event:page, all metrics", "by time:day, event metrics"]
        .iter()
        .filter_map(|name| out.iter().find(|e| e.name == *name))
        .map(|e| Entry {
            name: format!("{} (CSV)", e.name),
            body: e.body.clone(),
            csv: true,
        })
        .collect();
    out.extend(csv);
    out
}

/// `body` without the metrics Plausible refuses with its dimensions and
/// filters (nor orderings by them).
fn answerable(mut body: Value) -> Value {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let metrics = strings(&body["metrics"]);
    let dims = strings(&body["dimensions"]);
    let filters = body["filters"].as_array().cloned().unwrap_or_default();
    let metrics: Vec<&str> = metrics.iter().map(String::as_str).collect();
    let dims: Vec<&str> = dims.iter().map(String::as_str).collect();
    let kept = crate::fold::plausible_metrics(&metrics, &dims, &filters);
    if let Some(order) = body.get_mut("order_by").and_then(Value::as_array_mut) {
        order.retain(|entry| {
            let name = entry[0].as_str().unwrap_or_default();
            kept.contains(&name) || !metrics.contains(&name)
        });
    }
    body["metrics"] = json!(kept);
    body
}
