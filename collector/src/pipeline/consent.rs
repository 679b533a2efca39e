//! The visitor's wishes, enforced on the server: Do-Not-Track, Global
//! Privacy Control (each as the site chooses) and the opt-out cookie
//! (always). Checked before the address or user agent is looked at.

use crate::pipeline::outcome::DropReason;
use http::{HeaderMap, HeaderName};

// Parsed once: looking a header up by string parses the name every time.
static DNT: HeaderName = HeaderName::from_static("dnt");
static SEC_GPC: HeaderName = HeaderName::from_static("sec-gpc");
use schema::config::SiteConfig;

/// Whether the request carries the opt-out cookie, with any value.
pub fn opted_out(headers: &HeaderMap, cookie_name: &str) -> bool {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.split('=').next().map(str::trim) == Some(cookie_name))
}

/// The site-specific signals: DNT, then GPC.
pub fn site_refuses(site: &SiteConfig, headers: &HeaderMap) -> Option<DropReason> {
    if site.respect_dnt && header_is_one(headers, &DNT) {
        return Some(DropReason::Dnt);
    }
    if site.respect_gpc && header_is_one(headers, &SEC_GPC) {
        return Some(DropReason::Gpc);
    }
    None
}

fn header_is_one(headers: &HeaderMap, name: &HeaderName) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn optout_cookie_among_others() {
        let h = headers(&[("cookie", "a=1; analytics_optout=1; b=2")]);
        assert!(opted_out(&h, "analytics_optout"));
        let h = headers(&[("cookie", "a=1"), ("cookie", "analytics_optout=")]);
        assert!(opted_out(&h, "analytics_optout"));
        let h = headers(&[("cookie", "not_analytics_optout=1; x=analytics_optout")]);
        assert!(!opted_out(&h, "analytics_optout"));
    }

    #[test]
    fn dnt_and_gpc_follow_the_site_settings() {
        let both = headers(&[("dnt", "1"), ("sec-gpc", "1")]);
        let mut site = SiteConfig::new("example.com");
        assert_eq!(site_refuses(&site, &both), Some(DropReason::Dnt));
        site.respect_dnt = false;
        assert_eq!(site_refuses(&site, &both), Some(DropReason::Gpc));
        site.respect_gpc = false;
        assert_eq!(site_refuses(&site, &both), None);
        let zero = headers(&[("dnt", "0"), ("sec-gpc", "0")]);
        assert_eq!(site_refuses(&SiteConfig::new("a.com"), &zero), None);
    }
}
