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
/// Most values one filter may list.
pub const MAX_FILTER_VALUES: usize = 100;
/// Most conditions (`[op, dimension, values]`) a query's filters may hold,
/// nested ones included.
pub const MAX_FILTER_CONDITIONS: usize = 30;
/// Most bytes all filter values together may hold: each value may appear
/// twice in a report's SQL, escaped, and it must stay well under
/// ClickHouse's `max_query_size` (256 KiB by default).
pub const MAX_FILTER_VALUE_BYTES: usize = 16 * 1024;

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
    TimeOnPage,
    ScrollDepth,
    ExitRate,
    /// Share of visitors who converted, against the visitors of the same
    /// filters without the goal ones (see [`crate::api::goals`]).
    ConversionRate,
    /// The same per dimension group.
    GroupConversionRate,
    /// Revenue of revenue goals, in the goal's currency.
    TotalRevenue,
    AverageRevenue,
}

impl Metric {
    const ALL: [Metric; 15] = [
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::ViewsPerVisit,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::Events,
        Metric::Percentage,
        Metric::TimeOnPage,
        Metric::ScrollDepth,
        Metric::ExitRate,
        Metric::ConversionRate,
        Metric::GroupConversionRate,
        Metric::TotalRevenue,
        Metric::AverageRevenue,
    ];

    /// Every metric's name, for messages.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|m| m.name()).collect()
    }

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
            Metric::TimeOnPage => "time_on_page",
            Metric::ScrollDepth => "scroll_depth",
            Metric::ExitRate => "exit_rate",
            Metric::ConversionRate => "conversion_rate",
            Metric::GroupConversionRate => "group_conversion_rate",
            Metric::TotalRevenue => "total_revenue",
            Metric::AverageRevenue => "average_revenue",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Metrics read from engagement events and the visits they join,
    /// counted apart from the others (see [`crate::sql::engagement`]).
    pub fn is_engagement(self) -> bool {
        matches!(
            self,
            Metric::TimeOnPage | Metric::ScrollDepth | Metric::ExitRate
        )
    }

    /// Metrics that need events grouped into visits (engagement metrics
    /// build their visits apart: see [`Self::is_engagement`]).
    pub fn needs_visits(self) -> bool {
        matches!(
            self,
            Metric::Visits | Metric::ViewsPerVisit | Metric::BounceRate | Metric::VisitDuration
        )
    }

    /// Which of Plausible's two tables the metric is counted from; it
    /// refuses queries mixing one table's metrics with the other's
    /// dimensions (see [`super::rules`]).
    pub fn table(self) -> Table {
        match self {
            Metric::Pageviews | Metric::Events | Metric::TotalRevenue | Metric::AverageRevenue => {
                Table::Events
            }
            Metric::TimeOnPage | Metric::ScrollDepth | Metric::ExitRate => Table::Either,
            Metric::BounceRate | Metric::VisitDuration | Metric::ViewsPerVisit => Table::Sessions,
            Metric::Visitors
            | Metric::Visits
            | Metric::Percentage
            | Metric::ConversionRate
            | Metric::GroupConversionRate => Table::Either,
        }
    }
}

/// Plausible keeps events and sessions in two tables, and a metric or a
/// dimension belongs to one of them or is in both. Its rules on which
/// metrics go with which dimensions follow from that, and we keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Events,
    Sessions,
    Either,
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
    /// `event:goal`: the site's goals an event completes (see
    /// [`crate::api::goals`]).
    Goal,
    EntryPage,
    ExitPage,
    /// A visit attribute taken from the visit's first event: the column name.
    Visit(&'static str),
    Time(TimeGrain),
}

