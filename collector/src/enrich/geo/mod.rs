//! Country, region and city of a visitor, from a MaxMind-format (`.mmdb`)
//! database named by `[collector] geoip`, looked up on the *truncated*
//! address.
//!
//! # What the caller passes
//!
//! [`Geo::lookup`] takes the address after the privacy step has truncated it
//! (IPv4 to its /24, IPv6 to its /48). Truncating is the caller's job: this
//! module never sees, keeps or logs a full address, and logs no address at
//! all. City accuracy suffers little, since databases rarely split a /24.
//!
//! # Where the rest lives
//!
//! - `record`: the record layouts understood (GeoIP2 / GeoLite2 City and
//!   Country, DB-IP lite, the flat `@ip-location-db` layout), decoded per
//!   record, and `region` the ISO 3166-2 region codes made from them.
//! - `load`: reading the file into memory, and re-reading it when it
//!   changes, without ever serving from a half-written file.
//! - `watcher`: the task that checks the file on a timer and on SIGHUP.

#[cfg(test)]
mod fixture;
mod load;
mod record;
mod region;
mod watcher;

pub use load::GeoError;

use crate::privacy::TruncatedIp;
use arc_swap::ArcSwapOption;
use compact_str::CompactString;
use load::Stamp;
use maxminddb::Reader;
use record::read_record;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing::{debug, warn};

/// Where a visitor is, as far as the database knows; `""` when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// ISO 3166-1 alpha-2, e.g. `GB`.
    pub country: CompactString,
    /// ISO 3166-2, e.g. `GB-ENG`.
    pub region: CompactString,
    /// English name, e.g. `London`.
    pub city: CompactString,
}

/// One loaded database and the lookups already answered from it. The cache
/// lives and dies with its database, so a reload can never serve stale
/// answers. Keyed by truncated address: a visit's events share one.
#[derive(Debug)]
struct Loaded {
    reader: Reader<Vec<u8>>,
    cache: quick_cache::sync::Cache<TruncatedIp, Location>,
}

/// Truncated networks remembered per database (a few MB at most).
const CACHED_NETWORKS: usize = 65_536;

/// The geolocation database, swappable while lookups run.
#[derive(Debug)]
pub struct Geo {
    /// `None` when no database is configured.
    path: Option<PathBuf>,
    current: ArcSwapOption<Loaded>,
    /// The file version last loaded (or last rejected as unparsable). The
    /// lock also serialises reloads; lookups never take it.
    seen: Mutex<Option<Stamp>>,
}

impl Geo {
    /// No database configured: every lookup is empty.
    pub fn disabled() -> Arc<Self> {
        warn!(
            "no geoip database configured: the country, region and city columns stay empty; \
             set `geoip = \"/path/to/GeoLite2-City.mmdb\"` under `[collector]` to fill them"
        );
        Arc::new(Self::with_path(None))
    }

    /// Reads the database at `path`; fails if it cannot be read or is not a
    /// MaxMind DB, so a bad path stops the collector at start-up.
    pub fn open(path: &Path) -> Result<Arc<Self>, GeoError> {
        let geo = Self::with_path(Some(path.to_owned()));
        geo.reload()?;
        Ok(Arc::new(geo))
    }

    fn with_path(path: Option<PathBuf>) -> Self {
        Self {
            path,
            current: ArcSwapOption::empty(),
            seen: Mutex::new(None),
        }
    }

    /// The loaded database's `database_type` (`GeoLite2-City`, ...), `None`
    /// when none is configured: the privacy statement's location detail.
    pub fn database_type(&self) -> Option<String> {
        let current = self.current.load();
        current
            .as_deref()
            .map(|loaded| loaded.reader.metadata().database_type.clone())
    }

    /// The location of a truncated address (IPv4 /24, IPv6 /48; see the
    /// module doc). Lock-free; an unknown address gives an empty location.
    pub fn lookup(&self, truncated_ip: TruncatedIp) -> Location {
        let current = self.current.load();
        let Some(loaded) = current.as_deref() else {
            return Location::default();
        };
        if let Some(location) = loaded.cache.get(&truncated_ip) {
            return location;
        }
        let location = match read_record(&loaded.reader, truncated_ip.addr()) {
            Ok(record) => record.map(|r| r.location()).unwrap_or_default(),
            Err(error) => {
                // Bad data in the file, not in the request: no address here.
                debug!(%error, "geoip record unreadable");
                Location::default()
            }
        };
        loaded.cache.insert(truncated_ip, location.clone());
        location
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixture::{ip, london_db};
    use std::time::Instant;

    #[test]
    fn unknown_address_and_disabled_give_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        assert_eq!(geo.lookup(ip("10.0.0.0")), Location::default());
        assert_eq!(geo.lookup(ip("2001:db8::")), Location::default());
        assert_eq!(geo.database_type().as_deref(), Some("GeoLite2-City"));
        let disabled = Geo::disabled();
        assert_eq!(disabled.database_type(), None);
        assert_eq!(disabled.lookup(ip("81.2.69.0")), Location::default());
        assert!(!disabled.reload_if_changed().unwrap());
        disabled.reload().unwrap();
    }

    /// Rough per-lookup cost; run with `--nocapture` (and `--release` for
    /// production-like numbers) to see it.
    #[test]
    fn lookup_cost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.mmdb");
        let entries: Vec<(String, String)> = (0..20_000u32)
            .map(|i| {
                (
                    format!("{}.{}.{}.0/24", 1 + i / 65_536, (i / 256) % 256, i % 256),
                    format!("City {i}"),
                )
            })
            .collect();
        let borrowed: Vec<fixture::Entry<'_>> = entries
            .iter()
            .map(|(net, city)| (net.as_str(), "GB", Some("ENG"), Some(city.as_str())))
            .collect();
        fixture::geoip2(&path, "GeoLite2-City", &borrowed);
        let geo = Geo::open(&path).unwrap();

        let rounds = 200_000u32;
        let started = Instant::now();
        let mut found = 0usize;
        for i in 0..rounds {
            let n = i % 40_000; // half inside the database, half outside
            let address = std::net::Ipv4Addr::new(
                1 + (n / 65_536) as u8,
                (n / 256 % 256) as u8,
                (n % 256) as u8,
                0,
            );
            found += usize::from(
                !std::hint::black_box(geo.lookup(crate::privacy::truncate(address.into())))
                    .city
                    .is_empty(),
            );
        }
        let per_lookup = started.elapsed() / rounds;
        println!("geo lookup: {per_lookup:?} per lookup over {rounds} lookups ({found} hits)");
        assert_eq!(found, rounds as usize / 2);
    }
}
