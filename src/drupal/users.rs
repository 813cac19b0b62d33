//! Drupal accounts: read, search, create, update and block them exactly as Drupal's entity API
//! writes them (users → users_field_data → user__* rows), one transaction per write, caches
//! invalidated after the commit.

use crate::drupal::after_commit;
use crate::drupal::columns::Columns;
use crate::drupal::db::{Db, retrying};
use crate::drupal::error::StoreError;
use crate::drupal::listed;
use crate::drupal::locks::NamedLocks;
use crate::drupal::membership;
pub use crate::drupal::model::now;
use crate::drupal::model::{BaseColumn, DbValue, Sort, UserQuery, UserRecord, UserWrite};
use crate::drupal::password::hash_password;
use crate::drupal::query::{order_sql, where_sql};
use crate::drupal::reach::{self, Standing};
use crate::drupal::rows::{self, take};
use crate::drupal::site::Site;
use crate::drupal::{timezones, validate};
use mysql_async::prelude::*;
use mysql_async::{Conn, Row, TxOpts, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// One page of a search.
#[derive(Debug)]
pub struct Page {
    pub total: u64,
    pub records: Vec<UserRecord>,
}

/// Statements to run in an account write's own transaction, given the account as written (how
/// sync-out records what the inbound side wrote as already in sync: no echo).
pub type AfterWrite = Arc<dyn Fn(&UserRecord) -> Vec<(String, Vec<Value>)> + Send + Sync>;

/// The account store of one Drupal site.
#[derive(Clone)]
pub struct UserStore {
    db: Db,
    site: Arc<Site>,
    after_write: Option<AfterWrite>,
}

impl UserStore {
    /// A store over `db` for `site`.
    pub fn new(db: Db, site: Arc<Site>) -> Self {
        UserStore { db, site, after_write: None }
    }

    /// The same store, running `hook`'s statements in every create's and update's transaction.
    pub fn with_after_write(mut self, hook: AfterWrite) -> Self {
        self.after_write = Some(hook);
        self
    }

    /// The site this store writes to.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// FROM + what SCIM may reach (reach.rs): protected, privileged, unlinked and SCIM-deleted
    /// accounts never show.
    fn visible_from(&self, params: &mut Vec<Value>) -> String {
        format!("FROM {} WHERE {}", self.site.schema.accounts_from(), self.site.reach_sql(false, params))
    }

    /// A visible account by SCIM id (the Drupal uuid on 8+, the bridge's id on 7).
    pub async fn get(&self, uuid: &str) -> Result<Option<UserRecord>, StoreError> {
        let mut conn = self.db.conn().await?;
        let mut params = Vec::new();
        let from = self.visible_from(&mut params);
        let id = self.site.schema.ids_condition(&[uuid.to_string()], &mut params);
        let sql = format!("SELECT {} {from} AND {id}", record_columns(&self.site));
        let rows: Vec<Row> = conn.exec(sql, params).await?;
        let records = rows.into_iter().map(|row| record_from_row(&self.site, row)).collect::<Result<Vec<_>, _>>()?;
        Ok(add_values(&mut *conn, &self.site, records).await?.into_iter().next())
    }

    /// The uid of the account with this SCIM id and where it stands with SCIM, whether SCIM may
    /// reach it or not (for the audit log when it answers 404).
    pub async fn standing_by_id(&self, id: &str) -> Result<Option<(u32, Standing)>, StoreError> {
        let mut conn = self.db.conn().await?;
        let mut params = Vec::new();
        let condition = self.site.schema.ids_condition(&[id.to_string()], &mut params);
        reach::standing_where(&mut *conn, &self.site, &condition, params).await
    }

    /// Visible accounts matching `query`, `limit` of them from `offset`, with the total.
    pub async fn search(
        &self,
        query: &UserQuery,
        sort: Option<&Sort>,
        offset: u64,
        limit: u64,
    ) -> Result<Page, StoreError> {
        let mut conn = self.db.conn().await?;
        let mut params = Vec::new();
        let from = self.visible_from(&mut params);
        let filter = where_sql(&self.site, query, &mut params);
        let count_sql = format!("SELECT COUNT(*) {from} AND {filter}");
        if limit == 0 {
            let total = rows::first::<u64, _>(&mut *conn, count_sql, params, COUNT).await?.unwrap_or(0);
            return Ok(Page { total, records: Vec::new() });
        }
        let order = match sort {
            Some(s) => {
                format!("{} {}, d.`uid`", order_sql(&self.site, &s.column), if s.descending { "DESC" } else { "ASC" })
            }
            None => "d.`uid`".to_string(),
        };
        let mut page_params = params.clone();
        page_params.push(limit.into());
        page_params.push(offset.into());
        // The page reads the accounts' own rows too (no second look-up by uid).
        let sql =
            format!("SELECT {} {from} AND {filter} ORDER BY {order} LIMIT ? OFFSET ?", record_columns(&self.site));
        let rows: Vec<Row> = conn.exec(sql, page_params).await?;
        let records = rows.into_iter().map(|row| record_from_row(&self.site, row)).collect::<Result<Vec<_>, _>>()?;
        // A page that is neither full nor past the end holds the last match: the total follows
        // from it, and the count (a scan of every match) is not needed. That is every `eq`
        // lookup, and each create's idempotency and linking searches.
        let n = records.len() as u64;
        let total = if n < limit && (n > 0 || offset == 0) {
            offset + n
        } else {
            rows::first::<u64, _>(&mut *conn, count_sql, params, COUNT).await?.unwrap_or(0)
        };
        let records = add_values(&mut *conn, &self.site, records).await?;
        Ok(Page { total, records })
    }

    /// Keyset paging for cursors: visible accounts matching `query` with a uid above `after`, in
    /// uid order — stable under concurrent inserts, which only ever add higher uids.
    pub async fn search_after(&self, query: &UserQuery, after: u32, limit: u64) -> Result<Page, StoreError> {
        let mut conn = self.db.conn().await?;
        let mut params = Vec::new();
        let from = self.visible_from(&mut params);
        let filter = where_sql(&self.site, query, &mut params);
        let count_sql = format!("SELECT COUNT(*) {from} AND {filter}");
        let total = rows::first::<u64, _>(&mut *conn, count_sql, params.clone(), COUNT).await?.unwrap_or(0);
        params.push(after.into());
        params.push(limit.into());
        let sql = format!(
            "SELECT {} {from} AND {filter} AND d.`uid` > ? ORDER BY d.`uid` LIMIT ?",
            record_columns(&self.site)
        );
        let rows: Vec<Row> = conn.exec(sql, params).await?;
        let records = rows.into_iter().map(|row| record_from_row(&self.site, row)).collect::<Result<Vec<_>, _>>()?;
        let records = add_values(&mut *conn, &self.site, records).await?;
        Ok(Page { total, records })
    }

    /// Create an account. `write` holds every mapped value (NULL where absent).
    pub async fn create(&self, write: &UserWrite) -> Result<UserRecord, StoreError> {
        let mut values = write.base.clone();
        self.apply_create_defaults(&mut values);
        normalize_languages(&self.site, &mut values);
        validate_values(&self.site, &values)?;
        validate_fields(&self.site, &write.fields)?;
        let name = values.get(&BaseColumn::Name).and_then(DbValue::as_text).unwrap_or_default().to_string();
        let mail = values.get(&BaseColumn::Mail).and_then(DbValue::as_text).map(String::from);
        let pass = self.hash(write.password.as_deref()).await?;
        let mut conn = self.db.conn().await?;
        let locks = NamedLocks::acquire(
            &mut conn,
            self.site.tables(),
            &[Some(name.as_str()), mail.as_deref()],
            self.db.timeout(),
        )
        .await?;
        let result = retrying!(self.create_tx(&mut conn, &values, write, pass.as_deref()).await);
        locks.release(&mut conn).await;
        let record = result.map_err(|e| duplicate_as_conflict(e, &name))?;
        if self.db.writes() {
            if let Err(e) = self.site.schema.clean_up_ids(&mut *conn, record.uid).await {
                log::warn!("cleaning up after the uid allocation failed (harmless, it is retried next time): {e}");
            }
            after_commit::invalidate(
                &self.db,
                self.site.tables(),
                Some(conn),
                self.site.schema.user_saved(&[record.uid], true),
            )
            .await;
        }
        Ok(record)
    }

    /// Fill what Drupal fills when a value is not given.
    fn apply_create_defaults(&self, values: &mut BTreeMap<BaseColumn, DbValue>) {
        let defaults = [
            (BaseColumn::Status, DbValue::Int(1)),
            (BaseColumn::Timezone, DbValue::Text(self.site.timezone.clone())),
            (BaseColumn::PreferredLangcode, self.default_language()),
            (BaseColumn::PreferredAdminLangcode, DbValue::Null),
            (BaseColumn::Mail, DbValue::Null),
        ];
        for (column, default) in defaults {
            let slot = values.entry(column).or_insert(DbValue::Null);
            if *slot == DbValue::Null {
                *slot = default;
            }
        }
    }

    /// The preferred language of an account that states none, as this Drupal stores it.
    fn default_language(&self) -> DbValue {
        self.site.schema.default_preferred_language(&self.site.langcode)
    }

    async fn create_tx(
        &self,
        conn: &mut Conn,
        values: &BTreeMap<BaseColumn, DbValue>,
        write: &UserWrite,
        pass: Option<&str>,
    ) -> Result<UserRecord, StoreError> {
        let t = self.site.tables();
        let site = &self.site;
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        let checks = [BaseColumn::Name, BaseColumn::Mail].map(|c| (c, values.get(&c)));
        check_unique(&mut tx, site, &checks, None).await?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let now = now();
        let uid = site.schema.insert_account(&mut tx, values, &uuid, pass, now, &site.langcode).await?;
        for (field, values) in &write.fields {
            site.schema.write_field(&mut tx, uid, &site.langcode, field, values, false).await?;
        }
        let ext = write.external_id.clone().flatten();
        tx.exec_drop(
            format!(
                "INSERT INTO {} (`uid`, `scim_id`, `external_id`, `deleted`, `created`, `changed`) VALUES (?, ?, ?, 0, ?, ?)",
                t.t("scim_user")
            ),
            (uid, site.schema.bridge_id(&uuid), ext, now, now),
        )
        .await?;
        let record = match written_record(site, uid, &uuid, now, values, write) {
            Some(record) => Some(record),
            // Read the account back inside the transaction (a dry run rolls it away).
            None => load(&mut tx, site, &[uid]).await?.into_iter().next(),
        };
        after_write(&mut tx, self.after_write.as_ref(), record.as_ref()).await?;
        self.db.finish(tx).await?;
        record.ok_or_else(|| StoreError::Internal("the account just created could not be read back".into()))
    }

    /// Apply `changes` (only what differs) to an existing account. `conditional`: the client's
    /// If-Match was checked against `current`, so the account must still be exactly that.
    /// Returns the account and whether this write linked it to SCIM (its first SCIM write, with
    /// `link_existing = "link"`).
    pub async fn update(
        &self,
        current: &UserRecord,
        changes: &UserWrite,
        conditional: bool,
    ) -> Result<(UserRecord, bool), StoreError> {
        let mut values = changes.base.clone();
        // A cleared status asserts nothing: the account keeps its state (a cleared `active`
        // must never unblock a blocked account).
        if values.get(&BaseColumn::Status) == Some(&DbValue::Null) {
            values.remove(&BaseColumn::Status);
        }
        // A cleared time zone or language falls back to what Drupal would store.
        for (column, default) in [
            (BaseColumn::Timezone, DbValue::Text(self.site.timezone.clone())),
            (BaseColumn::PreferredLangcode, self.default_language()),
        ] {
            if values.get(&column) == Some(&DbValue::Null) {
                if current.get(column) == &default {
                    values.remove(&column);
                } else {
                    values.insert(column, default);
                }
            }
        }
        if values.get(&BaseColumn::Name) == Some(&DbValue::Null) {
            return Err(StoreError::Invalid("userName is required".into()));
        }
        normalize_languages(&self.site, &mut values);
        values.retain(|column, value| current.get(*column) != value);
        validate_values(&self.site, &values)?;
        validate_fields(&self.site, &changes.fields)?;
        let pass = self.hash(changes.password.as_deref()).await?;
        if values.is_empty()
            && changes.fields.is_empty()
            && pass.is_none()
            && changes.external_id.is_none()
            && changes.revoke_roles.is_empty()
        {
            return Ok((current.clone(), false));
        }
        let name = values.get(&BaseColumn::Name).and_then(DbValue::as_text).map(String::from);
        let mail = values.get(&BaseColumn::Mail).and_then(DbValue::as_text).map(String::from);
        let mut conn = self.db.conn().await?;
        let locks =
            NamedLocks::acquire(&mut conn, self.site.tables(), &[name.as_deref(), mail.as_deref()], self.db.timeout())
                .await?;
        let result =
            retrying!(self.update_tx(&mut conn, current, &values, changes, pass.as_deref(), conditional).await);
        locks.release(&mut conn).await;
        let record = result.map_err(|e| duplicate_as_conflict(e, name.as_deref().unwrap_or_default()))?;
        after_commit::invalidate(
            &self.db,
            self.site.tables(),
            Some(conn),
            self.site.schema.user_saved(&[current.uid], false),
        )
        .await;
        Ok(record)
    }

    async fn update_tx(
        &self,
        conn: &mut Conn,
        current: &UserRecord,
        values: &BTreeMap<BaseColumn, DbValue>,
        changes: &UserWrite,
        pass: Option<&str>,
        conditional: bool,
    ) -> Result<(UserRecord, bool), StoreError> {
        let t = self.site.tables();
        let site = &self.site;
        let uid = current.uid;
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        let linked = lock_current(&mut tx, site, current, false, conditional).await?;
        let checks = [BaseColumn::Name, BaseColumn::Mail].map(|c| (c, values.get(&c)));
        check_unique(&mut tx, site, &checks, Some(uid)).await?;
        let now = now();
        let mut sets: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        for (column, value) in values {
            let Some(name) = site.schema.column_name(*column) else { continue };
            sets.push(format!("`{name}` = ?"));
            params.push(site.schema.stored(*column, value));
        }
        if let Some(hash) = pass {
            sets.push("`pass` = ?".into());
            params.push(hash.into());
        }
        let data_changed = !sets.is_empty() || !changes.fields.is_empty();
        if data_changed && site.schema.has_changed_column() {
            sets.push("`changed` = ?".into());
            params.push(now.into());
        }
        if !sets.is_empty() {
            params.push(uid.into());
            // Every translation row carries the untranslatable values: update them all.
            let sql = format!("UPDATE {} SET {} WHERE `uid` = ?", t.t(site.schema.data_table()), sets.join(", "));
            tx.exec_drop(sql, params).await?;
        }
        for (field, field_values) in &changes.fields {
            site.schema.write_field(&mut tx, uid, &current.langcode, field, field_values, true).await?;
        }
        if !linked && changes.external_id.is_none() {
            // The first SCIM write of an account that existed before links it (only reachable
            // with link_existing = "link"); on Drupal 7 its derived SCIM id is stored with it.
            tx.exec_drop(
                format!(
                    "INSERT INTO {} (`uid`, `scim_id`, `deleted`, `created`, `changed`) VALUES (?, ?, 0, ?, ?) \
                     ON DUPLICATE KEY UPDATE `uid` = `uid`",
                    t.t("scim_user")
                ),
                (uid, site.schema.bridge_id(&current.uuid), now, now),
            )
            .await?;
        }
        if let Some(ext) = &changes.external_id {
            tx.exec_drop(
                format!(
                    "INSERT INTO {} (`uid`, `scim_id`, `external_id`, `deleted`, `created`, `changed`) VALUES (?, ?, ?, 0, ?, ?) \
                     ON DUPLICATE KEY UPDATE `external_id` = VALUES(`external_id`), `changed` = VALUES(`changed`)",
                    t.t("scim_user")
                ),
                (uid, site.schema.bridge_id(&current.uuid), ext.clone(), now, now),
            )
            .await?;
        }
        if !changes.revoke_roles.is_empty() {
            membership::revoke_roles_of(&mut tx, site, uid, &changes.revoke_roles).await?;
            if !data_changed && site.schema.has_changed_column() {
                tx.exec_drop(
                    format!("UPDATE {} SET `changed` = ? WHERE `uid` = ?", t.t(site.schema.data_table())),
                    (now, uid),
                )
                .await?;
            }
        }
        let blocked = values.get(&BaseColumn::Status) == Some(&DbValue::Int(0)) && current.is_active();
        if blocked || pass.is_some() {
            tx.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", t.t("sessions")), (uid,)).await?;
        }
        if pass.is_some() {
            site.schema.forget_failed_logins(&mut tx, uid).await?;
        }
        let record = load(&mut tx, site, &[uid]).await?.into_iter().next();
        after_write(&mut tx, self.after_write.as_ref(), record.as_ref()).await?;
        self.db.finish(tx).await?;
        let record =
            record.ok_or_else(|| StoreError::Internal("the account just updated could not be read back".into()))?;
        Ok((record, !linked))
    }

    /// SCIM DELETE with the `block` policies: block the account, end its sessions, take away
    /// `revoke_roles`, hide it from SCIM.
    /// `conditional`: as for [`UserStore::update`].
    pub async fn block_and_hide(
        &self,
        current: &UserRecord,
        revoke_roles: &[String],
        conditional: bool,
    ) -> Result<(), StoreError> {
        let uid = current.uid;
        let mut conn = self.db.conn().await?;
        retrying!(self.block_tx(&mut conn, current, revoke_roles, conditional).await)?;
        after_commit::invalidate(&self.db, self.site.tables(), Some(conn), self.site.schema.user_saved(&[uid], false))
            .await;
        Ok(())
    }

    async fn block_tx(
        &self,
        conn: &mut Conn,
        current: &UserRecord,
        revoke_roles: &[String],
        conditional: bool,
    ) -> Result<(), StoreError> {
        let t = self.site.tables();
        let uid = current.uid;
        let now = now();
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        lock_current(&mut tx, &self.site, current, false, conditional).await?;
        let table = t.t(self.site.schema.data_table());
        if self.site.schema.has_changed_column() {
            let sql = format!("UPDATE {table} SET `status` = 0, `changed` = ? WHERE `uid` = ? AND `status` <> 0");
            tx.exec_drop(sql, (now, uid)).await?;
        } else {
            tx.exec_drop(format!("UPDATE {table} SET `status` = 0 WHERE `uid` = ? AND `status` <> 0"), (uid,)).await?;
        }
        tx.exec_drop(format!("DELETE FROM {} WHERE `uid` = ?", t.t("sessions")), (uid,)).await?;
        membership::revoke_roles_of(&mut tx, &self.site, uid, revoke_roles).await?;
        tx.exec_drop(
            format!(
                "INSERT INTO {} (`uid`, `scim_id`, `external_id`, `deleted`, `created`, `changed`) VALUES (?, ?, ?, 1, ?, ?) \
                 ON DUPLICATE KEY UPDATE `deleted` = 1, `changed` = VALUES(`changed`)",
                t.t("scim_user")
            ),
            (uid, self.site.schema.bridge_id(&current.uuid), current.external_id.clone(), now, now),
        )
        .await?;
        self.db.finish(tx).await?;
        Ok(())
    }

    /// Delete an account the way Drupal's own delete does (every user row, sessions, history,
    /// shortcuts, flood entries, users_data, externalauth's authmap) — unless it owns content:
    /// then nothing is deleted and the answer names what it owns. The check and the delete are
    /// one transaction, so content created in between cannot be orphaned.
    pub async fn hard_delete(&self, current: &UserRecord, conditional: bool) -> Result<Option<String>, StoreError> {
        let uid = current.uid;
        let mut conn = self.db.conn().await?;
        let columns = Columns::load(&mut conn, self.site.tables()).await?;
        match retrying!(self.hard_delete_tx(&mut conn, current, &columns, conditional).await)? {
            Err(owned) => Ok(Some(owned)),
            Ok(shortcut_set) => {
                let mut plan = self.site.schema.user_deleted(&[uid]);
                // Drupal's shortcut module forgets the account's set, invalidating that set.
                plan.tags.extend(shortcut_set.map(|set| format!("config:shortcut.set.{set}")));
                after_commit::invalidate(&self.db, self.site.tables(), Some(conn), plan).await;
                Ok(None)
            }
        }
    }

    /// The rows of one account, in every table Drupal's delete clears (`columns`: what exists).
    /// `Err(what)`: it owns content, nothing was deleted; `Ok(set)`: deleted, and on a site with
    /// the shortcut module, the shortcut set it was shown.
    async fn hard_delete_tx(
        &self,
        conn: &mut Conn,
        current: &UserRecord,
        columns: &Columns,
        conditional: bool,
    ) -> Result<Result<Option<String>, String>, StoreError> {
        let uid = current.uid;
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        // The account row first, as every account and membership write locks it: a concurrent
        // grant waits, then finds the account gone, instead of deadlocking or leaving a role row.
        lock_current(&mut tx, &self.site, current, false, conditional).await?;
        if let Some(owned) = self.site.schema.owned_content(&mut tx, uid, columns).await? {
            tx.rollback().await?;
            return Ok(Err(owned));
        }
        let shortcut_set = self.site.schema.delete_account(&mut tx, uid, columns).await?;
        self.db.finish(tx).await?;
        Ok(Ok(shortcut_set))
    }

    /// Hash a password off the async workers (bcrypt is deliberately slow).
    async fn hash(&self, plain: Option<&str>) -> Result<Option<String>, StoreError> {
        let Some(plain) = plain else { return Ok(None) };
        let plain = plain.to_string();
        let scheme = self.site.password;
        tokio::task::spawn_blocking(move || hash_password(&plain, scheme))
            .await
            .map_err(|e| StoreError::Internal(format!("password hashing stopped: {e}")))?
            .map(Some)
            .map_err(|e| StoreError::Invalid(format!("password: {e}")))
    }
}

/// Run the [`AfterWrite`] hook's statements for the account just written, in its transaction.
async fn after_write<Q: Queryable>(
    q: &mut Q,
    hook: Option<&AfterWrite>,
    record: Option<&UserRecord>,
) -> Result<(), StoreError> {
    let (Some(hook), Some(record)) = (hook, record) else { return Ok(()) };
    for (sql, params) in hook(record) {
        q.exec_drop(sql, params).await?;
    }
    Ok(())
}

/// Lock the account's row for a write, then make sure SCIM may still reach it: an account that
/// gained a privileged role in Drupal (or was unlinked, or deleted through SCIM) since it was
/// read is out of reach from that moment. `conditional`: the client's If-Match was checked
/// against `current`, so the account must still be exactly that — two writes carrying the same
/// ETag cannot both pass, as the second finds the row the first wrote. Returns whether the
/// account is linked to SCIM (has a bridge row).
async fn lock_current<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    current: &UserRecord,
    include_deleted: bool,
    conditional: bool,
) -> Result<bool, StoreError> {
    let uid = current.uid;
    let lock = format!("SELECT `uid` FROM {} WHERE `uid` = ? FOR UPDATE", site.tables().t(site.schema.data_table()));
    q.exec_drop(lock, (uid,)).await?;
    let linked = match reach::standing_of(q, site, uid).await? {
        Some(Standing::Reachable { linked }) => linked,
        Some(Standing::Deleted) if include_deleted => true,
        Some(standing) => {
            log::warn!("account {uid} went out of SCIM's reach before the write ({standing:?}): nothing written");
            return Err(StoreError::NotFound("the account".into()));
        }
        None => return Err(StoreError::NotFound("the account".into())),
    };
    if conditional {
        let fresh = load(q, site, &[uid]).await?.into_iter().next();
        if fresh.as_ref() != Some(current) {
            return Err(StoreError::Stale(
                "the resource changed while this conditional request was being applied; read it again and retry".into(),
            ));
        }
    }
    Ok(linked)
}

