//! Drupal roles, whatever the schema keeps them as (config entities on 8+, `role` rows on
//! Drupal 7, [`crate::drupal::schema`]): list, find, create, rename and delete them inside the
//! caller's transaction.

use crate::drupal::error::StoreError;
use crate::drupal::site::Site;
use mysql_async::prelude::*;

pub use crate::drupal::model::Role;

/// Whether a role id is one every account has implicitly (never stored, never a SCIM group).
pub fn is_built_in(site: &Site, id: &str) -> bool {
    site.schema.is_built_in(id)
}

/// The role a mapping names: by id, or on Drupal 7 (whose role ids are numbers) also by its
/// name, case-insensitively as MySQL compares it.
pub fn find<'a>(site: &Site, roles: &'a [Role], reference: &str) -> Option<&'a Role> {
    site.schema.find_role(roles, reference)
}

/// Every role of the site, ordered by weight.
pub async fn list_roles<Q: Queryable>(q: &mut Q, site: &Site) -> Result<Vec<Role>, StoreError> {
    site.schema.list_roles(q).await
}

/// Create a role labelled `label` inside the caller's transaction (on 8+ with a machine name
/// made from the label, unique among `taken`; on Drupal 7 with the next rid).
pub async fn create_role<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    label: &str,
    taken: &[String],
) -> Result<Role, StoreError> {
    site.schema.create_role(q, label, taken, &site.langcode, site.repertoires.role).await
}

/// Change a role's label.
pub async fn relabel_role<Q: Queryable>(q: &mut Q, site: &Site, id: &str, label: &str) -> Result<(), StoreError> {
    site.schema.relabel_role(q, id, label, site.repertoires.role).await
}

/// Delete a role and every assignment of it.
pub async fn delete_role<Q: Queryable>(q: &mut Q, site: &Site, id: &str) -> Result<(), StoreError> {
    site.schema.delete_role(q, id).await
}
