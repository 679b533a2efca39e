//! What every handler shares: the config, the ClickHouse connection and the
//! limits reports run under, the clock, the session keys, the sign-in
//! rate limit and the places for reports in flight.
//!
//! It has a module of its own so that handlers and the checks they call
//! (see [`crate::auth`]) import it, and only the route table
//! ([`crate::http::routes`]) imports the handlers: nothing points back up.

use crate::auth::session::Sessions;
use crate::http::admission::Admission;
use crate::sql::clickhouse::Limits;
use chrono::{DateTime, Utc};
use schema::{Config, Db};

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub limits: Limits,
    /// The current time; tests pin it.
    pub now: Box<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    pub sessions: Sessions,
    pub login_limit: governor::DefaultDirectRateLimiter,
    /// Places for reports in flight, per editor and in all.
    pub admission: Admission,
}
