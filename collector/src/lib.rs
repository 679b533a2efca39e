//! The collector: a first-party ingest endpoint for page-view and custom-event
//! beacons that stores nothing able to identify a visitor.
//!
//! A beacon's path, folder by folder:
//!
//! 1. [`http`] accepts the connection under its limits, routes
//!    `POST /api/event` to the ingest handler, bounds and reads the body.
//! 2. [`beacon`] parses and validates it as Plausible's Events API does.
//! 3. [`pipeline`] decides: consent (Do-Not-Track, Global Privacy Control,
//!    the opt-out cookie), the site's rules, bots, spam and datacenters,
//!    then the rate limits. A refusal is a [`pipeline::outcome::DropReason`].
//! 4. [`privacy`] turns the request's address into a truncated one (/24 or
//!    /48), which is all that later steps can see, and hashes it with the
//!    user agent under the day's salt into the visitor id.
//! 5. [`enrich`] adds browser, OS, device, source and location (looked up
//!    on the truncated address).
//! 6. [`delivery`] queues the row (or fsyncs it to the spool) and writes
//!    batches into ClickHouse, keeping what ClickHouse refuses on disk.
//!
//! Admin imports (`POST /api/import`, [`http::import`]) take the same
//! pipeline and the same delivery. [`jobs`] runs in the background: salt
//! rotation, rate-limit clean-up and retention. [`server`] starts all of it
//! and stops it in order; [`state`] is what the handlers share.

pub mod beacon;
pub mod clock;
pub mod delivery;
pub mod enrich;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod pipeline;
pub mod privacy;
pub mod server;
pub mod state;
pub use schema::text;

pub use server::{run, Collector};
