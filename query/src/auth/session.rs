//! Dashboard sessions: a signed cookie naming the editor and when the
//! session ends, plus, in memory, when each editor last signed out.
//!
//! The cookie is `v1.<expiry>.<hex editor name>.<hex MAC>`, where the MAC is
//! a keyed blake3 hash over the expiry, the name and the editor's *current*
//! `token_sha256`: rotating a token changes the hash, so every session made
//! with the old token stops verifying, without a revocation list. The key
//! comes from `[query] session_secret`, or is random per process (then a
//! restart signs everyone out).
//!
//! Signing out ends every session of that editor, including copies of the
//! cookie: the editor's *sign-out floor* becomes the latest expiry any of
//! its sessions issued so far can have, and a session verifies only if it
//! expires after its editor's floor. Sessions issued later expire after it
//! (one second later at the least). The floors live in this process only,
//! one small number per editor: with several instances a sign-out holds on
//! the instance that handled it, and a restart forgets them (without a
//! `session_secret` every session ends on restart anyway; with one, a
//! cookie signed out before the restart verifies again until it expires).

use super::editor_key;
use chrono::{DateTime, Utc};
use schema::config::{EditorConfig, QueryConfig};
use std::collections::HashMap;
use std::sync::Mutex;

/// The cookie's name.
pub const COOKIE: &str = "analytics_session";
const VERSION: &str = "v1";
/// Separates session keys from any other use of the same secret.
const KEY_CONTEXT: &str = "analytics query service 2026-12 dashboard session key";

pub struct Sessions {
    key: [u8; 32],
    lifetime_secs: i64,
    secure: bool,
    path: String,
    /// Each editor's sign-out floor (see the module docs), by token hash.
    floors: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("lifetime_secs", &self.lifetime_secs)
            .field("secure", &self.secure)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    pub fn new(config: &QueryConfig) -> Self {
        let key = match &config.session_secret {
            Some(secret) => blake3::derive_key(KEY_CONTEXT, secret.as_bytes()),
            None => rand::random(),
        };
        let public = config.public_url.as_deref().unwrap_or("");
        Self {
            key,
            lifetime_secs: i64::from(config.session_hours) * 3600,
            secure: public.starts_with("https://"),
            path: cookie_path(public),
            floors: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh session for `editor`, valid from `now` for the lifetime
    /// (and a second more when it would not outlast a sign-out of this
    /// same second).
    pub fn issue(&self, editor: &EditorConfig, now: DateTime<Utc>) -> String {
        let expiry = (now.timestamp() + self.lifetime_secs).max(self.floor(editor) + 1);
        let mac = self.mac(expiry, editor);
        format!(
            "{VERSION}.{expiry}.{}.{}",
            hex::encode(editor.name.as_bytes()),
            mac.to_hex()
        )
    }

    /// The editor a cookie value was issued to, if it is intact, unexpired
    /// and made with that editor's current token.
    pub fn verify<'a>(
        &self,
        editors: &'a [EditorConfig],
        value: &str,
        now: DateTime<Utc>,
    ) -> Option<&'a EditorConfig> {
        let mut parts = value.split('.');
        if parts.next() != Some(VERSION) {
            return None;
        }
        let expiry: i64 = parts.next()?.parse().ok()?;
        let name = String::from_utf8(hex::decode(parts.next()?).ok()?).ok()?;
        let presented = blake3::Hash::from_hex(parts.next()?).ok()?;
        if parts.next().is_some() || expiry <= now.timestamp() {
            return None;
        }
        // `Hash` compares in constant time. Names need not be unique, so
        // each editor of that name is tried.
        editors
            .iter()
            .filter(|e| e.name == name)
            .find(|e| self.mac(expiry, e) == presented)
            .filter(|e| expiry > self.floor(e))
    }

    /// Ends every session of `editor` issued up to `now`.
    pub fn sign_out(&self, editor: &EditorConfig, now: DateTime<Utc>) {
        let latest = now.timestamp() + self.lifetime_secs;
        let mut floors = self.floors.lock().unwrap_or_else(|e| e.into_inner());
        let floor = floors.entry(editor_key(editor)).or_insert(latest);
        *floor = (*floor).max(latest);
    }

    fn floor(&self, editor: &EditorConfig) -> i64 {
        let floors = self.floors.lock().unwrap_or_else(|e| e.into_inner());
        floors.get(&editor_key(editor)).copied().unwrap_or(i64::MIN)
    }

    fn mac(&self, expiry: i64, editor: &EditorConfig) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(&expiry.to_le_bytes());
        for part in [&editor.name, &editor.token_sha256.to_ascii_lowercase()] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.finalize()
    }

    /// The `Set-Cookie` value that starts a session.
    pub fn set_cookie(&self, value: &str) -> String {
        self.cookie(value, self.lifetime_secs)
    }

    /// The `Set-Cookie` value that ends one (logout).
    pub fn clear_cookie(&self) -> String {
        self.cookie("", 0)
    }

    fn cookie(&self, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{COOKIE}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
            self.path
        )
    }
}

