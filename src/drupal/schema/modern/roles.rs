//! Drupal 8–11 roles as config entities: `config` rows `user.role.<id>` holding PHP-serialized
//! data in Drupal's key order, the `key_value` uuid index, and the two `system.action.*` configs
//! Drupal 10.0–11.4 create with every role. Renames are read-modify-write so permissions,
//! dependencies and `_core` survive.

use super::Modern;
use crate::drupal::charset::Repertoire;
use crate::drupal::error::StoreError;
use crate::drupal::model::Role;
use crate::drupal::permissions::escalates;
use crate::drupal::php_serialize::{PhpValue, serialize, unserialize};
use crate::drupal::rows::{self, take};
use crate::drupal::tables::Tables;
use mysql_async::Row;
use mysql_async::prelude::*;

/// Roles every account has implicitly; never stored in user__roles, never SCIM groups.
pub const BUILT_IN: [&str; 2] = ["anonymous", "authenticated"];

/// Longest machine name drupal-scim gives a role (Drupal's role form allows 64 characters).
pub const MAX_ID_LENGTH: usize = 64;

impl Modern {
    /// Roles are `config` rows: a configuration import deletes those missing from the sync directory.
    pub fn roles_are_config(&self) -> bool {
        true
    }

    pub fn is_built_in(&self, id: &str) -> bool {
        BUILT_IN.contains(&id)
    }

    /// Role ids are machine names: a mapping names a role by its id only.
    pub fn find_by_label<'a>(&self, _roles: &'a [Role], _label: &str) -> Option<&'a Role> {
        None
    }

    /// The role ids protected whatever their permissions: those listed (ids already).
    pub fn protected_roles(&self, listed: Vec<String>) -> Vec<String> {
        listed
    }

    pub async fn list_roles<Q: Queryable>(&self, q: &mut Q) -> Result<Vec<Role>, StoreError> {
        list_config_roles(q, &self.tables).await
    }

    /// A role config entity with a machine name made from the label, unique among `taken`.
    /// Config data holds any text: `_repertoire` asks nothing of the label.
    pub async fn create_role<Q: Queryable>(
        &self,
        q: &mut Q,
        label: &str,
        taken: &[String],
        langcode: &str,
        _repertoire: Repertoire,
    ) -> Result<Role, StoreError> {
        let id = machine_name(label, taken);
        create_config_role(q, &self.tables, langcode, &id, label).await
    }

    pub async fn relabel_role<Q: Queryable>(
        &self,
        q: &mut Q,
        id: &str,
        label: &str,
        _repertoire: Repertoire,
    ) -> Result<(), StoreError> {
        relabel_config_role(q, &self.tables, id, label).await
    }

    pub async fn delete_role<Q: Queryable>(&self, q: &mut Q, id: &str) -> Result<(), StoreError> {
        delete_config_role(q, &self.tables, id).await
    }
}

/// The user_role config entities, ordered by weight.
async fn list_config_roles<Q: Queryable>(q: &mut Q, tables: &Tables) -> Result<Vec<Role>, StoreError> {
    let sql = format!(
        "SELECT `name`, `data` FROM {} WHERE `collection` = '' AND `name` LIKE 'user.role.%'",
        tables.t("config")
    );
    let rows: Vec<Row> = q.exec(sql, ()).await?;
    let mut roles: Vec<Role> = Vec::with_capacity(rows.len());
    for mut row in rows {
        let name: String = take(&mut row, 0, "config.name")?;
        let data: Option<Vec<u8>> = take(&mut row, 1, "config.data")?;
        let Some(id) = name.strip_prefix("user.role.").map(String::from) else { continue };
        // A role whose data cannot be read cannot be told apart from an administrator role:
        // refusing is safer than skipping it (Drupal itself cannot load such a role either).
        let value = data.as_deref().map(unserialize).and_then(Result::ok).ok_or_else(|| {
            StoreError::Data(format!("config.data of {name} is not PHP-serialized data (Drupal cannot load the role)"))
        })?;
        roles.push(Role {
            label: value.get("label").and_then(PhpValue::as_str).unwrap_or(&id).to_string(),
            uuid: value.get("uuid").and_then(PhpValue::as_str).unwrap_or_default().to_string(),
            weight: value.get("weight").and_then(PhpValue::as_i64).unwrap_or(0),
            is_admin: value.get("is_admin").and_then(PhpValue::as_bool).unwrap_or(false),
            escalates: value
                .get("permissions")
                .and_then(PhpValue::as_array)
                .is_some_and(|permissions| escalates(permissions.iter().filter_map(|(_, p)| p.as_str()))),
            id,
        });
    }
    roles.sort_by(|a, b| a.weight.cmp(&b.weight).then_with(|| a.id.cmp(&b.id)));
    Ok(roles)
}

