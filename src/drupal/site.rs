//! What the store learns about a Drupal site at start-up: which tables and columns exist, the
//! site's default language and time zone, the password hash it accepts, and the bridge tables.

use crate::drupal::cardinality::{self, Cardinality};
use crate::drupal::charset::Repertoire;
use crate::drupal::columns::{ColumnInfo, Columns};
use crate::drupal::db::Db;
use crate::drupal::drupal7;
use crate::drupal::error::StoreError;
use crate::drupal::model::BaseColumn;
use crate::drupal::password::PasswordScheme;
use crate::drupal::php_serialize::{PhpValue, unserialize};
use crate::drupal::reach::Reach;
use crate::drupal::rows;
use crate::drupal::tables::Tables;
use crate::mapping::model::{CorePin, Mapping, PasswordHash, Target};
use mysql_async::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Which Drupal schema the site has: the store writes each the way its own Drupal does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Core {
    /// Drupal 8.x–11.x: `users` + `users_field_data`, `user__*` field tables, roles in `config`.
    Modern,
    /// Drupal 7: one `users` table, `field_data_*`/`field_revision_*`, `role` + `users_roles`.
    Drupal7(Drupal7Site),
}

/// What differs between Drupal 7 sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drupal7Site {
    /// `users.changed` exists (added by Drupal 7.83).
    pub has_changed: bool,
    /// The administrator role's rid (variable `user_admin_role`), never a SCIM group.
    pub admin_rid: Option<String>,
    /// Mapped fields that have a `<field>_format` column (text fields), written as NULL.
    pub format_fields: Vec<String>,
}

/// Everything about the site the store needs on every request.
#[derive(Debug, Clone)]
pub struct Site {
    pub core: Core,
    pub tables: Tables,
    /// Language of new accounts.
    pub langcode: String,
    /// Time zone of new accounts that do not send one.
    pub timezone: String,
    pub password: PasswordScheme,
    /// Mapped configurable fields (validated to exist).
    pub fields: Vec<String>,
    /// `content_translation_*` columns present in users_field_data.
    pub translation_columns: Vec<String>,
    /// What SCIM may reach (reach.rs); set at start-up once the mapping's roles are resolved.
    pub reach: Reach,
    /// Drupal's `system` schema version (10300 for 10.3).
    pub schema_version: i64,
    /// dblog is enabled: a `watchdog` table exists.
    pub has_watchdog: bool,
    /// The site's configured languages (`language.entity.*`; just the default without the
    /// language module).
    pub languages: Vec<String>,
    /// Every column a new account's record is read from gives back exactly what a create wrote
    /// (text in VARCHAR/TEXT columns, an integer status, Drupal 8+): a create builds its record
    /// from what it wrote instead of reading the account back.
    pub create_reads_back_written: bool,
    /// What the account's text columns and each mapped field's values can hold.
    pub repertoires: Repertoires,
}

/// What the text columns SCIM writes can hold (Drupal 7 tables are often 3-byte utf8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repertoires {
    /// name, mail, timezone and language columns.
    pub account: Repertoire,
    /// Each mapped field's value column.
    pub fields: BTreeMap<String, Repertoire>,
    /// Role labels (Drupal 7's `role.name`; config data on 8+).
    pub role: Repertoire,
}

impl Repertoires {
    /// Read them from information_schema: `value_table` names a field's value table.
    pub fn of(
        columns: &Columns,
        tables: &Tables,
        account_table: &str,
        fields: &[String],
        value_table: impl Fn(&str) -> String,
    ) -> Repertoires {
        let repertoire = |table: &str, column: &str| {
            columns.table(tables, table).and_then(|c| c.get(column)).map(|c| c.repertoire).unwrap_or_default()
        };
        Repertoires {
            account: repertoire(account_table, "name"),
            fields: fields.iter().map(|f| (f.clone(), repertoire(&value_table(f), &format!("{f}_value")))).collect(),
            role: repertoire("role", "name"),
        }
    }

