//! The last 30 minutes of a site, for the dashboard's realtime view
//! (Plausible's "realtime" period): visitors and pageviews minute by
//! minute, and the top pages and sources of those minutes.
//!
//! It is not a Stats API report because the API has no minute grain and
//! its ranges are whole seconds of local days; the window here is relative
//! to the service's clock instead: the events with `now - 30 min <
//! timestamp <= now`. Events stamped after `now` (a collector whose clock
//! runs ahead) wait until the clock reaches them, so a minute's count never
//! shrinks as the window slides onto it.
//!
//! Each query reads one site's rows of at most two days (the sort key
//! starts with `site, toDate(timestamp)`), so the page can ask every few
//! seconds.

use super::clickhouse::{fetch_json, number, Limits};
use super::expr::{lit, shown, visitors_fn};
use crate::api::request::Dimension;
use crate::error::ApiError;
use schema::Db;
use serde_json::Value;

/// How far back the view looks, in minutes, as Plausible's.
pub const WINDOW_MINUTES: u32 = 30;
/// Rows in the pages and sources lists.
pub const TOP: u32 = 10;

/// One minute's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minute {
    pub visitors: u64,
    pub pageviews: u64,
}

/// The window's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    /// Oldest first: `minutes[i]` is `WINDOW_MINUTES - 1 - i` minutes ago
    /// (the last one holds the 60 seconds up to `now`).
    pub minutes: Vec<Minute>,
    /// Over the whole window (a visitor of several minutes counts once).
    pub total: Minute,
    /// Page paths by visitors with a pageview of them.
    pub pages: Vec<(String, u64)>,
    /// Sources by visitors, each visitor under the source of their first
    /// event in the window, as a visit is under its first event's.
    pub sources: Vec<(String, u64)>,
}

/// The window ending at `now` (Unix seconds): three small queries at once.
pub async fn last_minutes(
    db: &Db,
    site: &str,
    now: i64,
    limits: Limits,
) -> Result<Recent, ApiError> {
    let window = Window { site, now };
    let sql = [
        window.minutes_sql(),
        window.pages_sql(),
        window.sources_sql(),
    ];
    let (minutes, pages, sources) = tokio::try_join!(
        fetch_json(db, &sql[0], limits),
        fetch_json(db, &sql[1], limits),
        fetch_json(db, &sql[2], limits),
    )?;
    let (minutes, total) = per_minute(&minutes);
    Ok(Recent {
        minutes,
        total,
        pages: pairs(&pages),
        sources: pairs(&sources),
    })
}

struct Window<'a> {
    site: &'a str,
    now: i64,
}

impl Window<'_> {
    /// The rows of the window, custom events included, engagement pings not
    /// (they are no visit of their own, as in every report).
    fn rows(&self) -> String {
        let since = self.now - i64::from(WINDOW_MINUTES) * 60;
        format!(
            "site = {} AND timestamp > toDateTime({since}) AND timestamp <= toDateTime({now}) \
             AND name != 'engagement'",
            lit(self.site),
            now = self.now
        )
    }

    /// Minutes ago (0 to 29), visitors and pageviews; the window's totals
    /// in `totals`.
    fn minutes_sql(&self) -> String {
        format!(
            "SELECT intDiv(toUInt32({now}) - toUInt32(timestamp), 60) AS ago, \
             {uniq}(visitor_id), countIf(name = 'pageview') \
             FROM events WHERE {rows} GROUP BY ago WITH TOTALS",
            now = self.now,
            uniq = visitors_fn(""),
            rows = self.rows()
        )
    }

    fn pages_sql(&self) -> String {
        format!(
            "SELECT pathname, {uniq}(visitor_id) AS v FROM events \
             WHERE {rows} AND name = 'pageview' GROUP BY pathname ORDER BY v DESC, pathname LIMIT {TOP}",
            uniq = visitors_fn(""),
            rows = self.rows()
        )
    }

    /// Each visitor counted once, under the source of their first event
    /// here (later pageviews of a visit carry the site's own referrer).
    fn sources_sql(&self) -> String {
        let source = shown(&Dimension::Visit("source"), "first_source");
        format!(
            "SELECT {source} AS s, count() AS v FROM \
             (SELECT visitor_id, argMin(source, timestamp) AS first_source FROM events \
              WHERE {rows} GROUP BY visitor_id) \
             GROUP BY s ORDER BY v DESC, s LIMIT {TOP}",
            rows = self.rows()
        )
    }
}

/// The per-minute rows as a full window, empty minutes at zero, and the totals.
fn per_minute(json: &Value) -> (Vec<Minute>, Minute) {
    let mut minutes = vec![Minute::default(); WINDOW_MINUTES as usize];
    let minute = |row: &Value| Minute {
        visitors: row.get(1).and_then(number).unwrap_or(0),
        pageviews: row.get(2).and_then(number).unwrap_or(0),
    };
    for row in json["data"].as_array().into_iter().flatten() {
        let Some(ago) = row.get(0).and_then(number) else {
            continue;
        };
        if let Some(slot) = (WINDOW_MINUTES as usize)
            .checked_sub(1 + ago as usize)
            .and_then(|i| minutes.get_mut(i))
        {
            *slot = minute(row);
        }
    }
    let total = json.get("totals").map(minute).unwrap_or_default();
    (minutes, total)
}

/// `[label, count]` rows.
fn pairs(json: &Value) -> Vec<(String, u64)> {
    json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| {
            let label = row.get(0)?.as_str()?.to_owned();
            Some((label, row.get(1).and_then(number).unwrap_or(0)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minutes_fill_the_window_oldest_first() {
        let answer = json!({
            "data": [[0, "2", "3"], [29, 1, 1], [7, 4, 0]],
            "totals": [0, "6", "4"],
        });
        let (minutes, total) = per_minute(&answer);
        assert_eq!(minutes.len(), 30);
        assert_eq!(
            minutes[29],
            Minute {
                visitors: 2,
                pageviews: 3
            }
        );
        assert_eq!(
            minutes[0],
            Minute {
                visitors: 1,
                pageviews: 1
            }
        );
        assert_eq!(
            minutes[22],
            Minute {
                visitors: 4,
                pageviews: 0
            }
        );
        let empty = minutes.iter().filter(|m| **m == Minute::default()).count();
        assert_eq!(empty, 27);
        assert_eq!(
            total,
            Minute {
                visitors: 6,
                pageviews: 4
            }
        );
    }

    #[test]
    fn rows_outside_the_window_are_dropped() {
        // Cannot come from the SQL's own bounds, but a bad row must not panic.
        let (minutes, total) = per_minute(&json!({"data": [[30, 1, 1], [99, 1, 1]]}));
        assert!(minutes.iter().all(|m| *m == Minute::default()));
        assert_eq!(total, Minute::default());
    }

    #[test]
    fn the_window_is_the_thirty_minutes_up_to_now() {
        let w = Window {
            site: "a'b",
            now: 1_710_000_000,
        };
        let rows = w.rows();
        assert!(
            rows.contains("timestamp > toDateTime(1709998200)"),
            "{rows}"
        );
        assert!(
            rows.contains("timestamp <= toDateTime(1710000000)"),
            "{rows}"
        );
        assert!(rows.contains("site = 'a\\'b'"), "{rows}");
        assert!(w.sources_sql().contains("'Direct / None'"));
    }
}
