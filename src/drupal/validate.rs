//! Drupal's own field validation, repeated before writing rows directly.
//!
//! A direct SQL write skips Drupal's entity validation, so the writer must
//! refuse anything Drupal itself would refuse:
//!
//! * [`validate_username`] follows core's `UserNameConstraintValidator`
//!   (Drupal 8.x–11.x): non-empty, no leading/trailing space, no double
//!   space, a restricted ASCII set plus most non-ASCII characters, and at most
//!   60 characters (counted like `mb_strlen`, i.e. code points).
//! * [`validate_mail`] approximates the RFC validator Drupal uses
//!   (`egulias/email-validator`, `RFCValidation`) strictly; see its doc.
//! * [`validate_langcode`] checks the shape of a Drupal language code.
//!
//! Errors are plain-English sentences naming the rule that failed.

/// Drupal's `UserInterface::USERNAME_MAX_LENGTH`, in characters.
pub const USERNAME_MAX_LENGTH: usize = 60;

/// Drupal's `Email::EMAIL_MAX_LENGTH`, in characters.
pub const MAIL_MAX_LENGTH: usize = 254;

/// Maximum length of a mailbox local part, in bytes (RFC 5321).
pub const MAIL_LOCAL_MAX_LENGTH: usize = 64;

/// Maximum length of one DNS label, in bytes.
const DOMAIN_LABEL_MAX_LENGTH: usize = 63;

/// Maximum length of a Drupal langcode (`varchar_ascii(12)`).
pub const LANGCODE_MAX_LENGTH: usize = 12;

/// Non-ASCII code points Drupal refuses in user names (inclusive ranges).
const ILLEGAL_NAME_RANGES: &[(char, char)] = &[
    ('\u{0080}', '\u{00A0}'), // non-printable ISO-8859-1 and no-break space
    ('\u{00AD}', '\u{00AD}'), // soft hyphen
    ('\u{2000}', '\u{200F}'), // assorted spaces, zero-width and direction marks
    ('\u{2028}', '\u{202F}'), // line/paragraph separators, bidi overrides
    ('\u{205F}', '\u{206F}'), // math space, invisible operators
    ('\u{FEFF}', '\u{FEFF}'), // byte order mark
    ('\u{FF01}', '\u{FF60}'), // full-width Latin
    ('\u{FFF9}', '\u{FFFD}'), // interlinear annotation, replacement characters
];

/// Checks a user name against Drupal's `UserNameConstraintValidator` rules.
///
/// Like Drupal (which tests the value for PHP truthiness), `"0"` counts as empty.
///
/// # Errors
/// A sentence naming the first rule the name breaks.
pub fn validate_username(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "0" {
        return Err("the user name is empty".to_string());
    }
    if name.starts_with(' ') {
        return Err("the user name begins with a space".to_string());
    }
    if name.ends_with(' ') {
        return Err("the user name ends with a space".to_string());
    }
    if name.contains("  ") {
        return Err("the user name contains two or more consecutive spaces".to_string());
    }
    if let Some(c) = name.chars().find(|&c| !is_allowed_name_char(c)) {
        return Err(format!("the user name contains an illegal character (\"{}\")", describe_char(c)));
    }
    if name.chars().count() > USERNAME_MAX_LENGTH {
        return Err(format!(
            "the user name \"{}\" is longer than {USERNAME_MAX_LENGTH} characters",
            abbreviate(name, 20)
        ));
    }
    Ok(())
}

/// Drupal 7's `user_validate_name()`: the same rules, but `+` was only allowed from Drupal 8 on
/// (Drupal 7's own account form would refuse to save such an account again).
pub fn validate_drupal7_username(name: &str) -> Result<(), String> {
    validate_username(name)?;
    if name.contains('+') {
        return Err("the user name contains an illegal character (\"+\"): Drupal 7 does not allow it".to_string());
    }
    Ok(())
}

/// ASCII letters, digits, space and `.@+_'-`, or any non-ASCII char outside [`ILLEGAL_NAME_RANGES`].
fn is_allowed_name_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || " .@+_'-".contains(c)
    } else {
        !ILLEGAL_NAME_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
    }
}