fn duplicate_as_conflict(e: StoreError, name: &str) -> StoreError {
    if e.is_duplicate_key() {
        StoreError::Conflict(format!("the user name {name:?} is already taken by another Drupal account"))
    } else {
        e
    }
}

/// Language tags become the site's language ids, as Drupal only accepts configured languages.
fn normalize_languages(site: &Site, values: &mut BTreeMap<BaseColumn, DbValue>) {
    for column in [BaseColumn::PreferredLangcode, BaseColumn::PreferredAdminLangcode] {
        if let Some(DbValue::Text(tag)) = values.get_mut(&column) {
            *tag = site.language_for(tag);
        }
    }
}

/// Drupal's own validation of the values about to be written.
fn validate_values(site: &Site, values: &BTreeMap<BaseColumn, DbValue>) -> Result<(), StoreError> {
    for (column, value) in values {
        let text = match value {
            DbValue::Text(s) => s.as_str(),
            _ => continue,
        };
        let account = site.repertoires.account;
        let result = match column {
            _ if !account.holds(text) => Err(account.refusal().to_string()),
            BaseColumn::Name => site.schema.validate_username(text),
            BaseColumn::Mail => validate::validate_mail(text),
            BaseColumn::Timezone if !timezones::is_valid_timezone(text) => {
                Err(format!("{text:?} is not a time zone PHP knows (e.g. \"Europe/Berlin\", \"UTC\")"))
            }
            BaseColumn::PreferredLangcode | BaseColumn::PreferredAdminLangcode => validate::validate_langcode(text),
            _ => Ok(()),
        };
        result.map_err(|e| StoreError::Invalid(format!("{}: {e}", column_label(*column))))?;
    }
    match values.get(&BaseColumn::Name) {
        Some(DbValue::Text(_)) => {}
        Some(_) => return Err(StoreError::Invalid("userName is required".into())),
        None => {}
    }
    Ok(())
}

