//! `matches` patterns checked before they reach ClickHouse.
//!
//! ClickHouse runs them with RE2, and Rust's `regex` shares RE2's syntax
//! and its linear-time matching, but not all of it: this module accepts a
//! pattern only if `regex` compiles it within [`MAX_PROGRAM_BYTES`] (so a
//! short pattern cannot expand into a huge automaton, such as
//! `(\w{100}){10}`), and its syntax tree uses nothing RE2 lacks (RE2 as
//! ClickHouse 18.16 bundles it): class set operations (`[a&&b]`), nested
//! classes, the `x`, `R` and `u` flags, `(?<name>)` groups, `\u`/`\U`
//! escapes, `\<` and `\b{start}` boundaries, `\p{name=value}` classes and
//! repetition counts above 1,000. Each refusal says which of these it met.
//!
//! What RE2 still refuses after this (a Unicode property `regex` knows and
//! RE2 does not, such as `\p{Emoji}`) ClickHouse reports as code 427, which
//! the service answers as a 400 too ([`crate::error::ApiError::from_report`]).

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassSetBinaryOp, ClassSetItem, ClassUnicode, ClassUnicodeKind, Flag,
    FlagsItemKind, GroupKind, HexLiteralKind, LiteralKind, RepetitionKind, RepetitionRange,
};

/// The most memory a pattern's compiled program may take in `regex`:
/// room for `\w{40}` or `.{990}`, not for `(\w{100}){10}` (RE2 gives
/// a pattern 8 MiB, its program and its matching cache together).
pub const MAX_PROGRAM_BYTES: usize = 2 << 20;
/// RE2's largest repetition count.
const MAX_REPEAT: u32 = 1000;

/// `Ok` for a pattern both engines run the same way, else why not, as a
/// phrase that follows the pattern's place (`filters[0][2][1] ...`).
pub fn check(pattern: &str) -> Result<(), String> {
    let tree = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("is not a valid regular expression: {}", e.kind()))?;
    ast::visit(&tree, Re2Syntax)?;
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_PROGRAM_BYTES)
        .build()
        .map(drop)
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => format!(
                "is too large a regular expression once compiled (more than {} MiB); simplify its repetitions",
                MAX_PROGRAM_BYTES >> 20
            ),
            other => format!("is not a valid regular expression: {other}"),
        })
}

/// Walks a syntax tree, refusing what RE2 lacks.
struct Re2Syntax;

fn unsupported(what: &str) -> Result<(), String> {
    Err(format!(
        "uses {what}, which ClickHouse's regular expressions (RE2) do not support"
    ))
}

impl ast::Visitor for Re2Syntax {
    type Output = ();
    type Err = String;

    fn finish(self) -> Result<(), String> {
        Ok(())
    }

