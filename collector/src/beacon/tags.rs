//! The attribution tags of the page URL's query string: the five UTM tags,
//! `source=` and `ref=`, and the name of the first ad click id. Read in one
//! pass; only those values are decoded and the rest of the query, which may
//! hold tokens or e-mail addresses, is dropped unread.

use super::{pieces, truncate, Tags, Utm};
use crate::text::split_at_byte;
use compact_str::CompactString;

/// Each UTM value is cut to this many bytes.
const MAX_UTM_BYTES: usize = 2000;

/// The attribution parameters of the query string, in one pass: the first
/// non-empty value of each UTM tag, `source` and `ref`, and the first
/// click-id name. Only those values are decoded; everything else in the
/// query is dropped unread.
pub(super) fn query_tags(query: Option<&str>) -> (Utm, Tags) {
    let (mut utm, mut tags) = (Utm::default(), Tags::default());
    for pair in pieces(query.unwrap_or(""), b'&') {
        let key = split_at_byte(pair, b'=').map_or(pair, |(key, _)| key);
        let slot = match key {
            "utm_source" => &mut utm.source,
            "utm_medium" => &mut utm.medium,
            "utm_campaign" => &mut utm.campaign,
            "utm_content" => &mut utm.content,
            "utm_term" => &mut utm.term,
            "source" => &mut tags.source,
            "ref" => &mut tags.ref_param,
            name => {
                if tags.click_id_param.is_empty() {
                    if let Some(click) = crate::enrich::source::click_id(name) {
                        tags.click_id_param = click.param.into();
                    }
                }
                continue;
            }
        };
        if slot.is_empty() {
            *slot = decoded_value(pair);
        }
    }
    (utm, tags)
}

/// A `key=value` pair's value, form-decoded (`+` is a space) and truncated.
fn decoded_value(pair: &str) -> CompactString {
    // Nothing escaped (no `%`, no `+` for a space): the value as it is.
    if memchr::memchr2(b'%', b'+', pair.as_bytes()).is_none() {
        let value = split_at_byte(pair, b'=').map_or("", |(_, value)| value);
        return truncate(value, MAX_UTM_BYTES).into();
    }
    let value = form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, value)| value)
        .unwrap_or_default();
    truncate(&value, MAX_UTM_BYTES).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::tests::page;
    use proptest::prelude::*;

    #[test]
    fn source_ref_and_click_id_tags() {
        let tags = page("https://example.com/?ref=producthunt&source=hn&gclid=abc&msclkid=x").tags;
        assert_eq!(tags.source, "hn");
        assert_eq!(tags.ref_param, "producthunt");
        assert_eq!(tags.click_id_param, "gclid");
        assert_eq!(page("https://example.com/?q=1").tags, Tags::default());
    }

    #[test]
    fn utm_tags_decoded_and_other_params_dropped() {
        let utm = page(
            "https://example.com/?gclid=abc&utm_campaign=spring+sale%21&utm_content=a%26b&utm_term=x&email=me%40x.com&utm_source=",
        )
        .utm;
        let want = Utm {
            source: String::new().into(),
            medium: String::new().into(),
            campaign: "spring sale!".into(),
            content: "a&b".into(),
            term: "x".into(),
        };
        assert_eq!(utm, want);
    }

    #[test]
    fn utm_first_non_empty_value_wins() {
        let utm = page("https://example.com/?utm_source=&utm_source=one&utm_source=two").utm;
        assert_eq!(utm.source, "one");
    }

    proptest! {
        #[test]
        fn unescaped_values_read_as_form_decoding_reads_them(pair in "[a-z_=:/.;!~*'()$,-]{0,30}") {
            let slow = form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default();
            prop_assert_eq!(decoded_value(&pair), slow);
        }
    }
}
