//! Everything that differs between Drupal versions, behind one enum: [`Schema`]. Like Drupal
//! core's database drivers (one folder per database, each with the same files), each schema is
//! a folder holding the same files — `layout` (where an account's data lives, as SQL),
//! `accounts` (insert, hard delete, owned content), `fields`, `membership`, `roles`, `caches`
//! (what Drupal invalidates) and `detect` (what the site says about itself):
//!
//! - [`modern`]: Drupal 8–11;
//! - [`d7`]: Drupal 7.
//!
//! The shared store (`users`, `groups`, `roles`, `membership`, `reach`, `query`, `site`) calls
//! the schema and never asks which Drupal it is on. A new schema is a new folder and a new
//! variant here. The folders import only low-level modules (tables, columns, model, rows, …),
//! never the shared store.

pub mod d7;
pub mod facts;
pub mod fragments;
pub mod modern;

pub use facts::{Cardinality, FieldFacts, PasswordFacts, Release, Repertoires, SiteError, SiteFacts};
pub use fragments::ValueTable;

use crate::drupal::cache::Invalidation;
use crate::drupal::charset::Repertoire;
use crate::drupal::columns::Columns;
use crate::drupal::error::StoreError;
use crate::drupal::model::{BaseColumn, DbValue, Role};
use crate::drupal::tables::Tables;
use d7::D7;
use fragments::marks;
use modern::Modern;
use mysql_async::prelude::*;
use mysql_async::{Conn, Transaction, Value};
use std::collections::BTreeMap;

/// The Drupal schema of a site: the store writes each the way its own Drupal does.
#[derive(Debug, Clone)]
pub enum Schema {
    /// Drupal 8.x–11.x: `users` + `users_field_data`, `user__*` field tables, roles in `config`.
    Modern(Modern),
    /// Drupal 7: one `users` table, `field_data_*`/`field_revision_*`, `role` + `users_roles`.
    D7(D7),
}

/// `$body` with `$s` bound to the variant's schema, whichever it is: both answer every call.
macro_rules! each {
    ($schema:expr, $s:ident => $body:expr) => {
        match $schema {
            Schema::Modern($s) => $body,
            Schema::D7($s) => $body,
        }
    };
}

impl Schema {
    /// Find out which schema the database has (Drupal 7: a `variable` table and no `config`
    /// table) and what it says about itself; `fields` are the configurable fields to look at.
    pub async fn detect(conn: &mut Conn, tables: Tables, fields: &[String]) -> Result<(Schema, SiteFacts), SiteError> {
        let columns = Columns::load(conn, &tables).await?;
        if !columns.has(&tables, "config") && columns.has(&tables, "variable") {
            let (d7, facts) = D7::detect(conn, tables, &columns, fields).await?;
            Ok((Schema::D7(d7), facts))
        } else {
            let (modern, facts) = Modern::detect(conn, tables, &columns, fields).await?;
            Ok((Schema::Modern(modern), facts))
        }
    }

    /// The site's tables.
    pub fn tables(&self) -> &Tables {
        each!(self, s => &s.tables)
    }

