//! The HTTP edge: accepting connections with their limits (the shared
//! [`schema::listener`]), each connection's service ([`connection`]: beacons
//! straight to their handler, the rest to the router), the route table ([`routes`]) and the handlers behind it — beacons
//! ([`ingest`]), admin imports ([`import`]), the tracker script
//! ([`tracker`]), the opt-out page ([`optout`]), the privacy statement
//! ([`statement`]), GPC's well-known file ([`gpc`]) and CORS ([`cors`]).
//!
//! The socket peer and the forwarding headers are read here and handed to
//! [`crate::privacy`] unread; nothing past this module and that one sees the
//! full client address.

pub mod connection;
pub mod cors;
pub mod gpc;
pub mod health;
pub mod import;
pub mod ingest;
pub mod optout;
pub mod routes;
pub mod statement;
pub mod tracker;
