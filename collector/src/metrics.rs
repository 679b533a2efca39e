//! Prometheus metrics of one collector instance. Names live here as
//! constants; labels are low-cardinality (reasons, outcomes, field names),
//! never URLs, sites or anything about a visitor.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::beacon::Ignored;
use crate::pipeline::outcome::DropReason;

pub const EVENTS_ACCEPTED: &str = "analytics_events_accepted";
pub const EVENTS_DROPPED: &str = "analytics_events_dropped";
pub const EVENTS_REJECTED: &str = "analytics_requests_rejected";
pub const BATCH_FLUSHES: &str = "analytics_batch_flushes";
pub const ROWS_WRITTEN: &str = "analytics_rows_written";
pub const ROWS_LOST: &str = "analytics_rows_lost";
pub const ROWS_DEAD_LETTERED: &str = "analytics_rows_dead_lettered";
pub const INSERT_DURATION: &str = "analytics_insert_duration_seconds";
pub const QUEUE_DEPTH: &str = "analytics_queue_depth_rows";
pub const QUEUE_BYTES: &str = "analytics_queue_bytes";
pub const SPOOL_BYTES: &str = "analytics_spool_bytes";
pub const SPOOL_OLDEST: &str = "analytics_spool_oldest_seconds";
pub const SPOOL_FSYNCS: &str = "analytics_spool_fsyncs";
pub const SPOOL_ROWS_PER_FSYNC: &str = "analytics_spool_rows_per_fsync";
pub const IMPORT_LINES: &str = "analytics_import_lines";
pub const FORWARDED_IGNORED: &str = "analytics_forwarded_header_ignored";
pub const FIELDS_IGNORED: &str = "analytics_fields_ignored";
pub const PAGE_VIEWS_REMEMBERED: &str = "analytics_page_views_remembered";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FieldLabel {
    pub field: &'static str,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub accepted: Counter,
    pub dropped: Family<ReasonLabel, Counter>,
    pub rejected: Family<StatusLabel, Counter>,
    pub flushes: Family<OutcomeLabel, Counter>,
    pub rows_written: Counter,
    pub rows_lost: Counter,
    pub rows_dead_lettered: Counter,
    pub insert_duration: Histogram,
    pub queue_depth: Gauge,
    pub queue_bytes: Gauge,
    pub spool_bytes: Gauge,
    pub spool_oldest_seconds: Gauge,
    /// Group commits of the spool (one fsync each) that succeeded.
    pub spool_fsyncs: Counter,
    /// Rows each successful spool commit made durable.
    pub spool_rows_per_fsync: Histogram,
    /// Lines of `POST /api/import`, by outcome: `accepted`, `dropped`, `invalid`.
    pub import_lines: Family<OutcomeLabel, Counter>,
    /// Beacons that carried the forwarding header from a peer that is not a
    /// trusted proxy: behind a proxy, a sign `trusted_proxies` misses it.
    pub forwarded_ignored: Counter,
    /// Events stored without an optional field (or part of it) they sent,
    /// by the field's name: see [`crate::beacon::OptionalField`].
    pub fields_ignored: Family<FieldLabel, Counter>,
    /// Page views the engagement check remembers (see
    /// [`crate::pipeline::engagement`]), as of the last expiry run.
    pub page_views_remembered: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Self {
            registry: Registry::default(),
            accepted: Counter::default(),
            dropped: Family::default(),
            rejected: Family::default(),
            flushes: Family::default(),
            rows_written: Counter::default(),
            rows_lost: Counter::default(),
            rows_dead_lettered: Counter::default(),
            insert_duration: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            queue_depth: Gauge::default(),
            queue_bytes: Gauge::default(),
            spool_bytes: Gauge::default(),
            spool_oldest_seconds: Gauge::default(),
            spool_fsyncs: Counter::default(),
            spool_rows_per_fsync: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            import_lines: Family::default(),
            forwarded_ignored: Counter::default(),
            fields_ignored: Family::default(),
            page_views_remembered: Gauge::default(),
        };
        m.register();
        m
    }
}

