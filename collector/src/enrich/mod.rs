//! Enrichment: what an accepted event gains beyond the beacon itself.

pub mod bots;
pub mod datacenter;
pub mod geo;
pub mod source;
pub mod spam;
pub mod ua;
