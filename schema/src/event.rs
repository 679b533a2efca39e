//! The rows the services write to and read from ClickHouse, with the column
//! types each one expects, so start-up can compare them with the live table
//! (a silent RowBinary mismatch can make the server misread whole inserts).

use clickhouse::Row;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// A table's name and the `(column, ClickHouse type)` pairs a row struct writes.
pub trait TableRow: Row {
    const TABLE: &'static str;
    const COLUMNS: &'static [(&'static str, &'static str)];
}

/// The `scroll_depth` of an `engagement` event that reported none (no `sd`,
/// or one that is not a number), as Plausible stores it: reported depths
/// are 0..=100, so queries tell the two apart with `scroll_depth <= 100`.
/// Other events store 0: the column means something only for engagement.
pub const NO_SCROLL_DEPTH: u8 = 255;

/// Seconds after a UTC midnight during which an event also carries
/// `prev_visitor_id`: the collector stitches with it, and the privacy
/// statement's description of the column states it.
pub const MIDNIGHT_STITCH_SECONDS: u64 = 1800;

/// One stored event. `timestamp` is seconds since the Unix epoch, UTC.
///
/// Text is `CompactString`: nearly every value of an event (browser, OS,
/// country, source, a typical path) fits in its 24 inline bytes, so a row
/// costs no allocation per column on the ingest path.
#[derive(Debug, Clone, PartialEq, Default, Row, Serialize, Deserialize)]
pub struct EventRow {
    pub timestamp: u32,
    pub site: CompactString,
    pub name: CompactString,
    pub hostname: CompactString,
    pub pathname: CompactString,
    pub visitor_id: u64,
    pub referrer: CompactString,
    pub utm_source: CompactString,
    pub utm_medium: CompactString,
    pub utm_campaign: CompactString,
    pub utm_content: CompactString,
    pub utm_term: CompactString,
    pub props_keys: Vec<String>,
    pub props_values: Vec<String>,
    pub interactive: u8,
    pub screen_width: u16,
    pub scroll_depth: u8,
    pub engagement_ms: u32,
    pub revenue_amount: CompactString,
    pub revenue_currency: CompactString,
    pub browser: CompactString,
    pub browser_version: CompactString,
    pub os: CompactString,
    pub os_version: CompactString,
    pub device: CompactString,
    pub screen_size: CompactString,
    pub source: CompactString,
    pub medium: CompactString,
    pub click_id_param: CompactString,
    pub country: CompactString,
    pub region: CompactString,
    pub city: CompactString,
    /// The spool batch the row was written in; 0 when written from memory.
    pub batch_id: u64,
    /// For an event in the first 30 minutes after a UTC midnight: the id the
    /// same visitor had under the previous day's salt, so the query service
    /// can keep a visit that crosses midnight as one. 0 at any other time or
    /// when that salt was not available. Defaults to 0 when reading rows
    /// written before the column existed (older spool segments).
    #[serde(default)]
    pub prev_visitor_id: u64,
}

impl TableRow for EventRow {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("timestamp", "DateTime('UTC')"),
        ("site", "String"),
        ("name", "String"),
        ("hostname", "String"),
        ("pathname", "String"),
        ("visitor_id", "UInt64"),
        ("referrer", "String"),
        ("utm_source", "String"),
        ("utm_medium", "String"),
        ("utm_campaign", "String"),
        ("utm_content", "String"),
        ("utm_term", "String"),
        ("props_keys", "Array(String)"),
        ("props_values", "Array(String)"),
        ("interactive", "UInt8"),
        ("screen_width", "UInt16"),
        ("scroll_depth", "UInt8"),
        ("engagement_ms", "UInt32"),
        ("revenue_amount", "String"),
        ("revenue_currency", "String"),
        ("browser", "String"),
        ("browser_version", "String"),
        ("os", "String"),
        ("os_version", "String"),
        ("device", "String"),
        ("screen_size", "String"),
        ("source", "String"),
        ("medium", "String"),
        ("click_id_param", "String"),
        ("country", "String"),
        ("region", "String"),
        ("city", "String"),
        ("batch_id", "UInt64"),
        ("prev_visitor_id", "UInt64"),
    ];
}

/// A candidate salt for one UTC day. `day` is days since the Unix epoch.
/// `salt` is `FixedString(32)`, which RowBinary carries as 32 raw bytes.
#[derive(Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct SaltRow {
    pub day: u16,
    pub salt: [u8; 32],
    pub created_at: u32,
}

/// Never print salt bytes, even in a debug dump.
impl std::fmt::Debug for SaltRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaltRow")
            .field("day", &self.day)
            .field("salt", &"<redacted>")
            .finish()
    }
}

/// Salt bytes are wiped when a row goes away, wherever it was copied.
impl Drop for SaltRow {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.salt);
    }
}

impl TableRow for SaltRow {
    const TABLE: &'static str = "salts";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("day", "Date"),
        ("salt", "FixedString(32)"),
        ("created_at", "DateTime"),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared<T: TableRow>() -> Vec<&'static str> {
        T::COLUMNS.iter().map(|(name, _)| *name).collect()
    }

    #[test]
    fn declared_columns_follow_the_struct_fields() {
        assert_eq!(declared::<EventRow>(), EventRow::COLUMN_NAMES);
        assert_eq!(declared::<SaltRow>(), SaltRow::COLUMN_NAMES);
    }
}
