//! Named locks that serialise writes claiming the same user name or e-mail address: Drupal has
//! no unique index on `mail` (and `name` is unique only per language), so uniqueness is decided
//! under a lock, as two concurrent identical creates must give one success and one conflict.
//!
//! MariaDB's named locks are server-wide, not per database: every name is scoped to the site
//! (the connection's database and the prefixed table names), so that two Drupal sites on one
//! server never wait for each other.

use crate::drupal::error::StoreError;
use crate::drupal::tables::Tables;
use mysql_async::Conn;
use mysql_async::prelude::*;
use std::time::Duration;

/// The lock name for `key` on the site of `tables`: hashed (lock names are limited to 64 chars).
const NAME_SQL: &str =
    "CONCAT('drupal_scim:', LEFT(SHA2(CONCAT_WS('|', CONVERT(DATABASE() USING utf8mb4), ?, ?), 256), 40))";

/// Locks held by one connection; release them after the transaction.
#[must_use = "release the locks after the transaction"]
pub struct NamedLocks {
    /// The prefixed users table the names are scoped with, and each lock's key.
    users: String,
    keys: Vec<String>,
}

/// Take the site's lock named `key`, waiting up to `wait`; false when it timed out.
pub async fn lock(conn: &mut Conn, tables: &Tables, key: &str, wait: Duration) -> Result<bool, StoreError> {
    // GET_LOCK() is NULL on an error (such as a killed wait): not taken.
    let sql = format!("SELECT GET_LOCK({NAME_SQL}, ?)");
    let params = (tables.t("users"), key, wait.as_secs().max(1));
    let got = crate::drupal::rows::first::<Option<i64>, _>(conn, sql, params, "GET_LOCK()").await?;
    Ok(got.flatten() == Some(1))
}

/// Release the site's lock named `key`.
pub async fn unlock(conn: &mut Conn, tables: &Tables, key: &str) -> Result<(), StoreError> {
    conn.exec_drop(format!("SELECT RELEASE_LOCK({NAME_SQL})"), (tables.t("users"), key)).await?;
    Ok(())
}

impl NamedLocks {
    /// Take a lock for every given value (case-folded), in a fixed order so two writers cannot
    /// deadlock.
    pub async fn acquire(
        conn: &mut Conn,
        tables: &Tables,
        values: &[Option<&str>],
        wait: Duration,
    ) -> Result<NamedLocks, StoreError> {
        let mut keys: Vec<String> = values
            .iter()
            .flatten()
            .filter(|v| !v.is_empty())
            .map(|v| format!("account:{}", v.trim().to_lowercase()))
            .collect();
        keys.sort();
        keys.dedup();
        let users = tables.t("users");
        if keys.is_empty() {
            return Ok(NamedLocks { users, keys });
        }
        // Should this request be cancelled before `release`, the pool resets the connection
        // (which releases its named locks) instead of handing them to the next request.
        conn.reset_connection(true);
        // Every lock in one statement (one round trip): the server evaluates the select list left
        // to right, so they are taken in the sorted order, each waiting up to `wait`. (One
        // connection holding several named locks needs MySQL 5.7.5 / MariaDB 10.0.2: before,
        // a GET_LOCK released the lock held before it.)
        let wait = wait.as_secs().max(1);
        let one = format!("GET_LOCK({NAME_SQL}, ?)");
        let sql = format!("SELECT {}", vec![one.as_str(); keys.len()].join(", "));
        let mut params: Vec<mysql_async::Value> = Vec::new();
        for key in &keys {
            params.extend([users.as_str().into(), key.as_str().into(), wait.into()]);
        }
        let locks = NamedLocks { users, keys };
        let got: Result<Option<mysql_async::Row>, _> = conn.exec_first(sql, params).await;
        match got {
            Ok(Some(row)) if (0..row.len()).all(|i| matches!(row.get_opt::<Option<i64>, _>(i), Some(Ok(Some(1))))) => {
                Ok(locks)
            }
            Ok(_) => {
                locks.release(conn).await;
                Err(StoreError::Unavailable("timed out waiting for a concurrent write of the same account".into()))
            }
            Err(e) => {
                locks.release(conn).await;
                Err(e.into())
            }
        }
    }

    /// Release every lock this connection took (those a timed-out GET_LOCK did not get are
    /// simply not released: RELEASE_LOCK gives 0 or NULL). One by name, in one statement:
    /// RELEASE_ALL_LOCKS() is not in MariaDB before 10.5.2.
    pub async fn release(self, conn: &mut Conn) {
        if !self.keys.is_empty() {
            let one = format!("RELEASE_LOCK({NAME_SQL})");
            let sql = format!("SELECT {}", vec![one.as_str(); self.keys.len()].join(", "));
            let mut params: Vec<mysql_async::Value> = Vec::new();
            for key in &self.keys {
                params.extend([self.users.as_str().into(), key.as_str().into()]);
            }
            match conn.exec_drop(sql, params).await {
                // Nothing left to clean up: the pooled connection keeps its prepared statements.
                Ok(()) => conn.reset_connection(false),
                Err(e) => log::warn!("releasing named locks failed: {e}"),
            }
        }
    }
}
