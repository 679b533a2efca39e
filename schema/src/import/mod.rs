//! `schema import`: history from Google Analytics 4 (its BigQuery export)
//! and from Plausible CE (its CSV export), stored as daily totals per
//! dimension value in `imported_stats`, beside the site's events and never
//! mixed into them. The Stats API adds them with `include.imports`.
//!
//! An import is one unit (a row of `imports`): an id, its files with their
//! sha256, its days and row counts. The same file is never imported twice
//! for a site, and two imports never hold the same day: a re-run is
//! refused with the id to delete first (`schema import delete`), so that
//! no day is ever counted twice.
//!
//! The files are streamed, and GA4's days are closed as the reading moves
//! on ([`ga4::Ga4`]): memory holds about two days of visits, however many
//! days the files span. Identifiers (`user_pseudo_id`,
//! `ga_session_id`) live only in memory, as keyed hashes, for counting
//! unique visitors and visits per day ([`tally`]); `user_id` is not read.
//!
//! The pieces: [`ga4`] and [`plausible`] read the two formats into a
//! [`tally::Tally`], [`countries`] maps GA4's country names, [`store`]
//! writes, lists and deletes imports.

pub mod countries;
pub mod ga4;
mod ga4_parquet;
mod plausible;
pub mod store;
pub mod tally;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use tally::{Day, Tally};

/// Which export a file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ga4,
    Plausible,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Ga4 => "ga4",
            Format::Plausible => "plausible",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Stop at the first bad row instead of skipping it.
    pub strict: bool,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("{file}:{line}: field `{field}`: {reason}")]
    Malformed {
        file: String,
        line: u64,
        field: String,
        reason: &'static str,
    },
    #[error(
        "`{0}` is not a site domain (lowercase letters, digits, dots and dashes; no wildcards)"
    )]
    BadDomain(String),
    #[error("{0}")]
    Refused(String),
    #[error("no usable row in {0}: nothing imported")]
    Empty(String),
    #[error(transparent)]
    Db(#[from] crate::DbError),
}

/// A row's fault: the field and why, and whether skipping the row would
/// leave the totals wrong (then the import stops even without `--strict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub reason: &'static str,
    pub stops: bool,
}

impl Problem {
    /// A fault that skips the row (or stops a `--strict` import).
    pub fn field(field: &str, reason: &'static str) -> Self {
        Self {
            field: field.to_owned(),
            reason,
            stops: false,
        }
    }

    /// A fault that always stops the import.
    pub fn stopping(field: &str, reason: &'static str) -> Self {
        Self {
            stops: true,
            ..Self::field(field, reason)
        }
    }
}

/// Where reading is (file and line), what it has counted, and the rule
/// for bad rows.
#[derive(Debug, Default)]
pub struct Reading {
    strict: bool,
    file: String,
    line: u64,
    pub rows_read: u64,
    pub skipped: BTreeMap<&'static str, u64>,
}

impl Reading {
    fn new(strict: bool) -> Self {
        Self {
            strict,
            ..Self::default()
        }
    }

    fn enter(&mut self, file: &str) {
        self.file = file.to_owned();
        self.line = 0;
    }

    /// Counts a row read; callers set `line` to where it starts.
    fn row(&mut self) {
        self.rows_read += 1;
    }

    /// Counts a bad row, or (with `--strict`, or for a fault that would
    /// leave the totals wrong) stops naming it.
    fn problem(&mut self, p: Problem) -> Result<(), ImportError> {
        if self.strict || p.stops {
            return Err(ImportError::Malformed {
                file: self.file.clone(),
                line: self.line,
                field: p.field,
                reason: p.reason,
            });
        }
        *self.skipped.entry(p.reason).or_default() += 1;
        Ok(())
    }

    fn unreadable(&self, e: impl std::fmt::Display) -> ImportError {
        ImportError::Unreadable {
            path: self.file.clone(),
            message: e.to_string(),
        }
    }

