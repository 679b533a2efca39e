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
//! # Layouts understood, decided per record
//!
//! 1. GeoIP2 / GeoLite2 City and Country, and DB-IP's lite files:
//!    `country.iso_code`, `subdivisions[0].iso_code` and `city.names.en`.
//!    The region is `<country>-<subdivision>`, e.g. `GB-ENG`. A Country
//!    database yields only the country; DB-IP lite subdivisions carry names
//!    but no codes, so their region stays empty.
//! 2. The flat layout of the npm `@ip-location-db/*-mmdb` packages:
//!    top-level `country_code`, `state1` and `city`. `state1` is a region
//!    *name* ("England"); turning names into ISO 3166-2 codes needs a table
//!    we do not ship, and mixing names with codes would split one region
//!    into two rows, so the region stays empty unless `state1` already is a
//!    code: a full one matching the country (`GB-ENG`) or a bare 1–3
//!    character upper-case one (`ENG`) joined with the country.
//!
//! Missing fields give empty strings; a record that cannot be decoded gives
//! an empty [`Location`]; nothing here panics on bad data.
//!
//! # Replacing the database while the collector runs
//!
//! The file is read into memory rather than memory-mapped. maxminddb's
//! `Reader::open_mmap` is `unsafe`: its contract is that the file is never
//! modified or truncated while mapped, and breaking it is undefined
//! behaviour (in practice SIGBUS, which takes down ingestion). That contract
//! would depend on every operator and script replacing the file with a
//! rename, while `cp`, `curl -o` and `wget -O` all rewrite in place. With
//! an in-memory copy an in-place rewrite is harmless: the half-written file
//! either fails to parse or is seen changing during the read, and the
//! previous database keeps serving until the next check. The cost is the
//! file's size in RSS (60–130 MB for the free city databases), twice that
//! for a moment during a reload.
//!
//! Still, replace the file atomically: write the new one next to it and
//! `mv` it over the old one (this is what `geoipupdate` does). A watcher
//! ([`Geo::spawn_watcher`]) checks the file's modification time, size and
//! inode periodically and on SIGHUP, and swaps the new database in through
//! an [`ArcSwapOption`], so lookups never wait and no request is dropped.
//! A replacement that does not parse is logged and skipped until the file
//! changes again (or SIGHUP forces a re-read).

use crate::privacy::TruncatedIp;
use arc_swap::ArcSwapOption;
use compact_str::CompactString;
use maxminddb::{MaxMindDbError, Reader};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

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

/// Why the database could not be (re)loaded. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("cannot read the geoip database {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a MaxMind DB (.mmdb) file: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: MaxMindDbError,
    },
    #[error("the geoip database {} changed while it was being read; it will be read again", path.display())]
    Changed { path: PathBuf },
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

    /// Re-reads the file if its modification time, size or inode changed
    /// since the last load. On failure the previous database keeps serving
    /// and the error is returned. `Ok(false)` when nothing changed or no
    /// database is configured.
    pub fn reload_if_changed(&self) -> Result<bool, GeoError> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let mut seen = self.lock_seen();
        if *seen == Some(Stamp::of(path)?) {
            return Ok(false);
        }
        self.load_into(path, &mut seen).map(|()| true)
    }

    /// Re-reads the file unconditionally (SIGHUP). On failure the previous
    /// database keeps serving.
    pub fn reload(&self) -> Result<(), GeoError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut seen = self.lock_seen();
        self.load_into(path, &mut seen)
    }

    /// Checks the file every `every` and re-reads it on SIGHUP, until `stop`.
    /// Reload failures are logged and the previous database stays in use.
    /// With no database configured SIGHUP is still caught (and does
    /// nothing), so it never terminates the collector.
    pub fn spawn_watcher(
        self: Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        // Installed before returning, so a SIGHUP sent right afterwards is
        // never met by the default action, which terminates the process.
        let hangup = signal(SignalKind::hangup())
            .inspect_err(
                |error| warn!(%error, "cannot watch SIGHUP; geoip reloads on a timer only"),
            )
            .ok();
        tokio::spawn(self.watch(every, hangup, stop))
    }

    async fn watch(
        self: Arc<Self>,
        every: Duration,
        mut hangup: Option<Signal>,
        stop: CancellationToken,
    ) {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let forced = tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => false,
                () = next_signal(&mut hangup) => true,
            };
            Arc::clone(&self).check(forced).await;
        }
    }

    /// One reload attempt, on a blocking thread: it reads and parses the
    /// whole file, which must not stall the async workers serving requests.
    async fn check(self: Arc<Self>, forced: bool) {
        let attempt = tokio::task::spawn_blocking(move || {
            if forced {
                self.reload().map(|()| true)
            } else {
                self.reload_if_changed()
            }
        });
        match attempt.await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                warn!(%error, "geoip database not reloaded; still serving the previous one")
            }
            Err(error) => warn!(%error, "geoip reload task failed"),
        }
    }

    /// Reads, parses and installs the file. The stamp is recorded for a
    /// parse failure too: the same bytes would fail again, so they are not
    /// re-read every tick. Read errors and files caught mid-write are not
    /// recorded, so the next check retries them.
    fn load_into(&self, path: &Path, seen: &mut Option<Stamp>) -> Result<(), GeoError> {
        let (bytes, stamp) = read_stable(path)?;
        *seen = Some(stamp);
        let reader = Reader::from_source(bytes).map_err(|source| GeoError::Invalid {
            path: path.to_owned(),
            source,
        })?;
        let metadata = reader.metadata();
        info!(
            path = %path.display(),
            database_type = %metadata.database_type,
            build_epoch = metadata.build_epoch,
            "geoip database loaded"
        );
        let cache = quick_cache::sync::Cache::new(CACHED_NETWORKS);
        self.current.store(Some(Arc::new(Loaded { reader, cache })));
        Ok(())
    }

    /// A panic elsewhere while holding the lock leaves only a stamp behind,
    /// which is still meaningful, so poisoning is ignored.
    fn lock_seen(&self) -> MutexGuard<'_, Option<Stamp>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Resolves on the next signal; never, if it cannot be watched.
