//! The collector: a first-party ingest endpoint for page-view and custom-event
//! beacons that stores nothing able to identify a visitor.
//!
//! Request path: [`routes`] → [`ingest`] (body limits, [`beacon`] parsing)
//! → [`pipeline`] ([`consent`], [`site_rules`], [`enrich`] bots and spam,
//! [`client_ip`] truncation, location and source, [`visitor`] hashing under
//! the [`salt`] of the day) → [`batcher`] → [`sink`] (ClickHouse).
//! Admin imports ([`import`]) take the same pipeline and the same durable path.
//! [`tracker`] serves the script that sends the beacons.
//! In the background, [`retention_job`] erases what is past each site's retention.

pub mod batcher;
pub mod beacon;
pub mod client_ip;
pub mod clock;
pub mod consent;
pub mod cors;
pub mod dead_letter;
pub mod enrich;
pub mod error;
pub mod import;
pub mod ingest;
pub mod listener;
pub mod metrics;
pub mod optout;
pub mod outcome;
pub mod periodic;
pub mod pipeline;
pub mod rate_limit;
pub mod retention_job;
pub mod routes;
pub mod salt;
pub mod server;
pub mod sink;
pub mod site_rules;
pub mod spool;
pub mod spool_writer;
pub mod tracker;
pub mod visitor;

pub use server::{run, Collector};
