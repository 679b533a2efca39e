//! The SQL text of values, dimensions and filters. Every user-supplied
//! value enters SQL only through [`lit`]; column names come from the fixed
//! enums in [`crate::api::request`], never from the request text. How
//! visitors are counted ([`visitors_fn`]) is here too, since every path
//! must count them the same way.

use crate::api::request::{Dimension, Filter, Op, TimeGrain};

/// A ClickHouse string literal holding exactly `s`. The `clickhouse` crate
/// reads a `?` in the SQL it is given as a bind placeholder and `??` as a
/// `?`, so a `?` is doubled too.
pub fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '?' => out.push_str("??"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// How visitors are counted, on every path: the HyperLogLog-based
/// `uniqCombined` at precision 14, whose states stay a few kilobytes, so
/// the rollups' daily states merge fast (migration 7). Exact up to about a
/// thousand distinct ids, about 0.8% standard error beyond; rollups and raw
/// events give the same number, since merging these states loses nothing.
/// Combinators go between the name and the parameter: `uniqCombinedIf(14)`.
const VISITORS: &str = "uniqCombined";
const VISITORS_PRECISION: u8 = 14;

/// `uniqCombined<combinator>(14)`, e.g. `visitors_fn("If")`.
pub fn visitors_fn(combinator: &str) -> String {
    format!("{VISITORS}{combinator}({VISITORS_PRECISION})")
}

/// The value shown for a custom property an event does not carry.
pub const NO_PROP: &str = "(none)";

/// The expression of a dimension over a relation with the events table's
/// column names, plus `v_*` visit columns when visits are built.
/// `grain` resolves `time`; `tz` is the site's zone as a literal.
pub fn dimension(d: &Dimension, grain: TimeGrain, tz: &str) -> String {
    match d {
        Dimension::Page => "pathname".into(),
        Dimension::Name => "name".into(),
        Dimension::Hostname => "hostname".into(),
        Dimension::Prop(key) => {
            let key = lit(key);
            format!(
                "if(has(props_keys, {key}), props_values[indexOf(props_keys, {key})], {})",
                lit(NO_PROP)
            )
        }
        Dimension::EntryPage => "v_entry_page".into(),
        Dimension::ExitPage => "v_exit_page".into(),
        Dimension::Visit(column) => format!("v_{column}"),
        Dimension::Time(TimeGrain::Auto) => dimension(&Dimension::Time(grain), grain, tz),
        Dimension::Time(TimeGrain::Hour) => {
            format!("formatDateTime(timestamp, '%Y-%m-%d %H:00:00', {tz})")
        }
        Dimension::Time(TimeGrain::Day) => format!("toString(toDate(timestamp, {tz}))"),
        Dimension::Time(TimeGrain::Week) => format!("toString(toMonday(timestamp, {tz}))"),
        Dimension::Time(TimeGrain::Month) => format!("toString(toStartOfMonth(timestamp, {tz}))"),
    }
}

/// A filter tree as a boolean SQL expression.
pub fn filter(f: &Filter) -> String {
    match f {
        Filter::Compare {
            op,
            dimension: d,
            values,
        } => compare(*op, &dimension(d, TimeGrain::Day, "'UTC'"), values),
        Filter::And(fs) => join(fs, " AND "),
        Filter::Or(fs) => join(fs, " OR "),
        Filter::Not(f) => format!("NOT ({})", filter(f)),
    }
}

fn join(fs: &[Filter], sep: &str) -> String {
    let parts: Vec<String> = fs.iter().map(|f| format!("({})", filter(f))).collect();
    parts.join(sep)
}

fn compare(op: Op, expr: &str, values: &[String]) -> String {
    let any = match op {
        Op::Is | Op::IsNot => {
            let list: Vec<String> = values.iter().map(|v| lit(v)).collect();
            format!("{expr} IN ({})", list.join(", "))
        }
        Op::Contains | Op::ContainsNot => {
            any_of(values, |v| format!("position({expr}, {}) > 0", lit(v)))
        }
        Op::Matches | Op::MatchesNot => any_of(values, |v| format!("match({expr}, {})", lit(v))),
    };
    if op.negated() {
        format!("NOT ({any})")
    } else {
        any
    }
}

fn any_of(values: &[String], each: impl Fn(&str) -> String) -> String {
    let parts: Vec<String> = values.iter().map(|v| format!("({})", each(v))).collect();
    parts.join(" OR ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_everything_that_could_end_them() {
        assert_eq!(lit("plain"), "'plain'");
        assert_eq!(lit("it's"), "'it\\'s'");
        assert_eq!(lit("a\\' OR 1=1 --"), "'a\\\\\\' OR 1=1 --'");
        assert_eq!(lit("x\0y\nz"), "'x\\0y\\nz'");
        assert_eq!(lit("^/a?b(?i)"), "'^/a??b(??i)'");
    }

    #[test]
    fn filters_combine() {
        let f = Filter::And(vec![
            Filter::Compare {
                op: Op::Is,
                dimension: Dimension::Visit("country"),
                values: vec!["DE".into(), "FR".into()],
            },
            Filter::Not(Box::new(Filter::Compare {
                op: Op::ContainsNot,
                dimension: Dimension::Page,
                values: vec!["/a".into()],
            })),
        ]);
        assert_eq!(
            filter(&f),
            "(v_country IN ('DE', 'FR')) AND (NOT (NOT ((position(pathname, '/a') > 0))))"
        );
    }
}
