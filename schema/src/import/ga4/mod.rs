//! Google Analytics 4's BigQuery export, one event per row, read as
//! newline-delimited JSON (`bq extract --destination_format
//! NEWLINE_DELIMITED_JSON`, optionally gzipped) or as Parquet (see
//! [`crate::import::ga4_parquet`]), and folded into daily totals.
//!
//! # What an event counts for
//! - Its `event_date` is its day (the property's own day, as GA4 reports
//!   it). `page_view` adds a pageview there, to its page and to the event
//!   name `pageview`; `session_start`, `first_visit` and `user_engagement`
//!   are GA4's own bookkeeping; any other name is a custom event. Visitors
//!   of a day are the `user_pseudo_id`s with a pageview or custom event on
//!   it (as native visitors exclude engagement events).
//! - A visit is a (`user_pseudo_id`, `ga_session_id`) pair. It counts on
//!   the day of its earliest event, even when it runs past midnight: its
//!   duration runs from its earliest event to its latest, it bounced unless
//!   an event says `session_engaged` = 1, its entry and exit pages are its
//!   first and last `page_view`, and its source, location and device are
//!   those of its earliest event.
//! - Source: `collected_traffic_source.manual_source` (the UTM tag) if set,
//!   else the `page_referrer` of the earliest event, classified by
//!   [`crate::source`] exactly as live traffic is; else, for a user's
//!   first visit (`ga_session_number` = 1), `traffic_source.source`.
//!   Medium and campaign come from `collected_traffic_source`, then
//!   `traffic_source` for a first visit.
//!
//! Identifiers are hashed as soon as they are read ([`IdHasher`]) and
//! `user_id` is never read at all.

mod export;
mod names;

pub use export::*;
use names::{browser_name, device_class, host_of, os_name, path_of, set};

use crate::import::countries::iso_code;
use crate::import::tally::{Day, Dim, IdHasher, Tally, VisitSums};
use crate::import::Problem;
use crate::source::{Attribution, Sources};
use std::collections::HashMap;

/// What a visit is described by, taken from its earliest event. Strings are
/// interned: most visits share their few distinct values.
#[derive(Debug, Clone, Copy, Default)]
struct Attrs {
    source: u32,
    referrer: u32,
    utm_source: u32,
    utm_medium: u32,
    utm_campaign: u32,
    utm_content: u32,
    utm_term: u32,
    device: u32,
    browser: u32,
    browser_version: u32,
    os: u32,
    os_version: u32,
    country: u32,
    region: u32,
    city: u32,
}

/// A visit while the files are read.
#[derive(Debug)]
struct Visit {
    user: u64,
    first_us: i64,
    last_us: i64,
    day: Day,
    attrs: Attrs,
    engaged: bool,
    pageviews: u64,
    events: u64,
    entry: Option<(i64, u32)>,
    exit: Option<(i64, u32)>,
}

/// Reads events one by one and keeps what the totals need.
///
/// Days are closed two behind the latest day read: the visits that began
/// on them are added to the totals and forgotten, and their sets counted
/// and dropped. A visit that crosses one midnight is still whole then, and
/// memory holds about two days of visitors, however many days the files
/// span. The price is order: a row of a day already closed stops the
/// import, since it could no longer be counted right.
#[derive(Default)]
pub struct Ga4 {
    ids: IdHasher,
    tally: Tally,
    visits: HashMap<u64, Visit, foldhash::fast::RandomState>,
    strings: Interner,
    /// The latest day read: days two or more before it are closed.
    latest: Option<Day>,
}

/// Why an event was skipped, as the summary names it.
pub mod reason {
    pub const NO_DATE: &str = "event_date missing or not YYYYMMDD";
    pub const NO_TIMESTAMP: &str = "event_timestamp missing or not a number";
    pub const NO_NAME: &str = "event_name missing";
    pub const NO_USER: &str = "user_pseudo_id missing";
    pub const NO_SESSION: &str = "ga_session_id missing";
    pub const LATE_DAY: &str = "this day was closed when rows two or more days later were read: \
        give the export in day order (its events_YYYYMMDD files are read in name order)";
}

