//! How sync out authenticates to its target: a bearer token given in the settings, or one
//! fetched with the OAuth 2.0 client credentials grant (RFC 6749 §4.4) — client secret by HTTP
//! Basic, as every token endpoint must accept — kept until shortly before it expires, and fetched
//! again early when the target refuses it.

use crate::settings::Secret;
use crate::settings::sync::SyncOAuth;
use crate::sync::client::TargetError;
use base64::Engine as _;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A token is renewed this long before the end of its life (or at a tenth of a shorter life).
const EARLY: Duration = Duration::from_secs(60);

/// The target's credentials.
pub enum Credentials {
    /// `sync.token`.
    Fixed(Secret),
    /// `[sync.oauth]`.
    ClientCredentials(Box<TokenSource>),
}

/// Tokens from a token endpoint, cached.
pub struct TokenSource {
    settings: SyncOAuth,
    cached: Mutex<Option<(Secret, Instant)>>,
}

impl Credentials {
    /// From `[sync]`: the OAuth client when configured, the fixed token otherwise.
    pub fn new(token: Option<&Secret>, oauth: Option<&SyncOAuth>) -> Credentials {
        match (oauth, token) {
            (Some(o), _) => {
                Credentials::ClientCredentials(Box::new(TokenSource { settings: o.clone(), cached: Mutex::new(None) }))
            }
            (None, Some(t)) => Credentials::Fixed(t.clone()),
            (None, None) => Credentials::Fixed(Secret::new("")),
        }
    }

    /// The bearer token to send now.
    pub async fn bearer(&self, http: &reqwest::Client) -> Result<Secret, TargetError> {
        match self {
            Credentials::Fixed(t) => Ok(t.clone()),
            Credentials::ClientCredentials(source) => source.bearer(http).await,
        }
    }

    /// The target refused the token: fetch a new one next time. True when that may help.
    pub async fn refused(&self) -> bool {
        match self {
            Credentials::Fixed(_) => false,
            Credentials::ClientCredentials(source) => {
                *source.cached.lock().await = None;
                true
            }
        }
    }
}

impl TokenSource {
    async fn bearer(&self, http: &reqwest::Client) -> Result<Secret, TargetError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, life) = self.fetch(http).await?;
        let early = EARLY.min(life / 10);
        *cached = Some((token.clone(), Instant::now() + life.saturating_sub(early)));
        Ok(token)
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<(Secret, Duration), TargetError> {
        let s = &self.settings;
        let encode = |v: &str| percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(&s.client_id),
            encode(s.client_secret.expose())
        ));
        let mut form = String::from("grant_type=client_credentials");
        if let Some(scope) = s.scope.as_deref().filter(|v| !v.is_empty()) {
            form.push_str(&format!("&scope={}", encode(scope)));
        }
        let response = http
            .post(&s.token_url)
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| TargetError::Unavailable {
                detail: format!("token endpoint: {}", e.without_url()),
                retry_after: None,
                // No token, so the SCIM request itself was never sent.
                maybe_applied: false,
            })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            // The endpoint's error code, never its description (it may echo what was sent).
            let code = body.get("error").and_then(Value::as_str).unwrap_or_default();
            let detail = format!(
                "token endpoint answered {}{}",
                status.as_u16(),
                if code.is_empty() { String::new() } else { format!(" ({code})") }
            );
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                TargetError::Unavailable { detail, retry_after: None, maybe_applied: false }
            } else {
                TargetError::Refused { status: status.as_u16(), detail }
            });
        }
        let token = body.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or_else(|| {
            TargetError::Refused {
                status: status.as_u16(),
                detail: "token endpoint answered without an access_token".into(),
            }
        })?;
        let life = body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600).max(1);
        log::info!("sync: fetched a token from the token endpoint, valid {life} s");
        Ok((Secret::new(token), Duration::from_secs(life)))
    }
}