/// The char itself if it is printable ASCII, else a `\u{XXXX}` escape.
fn describe_char(c: char) -> String {
    if c.is_ascii_graphic() { c.to_string() } else { format!("\\u{{{:04X}}}", u32::from(c)) }
}

/// The first `max` characters of `s`, with `…` if anything was cut.
fn abbreviate(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Checks an e-mail address with a strict approximation of Drupal's RFC validator.
///
/// Rules: at most 254 characters; no whitespace or control characters;
/// exactly one `@` outside a quoted local part; a local part of 1–64 bytes
/// that is either a dot-atom (RFC 5322 atext or non-ASCII, no leading,
/// trailing or doubled dot) or a whole quoted string; a domain of
/// dot-separated labels of 1–63 bytes made of letters, digits, hyphens or
/// non-ASCII characters, not starting or ending with a hyphen. Single-label
/// domains (`user@localhost`) are accepted, as Drupal accepts them; domain
/// literals (`user@[192.0.2.1]`) and comments are refused, although the RFC
/// validator would allow them.
///
/// # Errors
/// A sentence naming the first rule the address breaks.
pub fn validate_mail(mail: &str) -> Result<(), String> {
    if mail.is_empty() {
        return Err("the e-mail address is empty".to_string());
    }
    if mail.chars().count() > MAIL_MAX_LENGTH {
        return Err(format!("the e-mail address is longer than {MAIL_MAX_LENGTH} characters"));
    }
    if let Some(c) = mail.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the e-mail address contains whitespace or a control character (\"{}\")",
            describe_char(c)
        ));
    }
    let (local, domain) = split_mail(mail)?;
    validate_local_part(local)?;
    validate_domain(domain)
}

/// Splits at the single `@` that is outside quotes.
fn split_mail(mail: &str) -> Result<(&str, &str), String> {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut at_positions = Vec::new();
    for (i, c) in mail.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '@' if !in_quotes => at_positions.push(i),
            _ => {}
        }
    }
    if in_quotes {
        return Err("the e-mail address has an unterminated quoted string".to_string());
    }
    match at_positions.as_slice() {
        [at] => Ok((mail.get(..*at).unwrap_or_default(), mail.get(at + 1..).unwrap_or_default())),
        [] => Err("the e-mail address has no \"@\"".to_string()),
        _ => Err("the e-mail address has more than one \"@\"".to_string()),
    }
}

/// A dot-atom or a fully quoted local part of 1–64 bytes.
fn validate_local_part(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("the e-mail address has nothing before the \"@\"".to_string());
    }
    if local.len() > MAIL_LOCAL_MAX_LENGTH {
        return Err(format!(
            "the part of the e-mail address before the \"@\" is longer than {MAIL_LOCAL_MAX_LENGTH} bytes"
        ));
    }
    if local.contains('"') {
        return validate_quoted_local(local);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(
            "the part of the e-mail address before the \"@\" starts or ends with a dot or has two dots in a row"
                .to_string(),
        );
    }
    match local.chars().find(|&c| !is_atext(c) && c != '.') {
        Some(c) => Err(format!(
            "the part of the e-mail address before the \"@\" contains an illegal character (\"{}\")",
            describe_char(c)
        )),
        None => Ok(()),
    }
}

/// RFC 5322 `atext`, extended with non-ASCII as RFC 6531 allows.
fn is_atext(c: char) -> bool {
    !c.is_ascii() || c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// `"…"` covering the whole local part, with `\`-escapes; it must not be empty.
fn validate_quoted_local(local: &str) -> Result<(), String> {
    let inner = local.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).filter(|inner| !inner.is_empty());
    let Some(inner) = inner else {
        return Err(
            "a quoted part of the e-mail address must be the whole, non-empty part before the \"@\"".to_string()
        );
    };
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                return Err("a quoted part of the e-mail address must be the whole part before the \"@\"".to_string());
            }
            _ => {}
        }
    }
    Ok(())
}

