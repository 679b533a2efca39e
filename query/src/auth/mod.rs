//! Who is asking, and what they may read.
//!
//! Every Stats API and dashboard request passes through here before any of
//! its body is trusted: [`caller`] names the editor behind a bearer token
//! or a session cookie (and refuses cookie requests another site could have
//! made), [`session`] makes and checks those cookies, and [`sites`] decides
//! which configured sites that editor may read. Keeping the three together
//! keeps every access decision in one folder.

pub mod caller;
pub mod session;
pub mod sites;
