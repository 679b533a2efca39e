//! Where batches go: a narrow trait, so the batcher can be tested with a sink
//! that fails on purpose, and its ClickHouse implementation.

use schema::{Db, EncodedRows};
use std::future::Future;
use std::time::Duration;

/// How long one batch insert may take before it counts as a transient
/// failure. Without it, a stalled server would stall the writer for good.
pub const INSERT_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a batch goes into one piece of the request body.
const SEND_PIECE_BYTES: usize = 256 * 1024;

/// A failed insert, and whether trying again can help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    pub retryable: bool,
    pub message: String,
}

pub trait EventSink: Send + Sync + 'static {
    /// Stores all rows or none of them.
    fn insert(&self, rows: &EncodedRows) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// How many rows of spool batch `batch_id` are stored: asked before a
    /// retry, since a failed insert may have landed after all.
    fn stored_in_batch(
        &self,
        _batch_id: u64,
    ) -> impl Future<Output = Result<u64, SinkError>> + Send {
        std::future::ready(Ok(0))
    }
}

/// One `INSERT` per batch into the `events` table.
#[derive(Debug, Clone)]
pub struct ClickHouseSink {
    db: Db,
    /// The database's client, with the compression [`compression_for`] its
    /// address calls for.
    inserts: clickhouse::Client,
}

impl ClickHouseSink {
    /// `url` is the server's address (`[clickhouse] url`).
    pub fn new(db: Db, url: &str) -> Self {
        let inserts = db.client().clone().with_compression(compression_for(url));
        Self { db, inserts }
    }
}

/// LZ4 for a ClickHouse across a network, none on loopback: there the
/// bytes cost nothing to move, while compressing them costs the collector
/// CPU and decompressing them costs ClickHouse CPU, on the same machine.
pub fn compression_for(url: &str) -> clickhouse::Compression {
    let loopback = url::Url::parse(url)
        .ok()
        .is_some_and(|url| match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        });
    if loopback {
        clickhouse::Compression::None
    } else {
        // Named, not `default()`: the crate's default is `None` whenever its
        // `test-util` feature is on, as it is in workspace test builds.
        clickhouse::Compression::Lz4
    }
}

impl EventSink for ClickHouseSink {
    async fn insert(&self, rows: &EncodedRows) -> Result<(), SinkError> {
        tokio::time::timeout(INSERT_TIMEOUT, self.insert_all(rows))
            .await
            .unwrap_or_else(|_| {
                Err(SinkError {
                    retryable: true,
                    message: format!("insert timed out after {INSERT_TIMEOUT:?}"),
                })
            })
    }

    async fn stored_in_batch(&self, batch_id: u64) -> Result<u64, SinkError> {
        self.count_batch(batch_id).await
    }
}

impl ClickHouseSink {
    async fn count_batch(&self, batch_id: u64) -> Result<u64, SinkError> {
        let sql = format!("SELECT count() FROM events WHERE batch_id = {batch_id}");
        let text = self.db.fetch_tsv(&sql).await.map_err(|e| SinkError {
            retryable: true,
            message: e.to_string(),
        })?;
        text.trim().parse().map_err(|_| SinkError {
            retryable: true,
            message: format!("unexpected count {text:?}"),
        })
    }

    async fn insert_all(&self, rows: &EncodedRows) -> Result<(), SinkError> {
        send_rows(&self.inserts, rows).await.map_err(classify)
    }
}

/// One `INSERT` of the batch's bytes as they are, in pieces the size the
/// crate itself sends (each one compressed on its own when the client has
/// LZ4 on). The columns were checked against the live table at start-up.
pub async fn send_rows(
    client: &clickhouse::Client,
    rows: &EncodedRows,
) -> Result<(), clickhouse::error::Error> {
    let mut insert = client.insert_formatted_with(schema::row_binary::insert_sql());
    for piece in rows.bytes.chunks(SEND_PIECE_BYTES) {
        insert.send(bytes::Bytes::copy_from_slice(piece)).await?;
    }
    insert.end().await
}

/// ClickHouse error codes that no retry can fix: the data or the schema is
/// wrong. Anything else (network, timeouts, memory limits, too many parts)
/// is worth another try.
const PERMANENT_CODES: &[u32] = &[
    16,  // NO_SUCH_COLUMN_IN_TABLE
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    33,  // CANNOT_READ_ALL_DATA
    53,  // TYPE_MISMATCH
    60,  // UNKNOWN_TABLE
    62,  // SYNTAX_ERROR
    81,  // UNKNOWN_DATABASE
    117, // INCORRECT_DATA
];

pub fn classify(e: clickhouse::error::Error) -> SinkError {
    use clickhouse::error::Error as E;
    let message = e.to_string();
    let retryable = match &e {
        E::Network(_) | E::TimedOut => true,
        E::BadResponse(text) => error_code(text).is_none_or(|c| !PERMANENT_CODES.contains(&c)),
        _ => false,
    };
    SinkError { retryable, message }
}

/// The `N` of `Code: N` in a ClickHouse error body.
fn error_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_error_codes() {
        assert_eq!(
            error_code("Code: 53, e.displayText() = DB::Exception"),
            Some(53)
        );
        assert_eq!(
            error_code("Code: 241. DB::Exception: Memory limit"),
            Some(241)
        );
        assert_eq!(error_code("no code"), None);
    }

    #[test]
    fn compression_only_off_loopback() {
        use clickhouse::Compression;
        let none = |url| matches!(compression_for(url), Compression::None);
        assert!(none("http://127.0.0.1:8123"));
        assert!(none("http://localhost:8123/"));
        assert!(none("http://[::1]:8123"));
        assert!(!none("http://clickhouse.internal:8123"));
        assert!(!none("http://10.0.0.5:8123"));
        assert!(!none("not a url"));
    }

    #[test]
    fn permanent_and_transient_errors() {
        let bad = classify(clickhouse::error::Error::BadResponse(
            "Code: 53, type mismatch".into(),
        ));
        assert!(!bad.retryable);
        let busy = classify(clickhouse::error::Error::BadResponse(
            "Code: 241, memory".into(),
        ));
        assert!(busy.retryable);
        assert!(classify(clickhouse::error::Error::TimedOut).retryable);
    }
}
