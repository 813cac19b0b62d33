//! Where an account's data lives on Drupal 7, as SQL over the aliases of
//! [`crate::drupal::schema::Schema::accounts_from`]: `d` the `users` row, `s` the bridge row.
//!
//! SCIM ids: Drupal 7 has no uuid column, so the id lives in the bridge table
//! (`scim_user.scim_id`): a random uuid for an account SCIM creates, and for an account that
//! existed before, one derived from its uid — the same every time it is read, and written into
//! the bridge the first time SCIM writes the account, so it never changes afterwards.

use super::D7;
use crate::drupal::model::{BaseColumn, DbValue};
use crate::drupal::permissions::ESCALATING_PERMISSIONS;
use crate::drupal::schema::fragments::{ValueTable, listed_roles_sql, marks};
use mysql_async::Value;

/// The 24 characters every derived id starts with.
const DERIVED_HEAD: &str = "00000000-0000-4000-8000-";

/// The uid a derived id stands for (any case), if it is one.
fn uid_of_derived_id(id: &str) -> Option<u32> {
    let head = id.get(..DERIVED_HEAD.len())?;
    let tail = id.get(DERIVED_HEAD.len()..)?;
    if !head.eq_ignore_ascii_case(DERIVED_HEAD) || tail.len() != 12 || !tail.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(tail, 16).ok()
}

/// SQL for the SCIM id of the account on alias `d` (users) with its bridge row on alias `s`.
const ID_SQL: &str = "COALESCE(s.`scim_id`, CONCAT('00000000-0000-4000-8000-', LPAD(LOWER(HEX(d.`uid`)), 12, '0')))";

