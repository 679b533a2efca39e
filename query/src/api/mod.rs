//! The Stats API's own language, apart from HTTP and SQL: the request
//! model ([`request`]) and its parser ([`parse`], with `matches` patterns
//! checked in [`pattern`]), date ranges resolved in a site's zone and the
//! time buckets they span ([`dates`]), revenue written in its currency
//! ([`money`]), the combinations Plausible refuses ([`rules`]), goal
//! filters resolved against a site's goals ([`goals`]), dimension values
//! as Plausible names them ([`names`]), the ranges comparisons compare
//! with ([`compare`]), what `include.imports` says about imported history
//! ([`imports`]), the answer written as Plausible's JSON or as CSV
//! ([`response`]), and what a site's k-anonymity threshold hides in it
//! ([`threshold`]). Nothing here touches
//! ClickHouse, so all of it is tested without one.

pub mod compare;
pub mod dates;
pub mod goals;
pub mod imports;
pub mod money;
pub mod names;
pub mod parse;
pub mod pattern;
pub mod request;
pub mod response;
pub mod rules;
pub mod threshold;
