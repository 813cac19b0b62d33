//! Sync-out's own table, `scim_sync` (with the site's default table prefix): per account, the
//! target's id, the fingerprint of the representation the target last confirmed, and the
//! retry bookkeeping. A row moves only after the target confirmed, so a crash or an outage
//! repeats a push, never loses one (the first-contact look-up makes the repeat harmless).

use crate::drupal::db::Db;
use crate::drupal::error::StoreError;
use crate::drupal::rows::take;
use crate::drupal::tables::Tables;
use mysql_async::prelude::*;
use mysql_async::{Row, Value};
use std::collections::HashMap;

/// The table's unprefixed name.
pub const TABLE: &str = "scim_sync";

/// One account's row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub uid: u32,
    /// The `externalId` sent for the account (its SCIM id on this site).
    pub external_id: String,
    /// The resource's id on the target (`None`: not linked yet).
    pub target_id: Option<String>,
    /// Fingerprint of the representation the target last confirmed.
    pub fingerprint: Option<String>,
    /// The account was deleted or deactivated on the target because it was blocked (with
    /// `on_block = "delete"`), cancelled or left the scope.
    pub gone: bool,
    /// Failed pushes since the last success.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix time before which a failing account is not tried again by the loop.
    pub next_try: i64,
    /// Unix time of the first failure since the last success (0: none).
    pub pending_since: i64,
}

/// Create the table if it is missing.
pub async fn ensure(db: &Db, tables: &Tables) -> Result<(), StoreError> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (\
           `uid` int(10) unsigned NOT NULL COMMENT 'users.uid',\
           `external_id` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '' COMMENT 'externalId sent: the account''s SCIM id here',\
           `target_id` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL COMMENT 'the resource id on the target; NULL: not linked yet',\
           `fingerprint` char(64) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL COMMENT 'SHA-256 of the representation the target last confirmed',\
           `gone` tinyint(4) NOT NULL DEFAULT 0 COMMENT '1: deleted or deactivated on the target (blocked with on_block=delete, cancelled, out of scope)',\
           `attempts` int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'failed pushes since the last success',\
           `last_error` varchar(1000) DEFAULT NULL,\
           `next_try` int(11) NOT NULL DEFAULT 0 COMMENT 'unix time of the next retry of a failing account',\
           `pending_since` int(11) NOT NULL DEFAULT 0 COMMENT 'unix time of the first failure since the last success',\
           `updated` int(11) NOT NULL DEFAULT 0,\
           PRIMARY KEY (`uid`),\
           KEY `retry` (`attempts`, `next_try`)\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='drupal-scim: sync-out state per account'",
        tables.t(TABLE)
    );
    db.conn().await?.query_drop(sql).await?;
    Ok(())
}

const COLUMNS: &str =
    "`uid`, `external_id`, `target_id`, `fingerprint`, `gone`, `attempts`, `last_error`, `next_try`, `pending_since`";

fn from_row(mut row: Row) -> Result<SyncState, StoreError> {
    Ok(SyncState {
        uid: take(&mut row, 0, "scim_sync.uid")?,
        external_id: take(&mut row, 1, "scim_sync.external_id")?,
        target_id: take(&mut row, 2, "scim_sync.target_id")?,
        fingerprint: take(&mut row, 3, "scim_sync.fingerprint")?,
        gone: take::<i64>(&mut row, 4, "scim_sync.gone")? != 0,
        attempts: take(&mut row, 5, "scim_sync.attempts")?,
        last_error: take(&mut row, 6, "scim_sync.last_error")?,
        next_try: take(&mut row, 7, "scim_sync.next_try")?,
        pending_since: take(&mut row, 8, "scim_sync.pending_since")?,
    })
}

/// The rows of these accounts.
pub async fn load<Q: Queryable>(
    q: &mut Q,
    tables: &Tables,
    uids: &[u32],
) -> Result<HashMap<u32, SyncState>, StoreError> {
    if uids.is_empty() {
        return Ok(HashMap::new());
    }
    let marks = vec!["?"; uids.len()].join(", ");
    let sql = format!("SELECT {COLUMNS} FROM {} WHERE `uid` IN ({marks})", tables.t(TABLE));
    let rows: Vec<Row> = q.exec(sql, uids.to_vec()).await?;
    rows.into_iter().map(|row| from_row(row).map(|s| (s.uid, s))).collect()
}

