//! Small GeoIP databases, written with `mmdb-writer` in the layouts the
//! collector reads: for tests, and for the demo data of `scripts/up --demo`
//! (see [`crate::demo`]), so no real (licensed, large) database is ever
//! committed.
//!
//! Files are written to a temporary name and renamed into place, which is
//! also how operators must replace a database under a running collector: a
//! reader never sees a half-written file.

// This crate does not depend on `ipnet` itself; mmdb-writer re-exports the
// very crate, so `IpNet` here is `ipnet::IpNet`.
use anyhow::Context;
pub use mmdb_writer::ipnet::IpNet;
use mmdb_writer::Writer;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One network and what the database says about it.
#[derive(Debug, Clone)]
pub struct GeoEntry {
    pub network: IpNet,
    /// ISO 3166-1 alpha-2, e.g. `GB`.
    pub country: &'static str,
    /// The ISO 3166-2 subdivision part, e.g. `ENG` (the reader adds `GB-`).
    pub subdivision: Option<&'static str>,
    /// English city name.
    pub city: Option<&'static str>,
}

/// Writes a GeoIP2-City-layout `.mmdb` with these entries to `path`.
/// An entry without subdivision or city is what a Country database holds.
pub fn write_city_db(path: &Path, entries: &[GeoEntry]) -> anyhow::Result<()> {
    let mut writer = Writer::new("GeoIP2-City");
    for entry in entries {
        let record = CityRecord::from(entry);
        writer
            .insert(entry.network, &record)
            .with_context(|| format!("geoip: insert {}", entry.network))?;
    }
    write_atomically(path, &writer)
}

/// Writes a GeoLite2-Country-layout `.mmdb`: the same records as a City
/// database without subdivision or city, under the type name that says so.
pub fn write_country_db(path: &Path, entries: &[(IpNet, &'static str)]) -> anyhow::Result<()> {
    let mut writer = Writer::new("GeoLite2-Country");
    for &(network, country) in entries {
        let record = CityRecord {
            country: Place::new(Some(country), country),
            subdivisions: Vec::new(),
            city: None,
        };
        writer
            .insert(network, &record)
            .with_context(|| format!("geoip: insert {network}"))?;
    }
    write_atomically(path, &writer)
}

/// Writes the flat `@ip-location-db/*-mmdb` layout: top-level
/// `country_code`, `state1` (a region name there) and `city`.
pub fn write_flat_db(path: &Path, entries: &[(IpNet, &str, &str, &str)]) -> anyhow::Result<()> {
    let mut writer = Writer::new("ip-location-db");
    for &(network, country_code, state1, city) in entries {
        let record = FlatRecord {
            country_code,
            state1,
            city,
        };
        writer
            .insert(network, &record)
            .with_context(|| format!("geoip: insert {network}"))?;
    }
    write_atomically(path, &writer)
}

/// The GeoIP2 City shape, trimmed to what the collector reads plus a
/// little it must skip (names in other languages, geoname ids).
#[derive(Serialize)]
struct CityRecord {
    country: Place,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subdivisions: Vec<Place>,
    city: Option<Place>,
}

#[derive(Serialize)]
struct Place {
    geoname_id: u32,
    iso_code: Option<&'static str>,
    names: BTreeMap<&'static str, &'static str>,
}

impl Place {
    fn new(iso_code: Option<&'static str>, english: &'static str) -> Self {
        Self {
            geoname_id: 1,
            iso_code,
            names: BTreeMap::from([("de", "Irgendwo"), ("en", english)]),
        }
    }
}

impl From<&GeoEntry> for CityRecord {
    fn from(entry: &GeoEntry) -> Self {
        Self {
            country: Place::new(Some(entry.country), entry.country),
            subdivisions: entry
                .subdivision
                .map(|code| Place::new(Some(code), code))
                .into_iter()
                .collect(),
            city: entry.city.map(|name| Place::new(None, name)),
        }
    }
}

#[derive(Serialize)]
struct FlatRecord<'a> {
    country_code: &'a str,
    state1: &'a str,
    city: &'a str,
}

/// Writes next to `path` and renames over it, so the swap is atomic.
fn write_atomically(path: &Path, writer: &Writer) -> anyhow::Result<()> {
    let bytes = writer.to_bytes().context("geoip: serialise")?;
    let temp = temp_name(path);
    std::fs::write(&temp, bytes).with_context(|| format!("geoip: write {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("geoip: rename to {}", path.display()))
}

/// `.<name>.tmp-<pid>` in the same directory: rename is only atomic within
/// one file system.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "geoip.mmdb".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
