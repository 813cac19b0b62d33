//! What the store knows about a Drupal site on every request: its schema (everything that differs
//! between Drupal versions, [`crate::drupal::schema`]), the language, time zone and password hash
//! of new accounts, what SCIM may reach, and the bridge tables.

use crate::drupal::db::Db;
use crate::drupal::error::StoreError;
use crate::drupal::password::PasswordScheme;
use crate::drupal::rows;
use crate::drupal::schema::{Release, Schema, SiteFacts};
use crate::drupal::tables::Tables;
use mysql_async::Conn;
use mysql_async::prelude::*;

pub use crate::drupal::schema::{Repertoires, SiteError};

/// Everything about the site the store needs on every request.
#[derive(Debug, Clone)]
pub struct Site {
    pub schema: Schema,
    pub release: Release,
    /// Language of new accounts.
    pub langcode: String,
    /// Time zone of new accounts that do not send one.
    pub timezone: String,
    pub password: PasswordScheme,
    /// Mapped configurable fields (validated to exist).
    pub fields: Vec<String>,
    /// What SCIM may reach (reach.rs); set at start-up once the mapping's roles are resolved.
    pub reach: Reach,
    /// Drupal's `system` schema version (10300 for 10.3).
    pub schema_version: i64,
    /// dblog is enabled: a `watchdog` table exists.
    pub has_watchdog: bool,
    /// The site's configured languages (`language.entity.*`; just the default without the
    /// language module).
    pub languages: Vec<String>,
    /// A create builds its record from what it wrote instead of reading the account back
    /// ([`SiteFacts::create_reads_back_written`]).
    pub create_reads_back_written: bool,
    /// What the account's text columns and each mapped field's values can hold.
    pub repertoires: Repertoires,
}

/// What SCIM may reach, as the store is started with it (reach.rs applies it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Accounts never reachable by uid (0, 1 and the mapping's `protected_uids`).
    pub protected_uids: Vec<u32>,
    /// Role ids that make their holders privileged whatever their permissions: the mapping's
    /// `protected_roles` (resolved to ids) and Drupal 7's `user_admin_role`.
    pub protected_roles: Vec<String>,
    /// `link_existing = "link"`: accounts SCIM has not linked are reachable (and linked on their
    /// first SCIM write). Otherwise only accounts with a bridge row are.
    pub unlinked_reachable: bool,
}

/// What the operator chose where the site has a default (drupal_mapping.toml's `[drupal]`).
#[derive(Debug, Clone)]
pub struct SiteChoices {
    /// Language of new accounts, instead of the site's default.
    pub langcode: Option<String>,
    /// Time zone of new accounts, instead of the site's default.
    pub timezone: Option<String>,
    pub password: PasswordScheme,
    /// The configurable fields SCIM writes (checked against the facts).
    pub fields: Vec<String>,
}

impl Site {
    /// Inspect the database: its schema and what it says about itself, for the mapping's
    /// `fields`. Reads only.
    pub async fn inspect(db: &Db, tables: Tables, fields: &[String]) -> Result<(Schema, SiteFacts), SiteError> {
        let mut conn = db.conn().await?;
        Schema::detect(&mut conn, tables, fields).await
    }

    /// The store's view of a site from what detection found and what the operator chose.
    pub fn new(schema: Schema, facts: SiteFacts, choices: SiteChoices) -> Site {
        let langcode = choices.langcode.unwrap_or(facts.langcode);
        let mut languages = facts.languages;
        if !languages.contains(&langcode) {
            languages.push(langcode.clone());
        }
        Site {
            schema,
            release: facts.release,
            timezone: choices.timezone.unwrap_or(facts.timezone),
            langcode,
            password: choices.password,
            fields: choices.fields,
            reach: Reach::default(),
            schema_version: facts.schema_version,
            has_watchdog: facts.has_watchdog,
            languages,
            create_reads_back_written: facts.create_reads_back_written,
            repertoires: facts.repertoires,
        }
    }

    /// The site's tables.
    pub fn tables(&self) -> &Tables {
        self.schema.tables()
    }

    /// Create drupal-scim's own tables if they are missing (the only DDL it ever runs).
    pub async fn ensure_bridge_tables(&self, db: &Db) -> Result<(), StoreError> {
        let mut conn = db.conn().await?;
        create_bridge_tables(&mut conn, self.tables()).await?;
        // Bridge tables made before Drupal 7 support lack the column the account writes name.
        ensure_scim_id_column(&mut conn, self.tables()).await
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

/// The bridge's own tables: SCIM state that Drupal has no column for.
async fn create_bridge_tables(conn: &mut Conn, tables: &Tables) -> Result<(), StoreError> {
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

/// Bridge tables made by an earlier version lack `scim_id` (only Drupal 7 fills it): add it.
async fn ensure_scim_id_column(conn: &mut Conn, tables: &Tables) -> Result<(), StoreError> {
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
