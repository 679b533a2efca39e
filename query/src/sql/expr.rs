//! The SQL text of values, dimensions and filters. Every user-supplied
//! value enters SQL only through [`lit`]; column names come from the fixed
//! enums in [`crate::api::request`], never from the request text. How
//! visitors are counted ([`visitors_fn`]) is here too, since every path
//! must count them the same way.
//!
//! A dimension has three forms: as stored ([`stored`]), as Plausible would
//! have stored it (renamed browsers and OSes, [`canonical`]), and as
//! answers show it (also with labels for empty values, [`shown`]; see
//! [`crate::api::names`]). Groups are made of shown values; `is` filters
//! compare stored values with the stored values a name stands for, so that
//! they still use the tables' sort order; `contains` and `matches` look at
//! canonical values, as Plausible's look at its stored ones.

use crate::api::names;
use crate::api::request::{Dimension, Filter, Op, TimeGrain};

/// A ClickHouse string literal holding exactly `s`. (A `?` needs nothing:
/// report SQL is sent with the `clickhouse` crate's `query_raw`, which does
/// not read `?` as a bind placeholder; see [`crate::sql::clickhouse`].)
pub fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
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
/// column names, plus `v_*` visit columns when visits are built, as
/// answers show it. `grain` resolves `time`; `tz` is the site's zone as a
/// literal.
pub fn dimension(d: &Dimension, grain: TimeGrain, tz: &str) -> String {
    match d {
        Dimension::Time(TimeGrain::Auto) => dimension(&Dimension::Time(grain), grain, tz),
        Dimension::Time(TimeGrain::Hour) => {
            format!("formatDateTime(timestamp, '%Y-%m-%d %H:00:00', {tz})")
        }
        Dimension::Time(TimeGrain::Day) => format!("toString(toDate(timestamp, {tz}))"),
        Dimension::Time(TimeGrain::Week) => format!("toString(toMonday(timestamp, {tz}))"),
        Dimension::Time(TimeGrain::Month) => format!("toString(toStartOfMonth(timestamp, {tz}))"),
        other => shown(other, &stored(other)),
    }
}

/// A non-time dimension's stored value over the relation.
pub fn stored(d: &Dimension) -> String {
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
        Dimension::Time(_) => unreachable!("time is bucketed, not stored"),
        Dimension::Goal => unreachable!(
            "goals are matched, not stored: see Plan::dimension and api::goals::rewrite"
        ),
    }
}

/// `value` (a stored value of `d`) as Plausible would have stored it:
/// browsers and operating systems under its names.
pub fn canonical(d: &Dimension, value: &str) -> String {
    let Dimension::Visit(column) = d else {
        return value.into();
    };
    let renames = names::renames(column);
    if renames.is_empty() {
        return value.into();
    }
    let list = |items: Vec<&str>| {
        let items: Vec<String> = items.into_iter().map(lit).collect();
        format!("[{}]", items.join(", "))
    };
    format!(
        "transform({value}, {}, {}, {value})",
        list(renames.iter().map(|r| r.0).collect()),
        list(renames.iter().map(|r| r.1).collect())
    )
}

/// `value` (a stored value of `d`) as answers show it: canonical, and an
/// empty one as Plausible's label for it.
pub fn shown(d: &Dimension, value: &str) -> String {
    let renamed = canonical(d, value);
    match d {
        Dimension::Visit(column) => match names::empty_label(column) {
            Some(label) => format!("if(empty({value}), {}, {renamed})", lit(label)),
            None => renamed,
        },
        _ => renamed,
    }
}

/// A filter tree as a boolean SQL expression.
pub fn filter(f: &Filter) -> String {
    match f {
        Filter::Compare {
            op,
            dimension,
            values,
            case_sensitive,
        } => compare(*op, dimension, values, *case_sensitive),
        Filter::And(fs) => join(fs, " AND "),
        Filter::Or(fs) => join(fs, " OR "),
        Filter::Not(f) => format!("NOT ({})", filter(f)),
    }
}

fn join(fs: &[Filter], sep: &str) -> String {
    let parts: Vec<String> = fs.iter().map(|f| format!("({})", filter(f))).collect();
    parts.join(sep)
}

