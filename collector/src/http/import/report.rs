//! What an import answers: how many lines were accepted, dropped (by
//! reason) and invalid (each with its line number and error, the list
//! capped but the count exact).

use crate::metrics::Metrics;
use crate::pipeline::outcome::DropReason;
use serde::Serialize;
use std::collections::BTreeMap;

/// At most this many invalid lines are listed; `invalid_count` counts all.
pub const MAX_LISTED_INVALID: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub accepted: u64,
    pub dropped: BTreeMap<&'static str, u64>,
    pub invalid: Vec<InvalidLine>,
    pub invalid_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvalidLine {
    pub line: u64,
    pub error: String,
}

impl Report {
    pub fn dropped(&mut self, reason: DropReason) {
        *self.dropped.entry(reason.as_str()).or_default() += 1;
    }

    pub fn invalid(&mut self, line: u64, error: String) {
        self.invalid_count += 1;
        if self.invalid.len() < MAX_LISTED_INVALID {
            self.invalid.push(InvalidLine { line, error });
        }
    }

    /// Adds the outcomes of later lines, and counts them in `/metrics`:
    /// lines are counted once their outcome is final.
    pub fn merge(&mut self, later: Report, metrics: &Metrics) {
        metrics.imported("accepted", later.accepted);
        metrics.imported("dropped", later.dropped.values().sum());
        metrics.imported("invalid", later.invalid_count);
        self.accepted += later.accepted;
        for (reason, n) in later.dropped {
            *self.dropped.entry(reason).or_default() += n;
        }
        let room = MAX_LISTED_INVALID.saturating_sub(self.invalid.len());
        self.invalid.extend(later.invalid.into_iter().take(room));
        self.invalid_count += later.invalid_count;
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a report serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_as_documented() {
        let mut report = Report {
            accepted: 2,
            ..Report::default()
        };
        report.dropped(DropReason::Bot);
        report.dropped(DropReason::Bot);
        report.invalid(3, "url: is required".into());
        assert_eq!(
            report.to_json(),
            json!({
                "accepted": 2,
                "dropped": {"bot": 2},
                "invalid": [{"line": 3, "error": "url: is required"}],
                "invalid_count": 1
            })
        );
    }

    #[test]
    fn the_invalid_list_is_capped_but_the_count_is_not() {
        let metrics = Metrics::default();
        let mut total = Report::default();
        for chunk in 0..3u64 {
            let mut later = Report::default();
            for i in 0..600 {
                later.invalid(chunk * 600 + i + 1, "x".into());
            }
            total.merge(later, &metrics);
        }
        assert_eq!(total.invalid_count, 1800);
        assert_eq!(total.invalid.len(), MAX_LISTED_INVALID);
        assert_eq!(total.invalid.last().unwrap().line, 1000);
        let text = metrics.render();
        assert!(
            text.contains("analytics_import_lines_total{outcome=\"invalid\"} 1800"),
            "{text}"
        );
    }
}
