//! The traffic: a seeded generator of realistic beacons, drawn once into a
//! pool that the senders cycle through, so building requests costs the
//! client almost nothing while it measures.
//!
//! What a beacon looks like is decided here: several sites, Zipf-distributed
//! paths, real browser user agents with about 5% bots, referrers and UTM
//! tags, about 3% `DNT: 1` and 1% `Sec-GPC: 1`, many distinct visitors
//! (each a client address sent in `X-Forwarded-For` plus a user agent), and
//! occasional custom events with props. Every beacon names exactly one site,
//! so an accepted beacon is one stored row.

use bytes::Bytes;
use http::HeaderValue;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What the generator draws from; `Default` is the mix docs/benchmarks.md documents.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    pub seed: u64,
    /// Site domains, as configured in the collector's `[[site]]`.
    pub sites: Vec<String>,
    /// Distinct pages per site, visited with a Zipf distribution.
    pub paths: u64,
    /// Zipf exponent of page popularity.
    pub zipf_exponent: f64,
    /// Distinct visitors (address and browser) in the pool.
    pub visitors: usize,
    /// Share of requests from bots (crawlers, tools, headless browsers).
    pub bot_share: f64,
    /// Share of requests with `DNT: 1`.
    pub dnt_share: f64,
    /// Share of requests with `Sec-GPC: 1`.
    pub gpc_share: f64,
    /// Share of custom events (with props) among the beacons.
    pub custom_share: f64,
    /// Share of engagement events (scroll depth and time on page).
    pub engagement_share: f64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            sites: vec!["example.com".into()],
            paths: 2_000,
            zipf_exponent: 1.1,
            visitors: 20_000,
            bot_share: 0.05,
            dnt_share: 0.03,
            gpc_share: 0.01,
            custom_share: 0.03,
            engagement_share: 0.10,
        }
    }
}

/// One request to send, ready to go.
#[derive(Debug, Clone)]
pub struct Beacon {
    /// The JSON body, as Plausible's tracker sends it.
    pub body: Bytes,
    pub user_agent: HeaderValue,
    /// The client address, as a trusted proxy would forward it.
    pub forwarded_for: HeaderValue,
    pub dnt: bool,
    pub gpc: bool,
    /// Whether the user agent is a bot's (for tests of the proportions).
    pub bot: bool,
    /// Index into [`WorkloadConfig::sites`].
    pub site: usize,
}

/// Real browser user agents with rough market weights (desktop and mobile
/// Chrome, Safari, Firefox, Edge, Samsung Internet).
pub(crate) const BROWSERS: &[(&str, u32)] = &[
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 24),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 18),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 16),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", 8),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 8),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 7),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 5),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 2),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 2),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", 4),
    ("Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 3),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", 1),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", 2),
];

/// Crawlers, monitors, HTTP libraries and headless browsers, each of which
/// the collector must drop as `bot`.
const BOTS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
];

/// Outside referrers with weights; the rest of the traffic is direct or an
/// internal navigation (a self-referral).
pub(crate) const REFERRERS: &[(&str, u32)] = &[
    ("https://www.google.com/", 30),
    ("https://www.google.co.uk/search?q=privacy+analytics", 5),
    ("https://www.bing.com/search?q=analytics", 4),
    ("https://duckduckgo.com/", 4),
    ("https://news.ycombinator.com/item?id=42424242", 3),
    ("https://www.reddit.com/r/selfhosted/comments/abc/", 3),
    ("https://t.co/xyz123", 2),
    ("https://www.facebook.com/", 2),
    ("https://www.linkedin.com/feed/", 2),
    ("https://chatgpt.com/", 2),
    ("https://github.com/some/project", 2),
    ("https://blog.example.net/2024/11/notes", 1),
];

pub(crate) const CAMPAIGNS: &[(&str, &str, &str)] = &[
    ("newsletter", "email", "november"),
    ("twitter", "social", "launch"),
    ("google", "cpc", "brand"),
    ("partner", "referral", "spring-sale"),
];

const SECTIONS: &[&str] = &["blog", "docs", "products", "guides", "news"];