/// Every dimension with a fixed name, as the API spells it: the one list
/// of dimensions. Parsing and naming ([`Dimension::parse`],
/// [`Dimension::name`]), the visit columns the relation carries
/// ([`Dimension::visit_columns`]), the set the rollup view totals
/// ([`crate::sql::rollups`]) and the tests' catalogues all derive from it.
/// Custom properties (`event:props:<key>`, [`PROP_PREFIX`]) are the one
/// family outside it. A new dimension is a row here plus a migration that
/// adds it to the rollup view (a unit test there checks that it does).
pub static DIMENSIONS: &[(&str, Dimension)] = &[
    ("event:page", Dimension::Page),
    ("event:name", Dimension::Name),
    ("event:hostname", Dimension::Hostname),
    ("visit:entry_page", Dimension::EntryPage),
    ("visit:exit_page", Dimension::ExitPage),
    ("visit:source", Dimension::Visit("source")),
    ("visit:referrer", Dimension::Visit("referrer")),
    ("visit:utm_medium", Dimension::Visit("utm_medium")),
    ("visit:utm_source", Dimension::Visit("utm_source")),
    ("visit:utm_campaign", Dimension::Visit("utm_campaign")),
    ("visit:utm_content", Dimension::Visit("utm_content")),
    ("visit:utm_term", Dimension::Visit("utm_term")),
    ("visit:device", Dimension::Visit("device")),
    ("visit:browser", Dimension::Visit("browser")),
    ("visit:browser_version", Dimension::Visit("browser_version")),
    ("visit:os", Dimension::Visit("os")),
    ("visit:os_version", Dimension::Visit("os_version")),
    ("visit:country", Dimension::Visit("country")),
    ("visit:region", Dimension::Visit("region")),
    ("visit:city", Dimension::Visit("city")),
    ("time", Dimension::Time(TimeGrain::Auto)),
    ("time:hour", Dimension::Time(TimeGrain::Hour)),
    ("time:day", Dimension::Time(TimeGrain::Day)),
    ("time:week", Dimension::Time(TimeGrain::Week)),
    ("time:month", Dimension::Time(TimeGrain::Month)),
];

/// The goal dimension's name, outside [`DIMENSIONS`] since no rollup
/// totals it: goals are matched when a report reads events.
pub const GOAL: &str = "event:goal";

/// What custom property dimensions start with: `event:props:<key>`.
pub const PROP_PREFIX: &str = "event:props:";
/// Longest custom property key a dimension may name.
const MAX_PROP_KEY_LEN: usize = 300;

