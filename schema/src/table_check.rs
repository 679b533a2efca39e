//! Compares a row struct's declared columns with `DESCRIBE TABLE`.
//!
//! With the client's own validation off (ClickHouse 18.16), a struct that no
//! longer matches its table is not reported by the server: RowBinary is read
//! blindly and a wrong type can make it misread a whole insert. So every
//! service runs this check at start-up, and a test runs it too.

use crate::client::{Db, DbError};
use crate::event::TableRow;

/// Fails unless every column of `T` exists in its table with the same type.
/// Extra table columns are fine: inserts name their columns, and the others
/// take their defaults.
pub async fn check<T: TableRow>(db: &Db) -> Result<(), DbError> {
    let rows = db
        .fetch_rows(&format!("DESCRIBE TABLE {}.{}", db.database(), T::TABLE))
        .await?;
    let actual: Vec<(String, String)> = rows
        .into_iter()
        .filter_map(|mut row| {
            row.truncate(2);
            let ty = row.pop()?;
            Some((row.pop()?, ty))
        })
        .collect();
    compare(T::TABLE, T::COLUMNS, &actual)
}

fn compare(
    table: &str,
    expected: &[(&str, &str)],
    actual: &[(String, String)],
) -> Result<(), DbError> {
    let problems: Vec<String> = expected
        .iter()
        .filter_map(|(name, ty)| match actual.iter().find(|(n, _)| n == name) {
            None => Some(format!("column `{name}` is missing")),
            Some((_, t)) if t != ty => Some(format!("column `{name}` is {t}, code expects {ty}")),
            Some(_) => None,
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DbError::SchemaMismatch {
            table: table.into(),
            detail: problems.join("; "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn reports_missing_and_mistyped_columns() {
        let actual = columns(&[("day", "Date"), ("salt", "String"), ("extra", "UInt8")]);
        let err = compare(
            "salts",
            &[
                ("day", "Date"),
                ("salt", "FixedString(32)"),
                ("created_at", "DateTime"),
            ],
            &actual,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`salt` is String, code expects FixedString(32)"),
            "{err}"
        );
        assert!(err.contains("`created_at` is missing"), "{err}");
        assert!(!err.contains("extra"), "{err}");
    }

    #[test]
    fn accepts_a_matching_table_with_extra_columns() {
        let actual = columns(&[
            ("day", "Date"),
            ("salt", "FixedString(32)"),
            ("more", "String"),
        ]);
        compare(
            "salts",
            &[("day", "Date"), ("salt", "FixedString(32)")],
            &actual,
        )
        .unwrap();
    }
}