    pub fn rows_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// What reading the files gave.
pub struct Loaded {
    pub tally: Tally,
    pub reading: Reading,
    /// Zip entries that are not an export table.
    pub ignored: Vec<String>,
}

/// Reads `files` of `format` into daily totals. Blocking: run it off the
/// async runtime.
pub fn read(format: Format, files: &[PathBuf], opts: Options) -> Result<Loaded, ImportError> {
    let mut reading = Reading::new(opts.strict);
    let bar = progress_bar(files, opts.progress);
    match format {
        Format::Ga4 => {
            let mut ga4 = ga4::Ga4::default();
            for path in in_name_order(files) {
                reading.enter(&path.display().to_string());
                read_ga4_file(path, &mut ga4, &mut reading, &bar)?;
            }
            bar.finish_and_clear();
            Ok(Loaded {
                tally: ga4.finish(),
                reading,
                ignored: Vec::new(),
            })
        }
        Format::Plausible => {
            let mut tally = Tally::default();
            let mut ignored = Vec::new();
            for path in files {
                reading.enter(&path.display().to_string());
                let file = open(path)?;
                ignored.extend(plausible::read_zip(file, &mut tally, &mut reading)?);
                bar.inc(file_len(path));
            }
            bar.finish_and_clear();
            Ok(Loaded {
                tally,
                reading,
                ignored,
            })
        }
    }
}

/// GA4 names its export tables (and so their files) `events_YYYYMMDD`:
/// read in name order, the days come in order, and each can be closed once
/// the next but one begins ([`ga4::Ga4`]).
fn in_name_order(files: &[PathBuf]) -> Vec<&PathBuf> {
    let mut sorted: Vec<&PathBuf> = files.iter().collect();
    sorted.sort_by(|a, b| (a.file_name(), *a).cmp(&(b.file_name(), *b)));
    sorted
}

fn progress_bar(files: &[PathBuf], shown: bool) -> indicatif::ProgressBar {
    if !shown {
        return indicatif::ProgressBar::hidden();
    }
    let total: u64 = files.iter().map(|p| file_len(p)).sum();
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn open(path: &Path) -> Result<std::fs::File, ImportError> {
    std::fs::File::open(path).map_err(|e| ImportError::Unreadable {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// One GA4 file: Parquet by its magic bytes, gzip by its magic bytes,
/// newline-delimited JSON otherwise.
fn read_ga4_file(
    path: &Path,
    ga4: &mut ga4::Ga4,
    reading: &mut Reading,
    bar: &indicatif::ProgressBar,
) -> Result<(), ImportError> {
    let mut magic = [0u8; 4];
    let n = open(path)?.read(&mut magic).unwrap_or(0);
    if n == 4 && &magic == b"PAR1" {
        let result = ga4_parquet::read(open(path)?, ga4, reading);
        bar.inc(file_len(path));
        return result;
    }
    let raw = bar.wrap_read(open(path)?);
    let input: Box<dyn Read> = if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let mut lines = BufReader::with_capacity(1 << 16, input);
    let mut line = String::new();
    loop {
        line.clear();
        let read = lines
            .read_line(&mut line)
            .map_err(|e| reading.unreadable(e))?;
        if read == 0 {
            return Ok(());
        }
        reading.line += 1;
        if line.trim().is_empty() {
            continue;
        }
        reading.row();
        let outcome = match serde_json::from_str::<ga4::Event>(&line) {
            Ok(event) => ga4.add(&event),
            Err(e) => Err(Problem::field(
                &format!("(json, column {})", e.column()),
                "not a JSON object of the GA4 export schema",
            )),
        };
        if let Err(p) = outcome {
            reading.problem(p)?;
        }
    }
}

/// Reads `files` and stores them as a new import of `site`: the files
/// are checked against earlier imports before they are read, and the days
/// found against earlier imports before anything is written.
pub async fn import(
    db: &crate::Db,
    site: &str,
    format: Format,
    files: &[PathBuf],
    opts: Options,
) -> Result<Summary, ImportError> {
    if !crate::config::is_domain(site) {
        return Err(ImportError::BadDomain(site.to_owned()));
    }
    let ids = files
        .iter()
        .map(|p| store::file_id(p))
        .collect::<Result<Vec<_>, _>>()?;
    store::refuse_known_files(db, site, &ids).await?;
    let paths = files.to_vec();
    let loaded = tokio::task::spawn_blocking(move || read(format, &paths, opts))
        .await
        .map_err(|e| ImportError::Refused(format!("the reader stopped: {e}")))??;
    let Loaded {
        tally,
        reading,
        ignored,
    } = loaded;
    let rows = tally.into_rows();
    let days = tally::days_of(&rows);
    if days.is_empty() {
        let names: Vec<String> = ids.iter().map(|f| f.name.clone()).collect();
        return Err(ImportError::Empty(names.join(", ")));
    }
    store::refuse_known_days(db, site, &days).await?;
    let new = store::NewImport {
        site,
        format,
        files: &ids,
        days: &days,
        rows_read: reading.rows_read,
        rows_skipped: reading.rows_skipped(),
    };
    let id = store::save(db, &new, &rows).await?;
    Ok(Summary {
        id,
        days,
        rows_read: reading.rows_read,
        skipped: reading.skipped,
        stored_rows: rows.len() as u64,
        ignored,
    })
}

/// `YYYYMMDD` (GA4's `event_date`) as a day number.
pub fn day_of_yyyymmdd(text: &str) -> Option<Day> {
    let date = chrono::NaiveDate::parse_from_str(text.trim(), "%Y%m%d").ok()?;
    day_number(date)
}

/// `YYYY-MM-DD` as a day number.
pub fn day_of_iso(text: &str) -> Option<Day> {
    let date = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    day_number(date)
}

fn day_number(date: chrono::NaiveDate) -> Option<Day> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Day::try_from((date - epoch).num_days()).ok()
}

/// A day number as `YYYY-MM-DD`.
pub fn iso_day(day: Day) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    (epoch + chrono::Days::new(u64::from(day)))
        .format("%Y-%m-%d")
        .to_string()
}

/// What `schema import ga4|plausible` prints at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: u64,
    pub days: Vec<Day>,
    pub rows_read: u64,
    pub skipped: BTreeMap<&'static str, u64>,
    pub stored_rows: u64,
    pub ignored: Vec<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (first, last) = (self.days.first(), self.days.last());
        writeln!(f, "import {}", self.id)?;
        match (first, last) {
            (Some(a), Some(b)) => writeln!(
                f,
                "days: {} ({} to {})",
                self.days.len(),
                iso_day(*a),
                iso_day(*b)
            )?,
            _ => writeln!(f, "days: 0")?,
        }
        writeln!(f, "rows read: {}", self.rows_read)?;
        let skipped: u64 = self.skipped.values().sum();
        writeln!(f, "rows skipped: {skipped}")?;
        for (reason, n) in &self.skipped {
            writeln!(f, "  {n}: {reason}")?;
        }
        for name in &self.ignored {
            writeln!(f, "ignored (not an export table): {name}")?;
        }
        writeln!(f, "daily totals stored: {}", self.stored_rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers() {
        assert_eq!(day_of_yyyymmdd("19700102"), Some(1));
        assert_eq!(day_of_iso("2024-01-01"), day_of_yyyymmdd("20240101"));
        assert_eq!(iso_day(day_of_iso("2024-02-29").unwrap()), "2024-02-29");
        assert_eq!(day_of_yyyymmdd("2024-01-01"), None);
        assert_eq!(day_of_iso("20240101"), None);
    }
}