/// Every field value must fit its column's character set.
fn validate_fields(site: &Site, fields: &BTreeMap<String, Vec<String>>) -> Result<(), StoreError> {
    for (field, values) in fields {
        let repertoire = site.repertoires.field(field);
        if values.iter().any(|v| !repertoire.holds(v)) {
            return Err(StoreError::Invalid(format!("{field}: the value {}", repertoire.refusal())));
        }
    }
    Ok(())
}

fn column_label(column: BaseColumn) -> &'static str {
    match column {
        BaseColumn::Name => "user name",
        BaseColumn::Mail => "e-mail address",
        BaseColumn::Timezone => "time zone",
        BaseColumn::PreferredLangcode => "preferred language",
        BaseColumn::PreferredAdminLangcode => "preferred admin language",
        BaseColumn::Status => "status",
        BaseColumn::Pass => "password",
    }
}

/// Global uniqueness of name and mail as the column's collation compares (case- and
/// accent-insensitively), like Drupal's UserNameUnique / UserMailUnique constraints. Every
/// column in one statement (a subquery each, each through its own index); the first taken one
/// in `checks` order is the conflict.
async fn check_unique<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    checks: &[(BaseColumn, Option<&DbValue>)],
    except_uid: Option<u32>,
) -> Result<(), StoreError> {
    let table = site.tables().t(site.schema.data_table());
    let except = except_uid.map(i64::from).unwrap_or(-1);
    let mut parts: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut asked: Vec<(BaseColumn, &str)> = Vec::new();
    for (column, value) in checks {
        let Some(DbValue::Text(text)) = value else { continue };
        let Some(name) = site.schema.column_name(*column) else { continue };
        parts.push(format!("(SELECT `uid` FROM {table} WHERE `{name}` = ? AND `uid` <> ? LIMIT 1)"));
        params.extend([text.as_str().into(), except.into()]);
        asked.push((*column, text.as_str()));
    }
    if parts.is_empty() {
        return Ok(());
    }
    let row: Option<Row> = q.exec_first(format!("SELECT {}", parts.join(", ")), params).await?;
    let Some(mut row) = row else { return Ok(()) };
    for (i, (column, text)) in asked.into_iter().enumerate() {
        let holder: Option<u32> = take(&mut row, i, format_args!("{}.uid", site.schema.data_table()))?;
        if let Some(holder) = holder {
            return Err(taken(q, site, column, text, holder).await);
        }
    }
    Ok(())
}

