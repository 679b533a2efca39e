//! Why a well-formed beacon was deliberately not recorded. Each reason is
//! sent back in `X-Analytics-Dropped` and counted in metrics, never logged
//! per request.

/// The response header naming the reason a beacon was dropped.
pub const DROPPED_HEADER: &str = "x-analytics-dropped";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    Dnt,
    Gpc,
    OptOut,
    UnknownSite,
    /// A page hostname the site does not list.
    Hostname,
    /// A path the site excludes.
    Excluded,
    /// Crawlers, monitors, headless browsers, HTTP libraries, prefetches.
    Bot,
    /// A referrer on the spam list.
    Spam,
    /// An address in the configured datacenter ranges.
    Datacenter,
    /// Over the visitor's or the site's rate limit.
    RateLimited,
    /// An `engagement` whose visitor has no page view of that page within
    /// the visit window (see [`super::engagement`]).
    EngagementNoPageview,
    /// An `engagement` that repeats the one stored for its page view.
    EngagementDuplicate,
}

impl DropReason {
    pub const ALL: [DropReason; 12] = [
        Self::Dnt,
        Self::Gpc,
        Self::OptOut,
        Self::UnknownSite,
        Self::Hostname,
        Self::Excluded,
        Self::Bot,
        Self::Spam,
        Self::Datacenter,
        Self::RateLimited,
        Self::EngagementNoPageview,
        Self::EngagementDuplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dnt => "dnt",
            Self::Gpc => "gpc",
            Self::OptOut => "optout",
            Self::UnknownSite => "unknown-site",
            Self::Hostname => "hostname",
            Self::Excluded => "excluded",
            Self::Bot => "bot",
            Self::Spam => "spam",
            Self::Datacenter => "datacenter",
            Self::RateLimited => "rate-limited",
            Self::EngagementNoPageview => "engagement-no-pageview",
            Self::EngagementDuplicate => "engagement-duplicate",
        }
    }
}
