//! Drupal 7: one `users` table (no uuid, no translations), Field API tables
//! `field_data_*`/`field_revision_*`, `role` + `users_roles`, uids from `sequences`, roles read
//! live. The facts: Drupal 7's `user.install`, `user.module` and `field_sql_storage`.

mod accounts;
mod caches;
mod detect;
mod fields;
mod layout;
mod membership;
mod roles;

use crate::drupal::schema::facts::Release;
use crate::drupal::tables::Tables;

/// A Drupal 7 site, and what differs between Drupal 7 sites.
#[derive(Debug, Clone)]
pub struct D7 {
    pub tables: Tables,
    /// `users.changed` exists (added by Drupal 7.83).
    pub has_changed: bool,
    /// The administrator role's rid (variable `user_admin_role`), never a SCIM group.
    pub admin_rid: Option<String>,
    /// Mapped fields that have a `<field>_format` column (text fields), written as NULL.
    pub format_fields: Vec<String>,
}

impl D7 {
    pub fn release(&self, _schema_version: i64) -> Release {
        Release::Drupal7
    }

    /// How `check` names this schema.
    pub fn label(&self) -> &'static str {
        "Drupal 7"
    }
}
