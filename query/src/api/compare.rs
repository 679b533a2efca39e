//! `include.comparisons`: which days each report is compared with, and how
//! a value's change is told, both as Plausible's `Comparisons` and
//! `Compare` modules do it (for the `comparisons` object of its Stats API).
//!
//! - `previous_period`: as many days right before the range, where the
//!   range counts only up to today (a month compared on its 9th day is
//!   compared with the 9 days before it).
//! - `year_over_year`: the range 365 days earlier (up to today, likewise),
//!   which a leap day shifts by one calendar day.
//! - `custom`: the given days.
//! - `match_day_of_week`: the compared range then moves to start on the
//!   weekday the range starts on: to the next such day, or the previous
//!   one when the next is the range's own first day.
//!
//! "Today" is the UTC date of the service's clock, as in Plausible (which
//! compares the range's last day with its UTC `now`).

use super::request::{CompareMode, Comparison, Metric};
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::Value;

/// The first and last day compared with the local days `first` to `last`.
pub fn compared_days(
    first: NaiveDate,
    last: NaiveDate,
    today: NaiveDate,
    comparison: &Comparison,
) -> (NaiveDate, NaiveDate) {
    let (a, b) = match comparison.mode {
        CompareMode::Custom(a, b) => return (a, b),
        CompareMode::PreviousPeriod => {
            let last = last.min(today);
            // Plausible's `Date.diff(first, last) - 1`: minus the length.
            let shift = Duration::days((first - last).num_days() - 1);
            (first + shift, last + shift)
        }
        CompareMode::YearOverYear => {
            let year = Duration::days(365);
            (first - year, last.min(today) - year)
        }
    };
    if !comparison.match_day_of_week {
        return (a, b);
    }
    let moved = same_weekday(a, first.weekday().num_days_from_monday(), first);
    let shift = moved - a;
    (moved, b + shift)
}

/// `date` moved to the next day that is `weekday` days after a Monday, or
/// to the previous one if the next is `reject`; `date` itself if it is one.
fn same_weekday(date: NaiveDate, weekday: u32, reject: NaiveDate) -> NaiveDate {
    let current = date.weekday().num_days_from_monday();
    if current == weekday {
        return date;
    }
    let ahead = (weekday + 7 - current) % 7;
    let next = date + Duration::days(ahead.into());
    if next != reject {
        next
    } else {
        next - Duration::days(7)
    }
}

/// How `new` changed from `old`, as Plausible reports it: for the bounce
/// and exit rates the difference in points (`null` when it was 0 before),
/// for every
/// other metric the percent change rounded to a whole number (100 from 0 to
/// anything, 0 from 0 to 0).
pub fn change(metric: Metric, old: &Value, new: &Value) -> Value {
    let (old, new) = (old.as_f64().unwrap_or(0.0), new.as_f64().unwrap_or(0.0));
    if matches!(metric, Metric::BounceRate | Metric::ExitRate) {
        return if old > 0.0 {
            Value::from((new - old).round() as i64)
        } else {
            Value::Null
        };
    }
    let percent = if old == 0.0 {
        if new > 0.0 {
            100
        } else {
            0
        }
    } else {
        ((new - old) / old * 100.0).round() as i64
    };
    Value::from(percent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn compared_ranges_are_plausibles() {
        use CompareMode::{PreviousPeriod as P, YearOverYear as Y};
        let custom = CompareMode::Custom(day("2021-05-01"), day("2021-05-04"));
        // (mode, match_day_of_week, range, today, compared range)
        let cases = [
            // query_comparisons_test.exs: four days, and a 31-day month.
            (
                P,
                false,
                ("2021-06-01", "2021-06-04"),
                "2024-01-01",
                ("2021-05-28", "2021-05-31"),
            ),
            (
                P,
                false,
                ("2021-05-01", "2021-05-31"),
                "2024-01-01",
                ("2021-03-31", "2021-04-30"),
            ),
            // A month asked for on its 9th day: the 9 days before it.
            (
                P,
                false,
                ("2024-03-01", "2024-03-31"),
                "2024-03-09",
                ("2024-02-21", "2024-02-29"),
            ),
            // One day: the day before.
            (
                P,
                false,
                ("2024-03-09", "2024-03-09"),
                "2024-03-09",
                ("2024-03-08", "2024-03-08"),
            ),
            (
                Y,
                false,
                ("2020-01-01", "2020-01-31"),
                "2024-01-01",
                ("2019-01-01", "2019-01-31"),
            ),
            // Across a leap day, 365 days is one calendar day off.
            (
                Y,
                false,
                ("2024-03-01", "2024-03-31"),
                "2024-12-01",
                ("2023-03-02", "2023-04-01"),
            ),
            // Up to today only.
            (
                Y,
                false,
                ("2021-07-01", "2021-07-31"),
                "2021-07-10",
                ("2020-07-01", "2020-07-10"),
            ),
            // query_comparisons_test.exs: Tuesday 2021-06-01 to Friday the
            // 4th; the previous period starts on Friday May 28th, the next
            // Tuesday is June 1st (the range's own first day), so the one
            // before: May 25th.
            (
                P,
                true,
                ("2021-06-01", "2021-06-04"),
                "2024-01-01",
                ("2021-05-25", "2021-05-28"),
            ),
            // Plausible's documented example: Sunday 2023-01-01 year over
            // year is Sunday 2022-01-02, not Saturday 2022-01-01.
            (
                Y,
                true,
                ("2023-01-01", "2023-01-07"),
                "2024-01-01",
                ("2022-01-02", "2022-01-08"),
            ),
            // Already the same weekday (Monday): nothing moves.
            (
                P,
                true,
                ("2024-03-04", "2024-03-10"),
                "2024-04-01",
                ("2024-02-26", "2024-03-03"),
            ),
            // Custom ranges are taken as given.
            (
                custom,
                true,
                ("2021-06-01", "2021-06-04"),
                "2024-01-01",
                ("2021-05-01", "2021-05-04"),
            ),
        ];
        for (mode, match_day_of_week, (first, last), today, (a, b)) in cases {
            let c = Comparison {
                mode,
                match_day_of_week,
            };
            assert_eq!(
                compared_days(day(first), day(last), day(today), &c),
                (day(a), day(b)),
                "{mode:?} {match_day_of_week} {first} {last} {today}"
            );
        }
    }

    #[test]
    fn change_is_a_rounded_percentage_or_points_of_bounce_rate() {
        let v = |old: Value, new: Value| change(Metric::Visitors, &old, &new);
        assert_eq!(v(json!(3), json!(1)), json!(-67));
        assert_eq!(v(json!(1), json!(3)), json!(200));
        assert_eq!(v(json!(0), json!(2)), json!(100));
        assert_eq!(v(json!(0), json!(0)), json!(0));
        assert_eq!(v(json!(2), json!(0)), json!(-100));
        // query_comparisons_test.exs: percentages change by their own percent.
        let p = |old: f64, new: f64| change(Metric::Percentage, &json!(old), &json!(new));
        assert_eq!(p(12.5, 50.0), json!(300));
        assert_eq!(p(50.0, 33.3), json!(-33));
        assert_eq!(p(37.5, 16.7), json!(-55));
        let b = |old: u64, new: u64| change(Metric::BounceRate, &json!(old), &json!(new));
        assert_eq!(b(40, 55), json!(15));
        assert_eq!(b(60, 20), json!(-40));
        assert_eq!(b(0, 20), Value::Null);
    }
}
