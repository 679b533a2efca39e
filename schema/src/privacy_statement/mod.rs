//! The privacy statement a publisher can paste into their own policy,
//! generated for one site from what the config and the code say: what is
//! recorded (from [`crate::event_docs`]), what never is, how visitors are
//! counted, location detail, retention, browser signals, opting out, and
//! who runs it (`[privacy]`). Nothing in it is a hand-kept copy of a fact,
//! so it cannot promise what the config contradicts.
//!
//! `schema privacy-statement DOMAIN` prints it; the collector serves it at
//! `GET /privacy?site=DOMAIN`. [`gpc`] is the GPC well-known file.
//!
//! - `facts`: what is stated, gathered from the config and constants.
//! - `markdown`: the text itself.
//! - `html`: the same text as a web page.

mod facts;
pub mod gpc;
mod html;
mod markdown;

pub use facts::{
    Facts, LocationDetail, StatementError, IPV4_PREFIX_BITS, IPV6_PREFIX_BITS, SALT_LIFETIME_DAYS,
};
pub use html::CONTENT_SECURITY_POLICY;

/// The statement's two forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Html,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }
}

/// The statement for the site the facts describe.
pub fn render(facts: &Facts, format: Format) -> String {
    let markdown = markdown::render(facts);
    match format {
        Format::Markdown => markdown,
        Format::Html => html::render(&markdown, &facts.domain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PrivacyConfig, SiteConfig};
    use crate::Config;

    fn facts(edit: impl FnOnce(&mut Config)) -> Facts {
        let mut config = Config::default();
        config.site.push(SiteConfig::new("a.example"));
        config.privacy = Some(PrivacyConfig {
            controller: "Acme *Ltd* <b>".into(),
            contact: "privacy@acme.example".into(),
            hosting_location: None,
        });
        edit(&mut config);
        Facts::gather(&config, "a.example", LocationDetail::City).unwrap()
    }

    #[test]
    fn config_text_is_shown_as_written_in_both_forms() {
        let f = facts(|_| {});
        let md = render(&f, Format::Markdown);
        assert!(md.contains(r"Acme \*Ltd\* \<b\>"), "{md}");
        assert!(md.contains("[privacy@acme.example](mailto:privacy@acme.example)"));
        let html = render(&f, Format::Html);
        assert!(html.contains("Acme *Ltd* &lt;b&gt;"), "{html}");
        assert!(
            html.contains(r#"<a href="mailto:privacy@acme.example">"#),
            "{html}"
        );
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn a_missing_site_or_privacy_section_is_named() {
        let config = Config::default();
        let err = Facts::gather(&config, "a.example", LocationDetail::Off).unwrap_err();
        assert!(err.to_string().contains("a.example"), "{err}");
        let mut config = Config::default();
        config.site.push(SiteConfig::new("a.example"));
        let err = Facts::gather(&config, "a.example", LocationDetail::Off).unwrap_err();
        assert!(err.to_string().contains("[privacy]"), "{err}");
    }

    #[test]
    fn the_opt_out_link_follows_public_url() {
        let relative = render(&facts(|_| {}), Format::Markdown);
        assert!(
            relative.contains("[the opt-out page](optout)"),
            "{relative}"
        );
        let absolute = render(
            &facts(|c| c.collector.public_url = Some("https://a.example/stats/".into())),
            Format::Markdown,
        );
        assert!(
            absolute.contains("(https://a.example/stats/optout)"),
            "{absolute}"
        );
    }
}
