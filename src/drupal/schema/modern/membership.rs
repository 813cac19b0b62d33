//! Drupal 8–11 role assignments: `user__roles` rows in the account's language, deltas kept
//! 0..n-1 per account.

use super::Modern;
use crate::drupal::error::StoreError;
use crate::drupal::listed;
use crate::drupal::rows::take;
use crate::drupal::schema::fragments::marks;
use mysql_async::Value;
use mysql_async::prelude::*;
use std::collections::BTreeMap;

impl Modern {
    /// Insert the role's row for each (uid, langcode), after the account's last delta.
    pub async fn insert_assignments<Q: Queryable>(
        &self,
        q: &mut Q,
        role: &str,
        accounts: &[(u32, &str)],
    ) -> Result<(), StoreError> {
        let table = self.tables.t("user__roles");
        let ids: Vec<Value> = accounts.iter().map(|(uid, _)| Value::from(*uid)).collect();
        let sql = format!(
            "SELECT `entity_id`, MAX(`delta`) FROM {table} WHERE `entity_id` IN ({}) AND `deleted` = 0 GROUP BY `entity_id`",
            marks(accounts.len())
        );
        let mut max: BTreeMap<u32, u32> = BTreeMap::new();
        for mut row in listed::rows(q, sql, ids).await? {
            max.insert(take(&mut row, 0, "user__roles.entity_id")?, take(&mut row, 1, "user__roles.delta")?);
        }
        let mut params: Vec<Value> = Vec::new();
        for (uid, langcode) in accounts {
            let delta = max.get(uid).map_or(0, |d| d + 1);
            params.extend([(*uid).into(), (*uid).into(), (*langcode).into(), delta.into(), role.into()]);
        }
        let sql = format!(
            "INSERT INTO {table} (`bundle`, `deleted`, `entity_id`, `revision_id`, `langcode`, `delta`, `roles_target_id`) VALUES {}",
            vec!["('user', 0, ?, ?, ?, ?, ?)"; accounts.len()].join(", ")
        );
        listed::run(q, sql, params).await?;
        Ok(())
    }

    /// Close the gaps a removal leaves: deltas 0..n-1 per account and language, in their order.
    /// Two passes so no intermediate value collides with the primary key. A row's new delta is
    /// the number of its account's rows (same language) before it: what ROW_NUMBER() - 1 would
    /// give, without window functions, which MySQL 5.7 lacks (see sql_support). The derived
    /// table is grouped, so MySQL and MariaDB materialise it before the update reads it back.
    pub async fn renumber<Q: Queryable>(&self, q: &mut Q, uids: &[u32]) -> Result<(), StoreError> {
        let table = self.tables.t("user__roles");
        let ids: Vec<Value> = uids.iter().map(|u| Value::from(*u)).collect();
        let m = marks(uids.len());
        listed::run(
            q,
            format!("UPDATE {table} SET `delta` = `delta` + 1000000 WHERE `entity_id` IN ({m}) AND `deleted` = 0"),
            ids.clone(),
        )
        .await?;
        listed::run(
            q,
            format!(
                "UPDATE {table} r JOIN (SELECT a.`entity_id`, a.`langcode`, a.`delta`, COUNT(b.`delta`) AS `nd` \
                   FROM {table} a LEFT JOIN {table} b ON b.`entity_id` = a.`entity_id` AND b.`langcode` = a.`langcode` \
                     AND b.`deleted` = 0 AND b.`delta` < a.`delta` \
                   WHERE a.`entity_id` IN ({m}) AND a.`deleted` = 0 GROUP BY a.`entity_id`, a.`langcode`, a.`delta`) x \
                 ON r.`entity_id` = x.`entity_id` AND r.`langcode` = x.`langcode` AND r.`delta` = x.`delta` AND r.`deleted` = 0 \
                 SET r.`delta` = x.`nd`"
            ),
            ids,
        )
        .await?;
        Ok(())
    }
}
