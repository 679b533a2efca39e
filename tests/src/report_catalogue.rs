//! A catalogue of Stats API requests that together make the query service
//! build every kind of SQL it can: every metric, every dimension, every
//! filter operator and their nesting, every kind of date range, ordering,
//! pagination, `include`, CSV, and sites in zones that the rollup path
//! does or does not serve. Each entry has a name, so a failure names it.

use serde_json::{json, Value};

/// One request of the catalogue.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub body: Value,
    /// Asks for `text/csv` instead of JSON.
    pub csv: bool,
}

pub const METRICS: [&str; 8] = [
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "percentage",
];

/// Metrics that need no visits: the events-table path.
const EVENT_METRICS: [&str; 3] = ["visitors", "pageviews", "events"];

pub const DIMENSIONS: [&str; 28] = [
    "event:page",
    "event:name",
    "event:hostname",
    "event:props:plan",
    "visit:entry_page",
    "visit:exit_page",
    "visit:source",
    "visit:referrer",
    "visit:utm_medium",
    "visit:utm_source",
    "visit:utm_campaign",
    "visit:utm_content",
    "visit:utm_term",
    "visit:device",
    "visit:browser",
    "visit:browser_version",
    "visit:os",
    "visit:os_version",
    "visit:country",
    "visit:region",
    "visit:city",
    "time",
    "time:hour",
    "time:day",
    "time:week",
    "time:month",
    "event:props:author",
    "event:props:url",
];

const OPS: [&str; 6] = [
    "is",
    "is_not",
    "contains",
    "contains_not",
    "matches",
    "matches_not",
];

/// Dimensions filtered by: an event one, a visit one, a property.
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
pub fn catalogue(site: &str, zoned_sites: &[&str]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut add = |name: String, body: Value| {
        out.push(Entry {
            name,
            body,
            csv: false,
        })
    };
    let base = |metrics: &[&str]| json!({"site_id": site, "metrics": metrics, "date_range": "7d"});
    let with = |mut body: Value, key: &str, value: Value| {
        body[key] = value;
        body
    };
    for m in METRICS {
        add(format!("metric {m}"), base(&[m]));
    }
    add("all metrics".into(), base(&METRICS));
    for d in DIMENSIONS {
        add(
            format!("by {d}, all metrics"),
            with(base(&METRICS), "dimensions", json!([d])),
        );
        add(
            format!("by {d}, event metrics"),
            with(base(&EVENT_METRICS), "dimensions", json!([d])),
        );
    }
    for pair in [
        ["event:page", "time:day"],
        ["visit:source", "visit:country"],
        ["event:props:plan", "visit:device"],
        ["visit:entry_page", "time:hour"],
        ["event:name", "event:props:plan"],
    ] {
        add(
            format!("by {} and {}", pair[0], pair[1]),
            with(base(&METRICS), "dimensions", json!(pair)),
        );
        add(
            format!("by {} and {}, event metrics", pair[0], pair[1]),
            with(base(&EVENT_METRICS), "dimensions", json!(pair)),
        );
    }
    for op in OPS {
        for (dim, value) in FILTERED {
            let value = if op.starts_with("matches") {
                format!("^{value}")
            } else {
                value.to_string()
            };
            let filters = json!([[op, dim, [value, "nothing-matches"]]]);
            add(
                format!("filter {op} {dim}"),
                with(base(&METRICS), "filters", filters.clone()),
            );
            add(
                format!("filter {op} {dim}, by event:page"),
                with(
                    with(base(&METRICS), "filters", filters),
                    "dimensions",
                    json!(["event:page"]),
                ),
            );
        }
    }
    let nested = [
        (
            "and of two",
            json!([["is", "visit:country", ["DE", "FR"]], ["contains", "event:page", ["/"]]]),
        ),
        (
            "or",
            json!([["or", [["is", "event:page", ["/pricing"]], ["matches", "visit:source", ["^G"]]]]]),
        ),
        (
            "not",
            json!([["not", ["is", "event:name", ["pageview"]]]]),
        ),
        (
            "and inside not inside or",
            json!([["or", [
                ["not", ["and", [["is", "visit:device", ["Mobile"]], ["is_not", "event:props:plan", ["pro"]]]]],
                ["contains_not", "visit:browser", ["Fire"]]
            ]]]),
        ),
        (
            "deep nesting",
            json!([["not", ["not", ["not", ["not", ["or", [["and", [["is", "event:page", ["/"]]]]]]]]]]]),
        ),
    ];
    for (name, filters) in nested {
        add(
            format!("filters {name}"),
            with(base(&METRICS), "filters", filters.clone()),
        );
        add(
            format!("filters {name}, by visit:source, event metrics"),
            with(
                with(base(&EVENT_METRICS), "filters", filters),
                "dimensions",
                json!(["visit:source"]),
            ),
        );
    }
    for range in NAMED_RANGES {
        add(
            format!("range {range}"),
            with(base(&METRICS), "date_range", json!(range)),
        );
        add(
            format!("range {range}, by time"),
            with(
                with(base(&["visitors", "pageviews"]), "date_range", json!(range)),
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
    ];
    for (name, range) in ranges {
        for dims in [json!([]), json!(["visit:source"]), json!(["event:page"])] {
            add(
                format!("range {name}, by {dims}"),
                with(
                    with(base(&METRICS), "date_range", range.clone()),
                    "dimensions",
                    dims,
                ),
            );
        }
    }
    let by_page = with(base(&METRICS), "dimensions", json!(["event:page"]));
    for (name, order) in [
        ("visitors asc", json!([["visitors", "asc"]])),
        ("page desc", json!([["event:page", "desc"]])),
        ("bounce_rate desc", json!([["bounce_rate", "desc"]])),
        ("visit_duration asc", json!([["visit_duration", "asc"]])),
        ("views_per_visit desc", json!([["views_per_visit", "desc"]])),
        (
            "two keys",
            json!([["pageviews", "desc"], ["event:page", "asc"]]),
        ),
    ] {
        add(
            format!("order by {name}"),
            with(by_page.clone(), "order_by", order),
        );
    }
    add(
        "pagination".into(),
        with(
            with(by_page.clone(), "pagination", json!({"limit": 2, "offset": 1})),
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
        for dims in [
            json!([]),
            json!(["time:hour"]),
            json!(["time:day"]),
            json!(["visit:source"]),
        ] {
            let mut body = with(base(&METRICS), "dimensions", dims.clone());
            body["site_id"] = json!(zoned);
            add(format!("site {zoned}, by {dims}"), body.clone());
            body["metrics"] = json!(EVENT_METRICS);
            add(format!("site {zoned}, by {dims}, event metrics"), body);
        }
    }
    let csv: Vec<Entry> = [
        "by event:page, all metrics",
        "by time:day, event metrics",
        "all metrics",
    ]
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
