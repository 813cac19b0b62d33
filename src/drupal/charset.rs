//! Which characters a column can hold. Drupal 7 tables are often 3-byte `utf8`, uuids are
//! `ascii`: a value outside a column's repertoire can neither be stored (the client hears why, with
//! a 400, before any SQL runs) nor match anything (a filter term on it is simply false), instead
//! of the database failing the statement with "illegal mix of collations".

/// The characters a column's character set can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Repertoire {
    Ascii,
    /// `utf8` / `utf8mb3`: the Basic Multilingual Plane only (no emoji).
    Bmp,
    /// `utf8mb4` and anything drupal-scim does not narrow.
    #[default]
    Full,
}

impl Repertoire {
    /// The repertoire of an information_schema CHARACTER_SET_NAME.
    pub fn of(charset: Option<&str>) -> Repertoire {
        match charset {
            Some("ascii") => Repertoire::Ascii,
            Some("utf8" | "utf8mb3") => Repertoire::Bmp,
            _ => Repertoire::Full,
        }
    }

    /// Whether every character of `text` fits.
    pub fn holds(self, text: &str) -> bool {
        match self {
            Repertoire::Ascii => text.is_ascii(),
            Repertoire::Bmp => text.chars().all(|c| (c as u32) <= 0xFFFF),
            Repertoire::Full => true,
        }
    }

    /// Why a value does not fit, for the client.
    pub fn refusal(self) -> &'static str {
        match self {
            Repertoire::Ascii => "contains characters other than ASCII, which this column cannot store",
            Repertoire::Bmp => {
                "contains characters (such as emoji) that this Drupal database's tables cannot store: they use 3-byte utf8, not utf8mb4"
            }
            Repertoire::Full => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repertoires() {
        assert_eq!(Repertoire::of(Some("utf8mb3")), Repertoire::Bmp);
        assert_eq!(Repertoire::of(Some("utf8")), Repertoire::Bmp);
        assert_eq!(Repertoire::of(Some("utf8mb4")), Repertoire::Full);
        assert_eq!(Repertoire::of(None), Repertoire::Full);
        assert!(Repertoire::Bmp.holds("Rédacteurs 中文"));
        assert!(!Repertoire::Bmp.holds("Ada 🚀"));
        assert!(!Repertoire::Ascii.holds("é"));
        assert!(Repertoire::Full.holds("🚀"));
    }
}
