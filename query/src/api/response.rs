//! A finished report as Plausible's v2 response JSON, or as CSV, and every
//! metric derived from the raw numbers a report's rows carry: ClickHouse
//! returns sums and counts ([`Raw`]), and the ratios and rounding happen
//! here (what each number counts is in [`crate::sql::report`]).
//!
//! Under a site's k-anonymity threshold ([`MinVisitors`]), a row with
//! fewer than K visitors is answered as suppressed: `null` metrics in
//! JSON (and `null` changes against it), `"<K"` cells in CSV, and
//! `meta.min_visitors` and `meta.suppressed_rows` saying so.

use super::compare;
use super::dates::Span;
use super::goals::{row_currency, row_goals};
pub use super::money::Revenue;
use super::money::{self, Kind};
use super::request::{CompareMode, Dimension, Direction, Metric, Query, SortKey};
use super::threshold::MinVisitors;
use chrono_tz::Tz;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The raw numbers behind every metric of one result row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Raw {
    pub visitors: u64,
    pub pageviews: u64,
    pub events: u64,
    pub visits: u64,
    pub bounces: u64,
    pub duration_sum: u64,
    pub visit_pageviews: u64,
    /// Zero unless the query asks for an engagement metric.
    pub engagement: Engagement,
}

/// The raw numbers behind `time_on_page`, `scroll_depth` and `exit_rate`,
/// counted per (page, visit) pair (see [`crate::sql::engagement`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Engagement {
    pub engaged_ms: u64,
    pub engaged_visits: u64,
    pub scroll_sum: u64,
    pub scrolled_visits: u64,
    pub exits: u64,
    pub page_visits: u64,
}

impl Engagement {
    /// From the engagement columns in their order (zeros when absent).
    pub fn from_numbers(n: &[u64]) -> Self {
        let at = |i: usize| n.get(i).copied().unwrap_or(0);
        Self {
            engaged_ms: at(0),
            engaged_visits: at(1),
            scroll_sum: at(2),
            scrolled_visits: at(3),
            exits: at(4),
            page_visits: at(5),
        }
    }

    /// Mean engaged seconds per (page, visit) that sent engagement, whole
    /// seconds; `null` when none did.
    fn time_on_page(&self) -> Value {
        ratio(self.engaged_ms, self.engaged_visits * 1000)
            .map_or(Value::Null, |s| (s.round() as u64).into())
    }

    /// Mean deepest scroll per (page, visit) that reported one, whole
    /// percents; `null` when none did.
    fn scroll_depth(&self) -> Value {
        ratio(self.scroll_sum, self.scrolled_visits)
            .map_or(Value::Null, |p| (p.round() as u64).into())
    }

    /// Percent of the page's visits that ended on it, one decimal; `null`
    /// without visits.
    fn exit_rate(&self) -> Value {
        ratio(self.exits * 100, self.page_visits).map_or(Value::Null, |p| round_to(p, 1).into())
    }
}

/// `a / b`, or nothing when `b` is 0.
fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl Raw {
    /// The metric's value as the API reports it.
    pub fn metric(&self, m: Metric, total_visitors: u64) -> Value {
        let per_visit = |x: u64| {
            if self.visits == 0 {
                0.0
            } else {
                x as f64 / self.visits as f64
            }
        };
        match m {
            Metric::Visitors => self.visitors.into(),
            Metric::Visits => self.visits.into(),
            Metric::Pageviews => self.pageviews.into(),
            Metric::Events => self.events.into(),
            Metric::BounceRate => ((per_visit(self.bounces) * 100.0).round() as u64).into(),
            Metric::VisitDuration => (per_visit(self.duration_sum).round() as u64).into(),
            Metric::ViewsPerVisit => round_to(per_visit(self.visit_pageviews), 2).into(),
            Metric::TimeOnPage => self.engagement.time_on_page(),
            Metric::ScrollDepth => self.engagement.scroll_depth(),
            Metric::ExitRate => self.engagement.exit_rate(),
            Metric::Percentage => {
                if total_visitors == 0 {
                    0.0.into()
                } else {
                    round_to(self.visitors as f64 * 100.0 / total_visitors as f64, 1).into()
                }
            }
            // Goal metrics need more than a row's raw numbers: see
            // [`Answer::metric`].
            Metric::ConversionRate
            | Metric::GroupConversionRate
            | Metric::TotalRevenue
            | Metric::AverageRevenue => Value::Null,
        }
    }
}

