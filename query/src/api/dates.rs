//! `date_range` resolved in the site's time zone into a half-open UTC
//! interval, plus the time buckets (`time_labels`) it spans.
//!
//! Named ranges end today, in the site's zone: `day` is today, `7d`, `28d`,
//! `30d`, `91d` (any `Nd`) are that many days including today, `month` and
//! `year` are the current calendar month and year, `6mo` and `12mo` (any
//! `Nmo`) are that many calendar months including the current one, and
//! `all` starts on the day of the site's first stored event. `24h` is the
//! 24 hours up to the clock's second, both ends included.

use super::request::{DateRange, Shorthand, TimeGrain};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use schema::config::SiteConfig;

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

/// Resolves `range` in `tz`. `first_event` is the local day of the site's
/// first event, needed only for `all`.
pub fn resolve(
    range: &DateRange,
    tz: Tz,
    now: DateTime<Utc>,
    first_event: Option<NaiveDate>,
) -> Span {
    let today = now.with_timezone(&tz).date_naive();
    match range {
        DateRange::Named(name) if Shorthand::parse(name) == Some(Shorthand::Hours24) => {
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
            let (first, last) = named(name, today, first_event);
            days(tz, first, last)
        }
        DateRange::Dates(first, last) => days(tz, *first, *last),
        DateRange::DateTimes(a, b) => {
            let from = a.with_timezone(&Utc);
            // The end is inclusive to the second, like a date range's last day.
            let to = b.with_timezone(&Utc) + Duration::seconds(1);
            Span {
                from,
                to,
                first_day: from.with_timezone(&tz).date_naive(),
                last_day: (to - Duration::seconds(1)).with_timezone(&tz).date_naive(),
            }
        }
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

fn days(tz: Tz, first: NaiveDate, last: NaiveDate) -> Span {
    Span {
        from: local_midnight(tz, first),
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
    // 30 or 45 minutes; a repeated hour (DST ends) yields one label.
    let mut out: Vec<String> = Vec::new();
    let mut t = span.from;
    while t < span.to {
        let label = t.with_timezone(&tz).format("%Y-%m-%d %H:00:00").to_string();
        if !out.contains(&label) {
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
        let day = resolve(&DateRange::Named("day".into()), berlin, now, None);
        assert_eq!(day.first_day, date("2024-02-01"));
        assert_eq!(day.from, at("2024-01-31T23:00:00Z"));
        assert_eq!(day.to, at("2024-02-01T23:00:00Z"));
        let week = resolve(&DateRange::Named("7d".into()), Tz::UTC, now, None);
        assert_eq!(
            (week.first_day, week.last_day),
            (date("2024-01-25"), date("2024-01-31"))
        );
        let month = resolve(&DateRange::Named("month".into()), Tz::UTC, now, None);
        assert_eq!(
            (month.first_day, month.last_day),
            (date("2024-01-01"), date("2024-01-31"))
        );
        let twelve = resolve(&DateRange::Named("12mo".into()), Tz::UTC, now, None);
        assert_eq!(
            (twelve.first_day, twelve.last_day),
            (date("2023-02-01"), date("2024-01-31"))
        );
        let six = resolve(&DateRange::Named("6mo".into()), Tz::UTC, now, None);
        assert_eq!(six.first_day, date("2023-08-01"));
        let quarter = resolve(&DateRange::Named("91d".into()), Tz::UTC, now, None);
        assert_eq!(
            (quarter.first_day, quarter.last_day),
            (date("2023-11-02"), date("2024-01-31"))
        );
        let three = resolve(&DateRange::Named("3mo".into()), Tz::UTC, now, None);
        assert_eq!(
            (three.first_day, three.last_day),
            (date("2023-11-01"), date("2024-01-31"))
        );
        // The 24 hours up to the clock's second, in any zone; by the hour.
        let hours = resolve(&DateRange::Named("24h".into()), berlin, now, None);
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
        );
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
        let span = resolve(&range, Tz::UTC, Utc::now(), None);
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
}
