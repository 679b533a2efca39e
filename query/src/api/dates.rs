//! `date_range` resolved in the site's time zone into a half-open UTC
//! interval, plus the time buckets (`time_labels`) it spans.
//!
//! Named ranges end today, in the site's zone: `day` is today, `7d`, `28d`,
//! `30d`, `91d` (any `Nd`) are that many days including today, `month` and
//! `year` are the current calendar month and year, `6mo` and `12mo` (any
//! `Nmo`) are that many calendar months including the current one, and
//! `all` starts on the day of the site's first stored event. `24h` is the
//! 24 hours up to the clock's second, both ends included.
//!
//! # Bounds
//! Every range lies within [`FIRST_DAY`] to [`LAST_DAY`]: ClickHouse's
//! `DateTime` counts seconds from 1970 in 32 bits (up to 2106-02-07), and
//! checking here, before any arithmetic, is also what keeps a year such as
//! `+262143` from overflowing chrono. Hourly buckets cover at most
//! [`MAX_HOURLY_DAYS`] days ([`check_buckets`]), so a report or its
//! `time_labels` never lists more than about 2,200 hours; days, weeks and
//! months are listed for any allowed range (at most 49,673 days).

use super::request::{DateRange, Shorthand, TimeGrain};
use crate::error::ApiError;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use schema::config::SiteConfig;
use std::collections::HashSet;

/// The first local day a range may start on.
pub const FIRST_DAY: NaiveDate = day(1970, 1, 1);
/// The last local day a range may end on: its end, 2106-01-01 in the
/// furthest zone east or west, is still a `DateTime` ClickHouse can hold.
pub const LAST_DAY: NaiveDate = day(2105, 12, 31);
/// The most days a range with hourly buckets may span (about a quarter,
/// where `time` itself switches from days to months).
pub const MAX_HOURLY_DAYS: i64 = 93;

const fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("a valid literal date"),
    }
}

fn out_of_range() -> ApiError {
    ApiError::BadQuery(format!(
        "`date_range` must lie between {FIRST_DAY} and {LAST_DAY} (what ClickHouse stores)"
    ))
}

/// The site's configured zone; UTC if it names none that exists.
pub fn site_zone(site: &SiteConfig) -> Tz {
    site.timezone.parse().unwrap_or(Tz::UTC)
}

/// A resolved range: `[from, to)` in UTC, and its local first and last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

impl Span {
    /// Local days the span touches, counting its first and last.
    pub fn days(&self) -> i64 {
        (self.last_day - self.first_day).num_days() + 1
    }
}

/// Resolves `range` in `tz`, or refuses a range outside [`FIRST_DAY`] to
/// [`LAST_DAY`]. `first_event` is the local day of the site's first event,
/// needed only for `all`.
pub fn resolve(
    range: &DateRange,
    tz: Tz,
    now: DateTime<Utc>,
    first_event: Option<NaiveDate>,
) -> Result<Span, ApiError> {
    let today = now.with_timezone(&tz).date_naive();
    let span = match range {
        DateRange::Named(name) if Shorthand::parse(name) == Some(Shorthand::Hours24) => {
            if !(FIRST_DAY..=LAST_DAY).contains(&today) {
                return Err(out_of_range());
            }
            let to = Utc
                .timestamp_opt(now.timestamp(), 0)
                .single()
                .unwrap_or(now)
                + Duration::seconds(1);
            let from = to - Duration::hours(24) - Duration::seconds(1);
            Span {
                from,
                to,
                first_day: from.with_timezone(&tz).date_naive(),
                last_day: today,
            }
        }
        DateRange::Named(name) => {
            if !(FIRST_DAY..=LAST_DAY).contains(&today) {
                return Err(out_of_range());
            }
            let (first, last) = named(name, today, first_event);
            days(tz, first.max(FIRST_DAY), last.min(LAST_DAY))
        }
        DateRange::Dates(first, last) => {
            if *first < FIRST_DAY || *last > LAST_DAY {
                return Err(out_of_range());
            }
            days(tz, *first, *last)
        }
        DateRange::DateTimes(a, b) => {
            let from = a.with_timezone(&Utc);
            let last = b.with_timezone(&Utc);
            let end = local_midnight(Tz::UTC, LAST_DAY + Duration::days(1));
            if from < DateTime::UNIX_EPOCH || last >= end {
                return Err(out_of_range());
            }
            // The end is inclusive to the second, like a date range's last day.
            let to = last + Duration::seconds(1);
            Span {
                from,
                to,
                first_day: from.with_timezone(&tz).date_naive(),
                last_day: last.with_timezone(&tz).date_naive(),
            }
        }
    };
    Ok(span)
}