/// A conversion rate: `converted` of `base` visitors, in percent with one
/// decimal (0 without a base), as Plausible rounds it.
pub fn conversion_rate(converted: u64, base: u64) -> Value {
    if base == 0 {
        return 0.0.into();
    }
    round_to(converted as f64 * 100.0 / base as f64, 1).into()
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// One result row: its dimension values and raw numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub dimensions: Vec<String>,
    pub raw: Raw,
    pub extra: Extra,
}

/// What a row carries for goal metrics, when they are asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extra {
    /// Revenue per currency (`total_revenue`, `average_revenue`).
    pub revenue: Option<Revenue>,
    /// The group's visitors without the goal filters
    /// (`group_conversion_rate`).
    pub group_visitors: Option<u64>,
}

/// Everything the response needs besides the rows.
#[derive(Debug)]
pub struct Answer<'a> {
    pub query: &'a Query,
    /// The `filters` exactly as sent, echoed back.
    pub filters: Value,
    pub span: Span,
    pub tz: Tz,
    pub rows: Vec<Row>,
    pub total_rows: u64,
    pub total_visitors: u64,
    /// Visitors with the query's filters but the top-level goal and
    /// property ones: the base of `conversion_rate`.
    pub conversion_base: u64,
    pub time_labels: Option<Vec<String>>,
    /// What `include.comparisons` compares the rows with.
    pub compared: Option<Compared>,
    /// The site's k-anonymity threshold, if it has one.
    pub min_visitors: Option<MinVisitors>,
    /// With `include.imports`: whether imported history was added, and
    /// if not, why (see [`super::imports`]).
    pub imports_meta: Option<Map<String, Value>>,
}

/// The report of the compared range (`include.comparisons`).
#[derive(Debug)]
pub struct Compared {
    pub span: Span,
    /// Its rows, by their dimension values.
    pub rows: HashMap<Vec<String>, Raw>,
    /// Its visitors with the query's filters: the base of its `percentage`.
    pub total_visitors: u64,
    /// Its base of `conversion_rate` (see [`Answer::conversion_base`]).
    pub conversion_base: u64,
    /// Its time bucket for each bucket of the range, by position.
    pub time_buckets: HashMap<String, String>,
}

impl Compared {
    /// A row's `comparison`: the compared row's dimensions (time buckets
    /// moved to the compared range, `null` past its end), its metrics (zero
    /// when it has no such row), and each metric's change.
    fn of(&self, answer: &Answer, row: &Row, metrics: &[Value]) -> Value {
        let query = answer.query;
        let dimensions: Vec<Option<String>> = query
            .dimensions
            .iter()
            .zip(&row.dimensions)
            .map(|(d, v)| {
                if d.is_time() {
                    self.time_buckets.get(v).cloned()
                } else {
                    Some(v.clone())
                }
            })
            .collect();
        let key: Option<Vec<String>> = dimensions.iter().cloned().collect();
        let raw = key
            .and_then(|k| self.rows.get(&k).copied())
            .unwrap_or_default();
        let old = answer.shown(&raw, self.total_visitors);
        let change: Vec<Value> = query
            .metrics
            .iter()
            .zip(old.iter().zip(metrics))
            .map(|(m, (old, new))| match (old, new) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                _ => compare::change(*m, old, new),
            })
            .collect();
        json!({"dimensions": dimensions, "metrics": old, "change": change})
    }
}