async fn next_signal(signal: &mut Option<Signal>) {
    if let Some(signal) = signal {
        if signal.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    /// Device and inode: a rename brings a new inode even when the new file
    /// has the same size and a preserved modification time.
    inode: (u64, u64),
}

impl Stamp {
    fn of(path: &Path) -> Result<Self, GeoError> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).map_err(|source| read_error(path, source))?;
        Ok(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode: (meta.dev(), meta.ino()),
        })
    }
}

/// The file's bytes and the version they belong to; an error if the file
/// changed while being read (an in-place rewrite in progress).
fn read_stable(path: &Path) -> Result<(Vec<u8>, Stamp), GeoError> {
    let before = Stamp::of(path)?;
    let bytes = std::fs::read(path).map_err(|source| read_error(path, source))?;
    if Stamp::of(path)? != before || bytes.len() as u64 != before.len {
        return Err(GeoError::Changed {
            path: path.to_owned(),
        });
    }
    Ok((bytes, before))
}

fn read_error(path: &Path, source: std::io::Error) -> GeoError {
    GeoError::Read {
        path: path.to_owned(),
        source,
    }
}

/// The record for `ip`, `None` when the database has none.
fn read_record(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Result<Option<Record<'_>>, MaxMindDbError> {
    // An IPv4-only database cannot answer for IPv6; that is not an error
    // worth a log line per IPv6 visitor.
    if ip.is_ipv6() && reader.metadata().ip_version == 4 {
        return Ok(None);
    }
    reader.lookup(ip)?.decode::<Record<'_>>()
}

/// The fields of both layouts in one pass; everything else in the record
/// is skipped without being decoded. Strings borrow from the database.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Record<'a> {
    /// GeoIP2: `{ "iso_code": "GB", "names": {...}, ... }`.
    #[serde(borrow)]
    country: IsoCode<'a>,
    /// GeoIP2: largest first, so `[0]` is e.g. England rather than Oxfordshire.
    #[serde(borrow)]
    subdivisions: FirstSubdivision<'a>,
    /// GeoIP2: `{ "names": { "en": ... } }`; flat layout: a plain string.
    #[serde(borrow)]
    city: CityName<'a>,
    /// Flat layout.
    #[serde(borrow)]
    country_code: Option<&'a str>,
    /// Flat layout: a region name, see the module doc.
    #[serde(borrow)]
    state1: Option<&'a str>,
}

impl Record<'_> {
    fn location(&self) -> Location {
        let country = country_code(self.country.iso_code.or(self.country_code));
        let region = self
            .subdivisions
            .0
            .or(self.state1)
            .map(|code| region_code(&country, code))
            .unwrap_or_default();
        let city = self.city.0.map(str::trim).unwrap_or_default().to_owned();
        Location {
            country: country.into(),
            region: region.into(),
            city: city.into(),
        }
    }
}

/// Two ASCII letters, upper-cased; anything else is not a country code.
fn country_code(code: Option<&str>) -> String {
    match code.map(str::trim) {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        _ => String::new(),
    }
}

