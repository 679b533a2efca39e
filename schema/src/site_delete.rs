//! `schema site delete`: erasing every stored row of one site, in `events`
//! and in every table derived from it, and saying how many rows went.
//!
//! `events` is erased first and the derived tables after it. A query
//! service materializing visits at that moment may have read the site's
//! events just before they went and write derived rows just after those
//! were deleted; so the derived tables are counted again, and erased again
//! while rows remain (a few rounds at most: the materializer cannot find
//! events that are gone). New events of a site that is still configured
//! are stored again: remove it from the config first.

use crate::client::{Db, DbError};
use crate::config::is_domain;
use crate::erase;
use crate::site_tables::{site_tables, sum_over};
use std::time::Duration;

/// Rounds of erasing the derived tables before giving up.
const ROUNDS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error(
        "`{0}` is not a site domain (lowercase letters, digits, dots and dashes; no wildcards)"
    )]
    BadDomain(String),
    #[error("rows of the site remain after {ROUNDS} rounds: {0:?}")]
    Remaining(Vec<(String, u64)>),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Rows removed per table, `events` first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteReport {
    pub tables: Vec<(String, u64)>,
}

impl DeleteReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

impl std::fmt::Display for DeleteReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (table, rows) in &self.tables {
            writeln!(f, "{table}: {rows} row(s) removed")?;
        }
        Ok(())
    }
}

/// Erases every row of `domain` from every site table on `hosts`.
pub async fn delete_site(
    hosts: &[Db],
    domain: &str,
    deadline: Duration,
) -> Result<DeleteReport, DeleteError> {
    if !is_domain(domain) {
        return Err(DeleteError::BadDomain(domain.to_owned()));
    }
    let Some(first) = hosts.first() else {
        return Ok(DeleteReport::default());
    };
    let predicate = format!("site = '{domain}'");
    let tables: Vec<String> = site_tables(first)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let mut report = DeleteReport::default();
    for table in &tables {
        report.tables.push((table.clone(), 0));
    }
    for _ in 0..ROUNDS {
        let remaining = count_rows(hosts, &tables, &predicate).await?;
        if remaining.iter().all(|(_, n)| *n == 0) {
            return Ok(report);
        }
        // `events` sorts first, so it is gone before the derived tables.
        for ((table, rows), (_, found)) in report.tables.iter_mut().zip(&remaining) {
            if *found > 0 {
                erase::delete_rows(hosts, table, &predicate, deadline).await?;
                *rows += found;
            }
        }
    }
    let remaining = count_rows(hosts, &tables, &predicate).await?;
    if remaining.iter().all(|(_, n)| *n == 0) {
        return Ok(report);
    }
    Err(DeleteError::Remaining(
        remaining.into_iter().filter(|(_, n)| *n > 0).collect(),
    ))
}

/// Rows matching `predicate` per table, summed over the hosts.
async fn count_rows(
    hosts: &[Db],
    tables: &[String],
    predicate: &str,
) -> Result<Vec<(String, u64)>, DbError> {
    let mut out = Vec::with_capacity(tables.len());
    for table in tables {
        let sql = format!("SELECT count() FROM {table} WHERE {predicate}");
        out.push((table.clone(), sum_over(hosts, &sql).await?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn empty_and_wildcard_domains_are_refused() {
        for bad in ["", "*", "%", "a.com' OR 1", "*.a.com", "A.com"] {
            let err = delete_site(&[], bad, Duration::from_secs(1))
                .await
                .unwrap_err();
            assert!(matches!(err, DeleteError::BadDomain(_)), "{bad}: {err}");
        }
    }
}
