//! The optional fields a beacon carried but the parser could not use.
//!
//! Plausible's trackers (and integrations written against its docs) send
//! optional fields this parser cannot always read: props that are not an
//! object, revenue without a currency, an `interactive` that is not a
//! boolean. A pageview is never refused over one of those; the field (or
//! its bad part) is left out, and the event is stored without it. The
//! operator still needs to see that it happens, without a log line per
//! request (which would carry request data): the beacon records which
//! fields it left out, in a bitset that costs nothing when there are none,
//! and the HTTP layer counts them in `analytics_fields_ignored_total`.

/// An optional field of the Events API that can be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionalField {
    Props,
    Revenue,
    Referrer,
    Interactive,
    HashMode,
    ScreenWidth,
    ScrollDepth,
    EngagementTime,
}

impl OptionalField {
    pub const ALL: [OptionalField; 8] = [
        Self::Props,
        Self::Revenue,
        Self::Referrer,
        Self::Interactive,
        Self::HashMode,
        Self::ScreenWidth,
        Self::ScrollDepth,
        Self::EngagementTime,
    ];

    /// The name the field goes by in error messages and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Props => "props",
            Self::Revenue => "revenue",
            Self::Referrer => "referrer",
            Self::Interactive => "interactive",
            Self::HashMode => "hashMode",
            Self::ScreenWidth => "w",
            Self::ScrollDepth => "sd",
            Self::EngagementTime => "e",
        }
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// The optional fields one beacon left out, in whole or in part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ignored(u16);

impl Ignored {
    pub fn add(&mut self, field: OptionalField) {
        self.0 |= field.bit();
    }

    pub fn contains(self, field: OptionalField) -> bool {
        self.0 & field.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields left out, in [`OptionalField::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = OptionalField> {
        OptionalField::ALL
            .into_iter()
            .filter(move |&field| self.contains(field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_its_own_bit_and_name() {
        let mut all = Ignored::default();
        assert!(all.is_empty());
        for (i, field) in OptionalField::ALL.into_iter().enumerate() {
            let mut one = Ignored::default();
            one.add(field);
            assert_eq!(one.iter().collect::<Vec<_>>(), vec![field]);
            assert!(!all.contains(field));
            all.add(field);
            assert_eq!(all.iter().count(), i + 1);
        }
        let mut names: Vec<&str> = OptionalField::ALL.iter().map(|f| f.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), OptionalField::ALL.len());
    }
}