const CUSTOM_EVENTS: &[(&str, &str)] = &[
    ("Signup", r#"{"plan":"pro","method":"email"}"#),
    ("Download", r#"{"file":"report.pdf"}"#),
    ("Outbound Link: Click", r#"{"url":"https://github.com/"}"#),
    ("Purchase", r#"{"plan":"team","seats":"5"}"#),
];

const SCREEN_WIDTHS: &[u16] = &[390, 414, 768, 1280, 1366, 1440, 1536, 1920, 2560];

/// One visitor: a client address and a browser (or a bot).
#[derive(Debug, Clone)]
struct Visitor {
    forwarded_for: HeaderValue,
    user_agent: &'static str,
    bot: bool,
}

/// Draws `n` beacons from `config`; the same seed gives the same beacons.
///
/// An engagement beacon is about a page view: the collector drops one whose
/// visitor has no page view of its page in the visit window. So each one
/// repeats the visitor, site and URL of a pageview drawn at least
/// [`ENGAGEMENT_GAP`] beacons earlier (sent well before it, whatever the
/// concurrency) and among the last [`ENGAGEABLE`] such pageviews (well
/// within the window, however slow the run), which the collector stores
/// (not a bot's, nor under DNT or GPC). Until there is one, a pageview is
/// drawn instead.
pub fn generate(config: &WorkloadConfig, n: usize) -> Vec<Beacon> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let visitors = visitors(config, &mut rng);
    let zipf = Zipf::new(config.paths.max(1) as f64, config.zipf_exponent).expect("valid Zipf");
    let sites = config.sites.len().max(1);
    let mut viewed = Viewed::default();
    (0..n)
        .map(|position| {
            let mut visitor = rng.random_range(0..visitors.len());
            let mut site = rng.random_range(0..sites);
            let dnt = rng.random_bool(config.dnt_share);
            let gpc = rng.random_bool(config.gpc_share);
            let domain = |site: usize| config.sites.get(site).map_or("example.com", String::as_str);
            let page = zipf.sample(&mut rng) as u64;
            let mut draw = Draw::new(&mut rng, config, domain(site), page);
            if draw.kind == Kind::Engagement {
                match viewed.pick(position, &mut rng) {
                    Some(view) => {
                        (visitor, site) = (view.visitor, view.site);
                        draw.url = view.url.clone();
                    }
                    None => draw.kind = Kind::Pageview,
                }
            }
            let who = &visitors[visitor];
            if draw.kind == Kind::Pageview && !(dnt || gpc || who.bot) {
                viewed.push(position, visitor, site, &draw.url);
            }
            Beacon {
                body: Bytes::from(draw.body(domain(site))),
                user_agent: HeaderValue::from_static(who.user_agent),
                forwarded_for: who.forwarded_for.clone(),
                dnt,
                gpc,
                bot: who.bot,
                site,
            }
        })
        .collect()
}

/// How many beacons after its pageview an engagement comes at the soonest.
pub const ENGAGEMENT_GAP: usize = 512;

/// How many of the latest stored pageviews an engagement may be about.
pub const ENGAGEABLE: usize = 1024;

/// A pageview the collector will store, that an engagement can be about.
#[derive(Debug, Clone)]
struct View {
    position: usize,
    visitor: usize,
    site: usize,
    url: String,
}

/// The latest stored pageviews, oldest first.
#[derive(Debug, Default)]
struct Viewed(std::collections::VecDeque<View>);

impl Viewed {
    fn push(&mut self, position: usize, visitor: usize, site: usize, url: &str) {
        self.0.push_back(View {
            position,
            visitor,
            site,
            url: url.to_owned(),
        });
    }

    /// One of the latest [`ENGAGEABLE`] pageviews at least
    /// [`ENGAGEMENT_GAP`] before `position`, if there is one.
    fn pick(&mut self, position: usize, rng: &mut StdRng) -> Option<&View> {
        let ready = self
            .0
            .iter()
            .take_while(|v| v.position + ENGAGEMENT_GAP <= position)
            .count();
        let stale = ready.saturating_sub(ENGAGEABLE);
        self.0.drain(..stale);
        let ready = ready - stale;
        (ready > 0).then(|| &self.0[rng.random_range(0..ready)])
    }
}

/// The visitor pool: distinct /24 (IPv4) or /48 (IPv6) networks, so that
/// each stays a distinct visitor after the collector's truncation.
fn visitors(config: &WorkloadConfig, rng: &mut StdRng) -> Vec<Visitor> {
    let total: u32 = BROWSERS.iter().map(|(_, w)| w).sum();
    (0..config.visitors.max(1))
        .map(|i| {
            let bot = rng.random_bool(config.bot_share);
            let user_agent = if bot {
                BOTS[rng.random_range(0..BOTS.len())]
            } else {
                weighted(rng, BROWSERS, total)
            };
            let ip = visitor_address(i as u32, rng.random_bool(0.15));
            Visitor {
                forwarded_for: HeaderValue::from_str(&ip.to_string()).expect("an address"),
                user_agent,
                bot,
            }
        })
        .collect()
}

/// A public-looking address whose network is unique to visitor `i`: IPv4
/// networks step through 1.0.0.0 to 223.255.255.0 skipping private,
/// loopback and link-local ranges; IPv6 ones live under 2a00::/16.
fn visitor_address(i: u32, v6: bool) -> IpAddr {
    if v6 {
        let [a, b, c, d] = i.to_be_bytes();
        return IpAddr::V6(Ipv6Addr::new(
            0x2a00,
            u16::from_be_bytes([a, b]),
            u16::from_be_bytes([c, d]),
            0,
            0,
            0,
            0,
            0x1234,
        ));
    }
    // Spread visitors over the space: a fixed odd multiplier is a bijection.
    let mut n = i.wrapping_mul(2_654_435_761) & 0x00ff_ffff;
    loop {
        let [_, a, b, c] = n.to_be_bytes();
        let reserved = matches!(a, 0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203) || a >= 224;
        if !reserved {
            return IpAddr::V4(Ipv4Addr::new(a, b, c, 1 + (i % 250) as u8));
        }
        n = (n + 0x0001_0000 * 7) & 0x00ff_ffff;
    }
}

pub(crate) fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)], total: u32) -> T {
    let mut pick = rng.random_range(0..total);
    for (item, weight) in items {
        if pick < *weight {
            return *item;
        }
        pick -= weight;
    }
    items[items.len() - 1].0
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Pageview,
    Custom,
    Engagement,
}

