//! What a Drupal 8–11 site says about itself: its tables and columns, the config rows of its
//! fields, languages, time zone and `system` schema version.

use super::Modern;
use crate::drupal::columns::{ColumnInfo, Columns};
use crate::drupal::error::StoreError;
use crate::drupal::model::BaseColumn;
use crate::drupal::php_serialize::{PhpValue, unserialize};
use crate::drupal::rows;
use crate::drupal::schema::facts::{
    Cardinality, FieldFacts, PasswordFacts, Repertoires, SiteError, SiteFacts, missing_tables,
};
use crate::drupal::tables::Tables;
use mysql_async::Conn;
use std::collections::{BTreeMap, HashMap};

/// Columns of users_field_data that Drupal itself fills and SCIM writes.
const KNOWN_DATA_COLUMNS: &[&str] = &[
    "uid",
    "langcode",
    "preferred_langcode",
    "preferred_admin_langcode",
    "name",
    "pass",
    "mail",
    "timezone",
    "status",
    "created",
    "changed",
    "access",
    "login",
    "init",
    "default_langcode",
];

impl Modern {
    /// Inspect a Drupal 8–11 database; `fields` are the configurable fields to look at.
    pub async fn detect(
        conn: &mut Conn,
        tables: Tables,
        columns: &Columns,
        fields: &[String],
    ) -> Result<(Modern, SiteFacts), SiteError> {
        let missing = missing_tables(
            columns,
            &tables,
            &["users", "users_field_data", "user__roles", "config", "key_value", "sessions"],
            "Drupal 8–11",
        );
        if !missing.is_empty() {
            return Err(SiteError::Mismatch(missing));
        }
        let empty = HashMap::new();
        let data = columns.table(&tables, "users_field_data").unwrap_or(&empty);
        let mut problems = Vec::new();
        let mut translation_columns = Vec::new();
        for (name, info) in data {
            if name.starts_with("content_translation_") {
                translation_columns.push(name.clone());
            } else if !KNOWN_DATA_COLUMNS.contains(&name.as_str()) && !info.nullable && !info.has_default {
                problems.push(format!(
                    "users_field_data.{name} is NOT NULL without a default and unknown to drupal-scim: a module added it, and inserts would fail"
                ));
            }
        }
        translation_columns.sort();
        let base_columns = BaseColumn::ALL
            .into_iter()
            .map(|c| {
                let fact = match data.get(c.column()) {
                    Some(info) => Ok(info.max_len),
                    None => Err(format!("users_field_data.{} does not exist", c.column())),
                };
                (c, fact)
            })
            .collect();
        let mut field_facts = BTreeMap::new();
        for field in fields {
            let table = format!("user__{field}");
            let fact = match columns.table(&tables, &table).and_then(|cols| cols.get(&format!("{field}_value"))) {
                Some(info) => Ok(FieldFacts {
                    max_len: info.max_len,
                    cardinality: field_cardinality(conn, &tables, field).await?,
                }),
                None => Err(format!(
                    "field {field} has no table {} with a column {field}_value (is it a user field of type \"Text (plain)\"?)",
                    tables.raw(&table)
                )),
            };
            field_facts.insert(field.clone(), fact);
        }
        let site_cfg = read_config(conn, &tables, "system.site").await?;
        let date_cfg = read_config(conn, &tables, "system.date").await?;
        let langcode = site_cfg
            .as_ref()
            .and_then(|c| c.get("default_langcode"))
            .and_then(|v| v.as_str())
            .map_or_else(|| "en".to_string(), String::from);
        let timezone = date_cfg
            .as_ref()
            .and_then(|c| c.get("timezone"))
            .and_then(|t| t.get("default"))
            .and_then(|v| v.as_str())
            .map_or_else(|| "UTC".to_string(), String::from);
        let schema_version = read_schema_version(conn, &tables).await?;
        let keeps_text = |table: &str, column: &str| {
            columns.table(&tables, table).and_then(|cols| cols.get(column)).is_some_and(ColumnInfo::keeps_text)
        };
        let create_reads_back_written = BaseColumn::READABLE
            .iter()
            .filter(|c| **c != BaseColumn::Status)
            .all(|c| keeps_text("users_field_data", c.column()))
            && keeps_text("users_field_data", "langcode")
            && keeps_text("users", "uuid")
            && data.get("status").is_some_and(ColumnInfo::is_integer)
            && fields.iter().all(|f| keeps_text(&format!("user__{f}"), &format!("{f}_value")));
        let repertoires = Repertoires::of(columns, &tables, "users_field_data", fields, |f| format!("user__{f}"));
        let modern = Modern { tables, translation_columns };
        let facts = SiteFacts {
            release: modern.release(schema_version),
            problems,
            columns: base_columns,
            fields: field_facts,
            languages: read_languages(conn, &modern.tables).await?,
            langcode,
            timezone,
            schema_version,
            // Drupal 10.1 (schema 10100) moved to PHP's password_hash(); earlier versions only
            // read $S$.
            password: PasswordFacts {
                bcrypt_by_default: schema_version >= 10100,
                phpass_count_log2: 16,
                bcrypt_refusal: None,
            },
            has_watchdog: columns.has(&modern.tables, "watchdog"),
            repertoires,
            create_reads_back_written,
        };
        Ok((modern, facts))
    }
}

