//! GA4's names for devices, browsers and operating systems, and its
//! placeholders, mapped onto the values live traffic stores; and the path
//! and host of a URL, as live traffic takes them.

/// A value GA4 has, not one of its placeholders.
pub fn set(value: &Option<String>) -> Option<String> {
    let v = value.as_deref()?.trim();
    let placeholder = v.is_empty()
        || matches!(
            v,
            "(not set)" | "(none)" | "(direct)" | "(not provided)" | "(data deleted)" | "(other)"
        );
    (!placeholder).then(|| v.to_owned())
}

pub fn device_class(category: Option<String>) -> String {
    match category.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("desktop") => "Desktop".into(),
        Some("mobile") => "Mobile".into(),
        Some("tablet") => "Tablet".into(),
        Some("smart tv") => "TV".into(),
        Some(other) => capitalised(other),
        None => String::new(),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// GA4's OS names as live traffic stores them (shown under Plausible's
/// names at read time, see the query service's `api/names.rs`).
pub fn os_name(os: Option<String>) -> String {
    match os.as_deref() {
        Some("Macintosh") | Some("Mac OS X") => "macOS".into(),
        Some(other) => other.into(),
        None => String::new(),
    }
}

pub fn browser_name(browser: Option<String>) -> String {
    match browser.as_deref() {
        Some("Android Webview") => "Android WebView".into(),
        Some("Safari (in-app)") => "Mobile Safari UI/WKWebView".into(),
        Some(other) => other.into(),
        None => String::new(),
    }
}

/// A URL's path, as live traffic stores pages: no query, no fragment.
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_start = after_scheme.find('/').unwrap_or(after_scheme.len());
    let path = &after_scheme[path_start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    match &path[..end] {
        "" => "/".into(),
        p => p.into(),
    }
}

/// A URL's host, lowercased, without `www.` or a port.
pub fn host_of(url: &str) -> String {
    let Some((_, rest)) = url.split_once("://") else {
        return String::new();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..end].rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    host.trim_start_matches("www.").to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_hosts() {
        assert_eq!(path_of("https://example.com/a/b?x=1#y"), "/a/b");
        assert_eq!(path_of("https://example.com"), "/");
        assert_eq!(host_of("https://www.Google.com/search?q=1"), "google.com");
        assert_eq!(
            host_of("https://user@news.ycombinator.com:443/"),
            "news.ycombinator.com"
        );
        assert_eq!(host_of(""), "");
    }

    #[test]
    fn placeholders_are_empty() {
        assert_eq!(set(&Some("(direct)".into())), None);
        assert_eq!(set(&Some("google".into())), Some("google".into()));
        assert_eq!(device_class(Some("desktop".into())), "Desktop");
    }
}