/// A machine name for a new role from its label: Drupal's `[a-z0-9_]`, unique among `taken`.
pub fn machine_name(label: &str, taken: &[String]) -> String {
    let mut base = String::new();
    // Drupal's machine-name widget transliterates first (Rédacteurs → redacteurs); its tables
    // and deunicode's both come from Text::Unidecode.
    for c in deunicode::deunicode(label).chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            base.push(c);
        } else if !base.ends_with('_') {
            base.push('_');
        }
    }
    let mut base = base.trim_matches('_').to_string();
    if base.is_empty() {
        base = "scim_group".into();
    }
    base.truncate(MAX_ID_LENGTH - 4);
    let base = base.trim_end_matches('_').to_string();
    let free = |id: &str| !taken.iter().any(|t| t == id) && !BUILT_IN.contains(&id);
    if free(&base) {
        return base;
    }
    (2..).map(|n| format!("{base}_{n}")).find(|id| free(id)).unwrap_or(base)
}

fn role_data(uuid: &str, langcode: &str, id: &str, label: &str, weight: i64) -> PhpValue {
    PhpValue::assoc([
        ("uuid", PhpValue::str(uuid)),
        ("langcode", PhpValue::str(langcode)),
        ("status", PhpValue::Bool(true)),
        ("dependencies", PhpValue::empty_array()),
        ("id", PhpValue::str(id)),
        ("label", PhpValue::str(label)),
        ("weight", PhpValue::Int(weight)),
        ("is_admin", PhpValue::Bool(false)),
        ("permissions", PhpValue::empty_array()),
    ])
}

/// The add/remove role actions Drupal creates with a role: (config name, data).
fn action_data(uuid: &str, langcode: &str, role_id: &str, label: &str, add: bool) -> (String, PhpValue) {
    let (verb, plugin) = if add {
        (format!("Add the {label} role to the selected user(s)"), "user_add_role_action")
    } else {
        (format!("Remove the {label} role from the selected user(s)"), "user_remove_role_action")
    };
    let id = format!("{plugin}.{role_id}");
    let data = PhpValue::assoc([
        ("uuid", PhpValue::str(uuid)),
        ("langcode", PhpValue::str(langcode)),
        ("status", PhpValue::Bool(true)),
        (
            "dependencies",
            PhpValue::assoc([
                ("config", PhpValue::list(vec![PhpValue::str(&format!("user.role.{role_id}"))])),
                ("module", PhpValue::list(vec![PhpValue::str("user")])),
            ]),
        ),
        ("id", PhpValue::str(&id)),
        ("label", PhpValue::str(&verb)),
        ("type", PhpValue::str("user")),
        ("plugin", PhpValue::str(plugin)),
        ("configuration", PhpValue::assoc([("rid", PhpValue::str(role_id))])),
    ]);
    (format!("system.action.{id}"), data)
}

/// Config names written for a role (the role and its two actions).
pub fn config_names(role_id: &str) -> Vec<String> {
    vec![
        format!("user.role.{role_id}"),
        format!("system.action.user_add_role_action.{role_id}"),
        format!("system.action.user_remove_role_action.{role_id}"),
    ]
}

async fn insert_config<Q: Queryable>(
    q: &mut Q,
    tables: &Tables,
    name: &str,
    data: &PhpValue,
    store: &str,
    uuid: &str,
) -> Result<(), StoreError> {
    q.exec_drop(
        format!("INSERT INTO {} (`collection`, `name`, `data`) VALUES ('', ?, ?)", tables.t("config")),
        (name, serialize(data)),
    )
    .await?;
    // The config entity query's uuid index (QueryFactory::onConfigSave).
    let index = serialize(&PhpValue::list(vec![PhpValue::str(name)]));
    q.exec_drop(
        format!("INSERT INTO {} (`collection`, `name`, `value`) VALUES (?, ?, ?)", tables.t("key_value")),
        (format!("config.entity.key_store.{store}"), format!("uuid:{uuid}"), index),
    )
    .await?;
    Ok(())
}

/// Create a role config entity (and its actions). Weight = highest + 1.
async fn create_config_role<Q: Queryable>(
    q: &mut Q,
    tables: &Tables,
    langcode: &str,
    id: &str,
    label: &str,
) -> Result<Role, StoreError> {
    let roles = list_config_roles(q, tables).await?;
    let weight = roles.iter().map(|r| r.weight).max().map_or(0, |w| w + 1);
    let uuid = uuid::Uuid::new_v4().to_string();
    insert_config(
        q,
        tables,
        &format!("user.role.{id}"),
        &role_data(&uuid, langcode, id, label, weight),
        "user_role",
        &uuid,
    )
    .await?;
    for add in [true, false] {
        let action_uuid = uuid::Uuid::new_v4().to_string();
        let (name, data) = action_data(&action_uuid, langcode, id, label, add);
        insert_config(q, tables, &name, &data, "action", &action_uuid).await?;
    }
    Ok(Role { id: id.into(), uuid, label: label.into(), weight, is_admin: false, escalates: false })
}

