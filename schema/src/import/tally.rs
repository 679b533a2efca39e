//! Daily totals per dimension value, as an import adds them up, and the
//! rows they become in `imported_stats`.
//!
//! Unique visitors and visits are counted here from identifiers the readers
//! hash first ([`IdHasher`], keyed at random per run): a cell holds sets of
//! 64-bit hashes, never an identifier, and the sets become counts when the
//! rows are made. Nothing of them outlives the import.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

/// A day as ClickHouse's `Date` stores it: days since 1970-01-01.
pub type Day = u16;

/// The dimensions an import fills, named as the Stats API names them (and
/// as `visit_totals` stores them): `Total` is the row without a dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    Total,
    Page,
    Name,
    EntryPage,
    ExitPage,
    Source,
    Referrer,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmContent,
    UtmTerm,
    Device,
    Browser,
    BrowserVersion,
    Os,
    OsVersion,
    Country,
    Region,
    City,
}

impl Dim {
    /// Every dimension, for tests and docs to iterate over.
    pub const ALL: [Dim; 20] = [
        Dim::Total,
        Dim::Page,
        Dim::Name,
        Dim::EntryPage,
        Dim::ExitPage,
        Dim::Source,
        Dim::Referrer,
        Dim::UtmSource,
        Dim::UtmMedium,
        Dim::UtmCampaign,
        Dim::UtmContent,
        Dim::UtmTerm,
        Dim::Device,
        Dim::Browser,
        Dim::BrowserVersion,
        Dim::Os,
        Dim::OsVersion,
        Dim::Country,
        Dim::Region,
        Dim::City,
    ];

    /// The `dim` column's value.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Total => "",
            Dim::Page => "event:page",
            Dim::Name => "event:name",
            Dim::EntryPage => "visit:entry_page",
            Dim::ExitPage => "visit:exit_page",
            Dim::Source => "visit:source",
            Dim::Referrer => "visit:referrer",
            Dim::UtmSource => "visit:utm_source",
            Dim::UtmMedium => "visit:utm_medium",
            Dim::UtmCampaign => "visit:utm_campaign",
            Dim::UtmContent => "visit:utm_content",
            Dim::UtmTerm => "visit:utm_term",
            Dim::Device => "visit:device",
            Dim::Browser => "visit:browser",
            Dim::BrowserVersion => "visit:browser_version",
            Dim::Os => "visit:os",
            Dim::OsVersion => "visit:os_version",
            Dim::Country => "visit:country",
            Dim::Region => "visit:region",
            Dim::City => "visit:city",
        }
    }
}

/// Hashes identifiers with a key drawn per run, so the hashes mean nothing
/// outside this process either.
#[derive(Default)]
pub struct IdHasher(foldhash::quality::RandomState);

impl IdHasher {
    pub fn id(&self, parts: &[&str]) -> u64 {
        self.0.hash_one(parts)
    }
}

/// What one (day, dimension, value) adds up to. Either the counted sets or
/// the given numbers fill `visitors` and `visits`: a GA4 export gives
/// identifiers, a Plausible export gives counts.
#[derive(Debug, Default)]
pub struct Cell {
    users: HashSet<u64, foldhash::fast::RandomState>,
    sessions: HashSet<u64, foldhash::fast::RandomState>,
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    pub events: u64,
    pub bounces: u64,
    pub duration: u64,
    pub visit_pageviews: u64,
    /// Seconds of engagement on a page.
    pub time_on_page: u64,
}

impl Cell {
    pub fn user(&mut self, id: u64) {
        self.users.insert(id);
    }

    pub fn session(&mut self, id: u64) {
        self.sessions.insert(id);
    }
}

/// A finished visit's numbers, added to every cell the visit counts in.
#[derive(Debug, Clone, Copy, Default)]
pub struct VisitSums {
    pub user: u64,
    pub bounce: bool,
    pub duration: u64,
    pub pageviews: u64,
    pub events: u64,
}

impl Cell {
    pub fn add_visit(&mut self, v: &VisitSums) {
        self.user(v.user);
        self.visits += 1;
        self.bounces += u64::from(v.bounce);
        self.duration += v.duration;
        self.pageviews += v.pageviews;
        self.visit_pageviews += v.pageviews;
        self.events += v.events;
    }
}

/// One row of `imported_stats`, before the site and import id are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    pub day: Day,
    pub dim: Dim,
    pub value: String,
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    pub events: u64,
    pub bounces: u64,
    pub duration: u64,
    pub visit_pageviews: u64,
    pub time_on_page: u64,
}

/// Every cell of an import.
#[derive(Default)]
pub struct Tally {
    /// By (day, dimension), then value: the outer key is `Copy`, so the
    /// common case (the cell exists) allocates nothing.
    cells: HashMap<(Day, Dim), Values, foldhash::fast::RandomState>,
    /// The rows of days already closed ([`Tally::close_through`]): their
    /// sets are counted and gone, which is what bounds an import's memory.
    closed: Vec<StatRow>,
}

type Values = HashMap<Box<str>, Cell, foldhash::fast::RandomState>;

impl Tally {
    pub fn cell(&mut self, day: Day, dim: Dim, value: &str) -> &mut Cell {
        let values = self.cells.entry((day, dim)).or_default();
        if !values.contains_key(value) {
            values.insert(value.into(), Cell::default());
        }
        values.get_mut(value).expect("inserted above")
    }

    /// Turns every cell of `last` and earlier days into rows, counting and
    /// dropping their sets. A cell asked for again after this starts from
    /// nothing, so callers close a day only once nothing more can reach it.
    pub fn close_through(&mut self, last: Day) {
        // Not `extract_if`: the workspace's MSRV (1.85) predates it.
        let keys: Vec<(Day, Dim)> = self
            .cells
            .keys()
            .filter(|(day, _)| *day <= last)
            .copied()
            .collect();
        for key in keys {
            if let Some(values) = self.cells.remove(&key) {
                self.closed.extend(rows_of(key, values));
            }
        }
    }

    /// The rows to store, in (day, dimension, value) order; the sets are
    /// counted and dropped here.
    pub fn into_rows(self) -> Vec<StatRow> {
        let mut rows = self.closed;
        for (key, values) in self.cells {
            rows.extend(rows_of(key, values));
        }
        rows.sort_by(|a, b| (a.day, a.dim, &a.value).cmp(&(b.day, b.dim, &b.value)));
        rows
    }
}

/// The days of `rows` (as [`Tally::into_rows`] orders them), ascending.
pub fn days_of(rows: &[StatRow]) -> Vec<Day> {
    let mut days: Vec<Day> = rows.iter().map(|row| row.day).collect();
    days.dedup();
    days
}

/// One (day, dimension)'s cells as rows. Page rows without a pageview
/// (time on a page only) are left out: a page is listed where it was viewed.
fn rows_of((day, dim): (Day, Dim), values: Values) -> impl Iterator<Item = StatRow> {
    values
        .into_iter()
        .filter(move |(_, c)| !(dim == Dim::Page && c.pageviews == 0))
        .map(move |(value, c)| StatRow {
            day,
            dim,
            value: value.into(),
            visitors: c.visitors.max(c.users.len() as u64),
            visits: c.visits.max(c.sessions.len() as u64),
            pageviews: c.pageviews,
            events: c.events,
            bounces: c.bounces,
            duration: c.duration,
            visit_pageviews: c.visit_pageviews,
            time_on_page: c.time_on_page,
        })
}
