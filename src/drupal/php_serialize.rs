//! PHP `serialize()` / `unserialize()` for the scalar and array subset that
//! Drupal stores in its `config` and `key_value` tables.
//!
//! Output is byte-for-byte what PHP 7.1+ produces (with the default
//! `serialize_precision = -1`). Strings are raw bytes and every `s:N:` length
//! counts bytes, so a UTF-8 label like `Rédacteurs` is `s:11:`.
//!
//! Like PHP, a string array key that is a canonical decimal integer (`"5"`,
//! `"-3"`, but not `"05"` or `"-0"`) is treated as the integer key: it is
//! written as `i:5;` and read back as [`PhpKey::Int`].
//!
//! The parser is deliberately stricter than PHP: it refuses objects (`O:`,
//! `C:`), enums (`E:`), references (`r:`, `R:`), duplicate array keys,
//! element-count mismatches, trailing bytes and nesting deeper than
//! [`MAX_DEPTH`].

use std::collections::HashSet;
use std::fmt::Write as _;

use thiserror::Error;

/// Deepest array nesting accepted by [`unserialize`] (the top-level array is depth 1).
pub const MAX_DEPTH: usize = 64;

/// A PHP value of the kinds that can appear in Drupal's serialized config.
#[derive(Debug, Clone, PartialEq)]
pub enum PhpValue {
    /// `NULL`, serialized as `N;`.
    Null,
    /// A boolean, serialized as `b:0;` / `b:1;`.
    Bool(bool),
    /// An integer (PHP `int` is 64-bit), serialized as `i:N;`.
    Int(i64),
    /// A float, serialized as `d:…;` with PHP's shortest round-trip format.
    Float(f64),
    /// A byte string (PHP strings are bytes), serialized as `s:LEN:"…";`.
    Str(Vec<u8>),
    /// An ordered PHP array, serialized as `a:N:{…}`.
    Array(Vec<(PhpKey, PhpValue)>),
}

/// A PHP array key: an integer or a byte string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PhpKey {
    /// Integer key.
    Int(i64),
    /// String key (never a canonical decimal integer once normalized).
    Str(Vec<u8>),
}

/// Why [`unserialize`] refused its input. Offsets are byte positions in the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhpSerializeError {
    /// The input ended before the value was complete.
    #[error("unexpected end of input at byte {0}")]
    UnexpectedEnd(usize),
    /// A byte other than the one the grammar requires.
    #[error("unexpected byte {found:?} at byte {offset}; expected {expected}")]
    Unexpected {
        /// Position of the offending byte.
        offset: usize,
        /// What the grammar required there.
        expected: &'static str,
        /// The byte that was found, as a char (Latin-1 view).
        found: char,
    },
    /// A type tag that is unknown or refused (objects, enums, references).
    #[error("unsupported type tag {tag:?} at byte {offset} (objects and references are refused)")]
    UnsupportedType {
        /// Position of the tag.
        offset: usize,
        /// The tag byte, as a char (Latin-1 view).
        tag: char,
    },
    /// A malformed or out-of-range number (integer, float or length).
    #[error("invalid number at byte {0}")]
    InvalidNumber(usize),
    /// A string length that runs past the end of the input or is not followed by `";`.
    #[error("string length at byte {0} does not match the data")]
    BadLength(usize),
    /// Arrays nested deeper than [`MAX_DEPTH`].
    #[error("arrays nested deeper than {MAX_DEPTH} at byte {0}")]
    TooDeep(usize),
    /// An array key that is neither `i:` nor `s:`.
    #[error("array key at byte {0} is neither an integer nor a string")]
    InvalidKey(usize),
    /// The same key twice in one array.
    #[error("duplicate array key at byte {0}")]
    DuplicateKey(usize),
    /// Bytes left over after the top-level value.
    #[error("{0} trailing byte(s) after the serialized value")]
    TrailingBytes(usize),
}

/// Returned by [`PhpValue::set`] when the target is not an array.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("value is not a PHP array")]
pub struct NotAnArray;

