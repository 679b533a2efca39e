//! Visits, built at query time inside ClickHouse.
//!
//! # Why at query time
//! A visit ends after 30 minutes without an event. Collectors are
//! stateless and any number may run, so none of them can know whether an
//! event continues a visit that another collector saw, or one from before a
//! restart. Deriving visits from the stored events when a report is asked
//! for has no such gap: whichever collector stored an event, and whenever,
//! the same events give the same visits. The cost is CPU at query time,
//! which rollups (issue #7) can take over for the common reports.
//!
//! # Visits across UTC midnight
//! Visitor ids change at UTC midnight, when the salt rotates. For events in
//! the first 30 minutes of a UTC day the collector also stores
//! `prev_visitor_id`, the id the visitor had the day before. Every id seen
//! that way is mapped to its previous-day id when that id was active in the
//! last 30 minutes before some midnight, and events are grouped by the
//! mapped key. Splitting the key's events at 30-minute gaps then gives one
//! visit across midnight. The mapping is followed [`LINK_DEPTH`] days back,
//! so a visitor active across midnight on more consecutive nights than that
//! inside one report may see one visit split.
//! Distinct `visitors` still count ids, so a visitor counts once per day.
//!
//! # Which visits a report sees
//! A visit belongs to the range its first event is in. Events are read
//! from [`LOOKBACK_SECS`] before the range (so that events in range that
//! continue an earlier visit get that visit's attributes) to
//! [`LOOKAHEAD_SECS`] after it (so a visit that starts in range is
//! complete). A visit longer than that is seen only within those bounds.
//! The look-ahead ends [`CLOCK_MARGIN_SECS`] past the reader's clock, but
//! never before the range does: no event is stamped later than that.
//!
//! # Engagement events
//! An `engagement` event measures time on page and scroll depth; it is
//! not an interaction. Visits are cut, timed and given their entry and
//! exit pages from pageviews and custom events only (the "interactions"),
//! so an engagement event never makes a visit longer or non-bounced, on
//! this path and on every path built from it (materialized visits, rollups,
//! cluster mode). Each engagement event joins the visit of the last
//! interaction at or before it, when it came at most [`VISIT_GAP_SECS`]
//! later: after that the visit has ended, as Plausible drops an engagement
//! beacon that finds no live session. Engagement events before a key's
//! first interaction belong to no visit and are left out of the relation.
//!
//! # What each event row carries
//! The relation has one row per event with the events table's column names
//! (`timestamp`, `name`, `pathname`, ...), plus its visit's attributes:
//! `vkey` and `v_start` (which visit), `is_first` (the visit's first event),
//! `v_duration`, `v_pageviews`, `v_bounce`, `v_entry_page`, `v_exit_page`,
//! and `v_<column>` for the visit's first event's source, referrer, UTM,
//! device, browser, OS and location. The `visit_events` table stores the
//! same rows for hours already materialized (see [`crate::jobs::rollup`]).

use super::expr::lit;
use crate::api::request::Dimension;

/// Gap after which the next event starts a new visit.
pub const VISIT_GAP_SECS: i64 = 1800;
/// How far past the range events are read to finish visits that started in it.
pub const LOOKAHEAD_SECS: i64 = 6 * 3600;
/// How far before the range events are read, so that a visit already going
/// on when the range starts is seen from its first event.
pub const LOOKBACK_SECS: i64 = 6 * 3600;
/// Events are stamped when the collector receives them (imports may run at
/// most five minutes ahead), so reading further than this past the
/// reader's clock finds nothing, whatever the clocks of the collectors.
pub const CLOCK_MARGIN_SECS: i64 = 3600;
/// How many consecutive midnights a visit is followed across.
pub const LINK_DEPTH: usize = 3;
/// Seconds in a UTC day (every UTC day has exactly this many).
pub(crate) const DAY: i64 = 86_400;

/// Event columns every visit needs, in tuple positions 1 to 6. The second
/// sorts an engagement event after the interactions of the same second, so
/// that it joins the visit they start.
const BASE_FIELDS: [&str; 6] = [
    "toUInt32(timestamp)",
    "name = 'engagement'",
    "name",
    "pathname",
    "interactive",
    "visitor_id",
];