/// What one beacon says, drawn before its body is written (an engagement
/// takes its URL from an earlier pageview).
struct Draw {
    kind: Kind,
    url: String,
    referrer: String,
    width: u16,
    /// A custom event's name and props.
    custom: (&'static str, &'static str),
    /// An engagement's scroll depth and engaged milliseconds.
    engagement: (u8, u32),
}

impl Draw {
    /// A beacon on page number `page` (1 is the home page).
    fn new(rng: &mut StdRng, config: &WorkloadConfig, domain: &str, page: u64) -> Self {
        let path = if page <= 1 {
            "/".to_owned()
        } else {
            let section = SECTIONS[(page % SECTIONS.len() as u64) as usize];
            format!("/{section}/page-{page}")
        };
        let mut url = format!("https://{domain}{path}");
        if rng.random_bool(0.10) {
            let (source, medium, campaign) = CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())];
            url.push_str(&format!(
                "?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
            ));
        } else if rng.random_bool(0.02) {
            url.push_str("?gclid=EAIaIQobChMI");
        }
        let referrer = match rng.random_range(0..100) {
            0..40 => None,
            40..65 => Some(format!("https://{domain}/")),
            _ => {
                let total: u32 = REFERRERS.iter().map(|(_, w)| w).sum();
                Some(weighted(rng, REFERRERS, total).to_owned())
            }
        };
        let width = SCREEN_WIDTHS[rng.random_range(0..SCREEN_WIDTHS.len())];
        let draw = rng.random::<f64>();
        let kind = if draw < config.custom_share {
            Kind::Custom
        } else if draw < config.custom_share + config.engagement_share {
            Kind::Engagement
        } else {
            Kind::Pageview
        };
        Self {
            kind,
            url,
            referrer: serde_json::to_string(&referrer).expect("a string or null"),
            width,
            custom: CUSTOM_EVENTS[rng.random_range(0..CUSTOM_EVENTS.len())],
            engagement: (rng.random_range(5..=100), rng.random_range(500..600_000)),
        }
    }

    /// The JSON body, as Plausible's tracker sends it.
    fn body(&self, domain: &str) -> String {
        let url = serde_json::to_string(&self.url).expect("a string");
        let (referrer, width) = (&self.referrer, self.width);
        match self.kind {
            Kind::Custom => {
                let (name, props) = self.custom;
                format!(
                    r#"{{"n":"{name}","u":{url},"d":"{domain}","r":{referrer},"w":{width},"p":{props}}}"#
                )
            }
            Kind::Engagement => {
                let (depth, ms) = self.engagement;
                format!(
                    r#"{{"n":"engagement","u":{url},"d":"{domain}","r":{referrer},"sd":{depth},"e":{ms}}}"#
                )
            }
            Kind::Pageview => {
                format!(r#"{{"n":"pageview","u":{url},"d":"{domain}","r":{referrer},"w":{width}}}"#)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn share(beacons: &[Beacon], f: impl Fn(&Beacon) -> bool) -> f64 {
        beacons.iter().filter(|b| f(b)).count() as f64 / beacons.len() as f64
    }

    fn sample() -> Vec<Beacon> {
        let config = WorkloadConfig {
            seed: 42,
            sites: vec!["a.example".into(), "b.example".into()],
            ..WorkloadConfig::default()
        };
        generate(&config, 100_000)
    }

    #[test]
    fn proportions_match_the_documented_mix() {
        let beacons = sample();
        let bots = share(&beacons, |b| b.bot);
        let dnt = share(&beacons, |b| b.dnt);
        let gpc = share(&beacons, |b| b.gpc);
        assert!((0.04..0.06).contains(&bots), "bots {bots}");
        assert!((0.025..0.035).contains(&dnt), "dnt {dnt}");
        assert!((0.007..0.013).contains(&gpc), "gpc {gpc}");
        let site_a = share(&beacons, |b| b.site == 0);
        assert!((0.45..0.55).contains(&site_a), "site a {site_a}");
        let text = |b: &Beacon| String::from_utf8(b.body.to_vec()).unwrap();
        let custom = share(&beacons, |b| text(b).contains(r#""p":{"#));
        assert!((0.02..0.04).contains(&custom), "custom {custom}");
        let utm = share(&beacons, |b| text(b).contains("utm_source="));
        assert!((0.08..0.12).contains(&utm), "utm {utm}");
    }

    #[test]
    fn bots_are_what_the_collector_calls_bots() {
        for beacon in sample().iter().take(5_000) {
            let ua = beacon.user_agent.to_str().unwrap();
            assert_eq!(beacon.bot, BOTS.contains(&ua), "{ua}");
        }
    }

    #[test]
    fn seeded_and_varied() {
        let config = WorkloadConfig::default();
        let a = generate(&config, 500);
        let b = generate(&config, 500);
        assert!(a.iter().zip(&b).all(|(x, y)| x.body == y.body));
        let other = generate(&WorkloadConfig { seed: 2, ..config }, 500);
        assert!(a.iter().zip(&other).any(|(x, y)| x.body != y.body));
    }

    #[test]
    fn many_distinct_visitor_networks_and_popular_pages() {
        let beacons = sample();
        let networks: HashSet<_> = beacons
            .iter()
            .map(|b| {
                let ip: IpAddr = b.forwarded_for.to_str().unwrap().parse().unwrap();
                match ip {
                    IpAddr::V4(v4) => v4.octets()[..3].to_vec(),
                    IpAddr::V6(v6) => v6.octets()[..6].to_vec(),
                }
            })
            .collect();
        assert!(networks.len() > 15_000, "{} networks", networks.len());
        let home = share(&beacons, |b| {
            let v: serde_json::Value = serde_json::from_slice(&b.body).unwrap();
            v["u"].as_str().unwrap().ends_with(".example/")
        });
        assert!(home > 0.05, "the home page is the most visited: {home}");
    }

    #[test]
    fn each_engagement_follows_a_stored_pageview_of_its_visitor_and_page() {
        let beacons = sample();
        // Positions of stored pageviews by visitor, site and page (no query).
        let mut views: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
        let mut engagements = 0;
        for (i, b) in beacons.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_slice(&b.body).unwrap();
            let url = v["u"].as_str().unwrap();
            let key = (
                format!("{:?} {:?}", b.forwarded_for, b.user_agent),
                v["d"].as_str().unwrap().to_owned(),
                url.split('?').next().unwrap().to_owned(),
            );
            if v["n"] == "pageview" && !(b.dnt || b.gpc || b.bot) {
                views.entry(key).or_default().push(i);
            } else if v["n"] == "engagement" {
                engagements += 1;
                let before = views.get(&key).into_iter().flatten();
                // Far enough back to be sent first, near enough to be recent.
                let window = ENGAGEMENT_GAP..=ENGAGEMENT_GAP + 4 * ENGAGEABLE;
                let found = before.into_iter().any(|p| window.contains(&(i - p)));
                assert!(found, "engagement {i} has no pageview before it");
            }
        }
        let share = engagements as f64 / beacons.len() as f64;
        assert!((0.08..0.12).contains(&share), "engagement {share}");
    }

    #[test]
    fn every_beacon_is_valid_json_naming_one_site() {
        for beacon in sample().iter().take(2_000) {
            let v: serde_json::Value = serde_json::from_slice(&beacon.body).unwrap();
            let d = v["d"].as_str().unwrap();
            assert!(d == "a.example" || d == "b.example");
            assert!(!d.contains(','));
        }
    }
}
