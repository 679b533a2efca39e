//! Editor tokens: the config holds only `sha256(token)`, and a presented
//! token is hashed and compared in constant time against every editor, so
//! neither the file nor the timing of a refusal reveals a token.

use crate::config::{EditorConfig, Role};
use rand::TryRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bytes in a new token: as hard to guess as a 256-bit key. Tokens
/// are configured only as hashes, so their strength is settled here, where
/// they are made.
pub const TOKEN_BYTES: usize = 32;

/// A new editor: the token to hand over once, and the `[[editor]]` entry
/// that holds only its hash.
pub struct NewEditor {
    pub token: String,
    pub editor: EditorConfig,
}

impl NewEditor {
    /// A random token (hex of [`TOKEN_BYTES`] bytes from the OS's generator)
    /// for an editor named `name`.
    pub fn generate(name: &str, role: Role, sites: Vec<String>) -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random number generator");
        let token = hex::encode(bytes);
        let editor = EditorConfig {
            name: name.to_owned(),
            token_sha256: token_sha256(&token),
            role,
            sites,
        };
        Self { token, editor }
    }

    /// The `[[editor]]` block to paste into the config file.
    pub fn config_block(&self) -> String {
        let e = &self.editor;
        let role = match e.role {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        };
        let sites: Vec<String> = e.sites.iter().map(|s| toml_string(s)).collect();
        format!(
            "[[editor]]\nname = {}\ntoken_sha256 = \"{}\"\nrole = \"{role}\"\nsites = [{}]\n",
            toml_string(&e.name),
            e.token_sha256,
            sites.join(", ")
        )
    }
}

/// A TOML basic string, quoted and escaped.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

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
    use crate::Config;

    #[test]
    fn a_new_editors_block_parses_validates_and_finds_its_token() {
        let new = NewEditor::generate(
            "Ana \"the editor\"",
            Role::Viewer,
            vec!["example.com".into()],
        );
        assert_eq!(new.token.len(), 2 * TOKEN_BYTES);
        assert!(new.token.bytes().all(|b| b.is_ascii_hexdigit()));
        let text = format!(
            "[[site]]\ndomain = \"example.com\"\n\n{}",
            new.config_block()
        );
        let config = Config::parse(&text).unwrap();
        config.validate().unwrap();
        let found = find_editor(&config.editor, &new.token).expect("the token signs in");
        assert_eq!(found.name, "Ana \"the editor\"");
        assert_eq!(found.role, Role::Viewer);
        assert!(found.may_read("example.com") && !found.may_read("other.com"));
        assert!(!text.contains(&new.token), "the block holds only the hash");
    }

    #[test]
    fn new_tokens_differ() {
        let a = NewEditor::generate("a", Role::Admin, vec!["*".into()]);
        let b = NewEditor::generate("a", Role::Admin, vec!["*".into()]);
        assert_ne!(a.token, b.token);
    }

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
