//! What each push leaves behind besides the state table: a counter in /metrics (pushed,
//! failed; parked accounts and the lag of the oldest change the target has not confirmed), and
//! an entry in Drupal's log (type `drupal_scim`), as the inbound changes have.

use crate::drupal::audit::{Audit, Entry, Severity};
use crate::sync::client::TargetError;
use crate::sync::push::{Done, Work};
use crate::sync::state::SyncState;
use crate::telemetry::METRICS;

/// Count one push and put it in Drupal's log.
pub async fn pushed(audit: &Audit, site: &str, target: &str, work: &Work, result: &Result<Done, TargetError>) {
    METRICS.sync_outcome(site, result.is_ok());
    let uid = work.uid();
    let name = match work {
        Work::Upsert { rep, .. } => rep.resource.get("userName").and_then(|v| v.as_str()).unwrap_or_default(),
        Work::Remove(_) => "",
    };
    let (severity, message, mut variables) = match result {
        Ok(Done::Holds { how, .. } | Done::Gone { how, .. }) if !name.is_empty() => {
            (Severity::Info, "Sync out: %name @how on @target.", vec![("@how", how.to_string())])
        }
        Ok(Done::Holds { how, .. } | Done::Gone { how, .. }) => (
            Severity::Info,
            "Sync out: account @uid (gone from Drupal or the scope) @how on @target.",
            vec![("@how", how.to_string())],
        ),
        Err(e) => (
            Severity::Warning,
            "Sync out: %name could not be pushed to @target: @error",
            vec![("@error", e.to_string())],
        ),
    };
    variables.extend([("%name", name.to_string()), ("@uid", uid.to_string()), ("@target", target.to_string())]);
    let link = Some(format!("/user/{uid}/edit")).filter(|_| !name.is_empty());
    let entry = Entry { severity, message, variables, uid: if name.is_empty() { 0 } else { uid }, link };
    audit.in_drupal_log(entry, "drupal-scim sync".to_string(), "").await;
}

/// After a pass: how many accounts are parked, and how old the oldest change the target has
/// not confirmed is (from the failing accounts: after a pass, every other change seen was
/// confirmed; a change made since is counted from the next poll, `interval_secs` later at most).
pub fn backlog(site: &str, failing: &[SyncState], now: i64, park_after: u32) {
    let parked = failing.iter().filter(|s| s.attempts >= park_after).count();
    let oldest = failing.iter().map(|s| s.pending_since).filter(|t| *t > 0).min();
    METRICS.sync_backlog(site, parked, oldest.map_or(0, |t| (now - t).max(0)));
}
