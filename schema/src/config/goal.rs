//! `[[site.goal]]` and `builtin_goals`: what a site counts as a conversion.
//!
//! Goals are read-time definitions, not labels stored with events: the
//! query service matches them against the stored events whenever a report
//! asks (see `query/src/sql/goals.rs`), so adding or renaming a goal
//! changes reports over past data too. A goal is either a custom event
//! name or a pageview path glob (`*` within a segment, `**` across them,
//! as `exclude_paths`); an event goal may carry the currency its revenue
//! is reported in.

use super::Problems;
use serde::Deserialize;
use std::collections::HashSet;

/// One `[[site.goal]]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GoalConfig {
    /// A custom event name (`Signup`).
    pub event: Option<String>,
    /// A pageview path glob (`/pricing/**`).
    pub page: Option<String>,
    /// The name reports show; by default the event name, or `Visit ` and
    /// the page glob, as Plausible names goals.
    pub display_name: Option<String>,
    /// ISO 4217 code: the event's revenue is reported in this currency.
    pub currency: Option<String>,
}

/// What a goal matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GoalKind {
    /// Events with this name.
    Event(String),
    /// Pageviews whose path matches this glob.
    Page(String),
}

/// A goal as reports use it: its shown name, what it matches and, for a
/// revenue goal, its currency (an upper-case ISO 4217 code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub name: String,
    pub kind: GoalKind,
    pub currency: Option<String>,
}

/// The goals `builtin_goals = true` adds, named as Plausible's stock
/// tracker names its events, so that they count without configuration:
/// outbound link clicks and file downloads (each with a `url` prop) and
/// 404 pages (with a `path` prop).
pub const BUILTIN_GOALS: [&str; 3] = ["Outbound Link: Click", "File Download", "404"];

/// Longest event name or page glob a goal may have (the events API takes
/// names of at most 120 characters; globs get the room a path gets).
const MAX_GOAL_LEN: usize = 2_000;

impl GoalConfig {
    /// The goal this entry defines, if it names exactly one of `event` and
    /// `page` (validation reports the others).
    fn goal(&self) -> Option<Goal> {
        let kind = match (&self.event, &self.page) {
            (Some(e), None) => GoalKind::Event(e.clone()),
            (None, Some(p)) => GoalKind::Page(p.clone()),
            _ => return None,
        };
        let name = self.display_name.clone().unwrap_or_else(|| match &kind {
            GoalKind::Event(e) => e.clone(),
            GoalKind::Page(p) => format!("Visit {p}"),
        });
        Some(Goal {
            name,
            kind,
            currency: self.currency.as_ref().map(|c| c.to_ascii_uppercase()),
        })
    }
}

/// A site's goals in config order, then the built-in ones it has not
/// configured itself (when `builtin` is on).
pub fn effective_goals(configured: &[GoalConfig], builtin: bool) -> Vec<Goal> {
    let mut goals: Vec<Goal> = configured.iter().filter_map(GoalConfig::goal).collect();
    if builtin {
        for name in BUILTIN_GOALS {
            let kind = GoalKind::Event(name.into());
            if !goals.iter().any(|g| g.kind == kind || g.name == name) {
                goals.push(Goal {
                    name: name.into(),
                    kind,
                    currency: None,
                });
            }
        }
    }
    goals
}

/// Whether `code` is an ISO 4217 currency code (any case).
pub fn is_currency(code: &str) -> bool {
    iso_currency::Currency::from_code(&code.to_ascii_uppercase()).is_some()
}