impl Answer<'_> {
    fn metrics(&self, row: &Row) -> Vec<Value> {
        self.query
            .metrics
            .iter()
            .map(|m| self.metric(*m, row))
            .collect()
    }

    /// The query's metrics of `raw`, each `null` when the threshold hides it.
    fn shown(&self, raw: &Raw, total_visitors: u64) -> Vec<Value> {
        let hidden = self.hides(raw);
        self.query
            .metrics
            .iter()
            .map(|m| {
                if hidden {
                    Value::Null
                } else {
                    raw.metric(*m, total_visitors)
                }
            })
            .collect()
    }

    fn hides(&self, raw: &Raw) -> bool {
        self.min_visitors.is_some_and(|k| k.hides_row(raw))
    }

    /// A metric of a row: goal metrics from the row's extras and the
    /// answer's conversion base, the others from its raw numbers; `null`
    /// when the threshold hides the row.
    fn metric(&self, m: Metric, row: &Row) -> Value {
        if self.hides(&row.raw) {
            return Value::Null;
        }
        let revenue = |kind| {
            let goal_value = self
                .query
                .dimensions
                .iter()
                .position(|d| *d == Dimension::Goal)
                .map(|i| row.dimensions[i].as_str());
            let currency = row_currency(&row_goals(self.query, goal_value));
            let none = Revenue::default();
            let amounts = row.extra.revenue.as_ref().unwrap_or(&none);
            money::metric(kind, amounts, currency.as_deref())
        };
        match m {
            Metric::ConversionRate => conversion_rate(row.raw.visitors, self.conversion_base),
            Metric::GroupConversionRate => {
                conversion_rate(row.raw.visitors, row.extra.group_visitors.unwrap_or(0))
            }
            Metric::TotalRevenue => revenue(Kind::Total),
            Metric::AverageRevenue => revenue(Kind::Average),
            _ => row.raw.metric(m, self.total_visitors),
        }
    }

    pub fn json(&self) -> Value {
        let results: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let metrics = self.metrics(row);
                let mut result = json!({"dimensions": row.dimensions, "metrics": metrics});
                if let Some(compared) = &self.compared {
                    result["comparison"] = compared.of(self, row, &metrics);
                }
                result
            })
            .collect();
        let mut meta = Map::new();
        if self.query.total_rows {
            meta.insert("total_rows".into(), self.total_rows.into());
        }
        if let Some(labels) = &self.time_labels {
            meta.insert("time_labels".into(), json!(labels));
        }
        if let Some(k) = self.min_visitors {
            let hidden = self.rows.iter().filter(|r| self.hides(&r.raw)).count();
            meta.insert("min_visitors".into(), k.k().into());
            meta.insert("suppressed_rows".into(), hidden.into());
        }
        if let Some(imports) = &self.imports_meta {
            meta.extend(imports.clone());
        }
        json!({"results": results, "meta": meta, "query": self.echo()})
    }

    /// The query as understood: names normalised, the range resolved.
    fn echo(&self) -> Value {
        let q = self.query;
        let order_by: Vec<Value> = q
            .order_by
            .iter()
            .map(|(key, dir)| {
                let name = match key {
                    SortKey::Metric(m) => m.name().to_string(),
                    SortKey::Dimension(d) => d.name(),
                };
                let dir = if *dir == Direction::Asc {
                    "asc"
                } else {
                    "desc"
                };
                json!([name, dir])
            })
            .collect();
        let mut include = json!({"total_rows": q.total_rows, "time_labels": q.time_labels});
        if q.imports {
            include["imports"] = json!(true);
        }
        let mut echo = json!({
            "site_id": q.site_id,
            "metrics": q.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "date_range": self.range(&self.span),
            "dimensions": q.dimensions.iter().map(|d| d.name()).collect::<Vec<_>>(),
            "filters": self.filters,
            "order_by": order_by,
            "pagination": {"limit": q.limit, "offset": q.offset},
        });
        if let (Some(c), Some(compared)) = (q.comparison, &self.compared) {
            let mut comparisons = json!({"mode": c.mode.name()});
            if let CompareMode::Custom(a, b) = c.mode {
                comparisons["date_range"] = json!([a.to_string(), b.to_string()]);
            }
            if c.match_day_of_week {
                comparisons["match_day_of_week"] = json!(true);
            }
            include["comparisons"] = comparisons;
            echo["comparison_date_range"] = self.range(&compared.span);
        }
        echo["include"] = include;
        echo
    }

    /// A span's first and last second, in the site's zone.
    fn range(&self, span: &Span) -> Value {
        let last = span.to - chrono::Duration::seconds(1);
        json!([
            span.from.with_timezone(&self.tz).to_rfc3339(),
            last.with_timezone(&self.tz).to_rfc3339(),
        ])
    }

    /// A header row of dimension and metric names, then one row per result,
    /// each dimension value made [`spreadsheet_safe`], and each metric the
    /// threshold hides as `<K`.
    pub fn csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let header = self
            .query
            .dimensions
            .iter()
            .map(|d| d.name())
            .chain(self.query.metrics.iter().map(|m| m.name().to_string()));
        out.write_record(header)?;
        for row in &self.rows {
            let hidden = self.min_visitors.filter(|_| self.hides(&row.raw));
            let metrics = self.metrics(row).into_iter().map(|v| match hidden {
                Some(k) => k.fewer(),
                None => plain(&v),
            });
            let dimensions = row.dimensions.iter().map(|d| spreadsheet_safe(d));
            out.write_record(dimensions.chain(metrics))?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
    }
}

