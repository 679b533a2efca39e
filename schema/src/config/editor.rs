//! `[[editor]]`: who may read reports (and, as `admin`, import), named by
//! the sha256 of their token, and which sites each may read.

use super::{Problems, SiteConfig};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditorConfig {
    pub name: String,
    /// Hex of sha256(bearer token): the token itself is never in the file.
    pub token_sha256: String,
    pub role: Role,
    /// Domains this editor may read, or `["*"]`.
    pub sites: Vec<String>,
}

/// Every `[[editor]]`: a well-formed token hash, and only configured sites.
pub(super) fn validate_editors(editors: &[EditorConfig], sites: &[SiteConfig], p: &mut Problems) {
    for (i, editor) in editors.iter().enumerate() {
        let t = &editor.token_sha256;
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            p.add(
                &format!("editor[{i}].token_sha256"),
                "must be 64 hex digits (sha256 of the token)",
            );
        }
        for site in &editor.sites {
            if site != "*" && !sites.iter().any(|s| &s.domain == site) {
                p.add(
                    &format!("editor[{i}].sites"),
                    &format!("`{site}` is not a configured [[site]]"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_invalid, SAMPLE};
    use super::super::Config;

    #[test]
    fn invalid_values_name_their_key() {
        assert_invalid(&[(
            "[[editor]]\nname = \"a\"\ntoken_sha256 = \"abc\"\nrole = \"admin\"\nsites = [\"*\"]\n",
            "editor[0].token_sha256",
        )]);
    }

    #[test]
    fn editor_site_must_exist() {
        let text = SAMPLE.replace("sites = [\"example.com\"]", "sites = [\"nope.com\"]");
        let err = Config::parse(&text).unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("nope.com"), "{err}");
    }
}