/// Refuses hourly buckets over more than [`MAX_HOURLY_DAYS`] days; other
/// grains are listed for any range [`resolve`] allows.
pub fn check_buckets(span: &Span, grain: TimeGrain) -> Result<(), ApiError> {
    let (name, max_days) = match grain {
        TimeGrain::Auto => return check_buckets(span, auto_grain(span)),
        TimeGrain::Hour => ("time:hour", Some(MAX_HOURLY_DAYS)),
        TimeGrain::Day | TimeGrain::Week | TimeGrain::Month => ("", None),
    };
    match max_days {
        Some(max) if span.days() > max => Err(ApiError::BadQuery(format!(
            "`{name}` covers at most {max} days, and this `date_range` spans {}; use `time:day` or a shorter range",
            span.days()
        ))),
        _ => Ok(()),
    }
}

fn named(name: &str, today: NaiveDate, first_event: Option<NaiveDate>) -> (NaiveDate, NaiveDate) {
    let month_start = today.with_day(1).expect("day 1 exists");
    match Shorthand::parse(name) {
        Some(Shorthand::Day | Shorthand::Hours24) => (today, today),
        Some(Shorthand::Days(n)) => (today - Duration::days(i64::from(n) - 1), today),
        Some(Shorthand::Month) => (month_start, month_end(month_start)),
        Some(Shorthand::Months(n)) => (months_before(month_start, n - 1), month_end(month_start)),
        Some(Shorthand::Year) => (
            NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("January 1st exists"),
            NaiveDate::from_ymd_opt(today.year(), 12, 31).expect("December 31st exists"),
        ),
        Some(Shorthand::All) | None => (first_event.unwrap_or(today).min(today), today),
    }
}

fn months_before(month_start: NaiveDate, n: u32) -> NaiveDate {
    month_start
        .checked_sub_months(chrono::Months::new(n))
        .unwrap_or(month_start)
}

fn month_end(month_start: NaiveDate) -> NaiveDate {
    month_start
        .checked_add_months(chrono::Months::new(1))
        .map_or(month_start, |next| next - Duration::days(1))
}

/// The span of whole local days; `first` and `last` are within bounds.
/// In a zone east of UTC, 1970-01-01 starts before the epoch, where no
/// event can be: the span starts at the epoch then.
fn days(tz: Tz, first: NaiveDate, last: NaiveDate) -> Span {
    Span {
        from: local_midnight(tz, first).max(DateTime::UNIX_EPOCH),
        to: local_midnight(tz, last + Duration::days(1)),
        first_day: first,
        last_day: last,
    }
}

