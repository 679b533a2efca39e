//! `/.well-known/gpc.json`, as the Global Privacy Control specification
//! defines it (<https://w3c.github.io/gpc/>, "GPC Support Resource"): a JSON
//! object whose `gpc` member says the site honours the signal, and whose
//! `lastUpdate` is the date, `YYYY-MM-DD`, that statement was last made.

use chrono::{Days, NaiveDate};

/// The resource for a site that honours GPC. `last_update_day` is days since
/// the Unix epoch (UTC).
pub fn support_resource(last_update_day: u64) -> String {
    let date = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_days(Days::new(last_update_day)))
        .unwrap_or(NaiveDate::MAX);
    // Nothing in a date needs escaping in JSON.
    format!(
        r#"{{"gpc":true,"lastUpdate":"{}"}}"#,
        date.format("%Y-%m-%d")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_full_dates() {
        // 2026-12-05 is day 20_792 since 1970-01-01.
        assert_eq!(
            support_resource(20_792),
            r#"{"gpc":true,"lastUpdate":"2026-12-05"}"#
        );
        assert_eq!(
            support_resource(0),
            r#"{"gpc":true,"lastUpdate":"1970-01-01"}"#
        );
    }
}
