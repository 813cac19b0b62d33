//! Drupal 7 roles: rows of `role` (rid AUTO_INCREMENT, unique human name, weight) — the rid,
//! as text, is the role id everywhere else in the store. rids 1 and 2 (anonymous,
//! authenticated) are implicit; the administrator role is the variable `user_admin_role`.
//! Drupal 7 reads roles live (`user_roles()`), so no cache needs invalidating.

use crate::drupal::error::StoreError;
use crate::drupal::reach;
use crate::drupal::roles::Role;
use crate::drupal::site::Drupal7Site;
use crate::drupal::tables::Tables;
use mysql_async::prelude::*;

/// The implicit roles: anonymous user, authenticated user.
pub const BUILT_IN: [&str; 2] = ["1", "2"];

/// Longest role name (`role.name` is varchar(64)).
pub const MAX_NAME: usize = 64;

/// Every role, ordered by weight.
pub async fn list<Q: Queryable>(q: &mut Q, tables: &Tables, d7: &Drupal7Site) -> Result<Vec<Role>, StoreError> {
    let sql = format!("SELECT `rid`, `name`, `weight` FROM {} ORDER BY `weight`, `name`", tables.t("role"));
    let rows: Vec<(u32, String, i64)> = q.exec(sql, ()).await?;
    let marks = vec!["?"; reach::ESCALATING_PERMISSIONS.len()].join(", ");
    let sql = format!("SELECT DISTINCT `rid` FROM {} WHERE `permission` IN ({marks})", tables.t("role_permission"));
    let escalating: Vec<u32> = q.exec(sql, reach::ESCALATING_PERMISSIONS.to_vec()).await?;
    Ok(rows
        .into_iter()
        .map(|(rid, name, weight)| {
            let id = rid.to_string();
            Role {
                is_admin: d7.admin_rid.as_deref() == Some(id.as_str()),
                escalates: escalating.contains(&rid),
                id,
                uuid: String::new(),
                label: name,
                weight,
            }
        })
        .collect())
}

/// The name a label gets in `role.name`: at most 64 characters.
pub fn name_for(label: &str) -> String {
    label.trim().chars().take(MAX_NAME).collect()
}

/// Create a role as `user_role_save()` does: weight = highest + 1.
pub async fn create<Q: Queryable>(q: &mut Q, tables: &Tables, label: &str) -> Result<Role, StoreError> {
    let name = name_for(label);
    let role = tables.t("role");
    let taken: Option<u32> = q.exec_first(format!("SELECT `rid` FROM {role} WHERE `name` = ?"), (&name,)).await?;
    if let Some(rid) = taken {
        return Err(StoreError::Conflict(format!("a Drupal role named {name:?} (rid {rid}) already exists")));
    }
    let weight: Option<i64> = q.exec_first(format!("SELECT MAX(`weight`) FROM {role}"), ()).await?;
    let weight = weight.map_or(0, |w| w + 1);
    q.exec_drop(format!("INSERT INTO {role} (`name`, `weight`) VALUES (?, ?)"), (&name, weight)).await?;
    let rid: Option<u32> = q.exec_first(format!("SELECT `rid` FROM {role} WHERE `name` = ?"), (&name,)).await?;
    let rid =
        rid.ok_or_else(|| StoreError::Internal(format!("the role {name:?} just created could not be read back")))?;
    Ok(Role { id: rid.to_string(), uuid: String::new(), label: name, weight, is_admin: false, escalates: false })
}

/// Rename a role.
pub async fn relabel<Q: Queryable>(q: &mut Q, tables: &Tables, rid: &str, label: &str) -> Result<(), StoreError> {
    let name = name_for(label);
    let role = tables.t("role");
    let taken: Option<u32> =
        q.exec_first(format!("SELECT `rid` FROM {role} WHERE `name` = ? AND `rid` <> ?"), (&name, rid)).await?;
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
