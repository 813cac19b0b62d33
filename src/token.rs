//! Bearer tokens: HS256 JWTs minted by `drupal-scim token` and checked on every SCIM request.
//! Entra ID stores one long-lived "Secret Token", so expiry is optional; issuer and audience
//! are always checked.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

/// The claims drupal-scim puts in (and expects from) a token.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<i64>,
    /// Token id, for revocation lists.
    pub jti: String,
}

/// Why a token was refused (never shown to the client, which only sees 401).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token rejected: {0}")]
    Rejected(#[from] jsonwebtoken::errors::Error),
}

/// Mint a token. `ttl_secs = None` makes a token that never expires (what Entra wants).
pub fn mint(secret: &str, issuer: &str, audience: &str, subject: &str, ttl_secs: Option<i64>) -> Result<String, TokenError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        iss: issuer.into(),
        aud: audience.into(),
        sub: subject.into(),
        iat: now,
        exp: ttl_secs.map(|t| now + t),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    Ok(encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())?)?)
}

/// Check a token's signature, issuer, audience and (when present) expiry.
pub fn verify(token: &str, secret: &str, issuer: &str, audience: &str) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    // exp is optional (long-lived Entra tokens) but enforced when present.
    validation.required_spec_claims.clear();
    validation.required_spec_claims.insert("iss".into());
    validation.required_spec_claims.insert("aud".into());
    validation.validate_exp = true;
    validation.leeway = 30;
    let data = decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes())?, &validation)?;
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn minted_tokens_verify_and_others_do_not() {
        let t = mint(SECRET, "drupal-scim", "drupal-scim", "entra", None).unwrap();
        assert_eq!(verify(&t, SECRET, "drupal-scim", "drupal-scim").unwrap().sub, "entra");
        assert!(verify(&t, "another secret of at least 32 bytes!", "drupal-scim", "drupal-scim").is_err());
        assert!(verify(&t, SECRET, "drupal-scim", "someone-else").is_err());
        assert!(verify(&t, SECRET, "other-issuer", "drupal-scim").is_err());
        let expired = mint(SECRET, "drupal-scim", "drupal-scim", "entra", Some(-3600)).unwrap();
        assert!(verify(&expired, SECRET, "drupal-scim", "drupal-scim").is_err());
        assert!(verify("not.a.token", SECRET, "drupal-scim", "drupal-scim").is_err());
    }
}