impl Metrics {
    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            EVENTS_ACCEPTED,
            "Events accepted for storage",
            self.accepted.clone(),
        );
        r.register(
            EVENTS_DROPPED,
            "Beacons dropped on purpose, by reason",
            self.dropped.clone(),
        );
        r.register(
            EVENTS_REJECTED,
            "Requests refused with an error status",
            self.rejected.clone(),
        );
        r.register(
            BATCH_FLUSHES,
            "Batch inserts, by outcome",
            self.flushes.clone(),
        );
        r.register(
            ROWS_WRITTEN,
            "Rows written to ClickHouse",
            self.rows_written.clone(),
        );
        r.register(
            ROWS_LOST,
            "Accepted rows lost: given up on and no dead-letter file could be written",
            self.rows_lost.clone(),
        );
        r.register(
            ROWS_DEAD_LETTERED,
            "Accepted rows ClickHouse would not take, kept in dead-letter files",
            self.rows_dead_lettered.clone(),
        );
        r.register(
            INSERT_DURATION,
            "Duration of batch inserts",
            self.insert_duration.clone(),
        );
        r.register(
            FORWARDED_IGNORED,
            "Beacons whose forwarding header was ignored: their peer is not a trusted proxy",
            self.forwarded_ignored.clone(),
        );
        r.register(
            SPOOL_OLDEST,
            "Age of the oldest spool segment not yet written to ClickHouse",
            self.spool_oldest_seconds.clone(),
        );
        r.register(
            SPOOL_BYTES,
            "Bytes of spooled rows not yet written to ClickHouse",
            self.spool_bytes.clone(),
        );
        r.register(
            SPOOL_FSYNCS,
            "Spool group commits, one fsync each",
            self.spool_fsyncs.clone(),
        );
        r.register(
            SPOOL_ROWS_PER_FSYNC,
            "Rows made durable by each spool group commit",
            self.spool_rows_per_fsync.clone(),
        );
        r.register(
            QUEUE_BYTES,
            "Bytes held by rows waiting for the writer",
            self.queue_bytes.clone(),
        );
        r.register(
            QUEUE_DEPTH,
            "Rows waiting in memory for the writer",
            self.queue_depth.clone(),
        );
        r.register(
            IMPORT_LINES,
            "Lines of POST /api/import, by outcome (accepted, dropped, invalid)",
            self.import_lines.clone(),
        );
        r.register(
            FIELDS_IGNORED,
            "Events kept without an optional field they sent (or part of it), by field",
            self.fields_ignored.clone(),
        );
        r.register(
            PAGE_VIEWS_REMEMBERED,
            "Recent page views held in memory to check engagement beacons against",
            self.page_views_remembered.clone(),
        );
    }

    pub fn dropped(&self, reason: DropReason) {
        self.dropped
            .get_or_create(&ReasonLabel {
                reason: reason.as_str().into(),
            })
            .inc();
    }

    pub fn rejected(&self, status: u16) {
        self.rejected.get_or_create(&StatusLabel { status }).inc();
    }

    /// Counts `n` imported lines with this outcome.
    pub fn imported(&self, outcome: &'static str, n: u64) {
        if n > 0 {
            let counter = self.import_lines.get_or_create(&OutcomeLabel { outcome });
            counter.inc_by(n);
        }
    }

    /// Counts each optional field a parsed event left out. Nothing to do,
    /// and no lock taken, for the usual event that left none out.
    pub fn fields_ignored(&self, ignored: Ignored) {
        for field in ignored.iter() {
            let label = FieldLabel {
                field: field.as_str(),
            };
            self.fields_ignored.get_or_create(&label).inc();
        }
    }

    pub fn flushed(&self, outcome: &'static str) {
        self.flushes.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::OptionalField;

    #[test]
    fn ignored_fields_are_counted_by_name() {
        let metrics = Metrics::default();
        metrics.fields_ignored(Ignored::default());
        assert!(!metrics.render().contains("analytics_fields_ignored_total{"));
        let mut ignored = Ignored::default();
        ignored.add(OptionalField::Props);
        ignored.add(OptionalField::HashMode);
        metrics.fields_ignored(ignored);
        let mut props_only = Ignored::default();
        props_only.add(OptionalField::Props);
        metrics.fields_ignored(props_only);
        let text = metrics.render();
        assert!(
            text.contains("analytics_fields_ignored_total{field=\"props\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("analytics_fields_ignored_total{field=\"hashMode\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("field=\"revenue\""), "{text}");
    }
}
