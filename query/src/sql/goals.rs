//! Goals as SQL, written when a report reads events (goals are config, not
//! stored labels; see [`crate::api::goals`]): the `event:goal` dimension
//! and the revenue sums of revenue goals.
//!
//! Both are expressions over a relation with the events table's column
//! names, so the raw events, the materialized `visit_events` rows and a
//! cluster's `Distributed` table all answer them. Revenue columns exist in
//! `events` only, so a report with revenue metrics reads raw events (see
//! [`super::report::Report::with_coverage`]).

use super::expr::{self, lit};
use crate::api::goals::condition;
use schema::config::Goal;

/// `event:goal`: one row per goal the event completes (an event can
/// complete several page goals, and counts under each, as in Plausible),
/// none for an event that completes none. `arrayJoin` multiplies the row
/// before grouping.
pub fn dimension(goals: &[Goal]) -> String {
    if goals.is_empty() {
        return "arrayJoin(emptyArrayString())".into();
    }
    let names: Vec<String> = goals
        .iter()
        .map(|g| format!("if({}, {}, '')", expr::filter(&condition(g)), lit(&g.name)))
        .collect();
    format!(
        "arrayJoin(arrayFilter(g -> g != '', [{}]))",
        names.join(", ")
    )
}

/// Whether an event carries revenue of a revenue goal: it completes a goal
/// with a currency and has a currency of its own.
fn revenue_condition(goals: &[Goal]) -> String {
    let parts: Vec<String> = goals
        .iter()
        .filter(|g| g.currency.is_some())
        .map(|g| format!("({})", expr::filter(&condition(g))))
        .collect();
    if parts.is_empty() {
        return "0".into();
    }
    format!("revenue_currency != '' AND ({})", parts.join(" OR "))
}

/// The revenue aggregates of a report over single rows, where `cond` (a
/// boolean expression, or `1`) picks the rows that count: the amounts and
/// the number of revenue events, each summed per currency
/// (`([currency], [sum])`, as `sumMap` gives them).
pub fn revenue_sums(goals: &[Goal], cond: &str) -> [String; 2] {
    // Not `sumMapIf`: 18.16 takes the condition for another value array.
    // And 18.16's `sumMap` takes numeric keys only: the three-letter code
    // as the little-endian number of its bytes (see `api::money`).
    let rev = format!("{cond} AND ({})", revenue_condition(goals));
    let keys = format!("if({rev}, [reinterpretAsUInt32(revenue_currency)], emptyArrayUInt32())");
    [
        format!(
            "sumMap({keys}, if({rev}, [toFloat64OrZero(revenue_amount)], emptyArrayFloat64()))"
        ),
        format!("sumMap({keys}, if({rev}, [toUInt64(1)], emptyArrayUInt64()))"),
    ]
}

/// The event columns a report with revenue reads besides the usual ones.
pub const REVENUE_COLUMNS: [&str; 2] = ["revenue_amount", "revenue_currency"];

#[cfg(test)]
mod tests {
    use super::*;
    use schema::config::GoalKind;

    #[test]
    fn goals_become_one_row_each() {
        let goals = vec![
            Goal {
                name: "Signup".into(),
                kind: GoalKind::Event("Signup".into()),
                currency: None,
            },
            Goal {
                name: "It's a page".into(),
                kind: GoalKind::Page("/a/*".into()),
                currency: Some("EUR".into()),
            },
        ];
        assert_eq!(
            dimension(&goals),
            "arrayJoin(arrayFilter(g -> g != '', [if(name IN ('Signup'), 'Signup', ''), \
             if((name IN ('pageview')) AND ((match(pathname, '^/a/[^/]*$'))), 'It\\'s a page', '')]))"
        );
        assert_eq!(dimension(&[]), "arrayJoin(emptyArrayString())");
        assert_eq!(revenue_condition(&goals[..1]), "0");
    }
}
