//! Who is asking, and what they may read.
//!
//! Every Stats API and dashboard request passes through here before any of
//! its body is trusted: [`caller`] names the editor behind a bearer token
//! or a session cookie (and refuses cookie requests another site could have
//! made), [`session`] makes and checks those cookies, and [`sites`] decides
//! which configured sites that editor may read. Sign-in attempts and
//! refused tokens are limited per client network ([`throttle`],
//! [`client_net`]). Keeping these together keeps every access decision in
//! one folder.

pub mod caller;
pub mod client_net;
pub mod session;
pub mod sites;
pub mod throttle;

use schema::config::EditorConfig;

/// What tells editors apart in the service's per-editor state (session
/// sign-outs, report places): the token hash, since names need not be
/// unique.
pub(crate) fn editor_key(editor: &EditorConfig) -> String {
    editor.token_sha256.to_ascii_lowercase()
}
