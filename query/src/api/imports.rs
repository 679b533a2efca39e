//! `include.imports` in the answer: whether imported history was added,
//! and if not, why, under Plausible's `meta` keys (`imports_included`,
//! `imports_skip_reason`, `imports_warning`) and in its words. Which
//! queries imported totals can answer is decided in
//! [`crate::sql::imported`]; this module only names the outcome.

use crate::sql::imported::Skip;
use chrono::NaiveDate;
use serde_json::{json, Map, Value};

/// The imported days of a site: none, or its first and last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    None,
    Days(NaiveDate, NaiveDate),
}

/// What happened to imported history in one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Included,
    NoImportedData,
    OutOfRange,
    Unsupported(Skip),
}

const UNSUPPORTED_QUERY: &str = "Imported stats are not included in the results because query \
     parameters are not supported. For more information, see: \
     https://plausible.io/docs/stats-api#filtering-imported-stats";
const UNSUPPORTED_INTERVAL: &str =
    "Imported stats are not included because the time dimension (i.e. the interval) is too short.";

/// The outcome for a range from `first` to `last` (local days), given the
/// site's imports and whether the query can use them.
pub fn outcome(
    imported: Imported,
    first: NaiveDate,
    last: NaiveDate,
    answerable: Result<(), Skip>,
) -> Outcome {
    match imported {
        Imported::None => Outcome::NoImportedData,
        Imported::Days(a, b) if b < first || a > last => Outcome::OutOfRange,
        Imported::Days(..) => match answerable {
            Ok(()) => Outcome::Included,
            Err(skip) => Outcome::Unsupported(skip),
        },
    }
}

impl Outcome {
    /// The `meta` keys of the answer.
    pub fn meta(self) -> Map<String, Value> {
        let (included, reason, warning) = match self {
            Outcome::Included => (true, None, None),
            Outcome::NoImportedData => (false, Some("no_imported_data"), None),
            Outcome::OutOfRange => (false, Some("out_of_range"), None),
            Outcome::Unsupported(Skip::UnsupportedQuery) => {
                (false, Some("unsupported_query"), Some(UNSUPPORTED_QUERY))
            }
            Outcome::Unsupported(Skip::UnsupportedInterval) => (
                false,
                Some("unsupported_interval"),
                Some(UNSUPPORTED_INTERVAL),
            ),
        };
        let mut meta = Map::new();
        meta.insert("imports_included".into(), json!(included));
        if let Some(reason) = reason {
            meta.insert("imports_skip_reason".into(), json!(reason));
        }
        if let Some(warning) = warning {
            meta.insert("imports_warning".into(), json!(warning));
        }
        meta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn outcomes_and_their_meta() {
        let imported = Imported::Days(day("2024-01-01"), day("2024-01-31"));
        let (a, b) = (day("2024-01-20"), day("2024-02-20"));
        assert_eq!(outcome(imported, a, b, Ok(())), Outcome::Included);
        assert_eq!(
            outcome(imported, day("2024-03-01"), day("2024-03-02"), Ok(())),
            Outcome::OutOfRange
        );
        assert_eq!(
            outcome(Imported::None, a, b, Ok(())),
            Outcome::NoImportedData
        );
        let skipped = outcome(imported, a, b, Err(Skip::UnsupportedQuery));
        let meta = skipped.meta();
        assert_eq!(meta["imports_included"], json!(false));
        assert_eq!(meta["imports_skip_reason"], json!("unsupported_query"));
        assert!(meta["imports_warning"]
            .as_str()
            .unwrap()
            .starts_with("Imported stats are not included"));
        assert_eq!(Outcome::Included.meta().len(), 1);
    }
}
