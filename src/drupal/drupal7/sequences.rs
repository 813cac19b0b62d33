//! uid allocation on Drupal 7: `users.uid` is not AUTO_INCREMENT; Drupal 7's MySQL driver hands
//! out ids through the one-column `sequences` table (`db_next_id()`), never MAX(uid) + 1, which
//! would race. Done the same way here so Drupal and drupal-scim never hand out the same uid.

use crate::drupal::error::StoreError;
use crate::drupal::rows;
use crate::drupal::tables::Tables;
use mysql_async::Transaction;
use mysql_async::prelude::*;

/// The next uid: insert into `sequences` and take the insert id; when the users table is ahead
/// of the sequence (accounts imported without it), first move the sequence to the highest uid.
pub async fn next_uid(q: &mut Transaction<'_>, tables: &Tables) -> Result<u32, StoreError> {
    let sequences = tables.t("sequences");
    // MAX() of no rows is NULL.
    let sql = format!("SELECT MAX(`uid`) FROM {}", tables.t("users"));
    let max = rows::first::<Option<u32>, _>(q, sql, (), "users.uid").await?.flatten().unwrap_or(0);
    let mut id = insert_id(q, &sequences).await?;
    if max >= id {
        q.exec_drop(
            format!("INSERT INTO {sequences} (`value`) VALUES (?) ON DUPLICATE KEY UPDATE `value` = `value`"),
            (max,),
        )
        .await?;
        id = insert_id(q, &sequences).await?;
    }
    Ok(id)
}

async fn insert_id(q: &mut Transaction<'_>, sequences: &str) -> Result<u32, StoreError> {
    q.exec_drop(format!("INSERT INTO {sequences} () VALUES ()"), ()).await?;
    q.last_insert_id()
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| StoreError::Internal("sequences.value did not come from AUTO_INCREMENT".into()))
}

/// Keep only the highest value, as Drupal 7 does once a request is over (after the commit).
pub async fn clean_up<Q: Queryable>(q: &mut Q, tables: &Tables, below: u32) -> Result<(), StoreError> {
    q.exec_drop(format!("DELETE FROM {} WHERE `value` < ?", tables.t("sequences")), (below,)).await?;
    Ok(())
}
