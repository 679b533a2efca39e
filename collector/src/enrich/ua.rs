//! Browser, OS and device from the user agent, plus the bot verdict: what the
//! collector keeps of a user agent, which itself is never stored or logged.
//!
//! Parsing uses uap-core's `regexes.yaml` (vendored in
//! `collector/data/uap-core/`, Apache-2.0) through the `ua-parser` crate, and
//! [`BotPatterns`] for bots. Both are compiled once per process
//! ([`UserAgents::shared`]); results are cached per user agent, since real
//! traffic has few distinct ones.
//!
//! Names follow what editors know from Plausible rather than uap's labels:
//! - browsers: the mobile variants fold into their brand ("Chrome Mobile",
//!   "Chrome Mobile iOS" → "Chrome"; "Mobile Safari" and iOS web views →
//!   "Safari"; "Firefox Mobile", "Firefox iOS" → "Firefox"; "Edge Mobile" →
//!   "Edge"; "Opera Mobile" → "Opera"). Android's system web view is "Android
//!   WebView"; in-app browsers keep their app's name ("Facebook", "Instagram").
//! - OS: "Mac OS X" → "macOS", "Chrome OS" → "ChromeOS"; the rest as uap
//!   names them ("Windows", "iOS", "Android", "Linux", "Ubuntu", ...).
//!   iPadOS reports itself as iOS.
//! - versions: `major.minor` ("131.0", "17.4"), just the major when there is
//!   no minor ("10" for Windows 10), empty when unknown.
//! - unknown (uap's "Other"): empty string.
//!
//! Device, first rule that applies:
//! 1. Tablet: an iPad, a Kindle or Silk browser, a uap device family naming a
//!    tablet ("Generic Tablet", "iPad", "Kindle"), a tablet OS (BlackBerry
//!    Tablet OS), or Android without the `Mobi` token (Google's convention:
//!    Android browsers on phones say "Mobile", on tablets they don't).
//! 2. Mobile: the `Mobi` token (MDN's advice for spotting phones), an iPhone
//!    or iPod, uap's "Generic Smartphone" or "Generic Feature Phone", or a
//!    phone OS (iOS, Android, Windows Phone, KaiOS, Symbian, ...).
//! 3. Desktop otherwise. Known blind spot: iPadOS Safari asks for desktop
//!    sites by default and sends a Mac user agent, so it counts as macOS
//!    Desktop; nothing in the user agent tells them apart.
//!
//! A bot's [`UaInfo`] is left empty: bot hits are not stored, so naming
//! their browser would only cost time.

use std::convert::Infallible;
use std::sync::{Arc, LazyLock};

use compact_str::CompactString;
use quick_cache::sync::Cache;
use ua_parser::{os, user_agent, Extractor, Regexes};

use super::bots::BotPatterns;

/// uap-core 0.18.0, as shipped in the `ua-parser` 0.2.2 crate.
const REGEXES_YAML: &str = include_str!("../../data/uap-core/regexes.yaml");

/// Distinct user agents kept. Real traffic has far fewer; more than this is
/// spoofing or junk, which then just costs a parse per request.
const CACHE_ENTRIES: usize = 10_000;

/// Longer user agents are classified but not cached, so junk headers cannot
/// make the cache hold more than `CACHE_ENTRIES * MAX_CACHED_UA_LEN` bytes
/// of keys. Real ones stay well under 512 bytes, in-app browsers included.
const MAX_CACHED_UA_LEN: usize = 512;

/// Longer user agents are treated as bots without parsing them.
const MAX_BROWSER_UA_LEN: usize = 1024;

static SHARED: LazyLock<UserAgents> = LazyLock::new(UserAgents::vendored);

/// The kind of device, as dashboards show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "Desktop",
            Device::Mobile => "Mobile",
            Device::Tablet => "Tablet",
        }
    }
}

/// Browser and OS names and versions, normalised as the module doc says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaInfo {
    pub browser: CompactString,
    pub browser_version: CompactString,
    pub os: CompactString,
    pub os_version: CompactString,
    pub device: Device,
}

