//! Goals in the Stats API: `event:goal` filters checked against the site's
//! goals and rewritten, at read time, into conditions on what every path
//! stores (event name and path), the filters a conversion rate's
//! denominator keeps, and which currency a row's revenue is in.
//!
//! Goals are the site's config ([`schema::config::Goal`]), not labels on
//! stored events, so a goal added or renamed today counts past events too.
//! A custom event goal is `event:name is NAME`; a pageview goal is
//! `event:name is pageview` and `event:page matches` its glob turned into
//! an anchored RE2 pattern ([`glob_regex`]). The rewritten tree uses only
//! dimensions the SQL layer knows already, so every path (raw events,
//! materialized visits, a cluster's `Distributed` table) answers it alike.

use super::request::{Dimension, Filter, Metric, Op, Query};
use crate::error::ApiError;
use schema::config::{Goal, GoalKind};

/// The site's goals, set on the query, and its `event:goal` filter values
/// checked: `is` and `is_not` must name configured goals (as Plausible
/// refuses unknown ones), metrics that need a goal get one.
pub fn attach(query: &mut Query, goals: Vec<Goal>) -> Result<(), ApiError> {
    if let Some(f) = &query.filter {
        check_names(f, &goals)?;
    }
    query.goals = goals;
    Ok(())
}

fn check_names(f: &Filter, goals: &[Goal]) -> Result<(), ApiError> {
    match f {
        Filter::Compare {
            op: Op::Is | Op::IsNot,
            dimension: Dimension::Goal,
            values,
            case_sensitive,
        } => {
            for v in values {
                if !goals.iter().any(|g| same(&g.name, v, *case_sensitive)) {
                    return Err(ApiError::BadQuery(format!(
                        "Invalid filters. The goal `{v}` is not configured for this site (see [[site.goal]] in the config)"
                    )));
                }
            }
            Ok(())
        }
        Filter::Compare { .. } => Ok(()),
        Filter::And(fs) | Filter::Or(fs) => fs.iter().try_for_each(|f| check_names(f, goals)),
        Filter::Not(f) => check_names(f, goals),
    }
}

fn same(a: &str, b: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        a == b
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// The filter with every `event:goal` condition replaced by what its goals
/// match (see the module docs). Other conditions stay as they are.
pub fn rewrite(f: &Filter, goals: &[Goal]) -> Filter {
    match f {
        Filter::Compare {
            op,
            dimension: Dimension::Goal,
            values,
            case_sensitive,
        } => {
            let chosen: Vec<&Goal> = goals
                .iter()
                .filter(|g| selects(*op, &g.name, values, *case_sensitive))
                .collect();
            let any = match chosen.as_slice() {
                [] => never(),
                [one] => condition(one),
                many => Filter::Or(many.iter().map(|g| condition(g)).collect()),
            };
            if op.negated() {
                Filter::Not(Box::new(any))
            } else {
                any
            }
        }
        Filter::Compare { .. } => f.clone(),
        Filter::And(fs) => Filter::And(fs.iter().map(|f| rewrite(f, goals)).collect()),
        Filter::Or(fs) => Filter::Or(fs.iter().map(|f| rewrite(f, goals)).collect()),
        Filter::Not(f) => Filter::Not(Box::new(rewrite(f, goals))),
    }
}

/// Whether a goal named `name` is one of those `[op, "event:goal", values]`
/// names (before negation: `is_not` selects what `is` does, then negates).
fn selects(op: Op, name: &str, values: &[String], case_sensitive: bool) -> bool {
    values.iter().any(|v| match op {
        Op::Is | Op::IsNot => same(name, v, case_sensitive),
        Op::Contains | Op::ContainsNot => {
            if case_sensitive {
                name.contains(v.as_str())
            } else {
                name.to_lowercase().contains(&v.to_lowercase())
            }
        }
        Op::Matches | Op::MatchesNot => {
            let pattern = if case_sensitive {
                v.clone()
            } else {
                format!("(?i){v}")
            };
            // Checked against RE2's syntax when parsed; what the `regex`
            // crate cannot compile selects nothing.
            regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(name))
        }
    })
}

/// The condition an event meets when it completes `goal`.
pub fn condition(goal: &Goal) -> Filter {
    match &goal.kind {
        GoalKind::Event(name) => Filter::compare(Op::Is, Dimension::Name, vec![name.clone()]),
        GoalKind::Page(glob) => Filter::And(vec![
            Filter::compare(Op::Is, Dimension::Name, vec!["pageview".into()]),
            Filter::compare(Op::Matches, Dimension::Page, vec![glob_regex(glob)]),
        ]),
    }
}

