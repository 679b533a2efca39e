//! `[[site]]`: a site's domain, consent choices, which hostnames and paths
//! count, its time zone, how long its events are kept, the fewest
//! visitors a report may show a number for, and its goals (see
//! [`super::goal`]).

use super::goal::{self, Goal, GoalConfig};
use super::{is_domain, Problems};
use serde::Deserialize;
use std::collections::HashSet;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub domain: String,
    #[serde(default = "yes")]
    pub respect_dnt: bool,
    #[serde(default = "yes")]
    pub respect_gpc: bool,
    /// Page hostnames accepted for this site (`example.com`, `*.example.com`);
    /// empty accepts any. Others are dropped as `hostname`.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Glob patterns of paths not to record (`/admin/**`), dropped as `excluded`.
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    /// IANA time zone that reports of this site use for days and hours.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Whole UTC days a stored event is kept after its own day; older ones
    /// are erased by the retention job (see [`crate::retention`]).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// The k-anonymity threshold of this site's reports: with it set, no
    /// answer shows a count of 1 to K-1 visitors (see the query service's
    /// `sql::threshold`). Off by default: an operator turns it on per site.
    #[serde(default)]
    pub min_visitors: Option<u32>,
    /// `[[site.goal]]`: the site's goals, in the order reports list them.
    #[serde(default)]
    pub goal: Vec<GoalConfig>,
    /// Adds Plausible's built-in goals (`Outbound Link: Click`,
    /// `File Download`, `404`) that `goal` does not configure itself.
    #[serde(default)]
    pub builtin_goals: bool,
}

/// The range of `min_visitors`: 1 would hide nothing, and past a thousand
/// a typo would hide nearly every report of a small site.
pub const MIN_VISITORS_RANGE: std::ops::RangeInclusive<u32> = 2..=1000;

/// About 26 months: a year-on-year comparison of the previous year still works.
pub const DEFAULT_RETENTION_DAYS: u32 = 790;

/// Longer than any Unix day number a `Date` can hold, so a typo is caught.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

fn default_retention_days() -> u32 {
    DEFAULT_RETENTION_DAYS
}

impl SiteConfig {
    /// A site with the defaults, for tests and generated configs.
    pub fn new(domain: &str) -> Self {
        Self {
            domain: domain.into(),
            respect_dnt: true,
            respect_gpc: true,
            hostnames: Vec::new(),
            exclude_paths: Vec::new(),
            timezone: utc(),
            retention_days: DEFAULT_RETENTION_DAYS,
            min_visitors: None,
            goal: Vec::new(),
            builtin_goals: false,
        }
    }

    /// The goals reports know for this site: the configured ones, then the
    /// built-in ones when `builtin_goals` is on.
    pub fn goals(&self) -> Vec<Goal> {
        goal::effective_goals(&self.goal, self.builtin_goals)
    }
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

/// Every `[[site]]`: its domain (once), hostnames, path globs, retention,
/// threshold, time zone and goals.
pub(super) fn validate_sites(sites: &[SiteConfig], p: &mut Problems) {
    let mut seen = HashSet::new();
    for (i, site) in sites.iter().enumerate() {
        let key = format!("site[{i}].domain");
        if !is_domain(&site.domain) {
            p.add(&key, "must be a lowercase host name such as example.com");
        } else if !seen.insert(&site.domain) {
            p.add(&key, "is listed twice");
        }
        for (j, host) in site.hostnames.iter().enumerate() {
            if !is_domain(host.strip_prefix("*.").unwrap_or(host)) {
                p.add(
                    &format!("site[{i}].hostnames[{j}]"),
                    "must be a lowercase host name, optionally starting with `*.`",
                );
            }
        }
        for (j, glob) in site.exclude_paths.iter().enumerate() {
            if let Err(e) = globset::Glob::new(glob) {
                p.add(&format!("site[{i}].exclude_paths[{j}]"), &e.to_string());
            }
        }
        if !(1..=MAX_RETENTION_DAYS).contains(&site.retention_days) {
            p.add(
                &format!("site[{i}].retention_days"),
                &format!("must be between 1 and {MAX_RETENTION_DAYS}"),
            );
        }
        if site
            .min_visitors
            .is_some_and(|k| !MIN_VISITORS_RANGE.contains(&k))
        {
            p.add(
                &format!("site[{i}].min_visitors"),
                &format!(
                    "must be between {} and {}",
                    MIN_VISITORS_RANGE.start(),
                    MIN_VISITORS_RANGE.end()
                ),
            );
        }
        if site.timezone.parse::<chrono_tz::Tz>().is_err() {
            p.add(
                &format!("site[{i}].timezone"),
                "must be an IANA time zone such as Europe/Berlin",
            );
        }
        goal::validate_goals(i, &site.goal, p);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_invalid;

    #[test]
    fn invalid_values_name_their_key() {
        assert_invalid(&[
            (
                "[[site]]\ndomain = \"a.example\"\ntimezone = \"Mars/Base\"\n",
                "site[0].timezone",
            ),
            (
                "[[site]]\ndomain = \"a.com\"\nretention_days = 0\n",
                "site[0].retention_days",
            ),
            (
                "[[site]]\ndomain = \"a.com\"\nhostnames = [\"a.com\", \"*.A.com\"]\n",
                "site[0].hostnames[1]",
            ),
            (
                "[[site]]\ndomain = \"a.com\"\nexclude_paths = [\"/admin/[\"]\n",
                "site[0].exclude_paths[0]",
            ),
            (
                "[[site]]\ndomain = \"a.com\"\nmin_visitors = 1\n",
                "site[0].min_visitors",
            ),
            (
                "[[site]]\ndomain = \"a.com\"\nmin_visitors = 1001\n",
                "site[0].min_visitors",
            ),
            ("[[site]]\ndomain = \"Example.com\"\n", "site[0].domain"),
            (
                "[[site]]\ndomain = \"a.com\"\n[[site]]\ndomain = \"a.com\"\n",
                "site[1].domain",
            ),
        ]);
    }
}
