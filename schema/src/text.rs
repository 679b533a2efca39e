//! String helpers for the per-beacon path. The strings there are short
//! (hosts, query pairs, header values), and the standard library's general
//! versions spend more on set-up than these strings take to scan.

/// Below this many bytes a plain loop finds a byte sooner than memchr,
/// whose vector set-up only pays off on longer input.
const SHORT: usize = 32;

/// The first `byte` in `bytes`.
pub fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    if bytes.len() < SHORT {
        return bytes.iter().position(|&b| b == byte);
    }
    memchr::memchr(byte, bytes)
}

/// `text` cut at the first `byte` (ASCII, so both sides stay valid UTF-8):
/// `split_once` with a char, without the char searcher.
pub fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    let at = find_byte(text.as_bytes(), byte)?;
    Some((&text[..at], &text[at + 1..]))
}

/// `str::trim`, which walks both ends as Unicode; nearly every string here
/// starts and ends with a visible ASCII character and is returned as it is.
pub fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    let visible = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    if visible(bytes.first()) && visible(bytes.last()) {
        return text;
    }
    text.trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Lengths on both sides of `SHORT`, so both searches are compared.
        #[test]
        fn byte_splits_cut_as_str_splits_do(text in "[a-z&=?#,é]{0,80}", pick in 0usize..5) {
            let sep = ['&', '=', '?', '#', ','][pick];
            let byte = u8::try_from(sep).unwrap();
            prop_assert_eq!(split_at_byte(&text, byte), text.split_once(sep));
        }

        #[test]
        fn trims_as_str_trim_does(text in "[ \t\n\u{a0}\u{2003}\u{3000}a-z.é]{0,12}") {
            prop_assert_eq!(trim(&text), text.trim());
        }
    }

    #[test]
    fn unicode_spaces_at_the_ends_are_trimmed() {
        assert_eq!(trim("\u{a0}example.com\u{2003}"), "example.com");
        assert_eq!(trim(" a "), "a");
        assert_eq!(trim("a"), "a");
        assert_eq!(trim(""), "");
    }
}