impl Dimension {
    pub fn parse(s: &str) -> Option<Self> {
        if s == GOAL {
            return Some(Self::Goal);
        }
        if let Some(key) = s.strip_prefix(PROP_PREFIX) {
            return (!key.is_empty() && key.len() <= MAX_PROP_KEY_LEN)
                .then(|| Self::Prop(key.into()));
        }
        DIMENSIONS
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, d)| d.clone())
    }

    /// The name as the API spells it.
    pub fn name(&self) -> String {
        if let Self::Prop(key) = self {
            return format!("{PROP_PREFIX}{key}");
        }
        if *self == Self::Goal {
            return GOAL.into();
        }
        let (name, _) = DIMENSIONS
            .iter()
            .find(|(_, d)| d == self)
            .expect("every dimension but a property is in DIMENSIONS");
        (*name).into()
    }

    /// The columns of a visit's first event that `visit:*` dimensions read
    /// (each exposed as `v_<column>`), in [`DIMENSIONS`] order.
    pub fn visit_columns() -> impl Iterator<Item = &'static str> {
        DIMENSIONS.iter().filter_map(|(_, d)| match d {
            Self::Visit(column) => Some(*column),
            _ => None,
        })
    }

    /// Dimensions whose value comes from the visit, not the event.
    pub fn needs_visits(&self) -> bool {
        matches!(self, Self::EntryPage | Self::ExitPage | Self::Visit(_))
    }

    pub fn is_time(&self) -> bool {
        matches!(self, Self::Time(_))
    }

    /// Which of Plausible's tables the dimension lives in ([`Table`]):
    /// `event:*` only in events, entry and exit pages only in sessions.
    pub fn table(&self) -> Table {
        match self {
            Self::Page | Self::Name | Self::Hostname | Self::Prop(_) | Self::Goal => Table::Events,
            Self::EntryPage | Self::ExitPage => Table::Sessions,
            Self::Visit(_) | Self::Time(_) => Table::Either,
        }
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
    /// Every comparison operator.
    pub const ALL: [Op; 6] = [
        Op::Is,
        Op::IsNot,
        Op::Contains,
        Op::ContainsNot,
        Op::Matches,
        Op::MatchesNot,
    ];

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == s)
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
        /// False with Plausible's `{"case_sensitive": false}` modifier.
        case_sensitive: bool,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    /// `[op, dimension, values]` as sent, case-sensitive.
    pub fn compare(op: Op, dimension: Dimension, values: Vec<String>) -> Self {
        Self::Compare {
            op,
            dimension,
            values,
            case_sensitive: true,
        }
    }

    /// The conditions in the tree and the bytes of all their values.
    pub fn size(&self) -> (usize, usize) {
        match self {
            Self::Compare { values, .. } => (1, values.iter().map(String::len).sum()),
            Self::And(fs) | Self::Or(fs) => fs
                .iter()
                .map(Self::size)
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
            Self::Not(f) => f.size(),
        }
    }

    /// Whether any condition in the tree reads a visit attribute.
    pub fn needs_visits(&self) -> bool {
        self.dimensions().iter().any(|d| d.needs_visits())
    }

    /// Every dimension the tree compares, at any depth.
    pub fn dimensions(&self) -> Vec<&Dimension> {
        let mut out = Vec::new();
        self.collect_dimensions(&mut out);
        out
    }

    fn collect_dimensions<'f>(&'f self, out: &mut Vec<&'f Dimension>) {
        match self {
            Self::Compare { dimension, .. } => out.push(dimension),
            Self::And(fs) | Self::Or(fs) => fs.iter().for_each(|f| f.collect_dimensions(out)),
            Self::Not(f) => f.collect_dimensions(out),
        }
    }
}

/// `date_range` as sent; resolved against the site's time zone later.
#[derive(Debug, Clone, PartialEq)]
pub enum DateRange {
    /// A name [`Shorthand::parse`] accepts, as sent.
    Named(String),
    Dates(chrono::NaiveDate, chrono::NaiveDate),
    DateTimes(
        chrono::DateTime<chrono::FixedOffset>,
        chrono::DateTime<chrono::FixedOffset>,
    ),
}

/// A named `date_range`: Plausible's shorthands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shorthand {
    /// `day`: today.
    Day,
    /// `24h`: the 24 hours up to now.
    Hours24,
    /// `7d`, `28d`, `30d`, `91d`, ...: that many days up to today.
    Days(u32),
    /// `month`: the current calendar month.
    Month,
    /// `6mo`, `12mo`, ...: that many calendar months, this one included.
    Months(u32),
    /// `year`: the current calendar year.
    Year,
    /// `all`: from the day of the site's first event.
    All,
}

/// The most days and months a shorthand may name, as in Plausible.
const MAX_SHORTHAND_DAYS: u32 = 5_000;
const MAX_SHORTHAND_MONTHS: u32 = 100;

impl Shorthand {
    pub fn parse(s: &str) -> Option<Self> {
        let count = |n: &str, max: u32| n.parse::<u32>().ok().filter(|n| (1..=max).contains(n));
        Some(match s {
            "day" => Self::Day,
            "24h" => Self::Hours24,
            "month" => Self::Month,
            "year" => Self::Year,
            "all" => Self::All,
            _ => {
                if let Some(n) = s.strip_suffix("mo") {
                    Self::Months(count(n, MAX_SHORTHAND_MONTHS)?)
                } else {
                    Self::Days(count(s.strip_suffix('d')?, MAX_SHORTHAND_DAYS)?)
                }
            }
        })
    }
}

