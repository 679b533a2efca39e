//! The Stats API v2 query as the service understands it: a checked
//! [`Query`] of metrics, dimensions, filters, a date range, order and
//! pagination, each a closed set of names ([`super::parse`] builds it from
//! the body). Everything later, SQL included, works from these types, never
//! from the request text.

/// The most rows one page may hold, as in Plausible.
pub const MAX_LIMIT: u64 = 10_000;
/// Longest `matches` pattern; longer ones are refused before reaching SQL.
pub const MAX_PATTERN_LEN: usize = 512;
/// Longest filter value of any other kind.
pub const MAX_VALUE_LEN: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Visitors,
    Visits,
    Pageviews,
    ViewsPerVisit,
    BounceRate,
    VisitDuration,
    Events,
    Percentage,
}

impl Metric {
    const ALL: [Metric; 8] = [
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::ViewsPerVisit,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::Events,
        Metric::Percentage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Visitors => "visitors",
            Metric::Visits => "visits",
            Metric::Pageviews => "pageviews",
            Metric::ViewsPerVisit => "views_per_visit",
            Metric::BounceRate => "bounce_rate",
            Metric::VisitDuration => "visit_duration",
            Metric::Events => "events",
            Metric::Percentage => "percentage",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Metrics that need events grouped into visits.
    pub fn needs_visits(self) -> bool {
        matches!(
            self,
            Metric::Visits | Metric::ViewsPerVisit | Metric::BounceRate | Metric::VisitDuration
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeGrain {
    /// `time`: hour, day or month, picked from the length of the range.
    Auto,
    Hour,
    Day,
    Week,
    Month,
}

/// The columns a report can group or filter by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dimension {
    Page,
    Name,
    Hostname,
    Prop(String),
    EntryPage,
    ExitPage,
    /// A visit attribute taken from the visit's first event: the column name.
    Visit(&'static str),
    Time(TimeGrain),
}

/// `visit:*` dimensions that are a stored column of the visit's first event.
const VISIT_COLUMNS: [(&str, &str); 15] = [
    ("visit:source", "source"),
    ("visit:referrer", "referrer"),
    ("visit:utm_medium", "utm_medium"),
    ("visit:utm_source", "utm_source"),
    ("visit:utm_campaign", "utm_campaign"),
    ("visit:utm_content", "utm_content"),
    ("visit:utm_term", "utm_term"),
    ("visit:device", "device"),
    ("visit:browser", "browser"),
    ("visit:browser_version", "browser_version"),
    ("visit:os", "os"),
    ("visit:os_version", "os_version"),
    ("visit:country", "country"),
    ("visit:region", "region"),
    ("visit:city", "city"),
];

impl Dimension {
    pub fn parse(s: &str) -> Option<Self> {
        let d = match s {
            "event:page" => Self::Page,
            "event:name" => Self::Name,
            "event:hostname" => Self::Hostname,
            "visit:entry_page" => Self::EntryPage,
            "visit:exit_page" => Self::ExitPage,
            "time" => Self::Time(TimeGrain::Auto),
            "time:hour" => Self::Time(TimeGrain::Hour),
            "time:day" => Self::Time(TimeGrain::Day),
            "time:week" => Self::Time(TimeGrain::Week),
            "time:month" => Self::Time(TimeGrain::Month),
            _ => {
                if let Some(key) = s.strip_prefix("event:props:") {
                    return (!key.is_empty() && key.len() <= 300).then(|| Self::Prop(key.into()));
                }
                let (_, column) = VISIT_COLUMNS.iter().find(|(name, _)| *name == s)?;
                Self::Visit(column)
            }
        };
        Some(d)
    }

    /// The name as the API spells it.
    pub fn name(&self) -> String {
        match self {
            Self::Page => "event:page".into(),
            Self::Name => "event:name".into(),
            Self::Hostname => "event:hostname".into(),
            Self::Prop(key) => format!("event:props:{key}"),
            Self::EntryPage => "visit:entry_page".into(),
            Self::ExitPage => "visit:exit_page".into(),
            Self::Visit(column) => format!("visit:{column}"),
            Self::Time(TimeGrain::Auto) => "time".into(),
            Self::Time(TimeGrain::Hour) => "time:hour".into(),
            Self::Time(TimeGrain::Day) => "time:day".into(),
            Self::Time(TimeGrain::Week) => "time:week".into(),
            Self::Time(TimeGrain::Month) => "time:month".into(),
        }
    }

    /// Dimensions whose value comes from the visit, not the event.
    pub fn needs_visits(&self) -> bool {
        matches!(self, Self::EntryPage | Self::ExitPage | Self::Visit(_))
    }

    pub fn is_time(&self) -> bool {
        matches!(self, Self::Time(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Is,
    IsNot,
    Contains,
    ContainsNot,
    Matches,
    MatchesNot,
}

impl Op {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "is" => Self::Is,
            "is_not" => Self::IsNot,
            "contains" => Self::Contains,
            "contains_not" => Self::ContainsNot,
            "matches" => Self::Matches,
            "matches_not" => Self::MatchesNot,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Is => "is",
            Self::IsNot => "is_not",
            Self::Contains => "contains",
            Self::ContainsNot => "contains_not",
            Self::Matches => "matches",
            Self::MatchesNot => "matches_not",
        }
    }

    /// The negated operators: true when none of the values matches.
    pub fn negated(self) -> bool {
        matches!(self, Self::IsNot | Self::ContainsNot | Self::MatchesNot)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        op: Op,
        dimension: Dimension,
        values: Vec<String>,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    /// Whether any condition in the tree reads a visit attribute.
    pub fn needs_visits(&self) -> bool {
        match self {
            Self::Compare { dimension, .. } => dimension.needs_visits(),
            Self::And(fs) | Self::Or(fs) => fs.iter().any(Self::needs_visits),
            Self::Not(f) => f.needs_visits(),
        }
    }
}

/// `date_range` as sent; resolved against the site's time zone later.
#[derive(Debug, Clone, PartialEq)]
pub enum DateRange {
    /// `day`, `7d`, `28d`, `30d`, `month`, `6mo`, `12mo`, `year`, `all`.
    Named(String),
    Dates(chrono::NaiveDate, chrono::NaiveDate),
    DateTimes(
        chrono::DateTime<chrono::FixedOffset>,
        chrono::DateTime<chrono::FixedOffset>,
    ),
}

/// The names `date_range` may take.
pub const NAMED_RANGES: [&str; 9] = [
    "day", "7d", "28d", "30d", "month", "6mo", "12mo", "year", "all",
];

#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Metric(Metric),
    Dimension(Dimension),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub site_id: String,
    pub metrics: Vec<Metric>,
    pub dimensions: Vec<Dimension>,
    pub filter: Option<Filter>,
    pub date_range: DateRange,
    pub order_by: Vec<(SortKey, Direction)>,
    pub limit: u64,
    pub offset: u64,
    pub total_rows: bool,
    pub time_labels: bool,
}

impl Query {
    /// Whether events must be grouped into visits to answer this query.
    pub fn needs_visits(&self) -> bool {
        self.metrics.iter().any(|m| m.needs_visits())
            || self.dimensions.iter().any(Dimension::needs_visits)
            || self.filter.as_ref().is_some_and(Filter::needs_visits)
    }
}