impl UaInfo {
    /// Nothing known: what a bot gets.
    fn unknown() -> Self {
        Self {
            browser: CompactString::default(),
            browser_version: CompactString::default(),
            os: CompactString::default(),
            os_version: CompactString::default(),
            device: Device::Desktop,
        }
    }
}

/// What the collector needs from one user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub bot: bool,
    pub info: UaInfo,
}

impl Classified {
    fn bot() -> Self {
        Self {
            bot: true,
            info: UaInfo::unknown(),
        }
    }
}

/// The compiled uap parser, the bot patterns and a bounded cache of verdicts.
pub struct UserAgents {
    extractor: Extractor<'static>,
    bots: BotPatterns,
    cache: Cache<String, Arc<Classified>>,
}

impl UserAgents {
    /// Built once per process from the vendored data, on first use. Parsing
    /// regexes.yaml and compiling it takes a while, so everyone shares it.
    pub fn shared() -> &'static UserAgents {
        &SHARED
    }

    /// Panics only if the vendored data is broken, which the tests would show.
    fn vendored() -> Self {
        let regexes: Regexes<'static> =
            serde_yaml_ng::from_str(REGEXES_YAML).expect("vendored regexes.yaml parses");
        Self {
            extractor: Extractor::try_from(regexes).expect("vendored regexes.yaml compiles"),
            bots: BotPatterns::vendored(),
            cache: Cache::new(CACHE_ENTRIES),
        }
    }

    /// Cached: real traffic has few distinct user agents. Concurrent misses
    /// on the same user agent parse it once.
    pub fn classify(&self, user_agent: &str) -> Arc<Classified> {
        // No browser sends kilobytes of user agent; parsing one costs
        // milliseconds, so such a request would only be a way to burn CPU.
        if user_agent.len() > MAX_BROWSER_UA_LEN {
            return Arc::new(Classified {
                bot: true,
                info: UaInfo::unknown(),
            });
        }
        if user_agent.len() > MAX_CACHED_UA_LEN {
            return Arc::new(self.classify_uncached(user_agent));
        }
        let cached = self.cache.get_or_insert_with(user_agent, || {
            Ok::<_, Infallible>(Arc::new(self.classify_uncached(user_agent)))
        });
        match cached {
            Ok(classified) => classified,
            Err(never) => match never {},
        }
    }

    fn classify_uncached(&self, user_agent: &str) -> Classified {
        if self.bots.is_bot(user_agent) {
            return Classified::bot();
        }
        let (browser, os, device) = self.extractor.extract(user_agent);
        let device_family = device.as_ref().map_or("", |d| &*d.device);
        if device_family == "Spider" {
            return Classified::bot();
        }
        Classified {
            bot: false,
            info: describe(user_agent, browser, os, device_family),
        }
    }
}

fn describe(
    user_agent: &str,
    browser: Option<user_agent::ValueRef<'_>>,
    os: Option<os::ValueRef<'_>>,
    device_family: &str,
) -> UaInfo {
    let (browser, browser_version) = browser.map_or_else(Default::default, |b| {
        let name = browser_name(&b.family);
        (name.to_string(), version(name, b.major, b.minor))
    });
    let (os, os_version) = os.map_or_else(Default::default, |o| {
        let name = os_name(&o.os);
        (
            name.to_string(),
            version(name, o.major.as_deref(), o.minor.as_deref()),
        )
    });
    let device = device_kind(user_agent, &os, device_family);
    UaInfo {
        browser: browser.into(),
        browser_version: browser_version.into(),
        os: os.into(),
        os_version: os_version.into(),
        device,
    }
}

/// uap's browser family → the name editors know (see the module doc).
fn browser_name(family: &str) -> &str {
    match family {
        "Other" => "",
        "Chrome Mobile" | "Chrome Mobile iOS" => "Chrome",
        "Chrome Mobile WebView" => "Android WebView",
        "Mobile Safari" | "Mobile Safari UI/WKWebView" => "Safari",
        "Firefox Mobile" | "Firefox iOS" => "Firefox",
        "Edge Mobile" => "Edge",
        "Opera Mobile" => "Opera",
        "DuckDuckGo Mobile" => "DuckDuckGo",
        "MiuiBrowser" => "MIUI Browser",
        // uap's name for the Google Search app (GSA).
        "Google" => "Google App",
        other => other,
    }
}

