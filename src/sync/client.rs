//! The SCIM client towards the target: bearer auth, a request rate limit, a timeout, retries of
//! what is worth retrying (network errors, 5xx, 429 — waiting `Retry-After` when it says so).
//! A POST is repeated only when the target cannot have carried it out (refused connection, 429,
//! 503): after a timeout or a 500 it may have created the account, and the caller looks before
//! creating again. Logs method, path (never the query, which may carry a user name), status and
//! a request id; never the token or a body.

use crate::settings::SyncSettings;
use crate::sync::backoff::request_delay;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Tries of one request before the push fails.
const TRIES: u32 = 4;
/// The longest `Retry-After` waited for within a push; a longer one parks the account instead.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// Why a request did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    /// Worth trying again later (network, 5xx, 429), after `retry_after` if the target said so.
    /// `maybe_applied`: the request reached the target and may have been carried out although
    /// no answer said so (a timeout, a 500); false when it cannot have been (a refused
    /// connection, 429, 503, 408).
    #[error("{detail}")]
    Unavailable { detail: String, retry_after: Option<Duration>, maybe_applied: bool },
    /// The target refused the request (4xx): trying again as is will not help.
    #[error("{detail}")]
    Refused { status: u16, detail: String },
}

impl TargetError {
    /// The wait the target asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TargetError::Unavailable { retry_after, .. } => *retry_after,
            TargetError::Refused { .. } => None,
        }
    }

    /// Whether the target may have carried the failed request out (see [`TargetError::Unavailable`]).
    pub fn maybe_applied(&self) -> bool {
        matches!(self, TargetError::Unavailable { maybe_applied: true, .. })
    }
}

/// Whether repeating `method` cannot do more than sending it once did: every method sync uses
/// but POST (its PATCH requests replace and remove, they never add to a list).
fn idempotent(method: &Method) -> bool {
    *method != Method::POST
}

/// An answer: status and JSON body (if any).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Option<Value>,
}

/// The target SCIM service provider.
pub struct TargetClient {
    http: reqwest::Client,
    base: String,
    token: crate::sync::oauth::Credentials,
    /// When the next request may start (the rate limit).
    next_slot: Mutex<Instant>,
    spacing: Duration,
    /// ` site=<name>` in every log line of a multisite server's sync (empty otherwise).
    tag: String,
}

impl TargetClient {
    /// The same client, its log lines naming `site` (when not empty).
    pub fn for_site(mut self, site: &str) -> TargetClient {
        self.tag = if site.is_empty() { String::new() } else { format!(" site={site}") };
        self
    }

