//! Drupal 7 account rows: the one `users` row of a new account with every column as
//! `user_save()` writes it, and what a hard delete clears (`user_delete_multiple()`).

use crate::drupal::columns::Columns;
use crate::drupal::drupal7::{fields, sequences};
use crate::drupal::error::StoreError;
use crate::drupal::model::{BaseColumn, DbValue};
use crate::drupal::site::Site;
use mysql_async::prelude::*;
use mysql_async::{Transaction, Value};
use std::collections::BTreeMap;

/// Columns that make an account the owner of content on Drupal 7: (table, column, what it is).
pub const OWNER_COLUMNS: [(&str, &str, &str); 4] = [
    ("node", "uid", "content (nodes)"),
    ("node_revision", "uid", "content revisions"),
    ("comment", "uid", "comments"),
    ("file_managed", "uid", "files"),
];

/// Tables keyed by uid that Drupal 7 core clears when an account is deleted.
pub const UID_TABLES: [&str; 5] = ["users_roles", "authmap", "sessions", "history", "shortcut_set_users"];

/// Insert the `users` row of a new account with the next uid from `sequences`; returns the uid.
/// Drupal 7 keeps "none" as '' in the NOT NULL columns and in `mail`/`init`.
pub async fn insert(
    tx: &mut Transaction<'_>,
    site: &Site,
    values: &BTreeMap<BaseColumn, DbValue>,
    pass: Option<&str>,
    now: i64,
) -> Result<u32, StoreError> {
    let uid = sequences::next_uid(tx, &site.tables).await?;
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
    if site.has_changed_column() {
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
    tx.exec_drop(format!("INSERT INTO {} ({}) VALUES ({marks})", site.tables.t("users"), names.join(", ")), params)
        .await?;
    Ok(uid)
}

/// Delete every row of one account (`columns`: the tables that exist).
pub async fn delete<Q: Queryable>(q: &mut Q, site: &Site, uid: u32, columns: &Columns) -> Result<(), StoreError> {
    let t = &site.tables;
    let field_tables = columns.logical_names(t, &["field_data_", "field_revision_"]);
    fields::delete_all(q, site, uid, &field_tables).await?;
    for table in UID_TABLES {
        if columns.has(t, table) {
            q.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", t.t(table)), (uid,)).await?;
        }
    }
    for table in ["users", "scim_user"] {
        q.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", t.t(table)), (uid,)).await?;
    }
    Ok(())
}
