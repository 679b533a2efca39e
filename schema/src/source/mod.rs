//! Source attribution: which source a visit came from ("Google", "Hacker News",
//! "blog.example.org", "Direct / None") and, when the page was not tagged with
//! `utm_medium`, which medium to store.
//!
//! Owns the host → name index, built once from Matomo's search engine, social
//! and AI assistant lists (vendored under `schema/data/referrer-sources/`)
//! plus a few hosts and tag aliases those lists lack, and the ad click id
//! table.
//!
//! Conventions, chosen to match Plausible where it has one and GA4 otherwise:
//! - Precedence: `utm_source`, `?source=`, `?ref=`, the click id, the Referer.
//! - Names are Matomo's (`Twitter` for x.com and t.co, `Yahoo!`), except that
//!   lower-case brands are capitalised (`Reddit`, `Tumblr`).
//! - A Referer from the page's own host (ignoring `www.`) is not a source:
//!   Plausible's rule. Another subdomain of the same site is a referral.
//! - An unknown Referer host is its own name, without `www.`.
//! - Medium without `utm_medium`: the click id's (`cpc`; `social` for fbclid,
//!   which Facebook adds to every outbound link, paid or not); otherwise search
//!   engines `organic`, social networks `social`, webmail `email`, AI
//!   assistants and unknown referrers `referral` (GA4 has no AI channel),
//!   direct `""`, and an unknown tag value `""` (GA4's "(not set)": a tag
//!   without a medium says nothing about the medium).
//!
//! It lives in `schema` so that the collector (live traffic) and the
//! history importer ([`crate::import`]) name sources the same way.
//!
//! The pieces: `lists` builds the index from the vendored lists,
//! `hosts` looks hosts up in it, `attribution` names the source of a
//! visit, `medium` infers the medium, and `click_ids` holds the ad click id
//! table.

mod attribution;
mod click_ids;
mod hosts;
mod lists;
mod medium;

pub use attribution::Attribution;
pub use click_ids::{click_id, ClickId};

use medium::Kind;
use std::sync::LazyLock;

/// Host and name lookups are on the hot path; foldhash is several times
/// faster than the default SipHash for these short keys, and the keys come
/// from vendored data, not from clients choosing collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The scheme of Android app referrers, which Chrome sends for pages opened
/// from an app; kept in the referrer's host so it says where it came from.
pub const ANDROID_APP: &str = "android-app://";

/// The source of a visit with no tag, no click id and no outside Referer.
pub const DIRECT: &str = "Direct / None";

/// Index into `Sources::names`.
type NameId = u16;

struct Name {
    name: Box<str>,
    kind: Kind,
}

/// The host → name index built from the vendored lists, plus aliases.
pub struct Sources {
    names: Vec<Name>,
    /// Canonical name → id, to find a name's kind.
    by_name: HashMap<Box<str>, NameId>,
    /// Lowercased names and aliases → id, for tag values.
    by_tag: HashMap<Box<str>, NameId>,
    /// Exact host (no `www.`) → id. Also matches subdomains.
    hosts: HashMap<Box<str>, NameId>,
    /// Host minus its public suffix → id, for Matomo's `google.{}`.
    stems: HashMap<Box<str>, NameId>,
}

static SHARED: LazyLock<Sources> = LazyLock::new(Sources::vendored);

impl Sources {
    /// Built once per process from the vendored files on first use.
    pub fn shared() -> &'static Sources {
        &SHARED
    }

    fn name(&self, id: NameId) -> &str {
        &self.names[usize::from(id)].name
    }
}

/// Helpers the pieces' tests share.
#[cfg(test)]
mod tests {
    use super::*;
    use compact_str::CompactString;

    pub(super) const SITE: &str = "example.com";

    pub(super) fn from_referrer(referrer_host: &str) -> Attribution<'_> {
        Attribution {
            referrer_host,
            page_host: SITE,
            ..Attribution::default()
        }
    }

    pub(super) fn classify(a: &Attribution) -> CompactString {
        Sources::shared().classify(a)
    }

    pub(super) fn medium(a: &Attribution) -> &'static str {
        let sources = Sources::shared();
        sources.infer_medium(a, &sources.classify(a))
    }
}