/// uap's OS family → the name editors know (see the module doc).
fn os_name(family: &str) -> &str {
    match family {
        "Other" => "",
        "Mac OS X" => "macOS",
        "Chrome OS" => "ChromeOS",
        other => other,
    }
}

/// `major.minor`, or `major` alone; empty for an unknown name or version.
fn version(name: &str, major: Option<&str>, minor: Option<&str>) -> String {
    match (major, minor) {
        _ if name.is_empty() => String::new(),
        (Some(major), Some(minor)) if !major.is_empty() && !minor.is_empty() => {
            format!("{major}.{minor}")
        }
        (Some(major), _) => major.to_string(),
        (None, _) => String::new(),
    }
}

/// The device rules of the module doc, in order.
fn device_kind(user_agent: &str, os: &str, device_family: &str) -> Device {
    if is_tablet(user_agent, os, device_family) {
        Device::Tablet
    } else if is_mobile(user_agent, os, device_family) {
        Device::Mobile
    } else {
        Device::Desktop
    }
}

fn is_tablet(user_agent: &str, os: &str, device_family: &str) -> bool {
    let tablet_family = ["iPad", "Kindle", "Tablet"]
        .iter()
        .any(|word| device_family.contains(word));
    let tablet_token = ["iPad", "Kindle", "Silk/"]
        .iter()
        .any(|token| user_agent.contains(token));
    let android_tablet = os == "Android" && !user_agent.contains("Mobi");
    tablet_family || tablet_token || os.contains("Tablet") || android_tablet
}

