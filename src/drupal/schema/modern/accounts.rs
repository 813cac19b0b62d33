//! Drupal 8–11 account rows: the `users` and `users_field_data` rows of a new account with every
//! column as the entity API writes it, the content an account owns, and what deleting one clears
//! (`User::delete()` and the modules that react to it).

use super::Modern;
use crate::drupal::columns::Columns;
use crate::drupal::error::{ER_NO_SUCH_TABLE, StoreError};
use crate::drupal::model::{BaseColumn, DbValue};
use crate::drupal::validate;
use mysql_async::prelude::*;
use mysql_async::{Row, Transaction, Value};
use std::collections::BTreeMap;

/// Columns that make an account the owner of content: (table, column, what it is).
const OWNER_COLUMNS: [(&str, &str, &str); 9] = [
    ("node_field_data", "uid", "content (nodes)"),
    ("node_field_revision", "uid", "content revisions"),
    ("node_revision", "revision_uid", "content revisions"),
    ("comment_field_data", "uid", "comments"),
    ("file_managed", "uid", "files"),
    ("media_field_data", "uid", "media"),
    ("media_revision", "revision_user", "media revisions"),
    ("block_content_revision", "revision_user", "block content revisions"),
    ("taxonomy_term_revision", "revision_user", "taxonomy term revisions"),
];

impl Modern {
    /// The preferred language of an account that states none: the site's.
    pub fn default_preferred_language(&self, site_langcode: &str) -> DbValue {
        DbValue::Text(site_langcode.to_string())
    }

    /// Drupal 8+'s user name rules.
    pub fn validate_username(&self, name: &str) -> Result<(), String> {
        validate::validate_username(name)
    }

