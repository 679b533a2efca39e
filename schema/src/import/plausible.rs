//! Plausible CE's CSV export: a zip of `imported_<table>[_<first>_<last>].csv`
//! files with a header row, one row per day and value, as Plausible's
//! `Exports` module writes them. Columns are found by their header names,
//! so their order does not matter and columns this import does not read
//! (scroll depth, link URLs) are ignored.
//!
//! Each file fills the dimensions its table holds: `imported_sources`
//! fills source, referrer and every UTM tag from the same rows (Plausible
//! sums them the same way when it reports them). Plausible's city is a
//! GeoNames id, which live traffic does not store, so cities are not
//! imported. `imported_visitors` also gives the event name `pageview`
//! (its pageviews and visitors), since Plausible's export lists only
//! custom events by name.

use super::tally::{Day, Dim, Tally};
use super::{day_of_iso, Problem, Reading};
use std::collections::HashMap;
use std::io::Read;

/// The tables of an export, by file name prefix, and the dimension each of
/// their value columns fills.
const TABLES: &[(&str, &[(&str, Dim)])] = &[
    ("imported_visitors", &[]),
    (
        "imported_sources",
        &[
            ("source", Dim::Source),
            ("referrer", Dim::Referrer),
            ("utm_source", Dim::UtmSource),
            ("utm_medium", Dim::UtmMedium),
            ("utm_campaign", Dim::UtmCampaign),
            ("utm_content", Dim::UtmContent),
            ("utm_term", Dim::UtmTerm),
        ],
    ),
    ("imported_pages", &[("page", Dim::Page)]),
    ("imported_entry_pages", &[("entry_page", Dim::EntryPage)]),
    ("imported_exit_pages", &[("exit_page", Dim::ExitPage)]),
    ("imported_custom_events", &[("name", Dim::Name)]),
    (
        "imported_locations",
        &[("country", Dim::Country), ("region", Dim::Region)],
    ),
    ("imported_devices", &[("device", Dim::Device)]),
    (
        "imported_browsers",
        &[
            ("browser", Dim::Browser),
            ("browser_version", Dim::BrowserVersion),
        ],
    ),
    (
        "imported_operating_systems",
        &[
            ("operating_system", Dim::Os),
            ("operating_system_version", Dim::OsVersion),
        ],
    ),
];

/// Why a row was skipped.
pub mod reason {
    pub const BAD_DATE: &str = "date missing or not YYYY-MM-DD";
    pub const BAD_NUMBER: &str = "a count is not a whole number";
    pub const BAD_CSV: &str = "not a CSV row";
}

/// The table an entry of the zip holds, by its name.
fn table_of(entry: &str) -> Option<&'static [(&'static str, Dim)]> {
    let file = entry.rsplit('/').next()?;
    let stem = file.strip_suffix(".csv")?;
    // Longest prefix first: `imported_pages` is a prefix of nothing else,
    // but `imported_visitors_20240101_...` must not match a shorter name.
    TABLES
        .iter()
        .filter(|(name, _)| {
            stem == *name || stem.strip_prefix(name).is_some_and(|r| r.starts_with('_'))
        })
        .max_by_key(|(name, _)| name.len())
        .map(|(_, dims)| *dims)
}