/// The conflict of a name or mail that `holder` has: protected (never its uid), unlinked,
/// deleted through SCIM, or taken.
async fn taken<Q: Queryable>(q: &mut Q, site: &Site, column: BaseColumn, text: &str, holder: u32) -> StoreError {
    let what = if column == BaseColumn::Name { "user name" } else { "e-mail address" };
    let standing = match reach::standing_of(q, site, holder).await {
        Ok(standing) => standing,
        Err(e) => return e,
    };
    StoreError::Conflict(match standing {
        Some(Standing::Protected | Standing::Privileged { .. }) => {
            format!("the {what} {text:?} belongs to a protected Drupal account, which SCIM may never use or change")
        }
        Some(Standing::Unlinked) => format!(
            "the {what} {text:?} belongs to an existing Drupal account that SCIM has not linked; to adopt existing accounts, set [users] link_existing = \"link\" in drupal_mapping.toml"
        ),
        Some(Standing::Deleted) => format!(
            "the {what} {text:?} belongs to an account deleted through SCIM earlier (uid {holder}, blocked and kept in Drupal); delete or rename that account in Drupal to reuse it"
        ),
        Some(Standing::Reachable { .. }) | None => {
            format!("the {what} {text:?} is already taken by another Drupal account")
        }
    })
}

