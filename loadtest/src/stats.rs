//! What a run counts and how it is reported: per-sender tallies and HDR
//! latency histograms, merged into one [`Report`] that prints as a table or
//! serialises as JSON.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Latencies are recorded in microseconds, from 1 µs to 60 s, at three
/// significant digits.
const HIGHEST_MICROS: u64 = 60_000_000;

/// One sender's counts; merged at the end of the run.
#[derive(Debug, Clone)]
pub struct Tally {
    pub sent: u64,
    pub accepted: u64,
    /// `202` with `X-Analytics-Dropped`, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Any status but `202`, by status code.
    pub errors: BTreeMap<u16, u64>,
    /// Requests that got no answer: connection refused, reset, timed out.
    pub transport_errors: BTreeMap<String, u64>,
    pub latency: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            sent: 0,
            accepted: 0,
            dropped: BTreeMap::new(),
            errors: BTreeMap::new(),
            transport_errors: BTreeMap::new(),
            latency: Histogram::new_with_bounds(1, HIGHEST_MICROS, 3).expect("valid bounds"),
        }
    }
}

impl Tally {
    pub fn record_latency(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency
            .saturating_record(micros.clamp(1, HIGHEST_MICROS));
    }

    pub fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        self.accepted += other.accepted;
        for (k, v) in other.dropped {
            *self.dropped.entry(k).or_default() += v;
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.transport_errors {
            *self.transport_errors.entry(k).or_default() += v;
        }
        self.latency.add(&other.latency).expect("same bounds");
    }
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        if h.is_empty() {
            return Self::default();
        }
        Self {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// Whether the stored rows matched the accepted beacons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Rows the run should have added: accepted beacons (one site each).
    pub expected: u64,
    /// Rows the run did add (stored now minus stored before the run).
    pub stored: u64,
    pub ok: bool,
    /// How long after the last answer the counts matched, or the timeout.
    pub waited_s: f64,
}

/// The outcome of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub target: String,
    /// `closed-loop` or `open-loop`.
    pub mode: String,
    pub connections: usize,
    /// The open-loop target rate, per second.
    pub rate: Option<f64>,
    pub seed: u64,
    /// Requests answered or failed.
    pub sent: u64,
    pub accepted: u64,
    pub dropped: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub transport_errors: BTreeMap<String, u64>,
    pub elapsed_s: f64,
    /// Requests answered per second (any status).
    pub throughput_per_s: f64,
    pub accepted_per_s: f64,
    pub latency: Latency,
    pub verification: Option<Verification>,
}

/// What the report needs besides the counts.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub target: String,
    pub mode: &'static str,
    pub connections: usize,
    pub rate: Option<f64>,
    pub seed: u64,
    pub elapsed: Duration,
}

impl Report {
    pub fn new(info: RunInfo, tally: Tally) -> Self {
        let seconds = info.elapsed.as_secs_f64().max(1e-9);
        let answered = tally.sent - tally.transport_errors.values().sum::<u64>();
        Self {
            target: info.target,
            mode: info.mode.to_owned(),
            connections: info.connections,
            rate: info.rate,
            seed: info.seed,
            sent: tally.sent,
            accepted: tally.accepted,
            dropped: tally.dropped,
            errors: tally
                .errors
                .into_iter()
                .map(|(status, n)| (status.to_string(), n))
                .collect(),
            transport_errors: tally.transport_errors,
            elapsed_s: seconds,
            throughput_per_s: answered as f64 / seconds,
            accepted_per_s: tally.accepted as f64 / seconds,
            latency: Latency::of(&tally.latency),
            verification: None,
        }
    }

    /// Whether the run had no failures and, if verified, stored exactly the
    /// accepted beacons.
    pub fn ok(&self) -> bool {
        self.verification.as_ref().is_none_or(|v| v.ok)
    }

    /// The final table, for a terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut row = |label: &str, value: String| {
            let _ = writeln!(out, "  {label:<24} {value}");
        };
        let mode = match self.rate {
            Some(rate) => format!("{} at {rate:.0}/s", self.mode),
            None => self.mode.clone(),
        };
        row("target", self.target.clone());
        row(
            "mode",
            format!(
                "{mode}, {} connections, seed {}",
                self.connections, self.seed
            ),
        );
        row("sent", self.sent.to_string());
        row("accepted", self.accepted.to_string());
        for (reason, n) in &self.dropped {
            row(&format!("dropped: {reason}"), n.to_string());
        }
        for (status, n) in &self.errors {
            row(&format!("error: status {status}"), n.to_string());
        }
        for (kind, n) in &self.transport_errors {
            row(&format!("error: {kind}"), n.to_string());
        }
        row("elapsed", format!("{:.2} s", self.elapsed_s));
        row(
            "throughput",
            format!(
                "{:.0} req/s ({:.0} accepted/s)",
                self.throughput_per_s, self.accepted_per_s
            ),
        );
        let l = &self.latency;
        row(
            "latency p50/p90/p99",
            format!("{:.3} / {:.3} / {:.3} ms", l.p50_ms, l.p90_ms, l.p99_ms),
        );
        row(
            "latency p99.9/max",
            format!("{:.3} / {:.3} ms", l.p999_ms, l.max_ms),
        );
        if let Some(v) = &self.verification {
            let verdict = if v.ok {
                format!("ok: {} rows stored, as accepted", v.stored)
            } else {
                format!(
                    "MISMATCH: {} rows stored, {} accepted (difference {})",
                    v.stored,
                    v.expected,
                    v.stored as i64 - v.expected as i64
                )
            };
            row("verified", format!("{verdict} (after {:.1} s)", v.waited_s));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_merge_and_report() {
        let mut a = Tally {
            sent: 3,
            accepted: 1,
            ..Tally::default()
        };
        *a.dropped.entry("bot".into()).or_default() += 1;
        *a.errors.entry(503).or_default() += 1;
        a.record_latency(Duration::from_millis(2));
        let mut b = Tally {
            sent: 2,
            accepted: 1,
            ..Tally::default()
        };
        *b.transport_errors.entry("connect".into()).or_default() += 1;
        b.record_latency(Duration::from_millis(4));
        a.merge(b);
        let info = RunInfo {
            target: "http://127.0.0.1:1".into(),
            mode: "closed-loop",
            connections: 2,
            rate: None,
            seed: 1,
            elapsed: Duration::from_secs(1),
        };
        let report = Report::new(info, a);
        assert_eq!(report.sent, 5);
        assert_eq!(report.accepted, 2);
        assert_eq!(report.errors["503"], 1);
        assert_eq!(
            report.throughput_per_s, 4.0,
            "transport errors are not answers"
        );
        assert!((report.latency.p99_ms - 4.0).abs() < 0.01);
        let text = report.table();
        assert!(text.contains("dropped: bot"), "{text}");
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