    fn visit_pre(&mut self, tree: &Ast) -> Result<(), String> {
        match tree {
            Ast::Flags(set) => flags(&set.flags.items),
            Ast::Group(group) => match &group.kind {
                GroupKind::CaptureName {
                    starts_with_p: false,
                    ..
                } => unsupported("a `(?<name>...)` group (write `(?P<name>...)`)"),
                GroupKind::NonCapturing(f) => flags(&f.items),
                _ => Ok(()),
            },
            Ast::Literal(literal) => literal_kind(&literal.kind),
            Ast::Assertion(a) => assertion(&a.kind),
            Ast::ClassUnicode(class) => unicode_class(class),
            Ast::Repetition(repetition) => match &repetition.op.kind {
                RepetitionKind::Range(range) => repeat(range),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), String> {
        match item {
            ClassSetItem::Bracketed(_) => unsupported("a class nested in a class"),
            ClassSetItem::Literal(literal) => literal_kind(&literal.kind),
            ClassSetItem::Range(range) => {
                literal_kind(&range.start.kind)?;
                literal_kind(&range.end.kind)
            }
            ClassSetItem::Unicode(class) => unicode_class(class),
            _ => Ok(()),
        }
    }

    fn visit_class_set_binary_op_pre(&mut self, _op: &ClassSetBinaryOp) -> Result<(), String> {
        unsupported("a class operation (`&&`, `--` or `~~`)")
    }
}

fn flags(items: &[ast::FlagsItem]) -> Result<(), String> {
    for item in items {
        match item.kind {
            FlagsItemKind::Flag(Flag::IgnoreWhitespace) => return unsupported("the `x` flag"),
            FlagsItemKind::Flag(Flag::CRLF) => return unsupported("the `R` flag"),
            FlagsItemKind::Flag(Flag::Unicode) => return unsupported("the `u` flag"),
            _ => {}
        }
    }
    Ok(())
}

fn literal_kind(kind: &LiteralKind) -> Result<(), String> {
    match kind {
        LiteralKind::HexFixed(HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong)
        | LiteralKind::HexBrace(HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong) => {
            unsupported("a `\\u` or `\\U` escape (write `\\x{...}`)")
        }
        _ => Ok(()),
    }
}

fn assertion(kind: &AssertionKind) -> Result<(), String> {
    match kind {
        AssertionKind::StartLine
        | AssertionKind::EndLine
        | AssertionKind::StartText
        | AssertionKind::EndText
        | AssertionKind::WordBoundary
        | AssertionKind::NotWordBoundary => Ok(()),
        _ => unsupported("a start or end of word assertion (`\\<`, `\\>`, `\\b{...}`)"),
    }
}

fn unicode_class(class: &ClassUnicode) -> Result<(), String> {
    match &class.kind {
        ClassUnicodeKind::NamedValue { .. } => {
            unsupported("a `\\p{name=value}` class (write `\\p{Greek}` or `\\p{Lu}`)")
        }
        _ => Ok(()),
    }
}

fn repeat(range: &RepetitionRange) -> Result<(), String> {
    let largest = match *range {
        RepetitionRange::Exactly(n) | RepetitionRange::AtLeast(n) => n,
        RepetitionRange::Bounded(a, b) => a.max(b),
    };
    if largest > MAX_REPEAT {
        return Err(format!(
            "repeats more than {MAX_REPEAT} times, the most ClickHouse's regular expressions (RE2) allow"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_both_engines_run_are_accepted() {
        for pattern in [
            "^/blog/?$",
            "^/(blog|docs)/[a-z0-9-]+/?$",
            "(?i)^/Pricing",
            "(?P<slug>[^/]+)$",
            "\\d{4}-\\d{2}",
            "[[:alpha:]]+",
            "\\p{Greek}|\\pL|\\p{Lu}",
            "\\x{1F600}|\\x41",
            "\\bword\\b\\B",
            "a{1000}",
            "\\?",
            ".*",
            "(?s:.)",
            "\\w{20}",
        ] {
            assert_eq!(check(pattern), Ok(()), "{pattern}");
        }
    }

    #[test]
    fn what_re2_lacks_is_named() {
        for (pattern, named) in [
            ("[a-z&&[^aeiou]]", "class operation"),
            ("[a-z--b]", "class operation"),
            ("[a[bc]]", "nested"),
            ("(?x) a b", "`x` flag"),
            ("(?R)^a$", "`R` flag"),
            ("(?u:\\w)", "`u` flag"),
            ("(?<slug>x)", "(?P<name>"),
            ("\\u00e9", "\\u"),
            ("\\U0001F600", "\\u"),
            ("[\\u0041-\\u005A]", "\\u"),
            ("\\<word\\>", "word assertion"),
            ("\\b{start}a", "word assertion"),
            ("\\p{Script=Greek}", "name=value"),
            ("a{1001}", "1000 times"),
            ("a{2,5000}", "1000 times"),
        ] {
            let refusal = check(pattern).unwrap_err();
            assert!(refusal.contains(named), "{pattern}: {refusal}");
        }
    }

    #[test]
    fn invalid_and_huge_patterns_are_refused() {
        assert!(check("(").unwrap_err().contains("not a valid"));
        assert!(check("a{2,1}").unwrap_err().contains("not a valid"));
        assert!(check("\\1").unwrap_err().contains("not a valid"));
        // Short to write, huge once compiled.
        let huge = check("(\\w{100}){10}").unwrap_err();
        assert!(huge.contains("too large"), "{huge}");
        assert!(check("(a{1000}){1000}").unwrap_err().contains("too large"));
    }
}
