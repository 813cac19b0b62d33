//! Role membership as set operations: grant or revoke one role for many accounts in a few
//! statements, never loading the whole member list. The rows themselves are the schema's
//! (`user__roles` with deltas on 8+, `users_roles` pairs on Drupal 7).

use crate::drupal::error::StoreError;
use crate::drupal::listed;
use crate::drupal::model::now;
use crate::drupal::rows::{self, take};
use crate::drupal::site::Site;
use mysql_async::prelude::*;
use mysql_async::{Row, Value};
use std::collections::BTreeSet;

/// Placeholders per statement when a list of ids is bound.
const CHUNK: usize = 500;

/// An account that can be a member, resolved from its SCIM id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub uuid: String,
    pub name: String,
    pub langcode: String,
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The visible accounts (not protected, not SCIM-deleted) among these SCIM ids.
pub async fn resolve<Q: Queryable>(q: &mut Q, site: &Site, uuids: &[String]) -> Result<Vec<Account>, StoreError> {
    resolve_accounts(q, site, uuids, false).await
}

/// The accounts a removal may reach among these SCIM ids: not protected, SCIM-deleted included
/// (Entra may delete a user before it removes the user from its groups; the role must still go).
pub async fn resolve_for_removal<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    uuids: &[String],
) -> Result<Vec<Account>, StoreError> {
    resolve_accounts(q, site, uuids, true).await
}

async fn resolve_accounts<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    uuids: &[String],
    with_hidden: bool,
) -> Result<Vec<Account>, StoreError> {
    let mut out = Vec::new();
    for chunk in uuids.chunks(CHUNK) {
        let mut params: Vec<Value> = Vec::new();
        let ids = site.schema.ids_condition(chunk, &mut params);
        let reach = site.reach_sql(with_hidden, &mut params);
        let sql = format!(
            "SELECT d.`uid`, {}, d.`name`, {} FROM {} WHERE {ids} AND {reach}",
            site.schema.id_sql(),
            site.schema.value_langcode_sql(),
            site.schema.accounts_from(),
        );
        for row in listed::rows(q, sql, params).await? {
            out.push(account(site, row)?);
        }
    }
    Ok(out)
}

/// Visible members of a role, ordered by uid.
pub async fn members<Q: Queryable>(q: &mut Q, site: &Site, role: &str) -> Result<Vec<Account>, StoreError> {
    let mut params: Vec<Value> = vec![role.into()];
    let reach = site.reach_sql(false, &mut params);
    let rows = site.schema.role_values();
    let sql = format!(
        "SELECT DISTINCT d.`uid`, {}, d.`name`, {} FROM {} x, {} \
         WHERE x.`{}` = d.`uid` AND {} = ? AND {} AND {} AND {reach} ORDER BY d.`uid`",
        site.schema.id_sql(),
        site.schema.value_langcode_sql(),
        rows.table,
        site.schema.accounts_from(),
        rows.owner,
        role_column(site),
        rows.conditions,
        site.schema.value_language_condition(true),
    );
    let rows: Vec<Row> = q.exec(sql, params).await?;
    rows.into_iter().map(|row| account(site, row)).collect()
}

/// An account from a row of uid, SCIM id, name and the language of its values.
fn account(site: &Site, mut row: Row) -> Result<Account, StoreError> {
    let data = site.schema.data_table();
    Ok(Account {
        uid: take(&mut row, 0, format_args!("{data}.uid"))?,
        uuid: take(&mut row, 1, site.schema.id_column())?,
        name: take(&mut row, 2, format_args!("{data}.name"))?,
        langcode: take(&mut row, 3, format_args!("{data}.langcode"))?,
    })
}

