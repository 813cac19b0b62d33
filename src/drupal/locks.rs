//! Named locks that serialise writes claiming the same user name or e-mail address: Drupal has
//! no unique index on `mail` (and `name` is unique only per language), so uniqueness is decided
//! under a lock, as two concurrent identical creates must give one success and one conflict.

use crate::drupal::error::StoreError;
use mysql_async::Conn;
use mysql_async::prelude::*;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Locks held by one connection; release them after the transaction.
#[must_use = "release the locks after the transaction"]
pub struct NamedLocks {
    held: bool,
}

/// The lock name for a claimed value: case-folded, hashed (lock names are limited to 64 chars).
fn lock_name(value: &str) -> String {
    let digest = Sha256::digest(value.trim().to_lowercase().as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("drupal_scim:{hex}")
}

impl NamedLocks {
    /// Take a lock for every given value, in a fixed order so two writers cannot deadlock.
    pub async fn acquire(conn: &mut Conn, values: &[Option<&str>], wait: Duration) -> Result<NamedLocks, StoreError> {
        let mut names: Vec<String> = values.iter().flatten().filter(|v| !v.is_empty()).map(|v| lock_name(v)).collect();
        names.sort();
        names.dedup();
        let mut locks = NamedLocks { held: false };
        if !names.is_empty() {
            // Should this request be cancelled before `release`, the pool resets the connection
            // (which releases its named locks) instead of handing them to the next request.
            conn.reset_connection(true);
        }
        for name in names {
            let got: Option<Option<i64>> =
                conn.exec_first("SELECT GET_LOCK(?, ?)", (name, wait.as_secs().max(1))).await?;
            locks.held = true;
            if got.flatten() != Some(1) {
                locks.release(conn).await;
                return Err(StoreError::Unavailable("timed out waiting for a concurrent write of the same account".into()));
            }
        }
        Ok(locks)
    }

    /// Release every lock this connection holds.
    pub async fn release(self, conn: &mut Conn) {
        if self.held {
            match conn.query_drop("SELECT RELEASE_ALL_LOCKS()").await {
                // Nothing left to clean up: the pooled connection keeps its prepared statements.
                Ok(()) => conn.reset_connection(false),
                Err(e) => log::warn!("releasing named locks failed: {e}"),
            }
        }
    }
}
