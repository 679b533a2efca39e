//! Time on page, scroll depth and exit rate: the numbers a report reads
//! from engagement events and the visits they join, joined by dimension
//! values onto whichever body ([`super::rollups`] or [`super::events`])
//! answers the other metrics. Kept apart so that neither body changes for
//! reports without these metrics.
//!
//! Both are read per page and visit (a visit's rows for one `pathname`):
//! - `time_on_page`: the engaged milliseconds of the visit's engagement
//!   events for the page, summed; averaged over the (page, visit) pairs
//!   that sent any engagement event, in seconds. This is Plausible's
//!   denominator: visits that sent no engagement for the page (old
//!   trackers, a beacon that never arrived) are not counted as zero.
//! - `scroll_depth`: the largest `scroll_depth` of those events, averaged
//!   over the pairs that reported one. Values above 100 are not reports:
//!   the collector stores 255 for an event without `sd`, as Plausible does.
//! - `exit_rate`: of the pairs with a pageview of the page, in visits that
//!   start in range, the share whose visit's exit page is that page.
//!
//! Engagement events join visits as [`super::visits`] describes: they
//! never shape a visit, and one arriving more than 30 minutes after the
//! visit's last interaction belongs to no visit and is not counted.

use super::events;
use super::plan::{aliased, dim_aliases, group_by, Plan};
use crate::api::request::Query;

/// The columns the engagement body adds after the others, in order: see
/// [`crate::api::response::Raw`].
pub const COLUMNS: [&str; 6] = [
    "r_engaged_ms",
    "r_engaged_visits",
    "r_scroll_sum",
    "r_scrolled_visits",
    "r_exits",
    "r_page_visits",
];

/// Whether the query asks for an engagement metric.
pub fn wanted(q: &Query) -> bool {
    q.metrics.iter().any(|m| m.is_engagement())
}

/// `body` (one row per group, dimensions `d0`, `d1`, ...) with the
/// engagement columns of each group joined on; groups without engagement
/// numbers get zeros.
pub fn joined(plan: &Plan, dims: &[String], body: &str) -> String {
    // `main.*`, not `*`: ClickHouse 18.16 repeats the `USING` keys of the
    // right side under `*`.
    let head = format!(
        "SELECT main.*, {} FROM ({body}) AS main",
        COLUMNS.join(", ")
    );
    let numbers = sql(plan, dims);
    if dims.is_empty() {
        return format!("{head} CROSS JOIN ({numbers}) AS engagement");
    }
    let keys: Vec<String> = dim_aliases(dims.len()).collect();
    format!(
        "{head} ANY LEFT JOIN ({numbers}) AS engagement USING {}",
        keys.join(", ")
    )
}

/// The engagement numbers per group: one row per (group, visit, page)
/// first, then their sums.
fn sql(plan: &Plan, dims: &[String]) -> String {
    let mut needs = plan.needs();
    needs
        .event_columns
        .extend(["scroll_depth", "engagement_ms"]);
    let (from, to) = (plan.span.from.timestamp(), plan.span.to.timestamp());
    let keys: String = dim_aliases(dims.len()).map(|a| a + ", ").collect();
    let per_page = format!(
        "SELECT {select}vkey, v_start, pathname, \
         sumIf(engagement_ms, name = 'engagement') AS ms, \
         countIf(name = 'engagement') > 0 AS engaged, \
         maxIf(scroll_depth, {scrolled}) AS sd, countIf({scrolled}) > 0 AS scrolled, \
         countIf(name = 'pageview') > 0 AND v_start >= {from} AND v_start < {to} AS viewed, \
         any(v_exit_page) = pathname AS exited \
         FROM ({rows}) GROUP BY {keys}vkey, v_start, pathname",
        select = aliased(dims),
        scrolled = "name = 'engagement' AND scroll_depth <= 100",
        rows = events::rows_in_range(plan, &needs),
    );
    format!(
        "SELECT {keys}sum(ms) AS {}, countIf(engaged) AS {}, sumIf(sd, scrolled) AS {}, \
         countIf(scrolled) AS {}, countIf(viewed AND exited) AS {}, countIf(viewed) AS {} \
         FROM ({per_page}){group}",
        COLUMNS[0],
        COLUMNS[1],
        COLUMNS[2],
        COLUMNS[3],
        COLUMNS[4],
        COLUMNS[5],
        group = group_by(dims.len()),
    )
}
