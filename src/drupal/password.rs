//! Password hashes that Drupal accepts as its own.
//!
//! * Drupal 10.1+ stores PHP `password_hash()` output: bcrypt with the `$2y$`
//!   prefix (cost 10 on PHP ≤ 8.3, 12 on PHP 8.4+). The `bcrypt` crate writes
//!   `$2b$` by default, which PHP accepts but rehashes at the next login, so
//!   we format for `$2y$` explicitly.
//! * Drupal 7 (and 8.x–10.0) store phpass-style SHA-512 hashes:
//!   `$S$`, one itoa64 char for log2 of the iteration count, an 8-char salt
//!   and the crypt-base64 of the stretched SHA-512 digest, the whole string
//!   cut to 55 characters. Drupal 7 uses count 15 (`D`), Drupal 8–10.0 used
//!   16 (`E`).
//!
//! Like Drupal, passwords are `trim()`med (PHP's default set
//! `" \t\n\r\0\x0B"`) before hashing and before checking, and anything over
//! 512 bytes is refused.
//!
//! The `$S$` test vector in this module's tests was computed independently by
//! `tests/data/phpass_vector.py` (a separate Python `hashlib` implementation).

use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha512};
use thiserror::Error;

/// Drupal's `PasswordInterface::PASSWORD_MAX_LENGTH`, in bytes.
pub const PASSWORD_MAX_BYTES: usize = 512;

/// Length of every `$S$` hash Drupal writes (`HASH_LENGTH`).
pub const PHPASS_HASH_LENGTH: usize = 55;

/// Smallest log2 iteration count Drupal's phpass code accepts.
pub const PHPASS_MIN_COUNT_LOG2: u8 = 7;

/// Largest log2 iteration count Drupal's phpass code accepts.
pub const PHPASS_MAX_COUNT_LOG2: u8 = 30;

/// The crypt(3) base64 alphabet used by phpass.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which hash format to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordScheme {
    /// PHP `password_hash()` bcrypt, `$2y$` (Drupal 10.1+).
    Bcrypt {
        /// Work factor (PHP default: 10 before PHP 8.4, 12 from 8.4).
        cost: u32,
    },
    /// Drupal's phpass SHA-512, `$S$` (Drupal 7, and 8.x–10.0).
    PhpassSha512 {
        /// log2 of the iteration count (Drupal 7: 15, Drupal 8–10.0: 16).
        count_log2: u8,
    },
}

impl PasswordScheme {
    /// Drupal 10.1+ on PHP ≤ 8.3: bcrypt cost 10.
    pub const DRUPAL_BCRYPT: Self = Self::Bcrypt { cost: 10 };
    /// Drupal 7: `$S$D` (2^15 iterations).
    pub const DRUPAL7: Self = Self::PhpassSha512 { count_log2: 15 };
    /// Drupal 8.x–10.0: `$S$E` (2^16 iterations).
    pub const DRUPAL8: Self = Self::PhpassSha512 { count_log2: 16 };
}

/// Why a password could not be hashed.
#[derive(Debug, Error)]
pub enum PasswordError {
    /// Nothing left after trimming.
    #[error("the password is empty")]
    Empty,
    /// Longer than Drupal's 512-byte limit (after trimming).
    #[error("the password is {0} bytes long; Drupal accepts at most {PASSWORD_MAX_BYTES}")]
    TooLong(usize),
    /// An interior NUL byte, which PHP's bcrypt would not hash the same way.
    #[error("the password contains a NUL byte")]
    NulByte,
    /// A phpass iteration count outside Drupal's 7..=30.
    #[error("phpass count_log2 {0} is outside {PHPASS_MIN_COUNT_LOG2}..={PHPASS_MAX_COUNT_LOG2}")]
    CountOutOfRange(u8),
    /// A phpass salt that is not 8 itoa64 characters.
    #[error("a phpass salt must be 8 characters of ./0-9A-Za-z")]
    BadSalt,
    /// The bcrypt crate refused (for example, a cost outside 4..=31).
    #[error("bcrypt failed: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    /// The operating system's random number generator failed.
    #[error("OS random number generator failed: {0}")]
    Rng(#[from] rand::rand_core::OsError),
}

/// Trims the way PHP's `trim()` does by default: `" \t\n\r\0\x0B"` at both ends.
#[must_use]
pub fn php_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\u{0B}'])
}

