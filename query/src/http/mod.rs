//! The query service's HTTP surface: the route table ([`routes`]) and the
//! handlers it names. Handlers turn a request into calls on the stages
//! below them (auth, the api model, sql) and their answer into a response;
//! they share [`crate::state::AppState`] and never the route table, so the
//! table is the only place that knows every path. Around the handlers:
//! bodies read within bounds ([`body`]), and the places reports take while
//! they run ([`admission`]).

pub mod admission;
pub mod body;
pub mod dashboard;
pub mod goals;
pub mod health;
pub mod login;
pub mod params;
pub mod prop_keys;
pub mod realtime;
pub mod realtime_view;
pub mod routes;
pub mod setup;
pub mod stats;