fn is_mobile(user_agent: &str, os: &str, device_family: &str) -> bool {
    const PHONE_FAMILIES: &[&str] = &[
        "iPhone",
        "iPod",
        "Generic Smartphone",
        "Generic Feature Phone",
    ];
    const PHONE_OSES: &[&str] = &[
        "iOS",
        "Android",
        "Windows Phone",
        "Windows Mobile",
        "KaiOS",
        "BlackBerry OS",
        "Firefox OS",
        "Brew MP",
    ];
    user_agent.contains("Mobi")
        || PHONE_FAMILIES.contains(&device_family)
        || PHONE_OSES.contains(&os)
        || os.starts_with("Symbian")
        || os.starts_with("Nokia Series")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use Device::{Desktop, Mobile, Tablet};

    /// user agent, browser, browser version, OS, OS version, device.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Device,
    );

    /// Real user agents of people's browsers, with what an analyst calls them.
    const BROWSERS: &[Case] = &[
        // Chrome
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome", "131.0", "Windows", "10", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome", "131.0", "macOS", "10.15", Desktop),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome", "131.0", "Linux", "", Desktop),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome", "131.0", "ChromeOS", "14541.0", Desktop),
        ("Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
            "Chrome", "109.0", "Windows", "8.1", Desktop),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome", "131.0", "Android", "10", Mobile),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome", "131.0", "Android", "10", Tablet),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36",
            "Chrome", "131.0", "Android", "14", Mobile),
        ("Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
            "Chrome", "131.0", "Android", "14", Mobile),
        ("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome", "131.0", "Android", "13", Tablet),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            "Chrome", "131.0", "iOS", "17.7", Mobile),
        ("Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            "Chrome", "131.0", "iOS", "17.7", Tablet),
        // Firefox
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox", "133.0", "Windows", "10", Desktop),
        ("Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0",
            "Firefox", "115.0", "Windows", "7", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox", "133.0", "macOS", "10.15", Desktop),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox", "133.0", "Linux", "", Desktop),
        ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox", "133.0", "Ubuntu", "", Desktop),
        ("Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox", "133.0", "Fedora", "", Desktop),
        ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
            "Firefox", "133.0", "Android", "14", Mobile),
        ("Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
            "Firefox", "133.0", "Android", "14", Tablet),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
            "Firefox", "133.0", "iOS", "18.1", Mobile),
        // Safari
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "Safari", "18.1", "macOS", "10.15", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
            "Safari", "17.4", "macOS", "10.15", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
            "Safari", "17.6", "macOS", "10.15", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "Safari", "18.1", "macOS", "14.7", Desktop),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            "Safari", "18.1", "iOS", "18.1", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Safari", "17.4", "iOS", "17.4", Mobile),
        ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Safari", "17.4", "iOS", "17.4", Tablet),
        ("Mozilla/5.0 (iPod touch; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6.6 Mobile/15E148 Safari/604.1",
            "Safari", "15.6", "iOS", "15.8", Mobile),
        // An iOS app's WKWebView: Safari's engine, no version of its own.
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            "Safari", "", "iOS", "17.6", Mobile),
        // Edge
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge", "131.0", "Windows", "10", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge", "131.0", "macOS", "10.15", Desktop),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
            "Edge", "131.0", "Android", "10", Mobile),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 EdgA/131.0.0.0",
            "Edge", "131.0", "Android", "10", Tablet),
        // Edge for iOS numbers its builds 131.2903.x.
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15",
            "Edge", "131.2903", "iOS", "18.1", Mobile),
        // Samsung Internet
        ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
            "Samsung Internet", "27.0", "Android", "14", Mobile),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
            "Samsung Internet", "27.0", "Android", "10", Mobile),
        ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36",
            "Samsung Internet", "26.0", "Android", "14", Tablet),
        // Opera
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
            "Opera", "115.0", "Windows", "10", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
            "Opera", "115.0", "macOS", "10.15", Desktop),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
            "Opera", "115.0", "Linux", "", Desktop),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
            "Opera", "86.0", "Android", "10", Mobile),
        // Other browsers
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36",
            "Yandex Browser", "24.10", "Windows", "10", Desktop),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Vivaldi/7.0.3495.15",
            "Vivaldi", "7.0", "Windows", "10", Desktop),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile DuckDuckGo/5 Safari/537.36",
            "DuckDuckGo", "5", "Android", "10", Mobile),
        ("Mozilla/5.0 (Linux; U; Android 14; en-us; 23090RA98G Build/UP1A.230905.011) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.136 Mobile Safari/537.36 XiaoMi/MiuiBrowser/14.14.0-gn",
            "MIUI Browser", "14.14", "Android", "14", Mobile),
        // Fire tablet: Fire OS says it is Android 9.
        ("Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/126.3.2 like Chrome/126.0.6478.186 Safari/537.36",
            "Amazon Silk", "126.3", "Android", "9", Tablet),
        // Phones of other systems
        ("Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i; Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
            "Firefox", "48.0", "KaiOS", "2.5", Mobile),
        ("Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
            "Edge", "15.15063", "Windows Phone", "10.0", Mobile),
        // Web views and in-app browsers
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240905.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36",
            "Android WebView", "131.0", "Android", "14", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/490.0.0.42.98;FBBV/659447011;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.6.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/661583358]",
            "Facebook", "490.0", "iOS", "17.6", Mobile),
        ("Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/490.0.0.53.81;]",
            "Facebook", "490.0", "Android", "14", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/22B83 Instagram 356.0.0.41.101 (iPhone15,3; iOS 18_1; en_US; en; scale=3.00; 1290x2796; 656094939; IABMV/1)",
            "Instagram", "356.0", "iOS", "18.1", Mobile),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/128.0.6613.127 Mobile Safari/537.36 Instagram 347.0.0.36.89 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 7; panther; panther; en_US; 634402221)",
            "Instagram", "347.0", "Android", "14", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1",
            "Google App", "343.0", "iOS", "18.1", Mobile),
    ];

    /// Real user agents of crawlers, previewers, AI fetchers, tools and
    /// monitors. All are bots, with nothing else said about them.
    const BOTS: &[&str] = &[
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.85 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.85 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "AdsBot-Google (+http://www.google.com/adsbot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.32.3",
        "Go-http-client/1.1",
        "okhttp/4.12.0",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3163.100 Chrome/61.0.3163.100 Safari/537.36 PingdomPageSpeed/1.0 (pingbot/2.0; +http://www.pingdom.com/)",
        "",
        "node",
    ];

    fn expected(case: &Case) -> Classified {
        let (_, browser, browser_version, os, os_version, device) = *case;
        Classified {
            bot: false,
            info: UaInfo {
                browser: browser.into(),
                browser_version: browser_version.into(),
                os: os.into(),
                os_version: os_version.into(),
                device,
            },
        }
    }

    #[test]
    fn corpus_is_large_enough() {
        assert!(BROWSERS.len() + BOTS.len() >= 60);
    }

    #[test]
    fn browsers_are_named_as_analysts_name_them() {
        let agents = UserAgents::shared();
        let wrong: Vec<String> = BROWSERS
            .iter()
            .filter(|case| *agents.classify(case.0) != expected(case))
            .map(|case| format!("{}\n  got {:?}", case.0, agents.classify(case.0)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn bots_are_bots_and_described_no_further() {
        let agents = UserAgents::shared();
        let wrong: Vec<&str> = BOTS
            .iter()
            .copied()
            .filter(|user_agent| *agents.classify(user_agent) != Classified::bot())
            .collect();
        assert!(wrong.is_empty(), "not bots: {wrong:#?}");
    }

    #[test]
    fn uap_spider_family_is_a_bot_without_a_pattern() {
        // The vendored pattern wants "Googlebot/"; uap's device parser still
        // calls this variant a spider.
        let user_agent = "Googlebot (+http://www.google.com/bot.html)";
        let agents = UserAgents::shared();
        assert!(!agents.bots.is_bot(user_agent));
        assert!(agents.classify(user_agent).bot);
    }

    #[test]
    fn device_names() {
        assert_eq!(Desktop.as_str(), "Desktop");
        assert_eq!(Mobile.as_str(), "Mobile");
        assert_eq!(Tablet.as_str(), "Tablet");
    }

    #[test]
    fn versions() {
        assert_eq!(version("Chrome", Some("131"), Some("0")), "131.0");
        assert_eq!(version("Windows", Some("10"), None), "10");
        assert_eq!(version("Windows", Some("10"), Some("")), "10");
        assert_eq!(version("Linux", None, None), "");
        assert_eq!(version("", Some("1"), Some("2")), "");
    }

    #[test]
    fn same_user_agent_shares_one_cached_result() {
        let agents = UserAgents::shared();
        let user_agent = BROWSERS[0].0;
        assert!(Arc::ptr_eq(
            &agents.classify(user_agent),
            &agents.classify(user_agent)
        ));
    }

    #[test]
    fn long_user_agents_are_classified_but_not_cached() {
        let agents = UserAgents::shared();
        let user_agent = format!("{} {}", BROWSERS[0].0, "x".repeat(MAX_CACHED_UA_LEN));
        let first = agents.classify(&user_agent);
        assert_eq!(first.info.browser, "Chrome");
        assert!(!Arc::ptr_eq(&first, &agents.classify(&user_agent)));
    }

    #[test]
    fn cache_stays_bounded() {
        let agents = UserAgents::vendored();
        // Short strings are bots by length, so this costs no parsing.
        for n in 0..3 * CACHE_ENTRIES {
            agents.classify(&n.to_string());
        }
        assert!(
            agents.cache.len() <= CACHE_ENTRIES,
            "{}",
            agents.cache.len()
        );
        assert!(agents.cache.len() > CACHE_ENTRIES / 2);
    }

    /// Numbers for the record; run with `--nocapture` to see them.
    #[test]
    fn build_and_uncached_classify_timings() {
        let started = Instant::now();
        let agents = UserAgents::vendored();
        let built = started.elapsed();

        let started = Instant::now();
        agents.classify_uncached(BROWSERS[0].0);
        let first = started.elapsed();

        let started = Instant::now();
        for case in BROWSERS {
            agents.classify_uncached(case.0);
        }
        let each = started.elapsed() / BROWSERS.len() as u32;
        println!("build {built:?}, first uncached classify {first:?}, then {each:?} each");
    }
}
