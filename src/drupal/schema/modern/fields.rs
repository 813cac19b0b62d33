//! Drupal 8–11 storage of user fields: `user__<field>` rows with bundle 'user', deleted 0,
//! revision_id = uid and the account's langcode, deltas 0..n-1.

use super::Modern;
use crate::drupal::error::StoreError;
use mysql_async::Value;
use mysql_async::prelude::*;

impl Modern {
    /// Rewrite a multi-value field the way Drupal does: delete its rows, insert deltas 0..n-1.
    pub async fn write_field<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        langcode: &str,
        field: &str,
        values: &[String],
        replace: bool,
    ) -> Result<(), StoreError> {
        let table = self.tables.t(&format!("user__{field}"));
        if replace {
            q.exec_drop(format!("DELETE FROM {table} WHERE `entity_id` = ?"), (uid,)).await?;
        }
        if values.is_empty() {
            return Ok(());
        }
        let marks = vec!["('user', 0, ?, ?, ?, ?, ?)"; values.len()].join(", ");
        let mut params: Vec<Value> = Vec::new();
        for (delta, value) in values.iter().enumerate() {
            params.extend([uid.into(), uid.into(), langcode.into(), (delta as u64).into(), value.as_str().into()]);
        }
        let sql = format!(
            "INSERT INTO {table} (`bundle`, `deleted`, `entity_id`, `revision_id`, `langcode`, `delta`, `{field}_value`) VALUES {marks}"
        );
        q.exec_drop(sql, params).await?;
        Ok(())
    }
}