/// `include.comparisons`: what to compare each row with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    pub mode: CompareMode,
    /// Shift the compared range to start on the same weekday.
    pub match_day_of_week: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareMode {
    /// As many days right before the range.
    PreviousPeriod,
    /// The same days 365 days earlier.
    YearOverYear,
    /// These days, both included.
    Custom(chrono::NaiveDate, chrono::NaiveDate),
}

impl CompareMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::PreviousPeriod => "previous_period",
            Self::YearOverYear => "year_over_year",
            Self::Custom(..) => "custom",
        }
    }
}

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
    pub comparison: Option<Comparison>,
    /// The site's goals, which `event:goal` dimensions and filters read;
    /// set once the site is known (parsing leaves it empty).
    pub goals: Vec<schema::config::Goal>,
    /// `include.imports`: add imported history where it answers the query
    /// (see [`crate::sql::imported`]).
    pub imports: bool,
}

impl Query {
    /// Whether events must be grouped into visits to answer this query.
    pub fn needs_visits(&self) -> bool {
        self.metrics.iter().any(|m| m.needs_visits())
            || self.dimensions.iter().any(Dimension::needs_visits)
            || self.filter.as_ref().is_some_and(Filter::needs_visits)
    }

    /// Whether a revenue metric is asked for: those read the events'
    /// revenue columns, which only the events table holds.
    pub fn wants_revenue(&self) -> bool {
        self.metrics
            .iter()
            .any(|m| matches!(m, Metric::TotalRevenue | Metric::AverageRevenue))
    }

    /// The time dimension, if the query has one.
    pub fn time_grain(&self) -> Option<TimeGrain> {
        self.dimensions.iter().find_map(|d| match d {
            Dimension::Time(g) => Some(*g),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_parses_from_its_name_and_back() {
        for (name, d) in DIMENSIONS {
            assert_eq!(Dimension::parse(name).as_ref(), Some(d), "{name}");
            assert_eq!(d.name(), *name);
            if let Dimension::Visit(column) = d {
                assert_eq!(*name, format!("visit:{column}"));
            }
        }
        let mut names: Vec<&str> = DIMENSIONS.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DIMENSIONS.len(), "a name is listed twice");
        // The names whose meaning is not spelled out by the variant.
        assert_eq!(
            Dimension::parse("visit:entry_page"),
            Some(Dimension::EntryPage)
        );
        assert_eq!(
            Dimension::parse("visit:exit_page"),
            Some(Dimension::ExitPage)
        );
        assert_eq!(
            Dimension::parse("time"),
            Some(Dimension::Time(TimeGrain::Auto))
        );
        assert_eq!(
            Dimension::parse("time:week"),
            Some(Dimension::Time(TimeGrain::Week))
        );
    }

    #[test]
    fn properties_are_the_family_outside_the_table() {
        let plan = Dimension::parse("event:props:plan");
        assert_eq!(plan, Some(Dimension::Prop("plan".into())));
        assert_eq!(Dimension::Prop("plan".into()).name(), "event:props:plan");
        assert_eq!(Dimension::parse("event:props:"), None);
        assert_eq!(
            Dimension::parse(&format!("event:props:{}", "k".repeat(301))),
            None
        );
        assert_eq!(Dimension::parse("visit:shoe"), None);
    }

    #[test]
    fn shorthands_are_plausibles() {
        for (name, parsed) in [
            ("day", Some(Shorthand::Day)),
            ("24h", Some(Shorthand::Hours24)),
            ("7d", Some(Shorthand::Days(7))),
            ("91d", Some(Shorthand::Days(91))),
            ("5000d", Some(Shorthand::Days(5000))),
            ("12mo", Some(Shorthand::Months(12))),
            ("100mo", Some(Shorthand::Months(100))),
            ("all", Some(Shorthand::All)),
            ("0d", None),
            ("5001d", None),
            ("101mo", None),
            ("-1d", None),
            ("d", None),
            ("7", None),
            ("48h", None),
            ("realtime", None),
            ("30m", None),
        ] {
            assert_eq!(Shorthand::parse(name), parsed, "{name}");
        }
    }
}
