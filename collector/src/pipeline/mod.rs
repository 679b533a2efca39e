//! The per-event pipeline, without I/O: from a parsed beacon and its request
//! headers to the rows to store, or the reason to drop it.
//!
//! Order matters for privacy: consent is checked before anything about the
//! visitor is looked at; the client address is truncated before enrichment
//! and hashing, and neither it nor the user agent goes into a row.
//!
//! Each row carries two ids: `visitor_id` under the salt of the event's UTC
//! day and, for events in the first 30 minutes after midnight,
//! `prev_visitor_id` under the previous day's salt (0 otherwise). Ids change
//! with the salt at midnight; the query service merges a visitor's id of
//! day D with the `prev_visitor_id` recorded on day D so that a visit
//! crossing midnight stays one visit.
//!
//! The same pipeline serves `POST /api/import` ([`crate::http::import`]): each
//! line becomes a [`Request`] with no headers (the import request's own
//! DNT, GPC and cookies are not the visitor's) and the line's address as
//! the client address, and its rows skip the rate limits.

pub mod consent;
pub mod engagement;
pub mod generations;
pub mod outcome;
pub mod rate_limit;
pub mod site_rules;

use crate::beacon::{Beacon, EventKind};
use crate::enrich::bots;
use crate::enrich::geo::Location;
use crate::enrich::source::{click_id, Attribution};
use crate::enrich::ua::Classified;
use crate::enrich::Enricher;
use crate::privacy::salt::DayHasher;
use crate::privacy::{ClientAddress, TruncatedIp};
use compact_str::CompactString;
use engagement::PageViews;
use http::HeaderMap;
use outcome::DropReason;
use rate_limit::RateLimits;
use schema::config::SiteConfig;
use schema::{Config, EventRow, NO_SCROLL_DEPTH};
use site_rules::SiteRules;
use std::collections::HashMap;
use std::sync::Arc;

/// One request, as the pipeline sees it. The beacon is moved into the row.
/// No `Debug`: it holds the address, the user agent and the cookies.
pub struct Request<'a> {
    pub beacon: Beacon,
    /// The beacon request's headers; empty for an imported line.
    pub headers: &'a HeaderMap,
    /// Where the request came from (behind trusted proxies, the client
    /// they name); an imported line's own `ip`. Only its truncation is
    /// ever read.
    pub client: ClientAddress,
    pub user_agent: &'a str,
    /// Seconds since the Unix epoch: the event's timestamp (the collector's
    /// clock for a beacon, the line's `timestamp` for an import).
    pub now: u64,
}

pub struct Pipeline {
    config: Arc<Config>,
    /// Each configured site's position in `config.site` and its rules, by
    /// domain: one lookup per beacon domain, however many sites there are.
    sites: HashMap<String, (usize, SiteRules), foldhash::fast::RandomState>,
    enricher: Enricher,
    limits: Arc<RateLimits>,
    page_views: Arc<PageViews>,
}

/// A beacon that passed every check that needs no salt.
pub struct Accepted<'p> {
    sites: Sites<'p>,
    shared: Shared,
}

/// What every row of one beacon shares, worked out once.
struct Shared {
    ua: Arc<Classified>,
    location: Location,
    source: CompactString,
    medium: CompactString,
    truncated_ip: TruncatedIp,
}

impl Pipeline {
    pub fn new(config: Arc<Config>, enricher: Enricher) -> Result<Self, globset::Error> {
        let sites = config
            .site
            .iter()
            .enumerate()
            .map(|(index, site)| Ok((site.domain.clone(), (index, SiteRules::new(site)?))))
            .collect::<Result<_, globset::Error>>()?;
        Ok(Self {
            limits: Arc::new(RateLimits::new(&config.collector, &config.site)),
            page_views: Arc::new(PageViews::default()),
            config,
            sites,
            enricher,
        })
    }

    pub fn enricher(&self) -> &Enricher {
        &self.enricher
    }

    pub fn rate_limits(&self) -> &Arc<RateLimits> {
        &self.limits
    }

    /// Recent page views, which engagement beacons are checked against.
    pub fn page_views(&self) -> &Arc<PageViews> {
        &self.page_views
    }

    /// The rows to store, one per accepting site, or why none is stored.
    pub fn process(&self, req: Request, hasher: &DayHasher) -> Result<Vec<EventRow>, DropReason> {
        let accepted = self.check(&req)?;
        self.rows(req, accepted, hasher)
    }