/// The columns of an account's own row on the site's account join (`Site::accounts_from`), in
/// the order `record_from_row` reads them.
fn record_columns(site: &Site) -> String {
    format!(
        "d.`uid`, {}, {}, d.`created`, {}, s.`external_id`, {}",
        site.schema.id_sql(),
        site.schema.value_langcode_sql(),
        site.schema.changed_sql(),
        site.schema.base_select()
    )
}

/// An account from a row of `record_columns()`, without its fields and roles yet. Columns
/// Drupal allows to be NULL (`changed`, the bridge's `external_id`, the base columns) are read
/// as absent; a NULL or odd value anywhere else is an error naming the column.
fn record_from_row(site: &Site, mut row: Row) -> Result<UserRecord, StoreError> {
    let data = site.schema.data_table();
    let uid: u32 = take(&mut row, 0, format_args!("{data}.uid"))?;
    let mut base = BTreeMap::new();
    for (i, column) in BaseColumn::READABLE.iter().enumerate() {
        let value: Value = take(&mut row, 6 + i, format_args!("{data}.{}", column.column()))?;
        base.insert(*column, db_value(value));
    }
    let id_column = site.schema.id_column();
    Ok(UserRecord {
        uid,
        uuid: take(&mut row, 1, id_column)?,
        langcode: take(&mut row, 2, format_args!("{data}.langcode"))?,
        created: take::<Option<i64>>(&mut row, 3, format_args!("{data}.created"))?.unwrap_or(0),
        changed: take::<Option<i64>>(&mut row, 4, format_args!("{data}.changed"))?.unwrap_or(0),
        external_id: take(&mut row, 5, "scim_user.external_id")?,
        base,
        fields: BTreeMap::new(),
        roles: Vec::new(),
    })
}

