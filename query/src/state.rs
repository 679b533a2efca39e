//! What every handler shares: the config, the ClickHouse connection and the
//! limits reports run under, the clock, the session keys, the sign-in and
//! refused-token limits and the places for reports in flight.
//!
//! It has a module of its own so that handlers and the checks they call
//! (see [`crate::auth`]) import it, and only the route table
//! ([`crate::http::routes`]) imports the handlers: nothing points back up.

use crate::auth::session::Sessions;
use crate::auth::throttle::Throttle;
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
    /// Sign-in attempts per client network.
    pub login_throttle: Throttle,
    /// Refused bearer tokens per client network.
    pub token_failures: Throttle,
    /// Places for reports in flight, per editor and in all.
    pub admission: Admission,
}