/// Rows whose pushes failed, most attempts first.
pub async fn failing<Q: Queryable>(q: &mut Q, tables: &Tables) -> Result<Vec<SyncState>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {} WHERE `attempts` > 0 ORDER BY `attempts` DESC, `uid`", tables.t(TABLE));
    let rows: Vec<Row> = q.exec(sql, ()).await?;
    rows.into_iter().map(from_row).collect()
}

/// What the target confirmed: the account is there (`target_id`) as `fingerprint`, or gone.
pub async fn confirm<Q: Queryable>(
    q: &mut Q,
    tables: &Tables,
    uid: u32,
    external_id: &str,
    target_id: Option<&str>,
    fingerprint: Option<&str>,
    gone: bool,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO {} (`uid`, `external_id`, `target_id`, `fingerprint`, `gone`, `attempts`, `last_error`, `next_try`, `pending_since`, `updated`) \
         VALUES (?, ?, ?, ?, ?, 0, NULL, 0, 0, UNIX_TIMESTAMP()) ON DUPLICATE KEY UPDATE `external_id` = VALUES(`external_id`), \
         `target_id` = VALUES(`target_id`), `fingerprint` = VALUES(`fingerprint`), `gone` = VALUES(`gone`), `attempts` = 0, \
         `last_error` = NULL, `next_try` = 0, `pending_since` = 0, `updated` = VALUES(`updated`)",
        tables.t(TABLE)
    );
    q.exec_drop(sql, (uid, external_id, target_id, fingerprint, i32::from(gone))).await?;
    Ok(())
}

/// A failed push: count it, keep the error (never a token or a personal value: the caller
/// names status codes and attribute names only), and when to try again.
pub async fn fail<Q: Queryable>(
    q: &mut Q,
    tables: &Tables,
    uid: u32,
    external_id: &str,
    error: &str,
    next_try: i64,
) -> Result<(), StoreError> {
    let error: String = error.chars().take(1000).collect();
    let sql = format!(
        "INSERT INTO {} (`uid`, `external_id`, `attempts`, `last_error`, `next_try`, `pending_since`, `updated`) \
         VALUES (?, ?, 1, ?, ?, UNIX_TIMESTAMP(), UNIX_TIMESTAMP()) ON DUPLICATE KEY UPDATE `attempts` = `attempts` + 1, \
         `last_error` = VALUES(`last_error`), `next_try` = VALUES(`next_try`), \
         `pending_since` = IF(`pending_since` = 0, VALUES(`pending_since`), `pending_since`), `updated` = VALUES(`updated`)",
        tables.t(TABLE)
    );
    q.exec_drop(sql, (uid, external_id, error, next_try)).await?;
    Ok(())
}

/// Forget an account (deleted on the target, or never sent and gone from Drupal).
pub async fn forget<Q: Queryable>(q: &mut Q, tables: &Tables, uid: u32) -> Result<(), StoreError> {
    q.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", tables.t(TABLE)), (uid,)).await?;
    Ok(())
}

/// The statement that records an account the inbound SCIM server just wrote as in sync with
/// `fingerprint` (no echo): run in the write's own transaction. The target id is kept if known.
pub fn in_sync_statement(tables: &Tables, uid: u32, external_id: &str, fingerprint: &str) -> (String, Vec<Value>) {
    let sql = format!(
        "INSERT INTO {} (`uid`, `external_id`, `fingerprint`, `gone`, `attempts`, `updated`) VALUES (?, ?, ?, 0, 0, UNIX_TIMESTAMP()) \
         ON DUPLICATE KEY UPDATE `external_id` = VALUES(`external_id`), `fingerprint` = VALUES(`fingerprint`), `gone` = 0, \
         `attempts` = 0, `last_error` = NULL, `next_try` = 0, `pending_since` = 0, `updated` = VALUES(`updated`)",
        tables.t(TABLE)
    );
    (sql, vec![uid.into(), external_id.into(), fingerprint.into()])
}