    /// What log lines about this target carry after `sync`.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// A client for the `[sync]` target.
    pub fn new(settings: &SyncSettings) -> Result<TargetClient, TargetError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .user_agent(concat!("drupal-scim/", env!("CARGO_PKG_VERSION"), " sync"))
            .build()
            .map_err(|e| TargetError::Refused { status: 0, detail: format!("cannot build the HTTP client: {e}") })?;
        Ok(TargetClient {
            http,
            base: crate::settings::canonical_url(&settings.base_url),
            token: crate::sync::oauth::Credentials::new(settings.token.as_ref(), settings.oauth.as_ref()),
            next_slot: Mutex::new(Instant::now()),
            spacing: Duration::from_secs(1) / settings.max_rps.max(1),
            tag: String::new(),
        })
    }

    /// Wait for the rate limit's next slot.
    async fn pace(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.spacing;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Send a request (`path` below the base URL, `query` pairs), retrying what is worth it (a
    /// POST only when the target cannot have carried it out). 2xx and 404 are answers;
    /// everything else an error after the retries.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, TargetError> {
        let mut last = None;
        for try_ in 0..TRIES {
            if try_ > 0 {
                let wait = last.as_ref().and_then(TargetError::retry_after).unwrap_or_else(|| request_delay(try_ - 1));
                tokio::time::sleep(wait).await;
            }
            match self.send_once(method.clone(), path, query, body).await {
                Ok(answer) => return Ok(answer),
                Err(e @ TargetError::Refused { .. }) => return Err(e),
                Err(e) if e.retry_after().is_some_and(|w| w > LONGEST_WAIT) => return Err(e),
                Err(e) if e.maybe_applied() && !idempotent(&method) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(TargetError::Unavailable {
            detail: "no answer".into(),
            retry_after: None,
            maybe_applied: true,
        }))
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, TargetError> {
        self.pace().await;
        let request_id = uuid::Uuid::new_v4().simple().to_string();
        let bearer = self.token.bearer(&self.http).await?;
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(bearer.expose())
            .header("accept", "application/scim+json")
            .header("x-request-id", &request_id);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/scim+json").body(body.to_string());
        }
        let started = std::time::Instant::now();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                // A connection that was never made carried nothing; anything later (a timeout,
                // a dropped connection) may have reached the target.
                let maybe_applied = !e.is_connect();
                // reqwest's error names the URL, never the token; drop the query it may carry.
                let detail = format!("{method} {path}: {}", e.without_url());
                log::warn!("sync{}: {detail} (request {request_id})", self.tag);
                return Err(TargetError::Unavailable { detail, retry_after: None, maybe_applied });
            }
        };
        let status = response.status();
        log::info!(
            "sync{}: {method} {path} → {} in {} ms (request {request_id})",
            self.tag,
            status.as_u16(),
            started.elapsed().as_millis()
        );
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str::<Value>(&text).ok();
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(Answer { status: status.as_u16(), body });
        }
        if status == StatusCode::UNAUTHORIZED && self.token.refused().await {
            // A fetched token expired or was revoked early: the retry fetches another.
            return Err(TargetError::Unavailable {
                detail: format!("{method} {path} answered 401: fetching a new token"),
                retry_after: None,
                // Refused at the door: nothing was carried out.
                maybe_applied: false,
            });
        }
        // The target's own detail may quote what was sent: keep its scimType and status only.
        let scim_type = body.as_ref().and_then(|b| b.get("scimType")).and_then(Value::as_str).unwrap_or_default();
        let detail = format!(
            "{method} {path} answered {}{}",
            status.as_u16(),
            if scim_type.is_empty() { String::new() } else { format!(" ({scim_type})") }
        );
        // 501 says the target does not do what was asked (RFC 7644 §3.12): asking again is no use.
        let retryable = (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        if retryable {
            // 429, 503 and 408 say the request was not carried out; a 500 (or 502, 504) does not.
            let maybe_applied = !matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT
            );
            Err(TargetError::Unavailable { detail, retry_after, maybe_applied })
        } else {
            Err(TargetError::Refused { status: status.as_u16(), detail })
        }
    }

    /// Whether the target's `/ServiceProviderConfig` says it supports PATCH.
    pub async fn supports_patch(&self) -> Result<bool, TargetError> {
        let answer = self.send(Method::GET, "/ServiceProviderConfig", &[], None).await?;
        Ok(answer
            .body
            .as_ref()
            .and_then(|b| b.pointer("/patch/supported"))
            .and_then(|v| v.as_bool().or_else(|| v.as_str().map(|s| s.eq_ignore_ascii_case("true"))))
            .unwrap_or(false))
    }

    /// The id of the one user matching `attribute eq value` (`None`: no match). More than one
    /// match is an error: linking either would be a guess.
    pub async fn find_user(&self, attribute: &str, value: &str) -> Result<Option<String>, TargetError> {
        // A SCIM string literal is a JSON string.
        let filter = format!("{attribute} eq {}", Value::from(value));
        let answer = self
            .send(Method::GET, "/Users", &[("filter", filter.as_str()), ("attributes", "id"), ("count", "2")], None)
            .await?;
        let resources = answer.body.as_ref().and_then(|b| b.get("Resources")).and_then(Value::as_array);
        let ids: Vec<String> = resources
            .map(|r| r.iter().filter_map(|u| u.get("id").and_then(Value::as_str).map(String::from)).collect())
            .unwrap_or_default();
        match ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(id.clone())),
            _ => Err(TargetError::Refused {
                status: 409,
                detail: format!("{} users on the target match its {attribute}: not linking either", ids.len()),
            }),
        }
    }
}
