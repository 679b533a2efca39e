//! The facts a privacy statement states, each taken from the config or
//! from a constant the code itself uses, never typed into the text.

use crate::config::{ContactKind, PrivacyConfig};
use crate::Config;
use std::path::Path;

/// IPv4 addresses are cut to this many leading bits before anything else
/// sees them (the collector's `privacy::truncate`; a test there compares).
pub const IPV4_PREFIX_BITS: u8 = 24;
/// IPv6 addresses are cut to this many leading bits.
pub const IPV6_PREFIX_BITS: u8 = 48;
/// Days a visitor-id salt exists: its own UTC day and the next (see
/// [`crate::salts`]); `schema migrate` and rotation erase older ones.
pub const SALT_LIFETIME_DAYS: u32 = 2;

/// How precisely a visitor's network is located.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LocationDetail {
    /// No GeoIP database: no location at all.
    Off,
    /// A country-only database.
    Country,
    /// A city database: country, region and city.
    City,
}

impl LocationDetail {
    /// From an `.mmdb` file's `database_type` (`GeoLite2-City`,
    /// `GeoLite2-Country`, `DBIP-Country-Lite`, ...). A type that does not
    /// say it is country-only counts as a city database: a statement may
    /// claim more detail than a database holds, never less.
    pub fn from_database_type(database_type: &str) -> Self {
        let t = database_type.to_ascii_lowercase();
        if t.contains("country") && !t.contains("city") {
            Self::Country
        } else {
            Self::City
        }
    }

    /// From the database `[collector] geoip` names, reading only its
    /// metadata; `Off` when none is configured.
    pub fn of_geoip_file(path: Option<&Path>) -> Result<Self, StatementError> {
        let Some(path) = path else {
            return Ok(Self::Off);
        };
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| StatementError::GeoIp {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self::from_database_type(&reader.metadata().database_type))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("`{0}` is not a [[site]] of this config")]
    UnknownSite(String),
    #[error(
        "the config has no [privacy] section: set privacy.controller and privacy.contact \
         to name who runs the analytics"
    )]
    NoPrivacySection,
    #[error("collector.geoip: cannot read {path}: {message}")]
    GeoIp { path: String, message: String },
}

/// Everything one site's statement says that can differ between sites,
/// configs and databases.
#[derive(Debug, Clone)]
pub struct Facts {
    pub domain: String,
    pub privacy: PrivacyConfig,
    pub contact_kind: ContactKind,
    pub retention_days: u32,
    /// The site's k-anonymity threshold (`min_visitors`), if it has one.
    pub min_visitors: Option<u32>,
    pub respect_dnt: bool,
    pub respect_gpc: bool,
    pub location: LocationDetail,
    /// Absolute with `[collector] public_url`, else relative to the
    /// collector's own pages (where `/privacy` is served).
    pub optout_url: String,
    pub optout_cookie: String,
}

impl Facts {
    /// The facts for `domain`; `location` comes from the GeoIP database in
    /// use (see [`LocationDetail`]).
    pub fn gather(
        config: &Config,
        domain: &str,
        location: LocationDetail,
    ) -> Result<Self, StatementError> {
        let site = config
            .site(domain)
            .ok_or_else(|| StatementError::UnknownSite(domain.to_owned()))?;
        let privacy = config
            .privacy
            .clone()
            .ok_or(StatementError::NoPrivacySection)?;
        // Validation refuses any other contact; a config loaded unchecked
        // gets the e-mail rendering, which escapes like any text.
        let contact_kind = privacy.contact_kind().unwrap_or(ContactKind::Email);
        let optout_url = match &config.collector.public_url {
            Some(url) => format!("{}/optout", url.trim_end_matches('/')),
            None => "optout".to_owned(),
        };
        Ok(Self {
            domain: site.domain.clone(),
            privacy,
            contact_kind,
            retention_days: site.retention_days,
            min_visitors: site.min_visitors,
            respect_dnt: site.respect_dnt,
            respect_gpc: site.respect_gpc,
            location,
            optout_url,
            optout_cookie: config.collector.optout_cookie.clone(),
        })
    }

    /// `retention_days` in whole months, rounded (790 days: 26).
    pub fn retention_months(&self) -> u32 {
        // The mean Gregorian month, in hundredths of a day.
        (self.retention_days * 100 + 3044 / 2) / 3044
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_types_give_their_detail() {
        for (t, detail) in [
            ("GeoLite2-City", LocationDetail::City),
            ("GeoIP2-City", LocationDetail::City),
            ("DBIP-City-Lite", LocationDetail::City),
            ("GeoLite2-Country", LocationDetail::Country),
            ("DBIP-Country-Lite", LocationDetail::Country),
            ("ip-location-db", LocationDetail::City),
        ] {
            assert_eq!(LocationDetail::from_database_type(t), detail, "{t}");
        }
    }

    #[test]
    fn months_round_to_the_nearest() {
        let months = |days| {
            let mut config = Config::default();
            config
                .site
                .push(crate::config::SiteConfig::new("a.example"));
            config.site[0].retention_days = days;
            config.privacy = Some(PrivacyConfig {
                controller: "Acme".into(),
                contact: "a@b.example".into(),
                hosting_location: None,
            });
            Facts::gather(&config, "a.example", LocationDetail::Off)
                .unwrap()
                .retention_months()
        };
        // 30.44 days a month: 790 / 30.44 = 25.95, 45 / 30.44 = 1.48.
        assert_eq!(months(790), 26);
        assert_eq!(months(365), 12);
        assert_eq!(months(45), 1);
        assert_eq!(months(46), 2);
        assert_eq!(months(10), 0);
    }
}
