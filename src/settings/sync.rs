//! The `[sync]` section: where Drupal's accounts are pushed (sync out), which ones, and how.

use crate::settings::{Secret, SettingsError};
use serde::Deserialize;

/// The `[sync]` section: where Drupal's accounts are pushed, which ones, and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// The target's SCIM base URL, e.g. `https://other-site.example.org/scim/v2`.
    pub base_url: String,
    /// Bearer token the target accepts (or `[sync.oauth]`).
    #[serde(default)]
    pub token: Option<Secret>,
    /// Fetch tokens with the OAuth 2.0 client credentials grant instead of a fixed token.
    #[serde(default)]
    pub oauth: Option<SyncOAuth>,
    /// Seconds between two polls of Drupal's tables.
    #[serde(default = "default_sync_interval")]
    pub interval_secs: u64,
    /// Seconds between two full reconciliations (every account's fingerprint compared).
    #[serde(default = "default_sync_reconcile")]
    pub reconcile_secs: u64,
    /// Which accounts go out (protected and privileged ones never do).
    #[serde(default)]
    pub scope: SyncScope,
    /// With `scope = "roles"`: the roles an account must hold one of (machine names; on Drupal 7
    /// rids or role names).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Roles pushed as SCIM Groups with their holders as members (same naming as `roles`);
    /// none by default.
    #[serde(default)]
    pub groups: Vec<String>,
    /// What blocking an account in Drupal does on the target.
    #[serde(default)]
    pub on_block: SyncRemoval,
    /// What cancelling (deleting) an account in Drupal, or its leaving the scope, does on the target.
    #[serde(default)]
    pub on_cancel: SyncRemoval,
    /// Seconds one request to the target may take.
    #[serde(default = "default_sync_timeout")]
    pub timeout_secs: u64,
    /// Requests per second to the target, at most.
    #[serde(default = "default_sync_rps")]
    pub max_rps: u32,
    /// Accounts pushed at the same time.
    #[serde(default = "default_sync_concurrency")]
    pub concurrency: usize,
    /// The identity provider that provisions into this server through SCIM is also the sync
    /// target: what it writes is recorded as already in sync, so it is never sent back (no
    /// echo). Leave it off when the target is another service: those writes must reach it.
    #[serde(default)]
    pub provider_is_target: bool,
}

/// `[sync.oauth]`: the target's token endpoint and this client's credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncOAuth {
    /// E.g. `https://idp.example.org/oauth2/token`, or another drupal-scim's `<base>/oauth/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Space-separated scopes to ask for (none by default).
    #[serde(default)]
    pub scope: Option<String>,
}

/// `sync.scope`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncScope {
    /// Every account that is neither protected nor privileged.
    #[default]
    All,
    /// Only accounts holding one of `sync.roles`.
    Roles,
    /// Only accounts SCIM neither created nor linked (no `scim_user` row).
    NotCreatedByScim,
}

/// `sync.on_block` / `sync.on_cancel`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncRemoval {
    /// `active: false` on the target.
    #[default]
    Deactivate,
    /// DELETE on the target.
    Delete,
}

impl SyncSettings {
    /// Settings for a target with every default.
    pub fn new(base_url: &str, token: &str) -> SyncSettings {
        SyncSettings {
            base_url: base_url.to_string(),
            token: Some(Secret::new(token)),
            oauth: None,
            groups: Vec::new(),
            interval_secs: default_sync_interval(),
            reconcile_secs: default_sync_reconcile(),
            scope: SyncScope::All,
            roles: Vec::new(),
            on_block: SyncRemoval::Deactivate,
            on_cancel: SyncRemoval::Deactivate,
            timeout_secs: default_sync_timeout(),
            max_rps: default_sync_rps(),
            concurrency: default_sync_concurrency(),
            provider_is_target: false,
        }
    }

    /// Checks that cannot be expressed in types.
    pub fn check(&self) -> Result<(), SettingsError> {
        let bad = |m: &str| Err(SettingsError::Invalid(format!("sync.{m}")));
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            return bad("base_url must be an http:// or https:// URL, like https://example.org/scim/v2");
        }
        match (&self.token, &self.oauth) {
            (Some(_), Some(_)) => return bad("token and [sync.oauth] exclude each other: give one"),
            (None, None) => {
                return bad(
                    "needs a token (DRUPAL_SCIM__SYNC__TOKEN) or [sync.oauth] (token_url, client_id, client_secret)",
                );
            }
            (Some(t), None) if t.expose().is_empty() => {
                return bad("token is empty (set it in the file or DRUPAL_SCIM__SYNC__TOKEN)");
            }
            (None, Some(o)) if !(o.token_url.starts_with("https://") || o.token_url.starts_with("http://")) => {
                return bad("oauth.token_url must be an http:// or https:// URL");
            }
            (None, Some(o)) if o.client_id.is_empty() || o.client_secret.expose().is_empty() => {
                return bad("oauth needs client_id and client_secret");
            }
            _ => {}
        }
        if self.scope == SyncScope::Roles && self.roles.is_empty() {
            return bad("roles must name at least one role with scope = \"roles\"");
        }
        if self.interval_secs == 0 || self.timeout_secs == 0 || self.max_rps == 0 || self.concurrency == 0 {
            return bad("interval_secs, timeout_secs, max_rps and concurrency must be at least 1");
        }
        Ok(())
    }
}

fn default_sync_interval() -> u64 {
    60
}
fn default_sync_reconcile() -> u64 {
    3600
}
fn default_sync_timeout() -> u64 {
    30
}
fn default_sync_rps() -> u32 {
    10
}
fn default_sync_concurrency() -> usize {
    4
}
