//! What information_schema says about a site's tables: every column of every table in the
//! connection's database and in the databases the prefixes name, looked up by logical table
//! name through the table's own prefix (Drupal 7 sites may keep `users` in another database).

use crate::drupal::charset::Repertoire;
use crate::drupal::error::StoreError;
use crate::drupal::rows::{self, take};
use crate::drupal::tables::Tables;
use mysql_async::prelude::*;
use std::collections::HashMap;

/// One column as information_schema describes it.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub max_len: Option<usize>,
    pub nullable: bool,
    pub has_default: bool,
    pub auto_increment: bool,
    /// `DATA_TYPE`, lowercase (`varchar`, `int`, …).
    pub data_type: String,
    /// What the column's character set can hold (text columns).
    pub repertoire: Repertoire,
}

/// The columns of one table, by name.
pub type TableColumns = HashMap<String, ColumnInfo>;

/// Every table's columns, by (schema, listed table name).
#[derive(Debug, Default)]
pub struct Columns {
    /// The connection's database: where tables without an explicit schema live.
    current: String,
    tables: HashMap<(String, String), TableColumns>,
}

impl ColumnInfo {
    /// Whether a value reads back exactly as it was written: VARCHAR and the TEXT types keep a
    /// string as it is (strict mode refuses what they cannot hold); CHAR drops trailing
    /// spaces, ENUM canonicalises case, numbers reformat.
    pub fn keeps_text(&self) -> bool {
        matches!(self.data_type.as_str(), "varchar" | "tinytext" | "text" | "mediumtext" | "longtext")
    }

    /// Whether the column holds integers.
    pub fn is_integer(&self) -> bool {
        matches!(self.data_type.as_str(), "tinyint" | "smallint" | "mediumint" | "int" | "bigint")
    }
}

impl Columns {
    /// Read information_schema for every schema the site's tables can live in.
    pub async fn load(conn: &mut mysql_async::Conn, tables: &Tables) -> Result<Columns, StoreError> {
        // DATABASE() is NULL when the connection has no database selected.
        let current = rows::first::<Option<String>, _>(conn, "SELECT DATABASE()".into(), (), "DATABASE()").await?;
        let current =
            current.flatten().ok_or_else(|| StoreError::Invalid("the database URL names no database".into()))?;
        let mut schemas = tables.schemas();
        schemas.push(current.clone());
        let marks = vec!["?"; schemas.len()].join(", ");
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, DATA_TYPE, \
             CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({marks})"
        );
        let rows: Vec<mysql_async::Row> = conn.exec(sql, schemas).await?;
        let mut out = Columns { current, tables: HashMap::new() };
        for mut row in rows {
            let schema: String = take(&mut row, 0, "information_schema.COLUMNS.TABLE_SCHEMA")?;
            let table: String = take(&mut row, 1, "information_schema.COLUMNS.TABLE_NAME")?;
            let column: String = take(&mut row, 2, "information_schema.COLUMNS.COLUMN_NAME")?;
            let max_len: Option<u64> = take(&mut row, 3, "information_schema.COLUMNS.CHARACTER_MAXIMUM_LENGTH")?;
            let nullable: String = take(&mut row, 4, "information_schema.COLUMNS.IS_NULLABLE")?;
            let default: Option<String> = take(&mut row, 5, "information_schema.COLUMNS.COLUMN_DEFAULT")?;
            let extra: Option<String> = take(&mut row, 6, "information_schema.COLUMNS.EXTRA")?;
            let data_type: String = take(&mut row, 7, "information_schema.COLUMNS.DATA_TYPE")?;
            let charset: Option<String> = take(&mut row, 8, "information_schema.COLUMNS.CHARACTER_SET_NAME")?;
            let extra = extra.unwrap_or_default();
            out.tables.entry((schema, table)).or_default().insert(
                column,
                ColumnInfo {
                    max_len: max_len.and_then(|m| usize::try_from(m).ok()),
                    nullable: nullable == "YES",
                    has_default: default.is_some(),
                    auto_increment: extra.contains("auto_increment"),
                    data_type: data_type.to_lowercase(),
                    repertoire: Repertoire::of(charset.as_deref()),
                },
            );
        }
        Ok(out)
    }

    /// The columns of a logical table (`users`, `field_data_field_x`), if it exists.
    pub fn table(&self, tables: &Tables, table: &str) -> Option<&TableColumns> {
        let schema = tables.schema_of(table).unwrap_or(&self.current).to_string();
        self.tables.get(&(schema, tables.raw(table)))
    }

    /// Whether a logical table exists.
    pub fn has(&self, tables: &Tables, table: &str) -> bool {
        self.table(tables, table).is_some()
    }

    /// Whether a logical table has a column.
    pub fn has_column(&self, tables: &Tables, table: &str, column: &str) -> bool {
        self.table(tables, table).is_some_and(|c| c.contains_key(column))
    }

    /// Logical names of the existing tables whose name starts with one of `starts` (field
    /// tables): those of the default prefix, and those with a prefix of their own.
    pub fn logical_names(&self, tables: &Tables, starts: &[&str]) -> Vec<String> {
        let default_schema = tables.schema_of("").unwrap_or(&self.current);
        let mut names: Vec<String> = self
            .tables
            .keys()
            .filter(|(schema, _)| schema == default_schema)
            .filter_map(|(_, listed)| tables.unprefixed(listed))
            .chain(tables.overridden())
            .filter(|name| starts.iter().any(|s| name.starts_with(s)))
            .filter(|name| name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
            .filter(|name| self.has(tables, name))
            .map(String::from)
            .collect();
        names.sort();
        names.dedup();
        names
    }
}