impl PhpKey {
    /// A string key, normalized the way PHP does (`"5"` becomes `Int(5)`).
    #[must_use]
    pub fn str(key: &str) -> Self {
        Self::from_bytes(key.as_bytes().to_vec())
    }

    /// A byte-string key, normalized the way PHP does.
    #[must_use]
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        match canonical_int(&bytes) {
            Some(n) => PhpKey::Int(n),
            None => PhpKey::Str(bytes),
        }
    }

    /// This key with PHP's numeric-string normalization applied.
    fn normalized(&self) -> PhpKey {
        match self {
            PhpKey::Int(n) => PhpKey::Int(*n),
            PhpKey::Str(bytes) => Self::from_bytes(bytes.clone()),
        }
    }
}

/// The integer a string key stands for, if PHP would treat it as an int key.
fn canonical_int(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.parse().ok()?;
    // Round-trip check rejects "05", "-0" and similar non-canonical forms.
    (n.to_string() == text).then_some(n)
}

impl PhpValue {
    /// A string value from UTF-8 text.
    #[must_use]
    pub fn str(s: &str) -> Self {
        PhpValue::Str(s.as_bytes().to_vec())
    }

    /// An int-keyed list `0..n`, like PHP's `[a, b, c]`.
    #[must_use]
    pub fn list(items: Vec<PhpValue>) -> Self {
        let entries = (0_i64..).zip(items).map(|(i, v)| (PhpKey::Int(i), v));
        PhpValue::Array(entries.collect())
    }

