//! The on-disk form of drupal_mapping.toml: strict (unknown keys are errors with their line),
//! versioned, every option defaulted to what a stock Drupal 10/11 site needs.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Format version; only 1 exists.
    pub version: Spanned<u32>,
    #[serde(default)]
    pub drupal: DrupalSection,
    #[serde(default)]
    pub users: UsersSection,
    #[serde(default)]
    pub groups: GroupsSection,
}

/// `[drupal]`: which site and how to write into it.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DrupalSection {
    /// `auto` (detect) or `10` (the Drupal 8.x–11.x entity schema).
    #[serde(default)]
    pub core: Option<Spanned<String>>,
    /// Drupal's `$databases['default']['default']['prefix']`.
    #[serde(default)]
    pub table_prefix: Option<Spanned<String>>,
    /// `[drupal.table_prefixes]`: tables with a prefix of their own (Drupal 7's per-table prefix
    /// array, e.g. `users = "shared_"` on a shared-users multisite); `table_prefix` is the default.
    #[serde(default)]
    pub table_prefixes: BTreeMap<String, Spanned<String>>,
    /// Language of new accounts; default: the site's `system.site` default_langcode.
    #[serde(default)]
    pub langcode: Option<Spanned<String>>,
    /// Time zone of new accounts; default: the site's `system.date` timezone.default.
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    /// `auto`, `bcrypt` or `phpass`.
    #[serde(default)]
    pub password_hash: Option<Spanned<String>>,
    /// bcrypt cost of the site's PHP (10 before PHP 8.4, 12 from 8.4).
    #[serde(default)]
    pub bcrypt_cost: Option<Spanned<u32>>,
}

/// `[users]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UsersSection {
    /// Accounts SCIM never sees nor changes (anonymous and the super user by default).
    #[serde(default)]
    pub protected_uids: Option<Spanned<Vec<u32>>>,
    /// What `active = false` does: `block` or `block_remove_roles`.
    #[serde(default)]
    pub deactivate: Option<Spanned<String>>,
    /// What DELETE does: `block`, `block_remove_roles` or `delete_if_no_content`.
    #[serde(default)]
    pub delete: Option<Spanned<String>>,
    /// A create for the name or mail of an existing Drupal account SCIM has not linked yet:
    /// `refuse` (409) or `link` (adopt it).
    #[serde(default)]
    pub link_existing: Option<Spanned<String>>,
    /// SCIM attribute → Drupal column or field.
    #[serde(default, rename = "attribute")]
    pub attributes: Vec<AttributeEntry>,
}

/// One `[[users.attribute]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeEntry {
    /// SCIM attribute path, e.g. `userName`, `emails[type eq "work"].value`, `name.givenName`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
    pub scim: Spanned<String>,
    /// Drupal base column (`name`, `mail`, `status`, `timezone`, `preferred_langcode`,
    /// `preferred_admin_langcode`, `pass`) or a user field (`field_…`).
    pub drupal: Spanned<String>,
    /// Optional value transform: `lowercase` or `trim`.
    #[serde(default)]
    pub transform: Option<Spanned<String>>,
}

/// `[groups]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GroupsSection {
    /// What a group with no `[[groups.map]]` entry does: `create_role`, `refuse` or `ignore`.
    #[serde(default)]
    pub unmapped: Option<Spanned<String>>,
    /// Roles SCIM can never grant, revoke, rename or delete.
    #[serde(default)]
    pub protected_roles: Option<Spanned<Vec<String>>>,
    /// Whether DELETE /Groups/{id} also deletes a role that SCIM created (default false).
    #[serde(default)]
    pub delete_created_roles: Option<Spanned<bool>>,
    /// Explicit group → existing role mappings.
    #[serde(default, rename = "map")]
    pub maps: Vec<GroupMapEntry>,
}

/// One `[[groups.map]]`: a group (by displayName or externalId) that lands on an existing role.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapEntry {
    #[serde(default)]
    pub display_name: Option<Spanned<String>>,
    #[serde(default)]
    pub external_id: Option<Spanned<String>>,
    pub role: Spanned<String>,
}