/// Lock the accounts' `users_field_data` rows (in uid order) before their `user__roles` rows are
/// read or rewritten, as every account write locks that row first: a concurrent deactivation or
/// delete of the same account has then either committed (and its rows are what this reads) or
/// waits. Plain reads alone see the last committed rows: a grant computed its delta from rows a
/// concurrent renumbering was replacing (leaving a gap), or granted a role to an account a
/// concurrent delete was removing (an orphan row). Returns the uids that still exist.
async fn lock_accounts<Q: Queryable>(q: &mut Q, site: &Site, uids: &[u32]) -> Result<BTreeSet<u32>, StoreError> {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = BTreeSet::new();
    for chunk in sorted.chunks(CHUNK) {
        let params: Vec<Value> = chunk.iter().map(|u| Value::from(*u)).collect();
        let sql = format!(
            "SELECT `uid` FROM {} WHERE `uid` IN ({}) ORDER BY `uid` FOR UPDATE",
            site.tables().t(site.schema.data_table()),
            marks(chunk.len())
        );
        for mut row in listed::rows(q, sql, params).await? {
            out.insert(take(&mut row, 0, format_args!("{}.uid", site.schema.data_table()))?);
        }
    }
    Ok(out)
}

/// Which of these uids hold the role.
async fn holders<Q: Queryable>(q: &mut Q, site: &Site, role: &str, uids: &[u32]) -> Result<BTreeSet<u32>, StoreError> {
    let mut out = BTreeSet::new();
    for chunk in uids.chunks(CHUNK) {
        let mut params: Vec<Value> = vec![role.into()];
        params.extend(chunk.iter().map(|u| Value::from(*u)));
        let rows = site.schema.role_values();
        let sql = format!(
            "SELECT DISTINCT x.`{}` FROM {} x WHERE {} = ? AND {} AND x.`{}` IN ({})",
            rows.owner,
            rows.table,
            role_column(site),
            rows.conditions,
            rows.owner,
            marks(chunk.len())
        );
        for mut row in listed::rows(q, sql, params).await? {
            out.insert(take(&mut row, 0, RoleOwner(site))?);
        }
    }
    Ok(out)
}

/// Give the role to accounts that lack it. Returns the uids that changed.
pub async fn grant<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    role: &str,
    accounts: &[Account],
) -> Result<Vec<u32>, StoreError> {
    let uids: Vec<u32> = accounts.iter().map(|a| a.uid).collect();
    // An account deleted since it was resolved gets nothing.
    let live = lock_accounts(q, site, &uids).await?;
    let have = holders(q, site, role, &uids).await?;
    let mut seen = BTreeSet::new();
    let todo: Vec<&Account> =
        accounts.iter().filter(|a| live.contains(&a.uid) && !have.contains(&a.uid) && seen.insert(a.uid)).collect();
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let mut changed = Vec::new();
    for chunk in todo.chunks(CHUNK) {
        let accounts: Vec<(u32, &str)> = chunk.iter().map(|a| (a.uid, a.langcode.as_str())).collect();
        site.schema.insert_assignments(q, role, &accounts).await?;
        changed.extend(chunk.iter().map(|a| a.uid));
    }
    touch(q, site, &changed).await?;
    Ok(changed)
}

/// The owner column of the assignment rows, named in errors.
struct RoleOwner<'a>(&'a Site);

impl std::fmt::Display for RoleOwner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = self.0.schema.role_values();
        write!(f, "{}.{}", rows.name, rows.owner)
    }
}

/// The role column of the assignment rows on alias `x`.
fn role_column(site: &Site) -> &'static str {
    site.schema.role_id_sql()
}

/// Delete the assignment rows of `roles` (one role id, or several) for `uids`.
async fn delete_assignments<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    roles: &[&str],
    uids: &[u32],
) -> Result<(), StoreError> {
    let rows = site.schema.role_values();
    for chunk in uids.chunks(CHUNK) {
        let mut params: Vec<Value> = roles.iter().map(|r| Value::from(*r)).collect();
        params.extend(chunk.iter().map(|u| Value::from(*u)));
        let sql = format!(
            "DELETE x FROM {} x WHERE {} IN ({}) AND x.`{}` IN ({})",
            rows.table,
            role_column(site),
            marks(roles.len()),
            rows.owner,
            marks(chunk.len())
        );
        listed::run(q, sql, params).await?;
    }
    Ok(())
}

