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

/// The lock name for a claimed value: case-folded, hashed (lock names are limited to 64
/// characters), scoped to one site (named locks are server-wide, and one server may hold
/// several Drupal databases).
fn lock_name(scope: &str, value: &str) -> String {
    let digest = Sha256::digest(value.trim().to_lowercase().as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("dscim:{scope}:{hex}")
}

/// A short identifier of one site (database and table prefix) for lock names.
pub fn scope_of(database: &str, prefix: &str) -> String {
    let digest = Sha256::digest(format!("{database}\0{prefix}").as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

impl NamedLocks {
    /// Take a lock for every given value, in a fixed order so two writers cannot deadlock.
    pub async fn acquire(conn: &mut Conn, scope: &str, values: &[Option<&str>], wait: Duration) -> Result<NamedLocks, StoreError> {
        let mut names: Vec<String> =
            values.iter().flatten().filter(|v| !v.is_empty()).map(|v| lock_name(scope, v)).collect();
        names.sort();
        names.dedup();
        let mut locks = NamedLocks { held: false };
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
        if self.held
            && let Err(e) = conn.query_drop("SELECT RELEASE_ALL_LOCKS()").await {
                log::warn!("releasing named locks failed: {e}");
            }
    }
}
