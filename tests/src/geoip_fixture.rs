//! GeoIP databases for tests: the writers live in [`loadtest::geoip`]
//! (`scripts/up --demo` builds its database with them too); these wrappers
//! panic instead of returning errors, as test fixtures may.

pub use loadtest::geoip::{GeoEntry, IpNet};
use std::path::Path;

/// Writes a GeoIP2-City-layout `.mmdb` with these entries to `path`.
pub fn write_city_db(path: &Path, entries: &[GeoEntry]) {
    loadtest::geoip::write_city_db(path, entries).expect("geoip fixture");
}

/// Writes a GeoLite2-Country `.mmdb`: countries only.
pub fn write_country_db(path: &Path, entries: &[(IpNet, &'static str)]) {
    loadtest::geoip::write_country_db(path, entries).expect("geoip fixture");
}

/// Writes the flat `@ip-location-db/*-mmdb` layout.
pub fn write_flat_db(path: &Path, entries: &[(IpNet, &str, &str, &str)]) {
    loadtest::geoip::write_flat_db(path, entries).expect("geoip fixture");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn city_and_flat_databases_read_back_through_the_collector() {
        let dir = tempfile::tempdir().unwrap();
        let city = dir.path().join("city.mmdb");
        write_city_db(
            &city,
            &[
                GeoEntry {
                    network: "81.2.69.0/24".parse().unwrap(),
                    country: "GB",
                    subdivision: Some("ENG"),
                    city: Some("London"),
                },
                GeoEntry {
                    network: "2001:db8::/32".parse().unwrap(),
                    country: "FR",
                    subdivision: None,
                    city: None,
                },
            ],
        );
        let geo = collector::enrich::geo::Geo::open(&city).unwrap();
        let london = geo.lookup(collector::privacy::truncate("81.2.69.0".parse().unwrap()));
        assert_eq!(
            (
                london.country.as_str(),
                london.region.as_str(),
                london.city.as_str()
            ),
            ("GB", "GB-ENG", "London")
        );
        assert_eq!(
            geo.lookup(collector::privacy::truncate(
                "2001:db8:1::".parse().unwrap()
            ))
            .country,
            "FR"
        );

        let flat = dir.path().join("flat.mmdb");
        let net: IpNet = "192.0.2.0/24".parse().unwrap();
        write_flat_db(&flat, &[(net, "DE", "Berlin", "Berlin")]);
        let geo = collector::enrich::geo::Geo::open(&flat).unwrap();
        let berlin = geo.lookup(collector::privacy::truncate("192.0.2.0".parse().unwrap()));
        assert_eq!(
            (berlin.country.as_str(), berlin.region.as_str()),
            ("DE", "")
        );
        assert_eq!(berlin.city, "Berlin");
    }
}