/// Take the role from these accounts (those that have it). Returns the uids that changed.
pub async fn revoke<Q: Queryable>(q: &mut Q, site: &Site, role: &str, uids: &[u32]) -> Result<Vec<u32>, StoreError> {
    lock_accounts(q, site, uids).await?;
    let have: Vec<u32> = holders(q, site, role, uids).await?.into_iter().collect();
    delete_assignments(q, site, &[role], &have).await?;
    renumber(q, site, &have).await?;
    touch(q, site, &have).await?;
    Ok(have)
}

/// Take the role from every account SCIM may change. Returns the uids that changed.
pub async fn revoke_all<Q: Queryable>(q: &mut Q, site: &Site, role: &str) -> Result<Vec<u32>, StoreError> {
    let uids = changeable_holders(q, site, role).await?;
    revoke(q, site, role, &uids).await
}

/// Every account SCIM may change that holds the role: visible or deleted through SCIM (hidden
/// accounts still hold what SCIM granted them), never a protected, privileged or (unless
/// linking is on) unlinked one.
pub async fn changeable_holders<Q: Queryable>(q: &mut Q, site: &Site, role: &str) -> Result<Vec<u32>, StoreError> {
    let mut params: Vec<Value> = vec![role.into()];
    let reach = site.reach_sql(true, &mut params);
    let rows = site.schema.role_values();
    let sql = format!(
        "SELECT DISTINCT d.`uid` FROM {} x, {} WHERE x.`{}` = d.`uid` AND {} = ? AND {reach}",
        rows.table,
        site.schema.accounts_from(),
        rows.owner,
        role_column(site),
    );
    rows::column(q, sql, params, RoleOwner(site)).await
}

/// Take several roles from one account.
pub async fn revoke_roles_of<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    uid: u32,
    roles: &[String],
) -> Result<(), StoreError> {
    if roles.is_empty() {
        return Ok(());
    }
    lock_accounts(q, site, &[uid]).await?;
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    delete_assignments(q, site, &roles, &[uid]).await?;
    renumber(q, site, &[uid]).await
}

/// Take the role from every account that holds it, protected ones included: only for a role
/// that is being deleted. Returns the uids that changed.
pub async fn revoke_from_all_holders<Q: Queryable>(q: &mut Q, site: &Site, role: &str) -> Result<Vec<u32>, StoreError> {
    let rows = site.schema.role_values();
    let sql = format!("SELECT DISTINCT x.`{}` FROM {} x WHERE {} = ?", rows.owner, rows.table, role_column(site));
    let uids: Vec<u32> = rows::column(q, sql, (role,), RoleOwner(site)).await?;
    revoke(q, site, role, &uids).await
}

/// Close the gaps a removal leaves in these accounts' assignment rows (deltas 0..n-1 on 8+).
pub async fn renumber<Q: Queryable>(q: &mut Q, site: &Site, uids: &[u32]) -> Result<(), StoreError> {
    for chunk in uids.chunks(CHUNK) {
        site.schema.renumber(q, chunk).await?;
    }
    Ok(())
}

/// A role change is an account change for Drupal: bump `changed`.
async fn touch<Q: Queryable>(q: &mut Q, site: &Site, uids: &[u32]) -> Result<(), StoreError> {
    if !site.schema.has_changed_column() {
        return Ok(());
    }
    let now = now();
    for chunk in uids.chunks(CHUNK) {
        let mut params: Vec<Value> = vec![now.into()];
        params.extend(chunk.iter().map(|u| Value::from(*u)));
        let sql = format!(
            "UPDATE {} SET `changed` = ? WHERE `uid` IN ({})",
            site.tables().t(site.schema.data_table()),
            marks(chunk.len())
        );
        listed::run(q, sql, params).await?;
    }
    Ok(())
}
