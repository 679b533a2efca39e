//! Reading a collector's `/metrics` text by whole samples, so a check for
//! one value can never match another that merely starts the same.

use std::collections::BTreeMap;

/// The samples of a Prometheus text exposition (`/metrics`), by their full
/// name with labels as written, such as
/// `analytics_events_dropped_total{reason="dnt"}`. Whole lines are parsed,
/// so `... 3` is never mistaken for `... 30`.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("a metrics line without a value: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("a metrics line with a bad value: {line:?}"));
        let earlier = samples.insert(name.to_owned(), value);
        assert!(earlier.is_none(), "{name} appears twice in\n{text}");
    }
    samples
}

/// One sample of `/metrics` text, `None` if it is not there.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    parse_metrics(text).get(name).copied()
}

/// Fails unless `/metrics` text has the sample `name` with exactly `value`.
pub fn assert_metric(text: &str, name: &str, value: f64) {
    assert_eq!(metric(text, name), Some(value), "{name} in\n{text}");
}

/// Fails unless `/metrics` text counts exactly `count` drops for each reason.
pub fn assert_dropped(metrics: &str, expected: &[(&str, u64)]) {
    for (reason, count) in expected {
        let name = format!("analytics_events_dropped_total{{reason=\"{reason}\"}}");
        assert_metric(metrics, &name, *count as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP analytics_events_accepted Events accepted for storage\n\
        # TYPE analytics_events_accepted counter\n\
        analytics_events_accepted_total 30\n\
        analytics_events_dropped_total{reason=\"dnt\"} 1\n\
        analytics_spool_bytes 0\n\
        # EOF\n";

    #[test]
    fn metrics_are_read_by_whole_lines() {
        // A substring check for "..._total 3" would match this 30.
        assert_eq!(metric(TEXT, "analytics_events_accepted_total"), Some(30.0));
        assert_eq!(
            metric(TEXT, "analytics_events_dropped_total{reason=\"dnt\"}"),
            Some(1.0)
        );
        assert_eq!(metric(TEXT, "analytics_events_dropped_total"), None);
        assert_eq!(metric(TEXT, "analytics_spool_bytes"), Some(0.0));
        assert_eq!(parse_metrics(TEXT).len(), 3);
    }

    #[test]
    #[should_panic(expected = "analytics_events_accepted_total")]
    fn a_different_value_fails() {
        assert_metric(TEXT, "analytics_events_accepted_total", 3.0);
    }
}
