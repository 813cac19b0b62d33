//! What detection finds out about a site, as plain values: the mapping is checked against them
//! (`mapping::check`) and the store is built from them (`Site::new`). Nothing here decides.

use crate::drupal::charset::Repertoire;
use crate::drupal::columns::Columns;
use crate::drupal::error::StoreError;
use crate::drupal::model::BaseColumn;
use crate::drupal::tables::Tables;
use std::collections::BTreeMap;

/// Which Drupal release line the site is, as far as its database tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Drupal7,
    /// Drupal 8–10, and 11.0 (whose `system` schema version is still a 10.x one).
    Drupal8To10,
    /// Drupal 11.1 and later: `system` schema version 11000 or more (system_update_11100 is the
    /// first; no 10.x release has an update numbered above 10600).
    Drupal11,
}

impl Release {
    /// The release line, as people name it.
    pub fn label(self) -> &'static str {
        match self {
            Release::Drupal7 => "Drupal 7",
            Release::Drupal8To10 => "Drupal 8–10",
            Release::Drupal11 => "Drupal 11",
        }
    }
}

/// What the site says about a field's number of values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cardinality {
    /// The storage settings hold this cardinality (`-1`: unlimited).
    Stated(i64),
    /// No storage settings: `where` names what is missing.
    Missing(String),
    /// Storage settings without a readable cardinality: `where` names them.
    Unreadable(String),
}

/// A configurable field the site has: its value column's length and its cardinality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFacts {
    pub max_len: Option<usize>,
    pub cardinality: Cardinality,
}

/// How the site hashes passwords, before the mapping's `password_hash` chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordFacts {
    /// Drupal's own hash is bcrypt (Drupal ≥ 10.1, PHP's password_hash()).
    pub bcrypt_by_default: bool,
    /// Rounds (log2) of a `$S$` phpass hash.
    pub phpass_count_log2: u8,
    /// Why this Drupal cannot verify a bcrypt hash, if it cannot.
    pub bcrypt_refusal: Option<&'static str>,
}

/// Everything detection found, but the schema itself (`Schema::detect` returns both).
#[derive(Debug, Clone)]
pub struct SiteFacts {
    pub release: Release,
    /// What is wrong with the site whatever the mapping says (a NOT NULL column nobody fills).
    pub problems: Vec<String>,
    /// Each store column: its longest value, or why this site has no such column.
    pub columns: BTreeMap<BaseColumn, Result<Option<usize>, String>>,
    /// Each field asked about: what the site has, or why it has no such field.
    pub fields: BTreeMap<String, Result<FieldFacts, String>>,
    /// The site's default language (`en` when it states none).
    pub langcode: String,
    /// The configured languages.
    pub languages: Vec<String>,
    /// The site's default time zone (`UTC` when it states none).
    pub timezone: String,
    /// Drupal's `system` schema version (10300 for 10.3).
    pub schema_version: i64,
    pub password: PasswordFacts,
    /// dblog is enabled: a `watchdog` table exists.
    pub has_watchdog: bool,
    pub repertoires: Repertoires,
    /// Every column a new account's record is read from gives back exactly what a create wrote
    /// (text in VARCHAR/TEXT columns, an integer status, Drupal 8+): a create builds its record
    /// from what it wrote instead of reading the account back.
    pub create_reads_back_written: bool,
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

/// A problem for each of `required` that does not exist, naming the prefix it was looked up with.
pub fn missing_tables(columns: &Columns, tables: &Tables, required: &[&str], core: &str) -> Vec<String> {
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
