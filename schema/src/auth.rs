//! Editor tokens: the config holds only `sha256(token)`, and a presented
//! token is hashed and compared in constant time against every editor, so
//! neither the file nor the timing of a refusal reveals a token.

use crate::config::{EditorConfig, Role};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Lowercase hex of `sha256(token)`, the form `token_sha256` stores.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of an `Authorization: Bearer TOKEN` header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The editor whose token this is. Every editor is compared, so the time
/// taken does not depend on which one (if any) matched.
pub fn find_editor<'a>(editors: &'a [EditorConfig], token: &str) -> Option<&'a EditorConfig> {
    let presented = Sha256::digest(token.as_bytes());
    let mut found = None;
    for editor in editors {
        let Ok(stored) = hex::decode(&editor.token_sha256) else {
            continue;
        };
        if bool::from(stored.ct_eq(presented.as_slice())) {
            found = Some(editor);
        }
    }
    found
}

impl EditorConfig {
    /// Whether this editor may read reports of `domain`.
    pub fn may_read(&self, domain: &str) -> bool {
        self.sites.iter().any(|s| s == "*" || s == domain)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn editor(token: &str, role: Role, sites: &[&str]) -> EditorConfig {
        EditorConfig {
            name: token.into(),
            token_sha256: token_sha256(token),
            role,
            sites: sites.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn hashes_like_sha256sum() {
        // `printf foo | sha256sum`
        assert_eq!(
            token_sha256("foo"),
            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
        );
    }

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn finds_only_the_matching_editor() {
        let editors = [
            editor("alpha", Role::Admin, &["*"]),
            editor("beta", Role::Viewer, &["a.example"]),
        ];
        assert_eq!(find_editor(&editors, "beta").unwrap().name, "beta");
        assert!(find_editor(&editors, "gamma").is_none());
        assert!(find_editor(&editors, "").is_none());
        let beta = find_editor(&editors, "beta").unwrap();
        assert!(beta.may_read("a.example") && !beta.may_read("b.example"));
        assert!(!beta.is_admin());
        assert!(find_editor(&editors, "alpha")
            .unwrap()
            .may_read("any.example"));
    }
}