/// The path of the public URL, so a dashboard behind a path prefix keeps its
/// cookie to itself; `/` when none is configured.
fn cookie_path(public_url: &str) -> String {
    let after_scheme = public_url.split_once("://").map_or("", |(_, rest)| rest);
    let path = after_scheme
        .find('/')
        .map_or("/", |i| &after_scheme[i..])
        .split(['?', '#'])
        .next()
        .unwrap_or("/");
    if path.is_empty() {
        "/".into()
    } else {
        path.into()
    }
}

/// The session cookie's value among a request's `Cookie` headers.
pub fn from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use schema::config::Role;

    fn editor(name: &str, token: &str) -> EditorConfig {
        EditorConfig {
            name: name.into(),
            token_sha256: schema::auth::token_sha256(token),
            role: Role::Viewer,
            sites: vec!["a.example".into()],
        }
    }

    fn sessions(edit: impl FnOnce(&mut QueryConfig)) -> Sessions {
        let mut config = QueryConfig::default();
        edit(&mut config);
        Sessions::new(&config)
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn a_session_verifies_until_it_expires() {
        let s = sessions(|c| c.session_hours = 1);
        let editors = [editor("ann", "t1"), editor("bob", "t2")];
        let value = s.issue(&editors[1], at(1_000));
        assert_eq!(s.verify(&editors, &value, at(1_000)).unwrap().name, "bob");
        assert_eq!(s.verify(&editors, &value, at(4_599)).unwrap().name, "bob");
        assert!(s.verify(&editors, &value, at(4_600)).is_none());
    }

    #[test]
    fn tampering_renaming_and_rotation_are_refused() {
        let s = sessions(|_| {});
        let editors = [editor("ann", "t1"), editor("bob", "t2")];
        let value = s.issue(&editors[0], at(0));
        let parts: Vec<&str> = value.split('.').collect();
        let as_bob = format!("v1.{}.{}.{}", parts[1], hex::encode("bob"), parts[3]);
        let later = format!("v1.{}.{}.{}", 9_999_999_999i64, parts[2], parts[3]);
        for forged in [
            as_bob,
            later,
            format!("{value}.x"),
            value.replace("v1", "v2"),
        ] {
            assert!(s.verify(&editors, &forged, at(0)).is_none(), "{forged}");
        }
        let rotated = [editor("ann", "t1-new"), editor("bob", "t2")];
        assert!(s.verify(&rotated, &value, at(0)).is_none());
    }

    #[test]
    fn the_secret_decides_which_sessions_verify() {
        let secret = "x".repeat(40);
        let one = sessions(|c| c.session_secret = Some(secret.clone()));
        let two = sessions(|c| c.session_secret = Some(secret.clone()));
        let random = sessions(|_| {});
        let editors = [editor("ann", "t1")];
        let value = one.issue(&editors[0], at(0));
        assert!(two.verify(&editors, &value, at(0)).is_some());
        assert!(random.verify(&editors, &value, at(0)).is_none());
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_on_https() {
        let plain = sessions(|_| {});
        let cookie = plain.set_cookie("abc");
        assert!(cookie.starts_with("analytics_session=abc; Path=/;"));
        assert!(cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict"));
        assert!(!cookie.contains("Secure"));
        let https = sessions(|c| c.public_url = Some("https://stats.example/dash/".into()));
        assert!(https.set_cookie("abc").ends_with("; Secure"));
        assert!(https.set_cookie("abc").contains("; Path=/dash/;"));
        assert!(https.clear_cookie().contains("=; Path=/dash/; Max-Age=0;"));
    }

    #[test]
    fn cookie_paths_come_from_the_public_url() {
        assert_eq!(cookie_path(""), "/");
        assert_eq!(cookie_path("https://stats.example"), "/");
        assert_eq!(cookie_path("https://stats.example/"), "/");
        assert_eq!(cookie_path("http://a.example:8081/x/y?z=1"), "/x/y");
    }

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut headers = axum::http::HeaderMap::new();
        headers.append("cookie", "a=1; analytics_session=v1.2.3.4".parse().unwrap());
        assert_eq!(from_headers(&headers), Some("v1.2.3.4"));
        let mut empty = axum::http::HeaderMap::new();
        empty.append("cookie", "analytics_session=; b=2".parse().unwrap());
        assert_eq!(from_headers(&empty), None);
    }

    #[test]
    fn signing_out_ends_every_earlier_session_of_that_editor_only() {
        let s = sessions(|c| c.session_hours = 1);
        let editors = [editor("ann", "t1"), editor("bob", "t2")];
        let laptop = s.issue(&editors[0], at(1_000));
        let phone = s.issue(&editors[0], at(2_000));
        let bob = s.issue(&editors[1], at(2_000));
        s.sign_out(&editors[0], at(2_000));
        assert!(s.verify(&editors, &laptop, at(2_000)).is_none());
        assert!(s.verify(&editors, &phone, at(2_000)).is_none());
        assert_eq!(s.verify(&editors, &bob, at(2_000)).unwrap().name, "bob");
        // Signing in again in the same second gives a session that verifies.
        let again = s.issue(&editors[0], at(2_000));
        assert_eq!(s.verify(&editors, &again, at(2_000)).unwrap().name, "ann");
        assert!(s.verify(&editors, &phone, at(2_500)).is_none());
    }
}
