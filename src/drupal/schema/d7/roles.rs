//! Drupal 7 roles: rows of `role` (rid AUTO_INCREMENT, unique human name, weight) — the rid,
//! as text, is the role id everywhere else in the store. rids 1 and 2 (anonymous,
//! authenticated) are implicit; the administrator role is the variable `user_admin_role`.
//! Drupal 7 reads roles live (`user_roles()`), so no cache needs invalidating.

use super::D7;
use crate::drupal::charset::Repertoire;
use crate::drupal::error::StoreError;
use crate::drupal::model::Role;
use crate::drupal::permissions::ESCALATING_PERMISSIONS;
use crate::drupal::rows::{self, take};
use crate::drupal::tables::Tables;
use mysql_async::Row;
use mysql_async::prelude::*;

/// The implicit roles: anonymous user, authenticated user.
const BUILT_IN: [&str; 2] = ["1", "2"];

/// Longest role name (`role.name` is varchar(64)).
const MAX_NAME: usize = 64;

impl D7 {
    /// Roles are rows of `role`, out of any configuration import.
    pub fn roles_are_config(&self) -> bool {
        false
    }

    pub fn is_built_in(&self, id: &str) -> bool {
        BUILT_IN.contains(&id)
    }

    /// Role ids are numbers: a mapping may name a role by its name too, compared
    /// case-insensitively as MySQL compares it.
    pub fn find_by_label<'a>(&self, roles: &'a [Role], label: &str) -> Option<&'a Role> {
        roles.iter().find(|r| r.label.to_lowercase() == label.trim().to_lowercase())
    }

    /// The role ids protected whatever their permissions: those listed, and `user_admin_role`.
    /// Role ids are numbers: the names the mapping may use were resolved to rids already and
    /// must not reach an integer comparison ("4 editors" = 4).
    pub fn protected_roles(&self, mut listed: Vec<String>) -> Vec<String> {
        listed.retain(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()));
        listed.extend(self.admin_rid.clone());
        listed
    }

    pub async fn list_roles<Q: Queryable>(&self, q: &mut Q) -> Result<Vec<Role>, StoreError> {
        list(q, &self.tables, self).await
    }

    /// A role named after the label, with the next rid; `role.name` must hold the label.
    pub async fn create_role<Q: Queryable>(
        &self,
        q: &mut Q,
        label: &str,
        _taken: &[String],
        _langcode: &str,
        repertoire: Repertoire,
    ) -> Result<Role, StoreError> {
        storable_label(repertoire, label)?;
        create(q, &self.tables, label).await
    }

    pub async fn relabel_role<Q: Queryable>(
        &self,
        q: &mut Q,
        id: &str,
        label: &str,
        repertoire: Repertoire,
    ) -> Result<(), StoreError> {
        storable_label(repertoire, label)?;
        relabel(q, &self.tables, id, label).await
    }

    pub async fn delete_role<Q: Queryable>(&self, q: &mut Q, id: &str) -> Result<(), StoreError> {
        delete(q, &self.tables, id).await
    }
}

/// A role label must fit `role.name`'s character set (Drupal 7 tables are often 3-byte utf8).
fn storable_label(repertoire: Repertoire, label: &str) -> Result<(), StoreError> {
    if repertoire.holds(label) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!("displayName: the role name {}", repertoire.refusal())))
    }
}

/// Every role, ordered by weight.
async fn list<Q: Queryable>(q: &mut Q, tables: &Tables, d7: &D7) -> Result<Vec<Role>, StoreError> {
    let sql = format!("SELECT `rid`, `name`, `weight` FROM {} ORDER BY `weight`, `name`", tables.t("role"));
    let rows: Vec<Row> = q.exec(sql, ()).await?;
    let marks = vec!["?"; ESCALATING_PERMISSIONS.len()].join(", ");
    let sql = format!("SELECT DISTINCT `rid` FROM {} WHERE `permission` IN ({marks})", tables.t("role_permission"));
    let escalating: Vec<u32> = rows::column(q, sql, ESCALATING_PERMISSIONS.to_vec(), "role_permission.rid").await?;
    let mut roles = Vec::with_capacity(rows.len());
    for mut row in rows {
        let rid = take::<u32>(&mut row, 0, "role.rid")?;
        let id = rid.to_string();
        roles.push(Role {
            is_admin: d7.admin_rid.as_deref() == Some(id.as_str()),
            escalates: escalating.contains(&rid),
            id,
            uuid: String::new(),
            label: take(&mut row, 1, "role.name")?,
            weight: take(&mut row, 2, "role.weight")?,
        });
    }
    Ok(roles)
}

/// The name a label gets in `role.name`: at most 64 characters.
fn name_for(label: &str) -> String {
    label.trim().chars().take(MAX_NAME).collect()
}

/// Create a role as `user_role_save()` does: weight = highest + 1.
async fn create<Q: Queryable>(q: &mut Q, tables: &Tables, label: &str) -> Result<Role, StoreError> {
    let name = name_for(label);
    let role = tables.t("role");
    let taken =
        rows::first::<u32, _>(q, format!("SELECT `rid` FROM {role} WHERE `name` = ?"), (&name,), "role.rid").await?;
    if let Some(rid) = taken {
        return Err(StoreError::Conflict(format!("a Drupal role named {name:?} (rid {rid}) already exists")));
    }
    // MAX() of no rows is NULL.
    let weight =
        rows::first::<Option<i64>, _>(q, format!("SELECT MAX(`weight`) FROM {role}"), (), "role.weight").await?;
    let weight = weight.flatten().map_or(0, |w| w + 1);
    q.exec_drop(format!("INSERT INTO {role} (`name`, `weight`) VALUES (?, ?)"), (&name, weight)).await?;
    let rid =
        rows::first::<u32, _>(q, format!("SELECT `rid` FROM {role} WHERE `name` = ?"), (&name,), "role.rid").await?;
    let rid =
        rid.ok_or_else(|| StoreError::Internal(format!("the role {name:?} just created could not be read back")))?;
    Ok(Role { id: rid.to_string(), uuid: String::new(), label: name, weight, is_admin: false, escalates: false })
}

/// Rename a role.
async fn relabel<Q: Queryable>(q: &mut Q, tables: &Tables, rid: &str, label: &str) -> Result<(), StoreError> {
    let name = name_for(label);
    let role = tables.t("role");
    let sql = format!("SELECT `rid` FROM {role} WHERE `name` = ? AND `rid` <> ?");
    let taken = rows::first::<u32, _>(q, sql, (&name, rid), "role.rid").await?;
    if let Some(other) = taken {
        return Err(StoreError::Conflict(format!("a Drupal role named {name:?} (rid {other}) already exists")));
    }
    q.exec_drop(format!("UPDATE {role} SET `name` = ? WHERE `rid` = ?"), (&name, rid)).await?;
    Ok(())
}

/// Delete a role as `user_role_delete()` does: the role, its permissions, its assignments.
async fn delete<Q: Queryable>(q: &mut Q, tables: &Tables, rid: &str) -> Result<(), StoreError> {
    for table in ["role_permission", "users_roles", "role"] {
        q.exec_drop(format!("DELETE FROM {} WHERE `rid` = ?", tables.t(table)), (rid,)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_column() {
        assert_eq!(name_for("  Editors "), "Editors");
        assert_eq!(name_for(&"é".repeat(100)).chars().count(), MAX_NAME);
    }
}
