//! Where an account's data lives on Drupal 8–11, as SQL over the aliases of
//! [`crate::drupal::schema::Schema::accounts_from`]: `u` the `users` row with the uuid, `d` its
//! default-language `users_field_data` row, `s` the bridge row.

use super::Modern;
use crate::drupal::model::{BaseColumn, DbValue};
use crate::drupal::permissions::ESCALATING_PERMISSIONS;
use crate::drupal::schema::fragments::{ValueTable, like_escape, listed_roles_sql};
use mysql_async::Value;

impl Modern {
    pub fn data_table(&self) -> &'static str {
        "users_field_data"
    }

    pub fn column_name(&self, column: BaseColumn) -> Option<&'static str> {
        Some(column.column())
    }

    pub fn accounts_from(&self) -> String {
        let t = &self.tables;
        format!(
            "{} u JOIN {} d ON d.`uid` = u.`uid` AND d.`default_langcode` = 1 LEFT JOIN {} s ON s.`uid` = d.`uid`",
            t.t("users"),
            t.t("users_field_data"),
            t.t("scim_user")
        )
    }

    pub fn id_sql(&self) -> &'static str {
        "u.`uuid`"
    }

    pub fn id_column(&self) -> &'static str {
        "users.uuid"
    }

    pub fn value_langcode_sql(&self) -> &'static str {
        "d.`langcode`"
    }

    pub fn has_changed_column(&self) -> bool {
        true
    }

    pub fn base_read_sql(&self, column: BaseColumn) -> String {
        format!("d.`{}`", column.column())
    }

    /// Stored as given: NULL is NULL.
    pub fn stored(&self, _column: BaseColumn, value: &DbValue) -> Value {
        value.clone().into()
    }

    pub fn ids_condition(&self, ids: &[String], marks: &str, params: &mut Vec<Value>) -> String {
        params.extend(ids.iter().map(|id| Value::from(id.as_str())));
        format!("u.`uuid` IN ({marks})")
    }

    /// 8+ has uuids: the bridge stores no id.
    pub fn bridge_id(&self, _scim_id: &str) -> Option<String> {
        None
    }

    pub fn field_values(&self, field: &str) -> ValueTable {
        ValueTable {
            table: self.tables.t(&format!("user__{field}")),
            name: format!("user__{field}"),
            owner: "entity_id",
            value: format!("x.`{field}_value`"),
            value_column: format!("{field}_value"),
            language: "x.`langcode`",
            language_column: "langcode",
            delta: "x.`delta`",
            delta_column: "delta",
            conditions: "x.`deleted` = 0",
        }
    }

    pub fn role_values(&self) -> ValueTable {
        ValueTable {
            table: self.tables.t("user__roles"),
            name: "user__roles".into(),
            owner: "entity_id",
            value: "x.`roles_target_id`".into(),
            value_column: "roles_target_id".into(),
            language: "x.`langcode`",
            language_column: "langcode",
            delta: "x.`delta`",
            delta_column: "delta",
            conditions: "x.`deleted` = 0",
        }
    }

    pub fn role_id_sql(&self) -> &'static str {
        "x.`roles_target_id`"
    }

    /// Drupal reads only the value rows in the account's own language, roles included.
    pub fn value_language_condition(&self, _roles: bool) -> &'static str {
        "x.`langcode` = d.`langcode`"
    }

    /// One row per account: its default translation.
    pub fn account_row_condition(&self, alias: &str) -> String {
        format!(" AND {alias}`default_langcode` = 1")
    }

    // Roles are config entities: PHP-serialized rows of `config`. A serialized string carries
    // its length, so `s:16:"administer users";` is that exact string — a permission, or
    // (harmlessly, it only protects more) a label of exactly that text. The privileged roles'
    // ids are one uncorrelated scalar subquery (role ids are `[a-z0-9_]`, never a comma), which
    // the database works out once per statement: matching each role row against its config row
    // instead cost a few µs per role an account holds, and made a 1,000-member group PATCH grow
    // with every group its members were in.
    pub fn privileged_sql(&self, protected_roles: &[String], params: &mut Vec<Value>) -> String {
        let listed = listed_roles_sql("roles_target_id", protected_roles, params);
        let mut patterns = vec![r#"s:8:"is_admin";b:1;"#.to_string()];
        patterns.extend(ESCALATING_PERMISSIONS.iter().map(|p| format!(r#"s:{}:"{p}";"#, p.len())));
        let likes: Vec<&str> = patterns.iter().map(|_| "pc.`data` LIKE ?").collect();
        params.extend(patterns.iter().map(|p| Value::from(format!("%{}%", like_escape(p)))));
        let t = &self.tables;
        format!(
            "EXISTS (SELECT 1 FROM {} pr WHERE pr.`entity_id` = d.`uid` AND pr.`deleted` = 0 AND ({listed} OR \
             FIND_IN_SET(pr.`roles_target_id`, (SELECT GROUP_CONCAT(SUBSTRING(pc.`name`, 11)) FROM {} pc \
             WHERE pc.`collection` = '' AND pc.`name` LIKE 'user.role.%' AND ({}))) > 0))",
            t.t("user__roles"),
            t.t("config"),
            likes.join(" OR ")
        )
    }

    /// Where a mapped field is kept, for `check`.
    pub fn field_target_text(&self, field: &str) -> String {
        format!("user__{field}.{field}_value")
    }
}
