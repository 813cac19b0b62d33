//! What Drupal 8–11 itself invalidates after saving or deleting an account or a role: cache
//! tags in `cachetags`, cache rows by cid.

use super::Modern;
use super::roles::config_names;
use crate::drupal::cache::Invalidation;

impl Modern {
    /// After accounts were created or saved (`EntityBase::invalidateTagsOnSave`): the entity
    /// type's list tag `user_list` (users have no bundle key, so no `user_list:user`),
    /// `4xx-response` (users have a canonical link), and on update the account's own `user:N`;
    /// then the persistent entity cache item `values:user:N`.
    pub fn user_saved(&self, uids: &[u32], created: bool) -> Invalidation {
        if uids.is_empty() {
            return Invalidation::default();
        }
        let mut tags = vec!["user_list".to_string(), "4xx-response".to_string()];
        if !created {
            tags.extend(uids.iter().map(|uid| format!("user:{uid}")));
        }
        Invalidation { tags, cids: vec![("entity", entity_cids(uids))] }
    }

    /// After accounts were deleted (`EntityBase::invalidateTagsOnDelete`): the list tag and each
    /// account's own tag, no `4xx-response`; the entity cache item goes too.
    pub fn user_deleted(&self, uids: &[u32]) -> Invalidation {
        if uids.is_empty() {
            return Invalidation::default();
        }
        let mut tags = vec!["user_list".to_string()];
        tags.extend(uids.iter().map(|uid| format!("user:{uid}")));
        Invalidation { tags, cids: vec![("entity", entity_cids(uids))] }
    }

    /// After a role was created, renamed or deleted, as a real Drupal 10.3 did it: its config
    /// cache rows and the APCu timestamp, `config:user_role_list`, the role's own config tag
    /// unless new, the action list when the two role actions came or went; when a role goes,
    /// also the two actions' own tags and `user_values`, the tag of every cached account (whose
    /// roles just changed).
    pub fn role_changed(&self, id: &str, created: bool, deleted: bool) -> Invalidation {
        let mut cids = config_names(id);
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

    /// The cache tables a write of drupal-scim's invalidates rows of, for `check`.
    pub fn cache_bins(&self) -> &'static [&'static str] {
        &["cache_entity", "cache_config", "cache_data"]
    }

    /// Caches are invalidated by tag: `check` looks at `cachetags` instead.
    pub fn cache_bins_named_by_table(&self) -> bool {
        false
    }

    pub fn cache_note(&self) -> Option<&'static str> {
        None
    }
}

fn entity_cids(uids: &[u32]) -> Vec<String> {
    uids.iter().map(|uid| format!("values:user:{uid}")).collect()
}
