//! Work the query service does in the background, beside answering
//! requests: the rollup materializer ([`rollup`]), which stores visits and
//! their totals hour by hour so that reports read them instead of building
//! them. Its SQL is written in [`crate::sql::materialize`]; only the
//! bookkeeping and the schedule are here.

pub mod rollup;
