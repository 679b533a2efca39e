//! CSV export: ClickHouse's own `CSVWithNames` output, written to the file
//! chunk by chunk as it arrives. Arrays appear in ClickHouse's literal
//! syntax (`['a','b']`), date-times as `YYYY-MM-DD hh:mm:ss` in UTC.

use super::{io_error, next_chunk, stream, Column, ExportError};
use crate::client::Db;
use std::io::Write;
use std::path::Path;

pub(super) async fn write(
    db: &Db,
    domain: &str,
    columns: &[Column],
    out: &Path,
) -> Result<u64, ExportError> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let mut cursor = stream(db, &names.join(", "), domain, "CSVWithNames")?;
    let file = std::fs::File::create(out).map_err(io_error(out))?;
    let mut file = std::io::BufWriter::new(file);
    while let Some(chunk) = next_chunk(&mut cursor).await? {
        file.write_all(&chunk).map_err(io_error(out))?;
    }
    file.into_inner()
        .map_err(|e| io_error(out)(e.into_error()))?
        .sync_all()
        .map_err(io_error(out))?;
    count_records(out)
}

/// The data rows of the written file (a field may span lines, so lines
/// are not rows): read back, which also proves the file parses.
fn count_records(path: &Path) -> Result<u64, ExportError> {
    let mut reader = ::csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    let mut rows = 0;
    let mut record = ::csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        rows += 1;
    }
    Ok(rows)
}

fn csv_error(path: &Path, e: ::csv::Error) -> ExportError {
    ExportError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    }
}
