//! Where an account's data lives on each Drupal schema, as SQL fragments over one set of
//! aliases: `d` is the row holding the base columns (`users_field_data` on 8+, `users` on 7),
//! `s` the bridge row (`scim_user`), and on 8+ `u` the `users` row with the uuid. Every account
//! query in the store is built from these, so the flows above them are the same on both.

use crate::drupal::charset::Repertoire;
use crate::drupal::drupal7::{self, ids};
use crate::drupal::model::BaseColumn;
use crate::drupal::site::{Core, Site};
use mysql_async::Value;

/// A multi-value table read on alias `x`: the quoted table, the owner's uid column, the value
/// expression and the conditions every live row meets.
pub struct ValueTable {
    pub table: String,
    pub owner: &'static str,
    pub value: String,
    pub conditions: &'static str,
}

impl Site {
    /// Unprefixed name of the table holding the base columns.
    pub fn data_table(&self) -> &'static str {
        match self.core {
            Core::Modern => "users_field_data",
            Core::Drupal7(_) => "users",
        }
    }

    /// The column a store column is kept in (`None`: this Drupal has none).
    pub fn column_name(&self, column: BaseColumn) -> Option<&'static str> {
        match self.core {
            Core::Modern => Some(column.column()),
            Core::Drupal7(_) => drupal7::column(column),
        }
    }

    /// FROM clause of account reads, aliases `d`, `s` (and `u` on 8+).
    pub fn accounts_from(&self) -> String {
        let t = &self.tables;
        match self.core {
            Core::Modern => format!(
                "{} u JOIN {} d ON d.`uid` = u.`uid` AND d.`default_langcode` = 1 LEFT JOIN {} s ON s.`uid` = d.`uid`",
                t.t("users"),
                t.t("users_field_data"),
                t.t("scim_user")
            ),
            Core::Drupal7(_) => format!("{} d LEFT JOIN {} s ON s.`uid` = d.`uid`", t.t("users"), t.t("scim_user")),
        }
    }

    /// SQL of an account's SCIM id.
    pub fn id_sql(&self) -> &'static str {
        match self.core {
            Core::Modern => "u.`uuid`",
            Core::Drupal7(_) => ids::ID_SQL,
        }
    }

    /// SQL of the language an account's field values are read in.
    pub fn value_langcode_sql(&self) -> &'static str {
        match self.core {
            Core::Modern => "d.`langcode`",
            Core::Drupal7(_) => "'und'",
        }
    }

    /// SQL of an account's last change (`created` on Drupal 7 before 7.83: no `changed` column).
    pub fn changed_sql(&self) -> &'static str {
        if self.has_changed_column() { "d.`changed`" } else { "d.`created`" }
    }

    /// Whether the account table has a `changed` column to keep current.
    pub fn has_changed_column(&self) -> bool {
        match &self.core {
            Core::Modern => true,
            Core::Drupal7(d7) => d7.has_changed,
        }
    }

    /// SQL of a base column on alias `d` as SCIM reads it. Drupal 7 stores "none" as '' in
    /// `mail` and `language`, read as NULL.
    pub fn base_read_sql(&self, column: BaseColumn) -> String {
        match (&self.core, self.column_name(column)) {
            (_, None) => "NULL".into(),
            (Core::Drupal7(_), Some(name)) if column != BaseColumn::Status => format!("NULLIF(d.`{name}`, '')"),
            (_, Some(name)) => format!("d.`{name}`"),
        }
    }

    /// SQL of a base column on alias `d` for filtering and sorting (indexable).
    pub fn base_filter_sql(&self, column: BaseColumn) -> String {
        match self.column_name(column) {
            Some(name) => format!("d.`{name}`"),
            None => "NULL".into(),
        }
    }

    /// The readable base columns as a select list.
    pub fn base_select(&self) -> String {
        BaseColumn::READABLE.iter().map(|c| self.base_read_sql(*c)).collect::<Vec<_>>().join(", ")
    }

    /// A condition matching the accounts with these SCIM ids (binding them into `params`).
    pub fn ids_condition(&self, ids: &[String], params: &mut Vec<Value>) -> String {
        // Ids are ASCII (uuids): anything else names no account, and must not reach an ascii
        // column (the database would fail the statement instead of matching nothing).
        let ids: Vec<String> = ids.iter().filter(|id| Repertoire::Ascii.holds(id)).cloned().collect();
        let ids = ids.as_slice();
        if ids.is_empty() {
            return "1 = 0".into();
        }
        let marks = vec!["?"; ids.len()].join(", ");
        params.extend(ids.iter().map(|id| Value::from(id.as_str())));
        match self.core {
            Core::Modern => format!("u.`uuid` IN ({marks})"),
            Core::Drupal7(_) => {
                // A derived id matches its uid as long as no other id was stored for the account.
                let uids: Vec<u32> = ids.iter().filter_map(|id| ids::uid_of_derived(id)).collect();
                if uids.is_empty() {
                    return format!("s.`scim_id` IN ({marks})");
                }
                let umarks = vec!["?"; uids.len()].join(", ");
                params.extend(uids.into_iter().map(Value::from));
                format!("(s.`scim_id` IN ({marks}) OR (s.`scim_id` IS NULL AND d.`uid` IN ({umarks})))")
            }
        }
    }

    /// The SCIM id to store in a new bridge row for an account (Drupal 7 only; 8+ has uuids).
    pub fn bridge_id(&self, scim_id: &str) -> Option<String> {
        match self.core {
            Core::Modern => None,
            Core::Drupal7(_) => Some(scim_id.to_string()),
        }
    }

    /// The table of a mapped field's values (the data table on Drupal 7).
    pub fn field_values(&self, field: &str) -> ValueTable {
        match self.core {
            Core::Modern => ValueTable {
                table: self.tables.t(&format!("user__{field}")),
                owner: "entity_id",
                value: format!("x.`{field}_value`"),
                conditions: "x.`deleted` = 0",
            },
            Core::Drupal7(_) => ValueTable {
                table: self.tables.t(&format!("field_data_{field}")),
                owner: "entity_id",
                value: format!("x.`{field}_value`"),
                conditions: "x.`entity_type` = 'user' AND x.`deleted` = 0",
            },
        }
    }

    /// The table of role assignments.
    pub fn role_values(&self) -> ValueTable {
        match self.core {
            Core::Modern => ValueTable {
                table: self.tables.t("user__roles"),
                owner: "entity_id",
                value: "x.`roles_target_id`".into(),
                conditions: "x.`deleted` = 0",
            },
            Core::Drupal7(_) => ValueTable {
                table: self.tables.t("users_roles"),
                owner: "uid",
                value: "CAST(x.`rid` AS CHAR)".into(),
                conditions: "1 = 1",
            },
        }
    }

    /// The language condition of a value row on alias `x` for the account on alias `d`
    /// (Drupal reads only the rows in the account's own language; Drupal 7 roles have none).
    pub fn value_language_condition(&self, roles: bool) -> &'static str {
        match (&self.core, roles) {
            (Core::Modern, _) => "x.`langcode` = d.`langcode`",
            (Core::Drupal7(_), false) => "x.`language` = 'und'",
            (Core::Drupal7(_), true) => "1 = 1",
        }
    }
}