    /// Everything that needs no salt: consent, site rules, bots, spam,
    /// datacenters, then enrichment. Callers ask for the day's salt only
    /// for beacons that pass, so refused ones never wait on a rotation.
    pub fn check(&self, req: &Request) -> Result<Accepted<'_>, DropReason> {
        if consent::opted_out(req.headers, &self.config.collector.optout_cookie) {
            return Err(DropReason::OptOut);
        }
        let sites = self.accepting_sites(req)?;
        let shared = self.shared(req)?;
        Ok(Accepted { sites, shared })
    }

    /// Visitor ids, rate limits and the rows, for a beacon `check` accepted.
    pub fn rows(
        &self,
        req: Request,
        accepted: Accepted,
        hasher: &DayHasher,
    ) -> Result<Vec<EventRow>, DropReason> {
        self.rows_limited(req, accepted, hasher, |site, id| {
            self.limits.allow(site, id)
        })
    }

    /// The rows of an imported line, which `check` accepted: like [`rows`](Self::rows)
    /// but without the per-visitor and per-site rate limits, which guard the
    /// public beacon endpoint against floods, not an admin's bulk import
    /// (and would drop a backfill's many events per visitor).
    pub fn imported_rows(
        &self,
        req: Request,
        accepted: Accepted,
        hasher: &DayHasher,
    ) -> Vec<EventRow> {
        self.rows_limited(req, accepted, hasher, |_, _| true)
            .expect("nothing is rate-limited")
    }

    /// Each accepting site's visitor ids (today's and, just after midnight,
    /// the previous day's: see [`DayHasher::previous_day_id`]), kept when
    /// `allow` lets the event through.
    fn rows_limited(
        &self,
        req: Request,
        accepted: Accepted,
        hasher: &DayHasher,
        allow: impl Fn(&str, u64) -> bool,
    ) -> Result<Vec<EventRow>, DropReason> {
        let Accepted { sites, shared } = accepted;
        let (ip, ua) = (shared.truncated_ip, req.user_agent);
        let now = req.now;
        // One site (the usual beacon) needs no list of ids.
        if let Sites::One(site) = &sites {
            let ids = site_ids(site, hasher, ip, ua, now);
            if !allow(ids.site, ids.visitor_id) {
                return Err(DropReason::RateLimited);
            }
            let row = event_row(req.beacon, req.now, shared);
            return Ok(one_per_site(row, std::slice::from_ref(&ids)));
        }
        let ids: Vec<SiteIds> = sites
            .as_slice()
            .iter()
            .map(|site| site_ids(site, hasher, ip, ua, now))
            .filter(|ids| allow(ids.site, ids.visitor_id))
            .collect();
        if ids.is_empty() {
            return Err(DropReason::RateLimited);
        }
        let row = event_row(req.beacon, req.now, shared);
        Ok(one_per_site(row, &ids))
    }

    /// The configured sites among the beacon's domains that accept it, or
    /// the first refusal when none does. Two names of one site
    /// (`www.example.com,example.com`) store one row.
    fn accepting_sites(&self, req: &Request) -> Result<Sites<'_>, DropReason> {
        let mut first_refusal = None;
        let mut sites = Sites::None;
        for domain in &req.beacon.domains {
            match self.site_refusal(domain, req) {
                Ok(site) if sites.contains(site) => {}
                Ok(site) => sites.push(site),
                Err(reason) => first_refusal = first_refusal.or(Some(reason)),
            }
        }
        match sites {
            Sites::None => Err(first_refusal.unwrap_or(DropReason::UnknownSite)),
            sites => Ok(sites),
        }
    }

    /// The site a beacon domain names: the configured domain itself, else
    /// the one without `www.` (`www.example.com` counts for `example.com`,
    /// as Plausible strips `www.` from every domain).
    fn site_named(&self, domain: &str) -> Option<&(usize, SiteRules)> {
        self.sites.get(domain).or_else(|| {
            let bare = domain
                .strip_prefix("www.")
                .filter(|bare| !bare.is_empty())?;
            self.sites.get(bare)
        })
    }

    fn site_refusal(&self, domain: &str, req: &Request) -> Result<&SiteConfig, DropReason> {
        let (index, rules) = self.site_named(domain).ok_or(DropReason::UnknownSite)?;
        let site = &self.config.site[*index];
        if let Some(reason) = consent::site_refuses(site, req.headers) {
            return Err(reason);
        }
        let page = &req.beacon.page;
        if !rules.accepts_hostname(&page.hostname) {
            return Err(DropReason::Hostname);
        }
        if rules.excludes_path(&page.pathname) {
            return Err(DropReason::Excluded);
        }
        Ok(site)
    }

    /// Bot, spam and datacenter checks, then enrichment, all on the
    /// truncated address.
    fn shared(&self, req: &Request) -> Result<Shared, DropReason> {
        let e = &self.enricher;
        if bots::is_prefetch(req.headers) {
            return Err(DropReason::Bot);
        }
        let classified = e.user_agents().classify(req.user_agent);
        if classified.bot {
            return Err(DropReason::Bot);
        }
        let referrer_host = req.beacon.referrer.as_ref().map_or("", |r| r.host.as_str());
        if !referrer_host.is_empty() && e.spam().is_spam(referrer_host) {
            return Err(DropReason::Spam);
        }
        let truncated_ip = req.client.truncate();
        if e.is_datacenter(truncated_ip) {
            return Err(DropReason::Datacenter);
        }
        let (source, medium) = self.attribution(&req.beacon, referrer_host);
        Ok(Shared {
            ua: classified,
            location: e.geo().lookup(truncated_ip),
            source,
            medium,
            truncated_ip,
        })
    }

    /// Source and medium: tags first, then the click id, then the referrer.
    fn attribution(&self, beacon: &Beacon, referrer_host: &str) -> (CompactString, CompactString) {
        let page = &beacon.page;
        let attribution = Attribution {
            utm_source: &page.utm.source,
            source_param: &page.tags.source,
            ref_param: &page.tags.ref_param,
            referrer_host,
            page_host: &page.hostname,
            click_id: click_id(&page.tags.click_id_param),
        };
        let sources = self.enricher.sources();
        let source = sources.classify(&attribution);
        let medium = if page.utm.medium.is_empty() {
            sources.infer_medium(&attribution, &source).into()
        } else {
            page.utm.medium.clone()
        };
        (source, medium)
    }
}