/// `GB-ENG` from `ENG` or `GB-ENG` given country `GB`; empty for a name, a
/// code of another country, or no country at all.
fn region_code(country: &str, code: &str) -> String {
    let code = code.trim();
    let subdivision = match code.split_once('-') {
        Some((prefix, rest)) if prefix == country => rest,
        Some(_) => return String::new(),
        None => code,
    };
    if country.is_empty() || !is_subdivision_code(subdivision) {
        return String::new();
    }
    format!("{country}-{subdivision}")
}

/// ISO 3166-2 subdivision parts are 1–3 upper-case letters or digits.
/// Requiring upper case keeps region *names* such as "Bay" out.
fn is_subdivision_code(code: &str) -> bool {
    (1..=3).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `{ "iso_code": ... }`, other keys ignored.
#[derive(Debug, Default, Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

/// The first subdivision's code, without allocating a vector for the rest.
#[derive(Debug, Default)]
struct FirstSubdivision<'a>(Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstSubdivision<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(FirstSubdivisionVisitor(PhantomData))
    }
}

struct FirstSubdivisionVisitor<'a>(PhantomData<&'a str>);

impl<'de: 'a, 'a> Visitor<'de> for FirstSubdivisionVisitor<'a> {
    type Value = FirstSubdivision<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of subdivisions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element::<IsoCode<'de>>()?.and_then(|s| s.iso_code);
        // Drain the rest so the decoder ends up past the array.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FirstSubdivision(first))
    }
}

/// A city name from either layout: a GeoIP2 map with `names.en`, or a
/// plain string.
#[derive(Debug, Default)]
struct CityName<'a>(Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for CityName<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CityNameVisitor(PhantomData))
    }
}

struct CityNameVisitor<'a>(PhantomData<&'a str>);

