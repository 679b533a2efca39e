//! Dimension values as Plausible names them, mapped when a report reads
//! them: the collector stores what uap-core calls a browser or an OS and
//! an empty string for an unknown value; answers say what Plausible says.
//!
//! - Browsers and operating systems take the names of Plausible's parser
//!   (Matomo's device detector, through the `ua_inspector` library, plus
//!   Plausible's own folding of mobile variants and in-app browsers into
//!   "Mobile App"). [`BROWSERS`] and [`OPERATING_SYSTEMS`] list every
//!   stored name that differs; any other stored name is shown as it is.
//! - An empty value reads `(not set)` for UTM tags, device, browser, OS and
//!   their versions, and `Direct / None` for source and referrer
//!   ([`empty_label`]), as in Plausible's `SQL.Expression`. Pages, location
//!   and custom properties are shown as stored (a missing property is
//!   `(none)`, see [`crate::sql::expr::NO_PROP`]).
//!
//! Mapping when reading, not migrating stored rows, keeps one source of
//! truth (the events as collected) and works the same on the raw-events
//! and the rollup paths, which both hold the stored names. Filters see the
//! same names ([`is_values`] and [`crate::sql::expr`]); see docs/stats-api.md.

use super::request::Dimension;

/// What an unknown value reads as.
pub const NOT_SET: &str = "(not set)";
/// What an empty source or referrer reads as (and what the collector
/// stores for a visit without one).
pub const DIRECT: &str = "Direct / None";

/// Stored browser names (uap-core's, as the collector folds them) and the
/// name Plausible reports for the same browsers.
pub const BROWSERS: &[(&str, &str)] = &[
    ("Edge", "Microsoft Edge"),
    ("Samsung Internet", "Samsung Browser"),
    ("DuckDuckGo", "DuckDuckGo Privacy Browser"),
    ("Amazon Silk", "Mobile Silk"),
    ("IE", "Internet Explorer"),
    ("Opera Mini", "Opera"),
    ("Opera Coast", "Coast"),
    ("Whale", "Whale Browser"),
    ("Seznam prohlížeč", "Seznam Browser"),
    ("QQ Browser Mobile", "QQ Browser"),
    ("Ecosia Android", "Ecosia"),
    ("Ecosia iOS", "Ecosia"),
    ("AVG", "AVG Secure Browser"),
    ("BlackBerry WebKit", "BlackBerry Browser"),
    ("Firefox Beta", "Firefox"),
    ("Firefox Alpha", "Firefox"),
    // Web views and in-app browsers: Plausible calls them all "Mobile App".
    ("Android WebView", "Mobile App"),
    ("Facebook", "Mobile App"),
    ("Facebook Messenger", "Mobile App"),
    ("Instagram", "Mobile App"),
    ("Google App", "Mobile App"),
    ("LINE", "Mobile App"),
    ("Twitter", "Mobile App"),
];

/// Stored OS names and Plausible's.
pub const OPERATING_SYSTEMS: &[(&str, &str)] = &[
    ("macOS", "Mac"),
    ("Mac OS", "Mac"),
    ("Linux", "GNU/Linux"),
    ("ChromeOS", "Chrome OS"),
    ("WatchOS", "watchOS"),
    ("ATV OS X", "tvOS"),
    ("Brew MP", "Brew"),
    ("Symbian^3 Anna", "Symbian^3"),
    ("Symbian^3 Belle", "Symbian^3"),
    ("Nokia Series 40", "Symbian OS Series 40"),
];

/// The renamings of a visit column: stored name, Plausible's name.
pub fn renames(column: &str) -> &'static [(&'static str, &'static str)] {
    match column {
        "browser" => BROWSERS,
        "os" => OPERATING_SYSTEMS,
        _ => &[],
    }
}

/// Plausible's label for an empty value of a visit column, if it has one.
pub fn empty_label(column: &str) -> Option<&'static str> {
    match column {
        "source" | "referrer" => Some(DIRECT),
        "utm_medium" | "utm_source" | "utm_campaign" | "utm_content" | "utm_term" | "device"
        | "browser" | "browser_version" | "os" | "os_version" => Some(NOT_SET),
        _ => None,
    }
}

/// The stored values an `is` (or `is_not`) filter on `values` matches: each
/// value itself (so the stored names still match), the stored names that
/// read as it, and the empty string for `(not set)` and, on the source,
/// referrer and UTM columns, for `Direct / None` (Plausible's rule). With
/// `case_sensitive` false the values are compared lower-cased, and so are
/// the ones returned.
pub fn is_values(dimension: &Dimension, values: &[String], case_sensitive: bool) -> Vec<String> {
    let fold = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let column = match dimension {
        Dimension::Visit(column) => *column,
        _ => "",
    };
    let acquisition = matches!(column, "source" | "referrer") || column.starts_with("utm_");
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for value in values.iter().map(|v| fold(v)) {
        if value == fold(NOT_SET) || (acquisition && value == fold(DIRECT)) {
            add(String::new());
        }
        for (stored, shown) in renames(column) {
            if fold(shown) == value {
                add(fold(stored));
            }
        }
        add(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(d: &Dimension, v: &[&str], case_sensitive: bool) -> Vec<String> {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        is_values(d, &v, case_sensitive)
    }

    #[test]
    fn plausible_names_match_the_stored_ones() {
        let os = Dimension::Visit("os");
        assert_eq!(values(&os, &["Mac"], true), ["macOS", "Mac OS", "Mac"]);
        assert_eq!(values(&os, &["macOS"], true), ["macOS"]);
        assert_eq!(values(&os, &["(not set)"], true), ["", "(not set)"]);
        assert_eq!(values(&os, &["gnu/linux"], false), ["linux", "gnu/linux"]);
        let source = Dimension::Visit("source");
        assert_eq!(
            values(&source, &["Direct / None"], true),
            ["", "Direct / None"]
        );
        // Only the acquisition columns read empty as "Direct / None".
        assert_eq!(values(&os, &["Direct / None"], true), ["Direct / None"]);
        assert_eq!(
            values(&Dimension::Page, &["(not set)"], true),
            ["", "(not set)"]
        );
    }

    #[test]
    fn names_map_one_way() {
        // No Plausible name is itself a stored name that maps elsewhere, so
        // naming a name again changes nothing.
        for table in [BROWSERS, OPERATING_SYSTEMS] {
            for (_, shown) in table {
                assert!(table.iter().all(|(stored, _)| stored != shown), "{shown}");
            }
        }
    }
}
