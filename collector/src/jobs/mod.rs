//! Work the collector does in the background, on a timer, until it stops:
//! salt rotation ([`salt_rotation`]), the rate limiters' clean-up
//! ([`rate_limit_clean_up`]), forgetting page views no engagement can
//! refer to any more ([`page_view_expiry`]) and the retention job
//! ([`retention`]), all
//! scheduled by [`periodic`]. (The GeoIP file's watcher lives with the
//! database it reloads, in [`crate::enrich::geo`].)

pub mod page_view_expiry;
pub mod periodic;
pub mod rate_limit_clean_up;
pub mod retention;
pub mod salt_rotation;
