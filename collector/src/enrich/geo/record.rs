//! The record layouts understood, decided per record:
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

use super::region::region_code;
use super::Location;
use maxminddb::{MaxMindDbError, Reader};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::marker::PhantomData;
use std::net::IpAddr;

/// The record for `ip`, `None` when the database has none.
pub(super) fn read_record(
    reader: &Reader<Vec<u8>>,
    ip: IpAddr,
) -> Result<Option<Record<'_>>, MaxMindDbError> {
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
pub(super) struct Record<'a> {
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
    pub(super) fn location(&self) -> Location {
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
    use crate::enrich::geo::fixture::{self, ip, loc, london_db};
    use crate::enrich::geo::{Geo, Location};
    use mmdb_writer::{ipnet::IpNet, Value, Writer};

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
}
