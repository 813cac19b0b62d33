//! What Drupal 7 itself drops from its caches after saving or deleting an account: core caches
//! no account rows, only field values (`field:user:N` in cache_field); contrib entitycache keeps
//! whole accounts in cache_entity_user by uid. Roles are read live (`user_roles()`): no cache.

use super::D7;
use crate::drupal::cache::Invalidation;

impl D7 {
    pub fn user_saved(&self, uids: &[u32], _created: bool) -> Invalidation {
        if uids.is_empty() {
            return Invalidation::default();
        }
        Invalidation {
            cids: vec![
                ("field", uids.iter().map(|uid| format!("field:user:{uid}")).collect()),
                ("entity_user", uids.iter().map(|uid| uid.to_string()).collect()),
            ],
            ..Invalidation::default()
        }
    }

    /// As after a save: the same cache rows.
    pub fn user_deleted(&self, uids: &[u32]) -> Invalidation {
        self.user_saved(uids, false)
    }

    pub fn role_changed(&self, _id: &str, _created: bool, _deleted: bool) -> Invalidation {
        Invalidation::default()
    }

    /// The cache tables a write of drupal-scim's invalidates rows of, for `check`.
    pub fn cache_bins(&self) -> &'static [&'static str] {
        &["cache_field"]
    }

    /// What `check` says about the caches instead of looking at cache tags.
    pub fn cache_bins_named_by_table(&self) -> bool {
        true
    }

    pub fn cache_note(&self) -> Option<&'static str> {
        Some("Drupal 7 reads accounts and roles live; drupal-scim drops each changed account's cache_field entry")
    }
}
