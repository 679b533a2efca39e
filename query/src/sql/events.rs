//! A report answered from the events table: straight from events when no
//! number needs visits, else over the visit relation of [`super::visits`]
//! (stored rows in the materialized hours, rows built now after them).
//!
//! This path answers every query; [`super::rollups`] answers some faster.
//! Both select the columns described in [`super::plan`].

use super::expr::{self, lit};
use super::plan::{aliased, dim_aliases, group_by, Plan, CURRENT};
use super::visits::Needs;

/// The report's SQL over events (without order and limit). `dims` are the
/// dimensions' expressions over the relation.
pub fn sql(plan: &Plan, dims: &[String]) -> String {
    if plan.query.needs_visits() {
        visits_sql(plan, dims)
    } else {
        events_sql(plan, dims)
    }
}

/// Event metrics straight from the events table, when no visit is needed.
fn events_sql(plan: &Plan, dims: &[String]) -> String {
    let select = aliased(dims);
    format!(
        "SELECT {select}{uniq}(visitor_id) AS r_visitors, countIf(name = 'pageview') AS r_pageviews, \
         count() AS r_events, toUInt64(0) AS r_visits, toUInt64(0) AS r_bounces, \
         toUInt64(0) AS r_duration, toUInt64(0) AS r_visit_pageviews{revenue} \
         FROM events WHERE site = {site} AND timestamp >= toDateTime({from}) \
         AND timestamp < toDateTime({to}) AND name != 'engagement'{filter}{group}",
        uniq = expr::visitors_fn(""),
        site = lit(&plan.query.site_id),
        from = plan.span.from.timestamp(),
        to = plan.span.to.timestamp(),
        filter = plan.filter_clause(),
        group = group_by(dims.len()),
        revenue = plan.revenue_select("1"),
    )
}

/// Metrics over the visit relation. When every dimension and filter is
/// a visit attribute (the same on all of a visit's events), one pass
/// suffices: each visit is counted at its first event. Otherwise rows
/// are first grouped per (group, visit), so that a visit's numbers count
/// once per group it has matching events in (each visit keeps its
/// visitor ids with repeats, which the distinct count outside ignores
/// and which is cheaper than keeping them unique). Bounces are
/// `sumIf(b, vin)`, not `countIf(vin AND b)`: 18.16 cannot resolve the
/// latter's aliases ("Unknown identifier: vin") when the body also runs
/// inside an `IN` subquery of itself, as under a threshold
/// ([`super::threshold`]).
fn visits_sql(plan: &Plan, dims: &[String]) -> String {
    let rows = format!(
        "SELECT *, timestamp >= toDateTime({from}) AND timestamp < toDateTime({to}) \
         AND name != 'engagement' AS in_events, v_start >= {from} AND v_start < {to} AS in_visits \
         FROM ({source}) WHERE in_events OR in_visits",
        from = plan.span.from.timestamp(),
        to = plan.span.to.timestamp(),
        source = rows_in_range(plan, &plan.needs()),
    );
    if per_visit_attributes_only(plan) {
        return format!(
            "SELECT {select}{uniq_if}(visitor_id, in_events) AS r_visitors, \
             countIf(in_events AND name = 'pageview') AS r_pageviews, countIf(in_events) AS r_events, \
             countIf(is_first AND in_visits) AS r_visits, countIf(is_first AND in_visits AND v_bounce) AS r_bounces, \
             sumIf(v_duration, is_first AND in_visits) AS r_duration, \
             sumIf(v_pageviews, is_first AND in_visits) AS r_visit_pageviews{revenue} FROM ({rows}){group}",
            select = aliased(dims),
            uniq_if = expr::visitors_fn("If"),
            group = group_by(dims.len()),
            revenue = plan.revenue_select("in_events"),
        );
    }
    let per_visit = format!(
        "SELECT {select}vkey, v_start, groupArrayIf(visitor_id, in_events) AS vids, \
         countIf(in_events AND name = 'pageview') AS pv, countIf(in_events) AS ev, \
         any(in_visits) AS vin, any(v_bounce) AS b, any(v_duration) AS dur, any(v_pageviews) AS vpv{revenue} \
         FROM ({rows}) GROUP BY {keys}vkey, v_start",
        select = aliased(dims),
        keys = dim_aliases(dims.len()).map(|a| a + ", ").collect::<String>(),
        revenue = plan.revenue_as("in_events", ["rv", "rvn"]),
    );
    let outer: String = dim_aliases(dims.len()).map(|a| a + ", ").collect();
    // Each visit's revenue per currency, summed again over the visits.
    let revenue = if plan.query.wants_revenue() {
        ", sumMap(rv.1, rv.2) AS r_revenue, sumMap(rvn.1, rvn.2) AS r_revenue_n"
    } else {
        ""
    };
    format!(
        "SELECT {outer}{uniq_array}(vids) AS r_visitors, sum(pv) AS r_pageviews, sum(ev) AS r_events, \
         countIf(vin) AS r_visits, sumIf(b, vin) AS r_bounces, sumIf(dur, vin) AS r_duration, \
         sumIf(vpv, vin) AS r_visit_pageviews{revenue} FROM ({per_visit}){group}",
        uniq_array = expr::visitors_fn("Array"),
        group = group_by(dims.len()),
    )
}

/// True when no dimension or filter varies within a visit.
fn per_visit_attributes_only(plan: &Plan) -> bool {
    plan.used_dimensions().iter().all(|d| d.needs_visits())
}

/// The relation's rows with a timestamp in range (the only rows a report
/// counts) that pass the filter: stored rows for events in the
/// materialized hours, rows built now for events after them. The filter
/// goes into each branch, since 18.16 does not push it into a union
/// (and reading only matching rows of `visit_events` is most of the win).
pub(crate) fn rows_in_range(plan: &Plan, needs: &Needs) -> String {
    let columns = needs.columns().join(", ");
    let (from, to) = (plan.span.from.timestamp(), plan.span.to.timestamp());
    let filter = plan.filter_clause();
    let Some(c) = plan.coverage.filter(|c| c.to > from && c.from < to) else {
        return plan.built_rows(needs, from, &filter);
    };
    // Under PREWHERE the filter's columns are read and tested first, and
    // the other conditions and columns only for the rows that pass
    // (about 8% of the filtered report).
    let prewhere = plan
        .filter
        .as_ref()
        .map(|f| format!("PREWHERE {} ", expr::filter(f)))
        .unwrap_or_default();
    let stored = format!(
        "SELECT {columns} FROM visit_events {prewhere}WHERE site = {} \
         AND timestamp >= toDateTime({}) AND timestamp < toDateTime({}) AND {CURRENT}",
        lit(&plan.query.site_id),
        from.max(c.from),
        to.min(c.to)
    );
    if c.to >= to {
        return stored;
    }
    // Events after the materialized hours get their visits built now.
    format!(
        "{stored} UNION ALL {}",
        plan.built_rows(needs, c.to, &filter)
    )
}
