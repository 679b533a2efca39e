//! The cost of listing a report's time buckets (`include.time_labels`):
//! every hour of the longest hourly range, and every day, week and month
//! of ten years, in a zone with DST changes.
//!
//! Run: `cargo bench -p query --bench time_labels`.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use divan::Bencher;
use query::api::dates::{labels, Span};
use query::api::request::TimeGrain;

fn main() {
    divan::main();
}

/// Whole local days `first` to `last` in `tz`.
fn span(tz: Tz, first: NaiveDate, last: NaiveDate) -> Span {
    let midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    Span {
        from: midnight(first),
        to: midnight(last + chrono::Duration::days(1)),
        first_day: first,
        last_day: last,
    }
}

fn berlin() -> Tz {
    "Europe/Berlin".parse().unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// 93 days of hours (2,232 labels), across the autumn DST change.
#[divan::bench]
fn hours_of_93_days(bencher: Bencher) {
    let span = span(berlin(), day(2024, 9, 1), day(2024, 12, 2));
    bencher.bench(|| labels(&span, TimeGrain::Hour, berlin()));
}

#[divan::bench(args = [TimeGrain::Day, TimeGrain::Week, TimeGrain::Month])]
fn ten_years(bencher: Bencher, grain: TimeGrain) {
    let span = span(berlin(), day(2014, 1, 1), day(2023, 12, 31));
    bencher.bench(|| labels(&span, grain, berlin()));
}