/// A condition no event meets: a goal filter that selects no goal. (Every
/// comparison needs a value, so it is written as a name that is and is
/// not `pageview`.)
fn never() -> Filter {
    let pageview = || vec!["pageview".to_string()];
    Filter::And(vec![
        Filter::compare(Op::Is, Dimension::Name, pageview()),
        Filter::compare(Op::IsNot, Dimension::Name, pageview()),
    ])
}

/// A page glob as an anchored RE2 pattern with the meaning the collector's
/// `exclude_paths` gives globs: `**` any characters, `*` and `?` any
/// within one path segment, `[...]` a class (`[!...]` negated), `{a,b}`
/// alternatives; everything else literal.
pub fn glob_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    let mut in_braces = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                out.push_str(".*");
                i += 1;
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                let end = chars[i + 1..].iter().position(|&c| c == ']');
                match end {
                    Some(len) if len > 0 => {
                        let class: String = chars[i + 1..i + 1 + len].iter().collect();
                        let class = class
                            .strip_prefix('!')
                            .map_or(class.clone(), |rest| format!("^{rest}"));
                        out.push('[');
                        out.push_str(&class.replace('\\', "\\\\"));
                        out.push(']');
                        i += len + 1;
                    }
                    _ => out.push_str("\\["),
                }
            }
            '{' => {
                in_braces = true;
                out.push_str("(?:");
            }
            ',' if in_braces => out.push('|'),
            '}' if in_braces => {
                in_braces = false;
                out.push(')');
            }
            c => push_literal(&mut out, c),
        }
        i += 1;
    }
    out.push('$');
    out
}

fn push_literal(out: &mut String, c: char) {
    if "\\.+*?()|[]{}^$".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// The filters a conversion rate's denominator keeps: the query's, without
/// its top-level `event:goal` and `event:props:*` conditions, as in
/// Plausible (a property filter next to a goal describes the conversion;
/// kept, it would make the denominator the converted visitors themselves).
pub fn without_goal_filters(f: &Filter) -> Option<Filter> {
    let conversion_part = |f: &Filter| {
        matches!(
            f,
            Filter::Compare {
                dimension: Dimension::Goal | Dimension::Prop(_),
                ..
            }
        )
    };
    match f {
        Filter::And(fs) => {
            let mut kept: Vec<Filter> =
                fs.iter().filter(|f| !conversion_part(f)).cloned().collect();
            match kept.len() {
                0 => None,
                1 => kept.pop(),
                _ => Some(Filter::And(kept)),
            }
        }
        f if conversion_part(f) => None,
        f => Some(f.clone()),
    }
}

/// Whether the query names goals at all: an `event:goal` dimension or a
/// filter on it at any depth. Conversion and revenue metrics need one.
pub fn has_goal(query: &Query) -> bool {
    query.dimensions.contains(&Dimension::Goal)
        || query
            .filter
            .as_ref()
            .is_some_and(|f| f.dimensions().contains(&&Dimension::Goal))
}

/// Metrics that only mean something for a goal.
pub fn needs_goal(m: Metric) -> bool {
    matches!(
        m,
        Metric::ConversionRate
            | Metric::GroupConversionRate
            | Metric::TotalRevenue
            | Metric::AverageRevenue
    )
}

/// The goals a row of `query` counts: with an `event:goal` dimension, the
/// row's own goal (`goal_value`); else those its top-level goal filters
/// select (all goals without one).
pub fn row_goals<'g>(query: &'g Query, goal_value: Option<&str>) -> Vec<&'g Goal> {
    if let Some(name) = goal_value {
        return query.goals.iter().filter(|g| g.name == name).collect();
    }
    let top: Vec<&Filter> = match &query.filter {
        Some(Filter::And(fs)) => fs.iter().collect(),
        Some(f) => vec![f],
        None => Vec::new(),
    };
    query
        .goals
        .iter()
        .filter(|g| {
            top.iter().all(|f| match f {
                Filter::Compare {
                    op,
                    dimension: Dimension::Goal,
                    values,
                    case_sensitive,
                } => selects(*op, &g.name, values, *case_sensitive) != op.negated(),
                _ => true,
            })
        })
        .collect()
}

