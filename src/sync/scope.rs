//! Which accounts go out, as SQL over the store's account aliases (`d` the account row, `s` the
//! bridge row): never protected nor privileged ones (the reach rules, read live in the
//! statement), linked to SCIM or not, narrowed by `sync.scope`.

use crate::drupal::error::StoreError;
use crate::drupal::rows::{self, take};
use crate::drupal::site::Site;
use crate::settings::SyncScope;
use crate::sync::state::TABLE;
use mysql_async::prelude::*;
use mysql_async::{Row, Value};

/// The accounts sync-out sends.
pub struct Scope {
    /// The site, with reach widened to accounts SCIM never linked.
    pub site: Site,
    pub kind: SyncScope,
    pub roles: Vec<String>,
}

/// A state row whose account is no longer in scope (cancelled, or left the scope).
#[derive(Debug, Clone)]
pub struct Orphan {
    pub uid: u32,
    pub external_id: String,
    pub target_id: Option<String>,
}

impl Scope {
    /// The scope of `site` (its reach is widened here: sync sends accounts linked or not).
    pub fn new(mut site: Site, kind: SyncScope, roles: Vec<String>) -> Scope {
        site.reach.unlinked_reachable = true;
        Scope { site, kind, roles }
    }

    /// The condition an account in scope meets.
    fn condition(&self, params: &mut Vec<Value>) -> String {
        // Accounts deleted through SCIM stay (blocked) in Drupal: they go out as blocked.
        let mut sql = self.site.reach_sql(true, params);
        match self.kind {
            SyncScope::All => {}
            SyncScope::NotCreatedByScim => sql.push_str(" AND s.`uid` IS NULL"),
            SyncScope::Roles => {
                let roles = self.site.schema.role_values();
                params.extend(self.roles.iter().map(|r| Value::from(r.as_str())));
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM {} x WHERE x.`{}` = d.`uid` AND {} AND {} IN ({}))",
                    roles.table,
                    roles.owner,
                    roles.conditions,
                    roles.value,
                    vec!["?"; self.roles.len()].join(", ")
                ));
            }
        }
        sql
    }

    /// Uids in scope, in uid order; with `since`, only those changed at or after it, plus those
    /// whose failed push is due again at `now`.
    pub async fn uids<Q: Queryable>(&self, q: &mut Q, since: Option<i64>, now: i64) -> Result<Vec<u32>, StoreError> {
        let mut params = Vec::new();
        let condition = self.condition(&mut params);
        let mut sql = format!("SELECT d.`uid` FROM {} WHERE {condition}", self.site.schema.accounts_from());
        if let Some(since) = since {
            sql.push_str(&format!(
                " AND ({} >= ? OR d.`uid` IN (SELECT `uid` FROM {} WHERE `attempts` > 0 AND `next_try` <= ?))",
                self.site.schema.changed_sql(),
                self.site.tables().t(TABLE)
            ));
            params.extend([Value::from(since), Value::from(now)]);
        }
        sql.push_str(" ORDER BY d.`uid`");
        rows::column(q, sql, params, "users.uid").await
    }

    /// Whether an account is in scope now.
    pub async fn contains<Q: Queryable>(&self, q: &mut Q, uid: u32) -> Result<bool, StoreError> {
        let mut params = Vec::new();
        let condition = self.condition(&mut params);
        params.push(uid.into());
        let sql =
            format!("SELECT COUNT(*) FROM {} WHERE {condition} AND d.`uid` = ?", self.site.schema.accounts_from());
        Ok(rows::first::<i64, _>(q, sql, params, "a count").await?.unwrap_or(0) > 0)
    }

    /// State rows of accounts the target has and that are no longer in scope (gone from Drupal,
    /// privileged now, or outside `sync.scope`). Rows never linked to a target account (recorded
    /// as in sync for the inbound provider, which owns them) are forgotten here.
    pub async fn orphans<Q: Queryable>(&self, q: &mut Q) -> Result<Vec<Orphan>, StoreError> {
        let mut params = Vec::new();
        let condition = self.condition(&mut params);
        let not_in_scope = format!(
            "NOT EXISTS (SELECT 1 FROM {} WHERE d.`uid` = st.`uid` AND {condition})",
            self.site.schema.accounts_from()
        );
        let table = self.site.tables().t(TABLE);
        let sql = format!(
            "DELETE FROM {table} WHERE `uid` IN (SELECT `uid` FROM (SELECT st.`uid` FROM {table} st \
             WHERE st.`target_id` IS NULL AND st.`gone` = 0 AND {not_in_scope}) AS unlinked)"
        );
        q.exec_drop(sql, params.clone()).await?;
        let sql = format!(
            "SELECT st.`uid`, st.`external_id`, st.`target_id` FROM {table} st WHERE st.`gone` = 0 AND {not_in_scope} ORDER BY st.`uid`"
        );
        let rows: Vec<Row> = q.exec(sql, params).await?;
        rows.into_iter()
            .map(|mut row| {
                Ok(Orphan {
                    uid: take(&mut row, 0, "scim_sync.uid")?,
                    external_id: take(&mut row, 1, "scim_sync.external_id")?,
                    target_id: take(&mut row, 2, "scim_sync.target_id")?,
                })
            })
            .collect()
    }

    /// The database's clock (Drupal's `changed` comes from the web server's, close enough; the
    /// poll re-reads a margin).
    pub async fn now<Q: Queryable>(&self, q: &mut Q) -> Result<i64, StoreError> {
        Ok(rows::first::<i64, _>(q, "SELECT UNIX_TIMESTAMP()".into(), (), "UNIX_TIMESTAMP()").await?.unwrap_or(0))
    }
}