/// Hashes `plain` (after Drupal's trim) in the requested Drupal-compatible format.
///
/// # Errors
/// Empty or over-long passwords, bad scheme parameters, or an RNG failure.
pub fn hash_password(plain: &str, scheme: PasswordScheme) -> Result<String, PasswordError> {
    let password = checked_password(plain)?;
    match scheme {
        PasswordScheme::Bcrypt { cost } => hash_bcrypt(password, cost),
        PasswordScheme::PhpassSha512 { count_log2 } => {
            let salt = random_salt()?;
            phpass_with_salt(password, &salt, count_log2)
        }
    }
}

/// Checks `plain` against a `$2y$`/`$2b$`/`$2a$` bcrypt or `$S$` phpass hash, as Drupal would.
#[must_use]
pub fn verify_password(plain: &str, hash: &str) -> bool {
    let Ok(password) = checked_password(plain) else {
        return false;
    };
    if ["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
        !password.contains('\0') && bcrypt::verify(password, hash).unwrap_or(false)
    } else if hash.starts_with("$S$") {
        verify_phpass(password, hash)
    } else {
        false
    }
}

/// Trims and applies Drupal's emptiness and length rules.
fn checked_password(plain: &str) -> Result<&str, PasswordError> {
    let password = php_trim(plain);
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(PasswordError::TooLong(password.len()));
    }
    Ok(password)
}

/// bcrypt formatted as PHP writes it (`$2y$`). Like PHP, only the first 72 bytes count.
fn hash_bcrypt(password: &str, cost: u32) -> Result<String, PasswordError> {
    // PHP's C implementation stops at a NUL; the crate would not. Refuse instead of diverging.
    if password.contains('\0') {
        return Err(PasswordError::NulByte);
    }
    let parts = bcrypt::hash_with_result(password, cost)?;
    Ok(parts.format_for_version(bcrypt::Version::TwoY))
}

/// Eight itoa64 characters from six bytes of OS randomness, as Drupal generates them.
fn random_salt() -> Result<String, PasswordError> {
    let mut bytes = [0u8; 6];
    OsRng.try_fill_bytes(&mut bytes)?;
    Ok(crypt_base64(&bytes))
}

/// The `$S$` hash of `plain` (used as given, not trimmed) with a fixed 8-char salt.
pub(crate) fn phpass_with_salt(plain: &str, salt: &str, count_log2: u8) -> Result<String, PasswordError> {
    if !(PHPASS_MIN_COUNT_LOG2..=PHPASS_MAX_COUNT_LOG2).contains(&count_log2) {
        return Err(PasswordError::CountOutOfRange(count_log2));
    }
    if salt.len() != 8 || !salt.bytes().all(|b| ITOA64.contains(&b)) {
        return Err(PasswordError::BadSalt);
    }
    let count_char = ITOA64
        .get(usize::from(count_log2))
        .map(|&b| char::from(b))
        .ok_or(PasswordError::CountOutOfRange(count_log2))?;
    let digest = stretched_sha512(plain.as_bytes(), salt.as_bytes(), count_log2);
    let mut out = format!("$S${count_char}{salt}{}", crypt_base64(&digest));
    out.truncate(PHPASS_HASH_LENGTH);
    Ok(out)
}

/// `h = sha512(salt‖pw)`, then `2^count_log2` rounds of `h = sha512(h‖pw)`.
fn stretched_sha512(password: &[u8], salt: &[u8], count_log2: u8) -> Vec<u8> {
    let mut digest = Sha512::new().chain_update(salt).chain_update(password).finalize();
    for _ in 0..(1_u64 << count_log2) {
        digest = Sha512::new().chain_update(digest).chain_update(password).finalize();
    }
    digest.to_vec()
}