/// Reads every `imported_*.csv` of the zip into `tally`; `reading` counts
/// rows and decides, by `--strict`, whether a bad row stops the import.
/// Returns the entries it did not recognise.
pub fn read_zip<R: Read + std::io::Seek>(
    zip: R,
    tally: &mut Tally,
    reading: &mut Reading,
) -> Result<Vec<String>, super::ImportError> {
    let mut archive = zip::ZipArchive::new(zip).map_err(|e| reading.unreadable(e))?;
    let mut ignored = Vec::new();
    let mut custom_events: HashMap<Day, u64> = HashMap::new();
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| reading.unreadable(e))?;
        let name = entry.name().to_owned();
        let Some(dims) = table_of(&name) else {
            if !entry.is_dir() {
                ignored.push(name);
            }
            continue;
        };
        reading.enter(&name);
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(entry);
        let headers = csv.headers().map_err(|e| reading.unreadable(e))?.clone();
        let column = |n: &str| headers.iter().position(|h| h.trim() == n);
        let date = column("date");
        let value_columns: Vec<(Option<usize>, Dim)> =
            dims.iter().map(|(c, d)| (column(c), *d)).collect();
        let numbers = Numbers::locate(&column);
        let mut record = csv::StringRecord::new();
        loop {
            let result = csv.read_record(&mut record);
            reading.line = record.position().map_or(reading.line + 1, |p| p.line());
            match result {
                Ok(false) => break,
                Ok(true) => {}
                Err(_) => {
                    reading.problem(Problem::field("(row)", reason::BAD_CSV))?;
                    continue;
                }
            }
            reading.row();
            let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").trim();
            let Some(day) = day_of_iso(get(date)) else {
                reading.problem(Problem::field("date", reason::BAD_DATE))?;
                continue;
            };
            let counts = match numbers.read(&get) {
                Ok(c) => c,
                Err(field) => {
                    reading.problem(Problem::field(field, reason::BAD_NUMBER))?;
                    continue;
                }
            };
            if dims.is_empty() {
                add(tally, day, Dim::Total, "", &counts);
                let named = tally.cell(day, Dim::Name, "pageview");
                named.visitors += counts.visitors;
                named.events += counts.pageviews;
                continue;
            }
            if dims[0].1 == Dim::Name {
                *custom_events.entry(day).or_default() += counts.events;
            }
            for (column, dim) in &value_columns {
                add(tally, day, *dim, get(*column), &counts);
            }
        }
    }
    // Native `events` count pageviews and custom events alike.
    for (day, events) in custom_events {
        tally.cell(day, Dim::Total, "").events += events;
    }
    Ok(ignored)
}

/// The counts of one row; a column the file lacks counts 0.
#[derive(Debug, Default)]
struct Counts {
    visitors: u64,
    visits: u64,
    pageviews: u64,
    events: u64,
    bounces: u64,
    duration: u64,
    time_on_page: u64,
}

/// Where each count is, by header name. Entry and exit pages name their
/// visits `entrances` and `exits` (or `visit_exits`).
struct Numbers {
    columns: Vec<(&'static str, Option<usize>)>,
}

const COUNT_COLUMNS: &[&str] = &[
    "visitors",
    "visits",
    "entrances",
    "exits",
    "visit_exits",
    "pageviews",
    "events",
    "bounces",
    "visit_duration",
    "total_time_on_page",
];

impl Numbers {
    fn locate(column: &dyn Fn(&str) -> Option<usize>) -> Self {
        Self {
            columns: COUNT_COLUMNS.iter().map(|n| (*n, column(n))).collect(),
        }
    }

    fn read<'r>(&self, get: &dyn Fn(Option<usize>) -> &'r str) -> Result<Counts, &'static str> {
        let mut c = Counts::default();
        for (name, at) in &self.columns {
            let text = get(*at);
            let n: u64 = if text.is_empty() {
                0
            } else {
                text.parse().map_err(|_| *name)?
            };
            match *name {
                "visitors" => c.visitors = n,
                "visits" | "entrances" | "exits" | "visit_exits" => c.visits = c.visits.max(n),
                "pageviews" => c.pageviews = n,
                "events" => c.events = n,
                "bounces" => c.bounces = n,
                "visit_duration" => c.duration = n,
                _ => c.time_on_page = n,
            }
        }
        Ok(c)
    }
}

fn add(tally: &mut Tally, day: Day, dim: Dim, value: &str, c: &Counts) {
    let cell = tally.cell(day, dim, value);
    cell.visitors += c.visitors;
    cell.visits += c.visits;
    cell.pageviews += c.pageviews;
    cell.bounces += c.bounces;
    cell.duration += c.duration;
    cell.time_on_page += c.time_on_page;
    cell.events += if dim == Dim::Name {
        c.events
    } else {
        c.pageviews
    };
    // Plausible keeps no per-visit pageviews beside pageviews.
    if dim != Dim::Page && dim != Dim::Name {
        cell.visit_pageviews += c.pageviews;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_by_file_name() {
        assert!(table_of("imported_visitors_20240101_20240131.csv").is_some_and(|d| d.is_empty()));
        assert_eq!(
            table_of("imported_pages.csv").map(|d| d[0].1),
            Some(Dim::Page)
        );
        assert_eq!(
            table_of("x/imported_entry_pages_20240101_20240131.csv").map(|d| d[0].1),
            Some(Dim::EntryPage)
        );
        assert!(table_of("README.txt").is_none());
        assert!(table_of("imported_pagesx.csv").is_none());
    }
}