impl D7 {
    pub fn data_table(&self) -> &'static str {
        "users"
    }

    /// The Drupal 7 column of a store column (`None`: Drupal 7 has no such column).
    pub fn column_name(&self, column: BaseColumn) -> Option<&'static str> {
        match column {
            BaseColumn::PreferredLangcode => Some("language"),
            BaseColumn::PreferredAdminLangcode => None,
            other => Some(other.column()),
        }
    }

    pub fn accounts_from(&self) -> String {
        let t = &self.tables;
        format!("{} d LEFT JOIN {} s ON s.`uid` = d.`uid`", t.t("users"), t.t("scim_user"))
    }

    pub fn id_sql(&self) -> &'static str {
        ID_SQL
    }

    pub fn id_column(&self) -> &'static str {
        "scim_user.scim_id"
    }

    /// Field values of untranslatable fields are in the language 'und'.
    pub fn value_langcode_sql(&self) -> &'static str {
        "'und'"
    }

    pub fn has_changed_column(&self) -> bool {
        self.has_changed
    }

    /// Drupal 7 stores "none" as '' in `mail` and `language`, read as NULL.
    pub fn base_read_sql(&self, column: BaseColumn) -> String {
        match self.column_name(column) {
            None => "NULL".into(),
            Some(name) if column != BaseColumn::Status => format!("NULLIF(d.`{name}`, '')"),
            Some(name) => format!("d.`{name}`"),
        }
    }

    /// Drupal 7 keeps "none" as '' in `mail` and `language`.
    pub fn stored(&self, column: BaseColumn, value: &DbValue) -> Value {
        match (column, value) {
            (BaseColumn::Mail | BaseColumn::PreferredLangcode, DbValue::Null) => "".into(),
            _ => value.clone().into(),
        }
    }

    pub fn ids_condition(&self, ids: &[String], id_marks: &str, params: &mut Vec<Value>) -> String {
        params.extend(ids.iter().map(|id| Value::from(id.as_str())));
        // A derived id matches its uid as long as no other id was stored for the account.
        let uids: Vec<u32> = ids.iter().filter_map(|id| uid_of_derived_id(id)).collect();
        if uids.is_empty() {
            return format!("s.`scim_id` IN ({id_marks})");
        }
        let umarks = marks(uids.len());
        params.extend(uids.into_iter().map(Value::from));
        format!("(s.`scim_id` IN ({id_marks}) OR (s.`scim_id` IS NULL AND d.`uid` IN ({umarks})))")
    }

    /// The bridge row keeps the account's SCIM id.
    pub fn bridge_id(&self, scim_id: &str) -> Option<String> {
        Some(scim_id.to_string())
    }

    /// The data table of a field (its revision table holds the same rows).
    pub fn field_values(&self, field: &str) -> ValueTable {
        ValueTable {
            table: self.tables.t(&format!("field_data_{field}")),
            name: format!("field_data_{field}"),
            owner: "entity_id",
            value: format!("x.`{field}_value`"),
            value_column: format!("{field}_value"),
            language: "x.`language`",
            language_column: "language",
            delta: "x.`delta`",
            delta_column: "delta",
            conditions: "x.`entity_type` = 'user' AND x.`deleted` = 0",
        }
    }

    /// `users_roles` rows have neither language nor delta: roles come in rid order.
    pub fn role_values(&self) -> ValueTable {
        ValueTable {
            table: self.tables.t("users_roles"),
            name: "users_roles".into(),
            owner: "uid",
            value: "CAST(x.`rid` AS CHAR)".into(),
            value_column: "rid".into(),
            language: "'und'",
            language_column: "language",
            delta: "x.`rid`",
            delta_column: "rid",
            conditions: "1 = 1",
        }
    }

    pub fn role_id_sql(&self) -> &'static str {
        "x.`rid`"
    }

    /// Field values are read in 'und'; role rows have no language.
    pub fn value_language_condition(&self, roles: bool) -> &'static str {
        if roles { "1 = 1" } else { "x.`language` = 'und'" }
    }

    /// One row per account already.
    pub fn account_row_condition(&self, _alias: &str) -> String {
        String::new()
    }

    /// Permissions are rows of `role_permission`.
    pub fn privileged_sql(&self, protected_roles: &[String], params: &mut Vec<Value>) -> String {
        let listed = listed_roles_sql("rid", protected_roles, params);
        params.extend(ESCALATING_PERMISSIONS.iter().map(|p| Value::from(*p)));
        let t = &self.tables;
        format!(
            "EXISTS (SELECT 1 FROM {} pr WHERE pr.`uid` = d.`uid` AND ({listed} OR pr.`rid` IN \
             (SELECT pp.`rid` FROM {} pp WHERE pp.`permission` IN ({}))))",
            t.t("users_roles"),
            t.t("role_permission"),
            marks(ESCALATING_PERMISSIONS.len())
        )
    }

    /// Where a mapped field is kept, for `check`.
    pub fn field_target_text(&self, field: &str) -> String {
        format!("field_data_{field}.{field}_value (+ field_revision_{field})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived id of a uid, as [`ID_SQL`] makes it: a well-formed (version 4, RFC variant)
    /// uuid ending in the uid in hex.
    fn derived_id(uid: u32) -> String {
        format!("{DERIVED_HEAD}{uid:012x}")
    }

    #[test]
    fn derived_ids_round_trip_and_are_uuids() {
        assert_eq!(derived_id(2), "00000000-0000-4000-8000-000000000002");
        assert_eq!(derived_id(0xdead_beef), "00000000-0000-4000-8000-0000deadbeef");
        assert!(uuid::Uuid::parse_str(&derived_id(7)).is_ok());
        assert_eq!(uid_of_derived_id("00000000-0000-4000-8000-00000000002A"), Some(42));
        assert_eq!(uid_of_derived_id(&derived_id(u32::MAX)), Some(u32::MAX));
        assert_eq!(uid_of_derived_id("00000000-0000-4000-8000-010000000000"), None, "beyond u32");
        assert_eq!(uid_of_derived_id("3bb89aac-5e14-41d9-ae91-2a186ddece7a"), None);
        assert_eq!(uid_of_derived_id("00000000-0000-4000-8000-00000000002"), None);
        assert_eq!(uid_of_derived_id("00000000-0000-4000-8000-00000000002g"), None);
    }

    #[test]
    fn drupal7_columns() {
        let d7 = D7 {
            tables: crate::drupal::tables::Tables::new("").unwrap(),
            has_changed: true,
            admin_rid: None,
            format_fields: Vec::new(),
        };
        assert_eq!(d7.column_name(BaseColumn::PreferredLangcode), Some("language"));
        assert_eq!(d7.column_name(BaseColumn::PreferredAdminLangcode), None);
        assert_eq!(d7.column_name(BaseColumn::Mail), Some("mail"));
    }
}