/// crypt(3)-style base64: the bytes as a little-endian bit stream, 6 bits per char, low bits first.
fn crypt_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        acc |= u32::from(byte) << bits;
        bits += 8;
        while bits >= 6 {
            out.push(itoa64_char(acc));
            acc >>= 6;
            bits -= 6;
        }
    }
    if bits > 0 {
        out.push(itoa64_char(acc));
    }
    out
}

/// The itoa64 character for the low 6 bits of `v`.
fn itoa64_char(v: u32) -> char {
    // Masked to 0..64, so the lookup always succeeds.
    ITOA64.get((v & 0x3f) as usize).map_or('.', |&b| char::from(b))
}

/// Recomputes a stored `$S$` hash from its setting (count char and salt) and compares.
fn verify_phpass(password: &str, stored: &str) -> bool {
    if stored.len() != PHPASS_HASH_LENGTH || !stored.is_ascii() {
        return false;
    }
    let count_log2 =
        stored.as_bytes().get(3).and_then(|c| ITOA64.iter().position(|b| b == c)).and_then(|p| u8::try_from(p).ok());
    let (Some(count_log2), Some(salt)) = (count_log2, stored.get(4..12)) else {
        return false;
    };
    match phpass_with_salt(password, salt, count_log2) {
        Ok(computed) => constant_time_eq(computed.as_bytes(), stored.as_bytes()),
        Err(_) => false,
    }
}