/// Change a role config entity's label, keeping every other key as it is.
async fn relabel_config_role<Q: Queryable>(
    q: &mut Q,
    tables: &Tables,
    id: &str,
    label: &str,
) -> Result<(), StoreError> {
    let name = format!("user.role.{id}");
    let sql = format!("SELECT `data` FROM {} WHERE `collection` = '' AND `name` = ? FOR UPDATE", tables.t("config"));
    let data = rows::first::<Option<Vec<u8>>, _>(q, sql, (&name,), "config.data").await?;
    let data = data.ok_or_else(|| StoreError::NotFound(format!("role {id}")))?;
    let data = data.ok_or_else(|| StoreError::Data(format!("config.data of {name} is NULL")))?;
    let mut value = unserialize(&data)
        .map_err(|e| StoreError::Data(format!("config.data of {name} is not PHP-serialized data: {e}")))?;
    value
        .set("label", PhpValue::str(label))
        .map_err(|_| StoreError::Data(format!("config.data of {name} is not an array")))?;
    q.exec_drop(
        format!("UPDATE {} SET `data` = ? WHERE `collection` = '' AND `name` = ?", tables.t("config")),
        (serialize(&value), &name),
    )
    .await?;
    Ok(())
}

/// Delete a role config entity, its actions and their uuid index rows, and every assignment.
async fn delete_config_role<Q: Queryable>(q: &mut Q, tables: &Tables, id: &str) -> Result<(), StoreError> {
    for name in config_names(id) {
        let sql = format!("SELECT `data` FROM {} WHERE `collection` = '' AND `name` = ?", tables.t("config"));
        let data = rows::first::<Option<Vec<u8>>, _>(q, sql, (&name,), "config.data").await?.flatten();
        let value = match data.as_deref().map(unserialize) {
            Some(Ok(value)) => Some(value),
            Some(Err(e)) => {
                // The row goes anyway; only its uuid index row cannot be found.
                log::warn!("config {name} is not PHP-serialized data ({e}): its key_value uuid row is left behind");
                None
            }
            None => None,
        };
        let uuid = value.and_then(|v| v.get("uuid").and_then(PhpValue::as_str).map(String::from));
        if let Some(uuid) = uuid {
            q.exec_drop(
                format!(
                    "DELETE FROM {} WHERE `collection` LIKE 'config.entity.key_store.%' AND `name` = ?",
                    tables.t("key_value")
                ),
                (format!("uuid:{uuid}"),),
            )
            .await?;
        }
        q.exec_drop(format!("DELETE FROM {} WHERE `collection` = '' AND `name` = ?", tables.t("config")), (&name,))
            .await?;
    }
    q.exec_drop(format!("DELETE FROM {} WHERE `roles_target_id` = ?", tables.t("user__roles")), (id,)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_follow_drupal_rules_and_stay_unique() {
        assert_eq!(machine_name("Drupal Editors", &[]), "drupal_editors");
        assert_eq!(machine_name("Rédacteurs (FR)", &[]), "redacteurs_fr");
        assert_eq!(machine_name("Отдел продаж", &[]), "otdel_prodazh");
        assert_eq!(machine_name("Straße", &[]), "strasse");
        assert_eq!(machine_name("Editors", &["editors".into()]), "editors_2");
        assert_eq!(machine_name("Authenticated", &[]), "authenticated_2");
        assert_eq!(machine_name("!!!", &[]), "scim_group");
        assert!(machine_name(&"x".repeat(200), &[]).len() <= MAX_ID_LENGTH);
    }

    #[test]
    fn role_data_is_what_drupal_serializes() {
        let data = role_data("8f2c6a8e-3b1d-4a4e-9f6b-2d7c5e1a0b93", "en", "editors", "Editors", 3);
        assert_eq!(
            String::from_utf8(serialize(&data)).unwrap(),
            r#"a:9:{s:4:"uuid";s:36:"8f2c6a8e-3b1d-4a4e-9f6b-2d7c5e1a0b93";s:8:"langcode";s:2:"en";s:6:"status";b:1;s:12:"dependencies";a:0:{}s:2:"id";s:7:"editors";s:5:"label";s:7:"Editors";s:6:"weight";i:3;s:8:"is_admin";b:0;s:11:"permissions";a:0:{}}"#
        );
        let (name, action) = action_data("u", "en", "editors", "Editors", true);
        assert_eq!(name, "system.action.user_add_role_action.editors");
        let text = String::from_utf8(serialize(&action)).unwrap();
        assert!(text.contains(r#"s:5:"label";s:44:"Add the Editors role to the selected user(s)";"#), "{text}");
        assert!(text.contains(r#"s:12:"dependencies";a:2:{s:6:"config";a:1:{i:0;s:17:"user.role.editors";}s:6:"module";a:1:{i:0;s:4:"user";}}"#));
    }
}
