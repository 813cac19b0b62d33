//! What a Drupal 7 site says about itself: its tables and columns, `field_config`, the
//! `variable` rows (time zone, password rounds, administrator role, default language), enabled
//! languages and the `system` schema version.

use super::D7;
use super::fields::cardinality;
use crate::drupal::columns::Columns;
use crate::drupal::error::StoreError;
use crate::drupal::model::BaseColumn;
use crate::drupal::php_serialize::{PhpValue, unserialize};
use crate::drupal::rows;
use crate::drupal::schema::facts::{
    Cardinality, FieldFacts, PasswordFacts, Repertoires, SiteError, SiteFacts, missing_tables,
};
use crate::drupal::tables::Tables;
use mysql_async::Conn;
use std::collections::BTreeMap;

impl D7 {
    /// Inspect a Drupal 7 database (detected by its `variable` table and no `config` table);
    /// `fields` are the configurable fields to look at.
    pub async fn detect(
        conn: &mut Conn,
        tables: Tables,
        columns: &Columns,
        fields: &[String],
    ) -> Result<(D7, SiteFacts), SiteError> {
        let has = |t: &str| columns.has(&tables, t);
        let missing = missing_tables(
            columns,
            &tables,
            &["users", "role", "users_roles", "sequences", "variable", "sessions"],
            "Drupal 7",
        );
        if !missing.is_empty() {
            return Err(SiteError::Mismatch(missing));
        }
        let empty = Default::default();
        let users = columns.table(&tables, "users").unwrap_or(&empty);
        let mut d7 = D7 {
            tables: tables.clone(),
            has_changed: users.contains_key("changed"),
            admin_rid: None,
            format_fields: Vec::new(),
        };
        let base_columns = BaseColumn::ALL
            .into_iter()
            .map(|c| {
                let fact = match d7.column_name(c).and_then(|name| users.get(name)) {
                    Some(info) => Ok(info.max_len),
                    None => Err(format!(
                        "Drupal 7 has no column for {} (its users table has name, pass, mail, status, timezone and language)",
                        c.column()
                    )),
                };
                (c, fact)
            })
            .collect();
        let mut field_facts = BTreeMap::new();
        for field in fields {
            let data = columns.table(&tables, &format!("field_data_{field}"));
            let revision = columns.table(&tables, &format!("field_revision_{field}"));
            let fact = match (data.and_then(|cols| cols.get(&format!("{field}_value"))), revision) {
                (Some(info), Some(_)) => {
                    if data.is_some_and(|cols| cols.contains_key(&format!("{field}_format"))) {
                        d7.format_fields.push(field.clone());
                    }
                    let cardinality = if has("field_config") {
                        cardinality(conn, &tables, field).await?
                    } else {
                        Cardinality::Missing(format!("the table {}", tables.raw("field_config")))
                    };
                    Ok(FieldFacts { max_len: info.max_len, cardinality })
                }
                _ => Err(format!(
                    "field {field} has no tables {} and {} with a column {field}_value (is it a user field of type \"Text\"?)",
                    tables.raw(&format!("field_data_{field}")),
                    tables.raw(&format!("field_revision_{field}")),
                )),
            };
            field_facts.insert(field.clone(), fact);
        }
        let timezone = variable(conn, &tables, "date_default_timezone")
            .await?
            .and_then(|v| text(&v))
            .unwrap_or_else(|| "UTC".into());
        let count_log2 = variable(conn, &tables, "password_count_log2")
            .await?
            .and_then(|v| text(&v))
            .and_then(|v| v.parse::<u8>().ok())
            // Drupal 7 clamps the setting to 7..=30 (DRUPAL_MIN/MAX_HASH_COUNT).
            .map_or(15, |n| n.clamp(7, 30));
        d7.admin_rid = variable(conn, &tables, "user_admin_role").await?.and_then(|v| text(&v)).filter(|r| r != "0");
        let langcode = default_language(conn, &tables).await?;
        let mut languages = Vec::new();
        if has("languages") {
            let sql = format!(
                "SELECT `language` FROM {} WHERE `enabled` = 1 ORDER BY `weight`, `language`",
                tables.t("languages")
            );
            languages = rows::column(conn, sql, (), "languages.language").await?;
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
        let facts = SiteFacts {
            release: d7.release(schema_version),
            problems: Vec::new(),
            columns: base_columns,
            fields: field_facts,
            langcode,
            languages,
            timezone,
            schema_version,
            password: PasswordFacts {
                bcrypt_by_default: false,
                phpass_count_log2: count_log2,
                bcrypt_refusal: Some("Drupal 7 can only verify its own $S$ hashes"),
            },
            has_watchdog: has("watchdog"),
            repertoires: Repertoires::of(columns, &tables, "users", fields, |f| format!("field_data_{f}")),
            // Drupal 7 reads its derived ids and '' as NULL back: a create reads the account back.
            create_reads_back_written: false,
        };
        Ok((d7, facts))
    }
}

/// One row of Drupal 7's `variable` table, unserialized.
async fn variable(conn: &mut Conn, tables: &Tables, name: &str) -> Result<Option<PhpValue>, StoreError> {
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
}