/// Dot-separated labels of letters, digits, hyphens or non-ASCII, no edge hyphens.
fn validate_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("the e-mail address has no domain after the \"@\"".to_string());
    }
    for label in domain.split('.') {
        validate_domain_label(label)?;
    }
    Ok(())
}

/// One DNS label of the mail domain.
fn validate_domain_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("the e-mail domain starts or ends with a dot or has two dots in a row".to_string());
    }
    if label.len() > DOMAIN_LABEL_MAX_LENGTH {
        return Err(format!("a part of the e-mail domain is longer than {DOMAIN_LABEL_MAX_LENGTH} bytes"));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("a part of the e-mail domain starts or ends with a hyphen".to_string());
    }
    let legal = |c: char| !c.is_ascii() || c.is_ascii_alphanumeric() || c == '-';
    match label.chars().find(|&c| !legal(c)) {
        Some(c) => Err(format!("the e-mail domain contains an illegal character (\"{}\")", describe_char(c))),
        None => Ok(()),
    }
}

/// Checks a Drupal language code: 1–12 characters of `[a-zA-Z0-9_-]`.
///
/// # Errors
/// A sentence naming the rule the code breaks.
pub fn validate_langcode(code: &str) -> Result<(), String> {
    if code.is_empty() {
        return Err("the language code is empty".to_string());
    }
    if code.len() > LANGCODE_MAX_LENGTH {
        return Err(format!(
            "the language code \"{}\" is longer than {LANGCODE_MAX_LENGTH} characters",
            abbreviate(code, 20)
        ));
    }
    match code.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        Some(c) => Err(format!("the language code contains an illegal character (\"{}\")", describe_char(c))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn drupal7_names_refuse_the_plus_drupal_8_allowed() {
        assert!(validate_username("first+tag@example.com").is_ok());
        assert!(validate_drupal7_username("first+tag@example.com").unwrap_err().contains("\"+\""));
        assert!(validate_drupal7_username("o'brien.x-y_z@example.com").is_ok());
        assert!(validate_drupal7_username(" lead").is_err());
    }

    use super::*;

    fn name_err(name: &str) -> String {
        validate_username(name).unwrap_err()
    }

    #[test]
    fn usernames_drupal_accepts() {
        for name in [
            "jdoe",
            "J.Doe",
            "john.doe@example.com",
            "o'brien",
            "a-b_c+d",
            "user 1",
            "x",
            "00",
            "Jürgen",
            "Ǆemal",
            "山田太郎",
            "Ωmega",
            "emoji😀",
            "\u{00A1}",         // first char after the NBSP range
            "\u{00AC}\u{00AE}", // neighbours of the soft hyphen
            "\u{2010}",         // hyphen, just past U+200F
            "\u{2027}\u{2030}", // just outside U+2028..=U+202F
            "\u{FF00}\u{FF61}", // just outside the full-width block
            "\u{FFFE}",
            &"a".repeat(60),
            &"é".repeat(60),
        ] {
            assert_eq!(validate_username(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn username_empty_and_spaces() {
        assert_eq!(name_err(""), "the user name is empty");
        assert_eq!(name_err("0"), "the user name is empty");
        assert_eq!(name_err(" jdoe"), "the user name begins with a space");
        assert_eq!(name_err("jdoe "), "the user name ends with a space");
        assert_eq!(name_err("j  doe"), "the user name contains two or more consecutive spaces");
    }

    #[test]
    fn username_illegal_ascii() {
        for name in [
            "j#doe", "a/b", "a\\b", "a\"b", "a,b", "a;b", "a:b", "a*b", "a!b", "a<b", "a=b", "a\tb", "a\nb",
            "a\u{7F}b", "a\0b",
        ] {
            assert!(name_err(name).starts_with("the user name contains an illegal character"), "{name:?}");
        }
        assert_eq!(name_err("j#doe"), "the user name contains an illegal character (\"#\")");
        assert_eq!(name_err("a\tb"), "the user name contains an illegal character (\"\\u{0009}\")");
    }

    #[test]
    fn username_illegal_non_ascii_ranges() {
        let illegal = [
            '\u{0080}', '\u{0099}', '\u{00A0}', '\u{00AD}', '\u{2000}', '\u{200B}', '\u{200F}', '\u{2028}', '\u{202E}',
            '\u{202F}', '\u{205F}', '\u{2060}', '\u{206F}', '\u{FEFF}', '\u{FF01}', '\u{FF21}', '\u{FF60}', '\u{FFF9}',
            '\u{FFFD}',
        ];
        for c in illegal {
            let name = format!("ab{c}cd");
            assert!(validate_username(&name).is_err(), "U+{:04X}", u32::from(c));
        }
        assert_eq!(name_err("zero\u{200B}width"), "the user name contains an illegal character (\"\\u{200B}\")");
    }

    #[test]
    fn username_length_counts_characters() {
        let long = "a".repeat(61);
        assert_eq!(name_err(&long), format!("the user name \"{}…\" is longer than 60 characters", "a".repeat(20)));
        // 60 two-byte characters = 120 bytes, still fine; 61 are not.
        assert!(validate_username(&"ü".repeat(61)).is_err());
    }

    #[test]
    fn mails_accepted() {
        for mail in [
            "jdoe@example.com",
            "j.doe+tag@sub.example.co.uk",
            "o'brien@example.ie",
            "x@localhost",
            "a!#$%&'*+-/=?^_`{|}~b@example.com",
            "jürgen@bücher.de",
            "\"john..doe\"@example.com",
            "\"a@b\"@example.com",
            "\"a\\\"b\"@example.com",
            "user@xn--bcher-kva.example",
            "1@2.3",
        ] {
            assert_eq!(validate_mail(mail), Ok(()), "{mail:?}");
        }
        let local = "a".repeat(64);
        let domain = format!("{}.{}.{}.com", "b".repeat(63), "c".repeat(63), "d".repeat(57));
        let longest = format!("{local}@{domain}");
        assert_eq!(longest.len(), 254);
        assert_eq!(validate_mail(&longest), Ok(()));
    }

    #[test]
    fn mails_rejected() {
        for mail in [
            "",
            "jdoe",
            "@example.com",
            "jdoe@",
            "a@b@example.com",
            "j doe@example.com",
            "jdoe@exa mple.com",
            "jdoe@example.com\n",
            "jdoe\u{0}@example.com",
            "jdoe\u{00A0}@example.com",
            ".jdoe@example.com",
            "jdoe.@example.com",
            "j..doe@example.com",
            "jdoe@.example.com",
            "jdoe@example.com.",
            "jdoe@example..com",
            "jdoe@-example.com",
            "jdoe@example-.com",
            "jdoe@exa_mple.com",
            "jdoe@[192.0.2.1]",
            "j(comment)doe@example.com",
            "j,doe@example.com",
            "a\"b\"c@example.com",
            "\"\"@example.com",
            "\"unterminated@example.com",
            "j<doe>@example.com",
        ] {
            assert!(validate_mail(mail).is_err(), "accepted {mail:?}");
        }
    }

    #[test]
    fn mail_lengths() {
        let local65 = format!("{}@example.com", "a".repeat(65));
        assert!(validate_mail(&local65).unwrap_err().contains("longer than 64"));
        let label64 = format!("a@{}.com", "b".repeat(64));
        assert!(validate_mail(&label64).is_err());
        let too_long = format!("{}@{}.{}.{}.com", "a".repeat(64), "b".repeat(63), "c".repeat(63), "d".repeat(58));
        assert_eq!(too_long.chars().count(), 255);
        assert_eq!(validate_mail(&too_long).unwrap_err(), "the e-mail address is longer than 254 characters");
    }

    #[test]
    fn langcodes() {
        for code in ["en", "de", "pt-br", "zh-hans", "und", "zxx", "x_custom", "abcdefghijkl"] {
            assert_eq!(validate_langcode(code), Ok(()), "{code}");
        }
        for code in ["", "abcdefghijklm", "en us", "fr.", "dé", "en/us"] {
            assert!(validate_langcode(code).is_err(), "{code:?}");
        }
    }
}
