//! Drupal 8–11: `users` + `users_field_data` (one row per translation), `user__*` field tables
//! with deltas, roles as config entities in `config`, caches invalidated by tag. The facts:
//! reference/drupal-storage-facts.md §1–§9.

mod accounts;
mod caches;
mod detect;
mod fields;
mod layout;
mod membership;
mod roles;

use crate::drupal::schema::facts::Release;
use crate::drupal::tables::Tables;

/// A Drupal 8–11 site.
#[derive(Debug, Clone)]
pub struct Modern {
    pub tables: Tables,
    /// `content_translation_*` columns present in users_field_data.
    pub translation_columns: Vec<String>,
}

impl Modern {
    /// The release line of a site at this `system` schema version.
    pub fn release(&self, schema_version: i64) -> Release {
        if schema_version >= 11000 { Release::Drupal11 } else { Release::Drupal8To10 }
    }

    /// How `check` names this schema.
    pub fn label(&self) -> &'static str {
        "Drupal 8–11"
    }
}