/// Every `[[site.goal]]` of site `i`: one of `event` and `page`, a glob
/// that compiles, a known currency on an event goal only, and no goal (by
/// what it matches or by its name) twice.
pub(super) fn validate_goals(i: usize, goals: &[GoalConfig], p: &mut Problems) {
    let mut names = HashSet::new();
    let mut kinds = HashSet::new();
    for (j, goal) in goals.iter().enumerate() {
        let key = |field: &str| format!("site[{i}].goal[{j}].{field}");
        match (&goal.event, &goal.page) {
            (Some(_), Some(_)) => p.add(&key("page"), "a goal has `event` or `page`, not both"),
            (None, None) => p.add(&key("event"), "a goal needs `event` or `page`"),
            _ => {}
        }
        for (field, value) in [("event", &goal.event), ("page", &goal.page)] {
            if let Some(v) = value {
                if v.is_empty() || v.len() > MAX_GOAL_LEN {
                    p.add(&key(field), &format!("must be 1 to {MAX_GOAL_LEN} bytes"));
                }
            }
        }
        if let Some(glob) = &goal.page {
            if !glob.starts_with('/') {
                p.add(&key("page"), "must be a path starting with `/`");
            } else if let Err(e) = globset::Glob::new(glob) {
                p.add(&key("page"), &e.to_string());
            }
        }
        if let Some(currency) = &goal.currency {
            if goal.page.is_some() {
                p.add(&key("currency"), "only a custom event goal carries revenue");
            } else if !is_currency(currency) {
                p.add(
                    &key("currency"),
                    &format!("`{currency}` is not an ISO 4217 currency code such as EUR"),
                );
            }
        }
        if goal.display_name.as_deref() == Some("") {
            p.add(&key("display_name"), "must not be empty");
        }
        let Some(resolved) = goal.goal() else {
            continue;
        };
        if !kinds.insert(resolved.kind.clone()) {
            let field = if goal.page.is_some() { "page" } else { "event" };
            p.add(&key(field), "the same goal is configured twice");
        } else if !names.insert(resolved.name.clone()) {
            p.add(
                &key("display_name"),
                &format!("another goal is already named `{}`", resolved.name),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_invalid;
    use super::super::Config;
    use super::*;

    const SITE: &str = "[[site]]\ndomain = \"a.com\"\n";

    fn config(goals: &str) -> Config {
        let c = Config::parse(&format!("{SITE}{goals}")).unwrap();
        c.validate().unwrap();
        c
    }

    #[test]
    fn goals_parse_with_their_names() {
        let c = config(
            "builtin_goals = true\n\
             [[site.goal]]\nevent = \"Signup\"\n\
             [[site.goal]]\npage = \"/pricing/**\"\n\
             [[site.goal]]\nevent = \"Purchase\"\ncurrency = \"eur\"\ndisplay_name = \"Bought\"\n\
             [[site.goal]]\nevent = \"404\"\n",
        );
        let goals = c.site("a.com").unwrap().goals();
        let names: Vec<&str> = goals.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Signup",
                "Visit /pricing/**",
                "Bought",
                "404",
                "Outbound Link: Click",
                "File Download"
            ]
        );
        assert_eq!(goals[1].kind, GoalKind::Page("/pricing/**".into()));
        assert_eq!(goals[2].currency.as_deref(), Some("EUR"));
        assert_eq!(goals[0].currency, None);
    }

    #[test]
    fn builtin_goals_are_off_by_default() {
        assert!(config("").site("a.com").unwrap().goals().is_empty());
        let on = config("builtin_goals = true\n");
        assert_eq!(on.site("a.com").unwrap().goals().len(), 3);
    }

    #[test]
    fn invalid_goals_name_their_key() {
        let case = |goals: &str| format!("{SITE}{goals}");
        let cases = [
            (
                case("[[site.goal]]\npage = \"/a/[\"\n"),
                "site[0].goal[0].page",
            ),
            (
                case("[[site.goal]]\nevent = \"A\"\n[[site.goal]]\nevent = \"A\"\n"),
                "site[0].goal[1].event",
            ),
            (
                case("[[site.goal]]\npage = \"/a\"\n[[site.goal]]\npage = \"/a\"\n"),
                "site[0].goal[1].page",
            ),
            (
                case("[[site.goal]]\nevent = \"A\"\n[[site.goal]]\nevent = \"B\"\ndisplay_name = \"A\"\n"),
                "site[0].goal[1].display_name",
            ),
            (
                case("[[site.goal]]\nevent = \"Buy\"\ncurrency = \"XYZ\"\n"),
                "site[0].goal[0].currency",
            ),
            (
                case("[[site.goal]]\npage = \"/a\"\ncurrency = \"EUR\"\n"),
                "site[0].goal[0].currency",
            ),
            (case("[[site.goal]]\n"), "site[0].goal[0].event"),
            (
                case("[[site.goal]]\nevent = \"A\"\npage = \"/a\"\n"),
                "site[0].goal[0].page",
            ),
            (case("[[site.goal]]\npage = \"a\"\n"), "site[0].goal[0].page"),
        ];
        let cases: Vec<(&str, &str)> = cases.iter().map(|(t, k)| (t.as_str(), *k)).collect();
        assert_invalid(&cases);
        let err = Config::parse(&case("[[site.goal]]\nevent = \"A\"\nname = \"x\"\n")).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
    }

    #[test]
    fn currencies_are_iso_4217() {
        assert!(is_currency("EUR"));
        assert!(is_currency("usd"));
        assert!(!is_currency("EURO"));
        assert!(!is_currency("ABC"));
    }
}