/// The currency a row's revenue is reported in: that of its revenue
/// goals, when they have exactly one between them.
pub fn row_currency(goals: &[&Goal]) -> Option<String> {
    let mut currencies: Vec<&str> = goals.iter().filter_map(|g| g.currency.as_deref()).collect();
    currencies.sort_unstable();
    currencies.dedup();
    match currencies.as_slice() {
        [one] => Some((*one).to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::expr;

    fn goal(name: &str, kind: GoalKind, currency: Option<&str>) -> Goal {
        Goal {
            name: name.into(),
            kind,
            currency: currency.map(String::from),
        }
    }

    fn goals() -> Vec<Goal> {
        vec![
            goal("Signup", GoalKind::Event("Signup".into()), None),
            goal("Visit /blog/**", GoalKind::Page("/blog/**".into()), None),
            goal("Purchase", GoalKind::Event("Purchase".into()), Some("EUR")),
        ]
    }

    #[test]
    fn globs_become_anchored_patterns_with_exclude_paths_meaning() {
        let cases: [(&str, &[&str], &[&str]); 6] = [
            (
                "/pricing",
                &["/pricing"],
                &["/pricing/", "/pricingx", "/x/pricing"],
            ),
            ("/blog/*", &["/blog/a", "/blog/"], &["/blog/a/b", "/blog"]),
            (
                "/blog/**",
                &["/blog/a", "/blog/a/b/c"],
                &["/blog", "/blogs/a"],
            ),
            ("/a?c", &["/abc"], &["/a/c", "/ac"]),
            (
                "/{en,de}/x.html",
                &["/en/x.html", "/de/x.html"],
                &["/fr/x.html", "/en/xxhtml"],
            ),
            ("/v[0-9]/[!a]", &["/v1/b"], &["/v1/a", "/vx/b"]),
        ];
        for (glob, yes, no) in cases {
            let pattern = glob_regex(glob);
            crate::api::pattern::check(&pattern).unwrap();
            let re = regex::Regex::new(&pattern).unwrap();
            for path in yes {
                assert!(re.is_match(path), "{glob} ({pattern}) should match {path}");
            }
            for path in no {
                assert!(
                    !re.is_match(path),
                    "{glob} ({pattern}) should not match {path}"
                );
            }
        }
    }

    #[test]
    fn goal_filters_become_event_conditions() {
        let f = Filter::compare(
            Op::Is,
            Dimension::Goal,
            vec!["Signup".into(), "Visit /blog/**".into()],
        );
        assert_eq!(
            expr::filter(&rewrite(&f, &goals())),
            "(name IN ('Signup')) OR ((name IN ('pageview')) AND ((match(pathname, '^/blog/.*$'))))"
        );
        let none = Filter::compare(Op::Contains, Dimension::Goal, vec!["zzz".into()]);
        assert_eq!(
            expr::filter(&rewrite(&none, &goals())),
            "(name IN ('pageview')) AND (NOT (name IN ('pageview')))"
        );
        let not = Filter::compare(Op::IsNot, Dimension::Goal, vec!["Purchase".into()]);
        assert_eq!(
            expr::filter(&rewrite(&not, &goals())),
            "NOT (name IN ('Purchase'))"
        );
    }

    #[test]
    fn unknown_goals_are_refused_by_name() {
        let mut q = crate::api::parse::parse(&serde_json::json!({
            "site_id": "a", "metrics": ["visitors"], "date_range": "day",
            "filters": [["is", "event:goal", ["Nope"]]]}))
        .unwrap();
        let err = attach(&mut q, goals()).unwrap_err();
        assert!(format!("{err:?}").contains("`Nope`"), "{err:?}");
    }

    #[test]
    fn denominators_drop_top_level_goal_and_property_filters() {
        let source = Filter::compare(Op::Is, Dimension::Visit("source"), vec!["x".into()]);
        let both = Filter::And(vec![
            Filter::compare(Op::Is, Dimension::Goal, vec!["Signup".into()]),
            source.clone(),
            Filter::compare(Op::Is, Dimension::Prop("plan".into()), vec!["pro".into()]),
        ]);
        assert_eq!(without_goal_filters(&both), Some(source.clone()));
        let goal_only = Filter::compare(Op::Is, Dimension::Goal, vec!["Signup".into()]);
        assert_eq!(without_goal_filters(&goal_only), None);
        assert_eq!(without_goal_filters(&source), Some(source));
    }

    #[test]
    fn a_rows_currency_is_its_revenue_goals_one_currency() {
        let mut q = crate::api::parse::parse(&serde_json::json!({
            "site_id": "a", "metrics": ["visitors"], "date_range": "day",
            "filters": [["contains", "event:goal", ["u"]]]}))
        .unwrap();
        q.goals = goals();
        let chosen = row_goals(&q, None);
        assert_eq!(chosen.len(), 2, "Signup and Purchase");
        assert_eq!(row_currency(&chosen), Some("EUR".into()));
        assert_eq!(row_currency(&row_goals(&q, Some("Signup"))), None);
    }
}