    /// An array with string keys in the given order.
    pub fn assoc<'a, I: IntoIterator<Item = (&'a str, PhpValue)>>(entries: I) -> Self {
        let mut array = PhpValue::Array(Vec::new());
        for (key, value) in entries {
            // Cannot fail: `array` is an array.
            let _ = array.set(key, value);
        }
        array
    }

    /// An empty array, `a:0:{}`.
    #[must_use]
    pub fn empty_array() -> Self {
        PhpValue::Array(Vec::new())
    }

    /// The entries if this is an array.
    #[must_use]
    pub fn as_array(&self) -> Option<&[(PhpKey, PhpValue)]> {
        match self {
            PhpValue::Array(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value stored under string key `key`, if this is an array holding it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&PhpValue> {
        let wanted = PhpKey::str(key);
        self.as_array()?.iter().find(|(k, _)| k.normalized() == wanted).map(|(_, v)| v)
    }

    /// Mutable access to the value under string key `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut PhpValue> {
        let wanted = PhpKey::str(key);
        match self {
            PhpValue::Array(entries) => entries.iter_mut().find(|(k, _)| k.normalized() == wanted).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` to `value`, replacing in place if present, else appending; returns the old value.
    ///
    /// # Errors
    /// [`NotAnArray`] if `self` is not an array.
    pub fn set(&mut self, key: &str, value: PhpValue) -> Result<Option<PhpValue>, NotAnArray> {
        let PhpValue::Array(entries) = self else {
            return Err(NotAnArray);
        };
        let wanted = PhpKey::str(key);
        if let Some((_, slot)) = entries.iter_mut().find(|(k, _)| k.normalized() == wanted) {
            return Ok(Some(std::mem::replace(slot, value)));
        }
        entries.push((wanted, value));
        Ok(None)
    }

    /// Removes `key` from this array (keeping the order of the rest); returns the old value.
    pub fn remove(&mut self, key: &str) -> Option<PhpValue> {
        let PhpValue::Array(entries) = self else {
            return None;
        };
        let wanted = PhpKey::str(key);
        let index = entries.iter().position(|(k, _)| k.normalized() == wanted)?;
        Some(entries.remove(index).1)
    }

    /// The string as UTF-8 text, if this is a valid UTF-8 string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()?).ok()
    }

    /// The raw bytes, if this is a string.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            PhpValue::Str(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The integer, if this is an int.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PhpValue::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is a bool.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            PhpValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// True if this is `NULL`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, PhpValue::Null)
    }
}

// ---------------------------------------------------------------------------
// serialize
// ---------------------------------------------------------------------------

/// Serializes `v` exactly as PHP's `serialize()` would.
#[must_use]
pub fn serialize(v: &PhpValue) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(v, &mut out);
    out
}

fn write_value(v: &PhpValue, out: &mut Vec<u8>) {
    match v {
        PhpValue::Null => out.extend_from_slice(b"N;"),
        PhpValue::Bool(b) => out.extend_from_slice(if *b { b"b:1;" } else { b"b:0;" }),
        PhpValue::Int(n) => write_int(*n, out),
        PhpValue::Float(f) => {
            out.extend_from_slice(b"d:");
            out.extend_from_slice(format_php_float(*f).as_bytes());
            out.push(b';');
        }
        PhpValue::Str(bytes) => write_str(bytes, out),
        PhpValue::Array(entries) => write_array(entries, out),
    }
}

fn write_int(n: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("i:{n};").as_bytes());
}

fn write_str(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("s:{}:\"", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\";");
}

fn write_array(entries: &[(PhpKey, PhpValue)], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("a:{}:{{", entries.len()).as_bytes());
    for (key, value) in entries {
        match key.normalized() {
            PhpKey::Int(n) => write_int(n, out),
            PhpKey::Str(bytes) => write_str(&bytes, out),
        }
        write_value(value, out);
    }
    out.push(b'}');
}

/// Formats a float like PHP's `serialize()` with `serialize_precision = -1`.
///
/// PHP prints the shortest digit string that round-trips, in plain notation
/// when the decimal exponent is in `-4 < e <= 17`, otherwise as
/// `D.DDDE±X` (always with at least one fractional digit, e.g. `1.0E+25`).
#[must_use]
pub fn format_php_float(f: f64) -> String {
    if f.is_nan() {
        return "NAN".to_string();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-INF" } else { "INF" }.to_string();
    }
    let (digits, decpt) = shortest_digits(f.abs());
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if !(-3..=17).contains(&decpt) {
        write_exponential(&digits, decpt, &mut out);
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', decpt.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        write_positional(&digits, decpt, &mut out);
    }
    out
}

/// Shortest round-trip decimal digits of a finite non-negative `f`, and the
/// position of the decimal point (value = 0.DIGITS × 10^decpt).
fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` yields the shortest round-trip digits, e.g. "1.2345e-7".
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    (digits, exponent + 1)
}

fn write_exponential(digits: &str, decpt: i32, out: &mut String) {
    let mut chars = digits.chars();
    out.extend(chars.next());
    out.push('.');
    let rest: String = chars.collect();
    out.push_str(if rest.is_empty() { "0" } else { &rest });
    let exp = decpt - 1;
    let _ = write!(out, "E{}{}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
}

fn write_positional(digits: &str, decpt: i32, out: &mut String) {
    let int_len = decpt.unsigned_abs() as usize;
    let int_part: String = digits.chars().take(int_len).collect();
    out.push_str(&int_part);
    out.extend(std::iter::repeat_n('0', int_len.saturating_sub(int_part.len())));
    let frac: String = digits.chars().skip(int_len).collect();
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
}

// ---------------------------------------------------------------------------
// unserialize
// ---------------------------------------------------------------------------

/// Parses PHP-serialized bytes strictly (scalars and arrays only, no trailing bytes).
///
/// # Errors
/// A [`PhpSerializeError`] describing the first problem and its byte offset.
pub fn unserialize(bytes: &[u8]) -> Result<PhpValue, PhpSerializeError> {
    let mut parser = Parser { input: bytes, pos: 0 };
    let value = parser.value(0)?;
    let left = bytes.len().saturating_sub(parser.pos);
    if left > 0 {
        return Err(PhpSerializeError::TrailingBytes(left));
    }
    Ok(value)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, PhpSerializeError> {
        let b = self.peek().ok_or(PhpSerializeError::UnexpectedEnd(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn expect(&mut self, wanted: u8, expected: &'static str) -> Result<(), PhpSerializeError> {
        let offset = self.pos;
        let found = self.next()?;
        if found == wanted {
            Ok(())
        } else {
            Err(PhpSerializeError::Unexpected { offset, expected, found: char::from(found) })
        }
    }

    /// Bytes up to (not including) `stop`, consuming the stop byte too.
    fn until(&mut self, stop: u8) -> Result<&[u8], PhpSerializeError> {
        let start = self.pos;
        let rest = self.input.get(start..).unwrap_or_default();
        let len = rest.iter().position(|&b| b == stop).ok_or(PhpSerializeError::UnexpectedEnd(self.input.len()))?;
        self.pos = start + len + 1;
        Ok(rest.get(..len).unwrap_or_default())
    }

    fn value(&mut self, depth: usize) -> Result<PhpValue, PhpSerializeError> {
        let offset = self.pos;
        match self.next()? {
            b'N' => {
                self.expect(b';', "';' after N")?;
                Ok(PhpValue::Null)
            }
            b'b' => self.bool().map(PhpValue::Bool),
            b'i' => self.int().map(PhpValue::Int),
            b'd' => self.float().map(PhpValue::Float),
            b's' => self.string().map(PhpValue::Str),
            b'a' => self.array(depth + 1, offset).map(PhpValue::Array),
            tag => Err(PhpSerializeError::UnsupportedType { offset, tag: char::from(tag) }),
        }
    }

    fn bool(&mut self) -> Result<bool, PhpSerializeError> {
        self.expect(b':', "':' after b")?;
        let offset = self.pos;
        let b = match self.next()? {
            b'0' => false,
            b'1' => true,
            found => {
                return Err(PhpSerializeError::Unexpected { offset, expected: "0 or 1", found: char::from(found) });
            }
        };
        self.expect(b';', "';' after boolean")?;
        Ok(b)
    }

    fn int(&mut self) -> Result<i64, PhpSerializeError> {
        self.expect(b':', "':' after i")?;
        let offset = self.pos;
        let text = self.until(b';')?;
        parse_php_int(text).ok_or(PhpSerializeError::InvalidNumber(offset))
    }

    fn float(&mut self) -> Result<f64, PhpSerializeError> {
        self.expect(b':', "':' after d")?;
        let offset = self.pos;
        let text = self.until(b';')?;
        parse_php_float(text).ok_or(PhpSerializeError::InvalidNumber(offset))
    }

    /// An unsigned length followed by `terminator` (`:` for s/a).
    fn length(&mut self) -> Result<usize, PhpSerializeError> {
        let offset = self.pos;
        let text = self.until(b':')?;
        if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
            return Err(PhpSerializeError::InvalidNumber(offset));
        }
        std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).ok_or(PhpSerializeError::InvalidNumber(offset))
    }

    fn string(&mut self) -> Result<Vec<u8>, PhpSerializeError> {
        self.expect(b':', "':' after s")?;
        let len_offset = self.pos;
        let len = self.length()?;
        self.expect(b'"', "'\"' opening the string")?;
        let start = self.pos;
        let end = start.checked_add(len).ok_or(PhpSerializeError::BadLength(len_offset))?;
        let bytes = self.input.get(start..end).ok_or(PhpSerializeError::BadLength(len_offset))?;
        if self.input.get(end..end.saturating_add(2)) != Some(b"\";".as_slice()) {
            return Err(PhpSerializeError::BadLength(len_offset));
        }
        self.pos = end + 2;
        Ok(bytes.to_vec())
    }

    fn array(&mut self, depth: usize, offset: usize) -> Result<Vec<(PhpKey, PhpValue)>, PhpSerializeError> {
        if depth > MAX_DEPTH {
            return Err(PhpSerializeError::TooDeep(offset));
        }
        self.expect(b':', "':' after a")?;
        let count = self.length()?;
        self.expect(b'{', "'{' opening the array")?;
        // Each element takes at least 4 bytes ("i:0;N;"), so cap the reservation.
        let remaining = self.input.len().saturating_sub(self.pos);
        let mut entries = Vec::with_capacity(count.min(remaining / 4));
        let mut seen = HashSet::new();
        for _ in 0..count {
            let key_offset = self.pos;
            let key = self.key()?;
            if !seen.insert(key.clone()) {
                return Err(PhpSerializeError::DuplicateKey(key_offset));
            }
            let value = self.value(depth)?;
            entries.push((key, value));
        }
        self.expect(b'}', "'}' closing the array")?;
        Ok(entries)
    }

    fn key(&mut self) -> Result<PhpKey, PhpSerializeError> {
        let offset = self.pos;
        match self.next()? {
            b'i' => self.int().map(PhpKey::Int),
            b's' => self.string().map(PhpKey::from_bytes),
            _ => Err(PhpSerializeError::InvalidKey(offset)),
        }
    }
}

/// `[+-]?[0-9]+` within `i64` range.
fn parse_php_int(text: &[u8]) -> Option<i64> {
    let digits = match text.first() {
        Some(b'+' | b'-') => text.get(1..)?,
        _ => text,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// PHP's float grammar for `d:`: `INF`, `-INF`, `NAN`, or a decimal with optional exponent.
fn parse_php_float(text: &[u8]) -> Option<f64> {
    match text {
        b"INF" => return Some(f64::INFINITY),
        b"-INF" => return Some(f64::NEG_INFINITY),
        b"NAN" => return Some(f64::NAN),
        _ => {}
    }
    if !is_php_decimal(text) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `[+-]? (digits | digits? '.' digits | digits '.' digits?) ([eE] [+-]? digits)?`
fn is_php_decimal(text: &[u8]) -> bool {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (text.get(..i).unwrap_or_default(), text.get(i + 1..)),
        None => (text, None),
    };
    let unsigned = |s: &[u8]| -> Vec<u8> {
        match s.first() {
            Some(b'+' | b'-') => s.get(1..).unwrap_or_default().to_vec(),
            _ => s.to_vec(),
        }
    };
    let mantissa = unsigned(mantissa);
    let mut parts = mantissa.splitn(2, |&b| b == b'.');
    let int_part = parts.next().unwrap_or_default();
    let frac_part = parts.next().unwrap_or_default();
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let mantissa_ok = all_digits(int_part) && all_digits(frac_part) && (!int_part.is_empty() || !frac_part.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = unsigned(e);
        !e.is_empty() && all_digits(&e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE_ROW: &str = r#"a:9:{s:4:"uuid";s:36:"8f2c6a8e-3b1d-4a4e-9f6b-2d7c5e1a0b93";s:8:"langcode";s:2:"en";s:6:"status";b:1;s:12:"dependencies";a:0:{}s:2:"id";s:7:"editors";s:5:"label";s:7:"Editors";s:6:"weight";i:3;s:8:"is_admin";b:0;s:11:"permissions";a:0:{}}"#;

    const ACTION_ROW: &str = r#"a:9:{s:4:"uuid";s:36:"0b7e3c52-9d41-4f7a-8c2e-5a6b1d9f3e47";s:8:"langcode";s:2:"en";s:6:"status";b:1;s:12:"dependencies";a:2:{s:6:"config";a:1:{i:0;s:17:"user.role.editors";}s:6:"module";a:1:{i:0;s:4:"user";}}s:2:"id";s:28:"user_add_role_action.editors";s:5:"label";s:44:"Add the Editors role to the selected user(s)";s:4:"type";s:4:"user";s:6:"plugin";s:20:"user_add_role_action";s:13:"configuration";a:1:{s:3:"rid";s:7:"editors";}}"#;

    fn round_trip(text: &str) -> PhpValue {
        let value = unserialize(text.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(serialize(&value)).unwrap(), text);
        value
    }

    #[test]
    fn scalars_serialize_like_php() {
        assert_eq!(serialize(&PhpValue::Null), b"N;");
        assert_eq!(serialize(&PhpValue::Bool(true)), b"b:1;");
        assert_eq!(serialize(&PhpValue::Bool(false)), b"b:0;");
        assert_eq!(serialize(&PhpValue::Int(3)), b"i:3;");
        assert_eq!(serialize(&PhpValue::Int(i64::MIN)), b"i:-9223372036854775808;");
        assert_eq!(serialize(&PhpValue::str("bytes")), b"s:5:\"bytes\";");
        assert_eq!(serialize(&PhpValue::str("")), b"s:0:\"\";");
    }

    #[test]
    fn floats_use_php_shortest_repr() {
        let cases: &[(f64, &str)] = &[
            (0.5, "0.5"),
            (0.1, "0.1"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (100.0, "100"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.0001, "0.0001"),
            (0.00001, "1.0E-5"),
            (0.000123, "0.000123"),
            (1.25e-7, "1.25E-7"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (1.2345e16, "12345000000000000"),
            (1e17, "1.0E+17"),
            (1e18, "1.0E+18"),
            (1.5e300, "1.5E+300"),
            (123456.789, "123456.789"),
            (f64::INFINITY, "INF"),
            (f64::NEG_INFINITY, "-INF"),
            (f64::NAN, "NAN"),
        ];
        for (f, want) in cases {
            assert_eq!(format_php_float(*f), *want, "formatting {f:?}");
        }
        assert_eq!(serialize(&PhpValue::Float(0.1)), b"d:0.1;");
        assert_eq!(serialize(&PhpValue::Float(1.0)), b"d:1;");
    }

    #[test]
    fn floats_parse() {
        for (text, want) in
            [("d:0.5;", 0.5), ("d:1;", 1.0), ("d:1.0E+25;", 1.0e25), ("d:-1.5e-7;", -1.5e-7), ("d:.5;", 0.5)]
        {
            assert_eq!(unserialize(text.as_bytes()).unwrap(), PhpValue::Float(want), "{text}");
        }
        assert_eq!(unserialize(b"d:INF;").unwrap(), PhpValue::Float(f64::INFINITY));
        assert!(matches!(unserialize(b"d:NAN;").unwrap(), PhpValue::Float(f) if f.is_nan()));
        for bad in ["d:;", "d:1e;", "d:inf;", "d:1.2.3;", "d:0x10;", "d:.;", "d:1 ;"] {
            assert!(unserialize(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn array_shape() {
        let v = PhpValue::Array(vec![(PhpKey::Int(0), PhpValue::str("x")), (PhpKey::str("k"), PhpValue::Bool(false))]);
        assert_eq!(serialize(&v), br#"a:2:{i:0;s:1:"x";s:1:"k";b:0;}"#);
        assert_eq!(serialize(&PhpValue::empty_array()), b"a:0:{}");
    }

    #[test]
    fn role_row_round_trips() {
        let role = round_trip(ROLE_ROW);
        assert_eq!(role.get("id").and_then(PhpValue::as_str), Some("editors"));
        assert_eq!(role.get("weight").and_then(PhpValue::as_i64), Some(3));
        assert_eq!(role.get("is_admin").and_then(PhpValue::as_bool), Some(false));
        assert_eq!(role.get("status").and_then(PhpValue::as_bool), Some(true));
        assert_eq!(role.get("permissions"), Some(&PhpValue::empty_array()));
        assert_eq!(role.get("missing"), None);
    }

    #[test]
    fn role_row_builds_from_scratch() {
        let role = PhpValue::assoc([
            ("uuid", PhpValue::str("8f2c6a8e-3b1d-4a4e-9f6b-2d7c5e1a0b93")),
            ("langcode", PhpValue::str("en")),
            ("status", PhpValue::Bool(true)),
            ("dependencies", PhpValue::empty_array()),
            ("id", PhpValue::str("editors")),
            ("label", PhpValue::str("Editors")),
            ("weight", PhpValue::Int(3)),
            ("is_admin", PhpValue::Bool(false)),
            ("permissions", PhpValue::empty_array()),
        ]);
        assert_eq!(String::from_utf8(serialize(&role)).unwrap(), ROLE_ROW);
    }

    #[test]
    fn action_row_round_trips() {
        let action = round_trip(ACTION_ROW);
        let deps = action.get("dependencies").unwrap();
        assert_eq!(deps.get("config"), Some(&PhpValue::list(vec![PhpValue::str("user.role.editors")])));
        assert_eq!(action.get("configuration").and_then(|c| c.get("rid")).and_then(PhpValue::as_str), Some("editors"));
    }

    #[test]
    fn row_with_core_hash_and_permissions_round_trips() {
        let row = r#"a:10:{s:4:"uuid";s:36:"02d9b8f6-1111-4222-8333-444455556666";s:8:"langcode";s:2:"en";s:6:"status";b:1;s:12:"dependencies";a:0:{}s:5:"_core";a:1:{s:19:"default_config_hash";s:43:"QfbGfMKp3vBkE2m7V3gq0s6fT8mJkS0vZ1bD4cX9yAo";}s:2:"id";s:14:"content_editor";s:5:"label";s:14:"Content editor";s:6:"weight";i:2;s:8:"is_admin";b:0;s:11:"permissions";a:2:{i:0;s:19:"access content overview";i:1;s:14:"access toolbar";}}"#;
        // The deliberately wrong length (19 for a 23-byte permission) must be caught...
        assert!(unserialize(row.as_bytes()).is_err());
        // ...and the corrected row round-trips, keeping `_core` in place.
        let fixed = row.replace(r#"s:19:"access content overview""#, r#"s:23:"access content overview""#);
        let value = round_trip(&fixed);
        let keys: Vec<_> = value.as_array().unwrap().iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys.get(4), Some(&PhpKey::str("_core")));
        assert_eq!(
            value.get("_core").and_then(|c| c.get("default_config_hash")).and_then(PhpValue::as_str),
            Some("QfbGfMKp3vBkE2m7V3gq0s6fT8mJkS0vZ1bD4cX9yAo")
        );
    }

    #[test]
    fn nested_arrays_round_trip() {
        round_trip(r#"a:2:{s:1:"a";a:1:{s:1:"b";a:1:{s:1:"c";a:2:{i:0;i:1;i:1;d:0.5;}}}s:1:"z";N;}"#);
        round_trip(r#"a:3:{i:5;s:1:"x";i:-2;s:1:"y";s:2:"05";s:1:"z";}"#);
    }

    #[test]
    fn is_admin_null_round_trips() {
        let text = r#"a:2:{s:2:"id";s:1:"x";s:8:"is_admin";N;}"#;
        let value = round_trip(text);
        assert!(value.get("is_admin").unwrap().is_null());
        assert_eq!(value.get("is_admin").and_then(PhpValue::as_bool), None);
    }

    #[test]
    fn non_ascii_lengths_count_bytes() {
        let v = PhpValue::str("Rédacteurs");
        assert_eq!(serialize(&v), "s:11:\"Rédacteurs\";".as_bytes());
        assert_eq!(unserialize("s:11:\"Rédacteurs\";".as_bytes()).unwrap(), v);
        assert!(unserialize("s:10:\"Rédacteurs\";".as_bytes()).is_err());
        round_trip(r#"a:1:{s:5:"label";s:13:"Éditeurs 日";}"#);
    }

    #[test]
    fn string_content_may_contain_terminators() {
        let text = r#"s:8:"a";b:1;}";"#;
        assert_eq!(unserialize(text.as_bytes()).unwrap(), PhpValue::str(r#"a";b:1;}"#));
        round_trip(r#"a:1:{s:3:"k";";s:4:"x"y;";}"#);
    }

    #[test]
    fn numeric_string_keys_become_int_keys() {
        let v = PhpValue::Array(vec![(PhpKey::Str(b"7".to_vec()), PhpValue::Null)]);
        assert_eq!(serialize(&v), b"a:1:{i:7;N;}");
        let parsed = unserialize(br#"a:1:{s:1:"7";N;}"#).unwrap();
        assert_eq!(parsed, PhpValue::Array(vec![(PhpKey::Int(7), PhpValue::Null)]));
        assert!(parsed.get("7").is_some());
        assert_eq!(PhpKey::str("-0"), PhpKey::Str(b"-0".to_vec()));
        assert_eq!(PhpKey::str("007"), PhpKey::Str(b"007".to_vec()));
        assert_eq!(PhpKey::str("-12"), PhpKey::Int(-12));
        // "1" and i:1 are the same key, so this is a duplicate.
        assert_eq!(unserialize(br#"a:2:{i:1;N;s:1:"1";N;}"#), Err(PhpSerializeError::DuplicateKey(11)));
    }

    #[test]
    fn set_replaces_in_place_or_appends() {
        let mut role = unserialize(ROLE_ROW.as_bytes()).unwrap();
        let old = role.set("label", PhpValue::str("Rédacteurs")).unwrap();
        assert_eq!(old, Some(PhpValue::str("Editors")));
        assert_eq!(role.set("third", PhpValue::Int(1)).unwrap(), None);
        let text = String::from_utf8(serialize(&role)).unwrap();
        assert!(text.starts_with("a:10:{"));
        assert!(text.contains(r#"s:5:"label";s:11:"Rédacteurs";s:6:"weight""#));
        assert!(text.ends_with(r#"s:5:"third";i:1;}"#));
        *role.get_mut("weight").unwrap() = PhpValue::Int(9);
        assert_eq!(role.get("weight").and_then(PhpValue::as_i64), Some(9));
        assert_eq!(role.remove("third"), Some(PhpValue::Int(1)));
        assert_eq!(PhpValue::Int(1).set("a", PhpValue::Null), Err(NotAnArray));
    }

    #[test]
    fn list_builds_int_keys() {
        let v = PhpValue::list(vec![PhpValue::str("a"), PhpValue::str("b")]);
        assert_eq!(serialize(&v), br#"a:2:{i:0;s:1:"a";i:1;s:1:"b";}"#);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let bad: &[&str] = &[
            "",
            "N",
            "b:2;",
            "b:1",
            "i:;",
            "i:1x;",
            "i:99999999999999999999;",
            "s:5:\"abc\";",
            "s:2:\"abc\";",
            "s:-1:\"\";",
            "s:3:\"abc\"",
            "s:3:abc;",
            "a:2:{i:0;N;}",
            "a:1:{i:0;N;i:1;N;}",
            "a:1:{i:0;N;",
            "a:1:{d:0.5;N;}",
            "a:1:{N;N;}",
            "a:1:{i:0;N}",
            "x:0;",
        ];
        for text in bad {
            assert!(unserialize(text.as_bytes()).is_err(), "accepted {text:?}");
        }
    }

    #[test]
    fn objects_and_references_are_refused() {
        let objects = [
            r#"O:8:"stdClass":0:{}"#,
            r#"C:3:"Foo":0:{}"#,
            r#"E:7:"Foo:Bar";"#,
            r#"a:2:{i:0;s:1:"x";i:1;r:2;}"#,
            r#"a:2:{i:0;s:1:"x";i:1;R:2;}"#,
        ];
        for text in objects {
            assert!(
                matches!(unserialize(text.as_bytes()), Err(PhpSerializeError::UnsupportedType { .. })),
                "accepted {text:?}"
            );
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        assert_eq!(unserialize(b"N;N;"), Err(PhpSerializeError::TrailingBytes(2)));
        assert_eq!(unserialize(b"a:0:{} "), Err(PhpSerializeError::TrailingBytes(1)));
    }

    #[test]
    fn depth_is_limited() {
        let nest = |depth: usize| {
            let mut s = "a:1:{i:0;".repeat(depth - 1);
            s.push_str("a:0:{}");
            s.push_str(&"}".repeat(depth - 1));
            s
        };
        assert!(unserialize(nest(MAX_DEPTH).as_bytes()).is_ok());
        assert!(matches!(unserialize(nest(MAX_DEPTH + 1).as_bytes()), Err(PhpSerializeError::TooDeep(_))));
    }

    #[test]
    fn truncated_or_mutated_rows_never_panic() {
        let row = ACTION_ROW.as_bytes();
        for end in 0..row.len() {
            assert!(unserialize(&row[..end]).is_err(), "prefix of {end} bytes accepted");
        }
        for i in 0..row.len() {
            for replacement in [b'0', b'9', b':', b';', b'"', b'{', b'}', b'a', 0xff] {
                let mut mutated = row.to_vec();
                mutated[i] = replacement;
                let _ = unserialize(&mutated);
            }
        }
    }

    #[test]
    fn huge_declared_count_does_not_allocate() {
        assert!(unserialize(b"a:999999999999:{}").is_err());
        assert!(unserialize(b"s:18446744073709551615:\"\";").is_err());
        assert!(unserialize(b"s:99999999999999999999999:\"\";").is_err());
    }
}
