//! Imports in ClickHouse: the refusal of a file or day already imported,
//! writing an import's record and totals, listing and deleting imports.
//!
//! The record is written before the totals, so every stored total belongs
//! to a listed import: an import interrupted half way shows in
//! `schema import list` and goes with `schema import delete` like any other.

use super::tally::{Day, StatRow};
use super::{iso_day, Format, ImportError};
use crate::client::{Db, DbError};
use crate::erase;
use clickhouse::Row;
use serde::Serialize;
use std::time::Duration;

/// Rows per `INSERT` of totals.
const INSERT_ROWS: usize = 100_000;

#[derive(Debug, Row, Serialize)]
struct ImportRow {
    site: String,
    id: u64,
    format: String,
    files: Vec<String>,
    sha256: Vec<String>,
    first_day: u16,
    day: u16,
    days: u32,
    rows_read: u64,
    rows_skipped: u64,
    imported_at: u32,
}

#[derive(Debug, Row, Serialize)]
struct StatsRow<'a> {
    site: &'a str,
    import_id: u64,
    day: u16,
    dim: &'a str,
    value: &'a str,
    visitors: u64,
    visits: u64,
    pageviews: u64,
    events: u64,
    bounces: u64,
    duration: u64,
    visit_pageviews: u64,
    time_on_page: u64,
}

/// An import as `schema import list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: u64,
    pub format: String,
    pub files: Vec<String>,
    pub first_day: String,
    pub last_day: String,
    pub days: u32,
    pub rows_read: u64,
    pub rows_skipped: u64,
}

/// A file of an import: its name as given and its content's sha256.
#[derive(Debug, Clone)]
pub struct FileId {
    pub name: String,
    pub sha256: String,
}