/// Plausible's screen classes, from the `w` field (CSS pixels).
pub fn screen_size(width: Option<u16>) -> &'static str {
    match width {
        None | Some(0) => "",
        Some(w) if w < 576 => "Mobile",
        Some(w) if w < 992 => "Tablet",
        Some(w) if w < 1440 => "Laptop",
        Some(_) => "Desktop",
    }
}

/// A visitor's ids on one site: today's, and the previous day's just after
/// midnight.
fn site_ids<'s>(
    site: &'s SiteConfig,
    hasher: &DayHasher,
    ip: TruncatedIp,
    user_agent: &str,
    now: u64,
) -> SiteIds<'s> {
    SiteIds {
        site: &site.domain,
        visitor_id: hasher.visitor_id(&site.domain, ip, user_agent),
        prev_visitor_id: hasher.previous_day_id(&site.domain, ip, user_agent, now),
    }
}

/// The accepting sites of a beacon, without a list for the usual one.
enum Sites<'p> {
    None,
    One(&'p SiteConfig),
    Many(Vec<&'p SiteConfig>),
}

impl<'p> Sites<'p> {
    fn push(&mut self, site: &'p SiteConfig) {
        *self = match std::mem::replace(self, Sites::None) {
            Sites::None => Sites::One(site),
            Sites::One(first) => Sites::Many(vec![first, site]),
            Sites::Many(mut sites) => {
                sites.push(site);
                Sites::Many(sites)
            }
        };
    }

    fn contains(&self, site: &SiteConfig) -> bool {
        self.as_slice().iter().any(|&s| std::ptr::eq(s, site))
    }

    fn as_slice(&self) -> &[&'p SiteConfig] {
        match self {
            Sites::None => &[],
            Sites::One(site) => std::slice::from_ref(site),
            Sites::Many(sites) => sites,
        }
    }
}

/// One accepting site of an event and its visitor's ids there.
struct SiteIds<'a> {
    site: &'a str,
    visitor_id: u64,
    prev_visitor_id: u64,
}

/// The same row for each site, with its own visitor ids. The common case of
/// one site moves the row instead of copying it, and each row is set in
/// place, so the (large) row is not moved again.
fn one_per_site(template: EventRow, sites: &[SiteIds]) -> Vec<EventRow> {
    if sites.is_empty() {
        return Vec::new();
    }
    let mut rows = Vec::with_capacity(sites.len());
    for _ in 1..sites.len() {
        rows.push(template.clone());
    }
    rows.push(template);
    for (row, ids) in rows.iter_mut().zip(sites) {
        row.site = ids.site.into();
        row.visitor_id = ids.visitor_id;
        row.prev_visitor_id = ids.prev_visitor_id;
    }
    rows
}

/// An engagement's `sd`, or [`NO_SCROLL_DEPTH`] when it reported none; 0 on
/// other events (they never carry one: see [`crate::beacon`]).
fn stored_scroll_depth(beacon: &Beacon) -> u8 {
    match beacon.kind {
        EventKind::Engagement => beacon.scroll_depth.unwrap_or(NO_SCROLL_DEPTH),
        _ => 0,
    }
}

