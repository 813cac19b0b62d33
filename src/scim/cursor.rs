//! Cursor pagination (RFC 9865): opaque cursors that carry the last key of the previous page,
//! an expiry and a fingerprint of the query, sealed with an HMAC so they cannot be forged or
//! replayed against another query.

use crate::scim::error::{ScimError, ScimType};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// What a cursor remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The key (uid, group id) of the last resource already returned.
    pub after: String,
    /// Unix time after which the cursor is refused.
    pub expires: i64,
}

/// Seals and opens cursors for one server.
#[derive(Clone)]
pub struct CursorKey {
    key: [u8; 32],
    /// How long a cursor lives, in seconds.
    pub ttl: i64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

/// A fingerprint of what a cursor is valid for (resource type, filter, attributes).
pub fn scope(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize()[..8])
}

impl CursorKey {
    /// A key derived from the server's secret (cursors die with a secret rotation).
    pub fn new(secret: &str, ttl: i64) -> CursorKey {
        CursorKey::for_site(secret, "", ttl)
    }

    /// A key for one site of a multisite server: its cursors mean nothing on another site,
    /// even one that shares the secret.
    pub fn for_site(secret: &str, site: &str, ttl: i64) -> CursorKey {
        let mut h = Sha256::new();
        h.update(b"drupal-scim cursor\0");
        h.update(secret.as_bytes());
        if !site.is_empty() {
            h.update(b"\0site\0");
            h.update(site.as_bytes());
        }
        CursorKey { key: h.finalize().into(), ttl }
    }

    fn mac(&self, payload: &[u8]) -> Result<Vec<u8>, ScimError> {
        let mut mac = HmacSha256::new_from_slice(&self.key).map_err(|_| ScimError::new(500, None, "cursor key"))?;
        mac.update(payload);
        Ok(mac.finalize().into_bytes()[..16].to_vec())
    }

    /// Seal a cursor for `scope`.
    pub fn seal(&self, after: &str, now: i64, scope: &str) -> Result<String, ScimError> {
        let payload = format!("1\n{after}\n{}\n{scope}", now + self.ttl);
        let mac = self.mac(payload.as_bytes())?;
        Ok(format!("{}.{}", hex(payload.as_bytes()), hex(&mac)))
    }

    /// Open a cursor given back by a client, checking seal, scope and expiry.
    pub fn open(&self, token: &str, now: i64, scope: &str) -> Result<Cursor, ScimError> {
        let invalid = || {
            ScimError::bad_request(ScimType::InvalidCursor, "the cursor is not one this server issued for this query")
        };
        let (payload_hex, mac_hex) = token.trim().split_once('.').ok_or_else(invalid)?;
        let payload = unhex(payload_hex).ok_or_else(invalid)?;
        let given = unhex(mac_hex).ok_or_else(invalid)?;
        let expected = self.mac(&payload)?;
        // Constant-time comparison: the MAC is the only secret-dependent part.
        if given.len() != expected.len() || given.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
            return Err(invalid());
        }
        let text = String::from_utf8(payload).map_err(|_| invalid())?;
        let mut parts = text.split('\n');
        let (Some("1"), Some(after), Some(expires), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if s != scope {
            return Err(invalid());
        }
        let expires: i64 = expires.parse().map_err(|_| invalid())?;
        if now > expires {
            return Err(ScimError::bad_request(
                ScimType::ExpiredCursor,
                "the cursor has expired; start again without one",
            ));
        }
        Ok(Cursor { after: after.to_string(), expires })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sites_cursor_means_nothing_on_another_site_with_the_same_secret() {
        let secret = "secret-secret-secret-secret-secret";
        let (arts, law) = (CursorKey::for_site(secret, "arts", 60), CursorKey::for_site(secret, "law", 60));
        let token = arts.seal("42", 1000, "users:x").unwrap();
        assert_eq!(arts.open(&token, 1010, "users:x").unwrap().after, "42");
        assert_eq!(law.open(&token, 1010, "users:x").unwrap_err().scim_type, Some(ScimType::InvalidCursor));
        assert!(CursorKey::new(secret, 60).open(&token, 1010, "users:x").is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgery_scope_and_age() {
        let key = CursorKey::new("secret-secret-secret-secret-secret", 60);
        let token = key.seal("42", 1000, "users:x").unwrap();
        assert_eq!(key.open(&token, 1010, "users:x").unwrap().after, "42");
        let err = key.open(&token, 1010, "users:y").unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidCursor));
        assert_eq!(key.open(&token, 2000, "users:x").unwrap_err().scim_type, Some(ScimType::ExpiredCursor));
        // Change the uid inside: the seal no longer matches.
        let (payload, mac) = token.split_once('.').unwrap();
        let forged_payload =
            hex(String::from_utf8(unhex(payload).unwrap()).unwrap().replace("\n42\n", "\n1\n").as_bytes());
        assert!(key.open(&format!("{forged_payload}.{mac}"), 1010, "users:x").is_err());
        assert!(key.open("garbage", 1010, "users:x").is_err());
        let other = CursorKey::new("another-secret-another-secret-xx", 60);
        assert!(other.open(&token, 1010, "users:x").is_err());
    }
}
