//! `scim_sync_group`: per Drupal role pushed as a SCIM Group, the group's id on the target and
//! the fingerprint of what the target last confirmed (name and members), next to `scim_sync`.

use crate::drupal::db::Db;
use crate::drupal::error::StoreError;
use crate::drupal::rows::take;
use crate::drupal::tables::Tables;
use mysql_async::Row;
use mysql_async::prelude::*;

const TABLE: &str = "scim_sync_group";

/// One role's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub role: String,
    pub target_id: Option<String>,
    pub fingerprint: Option<String>,
    pub last_error: Option<String>,
}

/// Create the table if it is missing.
pub async fn ensure(db: &Db, tables: &Tables) -> Result<(), StoreError> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (\
           `role` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT 'role id: machine name (8+) or rid (7)',\
           `target_id` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL COMMENT 'the Group id on the target',\
           `fingerprint` char(64) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL COMMENT 'SHA-256 of the Group the target last confirmed',\
           `last_error` varchar(1000) DEFAULT NULL,\
           `updated` int(11) NOT NULL DEFAULT 0,\
           PRIMARY KEY (`role`)\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='drupal-scim: sync-out state per role pushed as a group'",
        tables.t(TABLE)
    );
    db.conn().await?.query_drop(sql).await?;
    Ok(())
}

/// Every row.
pub async fn all<Q: Queryable>(q: &mut Q, tables: &Tables) -> Result<Vec<GroupState>, StoreError> {
    let sql =
        format!("SELECT `role`, `target_id`, `fingerprint`, `last_error` FROM {} ORDER BY `role`", tables.t(TABLE));
    let rows: Vec<Row> = q.exec(sql, ()).await?;
    rows.into_iter()
        .map(|mut row| {
            Ok(GroupState {
                role: take(&mut row, 0, "scim_sync_group.role")?,
                target_id: take(&mut row, 1, "scim_sync_group.target_id")?,
                fingerprint: take(&mut row, 2, "scim_sync_group.fingerprint")?,
                last_error: take(&mut row, 3, "scim_sync_group.last_error")?,
            })
        })
        .collect()
}

/// The target confirmed the group as `fingerprint` under `target_id`.
pub async fn confirm<Q: Queryable>(
    q: &mut Q,
    tables: &Tables,
    role: &str,
    target_id: &str,
    fingerprint: &str,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO {} (`role`, `target_id`, `fingerprint`, `last_error`, `updated`) VALUES (?, ?, ?, NULL, UNIX_TIMESTAMP()) \
         ON DUPLICATE KEY UPDATE `target_id` = VALUES(`target_id`), `fingerprint` = VALUES(`fingerprint`), `last_error` = NULL, `updated` = VALUES(`updated`)",
        tables.t(TABLE)
    );
    q.exec_drop(sql, (role, target_id, fingerprint)).await?;
    Ok(())
}

/// A push failed: keep what was known, note the error (tried again next pass).
pub async fn fail<Q: Queryable>(q: &mut Q, tables: &Tables, role: &str, error: &str) -> Result<(), StoreError> {
    let error: String = error.chars().take(1000).collect();
    let sql = format!(
        "INSERT INTO {} (`role`, `last_error`, `updated`) VALUES (?, ?, UNIX_TIMESTAMP()) \
         ON DUPLICATE KEY UPDATE `last_error` = VALUES(`last_error`), `updated` = VALUES(`updated`)",
        tables.t(TABLE)
    );
    q.exec_drop(sql, (role, error)).await?;
    Ok(())
}

/// The role is no longer pushed (or the target lost the group): forget it.
pub async fn forget<Q: Queryable>(q: &mut Q, tables: &Tables, role: &str) -> Result<(), StoreError> {
    q.exec_drop(format!("DELETE FROM {} WHERE `role` = ?", tables.t(TABLE)), (role,)).await?;
    Ok(())
}
