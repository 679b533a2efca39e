//! `[privacy]`: who runs the analytics and how to reach them, as the
//! generated privacy statement names them (see [`crate::privacy_statement`]).
//! Optional: without it the services run as before, and no statement is
//! published.

use super::Problems;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Who decides what the data is for: a person's or an organisation's name.
    pub controller: String,
    /// An e-mail address or an http(s) URL where visitors can ask questions.
    pub contact: String,
    /// Where the data is stored, in words (`Germany`, `the EU (Frankfurt)`).
    #[serde(default)]
    pub hosting_location: Option<String>,
}

/// Longer than any real name; a longer value is a paste gone wrong.
const MAX_TEXT_LEN: usize = 200;

/// What a contact is: rendered as a `mailto:` link or as a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Email,
    Url,
}

impl PrivacyConfig {
    /// The contact's kind, `None` when it is neither (a validation error).
    pub fn contact_kind(&self) -> Option<ContactKind> {
        let c = self.contact.as_str();
        // Both forms end up inside a Markdown link: nothing that could end one.
        let plain = !c.is_empty()
            && !c
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control() || "<>()[]\"'`\\".contains(ch));
        if !plain {
            return None;
        }
        if let Some(rest) = c.strip_prefix("https://").or(c.strip_prefix("http://")) {
            return (!rest.is_empty()).then_some(ContactKind::Url);
        }
        match c.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.contains('@') =>
            {
                Some(ContactKind::Email)
            }
            _ => None,
        }
    }

    pub(super) fn validate(&self, p: &mut Problems) {
        text("privacy.controller", &self.controller, p);
        if self.contact_kind().is_none() {
            p.add(
                "privacy.contact",
                "must be an e-mail address (privacy@example.com) or an http(s) URL",
            );
        }
        if let Some(location) = &self.hosting_location {
            text("privacy.hosting_location", location, p);
        }
    }
}

/// One line of plain text that is not blank and not absurdly long.
fn text(key: &str, value: &str, p: &mut Problems) {
    if value.trim().is_empty() {
        p.add(key, "must not be empty");
    } else if value.len() > MAX_TEXT_LEN || value.chars().any(char::is_control) {
        p.add(
            key,
            &format!("must be one line of at most {MAX_TEXT_LEN} bytes"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_invalid;
    use super::super::Config;
    use super::ContactKind;

    #[test]
    fn invalid_values_name_their_key() {
        assert_invalid(&[
            (
                "[privacy]\ncontroller = \" \"\ncontact = \"a@b.example\"\n",
                "privacy.controller",
            ),
            (
                "[privacy]\ncontroller = \"A\\u0007B\"\ncontact = \"a@b.example\"\n",
                "privacy.controller",
            ),
            (
                "[privacy]\ncontroller = \"Acme\"\ncontact = \"call us\"\n",
                "privacy.contact",
            ),
            (
                "[privacy]\ncontroller = \"Acme\"\ncontact = \"https://x.example/<b>\"\n",
                "privacy.contact",
            ),
            (
                "[privacy]\ncontroller = \"Acme\"\ncontact = \"a@b.example\"\nhosting_location = \"\"\n",
                "privacy.hosting_location",
            ),
        ]);
    }

    #[test]
    fn contacts_are_mail_or_links_and_the_section_is_optional() {
        let kind = |contact: &str| {
            let text = format!("[privacy]\ncontroller = \"Acme\"\ncontact = \"{contact}\"\n");
            let config = Config::parse(&text).unwrap();
            config.validate().unwrap();
            config.privacy.unwrap().contact_kind()
        };
        assert_eq!(kind("privacy@acme.example"), Some(ContactKind::Email));
        assert_eq!(kind("https://acme.example/privacy"), Some(ContactKind::Url));
        assert!(Config::parse("").unwrap().privacy.is_none());
        let missing = Config::parse("[privacy]\ncontroller = \"Acme\"\n").unwrap_err();
        assert!(missing.to_string().contains("contact"), "{missing}");
    }
}
