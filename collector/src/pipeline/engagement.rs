//! Which `engagement` beacons to store: only those about a page view this
//! collector recorded, and never the same one twice.
//!
//! An engagement event (time on page `e`, scroll depth `sd`) describes a
//! page view; on its own it is no visit. Plausible drops one that finds no
//! session (`no_session_for_engagement`). We keep a bounded memory of
//! recent page views, keyed by site, visitor id, hostname and path, and
//! drop an engagement beacon
//! - as `engagement-no-pageview` when its visitor has no page view of that
//!   page within the visit window ([`VISIT_WINDOW_SECS`], the 30 minutes
//!   after which a visit ends; a stored engagement keeps its page view
//!   alive for as long again, as an engagement refreshes Plausible's session
//!   cache);
//! - as `engagement-duplicate` when it repeats the last engagement stored
//!   for that page view (same `sd` and `e`): a tracker that fires both on
//!   `visibilitychange` and `pagehide`, or a client that sends a beacon
//!   again. A tracker sends several engagements for one page view (each
//!   time the tab is hidden, with the time engaged since the last one), and
//!   queries add their `e` up, so a *different* engagement is stored. A new
//!   page view of the same page starts afresh.
//!
//! **Midnight.** Visitor ids change with the salt at UTC midnight. In the
//! first 30 minutes of a day a row also carries `prev_visitor_id`, the id
//! under yesterday's salt ([`crate::privacy::salt`]), so an engagement just
//! after midnight finds the page view made just before it under that id.
//! That covers the whole visit window.
//!
//! **Restarts.** The memory is not persisted: after a restart, engagement
//! for a page viewed before it is dropped as `engagement-no-pageview`
//! (at most one visit window's worth of time on page and scroll depth; the
//! page views themselves are stored). Several collectors behind a load
//! balancer need the visitor's beacons to reach the same one for the same
//! reason (hash on the client address).
//!
//! **Bounds.** At most [`PAGE_VIEWS_REMEMBERED`] page views, in about 12
//! MiB ([`super::generations`]); when full, the oldest are forgotten first
//! (a page view engaged with again counts as new), and their engagement
//! is then dropped as above. Expired page views are forgotten by
//! [`crate::jobs::page_view_expiry`].

use super::generations::{self, Action, Generations};
use super::outcome::DropReason;
use crate::beacon::EventKind;
use schema::EventRow;
use std::hash::BuildHasher;

/// How long after its last activity a page view can still be engaged
/// with: the visit gap of the query service (30 minutes).
pub const VISIT_WINDOW_SECS: u64 = 1800;

/// Page views remembered at most (458,752): a day's peak of concurrent
/// readers with room to spare.
pub const PAGE_VIEWS_REMEMBERED: usize = generations::CAPACITY;

/// One remembered page view, in 12 bytes: there may be half a million.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PageView {
    /// When it was viewed, or its last engagement stored (Unix seconds;
    /// 32 bits last until 2106).
    active: u32,
    /// The last engagement stored for it, as stored (`e`, `sd`), when
    /// `engaged`.
    last_e: u32,
    last_sd: u8,
    engaged: bool,
}

impl PageView {
    fn viewed(now: u64) -> Self {
        Self {
            active: seconds(now),
            last_e: 0,
            last_sd: 0,
            engaged: false,
        }
    }

    fn last_engagement(&self) -> Option<(u8, u32)> {
        self.engaged.then_some((self.last_sd, self.last_e))
    }
}

fn seconds(now: u64) -> u32 {
    u32::try_from(now).unwrap_or(u32::MAX)
}

/// Recent page views, to check engagement beacons against.
#[derive(Default)]
pub struct PageViews {
    views: Generations<PageView>,
    /// Seeded per process: the keys are hashes of visitor ids and paths, so
    /// nothing in memory can be matched with another process's.
    keys: foldhash::fast::RandomState,
}

impl std::fmt::Debug for PageViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageViews")
            .field("len", &self.views.len())
            .finish()
    }
}

/// What storing a beacon's rows will change in the memory, applied by
/// [`PageViews::stored`] once they are queued or by
/// [`PageViews::not_stored`] when they could not be.
#[derive(Debug, Default)]
pub struct Pending {
    /// Page views to remember.
    viewed: Vec<u64>,
    /// Engagements claimed: the key and the page view as it was before.
    claimed: Vec<(u64, PageView)>,
}

