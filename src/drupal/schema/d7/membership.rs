//! Drupal 7 role assignments: `users_roles` (uid, rid) pairs, with neither language nor delta.

use super::D7;
use crate::drupal::error::StoreError;
use crate::drupal::listed;
use mysql_async::Value;
use mysql_async::prelude::*;

impl D7 {
    /// One `users_roles` row per account (their language does not matter here).
    pub async fn insert_assignments<Q: Queryable>(
        &self,
        q: &mut Q,
        role: &str,
        accounts: &[(u32, &str)],
    ) -> Result<(), StoreError> {
        let mut params: Vec<Value> = Vec::new();
        for (uid, _) in accounts {
            params.extend([(*uid).into(), role.into()]);
        }
        let sql = format!(
            "INSERT INTO {} (`uid`, `rid`) VALUES {}",
            self.tables.t("users_roles"),
            vec!["(?, ?)"; accounts.len()].join(", ")
        );
        listed::run(q, sql, params).await?;
        Ok(())
    }

    /// `users_roles` has no deltas: nothing to renumber.
    pub async fn renumber<Q: Queryable>(&self, _q: &mut Q, _uids: &[u32]) -> Result<(), StoreError> {
        Ok(())
    }
}
