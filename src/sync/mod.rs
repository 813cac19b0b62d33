//! Sync out: Drupal → a SCIM service provider. The outbound half of provisioning: accounts
//! created, edited, blocked or cancelled in Drupal reach the target, read from the database
//! alone.
//!
//! - [`representation`]: an account as the target gets it, and its fingerprint.
//! - [`scope`]: which accounts go out (never protected or privileged ones), what changed.
//! - [`state`]: the `scim_sync` table: target id, last confirmed fingerprint, retries.
//! - [`client`]: the SCIM client (auth, rate limit, retries, `Retry-After`).
//! - [`push`]: one account to the target: first contact, create, update, block, cancel.
//! - [`patch_request`]: the PATCH bodies of an update and a deactivation.
//! - [`run`]: the passes, the loop, `--dry-run` and `--status`.
//! - [`report`]: each push in /metrics and in Drupal's log.
//! - [`groups`], [`group_state`]: roles out as SCIM Groups with their members.
//! - [`backoff`], [`progress`], [`echo`]: retry schedule, backfill progress, no echo.
pub mod backoff;
pub mod client;
pub mod echo;
pub mod group_state;
pub mod groups;
pub mod oauth;
pub mod patch_request;
pub mod progress;
pub mod push;
pub mod report;
pub mod representation;
pub mod run;
pub mod scope;
pub mod state;

pub use run::{PassReport, Status, SyncError, Syncer};