    /// What a mapped field can hold.
    pub fn field(&self, field: &str) -> Repertoire {
        self.fields.get(field).copied().unwrap_or_default()
    }
}

/// Problems found while checking the site against the mapping (all of them, not just the first).
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the Drupal database does not match drupal_mapping.toml:\n  - {}", .0.join("\n  - "))]
    Mismatch(Vec<String>),
}

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

impl Site {
    /// Inspect the database. Fills each mapped attribute's `max_len` from the live schema.
    pub async fn detect(db: &Db, mapping: &mut Mapping) -> Result<Site, SiteError> {
        let tables = Tables::with_overrides(&mapping.table_prefix, &mapping.table_prefixes)?;
        let mut conn = db.conn().await?;
        let columns = Columns::load(&mut conn, &tables).await?;
        let mut problems = Vec::new();
        let has = |t: &str| columns.has(&tables, t);
        let is_drupal7 = !has("config") && has("variable");
        match (mapping.core, is_drupal7) {
            (CorePin::Drupal8Plus, true) => {
                return Err(SiteError::Mismatch(vec![
                    "drupal_mapping.toml says core = \"10\" (Drupal 8–11), but this is a Drupal 7 database (a `variable` table, no `config` table): set core = \"7\" or \"auto\"".into(),
                ]));
            }
            (CorePin::Drupal7, false) => {
                return Err(SiteError::Mismatch(vec![format!(
                    "drupal_mapping.toml says core = \"7\", but this is not a Drupal 7 database (no `variable` table, or a `config` table: Drupal 8–11), with table_prefix {:?}",
                    mapping.table_prefix
                )]));
            }
            (_, true) => return drupal7::detect(&mut conn, tables, &columns, mapping).await,
            _ => {}
        }
        problems.extend(missing_tables(
            &columns,
            &tables,
            &["users", "users_field_data", "user__roles", "config", "key_value", "sessions"],
            "Drupal 8–11",
        ));
        if !problems.is_empty() {
            return Err(SiteError::Mismatch(problems));
        }
        let empty = HashMap::new();
        let data = columns.table(&tables, "users_field_data").unwrap_or(&empty);
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
        for map in &mut mapping.users.attributes {
            match &map.target {
                Target::Column(c) => match data.get(c.column()) {
                    Some(info) => map.max_len = info.max_len,
                    None => problems.push(format!("line {}: users_field_data.{} does not exist", map.line, c.column())),
                },
                Target::Field(field) => {
                    let table = tables.raw(&format!("user__{field}"));
                    let field_columns = columns.table(&tables, &format!("user__{field}"));
                    match field_columns.and_then(|cols| cols.get(&format!("{field}_value"))) {
                        Some(info) => map.max_len = info.max_len,
                        None => problems.push(format!(
                            "line {}: field {field} has no table {table} with a column {field}_value (is it a user field of type \"Text (plain)\"?)",
                            map.line
                        )),
                    }
                }
            }
        }
        for map in &mapping.users.attributes {
            let Target::Field(field) = &map.target else { continue };
            // A field without its table was reported above.
            if columns.has_column(&tables, &format!("user__{field}"), &format!("{field}_value")) {
                let cardinality = field_cardinality(&mut conn, &tables, field).await?;
                problems.extend(cardinality::problem(map, field, &cardinality));
            }
        }
        if !problems.is_empty() {
            return Err(SiteError::Mismatch(problems));
        }
        let site_cfg = read_config(&mut conn, &tables, "system.site").await?;
        let date_cfg = read_config(&mut conn, &tables, "system.date").await?;
        let langcode = mapping
            .langcode
            .clone()
            .or_else(|| {
                site_cfg.as_ref().and_then(|c| c.get("default_langcode")).and_then(|v| v.as_str()).map(String::from)
            })
            .unwrap_or_else(|| "en".into());
        let timezone = mapping
            .timezone
            .clone()
            .or_else(|| {
                date_cfg
                    .as_ref()
                    .and_then(|c| c.get("timezone"))
                    .and_then(|t| t.get("default"))
                    .and_then(|v| v.as_str())
                    .map(String::from)
            })
            .unwrap_or_else(|| "UTC".into());
        let schema_version = read_schema_version(&mut conn, &tables).await?;
        // Drupal 10.1 (schema 10100) moved to PHP's password_hash(); earlier versions only read $S$.
        let bcrypt = match mapping.password_hash {
            PasswordHash::Bcrypt => true,
            PasswordHash::Phpass => false,
            PasswordHash::Auto => schema_version >= 10100,
        };
        let password = if bcrypt {
            PasswordScheme::Bcrypt { cost: mapping.bcrypt_cost }
        } else {
            PasswordScheme::PhpassSha512 { count_log2: 16 }
        };
        let has_watchdog = columns.has(&tables, "watchdog");
        let languages = read_languages(&mut conn, &tables, &langcode).await?;
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
            && mapping.field_names().iter().all(|f| keeps_text(&format!("user__{f}"), &format!("{f}_value")));
        let repertoires =
            Repertoires::of(&columns, &tables, "users_field_data", &mapping.field_names(), |f| format!("user__{f}"));
        Ok(Site {
            repertoires,
            core: Core::Modern,
            tables,
            langcode,
            timezone,
            password,
            fields: mapping.field_names(),
            translation_columns,
            reach: Reach::default(),
            schema_version,
            has_watchdog,
            languages,
            create_reads_back_written,
        })
    }