/// The stored row: page path without query, `utm_*` in their own columns,
/// the referrer as host and path (empty for a self-referral).
/// The row without its site and visitor ids, moving what the beacon and the
/// shared enrichment already hold.
fn event_row(beacon: Beacon, now: u64, shared: Shared) -> EventRow {
    let scroll_depth = stored_scroll_depth(&beacon);
    let page = beacon.page;
    let referrer = beacon
        .referrer
        .filter(|r| r.host != page.hostname)
        .map(|r| r.host + r.path.trim_end_matches('/'))
        .unwrap_or_default();
    let (props_keys, props_values) = beacon.props.into_iter().unzip();
    let (revenue_amount, revenue_currency) = beacon
        .revenue
        .map(|r| (r.amount, r.currency))
        .unwrap_or_default();
    let ua = &shared.ua.info;
    let location = shared.location;
    EventRow {
        timestamp: u32::try_from(now).unwrap_or(u32::MAX),
        site: CompactString::default(),
        name: beacon.name,
        hostname: page.hostname,
        pathname: page.pathname,
        visitor_id: 0,
        referrer,
        utm_source: page.utm.source,
        utm_medium: page.utm.medium,
        utm_campaign: page.utm.campaign,
        utm_content: page.utm.content,
        utm_term: page.utm.term,
        props_keys,
        props_values,
        interactive: u8::from(beacon.interactive),
        screen_width: beacon.screen_width.unwrap_or(0),
        scroll_depth,
        engagement_ms: beacon.engagement_ms.unwrap_or(0),
        revenue_amount,
        revenue_currency,
        browser: ua.browser.clone(),
        browser_version: ua.browser_version.clone(),
        os: ua.os.clone(),
        os_version: ua.os_version.clone(),
        device: ua.device.as_str().into(),
        screen_size: screen_size(beacon.screen_width).into(),
        source: shared.source,
        medium: shared.medium,
        click_id_param: page.tags.click_id_param,
        country: location.country,
        region: location.region,
        city: location.city,
        batch_id: 0,
        prev_visitor_id: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::ClientAddress;

    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";

    /// The rows of `body` on a pipeline with these sites.
    fn rows(sites: &[&str], body: &str) -> Result<Vec<EventRow>, DropReason> {
        let config = Config {
            site: sites.iter().map(|domain| SiteConfig::new(domain)).collect(),
            ..Config::default()
        };
        let enricher = Enricher::from_config(&config.collector).unwrap();
        let pipeline = Pipeline::new(Arc::new(config), enricher).unwrap();
        let headers = HeaderMap::new();
        let request = Request {
            beacon: crate::beacon::parse(body.as_bytes()).unwrap(),
            headers: &headers,
            client: ClientAddress::given("203.0.113.9".parse().unwrap()),
            user_agent: UA,
            now: 20_000 * 86_400 + 3_600,
        };
        pipeline.process(request, &DayHasher::fixed(20_000, [7; 32]))
    }

    fn sites_of(rows: &[EventRow]) -> Vec<&str> {
        rows.iter().map(|row| row.site.as_str()).collect()
    }

    #[test]
    fn a_www_domain_counts_for_its_bare_site() {
        let body = r#"{"n":"pageview","u":"https://www.example.com/","d":"www.example.com"}"#;
        assert_eq!(
            sites_of(&rows(&["example.com"], body).unwrap()),
            ["example.com"]
        );
        // A site configured with `www.` is still matched as it is.
        assert_eq!(
            sites_of(&rows(&["www.example.com"], body).unwrap()),
            ["www.example.com"]
        );
    }

    #[test]
    fn two_names_of_one_site_store_one_row() {
        let body = r#"{"n":"pageview","u":"https://example.com/","d":"www.example.com,example.com,other.org"}"#;
        let got = rows(&["example.com", "other.org"], body).unwrap();
        assert_eq!(sites_of(&got), ["example.com", "other.org"]);
    }

    #[test]
    fn without_a_domain_the_pages_host_names_the_site() {
        let body = r#"{"n":"pageview","u":"https://www.example.com/pricing"}"#;
        assert_eq!(
            sites_of(&rows(&["example.com"], body).unwrap()),
            ["example.com"]
        );
    }

    #[test]
    fn screen_classes() {
        assert_eq!(screen_size(None), "");
        assert_eq!(screen_size(Some(375)), "Mobile");
        assert_eq!(screen_size(Some(575)), "Mobile");
        assert_eq!(screen_size(Some(576)), "Tablet");
        assert_eq!(screen_size(Some(1024)), "Laptop");
        assert_eq!(screen_size(Some(1440)), "Desktop");
    }
}
