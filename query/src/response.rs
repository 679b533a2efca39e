//! A finished report as Plausible's v2 response JSON, or as CSV.

use crate::dates::Span;
use crate::report::Row;
use crate::request::{Direction, Metric, Query, SortKey};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

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

    /// A header row of dimension and metric names, then one row per result.
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
            out.write_record(row.dimensions.iter().cloned().chain(metrics))?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
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
