//! Test fixtures: the shape real databases have, built with mmdb-writer
//! and renamed into place as an operator should, and the helpers the
//! pieces' tests share.

use super::Location;
use crate::privacy::TruncatedIp;
use mmdb_writer::{ipnet::IpNet, Value, Writer};
use std::path::Path;

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
            let city = Value::map([("geoname_id", Value::from(1_u32)), ("names", names(name))]);
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
        let record = Value::map([("country_code", country), ("state1", state), ("city", city)]);
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

/// The addresses below are already truncated, so this only changes type.
pub fn ip(s: &str) -> TruncatedIp {
    crate::privacy::truncate(s.parse().unwrap())
}

pub fn loc(country: &str, region: &str, city: &str) -> Location {
    Location {
        country: country.into(),
        region: region.into(),
        city: city.into(),
    }
}

pub fn london_db(path: &Path) {
    geoip2(
        path,
        "GeoLite2-City",
        &[
            ("81.2.68.0/23", "GB", Some("ENG"), Some("London")),
            ("2a02:8010::/32", "GB", Some("SCT"), Some("Edinburgh")),
            ("203.0.113.0/24", "AU", None, None),
        ],
    );
}
