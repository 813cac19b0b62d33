//! Cache invalidation after a commit, as Drupal's entity API does it: bump cache tags in
//! `cachetags` and delete cache rows by cid. What to invalidate is a plan ([`Invalidation`]),
//! built from what a write changed; [`crate::drupal::after_commit`] carries it out to the end.
//! A missing cache table means "nothing cached" (Drupal creates them lazily).

use crate::drupal::error::ER_NO_SUCH_TABLE;
use crate::drupal::site::{Core, Site};
use crate::drupal::tables::Tables;
use mysql_async::Conn;
use mysql_async::prelude::*;

/// What one committed write makes stale in Drupal's caches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalidation {
    /// Cache tags whose invalidation counter goes up.
    pub tags: Vec<String>,
    /// Cache rows to delete: (bin, cids).
    pub cids: Vec<(&'static str, Vec<String>)>,
}

impl Invalidation {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.cids.iter().all(|(_, c)| c.is_empty())
    }

    /// Both plans.
    pub fn and(mut self, other: Invalidation) -> Invalidation {
        for tag in other.tags {
            if !self.tags.contains(&tag) {
                self.tags.push(tag);
            }
        }
        self.cids.extend(other.cids);
        self
    }

    /// After accounts were created or saved. Drupal 8+ (`EntityBase::invalidateTagsOnSave`):
    /// the entity type's list tag `user_list` (users have no bundle key, so no `user_list:user`),
    /// `4xx-response` (users have a canonical link), and on update the account's own `user:N`;
    /// then the persistent entity cache item `values:user:N`. Drupal 7 core caches no account
    /// rows, only field values (`field:user:N` in cache_field); contrib entitycache keeps whole
    /// accounts in cache_entity_user by uid.
    pub fn user_saved(site: &Site, uids: &[u32], created: bool) -> Invalidation {
        if uids.is_empty() {
            return Invalidation::default();
        }
        if site.is_drupal7() {
            return Invalidation {
                cids: vec![
                    ("field", uids.iter().map(|uid| format!("field:user:{uid}")).collect()),
                    ("entity_user", uids.iter().map(|uid| uid.to_string()).collect()),
                ],
                ..Invalidation::default()
            };
        }
        let mut tags = vec!["user_list".to_string(), "4xx-response".to_string()];
        if !created {
            tags.extend(uids.iter().map(|uid| format!("user:{uid}")));
        }
        Invalidation { tags, cids: vec![("entity", entity_cids(uids))] }
    }

    /// After accounts were deleted. Drupal 8+ (`EntityBase::invalidateTagsOnDelete`): the list
    /// tag and each account's own tag, no `4xx-response`; the entity cache item goes too.
    pub fn user_deleted(site: &Site, uids: &[u32]) -> Invalidation {
        if site.is_drupal7() || uids.is_empty() {
            return Invalidation::user_saved(site, uids, false);
        }
        let mut tags = vec!["user_list".to_string()];
        tags.extend(uids.iter().map(|uid| format!("user:{uid}")));
        Invalidation { tags, cids: vec![("entity", entity_cids(uids))] }
    }

    /// After a role was created, renamed or deleted, as a real Drupal 10.3 did it: its config
    /// cache rows and the APCu timestamp, `config:user_role_list`, the role's own config tag
    /// unless new, the action list when the two role actions came or went; when a role goes,
    /// also the two actions' own tags and `user_values`, the tag of every cached account (whose
    /// roles just changed). Drupal 7 keeps no role cache (`user_roles()` reads live).
    pub fn role_changed(site: &Site, id: &str, created: bool, deleted: bool) -> Invalidation {
        if site.core != Core::Modern {
            return Invalidation::default();
        }
        let mut cids = crate::drupal::roles::config_names(id);
        // Deleting the timestamp row makes every APCu-fronted copy of cache_config stale.
        cids.push("last_write_timestamp_cache_config".into());
        let mut tags = vec!["config:user_role_list".to_string()];
        if created || deleted {
            tags.push("config:action_list".into());
        }
        if !created {
            tags.push(format!("config:user.role.{id}"));
        }
        if deleted {
            tags.push(format!("config:system.action.user_add_role_action.{id}"));
            tags.push(format!("config:system.action.user_remove_role_action.{id}"));
            tags.push("user_values".into());
        }
        Invalidation { tags, cids: vec![("config", cids)] }
    }

    /// Carry the plan out on `conn`: the tags first (one statement), then the rows.
    pub async fn apply(&self, conn: &mut Conn, tables: &Tables) -> Result<(), mysql_async::Error> {
        if !self.tags.is_empty() {
            let marks = vec!["(?, 1)"; self.tags.len()].join(", ");
            let sql = format!(
                "INSERT INTO {} (`tag`, `invalidations`) VALUES {marks} ON DUPLICATE KEY UPDATE `invalidations` = `invalidations` + 1",
                tables.t("cachetags")
            );
            let params: Vec<mysql_async::Value> = self.tags.iter().map(|t| t.as_str().into()).collect();
            missing_is_empty(conn.exec_drop(sql, params).await, "cachetags")?;
        }
        for (bin, cids) in &self.cids {
            if cids.is_empty() {
                continue;
            }
            let table = format!("cache_{bin}");
            let marks = vec!["?"; cids.len()].join(", ");
            let sql = format!("DELETE FROM {} WHERE `cid` IN ({marks})", tables.t(&table));
            let params: Vec<mysql_async::Value> = cids.iter().map(|c| c.as_str().into()).collect();
            missing_is_empty(conn.exec_drop(sql, params).await, &table)?;
        }
        Ok(())
    }
}

fn entity_cids(uids: &[u32]) -> Vec<String> {
    uids.iter().map(|uid| format!("values:user:{uid}")).collect()
}

/// A cache table that does not exist holds nothing to invalidate.
fn missing_is_empty(result: Result<(), mysql_async::Error>, table: &str) -> Result<(), mysql_async::Error> {
    match result {
        Err(mysql_async::Error::Server(e)) if e.code == ER_NO_SUCH_TABLE => {
            log::debug!("cache table {table} does not exist yet: nothing to invalidate");
            Ok(())
        }
        other => other,
    }
}
