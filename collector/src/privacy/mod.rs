//! What stands between a visitor and the stored row. The request's full
//! address ([`client_address`], resolved through trusted proxies) is only
//! ever truncated ([`truncated`]); the visitor id ([`visitor`]) is a keyed
//! hash of the truncated address and the user agent under a salt that
//! changes every UTC day and is erased the day after ([`salt`]).
//!
//! The full address exists in [`crate::http`] (the socket peer, an import
//! line's `ip`) and here; every later stage takes a [`TruncatedIp`].

pub mod client_address;
pub mod salt;
pub mod truncated;
pub mod visitor;

pub use client_address::ClientAddress;
pub use truncated::{truncate, TruncatedIp};