fn compare(op: Op, d: &Dimension, values: &[String], case_sensitive: bool) -> String {
    let stored = stored(d);
    let any = match op {
        Op::Is | Op::IsNot => {
            // A property's "(none)" is its stored form already.
            let values = match d {
                Dimension::Prop(_) => values
                    .iter()
                    .map(|v| fold_case(v, case_sensitive))
                    .collect(),
                _ => names::is_values(d, values, case_sensitive),
            };
            let list: Vec<String> = values.iter().map(|v| lit(v)).collect();
            format!(
                "{} IN ({})",
                lower(&stored, case_sensitive),
                list.join(", ")
            )
        }
        Op::Contains | Op::ContainsNot => {
            let expr = canonical(d, &stored);
            let position = if case_sensitive {
                "position"
            } else {
                "positionCaseInsensitiveUTF8"
            };
            any_of(values, |v| format!("{position}({expr}, {}) > 0", lit(v)))
        }
        Op::Matches | Op::MatchesNot => {
            let expr = canonical(d, &stored);
            any_of(values, |v| {
                format!("match({expr}, {})", lit(&pattern(v, case_sensitive)))
            })
        }
    };
    if op.negated() {
        format!("NOT ({any})")
    } else {
        any
    }
}

/// A `matches` value as the pattern ClickHouse runs. Case-insensitive, it
/// is `(?i)(?:value)|\b\B`: ClickHouse 18.16 first looks for a substring
/// every match must hold, and does so case-sensitively even under `(?i)`
/// (so `(?i)^/DOCS` never matched `/docs`); an alternative at the top level
/// leaves it no such substring, and `\b\B` (a word boundary that is not
/// one) never matches.
fn pattern(value: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        value.into()
    } else {
        format!("(?i)(?:{value})|\\b\\B")
    }
}

fn fold_case(s: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        s.into()
    } else {
        s.to_lowercase()
    }
}

fn lower(expr: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        expr.into()
    } else {
        format!("lowerUTF8({expr})")
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
        assert_eq!(lit("^/a?b(?i)"), "'^/a?b(?i)'");
    }

    #[test]
    fn filters_combine() {
        let f = Filter::And(vec![
            Filter::compare(
                Op::Is,
                Dimension::Visit("country"),
                vec!["DE".into(), "FR".into()],
            ),
            Filter::Not(Box::new(Filter::compare(
                Op::ContainsNot,
                Dimension::Page,
                vec!["/a".into()],
            ))),
        ]);
        assert_eq!(
            filter(&f),
            "(v_country IN ('DE', 'FR')) AND (NOT (NOT ((position(pathname, '/a') > 0))))"
        );
    }

    #[test]
    fn names_are_mapped_when_read() {
        let os = Dimension::Visit("os");
        let shown = dimension(&os, TimeGrain::Day, "'UTC'");
        assert!(
            shown.starts_with("if(empty(v_os), '(not set)', transform(v_os, ['macOS', "),
            "{shown}"
        );
        assert!(shown.contains("['Mac', 'Mac', 'GNU/Linux', "), "{shown}");
        let source = dimension(&Dimension::Visit("source"), TimeGrain::Day, "'UTC'");
        assert_eq!(source, "if(empty(v_source), 'Direct / None', v_source)");
        assert_eq!(
            dimension(&Dimension::Visit("country"), TimeGrain::Day, "'UTC'"),
            "v_country"
        );
        // `is` looks up stored values, so sorted columns stay sorted.
        let is_mac = Filter::compare(Op::Is, os.clone(), vec!["Mac".into()]);
        assert_eq!(filter(&is_mac), "v_os IN ('macOS', 'Mac OS', 'Mac')");
        let direct = Filter::compare(
            Op::IsNot,
            Dimension::Visit("source"),
            vec!["Direct / None".into()],
        );
        assert_eq!(filter(&direct), "NOT (v_source IN ('', 'Direct / None'))");
    }

    #[test]
    fn case_insensitive_filters() {
        let ci = |op, d: Dimension, v: &str| Filter::Compare {
            op,
            dimension: d,
            values: vec![v.into()],
            case_sensitive: false,
        };
        assert_eq!(
            filter(&ci(Op::Is, Dimension::Visit("utm_medium"), "sociaL")),
            "lowerUTF8(v_utm_medium) IN ('social')"
        );
        assert_eq!(
            filter(&ci(Op::Contains, Dimension::Page, "/BLOG")),
            "(positionCaseInsensitiveUTF8(pathname, '/BLOG') > 0)"
        );
        assert_eq!(
            filter(&ci(Op::MatchesNot, Dimension::Name, "^sign")),
            "NOT ((match(name, '(?i)(?:^sign)|\\\\b\\\\B')))"
        );
    }
}