/// What the relation must carry for one report.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// Extra event columns (`hostname`, `props_keys`, `props_values`).
    pub event_columns: Vec<&'static str>,
    /// Columns of the first event exposed as `v_<column>`.
    pub visit_columns: Vec<&'static str>,
}

/// The half-open range `[from, to)` in Unix seconds, the site, and the
/// reader's clock (`now`, Unix seconds).
#[derive(Debug, Clone)]
pub struct Window<'a> {
    pub site: &'a str,
    pub from: i64,
    pub to: i64,
    pub now: i64,
}

impl Needs {
    /// Every column: what materialized visits store.
    pub fn all() -> Self {
        Self {
            event_columns: EVENT_COLUMNS.to_vec(),
            visit_columns: Dimension::visit_columns().collect(),
        }
    }

    /// The relation's column names, in order: the same names in the
    /// raw relation and in the `visit_events` table.
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = BASE_COLUMNS.iter().map(|c| c.to_string()).collect();
        out.extend(self.event_columns.iter().map(|c| c.to_string()));
        out.extend(self.visit_columns.iter().map(|c| format!("v_{c}")));
        out
    }
}

/// Columns every relation has.
const BASE_COLUMNS: [&str; 12] = [
    "vkey",
    "timestamp",
    "name",
    "pathname",
    "visitor_id",
    "is_first",
    "v_start",
    "v_duration",
    "v_pageviews",
    "v_bounce",
    "v_entry_page",
    "v_exit_page",
];
/// Optional event columns.
pub const EVENT_COLUMNS: [&str; 5] = [
    "hostname",
    "props_keys",
    "props_values",
    "scroll_depth",
    "engagement_ms",
];

/// The relation described in the module docs, as a subquery, for visits
/// read with `w`: its `v_start` is exact for visits starting at or after
/// `w.from` (earlier ones only show a `v_start` before `w.from`).
pub fn relation(w: &Window, needs: &Needs) -> String {
    let fields: Vec<&str> = BASE_FIELDS
        .iter()
        .copied()
        .chain(needs.event_columns.iter().copied())
        .chain(needs.visit_columns.iter().copied())
        .collect();
    let pos = |column: &str| {
        fields
            .iter()
            .position(|f| *f == column)
            .expect("column is in the tuple")
            + 1
    };
    let mut select = vec![
        "vkey".to_string(),
        "toDateTime(e.1, 'UTC') AS timestamp".into(),
        "e.3 AS name".into(),
        "e.4 AS pathname".into(),
        "e.6 AS visitor_id".into(),
        "i = vfirst[v] AS is_first".into(),
        "acts[vfirst[v]].1 AS v_start".into(),
        "toUInt32(acts[vlast[v]].1 - acts[vfirst[v]].1) AS v_duration".into(),
        "vpv[v] AS v_pageviews".into(),
        "vbounce[v] AS v_bounce".into(),
        "ventry[v] AS v_entry_page".into(),
        "vexit[v] AS v_exit_page".into(),
    ];
    for column in &needs.event_columns {
        select.push(format!("e.{} AS {column}", pos(column)));
    }
    for column in &needs.visit_columns {
        select.push(format!("acts[vfirst[v]].{} AS v_{column}", pos(column)));
    }
    format!(
        "SELECT {} FROM ({}) ARRAY JOIN vrows AS e, rvno AS v, arrayEnumerate(vrows) AS i",
        select.join(", "),
        per_key(w, &fields)
    )
}