    /// Create drupal-scim's own tables if they are missing (the only DDL it ever runs).
    pub async fn ensure_bridge_tables(&self, db: &Db) -> Result<(), StoreError> {
        let mut conn = db.conn().await?;
        create_bridge_tables(&mut conn, &self.tables).await?;
        // Bridge tables made before Drupal 7 support lack the column the account writes name.
        drupal7::ensure_scim_id_column(&mut conn, &self.tables).await
    }

    /// Whether this is a Drupal 7 site.
    pub fn is_drupal7(&self) -> bool {
        matches!(self.core, Core::Drupal7(_))
    }

    /// The configured language a client's language tag means: exact, then Drupal's lowercase
    /// form (`pt-BR` → `pt-br`), then the primary subtag (`en-US` → `en`); otherwise the site's
    /// default language (Entra sends BCP 47 tags; Drupal only stores its own language ids).
    pub fn language_for(&self, tag: &str) -> String {
        let lower = tag.trim().to_ascii_lowercase().replace('_', "-");
        let primary = lower.split('-').next().unwrap_or_default().to_string();
        [lower, primary]
            .iter()
            .find_map(|want| self.languages.iter().find(|l| l.eq_ignore_ascii_case(want)))
            .cloned()
            .unwrap_or_else(|| self.langcode.clone())
    }

    /// Whether a uid is protected from SCIM by number (uid 0/1, `protected_uids`).
    pub fn is_protected(&self, uid: u32) -> bool {
        self.reach.protected_uids.contains(&uid)
    }
}

/// A problem for each of `required` that does not exist, naming the prefix it was looked up with.
pub(crate) fn missing_tables(columns: &Columns, tables: &Tables, required: &[&str], core: &str) -> Vec<String> {
    required
        .iter()
        .filter(|t| !columns.has(tables, t))
        .map(|t| {
            format!(
                "table {} is missing: is this a {core} database, and is the table prefix ({:?}) right?",
                tables.raw(t),
                tables.prefix_text(t)
            )
        })
        .collect()
}

/// The serialized data of one row of Drupal's `config` table (`None`: no row, or NULL data,
/// which Drupal's schema allows).
async fn read_config_data(
    conn: &mut mysql_async::Conn,
    tables: &Tables,
    name: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let sql = format!("SELECT `data` FROM {} WHERE `collection` = '' AND `name` = ?", tables.t("config"));
    Ok(rows::first::<Option<Vec<u8>>, _>(conn, sql, (name,), "config.data").await?.flatten())
}