/// Characters that make a spreadsheet read a cell as a formula (a tab or
/// carriage return can precede one).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A dimension value as a CSV cell: one that a spreadsheet would run as a
/// formula gets a leading `'`, as OWASP advises against CSV injection.
/// Stored pages, utm values and properties are whatever visitors sent.
fn spreadsheet_safe(value: &str) -> String {
    if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// A metric as a CSV cell: no value (`null`) is an empty cell.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        // Money: its value (in its currency) in the cell.
        Value::Object(o) => o.get("value").map(plain).unwrap_or_default(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Whether a metric is a share of the range's visitors.
pub fn needs_total(query: &Query) -> bool {
    query.metrics.contains(&Metric::Percentage)
}

/// Whether a metric is a share of the visitors without the goal filters.
pub fn needs_conversion_base(query: &Query) -> bool {
    query.metrics.contains(&Metric::ConversionRate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn answer(query: &Query, rows: Vec<Row>, k: Option<u32>) -> Answer<'_> {
        let day = NaiveDate::from_ymd_opt(2024, 3, 9).unwrap();
        let mut site = schema::config::SiteConfig::new("a.example");
        site.min_visitors = k;
        Answer {
            query,
            filters: json!([]),
            span: Span {
                from: Utc.timestamp_opt(1_709_942_400, 0).unwrap(),
                to: Utc.timestamp_opt(1_709_942_400 + 86_400, 0).unwrap(),
                first_day: day,
                last_day: day,
            },
            tz: Tz::UTC,
            total_rows: rows.len() as u64,
            rows,
            total_visitors: 0,
            conversion_base: 0,
            time_labels: None,
            compared: None,
            min_visitors: MinVisitors::of(&site),
            imports_meta: None,
        }
    }

    fn row(value: &str, visitors: u64, pageviews: u64) -> Row {
        Row {
            dimensions: vec![value.into()],
            raw: Raw {
                visitors,
                pageviews,
                ..Raw::default()
            },
            extra: Extra::default(),
        }
    }

    #[test]
    fn rows_under_the_threshold_are_answered_as_suppressed() {
        let body = json!({"site_id": "a.example", "metrics": ["visitors", "pageviews"],
            "date_range": ["2024-03-09", "2024-03-09"], "dimensions": ["time:hour"]});
        let query = crate::api::parse::parse(&body).unwrap();
        let rows = || vec![row("10", 8, 13), row("11", 0, 0)];
        let a = answer(&query, rows(), Some(3));
        let json = a.json();
        assert_eq!(json["results"][0]["metrics"], json!([8, 13]));
        assert_eq!(json["results"][1]["metrics"], json!([null, null]));
        assert_eq!(json["meta"]["min_visitors"], json!(3));
        assert_eq!(json["meta"]["suppressed_rows"], json!(1));
        let csv = String::from_utf8(a.csv().unwrap()).unwrap();
        assert_eq!(csv, "time:hour,visitors,pageviews\n10,8,13\n11,<3,<3\n");
        // Without a threshold: as counted, and no word of it in `meta`.
        let json = answer(&query, rows(), None).json();
        assert_eq!(json["results"][1]["metrics"], json!([0, 0]));
        assert!(json["meta"].get("min_visitors").is_none());
    }

    #[test]
    fn engagement_metrics_are_means_over_what_reported_and_null_without() {
        let e = Engagement {
            engaged_ms: 12_500,
            engaged_visits: 4,
            scroll_sum: 125,
            scrolled_visits: 2,
            exits: 1,
            page_visits: 3,
        };
        assert_eq!(e.time_on_page(), json!(3));
        assert_eq!(e.scroll_depth(), json!(63));
        assert_eq!(e.exit_rate(), json!(33.3));
        let none = Engagement::default();
        for v in [none.time_on_page(), none.scroll_depth(), none.exit_rate()] {
            assert_eq!(v, Value::Null);
        }
        assert_eq!(plain(&Value::Null), "");
    }

    #[test]
    fn formula_starts_get_a_quote_and_nothing_else_changes() {
        for (stored, cell) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("/a=b", "/a=b"),
            ("", ""),
            ("'=1", "'=1"),
            ("2024-01-01", "2024-01-01"),
        ] {
            assert_eq!(spreadsheet_safe(stored), cell, "{stored:?}");
        }
    }
}
