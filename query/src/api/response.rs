//! A finished report as Plausible's v2 response JSON, or as CSV, and every
//! metric derived from the raw numbers a report's rows carry: ClickHouse
//! returns sums and counts ([`Raw`]), and the ratios and rounding happen
//! here (what each number counts is in [`crate::sql::report`]).

use super::dates::Span;
use super::request::{Direction, Metric, Query, SortKey};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

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
            .map(|row| json!({"dimensions": row.dimensions, "metrics": self.metrics(row)}))
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
        let last = self.span.to - chrono::Duration::seconds(1);
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
        json!({
            "site_id": q.site_id,
            "metrics": q.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "date_range": [
                self.span.from.with_timezone(&self.tz).to_rfc3339(),
                last.with_timezone(&self.tz).to_rfc3339(),
            ],
            "dimensions": q.dimensions.iter().map(|d| d.name()).collect::<Vec<_>>(),
            "filters": self.filters,
            "order_by": order_by,
            "include": {"total_rows": q.total_rows, "time_labels": q.time_labels},
            "pagination": {"limit": q.limit, "offset": q.offset},
        })
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