/// One row per visitor key: its interactions (`acts`, every event but
/// engagement) sorted by time, with per-visit arrays (visit `k` spans
/// `acts[vfirst[k]]` to `acts[vlast[k]]`), then the interactions
/// followed by the engagement events that join a visit (`vrows`), and `rvno`, each
/// row's visit number (see the module docs). Tuple positions: 1 time,
/// 2 is engagement, 3 name, 4 pathname, 5 interactive.
fn per_key(w: &Window, fields: &[&str]) -> String {
    format!(
        "SELECT vkey, \
           arraySort(groupArray(ev)) AS evs, \
           arrayFilter(x -> NOT x.2, evs) AS acts, \
           arrayMap(i -> i = 1 OR acts[i].1 > acts[i - 1].1 + {gap}, arrayEnumerate(acts)) AS starts, \
           arrayCumSum(starts) AS vno, \
           arrayFilter(i -> starts[i] = 1, arrayEnumerate(starts)) AS vfirst, \
           arrayMap(k -> if(k < length(vfirst), toUInt64(vfirst[k + 1] - 1), length(acts)), arrayEnumerate(vfirst)) AS vlast, \
           arrayMap((a, b) -> arraySlice(acts, a, b - a + 1), vfirst, vlast) AS vslices, \
           arrayMap(s -> arrayCount(x -> x.3 = 'pageview', s), vslices) AS vpv, \
           arrayMap((s, n) -> n = 1 AND NOT arrayExists(x -> x.3 != 'pageview' AND x.5 = 1, s), vslices, vpv) AS vbounce, \
           arrayMap(s -> arrayFirst(x -> x.3 = 'pageview', s).4, vslices) AS ventry, \
           arrayMap(s -> arrayFirst(x -> x.3 = 'pageview', arrayReverse(s)).4, vslices) AS vexit, \
           arrayCumSum(arrayMap(x -> toUInt64(NOT x.2), evs)) AS acts_so_far, \
           arrayMap((x, n) -> x.2 AND n > 0 AND x.1 <= acts[n].1 + {gap}, evs, acts_so_far) AS joins, \
           arrayFilter((x, j) -> j, evs, joins) AS engs, \
           arrayFilter((n, j) -> j, acts_so_far, joins) AS eng_acts, \
           arrayConcat(acts, engs) AS vrows, \
           arrayConcat(vno, arrayMap(n -> vno[n], eng_acts)) AS rvno \
         FROM ({events}) GROUP BY vkey",
        gap = VISIT_GAP_SECS,
        events = keyed_events(w, fields),
    )
}

/// The events in the read window, each with its visitor key.
fn keyed_events(w: &Window, fields: &[&str]) -> String {
    let depth = link_depth(w);
    if depth == 0 {
        return format!(
            "SELECT visitor_id AS vkey, ({fields}) AS ev FROM events WHERE {window}",
            fields = fields.join(", "),
            window = read_window(w),
        );
    }
    // A join, not a scalar subquery: ClickHouse 18.16 runs a scalar
    // subquery again for every place it is used. Joined subqueries carry
    // aliases: current releases refuse them without (ALIAS_REQUIRED).
    format!(
        "SELECT if(root = 0, visitor_id, root) AS vkey, ev FROM ( \
           SELECT visitor_id, ({fields}) AS ev FROM events WHERE {window}) AS keyed \
         ANY LEFT JOIN ({roots}) AS roots USING visitor_id",
        fields = fields.join(", "),
        window = read_window(w),
        roots = roots(w, depth),
    )
}

/// How many links back a visitor can be followed inside the read window:
/// each link crosses one midnight, and a midnight links ids only when the
/// window holds time on both sides of it. At most [`LINK_DEPTH`]. Fewer
/// joins matter for short windows (the hours after the materialized ones),
/// where each join's scans cost more than the rows themselves.
fn link_depth(w: &Window) -> usize {
    let (from, to) = read_bounds(w);
    let first = from.div_euclid(DAY) + 1;
    let last = (to - 1).div_euclid(DAY);
    usize::try_from(last - first + 1)
        .unwrap_or(0)
        .min(LINK_DEPTH)
}

/// `(visitor_id, root)`: for each visitor whose previous-day id was active
/// in the 30 minutes before a midnight, that id followed back up to
/// `depth` days (each step a join with the links themselves).
fn roots(w: &Window, depth: usize) -> String {
    let links = links(w);
    let mut sql = format!("SELECT visitor_id, prev AS p1 FROM ({links})");
    let mut root = "p1".to_string();
    for k in 2..=depth {
        let columns: Vec<String> = (1..=k).map(|i| format!("p{i}")).collect();
        sql = format!(
            "SELECT visitor_id, {} FROM ({sql}) AS back{prev} \
             ANY LEFT JOIN (SELECT visitor_id AS p{prev}, prev AS p{k} FROM ({links})) AS link{k} USING p{prev}",
            columns.join(", "),
            prev = k - 1,
        );
        root = format!("if(p{k} != 0, p{k}, {root})");
    }
    format!("SELECT visitor_id, {root} AS root FROM ({sql})")
}

