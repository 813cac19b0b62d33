//! Drupal 7 roles: rows of `role` (rid AUTO_INCREMENT, unique human name, weight) — the rid,
//! as text, is the role id everywhere else in the store. rids 1 and 2 (anonymous,
//! authenticated) are implicit; the administrator role is the variable `user_admin_role`.
//! Drupal 7 reads roles live (`user_roles()`), so no cache needs invalidating.

use crate::drupal::error::StoreError;
use crate::drupal::reach;
use crate::drupal::roles::Role;
use crate::drupal::rows::{self, take};
use crate::drupal::site::Drupal7Site;
use crate::drupal::tables::Tables;
use mysql_async::Row;
use mysql_async::prelude::*;

/// The implicit roles: anonymous user, authenticated user.
pub const BUILT_IN: [&str; 2] = ["1", "2"];

/// Longest role name (`role.name` is varchar(64)).
pub const MAX_NAME: usize = 64;

/// Every role, ordered by weight.
pub async fn list<Q: Queryable>(q: &mut Q, tables: &Tables, d7: &Drupal7Site) -> Result<Vec<Role>, StoreError> {
    let sql = format!("SELECT `rid`, `name`, `weight` FROM {} ORDER BY `weight`, `name`", tables.t("role"));
    let rows: Vec<Row> = q.exec(sql, ()).await?;
    let marks = vec!["?"; reach::ESCALATING_PERMISSIONS.len()].join(", ");
    let sql = format!("SELECT DISTINCT `rid` FROM {} WHERE `permission` IN ({marks})", tables.t("role_permission"));
    let escalating: Vec<u32> =
        rows::column(q, sql, reach::ESCALATING_PERMISSIONS.to_vec(), "role_permission.rid").await?;
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
pub fn name_for(label: &str) -> String {
    label.trim().chars().take(MAX_NAME).collect()
}

/// Create a role as `user_role_save()` does: weight = highest + 1.
pub async fn create<Q: Queryable>(q: &mut Q, tables: &Tables, label: &str) -> Result<Role, StoreError> {
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
pub async fn relabel<Q: Queryable>(q: &mut Q, tables: &Tables, rid: &str, label: &str) -> Result<(), StoreError> {
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
pub async fn delete<Q: Queryable>(q: &mut Q, tables: &Tables, rid: &str) -> Result<(), StoreError> {
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