impl PageViews {
    /// Page views remembered now (expired ones included until the next
    /// [`expire`](Self::expire)).
    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// Forgets page views whose visit window ended before `now`.
    pub fn expire(&self, now: u64) {
        self.views.retain(|view| !expired(view, now));
    }

    /// The rows of a beacon of this kind that may be stored, and what to
    /// remember once they are. Engagement rows are claimed here, so two
    /// copies of one beacon arriving together store one row.
    pub fn check(
        &self,
        kind: &EventKind,
        rows: Vec<EventRow>,
        now: u64,
    ) -> Result<(Vec<EventRow>, Pending), DropReason> {
        let mut pending = Pending::default();
        match kind {
            EventKind::Pageview => {
                pending.viewed = rows
                    .iter()
                    .map(|row| self.key(row, row.visitor_id))
                    .collect();
                Ok((rows, pending))
            }
            EventKind::Custom => Ok((rows, pending)),
            EventKind::Engagement => {
                let mut refusal = None;
                let mut kept = Vec::with_capacity(rows.len());
                for row in rows {
                    match self.claim(&row, now) {
                        Ok(claim) => {
                            pending.claimed.push(claim);
                            kept.push(row);
                        }
                        Err(reason) => refusal = refusal.or(Some(reason)),
                    }
                }
                match refusal {
                    Some(reason) if kept.is_empty() => Err(reason),
                    _ => Ok((kept, pending)),
                }
            }
        }
    }

    /// The rows were queued: their page views start (or restart) here.
    pub fn stored(&self, pending: Pending, now: u64) {
        for key in pending.viewed {
            self.views.insert(key, PageView::viewed(now));
        }
    }

    /// The rows could not be queued: the engagements claimed for them may
    /// come again.
    pub fn not_stored(&self, pending: Pending) {
        for (key, before) in pending.claimed {
            self.views.update(key, |view| {
                *view = before;
                Action::Keep(())
            });
        }
    }

    /// Marks the page view of an engagement row as engaged with this
    /// `(sd, e)`: under today's visitor id, else (just after midnight)
    /// under yesterday's.
    fn claim(&self, row: &EventRow, now: u64) -> Result<(u64, PageView), DropReason> {
        let today = self.claim_under(self.key(row, row.visitor_id), row, now);
        match today {
            Err(DropReason::EngagementNoPageview) if row.prev_visitor_id != 0 => {
                self.claim_under(self.key(row, row.prev_visitor_id), row, now)
            }
            result => result,
        }
    }

    fn claim_under(
        &self,
        key: u64,
        row: &EventRow,
        now: u64,
    ) -> Result<(u64, PageView), DropReason> {
        let engagement = (row.scroll_depth, row.engagement_ms);
        let result = self.views.update(key, |view| {
            if expired(view, now) {
                return Action::Remove;
            }
            if view.last_engagement() == Some(engagement) {
                return Action::Keep(Err(DropReason::EngagementDuplicate));
            }
            let before = *view;
            view.active = view.active.max(seconds(now));
            (view.last_sd, view.last_e, view.engaged) = (engagement.0, engagement.1, true);
            Action::Keep(Ok((key, before)))
        });
        // Expired, or never inserted: no page view to engage with.
        result.unwrap_or(Err(DropReason::EngagementNoPageview))
    }

    /// The memory's key for a row's page under one of its visitor's ids.
    fn key(&self, row: &EventRow, visitor_id: u64) -> u64 {
        self.keys.hash_one((
            row.site.as_str(),
            visitor_id,
            row.hostname.as_str(),
            row.pathname.as_str(),
        ))
    }
}