/// `(visitor_id, prev)` of visitors whose previous-day id was active in the
/// 30 minutes before a midnight.
///
/// `GLOBAL IN`: in cluster mode `events` is a `Distributed` table, and the
/// previous-day id may live on another shard than the new one, so the set
/// is read from all shards once and sent to each (on one server it is a
/// plain `IN`). Everything else here reads `events` in subqueries whose
/// rows are gathered on the host that runs the report.
fn links(w: &Window) -> String {
    let window = read_window(w);
    format!(
        "SELECT visitor_id, any(prev_visitor_id) AS prev FROM events \
         WHERE {window} AND prev_visitor_id != 0 \
           AND prev_visitor_id GLOBAL IN (SELECT visitor_id FROM events \
               WHERE {window} AND toUInt32(timestamp) % 86400 >= {late}) \
         GROUP BY visitor_id",
        late = 86_400 - VISIT_GAP_SECS,
    )
}

fn read_window(w: &Window) -> String {
    let (from, to) = read_bounds(w);
    format!(
        "site = {} AND timestamp >= toDateTime({from}) AND timestamp < toDateTime({to})",
        lit(w.site),
    )
}

/// The events read for `w`: `[from, to)` in Unix seconds. The look-ahead
/// stops [`CLOCK_MARGIN_SECS`] past `w.now` (but never before `w.to`): a
/// range ending today otherwise reads across the coming midnight, which
/// costs the joins that link visitor ids there, for events that do not
/// exist yet.
fn read_bounds(w: &Window) -> (i64, i64) {
    let ahead = (w.to + LOOKAHEAD_SECS).min(w.now + CLOCK_MARGIN_SECS);
    ((w.from - LOOKBACK_SECS).max(0), ahead.max(w.to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(from: i64, to: i64) -> Window<'static> {
        Window {
            site: "a.example",
            from,
            to,
            now: to + 10 * DAY,
        }
    }

    #[test]
    fn links_are_followed_across_the_midnights_inside_the_read_window() {
        let day = 20_000 * DAY;
        // An hour in the afternoon: the window (6 h either side) holds no midnight.
        assert_eq!(link_depth(&window(day + 14 * 3600, day + 15 * 3600)), 0);
        // From 06:00 to the end of the day: read from midnight (not inside)
        // to 06:00 the next day, across one midnight.
        assert_eq!(link_depth(&window(day + 6 * 3600, day + DAY)), 1);
        // Read from 18:00 the day before: the day's own midnight counts too.
        assert_eq!(link_depth(&window(day, day + DAY)), 2);
        // Long ranges stop at LINK_DEPTH.
        assert_eq!(link_depth(&window(day, day + 30 * DAY)), LINK_DEPTH);
    }

    #[test]
    fn the_look_ahead_stops_an_hour_past_the_clock_but_never_before_the_range_ends() {
        let day = 20_000 * DAY;
        // A report of today at 15:00: nothing is read past 16:00, so the
        // coming midnight links nobody and costs no join.
        let today = Window {
            now: day + 15 * 3600,
            ..window(day + 14 * 3600, day + DAY)
        };
        assert_eq!(read_bounds(&today), (day + 8 * 3600, day + DAY));
        assert_eq!(link_depth(&today), 0);
        // Past ranges read their full look-ahead.
        let past = window(day, day + DAY);
        assert_eq!(read_bounds(&past).1, day + DAY + LOOKAHEAD_SECS);
        // A clock behind the range (tests, or a skewed host) still reads
        // the whole range, and an hour past the clock beyond it.
        let behind = Window {
            now: day - DAY,
            ..window(day, day + 3600)
        };
        assert_eq!(read_bounds(&behind).1, day + 3600);
        let near = Window {
            now: day + 3000,
            ..window(day, day + 3600)
        };
        assert_eq!(read_bounds(&near).1, day + 3000 + CLOCK_MARGIN_SECS);
    }

    #[test]
    fn without_a_midnight_events_are_read_once_without_joins() {
        let fields = ["toUInt32(timestamp)", "visitor_id"];
        let quiet = keyed_events(&window(14 * 3600, 15 * 3600), &fields);
        assert_eq!(quiet.matches("FROM events").count(), 1, "{quiet}");
        let across = keyed_events(&window(6 * 3600, DAY), &fields);
        assert!(across.contains("ANY LEFT JOIN"), "{across}");
        assert!(!across.contains("AS link2"), "{across}");
    }
}