/// The sha256 of a file's bytes, read in pieces.
pub fn file_id(path: &std::path::Path) -> Result<FileId, ImportError> {
    use sha2::Digest;
    use std::io::Read;
    let unreadable = |e: std::io::Error| ImportError::Unreadable {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(FileId {
        name,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Refuses files a listed import of `site` already holds.
pub async fn refuse_known_files(db: &Db, site: &str, files: &[FileId]) -> Result<(), ImportError> {
    let rows = db
        .fetch_rows(&format!(
            "SELECT id, arrayStringConcat(sha256, ',') FROM imports WHERE site = {}",
            lit(site)
        ))
        .await?;
    for row in rows {
        let [id, hashes] = row.as_slice() else {
            continue;
        };
        if let Some(f) = files
            .iter()
            .find(|f| hashes.split(',').any(|h| h == f.sha256))
        {
            return Err(ImportError::Refused(format!(
                "{} was already imported for {site} as import {id}; \
                 delete that import first (`schema import delete {site} {id}`) to import it again",
                f.name
            )));
        }
    }
    Ok(())
}

/// Refuses days a listed import of `site` already holds: a day is never
/// counted twice.
pub async fn refuse_known_days(db: &Db, site: &str, days: &[Day]) -> Result<(), ImportError> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(());
    };
    let sql = format!(
        "SELECT DISTINCT import_id, toUInt16(day) FROM imported_stats WHERE site = {} AND dim = '' \
         AND toUInt16(day) >= {first} AND toUInt16(day) <= {last} ORDER BY 2 LIMIT 10000",
        lit(site)
    );
    for row in db.fetch_rows(&sql).await? {
        let [id, day] = row.as_slice() else { continue };
        let Ok(day) = day.parse::<Day>() else {
            continue;
        };
        if days.binary_search(&day).is_ok() {
            return Err(ImportError::Refused(format!(
                "{} is already imported for {site} by import {id}; \
                 delete that import first (`schema import delete {site} {id}`)",
                iso_day(day)
            )));
        }
    }
    Ok(())
}

/// The next id of `site`'s imports: one more than the largest ever listed.
async fn next_id(db: &Db, site: &str) -> Result<u64, DbError> {
    let text = db
        .fetch_tsv(&format!(
            "SELECT max(id) FROM imports WHERE site = {}",
            lit(site)
        ))
        .await?;
    Ok(text.trim().parse::<u64>().unwrap_or(0) + 1)
}

/// What a finished reading hands to [`save`].
pub struct NewImport<'a> {
    pub site: &'a str,
    pub format: Format,
    pub files: &'a [FileId],
    pub days: &'a [Day],
    pub rows_read: u64,
    pub rows_skipped: u64,
}

/// Writes the record, then the totals; returns the import's id.
pub async fn save(db: &Db, new: &NewImport<'_>, rows: &[StatRow]) -> Result<u64, ImportError> {
    let id = next_id(db, new.site).await?;
    let record = ImportRow {
        site: new.site.to_owned(),
        id,
        format: new.format.name().to_owned(),
        files: new.files.iter().map(|f| f.name.clone()).collect(),
        sha256: new.files.iter().map(|f| f.sha256.clone()).collect(),
        first_day: new.days.first().copied().unwrap_or(0),
        day: new.days.last().copied().unwrap_or(0),
        days: u32::try_from(new.days.len()).unwrap_or(u32::MAX),
        rows_read: new.rows_read,
        rows_skipped: new.rows_skipped,
        imported_at: u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(0),
    };
    let mut insert = db
        .client()
        .insert::<ImportRow>("imports")
        .await
        .map_err(DbError::from)?;
    insert.write(&record).await.map_err(DbError::from)?;
    insert.end().await.map_err(DbError::from)?;
    for chunk in rows.chunks(INSERT_ROWS) {
        let mut insert = db
            .client()
            .insert::<StatsRow>("imported_stats")
            .await
            .map_err(DbError::from)?;
        for r in chunk {
            let row = StatsRow {
                site: new.site,
                import_id: id,
                day: r.day,
                dim: r.dim.name(),
                value: &r.value,
                visitors: r.visitors,
                visits: r.visits,
                pageviews: r.pageviews,
                events: r.events,
                bounces: r.bounces,
                duration: r.duration,
                visit_pageviews: r.visit_pageviews,
                time_on_page: r.time_on_page,
            };
            insert.write(&row).await.map_err(DbError::from)?;
        }
        insert.end().await.map_err(DbError::from)?;
    }
    Ok(id)
}

/// `site`'s imports, oldest first.
pub async fn list(db: &Db, site: &str) -> Result<Vec<Listed>, ImportError> {
    check_domain(site)?;
    let rows = db
        .fetch_rows(&format!(
            "SELECT id, format, arrayStringConcat(files, '\\n'), toString(first_day), toString(day), \
             days, rows_read, rows_skipped FROM imports WHERE site = {} ORDER BY id",
            lit(site)
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match r.as_slice() {
            [id, format, files, first, last, days, read, skipped] => Some(Listed {
                id: id.parse().ok()?,
                format: format.clone(),
                files: files.lines().map(str::to_owned).collect(),
                first_day: first.clone(),
                last_day: last.clone(),
                days: days.parse().ok()?,
                rows_read: read.parse().ok()?,
                rows_skipped: skipped.parse().ok()?,
            }),
            _ => None,
        })
        .collect())
}

/// Removes import `id` of `site` and its totals, on every host; returns
/// the totals removed.
pub async fn delete(
    hosts: &[Db],
    site: &str,
    id: u64,
    deadline: Duration,
) -> Result<u64, ImportError> {
    check_domain(site)?;
    let Some(first) = hosts.first() else {
        return Ok(0);
    };
    let known = list(first, site).await?.iter().any(|i| i.id == id);
    if !known {
        return Err(ImportError::Refused(format!(
            "{site} has no import {id} (see `schema import list {site}`)"
        )));
    }
    let predicate = format!("site = {} AND import_id = {id}", lit(site));
    let count = format!("SELECT count() FROM imported_stats WHERE {predicate}");
    let rows = crate::site_tables::sum_over(hosts, &count).await?;
    // In cluster mode rows live in each shard's local table.
    let stats = crate::cluster::local_table(first, "imported_stats");
    erase::delete_rows(hosts, &stats, &predicate, deadline).await?;
    let record = format!("site = {} AND id = {id}", lit(site));
    let imports = crate::cluster::local_table(first, "imports");
    erase::delete_rows(hosts, &imports, &record, deadline).await?;
    Ok(rows)
}

fn check_domain(site: &str) -> Result<(), ImportError> {
    if crate::config::is_domain(site) {
        Ok(())
    } else {
        Err(ImportError::BadDomain(site.to_owned()))
    }
}

/// A ClickHouse string literal; site domains are checked before, so this
/// is a second fence.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}