fn expired(view: &PageView, now: u64) -> bool {
    now.saturating_sub(u64::from(view.active)) > VISIT_WINDOW_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000;

    fn row(name: &str, visitor: u64, path: &str, sd: u8, e: u32) -> EventRow {
        EventRow {
            site: "example.com".into(),
            name: name.into(),
            hostname: "example.com".into(),
            pathname: path.into(),
            visitor_id: visitor,
            scroll_depth: sd,
            engagement_ms: e,
            ..EventRow::default()
        }
    }

    fn view(memory: &PageViews, visitor: u64, path: &str, now: u64) {
        let rows = vec![row("pageview", visitor, path, 0, 0)];
        let (_, pending) = memory.check(&EventKind::Pageview, rows, now).unwrap();
        memory.stored(pending, now);
    }

    /// Stores the engagement when allowed; the drop reason otherwise.
    fn engage(memory: &PageViews, r: EventRow, now: u64) -> Result<usize, DropReason> {
        let (rows, pending) = memory.check(&EventKind::Engagement, vec![r], now)?;
        memory.stored(pending, now);
        Ok(rows.len())
    }

    #[test]
    fn an_engagement_needs_a_page_view_of_its_page_by_its_visitor() {
        let memory = PageViews::default();
        let engagement = |v, path| row("engagement", v, path, 50, 1000);
        assert_eq!(
            engage(&memory, engagement(1, "/a"), T),
            Err(DropReason::EngagementNoPageview)
        );
        view(&memory, 1, "/a", T);
        assert_eq!(
            engage(&memory, engagement(2, "/a"), T + 5),
            Err(DropReason::EngagementNoPageview),
            "another visitor"
        );
        assert_eq!(
            engage(&memory, engagement(1, "/b"), T + 5),
            Err(DropReason::EngagementNoPageview),
            "another page"
        );
        assert_eq!(engage(&memory, engagement(1, "/a"), T + 5), Ok(1));
    }

    #[test]
    fn the_same_engagement_is_stored_once_per_page_view() {
        let memory = PageViews::default();
        view(&memory, 1, "/a", T);
        let first = row("engagement", 1, "/a", 60, 3000);
        assert_eq!(engage(&memory, first.clone(), T + 3), Ok(1));
        assert_eq!(
            engage(&memory, first.clone(), T + 3),
            Err(DropReason::EngagementDuplicate)
        );
        // A later engagement of the same page view (the tab was shown again).
        assert_eq!(
            engage(&memory, row("engagement", 1, "/a", 80, 5000), T + 20),
            Ok(1)
        );
        // A new page view of the page starts afresh.
        view(&memory, 1, "/a", T + 30);
        assert_eq!(engage(&memory, first, T + 33), Ok(1));
    }

    #[test]
    fn the_visit_window_ends_thirty_minutes_after_the_last_activity() {
        let memory = PageViews::default();
        view(&memory, 1, "/a", T);
        let at = |e| row("engagement", 1, "/a", 10, e);
        // Engaging keeps the page view alive for another window.
        assert_eq!(engage(&memory, at(1), T + VISIT_WINDOW_SECS), Ok(1));
        let later = T + 2 * VISIT_WINDOW_SECS;
        assert_eq!(engage(&memory, at(2), later), Ok(1));
        assert_eq!(
            engage(&memory, at(3), later + VISIT_WINDOW_SECS + 1),
            Err(DropReason::EngagementNoPageview)
        );
    }

    #[test]
    fn expiry_forgets_page_views_past_their_window() {
        let memory = PageViews::default();
        view(&memory, 1, "/a", T);
        view(&memory, 2, "/a", T + 600);
        memory.expire(T + VISIT_WINDOW_SECS);
        assert_eq!(memory.len(), 2);
        memory.expire(T + VISIT_WINDOW_SECS + 1);
        assert_eq!(memory.len(), 1);
    }

    #[test]
    fn just_after_midnight_yesterdays_id_finds_the_page_view() {
        let memory = PageViews::default();
        view(&memory, 7, "/a", T);
        let mut engagement = row("engagement", 8, "/a", 40, 2000);
        assert_eq!(
            engage(&memory, engagement.clone(), T + 60),
            Err(DropReason::EngagementNoPageview)
        );
        engagement.prev_visitor_id = 7;
        assert_eq!(engage(&memory, engagement, T + 60), Ok(1));
    }

    #[test]
    fn a_claim_not_stored_can_come_again() {
        let memory = PageViews::default();
        view(&memory, 1, "/a", T);
        let engagement = row("engagement", 1, "/a", 60, 3000);
        let rows = vec![engagement.clone()];
        let (_, pending) = memory.check(&EventKind::Engagement, rows, T + 1).unwrap();
        memory.not_stored(pending);
        assert_eq!(engage(&memory, engagement, T + 2), Ok(1));
    }

    #[test]
    fn a_page_view_not_stored_is_not_remembered() {
        let memory = PageViews::default();
        let rows = vec![row("pageview", 1, "/a", 0, 0)];
        let (_, pending) = memory.check(&EventKind::Pageview, rows, T).unwrap();
        memory.not_stored(pending);
        assert!(memory.is_empty());
    }
}
