//! `schema site export`: every stored event of one site, all columns of
//! `events`, written to a file as CSV with a header row, or as Parquet when
//! the name ends in `.parquet`.
//!
//! Only `events` is exported: the visit and rollup tables are derived from
//! it and can be rebuilt. Rows are streamed from ClickHouse to the file, in
//! storage order, so a big site is never held in memory (Parquet keeps one
//! row group of [`parquet::ROW_GROUP_ROWS`] rows at a time).

mod csv;
mod parquet;

use crate::client::{Db, DbError, QUERY_TIMEOUT};
use crate::config::is_domain;
use clickhouse::query::BytesCursor;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "`{0}` is not a site domain (lowercase letters, digits, dots and dashes; no wildcards)"
    )]
    BadDomain(String),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing Parquet to {path}: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("the server's rows could not be read: {0}")]
    Decode(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One column of `events` as the export reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The ClickHouse type, e.g. `DateTime('UTC')` or `Array(String)`.
    pub ty: String,
}

/// Writes every event of `domain` to `out`; returns the rows written.
pub async fn export_site(db: &Db, domain: &str, out: &Path) -> Result<u64, ExportError> {
    if !is_domain(domain) {
        return Err(ExportError::BadDomain(domain.to_owned()));
    }
    let columns = event_columns(db).await?;
    let is_parquet = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if is_parquet {
        parquet::write(db, domain, &columns, out).await
    } else {
        csv::write(db, domain, &columns, out).await
    }
}

/// The columns of `events`, in table order.
pub async fn event_columns(db: &Db) -> Result<Vec<Column>, DbError> {
    let rows = db
        .fetch_rows(&format!("DESCRIBE TABLE {}.events", db.database()))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [name, ty, ..] => Some(Column {
                name: name.clone(),
                ty: ty.clone(),
            }),
            _ => None,
        })
        .collect())
}

/// Streams `SELECT <select> FROM events WHERE site = ...` in `format`.
fn stream(db: &Db, select: &str, domain: &str, format: &str) -> Result<BytesCursor, DbError> {
    let sql = format!("SELECT {select} FROM events WHERE site = '{domain}'");
    Ok(db.client().query(&sql).fetch_bytes(format)?)
}

/// The next chunk of a stream, failing if the server stalls: the export as
/// a whole may take long, but no single read may.
async fn next_chunk(cursor: &mut BytesCursor) -> Result<Option<bytes::Bytes>, DbError> {
    tokio::time::timeout(QUERY_TIMEOUT, cursor.next())
        .await
        .map_err(|_| DbError::Timeout(QUERY_TIMEOUT))?
        .map_err(DbError::from)
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}
