//! ISO 3166-2 region codes (`GB-ENG`) from a record's subdivision code or
//! flat-layout `state1`. A region *name* ("England") gives no code: turning
//! names into codes needs a table we do not ship, and mixing names with
//! codes would split one region into two rows.

/// `GB-ENG` from `ENG` or `GB-ENG` given country `GB`; empty for a name, a
/// code of another country, or no country at all.
pub(super) fn region_code(country: &str, code: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
