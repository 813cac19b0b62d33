//! Bearer tokens: HS256 JWTs minted by `drupal-scim token` and checked on every SCIM request.
//! Entra ID stores one long-lived "Secret Token", so expiry is optional; issuer and audience
//! are always checked. Keys rotate by `kid` (older keys stay accepted until removed) and single
//! tokens are revoked by their id (`jti`).

use crate::settings::{AuthSettings, Secret};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The claims drupal-scim puts in (and expects from) a token.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<i64>,
    /// Token id, for revocation.
    pub jti: String,
    /// The site the token opens, when the server serves several: a token of one site is
    /// refused by every other, even one that shares its secret by mistake.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub site: Option<String>,
}

/// Why a token was refused (never shown to the client, which only sees 401).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token rejected: {0}")]
    Rejected(#[from] jsonwebtoken::errors::Error),
    #[error("token rejected: no key with id {0:?}")]
    UnknownKey(String),
    #[error("token rejected: token {0} is revoked")]
    Revoked(String),
    #[error("token rejected: it was minted for site {minted:?}, not {here:?}")]
    OtherSite { minted: String, here: String },
}

/// The keys a server signs and accepts tokens with.
#[derive(Clone)]
pub struct Keyring {
    current_id: Option<String>,
    current: Secret,
    previous: Vec<(String, Secret)>,
    revoked: HashSet<String>,
    issuer: String,
    audience: String,
    /// The site whose tokens this keyring mints and accepts (None: a single-site server).
    site: Option<String>,
    /// What every token must meet: the same for every request, so built once (it is a few
    /// sets and strings, which showed in the profile of a lookup when built per request).
    validation: Validation,
}

/// HS256, this issuer and audience; exp optional (long-lived Entra tokens) but enforced when
/// present, with 30 s of leeway.
fn validation(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.required_spec_claims.clear();
    validation.required_spec_claims.insert("iss".into());
    validation.required_spec_claims.insert("aud".into());
    validation.validate_exp = true;
    validation.leeway = 30;
    validation
}

impl Keyring {
    /// From the `[auth]` settings.
    pub fn new(auth: &AuthSettings) -> Keyring {
        Keyring {
            current_id: auth.key_id.clone(),
            current: auth.secret.clone(),
            previous: auth.previous_keys.iter().map(|k| (k.id.clone(), k.secret.clone())).collect(),
            revoked: auth.revoked.iter().cloned().collect(),
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            site: None,
            validation: validation(&auth.issuer, &auth.audience),
        }
    }

    /// From a site's `[auth]` settings: its tokens name the site and only they are accepted.
    pub fn for_site(auth: &AuthSettings, site: &str) -> Keyring {
        Keyring { site: (!site.is_empty()).then(|| site.to_string()), ..Keyring::new(auth) }
    }

    /// Mint a token with the current key. `ttl_secs = None` never expires (what Entra wants).
    pub fn mint(&self, subject: &str, ttl_secs: Option<i64>) -> Result<(String, Claims), TokenError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.into(),
            iat: now,
            exp: ttl_secs.map(|t| now + t),
            jti: uuid::Uuid::new_v4().to_string(),
            site: self.site.clone(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = self.current_id.clone();
        let token = encode(&header, &claims, &EncodingKey::from_secret(self.current.expose().as_bytes())?)?;
        Ok((token, claims))
    }

    /// Check signature (with the key the token names), issuer, audience, expiry, revocation.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token)?;
        let secret = match (&header.kid, &self.current_id) {
            (None, _) => &self.current,
            (Some(kid), Some(current)) if kid == current => &self.current,
            (Some(kid), _) => self
                .previous
                .iter()
                .find(|(id, _)| id == kid)
                .map(|(_, s)| s)
                .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?,
        };
        let claims =
            decode::<Claims>(token, &DecodingKey::from_secret(secret.expose().as_bytes())?, &self.validation)?.claims;
        if self.revoked.contains(&claims.jti) {
            return Err(TokenError::Revoked(claims.jti));
        }
        if claims.site != self.site {
            let name = |s: &Option<String>| s.clone().unwrap_or_else(|| "(single site)".into());
            return Err(TokenError::OtherSite { minted: name(&claims.site), here: name(&self.site) });
        }
        Ok(claims)
    }
}

/// Mint a token with a bare secret (tests and tools).
pub fn mint(
    secret: &str,
    issuer: &str,
    audience: &str,
    subject: &str,
    ttl_secs: Option<i64>,
) -> Result<String, TokenError> {
    bare(secret, issuer, audience, None).mint(subject, ttl_secs).map(|(t, _)| t)
}

