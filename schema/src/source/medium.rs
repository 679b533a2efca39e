//! The medium to store when the page has no `utm_medium`: the click id's,
//! else what kind of site the named source is (search, social, AI
//! assistant, webmail), else `referral` for an unknown referrer and `""`
//! for an unknown tag or a direct visit.

use super::{Attribution, Sources, DIRECT};

/// What kind of site a named source is; decides the inferred medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Search,
    Social,
    AiAssistant,
    Email,
}

impl Kind {
    fn medium(self) -> &'static str {
        match self {
            Kind::Search => "organic",
            Kind::Social => "social",
            Kind::AiAssistant => "referral",
            Kind::Email => "email",
        }
    }
}

impl Sources {
    /// The medium to store when `utm_medium` is absent, for the `source` that
    /// `classify` returned. See the module doc for the conventions.
    pub fn infer_medium(&self, a: &Attribution, source: &str) -> &'static str {
        if let Some(click) = a.click_id {
            return click.medium;
        }
        if source.is_empty() || source == DIRECT {
            return "";
        }
        match self.kind_of(source) {
            Some(kind) => kind.medium(),
            None if a.tag().is_some() => "",
            None => "referral",
        }
    }

    pub(super) fn kind_of(&self, source: &str) -> Option<Kind> {
        self.by_name
            .get(source)
            .map(|&id| self.names[usize::from(id)].kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::click_id;
    use crate::source::tests::{classify, from_referrer, medium};

    #[test]
    fn gclid_alone_is_google_ads_cpc() {
        let a = Attribution {
            click_id: click_id("gclid"),
            ..from_referrer("")
        };
        assert_eq!(classify(&a), "Google Ads");
        assert_eq!(medium(&a), "cpc");
        // The precedence puts the Referer before anything else: the
        // click id then only tells the medium (google / cpc, as GA has it).
        let with_referrer = Attribution {
            referrer_host: "google.com",
            ..a
        };
        assert_eq!(classify(&with_referrer), "Google");
        assert_eq!(medium(&with_referrer), "cpc");
        // fbclid rides on Instagram's outbound links too.
        let instagram = Attribution {
            referrer_host: "l.instagram.com",
            click_id: click_id("fbclid"),
            ..Attribution::default()
        };
        assert_eq!(classify(&instagram), "Instagram");
    }

    #[test]
    fn tags_beat_the_click_id_but_keep_its_medium() {
        let a = Attribution {
            utm_source: "google",
            click_id: click_id("gclid"),
            ..Attribution::default()
        };
        assert_eq!(classify(&a), "Google");
        assert_eq!(medium(&a), "cpc");
    }

    #[test]
    fn fbclid_is_facebook_social() {
        let a = Attribution {
            click_id: click_id("fbclid"),
            ..Attribution::default()
        };
        assert_eq!(classify(&a), "Facebook");
        assert_eq!(medium(&a), "social");
        let from_facebook = Attribution {
            referrer_host: "l.facebook.com",
            ..a
        };
        assert_eq!(classify(&from_facebook), "Facebook");
    }

    #[test]
    fn inferred_media() {
        let cases = [
            (from_referrer("google.com"), "organic"),
            (from_referrer("duckduckgo.com"), "organic"),
            (from_referrer("t.co"), "social"),
            (from_referrer("news.ycombinator.com"), "social"),
            (from_referrer("chatgpt.com"), "referral"),
            (from_referrer("mail.google.com"), "email"),
            (from_referrer("blog.example.org"), "referral"),
            (from_referrer("shop.example.com"), "referral"),
            (from_referrer("example.com"), ""),
            (from_referrer(""), ""),
            (
                Attribution {
                    utm_source: "twitter",
                    ..Attribution::default()
                },
                "social",
            ),
            (
                Attribution {
                    utm_source: "google",
                    ..Attribution::default()
                },
                "organic",
            ),
            (
                Attribution {
                    utm_source: "chatgpt.com",
                    ..Attribution::default()
                },
                "referral",
            ),
            (
                Attribution {
                    utm_source: "newsletter",
                    ..Attribution::default()
                },
                "",
            ),
            (
                Attribution {
                    ref_param: "producthunt",
                    ..from_referrer("producthunt.com")
                },
                "",
            ),
            (
                Attribution {
                    click_id: click_id("msclkid"),
                    ..Attribution::default()
                },
                "cpc",
            ),
            (
                Attribution {
                    click_id: click_id("dclid"),
                    ..Attribution::default()
                },
                "display",
            ),
        ];
        for (a, expected) in cases {
            assert_eq!(medium(&a), expected, "{a:?}");
        }
    }
}