    /// How `check` and the start-up log name the schema ("Drupal 8–11", "Drupal 7").
    pub fn label(&self) -> &'static str {
        each!(self, s => s.label())
    }

    // ---- layout: where an account's data lives, as SQL over aliases `d` (the row holding the
    // base columns), `s` (the bridge row) and, on 8+, `u` (the `users` row with the uuid).

    /// Unprefixed name of the table holding the base columns.
    pub fn data_table(&self) -> &'static str {
        each!(self, s => s.data_table())
    }

    /// The column a store column is kept in (`None`: this Drupal has none).
    pub fn column_name(&self, column: BaseColumn) -> Option<&'static str> {
        each!(self, s => s.column_name(column))
    }

    /// FROM clause of account reads, aliases `d`, `s` (and `u` on 8+).
    pub fn accounts_from(&self) -> String {
        each!(self, s => s.accounts_from())
    }

    /// SQL of an account's SCIM id.
    pub fn id_sql(&self) -> &'static str {
        each!(self, s => s.id_sql())
    }

    /// Where an account's SCIM id is kept, for errors.
    pub fn id_column(&self) -> &'static str {
        each!(self, s => s.id_column())
    }

    /// SQL of the language an account's field values are read in.
    pub fn value_langcode_sql(&self) -> &'static str {
        each!(self, s => s.value_langcode_sql())
    }

    /// Whether the account table has a `changed` column to keep current (Drupal 7 before 7.83
    /// has none).
    pub fn has_changed_column(&self) -> bool {
        each!(self, s => s.has_changed_column())
    }

    /// SQL of an account's last change (`created` where there is no `changed` column).
    pub fn changed_sql(&self) -> &'static str {
        if self.has_changed_column() { "d.`changed`" } else { "d.`created`" }
    }

    /// SQL of a base column on alias `d` as SCIM reads it.
    pub fn base_read_sql(&self, column: BaseColumn) -> String {
        each!(self, s => s.base_read_sql(column))
    }

    /// SQL of a base column on alias `d` for filtering and sorting (indexable).
    pub fn base_filter_sql(&self, column: BaseColumn) -> String {
        match self.column_name(column) {
            Some(name) => format!("d.`{name}`"),
            None => "NULL".into(),
        }
    }

    /// The readable base columns as a select list.
    pub fn base_select(&self) -> String {
        BaseColumn::READABLE.iter().map(|c| self.base_read_sql(*c)).collect::<Vec<_>>().join(", ")
    }

    /// A value as this Drupal stores it in a base column.
    pub fn stored(&self, column: BaseColumn, value: &DbValue) -> Value {
        each!(self, s => s.stored(column, value))
    }

    /// A condition matching the accounts with these SCIM ids (binding them into `params`).
    pub fn ids_condition(&self, ids: &[String], params: &mut Vec<Value>) -> String {
        // Ids are ASCII (uuids): anything else names no account, and must not reach an ascii
        // column (the database would fail the statement instead of matching nothing).
        let ids: Vec<String> = ids.iter().filter(|id| Repertoire::Ascii.holds(id)).cloned().collect();
        if ids.is_empty() {
            return "1 = 0".into();
        }
        let id_marks = marks(ids.len());
        each!(self, s => s.ids_condition(&ids, &id_marks, params))
    }

    /// The SCIM id to store in a new bridge row for an account (Drupal 7 only; 8+ has uuids).
    pub fn bridge_id(&self, scim_id: &str) -> Option<String> {
        each!(self, s => s.bridge_id(scim_id))
    }

    /// The table of a mapped field's values.
    pub fn field_values(&self, field: &str) -> ValueTable {
        each!(self, s => s.field_values(field))
    }

    /// The table of role assignments.
    pub fn role_values(&self) -> ValueTable {
        each!(self, s => s.role_values())
    }

    /// The role id column of the assignment rows on alias `x` (indexable).
    pub fn role_id_sql(&self) -> &'static str {
        each!(self, s => s.role_id_sql())
    }

    /// The language condition of a value row on alias `x` for the account on alias `d`
    /// (Drupal reads only the rows in the account's own language).
    pub fn value_language_condition(&self, roles: bool) -> &'static str {
        each!(self, s => s.value_language_condition(roles))
    }

    /// ` AND <alias>default_langcode = 1` where an account has a row per translation, so a
    /// read of the data table sees one row per account; `alias` is `""` or `"d."`.
    pub fn account_row_condition(&self, alias: &str) -> String {
        each!(self, s => s.account_row_condition(alias))
    }

    /// `EXISTS (…)`: the account on alias `d` holds a privileged role — one of
    /// `protected_roles`, one Drupal flags as administrator, or one holding an escalating
    /// permission ([`crate::drupal::permissions`]).
    pub fn privileged_sql(&self, protected_roles: &[String], params: &mut Vec<Value>) -> String {
        each!(self, s => s.privileged_sql(protected_roles, params))
    }

    /// Where a mapped field is kept, for `check`.
    pub fn field_target_text(&self, field: &str) -> String {
        each!(self, s => s.field_target_text(field))
    }

    /// The release line of a site at this `system` schema version.
    pub fn release(&self, schema_version: i64) -> Release {
        each!(self, s => s.release(schema_version))
    }

    // ---- accounts

    /// The preferred language of an account that states none.
    pub fn default_preferred_language(&self, site_langcode: &str) -> DbValue {
        each!(self, s => s.default_preferred_language(site_langcode))
    }

    /// This Drupal's user name rules.
    pub fn validate_username(&self, name: &str) -> Result<(), String> {
        each!(self, s => s.validate_username(name))
    }

    /// Insert the account rows of a new account; returns its uid.
    pub async fn insert_account(
        &self,
        tx: &mut Transaction<'_>,
        values: &BTreeMap<BaseColumn, DbValue>,
        uuid: &str,
        pass: Option<&str>,
        now: i64,
        langcode: &str,
    ) -> Result<u32, StoreError> {
        each!(self, s => s.insert_account(tx, values, uuid, pass, now, langcode).await)
    }

    /// After a create's commit: tidy what uid allocation leaves behind (below `below`).
    pub async fn clean_up_ids<Q: Queryable>(&self, q: &mut Q, below: u32) -> Result<(), StoreError> {
        each!(self, s => s.clean_up_ids(q, below).await)
    }

    /// Forget the account's failed logins, as a password change does.
    pub async fn forget_failed_logins<Q: Queryable>(&self, q: &mut Q, uid: u32) -> Result<(), StoreError> {
        each!(self, s => s.forget_failed_logins(q, uid).await)
    }

    /// The first piece of content the account owns, if any (`columns`: what exists).
    pub async fn owned_content<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        columns: &Columns,
    ) -> Result<Option<String>, StoreError> {
        each!(self, s => s.owned_content(q, uid, columns).await)
    }

    /// Delete every row of one account, as Drupal's own delete does; returns the shortcut set
    /// it was shown, on a site that has them.
    pub async fn delete_account<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        columns: &Columns,
    ) -> Result<Option<String>, StoreError> {
        each!(self, s => s.delete_account(q, uid, columns).await)
    }

    // ---- fields and membership

    /// Rewrite a field of one account: delete its rows (`replace`), insert deltas 0..n-1.
    pub async fn write_field<Q: Queryable>(
        &self,
        q: &mut Q,
        uid: u32,
        langcode: &str,
        field: &str,
        values: &[String],
        replace: bool,
    ) -> Result<(), StoreError> {
        each!(self, s => s.write_field(q, uid, langcode, field, values, replace).await)
    }

    /// Give `role` to these (uid, langcode) accounts, which lack it.
    pub async fn insert_assignments<Q: Queryable>(
        &self,
        q: &mut Q,
        role: &str,
        accounts: &[(u32, &str)],
    ) -> Result<(), StoreError> {
        each!(self, s => s.insert_assignments(q, role, accounts).await)
    }

    /// Close the gaps role removals left in these accounts' assignment rows.
    pub async fn renumber<Q: Queryable>(&self, q: &mut Q, uids: &[u32]) -> Result<(), StoreError> {
        each!(self, s => s.renumber(q, uids).await)
    }

    // ---- roles

    /// Whether a role id is one every account has implicitly.
    pub fn is_built_in(&self, id: &str) -> bool {
        each!(self, s => s.is_built_in(id))
    }

    /// The role a mapping names: by id, or where the schema allows, by its name.
    pub fn find_role<'a>(&self, roles: &'a [Role], reference: &str) -> Option<&'a Role> {
        roles.iter().find(|r| r.id == reference).or_else(|| each!(self, s => s.find_by_label(roles, reference)))
    }

    /// The role ids that make their holders privileged whatever their permissions, from those
    /// the mapping lists (resolved to ids).
    pub fn protected_roles(&self, listed: Vec<String>) -> Vec<String> {
        each!(self, s => s.protected_roles(listed))
    }

    /// Every role of the site, ordered by weight.
    pub async fn list_roles<Q: Queryable>(&self, q: &mut Q) -> Result<Vec<Role>, StoreError> {
        each!(self, s => s.list_roles(q).await)
    }

    /// Create a role labelled `label` (its id unique among `taken`); `repertoire`: what the
    /// site's role labels can hold.
    pub async fn create_role<Q: Queryable>(
        &self,
        q: &mut Q,
        label: &str,
        taken: &[String],
        langcode: &str,
        repertoire: Repertoire,
    ) -> Result<Role, StoreError> {
        each!(self, s => s.create_role(q, label, taken, langcode, repertoire).await)
    }

    /// Change a role's label.
    pub async fn relabel_role<Q: Queryable>(
        &self,
        q: &mut Q,
        id: &str,
        label: &str,
        repertoire: Repertoire,
    ) -> Result<(), StoreError> {
        each!(self, s => s.relabel_role(q, id, label, repertoire).await)
    }

    /// Delete a role and every assignment of it.
    pub async fn delete_role<Q: Queryable>(&self, q: &mut Q, id: &str) -> Result<(), StoreError> {
        each!(self, s => s.delete_role(q, id).await)
    }

    // ---- caches: what Drupal's own save invalidates, as a plan carried out after the commit

    /// After accounts were created (`created`) or saved.
    pub fn user_saved(&self, uids: &[u32], created: bool) -> Invalidation {
        each!(self, s => s.user_saved(uids, created))
    }

    /// After accounts were deleted.
    pub fn user_deleted(&self, uids: &[u32]) -> Invalidation {
        each!(self, s => s.user_deleted(uids))
    }

    /// After a role was created, renamed or deleted.
    pub fn role_changed(&self, id: &str, created: bool, deleted: bool) -> Invalidation {
        each!(self, s => s.role_changed(id, created, deleted))
    }

    /// The cache tables drupal-scim deletes rows of, for `check`.
    pub fn cache_bins(&self) -> &'static [&'static str] {
        each!(self, s => s.cache_bins())
    }

    /// What `check` says about the caches where cache tags do not apply.
    pub fn cache_note(&self) -> Option<&'static str> {
        each!(self, s => s.cache_note())
    }

    /// Whether Drupal's cache bins are named after their tables (`cache_field` on 7) rather
    /// than without the `cache_` (`entity` on 8+): what the redis module puts in its keys.
    pub fn cache_bins_named_by_table(&self) -> bool {
        each!(self, s => s.cache_bins_named_by_table())
    }

    /// Whether roles are config entities that a configuration import may delete.
    pub fn roles_are_config(&self) -> bool {
        each!(self, s => s.roles_are_config())
    }
}
