//! Drupal 7 Field API storage of user fields: every value is in `field_data_<field>` and, as
//! users have no revisions, identically in `field_revision_<field>` (revision_id = uid), in the
//! language 'und' of untranslatable fields. After a change Drupal drops the account's
//! `cache_field` entry (`field:user:<uid>`, caches.rs), done after the commit.

use super::D7;
use crate::drupal::error::StoreError;
use crate::drupal::rows;
use crate::drupal::schema::facts::Cardinality;
use crate::drupal::tables::Tables;
use mysql_async::Value;
use mysql_async::prelude::*;

/// The language of untranslatable field values.
const LANGUAGE: &str = "und";

impl D7 {
    /// Rewrite a field of one account: delete its rows in both tables, insert deltas 0..n-1.
    pub async fn write_field<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        _langcode: &str,
        field: &str,
        values: &[String],
        replace: bool,
    ) -> Result<(), StoreError> {
        let has_format = self.format_fields.iter().any(|f| f == field);
        let data = self.tables.t(&format!("field_data_{field}"));
        let revision = self.tables.t(&format!("field_revision_{field}"));
        for table in [&data, &revision] {
            if replace {
                q.exec_drop(format!("DELETE FROM {table} WHERE `entity_type` = 'user' AND `entity_id` = ?"), (uid,))
                    .await?;
            }
            if values.is_empty() {
                continue;
            }
            let (format_col, format_mark) =
                if has_format { (format!(", `{field}_format`"), ", NULL") } else { (String::new(), "") };
            let row = format!("('user', 'user', 0, ?, ?, '{LANGUAGE}', ?, ?{format_mark})");
            let marks = vec![row.as_str(); values.len()].join(", ");
            let mut params: Vec<Value> = Vec::new();
            for (delta, value) in values.iter().enumerate() {
                params.extend([uid.into(), uid.into(), (delta as u64).into(), value.as_str().into()]);
            }
            let sql = format!(
                "INSERT INTO {table} (`entity_type`, `bundle`, `deleted`, `entity_id`, `revision_id`, `language`, `delta`, `{field}_value`{format_col}) VALUES {marks}"
            );
            q.exec_drop(sql, params).await?;
        }
        Ok(())
    }

    /// Delete every value of every user field of one account, mapped or not: `field_tables` are
    /// the site's `field_data_*` / `field_revision_*` table names (unprefixed).
    pub(super) async fn delete_field_values<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        field_tables: &[String],
    ) -> Result<(), StoreError> {
        for table in field_tables {
            q.exec_drop(
                format!("DELETE FROM {} WHERE `entity_type` = 'user' AND `entity_id` = ?", self.tables.t(table)),
                (uid,),
            )
            .await?;
        }
        Ok(())
    }
}

/// How many values a field allows: `field_config.cardinality` of its live definition.
pub(super) async fn cardinality<Q: Queryable>(
    q: &mut Q,
    tables: &Tables,
    field: &str,
) -> Result<Cardinality, StoreError> {
    let config = tables.t("field_config");
    let sql = format!("SELECT `cardinality` FROM {config} WHERE `field_name` = ? AND `deleted` = 0 ORDER BY `id` DESC");
    Ok(match rows::first::<i64, _>(q, sql, (field,), "field_config.cardinality").await? {
        Some(n) => Cardinality::Stated(n),
        None => Cardinality::Missing(format!("the {} row of {field}", tables.raw("field_config"))),
    })
}