/// The record of an account a create has just written, built from what it wrote: what reading
/// it back would give, where the site's columns give values back exactly as written
/// (`Site::create_reads_back_written`) and every value has its column's kind (text, an integer
/// status). `None`: read it back.
fn written_record(
    site: &Site,
    uid: u32,
    uuid: &str,
    now: i64,
    values: &BTreeMap<BaseColumn, DbValue>,
    write: &UserWrite,
) -> Option<UserRecord> {
    if !site.create_reads_back_written {
        return None;
    }
    let mut base = BTreeMap::new();
    for column in BaseColumn::READABLE {
        let value = values.get(&column).cloned().unwrap_or(DbValue::Null);
        let kind_ok = match (&value, column) {
            (DbValue::Null, _) => true,
            (DbValue::Int(_), BaseColumn::Status) => true,
            (DbValue::Text(_), c) => c != BaseColumn::Status,
            (DbValue::Int(_), _) => false,
        };
        if !kind_ok {
            return None;
        }
        base.insert(column, value);
    }
    // A read finds the rows of the mapped fields only, and a field without rows not at all.
    let fields = write
        .fields
        .iter()
        .filter(|(field, values)| !values.is_empty() && site.fields.contains(field))
        .map(|(field, values)| (field.clone(), values.clone()))
        .collect();
    Some(UserRecord {
        uid,
        uuid: uuid.to_string(),
        langcode: site.langcode.clone(),
        created: now,
        changed: now,
        base,
        fields,
        // A new account holds no role.
        roles: Vec::new(),
        external_id: write.external_id.clone().flatten(),
    })
}

