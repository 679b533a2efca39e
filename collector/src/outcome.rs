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
}

impl DropReason {
    pub const ALL: [DropReason; 4] = [Self::Dnt, Self::Gpc, Self::OptOut, Self::UnknownSite];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dnt => "dnt",
            Self::Gpc => "gpc",
            Self::OptOut => "optout",
            Self::UnknownSite => "unknown-site",
        }
    }
}
