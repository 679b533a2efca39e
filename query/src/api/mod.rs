//! The Stats API's own language, apart from HTTP and SQL: the request
//! model ([`request`]) and its parser ([`parse`], with `matches` patterns
//! checked in [`pattern`]), date ranges resolved in
//! a site's zone and the time buckets they span ([`dates`]), and the answer
//! written as Plausible's JSON or as CSV ([`response`]). Nothing here
//! touches ClickHouse, so all of it is tested without one.

pub mod dates;
pub mod parse;
pub mod pattern;
pub mod request;
pub mod response;