/// Load full records for uids (in the given order).
pub async fn load<Q: Queryable>(conn: &mut Q, site: &Site, uids: &[u32]) -> Result<Vec<UserRecord>, StoreError> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; uids.len()].join(", ");
    let sql =
        format!("SELECT {} FROM {} WHERE d.`uid` IN ({marks})", record_columns(site), site.schema.accounts_from());
    let rows = listed::rows(conn, sql, uids.iter().map(|u| Value::from(*u)).collect()).await?;
    let mut by_uid: BTreeMap<u32, UserRecord> = BTreeMap::new();
    for row in rows {
        let record = record_from_row(site, row)?;
        by_uid.insert(record.uid, record);
    }
    let records: Vec<UserRecord> = uids.iter().filter_map(|uid| by_uid.remove(uid)).collect();
    add_values(conn, site, records).await
}

/// Fill in the records' multi-value data: the mapped fields and the roles, in one statement
/// (one round trip instead of one per table): part k of the UNION reads field k, the last part
/// the roles.
async fn add_values<Q: Queryable>(
    conn: &mut Q,
    site: &Site,
    mut records: Vec<UserRecord>,
) -> Result<Vec<UserRecord>, StoreError> {
    if records.is_empty() {
        return Ok(records);
    }
    let uids: Vec<u32> = records.iter().map(|r| r.uid).collect();
    let marks = vec!["?"; uids.len()].join(", ");
    let roles_part = site.fields.len();
    let mut parts: Vec<String> = site
        .fields
        .iter()
        .enumerate()
        .map(|(k, field)| {
            let values = site.schema.field_values(field);
            format!(
                "SELECT {k} AS `k`, x.`{}`, {}, {}, {} AS `v` FROM {} x WHERE x.`{}` IN ({marks}) AND {}",
                values.owner,
                values.language,
                values.delta,
                values.value,
                values.table,
                values.owner,
                values.conditions
            )
        })
        .collect();
    let roles = site.schema.role_values();
    parts.push(format!(
        "SELECT {roles_part}, x.`{}`, {}, {}, {} FROM {} x WHERE x.`{}` IN ({marks}) AND {}",
        roles.owner, roles.language, roles.delta, roles.value, roles.table, roles.owner, roles.conditions
    ));
    let params: Vec<Value> = (0..parts.len()).flat_map(|_| uids.iter().map(|u| Value::from(*u))).collect();
    let read = listed::rows(conn, parts.join(" UNION ALL "), params).await?;
    let mut rows: Vec<(usize, u32, String, u32, String)> = Vec::with_capacity(read.len());
    for mut row in read {
        let k: usize = take(&mut row, 0, "the part of a field and role read")?;
        let column = |index| ValueColumn { site, part: k, index };
        let uid: u32 = take(&mut row, 1, column(1))?;
        let langcode: String = take(&mut row, 2, column(2))?;
        let delta: u32 = take(&mut row, 3, column(3))?;
        // Drupal 7's field value columns allow NULL: such a row holds no value (Drupal shows
        // none), and it is left where it is.
        let Some(value) = take::<Option<String>>(&mut row, 4, column(4))? else { continue };
        rows.push((k, uid, langcode, delta, value));
    }
    // Drupal's order: by delta within each account's field.
    rows.sort_by_key(|(k, uid, _, delta, _)| (*k, *uid, *delta));
    let index: BTreeMap<u32, usize> = records.iter().enumerate().map(|(i, r)| (r.uid, i)).collect();
    for (k, uid, langcode, _, value) in rows {
        let Some(record) = index.get(&uid).map(|i| &mut records[*i]) else { continue };
        // Drupal only reads rows in the account's own language.
        if record.langcode != langcode {
            continue;
        }
        match site.fields.get(k) {
            Some(field) => record.fields.entry(field.clone()).or_default().push(value),
            None => record.roles.push(value),
        }
    }
    Ok(records)
}

/// Names a column of the field and role read of `add_values` in errors: column `index` of part
/// `part` (field `part`, or the roles after the last field).
struct ValueColumn<'a> {
    site: &'a Site,
    part: usize,
    index: usize,
}

impl fmt::Display for ValueColumn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = match self.site.fields.get(self.part) {
            Some(field) => self.site.schema.field_values(field),
            None => self.site.schema.role_values(),
        };
        let column = match self.index {
            1 => values.owner,
            2 => values.language_column,
            3 => values.delta_column,
            _ => values.value_column.as_str(),
        };
        write!(f, "{}.{column}", values.name)
    }
}

/// What a count is called in errors.
const COUNT: &str = "the count of accounts";

fn db_value(value: Value) -> DbValue {
    match value {
        Value::NULL => DbValue::Null,
        Value::Int(i) => DbValue::Int(i),
        Value::UInt(u) => DbValue::Int(i64::try_from(u).unwrap_or(i64::MAX)),
        Value::Bytes(b) => DbValue::Text(String::from_utf8_lossy(&b).into_owned()),
        other => DbValue::Text(other.as_sql(true)),
    }
}