/// Mint a token for one site of a multisite server with a bare secret (tests and tools).
pub fn mint_for_site(secret: &str, site: &str, subject: &str) -> Result<String, TokenError> {
    bare(secret, "drupal-scim", "drupal-scim", Some(site)).mint(subject, None).map(|(t, _)| t)
}

/// A keyring of one secret, no key id, nothing revoked.
fn bare(secret: &str, issuer: &str, audience: &str, site: Option<&str>) -> Keyring {
    Keyring {
        current_id: None,
        current: Secret::new(secret),
        previous: Vec::new(),
        revoked: HashSet::new(),
        issuer: issuer.into(),
        audience: audience.into(),
        site: site.map(str::to_string),
        validation: validation(issuer, audience),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::PreviousKey;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const OLD: &str = "an-older-secret-an-older-secret-0000";

    fn auth(key_id: Option<&str>, previous: &[(&str, &str)], revoked: &[&str]) -> AuthSettings {
        AuthSettings {
            secret: Secret::new(SECRET),
            key_id: key_id.map(String::from),
            previous_keys: previous
                .iter()
                .map(|(id, s)| PreviousKey { id: id.to_string(), secret: Secret::new(*s) })
                .collect(),
            revoked: revoked.iter().map(|s| s.to_string()).collect(),
            issuer: "drupal-scim".into(),
            audience: "drupal-scim".into(),
            clients: Vec::new(),
        }
    }

    #[test]
    fn minted_tokens_verify_and_others_do_not() {
        let ring = Keyring::new(&auth(None, &[], &[]));
        let (t, claims) = ring.mint("entra", None).unwrap();
        assert_eq!(ring.verify(&t).unwrap(), claims);
        let other = mint("another secret of at least 32 bytes!", "drupal-scim", "drupal-scim", "x", None).unwrap();
        assert!(ring.verify(&other).is_err());
        assert!(ring.verify(&mint(SECRET, "drupal-scim", "someone-else", "x", None).unwrap()).is_err());
        assert!(ring.verify(&mint(SECRET, "other-issuer", "drupal-scim", "x", None).unwrap()).is_err());
        assert!(ring.verify(&mint(SECRET, "drupal-scim", "drupal-scim", "x", Some(-3600)).unwrap()).is_err());
        assert!(ring.verify("not.a.token").is_err());
    }

    #[test]
    fn rotated_keys_stay_valid_by_kid_until_removed() {
        let before = Keyring::new(&AuthSettings { secret: Secret::new(OLD), ..auth(Some("2026-05"), &[], &[]) });
        let (old_token, _) = before.mint("entra", None).unwrap();
        let after = Keyring::new(&auth(Some("2026-11"), &[("2026-05", OLD)], &[]));
        assert!(after.verify(&old_token).is_ok(), "the previous key still verifies its tokens");
        let (new_token, _) = after.mint("entra", None).unwrap();
        assert!(after.verify(&new_token).is_ok());
        let retired = Keyring::new(&auth(Some("2026-11"), &[], &[]));
        assert!(matches!(retired.verify(&old_token), Err(TokenError::UnknownKey(_))));
    }

    #[test]
    fn a_revoked_token_is_refused_and_others_are_not() {
        let ring = Keyring::new(&auth(None, &[], &[]));
        let (a, claims_a) = ring.mint("a", None).unwrap();
        let (b, _) = ring.mint("b", None).unwrap();
        let revoking = Keyring::new(&auth(None, &[], &[&claims_a.jti]));
        assert!(matches!(revoking.verify(&a), Err(TokenError::Revoked(_))));
        assert!(revoking.verify(&b).is_ok());
    }

    #[test]
    fn a_token_opens_its_own_site_only_even_with_a_shared_secret() {
        let arts = Keyring::for_site(&auth(None, &[], &[]), "arts");
        let law = Keyring::for_site(&auth(None, &[], &[]), "law");
        let single = Keyring::new(&auth(None, &[], &[]));
        let (t, claims) = arts.mint("entra", None).unwrap();
        assert_eq!(claims.site.as_deref(), Some("arts"));
        assert!(arts.verify(&t).is_ok());
        assert!(matches!(law.verify(&t), Err(TokenError::OtherSite { .. })));
        assert!(matches!(single.verify(&t), Err(TokenError::OtherSite { .. })));
        let (plain, _) = single.mint("entra", None).unwrap();
        assert!(matches!(arts.verify(&plain), Err(TokenError::OtherSite { .. })), "a site-less token opens no site");
        assert!(single.verify(&plain).is_ok());
    }
}
