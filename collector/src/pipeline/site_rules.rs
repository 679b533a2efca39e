//! Per-site filters from `[[site]]`: which page hostnames count for the site
//! and which paths are never recorded.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use schema::config::SiteConfig;

#[derive(Debug, Clone)]
pub struct SiteRules {
    hostnames: Vec<String>,
    excluded: GlobSet,
}

impl SiteRules {
    /// Config validation has already checked every pattern, so a failure
    /// here is reported as the same config error.
    pub fn new(site: &SiteConfig) -> Result<Self, globset::Error> {
        let mut excluded = GlobSetBuilder::new();
        for pattern in &site.exclude_paths {
            // `*` stays within one path segment; `**` crosses them.
            excluded.add(GlobBuilder::new(pattern).literal_separator(true).build()?);
        }
        Ok(Self {
            hostnames: site
                .hostnames
                .iter()
                .map(|h| without_www(h).to_owned())
                .collect(),
            excluded: excluded.build()?,
        })
    }

    /// `example.com` matches itself; `*.example.com` matches its subdomains.
    /// No patterns: every hostname is accepted.
    pub fn accepts_hostname(&self, hostname: &str) -> bool {
        let hostname = without_www(hostname);
        self.hostnames.is_empty()
            || self
                .hostnames
                .iter()
                .any(|pattern| match pattern.strip_prefix("*.") {
                    Some(parent) => hostname
                        .strip_suffix(parent)
                        .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
                    None => pattern == hostname,
                })
    }

    /// Matched on the path without a hash-mode `#route`.
    pub fn excludes_path(&self, pathname: &str) -> bool {
        // Most sites exclude nothing, and even an empty set costs a
        // candidate's set-up on every beacon.
        if self.excluded.is_empty() {
            return false;
        }
        let path = pathname.split('#').next().unwrap_or(pathname);
        self.excluded.is_match(path)
    }
}

fn without_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(hostnames: &[&str], exclude: &[&str]) -> SiteRules {
        let mut site = SiteConfig::new("example.com");
        site.hostnames = hostnames.iter().map(|s| s.to_string()).collect();
        site.exclude_paths = exclude.iter().map(|s| s.to_string()).collect();
        SiteRules::new(&site).unwrap()
    }

    #[test]
    fn hostnames() {
        let r = rules(&["example.com", "*.shop.example.com"], &[]);
        assert!(r.accepts_hostname("example.com"));
        assert!(r.accepts_hostname("www.example.com"));
        assert!(r.accepts_hostname("eu.shop.example.com"));
        assert!(!r.accepts_hostname("shop.example.com"));
        assert!(!r.accepts_hostname("evilshop.example.com"));
        assert!(!r.accepts_hostname("example.com.evil.net"));
        assert!(rules(&[], &[]).accepts_hostname("anything.net"));
    }

    #[test]
    fn excluded_paths() {
        let r = rules(&[], &["/admin/**", "/preview/*", "/exact"]);
        assert!(r.excludes_path("/admin/users/1"));
        assert!(r.excludes_path("/preview/draft"));
        assert!(!r.excludes_path("/preview/draft/2"));
        assert!(r.excludes_path("/exact"));
        assert!(r.excludes_path("/exact#/route"));
        assert!(!r.excludes_path("/exactly"));
        assert!(!r.excludes_path("/blog"));
    }
}
