//! Drupal 7 account rows: the one `users` row of a new account with every column as
//! `user_save()` writes it, its uid from `sequences`, the content an account owns, and what a
//! hard delete clears (`user_delete_multiple()`).
//!
//! uid allocation: `users.uid` is not AUTO_INCREMENT; Drupal 7's MySQL driver hands out ids
//! through the one-column `sequences` table (`db_next_id()`), never MAX(uid) + 1, which would
//! race. Done the same way here so Drupal and drupal-scim never hand out the same uid.

use super::D7;
use crate::drupal::columns::Columns;
use crate::drupal::error::StoreError;
use crate::drupal::model::{BaseColumn, DbValue};
use crate::drupal::rows;
use crate::drupal::validate;
use mysql_async::prelude::*;
use mysql_async::{Row, Transaction, Value};
use std::collections::BTreeMap;

/// Columns that make an account the owner of content on Drupal 7: (table, column, what it is).
const OWNER_COLUMNS: [(&str, &str, &str); 4] = [
    ("node", "uid", "content (nodes)"),
    ("node_revision", "uid", "content revisions"),
    ("comment", "uid", "comments"),
    ("file_managed", "uid", "files"),
];

/// Tables keyed by uid that Drupal 7 core clears when an account is deleted.
const UID_TABLES: [&str; 5] = ["users_roles", "authmap", "sessions", "history", "shortcut_set_users"];

impl D7 {
    /// An account that states no preferred language has none ('').
    pub fn default_preferred_language(&self, _site_langcode: &str) -> DbValue {
        DbValue::Null
    }

    /// Drupal 7's user name rules.
    pub fn validate_username(&self, name: &str) -> Result<(), String> {
        validate::validate_drupal7_username(name)
    }

    /// Insert the `users` row of a new account with the next uid from `sequences`; returns the
    /// uid. Drupal 7 keeps "none" as '' in the NOT NULL columns and in `mail`/`init`; the uuid
    /// lives in the bridge row, and the language is the account's own.
    pub async fn insert_account(
        &self,
        tx: &mut Transaction<'_>,
        values: &BTreeMap<BaseColumn, DbValue>,
        _uuid: &str,
        pass: Option<&str>,
        now: i64,
        _langcode: &str,
    ) -> Result<u32, StoreError> {
        let uid = self.next_uid(tx).await?;
        let text = |column: BaseColumn| -> Value {
            match values.get(&column) {
                Some(DbValue::Text(s)) => s.as_str().into(),
                Some(DbValue::Int(i)) => (*i).into(),
                _ => "".into(),
            }
        };
        let timezone: Value = match values.get(&BaseColumn::Timezone) {
            Some(DbValue::Text(s)) => s.as_str().into(),
            _ => Value::NULL,
        };
        let status = values.get(&BaseColumn::Status).and_then(DbValue::as_int).unwrap_or(1);
        let mut columns = vec!["uid", "name", "pass", "mail", "theme", "signature", "signature_format", "created"];
        let mut params: Vec<Value> = vec![
            uid.into(),
            text(BaseColumn::Name),
            pass.unwrap_or_default().into(),
            text(BaseColumn::Mail),
            "".into(),
            "".into(),
            Value::NULL,
            now.into(),
        ];
        if self.has_changed {
            columns.push("changed");
            params.push(now.into());
        }
        columns.extend(["access", "login", "status", "timezone", "language", "picture", "init", "data"]);
        params.extend([
            0.into(),
            0.into(),
            status.into(),
            timezone,
            text(BaseColumn::PreferredLangcode),
            0.into(),
            // The registration form records the first mail address in init.
            text(BaseColumn::Mail),
            Value::NULL,
        ]);
        let names: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        tx.exec_drop(format!("INSERT INTO {} ({}) VALUES ({marks})", self.tables.t("users"), names.join(", ")), params)
            .await?;
        Ok(uid)
    }

    /// The next uid: insert into `sequences` and take the insert id; when the users table is
    /// ahead of the sequence (accounts imported without it), first move the sequence to the
    /// highest uid.
    async fn next_uid(&self, q: &mut Transaction<'_>) -> Result<u32, StoreError> {
        let sequences = self.tables.t("sequences");
        // MAX() of no rows is NULL.
        let sql = format!("SELECT MAX(`uid`) FROM {}", self.tables.t("users"));
        let max = rows::first::<Option<u32>, _>(q, sql, (), "users.uid").await?.flatten().unwrap_or(0);
        let mut id = sequence_insert_id(q, &sequences).await?;
        if max >= id {
            q.exec_drop(
                format!("INSERT INTO {sequences} (`value`) VALUES (?) ON DUPLICATE KEY UPDATE `value` = `value`"),
                (max,),
            )
            .await?;
            id = sequence_insert_id(q, &sequences).await?;
        }
        Ok(id)
    }

    /// Keep only the highest value of `sequences`, as Drupal 7 does once a request is over
    /// (after the commit).
    pub async fn clean_up_ids<Q: Queryable>(&self, q: &mut Q, below: u32) -> Result<(), StoreError> {
        q.exec_drop(format!("DELETE FROM {} WHERE `value` < ?", self.tables.t("sequences")), (below,)).await?;
        Ok(())
    }

    /// Drupal 7 keeps failed logins by IP and name, not by uid: nothing to forget.
    pub async fn forget_failed_logins<Q: Queryable>(&self, _q: &mut Q, _uid: u32) -> Result<(), StoreError> {
        Ok(())
    }

    /// The first piece of content the account owns (read `FOR UPDATE`), if any.
    pub async fn owned_content<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        columns: &Columns,
    ) -> Result<Option<String>, StoreError> {
        for (table, column, what) in OWNER_COLUMNS {
            if !columns.has_column(&self.tables, table, column) {
                continue;
            }
            let sql = format!("SELECT 1 FROM {} WHERE `{column}` = ? LIMIT 1 FOR UPDATE", self.tables.t(table));
            let owns: Option<Row> = q.exec_first(sql, (uid,)).await?;
            if owns.is_some() {
                return Ok(Some(what.to_string()));
            }
        }
        Ok(None)
    }

    /// Delete every row of one account (`columns`: the tables that exist). Drupal 7 has no
    /// shortcut set to forget: returns `None`.
    pub async fn delete_account<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        columns: &Columns,
    ) -> Result<Option<String>, StoreError> {
        let t = &self.tables;
        let field_tables = columns.logical_names(t, &["field_data_", "field_revision_"]);
        self.delete_field_values(q, uid, &field_tables).await?;
        for table in UID_TABLES {
            if columns.has(t, table) {
                q.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", t.t(table)), (uid,)).await?;
            }
        }
        for table in ["users", "scim_user"] {
            q.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", t.t(table)), (uid,)).await?;
        }
        Ok(None)
    }
}

async fn sequence_insert_id(q: &mut Transaction<'_>, sequences: &str) -> Result<u32, StoreError> {
    q.exec_drop(format!("INSERT INTO {sequences} () VALUES ()"), ()).await?;
    q.last_insert_id()
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| StoreError::Internal("sequences.value did not come from AUTO_INCREMENT".into()))
}