/// The instant a local day starts. Where midnight does not exist (a DST
/// jump at 00:00), the day starts at the first instant that does.
pub fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight is valid");
    (0..=3)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + Duration::hours(h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// What `time` means for a span: hours for one day (or 24 hours), days up
/// to about a quarter, months beyond.
pub fn auto_grain(span: &Span) -> TimeGrain {
    let days = (span.last_day - span.first_day).num_days() + 1;
    if days <= 1 || span.to - span.from <= Duration::hours(24) + Duration::seconds(1) {
        TimeGrain::Hour
    } else if days <= 93 {
        TimeGrain::Day
    } else {
        TimeGrain::Month
    }
}

/// Every bucket label the span covers, in order, formatted as the report
/// formats them.
pub fn labels(span: &Span, grain: TimeGrain, tz: Tz) -> Vec<String> {
    match grain {
        TimeGrain::Hour => hour_labels(span, tz),
        TimeGrain::Day => day_labels(span.first_day, span.last_day, Some),
        TimeGrain::Week => day_labels(span.first_day, span.last_day, |d| {
            Some(d - Duration::days(d.weekday().num_days_from_monday().into()))
        }),
        TimeGrain::Month => day_labels(span.first_day, span.last_day, |d| d.with_day(1)),
        TimeGrain::Auto => labels(span, auto_grain(span), tz),
    }
}

fn day_labels(
    first: NaiveDate,
    last: NaiveDate,
    bucket: impl Fn(NaiveDate) -> Option<NaiveDate>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for day in first.iter_days().take_while(|d| *d <= last) {
        let label = bucket(day).unwrap_or(day).format("%Y-%m-%d").to_string();
        if out.last() != Some(&label) {
            out.push(label);
        }
    }
    out
}

fn hour_labels(span: &Span, tz: Tz) -> Vec<String> {
    // Quarter-hour steps find every local hour, also in zones offset by
    // 30 or 45 minutes; a repeated hour (DST ends) yields one label. The
    // set keeps that check constant-time (a search of the list made ten
    // years of hours take 51 s).
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut t = span.from;
    while t < span.to {
        let label = t.with_timezone(&tz).format("%Y-%m-%d %H:00:00").to_string();
        if seen.insert(label.clone()) {
            out.push(label);
        }
        t += Duration::minutes(15);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn named_ranges_end_today_in_the_site_zone() {
        // 23:30 UTC on Jan 31st is already February 1st in Berlin.
        let now = at("2024-01-31T23:30:00Z");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let day = resolve(&DateRange::Named("day".into()), berlin, now, None).unwrap();
        assert_eq!(day.first_day, date("2024-02-01"));
        assert_eq!(day.from, at("2024-01-31T23:00:00Z"));
        assert_eq!(day.to, at("2024-02-01T23:00:00Z"));
        let week = resolve(&DateRange::Named("7d".into()), Tz::UTC, now, None).unwrap();
        assert_eq!(
            (week.first_day, week.last_day),
            (date("2024-01-25"), date("2024-01-31"))
        );
        let month = resolve(&DateRange::Named("month".into()), Tz::UTC, now, None).unwrap();
        assert_eq!(
            (month.first_day, month.last_day),
            (date("2024-01-01"), date("2024-01-31"))
        );
        let twelve = resolve(&DateRange::Named("12mo".into()), Tz::UTC, now, None).unwrap();
        assert_eq!(
            (twelve.first_day, twelve.last_day),
            (date("2023-02-01"), date("2024-01-31"))
        );
        let six = resolve(&DateRange::Named("6mo".into()), Tz::UTC, now, None).unwrap();
        assert_eq!(six.first_day, date("2023-08-01"));
        let quarter = resolve(&DateRange::Named("91d".into()), Tz::UTC, now, None).unwrap();
        assert_eq!(
            (quarter.first_day, quarter.last_day),
            (date("2023-11-02"), date("2024-01-31"))
        );
        let three = resolve(&DateRange::Named("3mo".into()), Tz::UTC, now, None).unwrap();
        assert_eq!(
            (three.first_day, three.last_day),
            (date("2023-11-01"), date("2024-01-31"))
        );
        // The 24 hours up to the clock's second, in any zone; by the hour.
        let hours = resolve(&DateRange::Named("24h".into()), berlin, now, None).unwrap();
        assert_eq!(
            (hours.from, hours.to),
            (at("2024-01-30T23:30:00Z"), at("2024-01-31T23:30:01Z"))
        );
        assert_eq!(
            (hours.first_day, hours.last_day),
            (date("2024-01-31"), date("2024-02-01"))
        );
        assert_eq!(auto_grain(&hours), TimeGrain::Hour);
        let all = resolve(
            &DateRange::Named("all".into()),
            Tz::UTC,
            now,
            Some(date("2022-05-05")),
        )
        .unwrap();
        assert_eq!(
            (all.first_day, all.last_day),
            (date("2022-05-05"), date("2024-01-31"))
        );
    }

    #[test]
    fn datetime_ranges_include_their_last_second() {
        let range = DateRange::DateTimes(
            DateTime::parse_from_rfc3339("2024-03-01T10:00:00+02:00").unwrap(),
            DateTime::parse_from_rfc3339("2024-03-01T10:59:59+02:00").unwrap(),
        );
        let span = resolve(&range, Tz::UTC, Utc::now(), None).unwrap();
        assert_eq!(
            (span.from, span.to),
            (at("2024-03-01T08:00:00Z"), at("2024-03-01T09:00:00Z"))
        );
    }

    #[test]
    fn labels_follow_the_grain_and_the_zone() {
        let span = days(Tz::UTC, date("2024-01-30"), date("2024-02-02"));
        assert_eq!(
            labels(&span, TimeGrain::Day, Tz::UTC),
            ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"]
        );
        assert_eq!(
            labels(&span, TimeGrain::Month, Tz::UTC),
            ["2024-01-01", "2024-02-01"]
        );
        assert_eq!(labels(&span, TimeGrain::Week, Tz::UTC), ["2024-01-29"]);
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let one = days(kolkata, date("2024-01-01"), date("2024-01-01"));
        let hours = labels(&one, TimeGrain::Auto, kolkata);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[0], "2024-01-01 00:00:00");
        // The day DST ends in Berlin has 25 hours but 24 distinct labels.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let fall = days(berlin, date("2024-10-27"), date("2024-10-27"));
        assert_eq!((fall.to - fall.from).num_hours(), 25);
        assert_eq!(labels(&fall, TimeGrain::Hour, berlin).len(), 24);
    }

    #[test]
    fn auto_grain_depends_on_length() {
        assert_eq!(
            auto_grain(&days(Tz::UTC, date("2024-01-01"), date("2024-01-01"))),
            TimeGrain::Hour
        );
        assert_eq!(
            auto_grain(&days(Tz::UTC, date("2024-01-01"), date("2024-01-30"))),
            TimeGrain::Day
        );
        assert_eq!(
            auto_grain(&days(Tz::UTC, date("2023-01-01"), date("2023-12-31"))),
            TimeGrain::Month
        );
    }

    /// What every resolved span must satisfy, whatever it came from.
    fn assert_storable(span: &Span, what: &str) {
        let last_second = DateTime::from_timestamp(i64::from(u32::MAX), 0).unwrap();
        assert!(span.from >= DateTime::UNIX_EPOCH, "{what}: {span:?}");
        assert!(span.to <= last_second, "{what}: {span:?}");
        assert!(span.from < span.to, "{what}: {span:?}");
    }

    /// Parses `range` as a request's `date_range` and resolves it in a few
    /// zones and at a few moments: a refusal must name `date_range`, a
    /// span must be storable, and every grain's labels bounded.
    fn check_hostile(range: serde_json::Value) {
        let body =
            serde_json::json!({"site_id": "a", "metrics": ["visitors"], "date_range": range});
        let query = match crate::api::parse::parse(&body) {
            Ok(query) => query,
            Err(ApiError::BadQuery(m)) => {
                assert!(m.contains("date_range"), "{range}: {m}");
                return;
            }
            Err(other) => panic!("{range}: {other:?}"),
        };
        let zones: [Tz; 3] = [
            "Pacific/Kiritimati".parse().unwrap(),
            "Pacific/Pago_Pago".parse().unwrap(),
            "Asia/Kathmandu".parse().unwrap(),
        ];
        let moments = [0, 1_710_000_000, i64::from(u32::MAX)];
        for tz in zones {
            // Labels once per distinct span: most ranges do not depend on
            // the moment, and listing 49,000 days takes a while unoptimized.
            let mut spans = HashSet::new();
            for now in moments {
                let now = DateTime::from_timestamp(now, 0).unwrap();
                for first_event in [None, Some(NaiveDate::MIN), Some(NaiveDate::MAX)] {
                    let what = format!("{range} in {tz} at {now}");
                    match resolve(&query.date_range, tz, now, first_event) {
                        Ok(span) => {
                            assert_storable(&span, &what);
                            if spans.insert((span.from, span.to)) {
                                check_labels(&span, tz, &what);
                            }
                        }
                        Err(ApiError::BadQuery(m)) => {
                            assert!(m.contains("date_range"), "{what}: {m}")
                        }
                        Err(other) => panic!("{what}: {other:?}"),
                    }
                }
            }
        }
    }

    fn check_labels(span: &Span, tz: Tz, what: &str) {
        for grain in [
            TimeGrain::Auto,
            TimeGrain::Hour,
            TimeGrain::Day,
            TimeGrain::Week,
            TimeGrain::Month,
        ] {
            match check_buckets(span, grain) {
                Ok(()) => {
                    let labels = labels(span, grain, tz);
                    assert!(!labels.is_empty(), "{what} {grain:?}");
                    assert!(labels.len() as i64 <= span.days() * 24, "{what} {grain:?}");
                }
                Err(ApiError::BadQuery(m)) => {
                    assert_eq!(grain, TimeGrain::Hour, "{what}: {m}");
                    assert!(m.contains("93 days"), "{what}: {m}");
                }
                Err(other) => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn hostile_dates_are_refused_or_resolved_within_bounds() {
        let huge: Vec<String> = vec!["2024-01-01".into(); 100_000];
        let ranges = [
            serde_json::json!(["+262143-12-31", "+262143-12-31"]),
            serde_json::json!(["-262144-01-01", "+262143-12-31"]),
            serde_json::json!(["-0001-01-01", "2024-01-01"]),
            serde_json::json!(["0000-01-01", "0000-01-01"]),
            serde_json::json!(["1969-12-31", "1970-01-01"]),
            serde_json::json!(["1970-01-01", "2105-12-31"]),
            serde_json::json!(["2105-12-31", "2106-01-01"]),
            serde_json::json!(["2024-02-30", "2024-03-01"]),
            serde_json::json!(["2024-02-29", "2024-02-29"]),
            serde_json::json!(["1970-01-01T00:00:00+14:00", "1970-01-01T00:00:00-12:00"]),
            serde_json::json!(["1970-01-01T00:00:00Z", "2105-12-31T23:59:59Z"]),
            serde_json::json!(["2105-12-31T23:59:59Z", "2106-02-07T06:28:15Z"]),
            serde_json::json!(["9999-12-31T23:59:59+23:59", "9999-12-31T23:59:59+23:59"]),
            serde_json::json!(["0001-01-01T00:00:00-23:59", "0001-01-01T00:00:00-23:59"]),
            serde_json::json!(huge),
            serde_json::json!("all"),
            serde_json::json!("year"),
            serde_json::json!("12mo"),
        ];
        for range in ranges {
            check_hostile(range);
        }
    }

    #[test]
    fn the_edges_are_exact() {
        let range = |a: &str, b: &str| DateRange::Dates(date(a), date(b));
        let now = at("2024-01-01T00:00:00Z");
        assert!(resolve(&range("1970-01-01", "2105-12-31"), Tz::UTC, now, None).is_ok());
        assert!(resolve(&range("1969-12-31", "2024-01-01"), Tz::UTC, now, None).is_err());
        assert!(resolve(&range("2024-01-01", "2106-01-01"), Tz::UTC, now, None).is_err());
        // East of UTC the first local day starts before the epoch; the span
        // starts at the epoch, where the first storable event is.
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let first = resolve(&range("1970-01-01", "1970-01-01"), kolkata, now, None).unwrap();
        assert_eq!(
            (first.from, first.to),
            (DateTime::UNIX_EPOCH, at("1970-01-01T18:30:00Z"))
        );
        let hours = |days: i64| {
            let last = date("2024-01-01") + Duration::days(days - 1);
            check_buckets(&days_span(date("2024-01-01"), last), TimeGrain::Hour)
        };
        assert!(hours(MAX_HOURLY_DAYS).is_ok());
        let refused = hours(MAX_HOURLY_DAYS + 1).unwrap_err().to_string();
        assert!(
            refused.contains("time:hour") && refused.contains("93 days"),
            "{refused}"
        );
    }

    fn days_span(first: NaiveDate, last: NaiveDate) -> Span {
        days(Tz::UTC, first, last)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any date or date-time a parser might accept, in any zone at any
        /// moment: a 400 naming `date_range`, or a storable span.
        #[test]
        fn no_date_input_panics(
            years in proptest::array::uniform2(-300_000i32..300_000),
            months in proptest::array::uniform2(0u32..14),
            days in proptest::array::uniform2(0u32..33),
            time in proptest::option::of((0u32..25, 0u32..61, -1500i32..1500)),
            signed in proptest::bool::ANY,
        ) {
            let text = |i: usize| {
                let year = if signed { format!("{:+05}", years[i]) } else { format!("{:04}", years[i]) };
                let date = format!("{year}-{:02}-{:02}", months[i], days[i]);
                match time {
                    None => date,
                    Some((h, m, offset)) => {
                        let sign = if offset < 0 { '-' } else { '+' };
                        let off = offset.unsigned_abs();
                        format!("{date}T{h:02}:{m:02}:00{sign}{:02}:{:02}", off / 60, off % 60)
                    }
                }
            };
            check_hostile(serde_json::json!([text(0), text(1)]));
        }

        /// Near the edges, where the bound decides: years 1969 to 2107.
        #[test]
        fn no_date_near_the_edges_panics(
            a in 0i64..50_500,
            b in 0i64..50_500,
        ) {
            let start = date("1969-01-01");
            let text = |d: i64| (start + Duration::days(d)).to_string();
            check_hostile(serde_json::json!([text(a.min(b)), text(a.max(b))]));
        }
    }
}