/// Equality without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Printed by `python3 tests/data/phpass_vector.py` ("correct horse", salt "abcdEFGH", count 15).
    const VECTOR_D: &str = "$S$DabcdEFGHubAINuZRay7IzG3.gw5HMqI.6OU9/ct3WpQkBeXuOtG";
    /// `python3 tests/data/phpass_vector.py "correct horse" abcdEFGH 16`.
    const VECTOR_E: &str = "$S$EabcdEFGHrfcHRtuLLLZTn1HNiU4VYLVJ4LF0gJ8NxOlSpx/sDHJ";
    /// `python3 tests/data/phpass_vector.py "pässwörd" ./09AZaz 7` (non-ASCII, minimum count).
    const VECTOR_7: &str = "$S$5./09AZazjB/I/T3mSgLcVySzt44t0sDp49M42jXuGwq./386rD/";

    #[test]
    fn phpass_matches_independent_python_vectors() {
        assert_eq!(phpass_with_salt("correct horse", "abcdEFGH", 15).unwrap(), VECTOR_D);
        assert_eq!(phpass_with_salt("correct horse", "abcdEFGH", 16).unwrap(), VECTOR_E);
        assert_eq!(phpass_with_salt("pässwörd", "./09AZaz", 7).unwrap(), VECTOR_7);
        assert_eq!(VECTOR_D.len(), PHPASS_HASH_LENGTH);
    }

    #[test]
    fn phpass_vector_verifies() {
        assert!(verify_password("correct horse", VECTOR_D));
        assert!(verify_password("  correct horse\n", VECTOR_D), "Drupal trims at login");
        assert!(!verify_password("correct horsE", VECTOR_D));
        assert!(!verify_password("correct horse", &VECTOR_D.replace("abcdEFGH", "abcdEFGI")));
        assert!(!verify_password("correct horse", VECTOR_D.get(..54).unwrap()));
        assert!(verify_password("pässwörd", VECTOR_7));
    }

    #[test]
    fn phpass_hash_password_round_trip() {
        let hash = hash_password("correct horse", PasswordScheme::PhpassSha512 { count_log2: 8 }).unwrap();
        assert_eq!(hash.len(), 55);
        assert!(hash.starts_with("$S$6"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        let again = hash_password("correct horse", PasswordScheme::PhpassSha512 { count_log2: 8 }).unwrap();
        assert_ne!(hash, again, "salts are random");
    }

    #[test]
    fn drupal7_default_prefix() {
        let hash = hash_password("correct horse", PasswordScheme::DRUPAL7).unwrap();
        assert!(hash.starts_with("$S$D"));
        assert_eq!(hash.len(), 55);
        assert!(verify_password("correct horse", &hash));
    }

    #[test]
    fn phpass_rejects_bad_parameters() {
        assert!(matches!(phpass_with_salt("x", "abcdEFGH", 6), Err(PasswordError::CountOutOfRange(6))));
        assert!(matches!(phpass_with_salt("x", "abcdEFGH", 31), Err(PasswordError::CountOutOfRange(31))));
        assert!(matches!(phpass_with_salt("x", "abcdEFG", 7), Err(PasswordError::BadSalt)));
        assert!(matches!(phpass_with_salt("x", "abcdEFG$", 7), Err(PasswordError::BadSalt)));
        assert!(!verify_password("x", "$S$!abcdEFGHubAINuZRay7IzG3.gw5HMqI.6OU9/ct3WpQkBeXuOtG"));
    }

    #[test]
    fn bcrypt_is_php_2y() {
        let hash = hash_password("correct horse", PasswordScheme::DRUPAL_BCRYPT).unwrap();
        assert!(hash.starts_with("$2y$10$"), "{hash}");
        assert_eq!(hash.len(), 60);
        assert!(verify_password("correct horse", &hash));
        assert!(verify_password("\tcorrect horse ", &hash));
        assert!(!verify_password("correct horse!", &hash));
    }

    #[test]
    fn bcrypt_accepts_2b_and_2a() {
        let hash = hash_password("pw", PasswordScheme::Bcrypt { cost: 4 }).unwrap();
        assert!(hash.starts_with("$2y$04$"));
        for prefix in ["$2b$", "$2a$"] {
            let other = format!("{prefix}{}", hash.get(4..).unwrap());
            assert!(verify_password("pw", &other), "{other}");
        }
        let x = format!("$2x${}", hash.get(4..).unwrap());
        assert!(!verify_password("pw", &x));
    }

    #[test]
    fn bcrypt_bad_cost_is_an_error() {
        assert!(matches!(hash_password("pw", PasswordScheme::Bcrypt { cost: 3 }), Err(PasswordError::Bcrypt(_))));
    }

    #[test]
    fn trimming_and_limits() {
        assert_eq!(php_trim(" \t\n\r\0\u{0B}pw \u{0B}\0"), "pw");
        assert_eq!(php_trim("\u{A0}pw"), "\u{A0}pw", "PHP trim() leaves NBSP alone");
        assert!(matches!(hash_password(" \t\n", PasswordScheme::DRUPAL_BCRYPT), Err(PasswordError::Empty)));
        let long = "a".repeat(513);
        assert!(matches!(hash_password(&long, PasswordScheme::DRUPAL7), Err(PasswordError::TooLong(513))));
        let padded = format!("  {}  ", "a".repeat(512));
        assert!(hash_password(&padded, PasswordScheme::PhpassSha512 { count_log2: 7 }).is_ok());
        assert!(!verify_password(&long, VECTOR_D));
        assert!(!verify_password("", VECTOR_D));
        assert!(matches!(hash_password("a\0b", PasswordScheme::Bcrypt { cost: 4 }), Err(PasswordError::NulByte)));
    }

    #[test]
    fn unknown_hashes_do_not_verify() {
        assert!(!verify_password("pw", ""));
        assert!(!verify_password("pw", "$P$Babcdefgh"));
        assert!(!verify_password("pw", "$argon2id$v=19$m=65536,t=4,p=1$x$y"));
        assert!(!verify_password("pw", "$2y$10$short"));
    }

    #[test]
    fn crypt_base64_lengths() {
        assert_eq!(crypt_base64(&[0u8; 6]), "........");
        assert_eq!(crypt_base64(&[0xff]), "z1");
        assert_eq!(crypt_base64(&[0u8; 64]).len(), 86);
    }
}
