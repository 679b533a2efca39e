//! A finished report as Plausible's v2 response JSON, or as CSV, and every
//! metric derived from the raw numbers a report's rows carry: ClickHouse
//! returns sums and counts ([`Raw`]), and the ratios and rounding happen
//! here (what each number counts is in [`crate::sql::report`]).

use super::compare;
use super::dates::Span;
use super::request::{CompareMode, Direction, Metric, Query, SortKey};
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
            Metric::Percentage => {
                if total_visitors == 0 {
                    0.0.into()
                } else {
                    round_to(self.visitors as f64 * 100.0 / total_visitors as f64, 1).into()
                }
            }
        }
    }
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
    pub time_labels: Option<Vec<String>>,
    /// What `include.comparisons` compares the rows with.
    pub compared: Option<Compared>,
}

/// The report of the compared range (`include.comparisons`).
#[derive(Debug)]
pub struct Compared {
    pub span: Span,
    /// Its rows, by their dimension values.
    pub rows: HashMap<Vec<String>, Raw>,
    /// Its visitors with the query's filters: the base of its `percentage`.
    pub total_visitors: u64,
    /// Its time bucket for each bucket of the range, by position.
    pub time_buckets: HashMap<String, String>,
}

impl Compared {
    /// A row's `comparison`: the compared row's dimensions (time buckets
    /// moved to the compared range, `null` past its end), its metrics (zero
    /// when it has no such row), and each metric's change.
    fn of(&self, query: &Query, row: &Row, metrics: &[Value]) -> Value {
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
        let old: Vec<Value> = query
            .metrics
            .iter()
            .map(|m| raw.metric(*m, self.total_visitors))
            .collect();
        let change: Vec<Value> = query
            .metrics
            .iter()
            .zip(old.iter().zip(metrics))
            .map(|(m, (old, new))| compare::change(*m, old, new))
            .collect();
        json!({"dimensions": dimensions, "metrics": old, "change": change})
    }
}

impl Answer<'_> {
    fn metrics(&self, row: &Row) -> Vec<Value> {
        self.query
            .metrics
            .iter()
            .map(|m| row.raw.metric(*m, self.total_visitors))
            .collect()
    }

    pub fn json(&self) -> Value {
        let results: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let metrics = self.metrics(row);
                let mut result = json!({"dimensions": row.dimensions, "metrics": metrics});
                if let Some(compared) = &self.compared {
                    result["comparison"] = compared.of(self.query, row, &metrics);
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
    /// each dimension value made [`spreadsheet_safe`].
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
            let metrics = self.metrics(row).into_iter().map(|v| plain(&v));
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

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a metric is a share of the range's visitors.
pub fn needs_total(query: &Query) -> bool {
    query.metrics.contains(&Metric::Percentage)
}

#[cfg(test)]
mod tests {
    use super::*;

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
