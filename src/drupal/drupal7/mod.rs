//! Drupal 7: what the store learns about a D7 site at start-up, and the pieces of the D7 schema
//! the shared account, role and membership code writes through (`ids`, `sequences`, `fields`,
//! `roles`). The facts: Drupal 7's `user.install`, `user.module` and `field_sql_storage`.

pub mod accounts;
pub mod fields;
pub mod ids;
pub mod roles;
pub mod sequences;

use crate::drupal::cardinality::{self, Cardinality};
use crate::drupal::columns::Columns;
use crate::drupal::error::StoreError;
use crate::drupal::model::BaseColumn;
use crate::drupal::password::PasswordScheme;
use crate::drupal::php_serialize::{PhpValue, unserialize};
use crate::drupal::rows;
use crate::drupal::site::{Core, Drupal7Site, Repertoires, Site, SiteError, missing_tables};
use crate::drupal::tables::Tables;
use crate::mapping::model::{Mapping, PasswordHash, Target};
use mysql_async::Conn;
use mysql_async::prelude::*;

/// The Drupal 7 column of a store column (`None`: Drupal 7 has no such column).
pub fn column(column: BaseColumn) -> Option<&'static str> {
    match column {
        BaseColumn::PreferredLangcode => Some("language"),
        BaseColumn::PreferredAdminLangcode => None,
        other => Some(other.column()),
    }
}

/// Inspect a Drupal 7 database (detected by its `variable` table and no `config` table).
pub async fn detect(
    conn: &mut Conn,
    tables: Tables,
    columns: &Columns,
    mapping: &mut Mapping,
) -> Result<Site, SiteError> {
    let has = |t: &str| columns.has(&tables, t);
    let mut problems = missing_tables(
        columns,
        &tables,
        &["users", "role", "users_roles", "sequences", "variable", "sessions"],
        "Drupal 7",
    );
    if !problems.is_empty() {
        return Err(SiteError::Mismatch(problems));
    }
    let empty = Default::default();
    let users = columns.table(&tables, "users").unwrap_or(&empty);
    let mut format_fields = Vec::new();
    for map in &mut mapping.users.attributes {
        match &map.target {
            Target::Column(c) => match column(*c).and_then(|name| users.get(name)) {
                Some(info) => map.max_len = info.max_len,
                None => problems.push(format!(
                    "line {}: Drupal 7 has no column for {} (its users table has name, pass, mail, status, timezone and language)",
                    map.line,
                    c.column()
                )),
            },
            Target::Field(field) => {
                let data = columns.table(&tables, &format!("field_data_{field}"));
                let revision = columns.table(&tables, &format!("field_revision_{field}"));
                match (data.and_then(|cols| cols.get(&format!("{field}_value"))), revision) {
                    (Some(info), Some(_)) => {
                        map.max_len = info.max_len;
                        if data.is_some_and(|cols| cols.contains_key(&format!("{field}_format"))) {
                            format_fields.push(field.clone());
                        }
                    }
                    _ => problems.push(format!(
                        "line {}: field {field} has no tables {} and {} with a column {field}_value (is it a user field of type \"Text\"?)",
                        map.line,
                        tables.raw(&format!("field_data_{field}")),
                        tables.raw(&format!("field_revision_{field}")),
                    )),
                }
            }
        }
    }
    for map in &mapping.users.attributes {
        let Target::Field(field) = &map.target else { continue };
        // A field without its tables was reported above.
        if !columns.has_column(&tables, &format!("field_data_{field}"), &format!("{field}_value")) {
            continue;
        }
        let cardinality = if has("field_config") {
            fields::cardinality(conn, &tables, field).await?
        } else {
            Cardinality::Missing(format!("the table {}", tables.raw("field_config")))
        };
        problems.extend(cardinality::problem(map, field, &cardinality));
    }
    if mapping.password_hash == PasswordHash::Bcrypt {
        problems.push("password_hash = \"bcrypt\": Drupal 7 can only verify its own $S$ hashes; use \"auto\"".into());
    }
    if !problems.is_empty() {
        return Err(SiteError::Mismatch(problems));
    }
    let timezone = match &mapping.timezone {
        Some(tz) => tz.clone(),
        None => variable(conn, &tables, "date_default_timezone")
            .await?
            .and_then(|v| text(&v))
            .unwrap_or_else(|| "UTC".into()),
    };
    let count_log2 = variable(conn, &tables, "password_count_log2")
        .await?
        .and_then(|v| text(&v))
        .and_then(|v| v.parse::<u8>().ok())
        // Drupal 7 clamps the setting to 7..=30 (DRUPAL_MIN/MAX_HASH_COUNT).
        .map_or(15, |n| n.clamp(7, 30));
    let admin_rid = variable(conn, &tables, "user_admin_role").await?.and_then(|v| text(&v)).filter(|r| r != "0");
    let langcode = match &mapping.langcode {
        Some(l) => l.clone(),
        None => default_language(conn, &tables).await?,
    };
    let mut languages = Vec::new();
    if has("languages") {
        let sql = format!(
            "SELECT `language` FROM {} WHERE `enabled` = 1 ORDER BY `weight`, `language`",
            tables.t("languages")
        );
        languages = rows::column(conn, sql, (), "languages.language").await?;
    }
    if !languages.contains(&langcode) {
        languages.push(langcode.clone());
    }
    let schema_version = if has("system") {
        let sql = format!(
            "SELECT `schema_version` FROM {} WHERE `name` = 'system' AND `type` = 'module'",
            tables.t("system")
        );
        rows::first::<i64, _>(conn, sql, (), "system.schema_version").await?.unwrap_or(0)
    } else {
        0
    };
    let repertoires = Repertoires::of(columns, &tables, "users", &mapping.field_names(), |f| format!("field_data_{f}"));
    Ok(Site {
        repertoires,
        core: Core::Drupal7(Drupal7Site { has_changed: users.contains_key("changed"), admin_rid, format_fields }),
        has_watchdog: has("watchdog"),
        tables,
        langcode,
        timezone,
        password: PasswordScheme::PhpassSha512 { count_log2 },
        fields: mapping.field_names(),
        translation_columns: Vec::new(),
        reach: crate::drupal::reach::Reach::default(),
        schema_version,
        languages,
        // Drupal 7 reads its derived ids and '' as NULL back: a create reads the account back.
        create_reads_back_written: false,
    })
}

