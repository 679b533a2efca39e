//! How many reports run at once: each editor may have
//! `[query] max_concurrent_reports_per_editor` in flight, and the service
//! `max_concurrent_reports` in all. Past either bound a report is refused
//! with 429 and `Retry-After` at once rather than queued: a queue would
//! only turn overload into latency and hold connections, and one editor
//! (or a runaway script with its token) must not take every place.
//!
//! A report holds its [`Slot`] from before its first SQL statement until its
//! answer is written, so the bound counts what ClickHouse is working on.

use crate::auth::editor_key;
use crate::error::{ApiError, Crowded};
use schema::config::EditorConfig;
use schema::Config;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Admission {
    total: Arc<Semaphore>,
    total_max: usize,
    /// By [`editor_key`].
    per_editor: HashMap<String, Arc<Semaphore>>,
    per_editor_max: usize,
}

/// A report's place; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    _editor: OwnedSemaphorePermit,
    _total: OwnedSemaphorePermit,
}

impl Admission {
    pub fn new(config: &Config) -> Self {
        let q = &config.query;
        let per_editor = config
            .editor
            .iter()
            .map(|e| {
                let places = Arc::new(Semaphore::new(q.max_concurrent_reports_per_editor));
                (editor_key(e), places)
            })
            .collect();
        Self {
            total: Arc::new(Semaphore::new(q.max_concurrent_reports)),
            total_max: q.max_concurrent_reports,
            per_editor,
            per_editor_max: q.max_concurrent_reports_per_editor,
        }
    }

    /// A place for one report of `editor`, or 429 naming the bound reached.
    pub fn admit(&self, editor: &EditorConfig) -> Result<Slot, ApiError> {
        let places = self
            .per_editor
            .get(&editor_key(editor))
            .ok_or(ApiError::Unauthorized)?;
        let editor_place = places
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Crowded(Crowded::Editor(self.per_editor_max)))?;
        let total_place = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Crowded(Crowded::Service(self.total_max)))?;
        Ok(Slot {
            _editor: editor_place,
            _total: total_place,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::config::Role;

    fn editor(token: &str) -> EditorConfig {
        EditorConfig {
            name: token.into(),
            token_sha256: schema::auth::token_sha256(token),
            role: Role::Viewer,
            sites: vec!["*".into()],
        }
    }

    #[test]
    fn each_editor_and_the_service_have_their_bound() {
        let mut config = Config {
            editor: vec![editor("a"), editor("b"), editor("c")],
            ..Config::default()
        };
        config.query.max_concurrent_reports = 3;
        config.query.max_concurrent_reports_per_editor = 2;
        let admission = Admission::new(&config);
        let [a, b, c] = [&config.editor[0], &config.editor[1], &config.editor[2]];
        let a1 = admission.admit(a).unwrap();
        let _a2 = admission.admit(a).unwrap();
        let refused = admission.admit(a).unwrap_err();
        assert!(matches!(refused, ApiError::Crowded(Crowded::Editor(2))));
        let _b1 = admission.admit(b).unwrap();
        // The service is full: even an editor with no report is refused.
        let refused = admission.admit(c).unwrap_err();
        assert!(matches!(refused, ApiError::Crowded(Crowded::Service(3))));
        // Refusals took no place: one freed is one available.
        drop(a1);
        let _c1 = admission.admit(c).unwrap();
        assert!(admission.admit(b).is_err());
    }
}