    /// The `users` and `users_field_data` rows of a new account; returns its uid.
    pub async fn insert_account(
        &self,
        tx: &mut Transaction<'_>,
        values: &BTreeMap<BaseColumn, DbValue>,
        uuid: &str,
        pass: Option<&str>,
        now: i64,
        langcode: &str,
    ) -> Result<u32, StoreError> {
        let t = &self.tables;
        let mail = values.get(&BaseColumn::Mail).cloned().unwrap_or(DbValue::Null);
        tx.exec_drop(format!("INSERT INTO {} (`uuid`, `langcode`) VALUES (?, ?)", t.t("users")), (uuid, langcode))
            .await?;
        let uid = tx
            .last_insert_id()
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| StoreError::Internal("users.uid did not come from AUTO_INCREMENT".into()))?;
        let mut columns: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        let mut push = |c: &str, v: Value| {
            columns.push(format!("`{c}`"));
            params.push(v);
        };
        push("uid", uid.into());
        push("langcode", langcode.into());
        for column in BaseColumn::READABLE {
            push(column.column(), values.get(&column).cloned().unwrap_or(DbValue::Null).into());
        }
        push("pass", pass.map(String::from).into());
        push("created", now.into());
        push("changed", now.into());
        push("access", 0.into());
        push("login", 0.into());
        // Drupal's registration form records the first mail address in init.
        push("init", mail.into());
        push("default_langcode", 1.into());
        for column in &self.translation_columns {
            let v: Value = match column.as_str() {
                "content_translation_source" => "und".into(),
                "content_translation_outdated" => 0.into(),
                "content_translation_uid" => 0.into(),
                "content_translation_status" => 1.into(),
                "content_translation_created" => now.into(),
                _ => Value::NULL,
            };
            push(column, v);
        }
        let marks = vec!["?"; columns.len()].join(", ");
        tx.exec_drop(
            format!("INSERT INTO {} ({}) VALUES ({marks})", t.t("users_field_data"), columns.join(", ")),
            params,
        )
        .await?;
        Ok(uid)
    }

    /// uids come from AUTO_INCREMENT: nothing to clean up after a create.
    pub async fn clean_up_ids<Q: Queryable>(&self, _q: &mut Q, _below: u32) -> Result<(), StoreError> {
        Ok(())
    }

    /// Drupal 8+ forgets failed logins when the password changes; the flood table may not exist yet.
    pub async fn forget_failed_logins<Q: Queryable>(&self, q: &mut Q, uid: u32) -> Result<(), StoreError> {
        let sql = format!(
            "DELETE FROM {} WHERE `event` = 'user.failed_login_user' AND (`identifier` = ? OR `identifier` LIKE ?)",
            self.tables.t("flood")
        );
        if let Err(e) = q.exec_drop(sql, (uid.to_string(), format!("{uid}-%"))).await
            && !matches!(&e, mysql_async::Error::Server(s) if s.code == ER_NO_SUCH_TABLE)
        {
            return Err(e.into());
        }
        Ok(())
    }

    /// The first piece of content the account owns (read `FOR UPDATE`: a row Drupal is writing
    /// is waited for), if any.
    pub async fn owned_content<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        columns: &Columns,
    ) -> Result<Option<String>, StoreError> {
        let t = &self.tables;
        for (table, column, what) in OWNER_COLUMNS {
            if !columns.has_column(t, table, column) {
                continue;
            }
            let sql = format!("SELECT 1 FROM {} WHERE `{column}` = ? LIMIT 1 FOR UPDATE", t.t(table));
            let owns: Option<Row> = q.exec_first(sql, (uid,)).await?;
            if owns.is_some() {
                return Ok(Some(what.to_string()));
            }
        }
        // Comments on the account itself (a comment field on users): Drupal would delete them.
        if columns.has_column(t, "comment_field_data", "entity_type") {
            let sql = format!(
                "SELECT 1 FROM {} WHERE `entity_type` = 'user' AND `entity_id` = ? LIMIT 1 FOR UPDATE",
                t.t("comment_field_data")
            );
            let owns: Option<Row> = q.exec_first(sql, (uid,)).await?;
            if owns.is_some() {
                return Ok(Some("comments on the account".to_string()));
            }
        }
        Ok(None)
    }

    /// Delete every row of one account (`columns`: the tables that exist). Returns, on a site
    /// with the shortcut module, the shortcut set it was shown.
    pub async fn delete_account<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        columns: &Columns,
    ) -> Result<Option<String>, StoreError> {
        let t = &self.tables;
        let exists = |name: &str| columns.has(t, name);
        let shortcut_set = if exists("shortcut_set_users") {
            let sql = format!("SELECT `set_name` FROM {} WHERE `uid` = ?", t.t("shortcut_set_users"));
            let assigned: Option<Row> = q.exec_first(sql, (uid,)).await?;
            let name = assigned.and_then(|mut row| row.take_opt::<Option<String>, _>(0)).and_then(Result::ok).flatten();
            Some(name.unwrap_or_else(|| "default".into()))
        } else {
            None
        };
        if exists("comment_entity_statistics") {
            // comment_entity_predelete(): the statistics of comments on the account itself.
            let sql = format!(
                "DELETE FROM {} WHERE `entity_type` = 'user' AND `entity_id` = ?",
                t.t("comment_entity_statistics")
            );
            q.exec_drop(sql, (uid,)).await?;
        }
        for table in &columns.logical_names(t, &["user__"]) {
            q.exec_drop(format!("DELETE FROM {} WHERE `entity_id` = ?", t.t(table)), (uid,)).await?;
        }
        for table in [
            "users_data",
            "sessions",
            "history",
            "shortcut_set_users",
            // externalauth (the SAML / OpenID Connect modules' account links), which deletes
            // them when Drupal deletes the account.
            "authmap",
        ] {
            if exists(table) {
                q.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", t.t(table)), (uid,)).await?;
            }
        }
        if exists("flood") {
            q.exec_drop(
                format!("DELETE FROM {} WHERE `identifier` = ? OR `identifier` LIKE ?", t.t("flood")),
                (uid.to_string(), format!("{uid}-%")),
            )
            .await?;
        }
        for table in ["users_field_data", "users", "scim_user"] {
            q.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", t.t(table)), (uid,)).await?;
        }
        Ok(shortcut_set)
    }
}