impl Ga4 {
    /// Adds one event, or says which field makes it unusable.
    pub fn add(&mut self, event: &Event) -> Result<(), Problem> {
        let day = event
            .event_date
            .as_deref()
            .and_then(crate::import::day_of_yyyymmdd)
            .ok_or_else(|| Problem::field("event_date", reason::NO_DATE))?;
        self.advance_to(day)?;
        let us = event
            .event_timestamp
            .as_ref()
            .and_then(Num::as_i64)
            .ok_or_else(|| Problem::field("event_timestamp", reason::NO_TIMESTAMP))?;
        let name = event
            .event_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Problem::field("event_name", reason::NO_NAME))?;
        let user_id = event
            .user_pseudo_id
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Problem::field("user_pseudo_id", reason::NO_USER))?;
        let p = params(event.event_params.as_deref().unwrap_or_default());
        let session_id = p
            .session_id
            .as_deref()
            .ok_or_else(|| Problem::field("event_params.ga_session_id", reason::NO_SESSION))?;
        let user = self.ids.id(&[user_id]);
        let visit_key = self.ids.id(&[user_id, session_id]);
        let path = p.page_location.as_deref().map(path_of).unwrap_or_default();
        self.count_event(day, name, user, visit_key, &path, &p);
        self.count_visit(day, us, name, user, visit_key, &path, event, &p);
        Ok(())
    }

    fn count_event(&mut self, day: Day, name: &str, user: u64, visit: u64, path: &str, p: &Params) {
        let kind = kind(name);
        if !path.is_empty() && p.engagement_ms > 0 {
            self.tally.cell(day, Dim::Page, path).time_on_page += ms_to_s(p.engagement_ms);
        }
        if kind == Kind::Bookkeeping {
            return;
        }
        let total = self.tally.cell(day, Dim::Total, "");
        total.user(user);
        total.events += 1;
        let shown = if kind == Kind::Pageview {
            "pageview"
        } else {
            name
        };
        let named = self.tally.cell(day, Dim::Name, shown);
        named.user(user);
        named.events += 1;
        if kind == Kind::Pageview {
            self.tally.cell(day, Dim::Total, "").pageviews += 1;
            let page = self.tally.cell(day, Dim::Page, path);
            page.user(user);
            page.session(visit);
            page.pageviews += 1;
            page.events += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn count_visit(
        &mut self,
        day: Day,
        us: i64,
        name: &str,
        user: u64,
        key: u64,
        path: &str,
        event: &Event,
        p: &Params,
    ) {
        let kind = kind(name);
        let earliest = match self.visits.get(&key) {
            Some(v) => us < v.first_us,
            None => true,
        };
        let attrs = earliest.then(|| self.attrs(event, p));
        let page = (kind == Kind::Pageview).then(|| self.strings.id(path));
        let visit = self.visits.entry(key).or_insert_with(|| Visit {
            user,
            first_us: us,
            last_us: us,
            day,
            attrs: Attrs::default(),
            engaged: false,
            pageviews: 0,
            events: 0,
            entry: None,
            exit: None,
        });
        if let Some(attrs) = attrs {
            visit.attrs = attrs;
            visit.first_us = us;
            visit.day = day;
        }
        visit.last_us = visit.last_us.max(us);
        visit.engaged |= p.engaged;
        if kind != Kind::Bookkeeping {
            visit.events += 1;
        }
        if let Some(page) = page {
            visit.pageviews += 1;
            if visit.entry.is_none_or(|(t, _)| us < t) {
                visit.entry = Some((us, page));
            }
            if visit.exit.is_none_or(|(t, _)| us >= t) {
                visit.exit = Some((us, page));
            }
        }
    }

    fn attrs(&mut self, event: &Event, p: &Params) -> Attrs {
        let collected = event.collected_traffic_source.as_ref();
        let first_visit = p.session_number == Some(1);
        let user_source = event.traffic_source.as_ref().filter(|_| first_visit);
        let tag =
            |f: fn(&CollectedTrafficSource) -> &Option<String>| collected.and_then(|c| set(f(c)));
        let utm_source = tag(|c| &c.manual_source)
            .or_else(|| user_source.and_then(|t| set(&t.source)))
            .unwrap_or_default();
        let utm_medium = tag(|c| &c.manual_medium)
            .or_else(|| user_source.and_then(|t| set(&t.medium)))
            .unwrap_or_default();
        let utm_campaign = tag(|c| &c.manual_campaign_name)
            .or_else(|| user_source.and_then(|t| set(&t.name)))
            .unwrap_or_default();
        let page_host = p.page_location.as_deref().map(host_of).unwrap_or_default();
        let referrer_host = p.page_referrer.as_deref().map(host_of).unwrap_or_default();
        let attribution = Attribution {
            utm_source: &utm_source,
            referrer_host: &referrer_host,
            page_host: &page_host,
            ..Attribution::default()
        };
        let source = Sources::shared().classify(&attribution);
        let source = if source == crate::source::DIRECT {
            ""
        } else {
            source.as_str()
        };
        let own = referrer_host.trim_start_matches("www.") == page_host.trim_start_matches("www.");
        let referrer = if own { "" } else { referrer_host.as_str() };
        let device = event.device.as_ref();
        let web = device.and_then(|d| d.web_info.as_ref());
        let geo = event.geo.as_ref();
        let s = &mut self.strings;
        Attrs {
            source: s.id(source),
            referrer: s.id(referrer),
            utm_source: s.id(&utm_source),
            utm_medium: s.id(&utm_medium),
            utm_campaign: s.id(&utm_campaign),
            utm_content: s.id(&tag(|c| &c.manual_content).unwrap_or_default()),
            utm_term: s.id(&tag(|c| &c.manual_term).unwrap_or_default()),
            device: s.id(&device_class(device.and_then(|d| set(&d.category)))),
            browser: s.id(&browser_name(
                web.and_then(|w| set(&w.browser))
                    .or_else(|| device.and_then(|d| set(&d.browser))),
            )),
            browser_version: s.id(&web
                .and_then(|w| set(&w.browser_version))
                .or_else(|| device.and_then(|d| set(&d.browser_version)))
                .unwrap_or_default()),
            os: s.id(&os_name(device.and_then(|d| set(&d.operating_system)))),
            os_version: s.id(&device
                .and_then(|d| set(&d.operating_system_version))
                .map(|v| {
                    v.trim_start_matches("Windows ")
                        .trim_start_matches("iOS ")
                        .to_owned()
                })
                .unwrap_or_default()),
            country: s.id(geo
                .and_then(|g| set(&g.country))
                .map_or("", |c| iso_code(&c))),
            region: s.id(&geo.and_then(|g| set(&g.region)).unwrap_or_default()),
            city: s.id(&geo.and_then(|g| set(&g.city)).unwrap_or_default()),
        }
    }

    /// Notes that `day` is being read, closing the days two or more behind.
    fn advance_to(&mut self, day: Day) -> Result<(), Problem> {
        match self.latest {
            Some(latest) if day.saturating_add(2) <= latest => {
                Err(Problem::stopping("event_date", reason::LATE_DAY))
            }
            Some(latest) if day <= latest => Ok(()),
            _ => {
                self.latest = Some(day);
                if let Some(last) = day.checked_sub(2) {
                    self.close_through(last);
                }
                Ok(())
            }
        }
    }

    /// Adds the visits that began on `last` or earlier to the totals, and
    /// turns those days' cells into rows.
    fn close_through(&mut self, last: Day) {
        // Not `extract_if`: the workspace's MSRV (1.85) predates it.
        let keys: Vec<u64> = self
            .visits
            .iter()
            .filter(|(_, v)| v.day <= last)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            if let Some(visit) = self.visits.remove(&key) {
                self.close_visit(visit);
            }
        }
        self.tally.close_through(last);
    }

    /// Visits still open, for tests of how much is held.
    pub fn open_visits(&self) -> usize {
        self.visits.len()
    }

    /// Closes every visit and returns the totals.
    pub fn finish(mut self) -> Tally {
        let visits = std::mem::take(&mut self.visits);
        for visit in visits.into_values() {
            self.close_visit(visit);
        }
        self.tally
    }

    /// Adds a finished visit to every cell it counts in.
    fn close_visit(&mut self, visit: Visit) {
        let sums = VisitSums {
            user: visit.user,
            bounce: !visit.engaged,
            duration: u64::try_from((visit.last_us - visit.first_us) / 1_000_000).unwrap_or(0),
            pageviews: visit.pageviews,
            events: visit.events,
        };
        let a = visit.attrs;
        let mut dims = vec![
            (Dim::Total, u32::MAX),
            (Dim::Source, a.source),
            (Dim::Referrer, a.referrer),
            (Dim::UtmSource, a.utm_source),
            (Dim::UtmMedium, a.utm_medium),
            (Dim::UtmCampaign, a.utm_campaign),
            (Dim::UtmContent, a.utm_content),
            (Dim::UtmTerm, a.utm_term),
            (Dim::Device, a.device),
            (Dim::Browser, a.browser),
            (Dim::BrowserVersion, a.browser_version),
            (Dim::Os, a.os),
            (Dim::OsVersion, a.os_version),
            (Dim::Country, a.country),
            (Dim::Region, a.region),
            (Dim::City, a.city),
        ];
        if let Some((_, page)) = visit.entry {
            dims.push((Dim::EntryPage, page));
        }
        if let Some((_, page)) = visit.exit {
            dims.push((Dim::ExitPage, page));
        }
        for (dim, id) in dims {
            let value = if id == u32::MAX {
                ""
            } else {
                self.strings.get(id)
            };
            let cell = self.tally.cell(visit.day, dim, value);
            if dim == Dim::Total {
                // The day's visitors and events are counted per event.
                cell.visits += 1;
                cell.bounces += u64::from(sums.bounce);
                cell.duration += sums.duration;
                cell.visit_pageviews += sums.pageviews;
            } else {
                cell.add_visit(&sums);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pageview,
    Custom,
    /// GA4's own events, which say something about a visit but are not
    /// events a publisher sent.
    Bookkeeping,
}

fn kind(name: &str) -> Kind {
    match name {
        "page_view" => Kind::Pageview,
        "session_start" | "first_visit" | "user_engagement" => Kind::Bookkeeping,
        _ => Kind::Custom,
    }
}

fn ms_to_s(ms: i64) -> u64 {
    u64::try_from(ms / 1000).unwrap_or(0)
}

/// Strings by number, so visits hold four bytes per attribute.
#[derive(Default)]
struct Interner {
    ids: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    strings: Vec<Box<str>>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = u32::try_from(self.strings.len()).expect("fewer than 4 billion distinct values");
        self.strings.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    fn get(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::tally::StatRow;

    /// A page view on 2024-01-`day` at `hh:mm` UTC.
    fn view(day: u32, hh: u32, mm: u32, user: &str, session: &str) -> Event {
        let us = chrono::NaiveDate::from_ymd_opt(2024, 1, day)
            .and_then(|d| d.and_hms_opt(hh, mm, 0))
            .map(|t| t.and_utc().timestamp_micros())
            .unwrap();
        serde_json::from_value(serde_json::json!({
            "event_date": format!("202401{day:02}"),
            "event_timestamp": us.to_string(),
            "event_name": "page_view",
            "user_pseudo_id": user,
            "event_params": [
                {"key": "ga_session_id", "value": {"int_value": session}},
                {"key": "page_location", "value": {"string_value": "https://example.com/"}}
            ]
        }))
        .unwrap()
    }

    fn total(rows: &[StatRow], day: u32) -> &StatRow {
        let day = crate::import::day_of_yyyymmdd(&format!("202401{day:02}")).unwrap();
        rows.iter()
            .find(|r| r.day == day && r.dim == Dim::Total)
            .unwrap()
    }

    #[test]
    fn days_close_two_behind_so_memory_holds_two_days_of_visits() {
        let mut ga4 = Ga4::default();
        for day in 1..=5 {
            ga4.add(&view(day, 10, 0, &format!("a{day}"), "1")).unwrap();
            ga4.add(&view(day, 11, 0, &format!("b{day}"), "1")).unwrap();
            if day == 1 {
                // One visit crosses midnight into day 2.
                ga4.add(&view(1, 23, 50, "x", "9")).unwrap();
            }
            if day == 2 {
                ga4.add(&view(2, 0, 10, "x", "9")).unwrap();
            }
        }
        // Days 1 to 3 are closed: only the visits of days 4 and 5 are held.
        assert_eq!(ga4.open_visits(), 4);
        let rows = ga4.finish().into_rows();
        // Day 1: a1, b1 and x; its three visits, x's lasting 20 minutes.
        let d1 = total(&rows, 1);
        assert_eq!((d1.visitors, d1.visits, d1.pageviews), (3, 3, 3));
        assert_eq!(d1.duration, 20 * 60);
        // Day 2: x's second view counts there, its visit on day 1.
        let d2 = total(&rows, 2);
        assert_eq!((d2.visitors, d2.visits, d2.pageviews), (3, 2, 3));
        for day in 3..=5 {
            let t = total(&rows, day);
            assert_eq!((t.visitors, t.visits, t.pageviews), (2, 2, 2), "day {day}");
        }
    }

    #[test]
    fn a_row_of_a_closed_day_stops_the_import() {
        let mut ga4 = Ga4::default();
        ga4.add(&view(3, 10, 0, "a", "1")).unwrap();
        // The day before the latest is still open.
        ga4.add(&view(2, 10, 0, "b", "1")).unwrap();
        ga4.add(&view(4, 10, 0, "c", "1")).unwrap();
        let late = ga4.add(&view(2, 12, 0, "d", "1")).unwrap_err();
        assert_eq!(late.field, "event_date");
        assert!(late.stops, "a late day is never skipped quietly");
        assert_eq!(late.reason, reason::LATE_DAY);
    }
}