/// How many values a user field allows: the `cardinality` of its `field.storage.user.<field>`
/// config (Drupal 8+).
async fn field_cardinality(
    conn: &mut mysql_async::Conn,
    tables: &Tables,
    field: &str,
) -> Result<Cardinality, StoreError> {
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
pub async fn read_config(
    conn: &mut mysql_async::Conn,
    tables: &Tables,
    name: &str,
) -> Result<Option<PhpValue>, StoreError> {
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
async fn read_languages(
    conn: &mut mysql_async::Conn,
    tables: &Tables,
    default: &str,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT `name` FROM {} WHERE `collection` = '' AND `name` LIKE 'language.entity.%'",
        tables.t("config")
    );
    let names: Vec<String> = rows::column(conn, sql, (), "config.name").await?;
    let mut languages: Vec<String> = names
        .iter()
        .filter_map(|n| n.strip_prefix("language.entity."))
        .filter(|code| !matches!(*code, "und" | "zxx"))
        .map(String::from)
        .collect();
    if !languages.iter().any(|l| l == default) {
        languages.push(default.to_string());
    }
    Ok(languages)
}

async fn read_schema_version(conn: &mut mysql_async::Conn, tables: &Tables) -> Result<i64, StoreError> {
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

/// The bridge's own tables: SCIM state that Drupal has no column for.
async fn create_bridge_tables(conn: &mut mysql_async::Conn, tables: &Tables) -> Result<(), StoreError> {
    let user = format!(
        "CREATE TABLE IF NOT EXISTS {} (\
           `uid` int(10) unsigned NOT NULL COMMENT 'users.uid',\
           `scim_id` varchar(36) CHARACTER SET ascii COLLATE ascii_general_ci DEFAULT NULL COMMENT 'SCIM id on Drupal 7 (no uuid there); NULL on 8+, where users.uuid is the id',\
           `external_id` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL COMMENT 'SCIM externalId (case-exact)',\
           `deleted` tinyint(4) NOT NULL DEFAULT 0 COMMENT '1 after SCIM DELETE: hidden from SCIM, kept in Drupal',\
           `created` int(11) NOT NULL DEFAULT 0,\
           `changed` int(11) NOT NULL DEFAULT 0,\
           PRIMARY KEY (`uid`),\
           UNIQUE KEY `scim_id` (`scim_id`),\
           KEY `external_id` (`external_id`(191))\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='drupal-scim: SCIM state of Drupal accounts'",
        tables.t("scim_user")
    );
    let group = format!(
        "CREATE TABLE IF NOT EXISTS {} (\
           `group_id` varchar(166) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL COMMENT 'SCIM Group id: the role id, or a uuid for a group that grants nothing',\
           `role_id` varchar(166) CHARACTER SET ascii COLLATE ascii_general_ci DEFAULT NULL COMMENT 'user_role config id, NULL for an ignored group',\
           `display_name` varchar(255) NOT NULL DEFAULT '' COMMENT 'SCIM displayName',\
           `external_id` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL COMMENT 'SCIM externalId (case-exact)',\
           `created_by_scim` tinyint(4) NOT NULL DEFAULT 0 COMMENT '1 when drupal-scim created the role',\
           `deleted` tinyint(4) NOT NULL DEFAULT 0 COMMENT '1 after SCIM DELETE',\
           `revision` int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'bumped by every change, membership included (the ETag)',\
           `created` int(11) NOT NULL DEFAULT 0,\
           `changed` int(11) NOT NULL DEFAULT 0,\
           PRIMARY KEY (`group_id`),\
           KEY `role_id` (`role_id`),\
           KEY `display_name` (`display_name`(191)),\
           KEY `external_id` (`external_id`(191))\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='drupal-scim: SCIM Groups and the Drupal roles they stand for'",
        tables.t("scim_group")
    );
    conn.query_drop(user).await?;
    conn.query_drop(group).await?;
    Ok(())
}
