//! Every SQL string of the query service, and the code that runs them.
//!
//! A report starts as a [`plan`] (the parsed query resolved against one
//! site and the materialized visits it may read). [`report`] answers it
//! from rolled-up totals ([`rollups`]) when they hold the answer exactly,
//! else from events ([`events`]), grouped into visits by the relation in
//! [`visits`] when a number needs them; [`clickhouse`] runs it under the
//! configured limits. [`expr`] writes values, dimensions and filters as SQL
//! text (user input only ever through [`expr::lit`]); [`goals`] writes
//! the `event:goal` dimension and revenue sums. A site's k-anonymity
//! threshold wraps either path's SQL ([`threshold`]). With
//! `include.imports`, [`imported`] adds imported daily totals to a
//! report's groups. Besides reports: the handlers' small [`lookups`], the
//! realtime view's last minutes ([`recent`]), the property keys the
//! dashboard offers ([`props`]), and the statements the rollup
//! materializer runs ([`materialize`]).

pub mod clickhouse;
pub mod engagement;
pub mod events;
pub mod expr;
pub mod goals;
pub mod imported;
pub mod lookups;
pub mod materialize;
pub mod plan;
pub mod props;
pub mod recent;
pub mod report;
pub mod rollups;
pub mod threshold;
pub mod visits;