/// The serialized data of one row of Drupal's `config` table (`None`: no row, or NULL data,
/// which Drupal's schema allows).
async fn read_config_data(conn: &mut Conn, tables: &Tables, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let sql = format!("SELECT `data` FROM {} WHERE `collection` = '' AND `name` = ?", tables.t("config"));
    Ok(rows::first::<Option<Vec<u8>>, _>(conn, sql, (name,), "config.data").await?.flatten())
}

/// How many values a user field allows: the `cardinality` of its `field.storage.user.<field>`
/// config.
async fn field_cardinality(conn: &mut Conn, tables: &Tables, field: &str) -> Result<Cardinality, StoreError> {
    let name = format!("field.storage.user.{field}");
    let Some(data) = read_config_data(conn, tables, &name).await? else {
        return Ok(Cardinality::Missing(format!("the config row {name}")));
    };
    let cardinality = unserialize(&data).ok().and_then(|v| v.get("cardinality").and_then(PhpValue::as_i64));
    Ok(match cardinality {
        Some(n) => Cardinality::Stated(n),
        None => Cardinality::Unreadable(format!("the config row {name}")),
    })
}

/// Read and unserialize one row of Drupal's `config` table.
async fn read_config(conn: &mut Conn, tables: &Tables, name: &str) -> Result<Option<PhpValue>, StoreError> {
    let data = read_config_data(conn, tables, name).await?;
    Ok(data.and_then(|d| match unserialize(&d) {
        Ok(value) => Some(value),
        Err(e) => {
            log::warn!("config {name} is not PHP-serialized data ({e}): read as absent");
            None
        }
    }))
}

/// Language ids from `language.entity.*` config rows (without the special `und`/`zxx`).
async fn read_languages(conn: &mut Conn, tables: &Tables) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT `name` FROM {} WHERE `collection` = '' AND `name` LIKE 'language.entity.%'",
        tables.t("config")
    );
    let names: Vec<String> = rows::column(conn, sql, (), "config.name").await?;
    Ok(names
        .iter()
        .filter_map(|n| n.strip_prefix("language.entity."))
        .filter(|code| !matches!(*code, "und" | "zxx"))
        .map(String::from)
        .collect())
}

async fn read_schema_version(conn: &mut Conn, tables: &Tables) -> Result<i64, StoreError> {
    let sql = format!(
        "SELECT `value` FROM {} WHERE `collection` = 'system.schema' AND `name` = 'system'",
        tables.t("key_value")
    );
    let value = rows::first::<Option<Vec<u8>>, _>(conn, sql, (), "key_value.value").await?.flatten();
    let version = value.as_deref().map(unserialize).and_then(Result::ok).and_then(|v| v.as_i64());
    if value.is_some() && version.is_none() {
        log::warn!("key_value system.schema/system is not a serialized integer: schema version read as 0");
    }
    Ok(version.unwrap_or(0))
}