impl<'de: 'a, 'a> Visitor<'de> for CityNameVisitor<'a> {
    type Value = CityName<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a city name or a map with `names`")
    }

    fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Self::Value, E> {
        Ok(CityName(Some(name)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            if key == "names" {
                name = map.next_value::<EnglishName<'de>>()?.en;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(CityName(name))
    }
}

/// `{ "en": ..., "de": ..., ... }`: only English is kept.
#[derive(Debug, Default, Deserialize)]
struct EnglishName<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdb_writer::{ipnet::IpNet, Value, Writer};
    use std::time::Instant;

    /// Test fixtures: the shape real databases have, built with mmdb-writer
    /// and renamed into place as an operator should.
    mod fixture {
        use super::*;

        /// `(network, country, subdivision, city)` in the GeoIP2 layout.
        pub type Entry<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

        pub fn geoip2(path: &Path, database_type: &str, entries: &[Entry<'_>]) {
            let mut writer = Writer::new(database_type);
            for &(network, country, subdivision, city) in entries {
                let mut record = vec![("country", Value::map([("iso_code", country)]))];
                if let Some(code) = subdivision {
                    let first = Value::map([
                        ("iso_code", Value::from(code)),
                        ("names", names("Somewhere")),
                    ]);
                    let second = Value::map([("iso_code", "XYZ")]);
                    record.push(("subdivisions", Value::array([first, second])));
                }
                if let Some(name) = city {
                    let city =
                        Value::map([("geoname_id", Value::from(1_u32)), ("names", names(name))]);
                    record.push(("city", city));
                }
                record.push((
                    "location",
                    Value::map([("latitude", Value::from(51.5_f64))]),
                ));
                writer
                    .insert_value(net(network), Value::map(record))
                    .unwrap();
            }
            write(path, &writer);
        }

        /// `(network, country_code, state1, city)` in the @ip-location-db layout.
        pub fn flat(path: &Path, entries: &[(&str, &str, &str, &str)]) {
            let mut writer = Writer::new("ip-location-db");
            for &(network, country, state, city) in entries {
                let record =
                    Value::map([("country_code", country), ("state1", state), ("city", city)]);
                writer.insert_value(net(network), record).unwrap();
            }
            write(path, &writer);
        }

        fn names(en: &str) -> Value {
            Value::map([("de", "Irgendwo"), ("en", en)])
        }

        fn net(network: &str) -> IpNet {
            network.parse().unwrap()
        }

        fn write(path: &Path, writer: &Writer) {
            let temp = path.with_extension("mmdb.tmp");
            std::fs::write(&temp, writer.to_bytes().unwrap()).unwrap();
            std::fs::rename(&temp, path).unwrap();
        }
    }

    /// The addresses below are already truncated, so this only changes type.
    fn ip(s: &str) -> TruncatedIp {
        crate::privacy::truncate(s.parse().unwrap())
    }

    fn loc(country: &str, region: &str, city: &str) -> Location {
        Location {
            country: country.into(),
            region: region.into(),
            city: city.into(),
        }
    }

    fn london_db(path: &Path) {
        fixture::geoip2(
            path,
            "GeoLite2-City",
            &[
                ("81.2.68.0/23", "GB", Some("ENG"), Some("London")),
                ("2a02:8010::/32", "GB", Some("SCT"), Some("Edinburgh")),
                ("203.0.113.0/24", "AU", None, None),
            ],
        );
    }

    #[test]
    fn geoip2_city_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        assert_eq!(geo.lookup(ip("81.2.69.0")), loc("GB", "GB-ENG", "London"));
        assert_eq!(geo.lookup(ip("81.2.68.0")), loc("GB", "GB-ENG", "London"));
        assert_eq!(geo.lookup(ip("81.2.70.0")), Location::default());
        assert_eq!(
            geo.lookup(ip("2a02:8010:1234::")),
            loc("GB", "GB-SCT", "Edinburgh")
        );
        assert_eq!(
            geo.lookup(ip("::ffff:81.2.69.0")),
            loc("GB", "GB-ENG", "London")
        );
        assert_eq!(geo.lookup(ip("203.0.113.0")), loc("AU", "", ""));
    }

    #[test]
    fn country_only_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("country.mmdb");
        fixture::geoip2(
            &path,
            "GeoLite2-Country",
            &[("192.0.2.0/24", "FR", None, None)],
        );
        let geo = Geo::open(&path).unwrap();
        assert_eq!(geo.lookup(ip("192.0.2.0")), loc("FR", "", ""));
    }

    #[test]
    fn flat_layout_keeps_codes_and_drops_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flat.mmdb");
        fixture::flat(
            &path,
            &[
                ("81.2.69.0/24", "GB", "England", "London"),
                ("192.0.2.0/24", "GB", "GB-ENG", "Leeds"),
                ("198.51.100.0/24", "US", "CA", "San Jose"),
                ("2001:db8::/32", "SO", "Bay", "Baidoa"),
                ("2001:db9::/32", "de", "FR-IDF", ""),
            ],
        );
        let geo = Geo::open(&path).unwrap();
        assert_eq!(geo.lookup(ip("81.2.69.0")), loc("GB", "", "London"));
        assert_eq!(geo.lookup(ip("192.0.2.0")), loc("GB", "GB-ENG", "Leeds"));
        assert_eq!(
            geo.lookup(ip("198.51.100.0")),
            loc("US", "US-CA", "San Jose")
        );
        assert_eq!(geo.lookup(ip("2001:db8:1::")), loc("SO", "", "Baidoa"));
        assert_eq!(geo.lookup(ip("2001:db9::")), loc("DE", "", ""));
    }

    #[test]
    fn unknown_address_and_disabled_give_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        assert_eq!(geo.lookup(ip("10.0.0.0")), Location::default());
        assert_eq!(geo.lookup(ip("2001:db8::")), Location::default());
        let disabled = Geo::disabled();
        assert_eq!(disabled.lookup(ip("81.2.69.0")), Location::default());
        assert!(!disabled.reload_if_changed().unwrap());
        disabled.reload().unwrap();
    }

    #[test]
    fn ipv4_only_database_ignores_ipv6() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.mmdb");
        let mut writer = Writer::builder("GeoLite2-Country")
            .ip_version(mmdb_writer::IpVersion::V4)
            .build();
        let record = Value::map([("country", Value::map([("iso_code", "NL")]))]);
        writer
            .insert_value("192.0.2.0/24".parse::<IpNet>().unwrap(), record)
            .unwrap();
        std::fs::write(&path, writer.to_bytes().unwrap()).unwrap();
        let geo = Geo::open(&path).unwrap();
        assert_eq!(geo.lookup(ip("192.0.2.0")), loc("NL", "", ""));
        assert_eq!(geo.lookup(ip("2001:db8::")), Location::default());
    }

    #[test]
    fn unexpected_record_shapes_give_empty_or_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.mmdb");
        let mut writer = Writer::new("Odd");
        let entries = [
            ("192.0.2.0/24", Value::from("just a string")),
            (
                "198.51.100.0/24",
                Value::map([("country", Value::from(7_u32))]),
            ),
            (
                "203.0.113.0/24",
                Value::map([("country_code", "GBR"), ("city", "Ely")]),
            ),
            (
                "2001:db8::/32",
                Value::map([
                    ("subdivisions", Value::array(Vec::<Value>::new())),
                    ("country_code", Value::from("IT")),
                ]),
            ),
        ];
        for (network, value) in entries {
            writer
                .insert_value(network.parse::<IpNet>().unwrap(), value)
                .unwrap();
        }
        std::fs::write(&path, writer.to_bytes().unwrap()).unwrap();
        let geo = Geo::open(&path).unwrap();
        assert_eq!(geo.lookup(ip("192.0.2.0")), Location::default());
        assert_eq!(geo.lookup(ip("198.51.100.0")), Location::default());
        assert_eq!(geo.lookup(ip("203.0.113.0")), loc("", "", "Ely"));
        assert_eq!(geo.lookup(ip("2001:db8::")), loc("IT", "", ""));
    }

    #[test]
    fn open_fails_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.mmdb");
        std::fs::write(&garbage, b"this is not a maxmind database").unwrap();
        let err = Geo::open(&garbage).unwrap_err();
        assert!(matches!(err, GeoError::Invalid { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&garbage.display().to_string()),
            "{err}"
        );

        let missing = dir.path().join("missing.mmdb");
        let err = Geo::open(&missing).unwrap_err();
        assert!(matches!(err, GeoError::Read { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );

        let err = Geo::open(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn reload_picks_up_a_renamed_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        assert!(!geo.reload_if_changed().unwrap(), "unchanged file");

        fixture::geoip2(
            &path,
            "GeoLite2-City",
            &[("81.2.69.0/24", "IE", Some("D"), Some("Dublin"))],
        );
        assert!(geo.reload_if_changed().unwrap());
        assert_eq!(geo.lookup(ip("81.2.69.0")), loc("IE", "IE-D", "Dublin"));
        assert_eq!(geo.lookup(ip("203.0.113.0")), Location::default());
        assert!(!geo.reload_if_changed().unwrap());
    }

    #[test]
    fn garbage_replacement_keeps_the_old_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();

        let temp = dir.path().join("new.tmp");
        std::fs::write(&temp, vec![0xab; 4096]).unwrap();
        std::fs::rename(&temp, &path).unwrap();
        let err = geo.reload_if_changed().unwrap_err();
        assert!(matches!(err, GeoError::Invalid { .. }), "{err:?}");
        assert_eq!(geo.lookup(ip("81.2.69.0")), loc("GB", "GB-ENG", "London"));
        // Not re-read until it changes again, or a forced reload.
        assert!(!geo.reload_if_changed().unwrap());
        assert!(geo.reload().is_err());

        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            geo.reload_if_changed(),
            Err(GeoError::Read { .. })
        ));
        assert_eq!(geo.lookup(ip("81.2.69.0")), loc("GB", "GB-ENG", "London"));

        london_db(&path);
        assert!(geo.reload_if_changed().unwrap());
    }

    async fn wait_for(geo: &Geo, address: &str, want: &Location) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if geo.lookup(ip(address)) == *want {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn watcher_reloads_on_a_timer_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        let stop = CancellationToken::new();
        let task = Arc::clone(&geo).spawn_watcher(Duration::from_millis(20), stop.clone());

        fixture::geoip2(
            &path,
            "GeoLite2-City",
            &[("81.2.69.0/24", "IE", None, Some("Cork"))],
        );
        assert!(wait_for(&geo, "81.2.69.0", &loc("IE", "", "Cork")).await);
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn watcher_reloads_on_sighup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        let stop = CancellationToken::new();
        // A timer that never fires within the test: only SIGHUP can reload.
        let task = Arc::clone(&geo).spawn_watcher(Duration::from_secs(3600), stop.clone());

        fixture::geoip2(
            &path,
            "GeoLite2-City",
            &[("81.2.69.0/24", "IE", None, Some("Galway"))],
        );
        let status = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(wait_for(&geo, "81.2.69.0", &loc("IE", "", "Galway")).await);
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn disabled_watcher_waits_for_stop() {
        let stop = CancellationToken::new();
        let task = Geo::disabled().spawn_watcher(Duration::from_millis(1), stop.clone());
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn region_codes() {
        assert_eq!(region_code("GB", "ENG"), "GB-ENG");
        assert_eq!(region_code("GB", "GB-ENG"), "GB-ENG");
        assert_eq!(region_code("GB", "FR-IDF"), "");
        assert_eq!(region_code("GB", "England"), "");
        assert_eq!(region_code("GB", "Bay"), "");
        assert_eq!(region_code("GB", ""), "");
        assert_eq!(region_code("", "ENG"), "");
        assert_eq!(region_code("US", " CA "), "US-CA");
        assert_eq!(region_code("FR", "75"), "FR-75");
        assert_eq!(region_code("GB", "Ile-de-France"), "");
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