/// One row of Drupal 7's `variable` table, unserialized.
pub async fn variable(conn: &mut Conn, tables: &Tables, name: &str) -> Result<Option<PhpValue>, StoreError> {
    let sql = format!("SELECT `value` FROM {} WHERE `name` = ?", tables.t("variable"));
    let value = rows::first::<Option<Vec<u8>>, _>(conn, sql, (name,), "variable.value").await?.flatten();
    Ok(value.and_then(|v| match unserialize(&v) {
        Ok(value) => Some(value),
        Err(e) => {
            // What Drupal 7 does too: variable_initialize() unserializes it to FALSE.
            log::warn!("variable {name} is not PHP-serialized data ({e}): read as absent");
            None
        }
    }))
}

/// A variable holding a string or an integer, as text.
fn text(value: &PhpValue) -> Option<String> {
    value.as_str().map(String::from).or_else(|| value.as_i64().map(|n| n.to_string()))
}

/// The site's default language: the `language_default` variable is a serialized object, so its
/// `language` property is read from the enabled language with the default flag instead — the
/// `languages` table (locale module) — or English, Drupal 7's built-in default.
async fn default_language(conn: &mut Conn, tables: &Tables) -> Result<String, StoreError> {
    let sql = format!("SELECT `value` FROM {} WHERE `name` = 'language_default'", tables.t("variable"));
    let raw = rows::first::<Option<Vec<u8>>, _>(conn, sql, (), "variable.value").await?.flatten();
    Ok(raw.and_then(|r| language_property(&r)).unwrap_or_else(|| "en".into()))
}

/// The `language` property of a serialized stdClass (`O:8:"stdClass":N:{s:8:"language";s:2:"de";…}`).
fn language_property(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    let rest = text.split_once("s:8:\"language\";s:")?.1;
    let (len, rest) = rest.split_once(":\"")?;
    let len: usize = len.parse().ok()?;
    let code = rest.get(..len)?;
    let ok = !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| code.to_string())
}

/// Bridge tables made by an earlier version lack `scim_id` (only Drupal 7 fills it): add it.
pub async fn ensure_scim_id_column(conn: &mut Conn, tables: &Tables) -> Result<(), StoreError> {
    let (schema, params): (&str, Vec<mysql_async::Value>) = match tables.schema_of("scim_user") {
        Some(schema) => ("?", vec![schema.into(), tables.raw("scim_user").into()]),
        None => ("DATABASE()", vec![tables.raw("scim_user").into()]),
    };
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = ? AND COLUMN_NAME = 'scim_id'"
    );
    let present = rows::first::<i64, _>(conn, sql, params, "a count of information_schema.COLUMNS").await?;
    if present.unwrap_or(0) == 0 {
        conn.query_drop(format!(
            "ALTER TABLE {} ADD COLUMN `scim_id` varchar(36) CHARACTER SET ascii COLLATE ascii_general_ci DEFAULT NULL AFTER `uid`, ADD UNIQUE KEY `scim_id` (`scim_id`)",
            tables.t("scim_user")
        ))
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_language_is_read_from_the_serialized_object() {
        let raw = br#"O:8:"stdClass":11:{s:8:"language";s:2:"de";s:4:"name";s:6:"German";s:6:"native";s:7:"Deutsch";}"#;
        assert_eq!(language_property(raw).as_deref(), Some("de"));
        assert_eq!(language_property(b"i:0;"), None);
        assert_eq!(language_property(br#"O:8:"stdClass":1:{s:8:"language";s:3:"x'y";}"#), None);
    }

    #[test]
    fn drupal7_columns() {
        assert_eq!(column(BaseColumn::PreferredLangcode), Some("language"));
        assert_eq!(column(BaseColumn::PreferredAdminLangcode), None);
        assert_eq!(column(BaseColumn::Mail), Some("mail"));
    }
}
