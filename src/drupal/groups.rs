//! SCIM Groups over Drupal roles: the bridge table `scim_group` says which role a group stands
//! for; roles and membership are written through `roles` and `membership`, one transaction per
//! request, caches invalidated after the commit.

use crate::drupal::after_commit;
use crate::drupal::cache::Invalidation;
use crate::drupal::db::{Db, retrying};
use crate::drupal::error::StoreError;
use crate::drupal::locks;
use crate::drupal::membership::{self, Account};
use crate::drupal::model::now;
use crate::drupal::roles::{self, Role};
use crate::drupal::rows::{self, take};
use crate::drupal::site::Site;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row, TxOpts};
use std::sync::Arc;

/// One SCIM group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: String,
    /// The role it grants; None for a group accepted with `unmapped = "ignore"`.
    pub role_id: Option<String>,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_by_scim: bool,
    pub created: i64,
    pub changed: i64,
    /// Bumped by every change, membership included: what the group's ETag is made of.
    pub revision: u32,
}

/// Where a new group lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupTarget {
    /// An existing role named by the mapping.
    ExistingRole(String),
    /// A new role, labelled with the displayName.
    NewRole,
    /// No role: the group is kept but grants nothing.
    Nothing,
}

/// A membership change, by SCIM user ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    /// Make the members exactly these.
    Set(Vec<String>),
}

/// What an update of a group writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupWrite {
    pub display_name: Option<String>,
    pub external_id: Option<Option<String>>,
    pub members: Vec<MemberChange>,
}

/// The group store of one Drupal site.
#[derive(Clone)]
pub struct GroupStore {
    db: Db,
    site: Arc<Site>,
    protected_roles: Arc<Vec<String>>,
}

/// Serialises group writes: display names must stay unique and role weights sequential.
const GROUP_LOCK: &str = "groups";

/// A group from a bridge row (`group_id`, `role_id`, `display_name`, `external_id`,
/// `created_by_scim`, `created`, `changed`, `revision`, in that order).
fn record(mut row: Row) -> Result<GroupRecord, StoreError> {
    Ok(GroupRecord {
        id: take(&mut row, 0, "scim_group.group_id")?,
        role_id: take(&mut row, 1, "scim_group.role_id")?,
        display_name: take(&mut row, 2, "scim_group.display_name")?,
        external_id: take(&mut row, 3, "scim_group.external_id")?,
        created_by_scim: take::<i8>(&mut row, 4, "scim_group.created_by_scim")? == 1,
        created: take(&mut row, 5, "scim_group.created")?,
        changed: take(&mut row, 6, "scim_group.changed")?,
        revision: take(&mut row, 7, "scim_group.revision")?,
    })
}

impl GroupStore {
    /// A store over `db` for `site`; `protected_roles` are never SCIM groups.
    pub fn new(db: Db, site: Arc<Site>, protected_roles: Vec<String>) -> Self {
        GroupStore { db, site, protected_roles: Arc::new(protected_roles) }
    }

    /// Protected: listed in the mapping, built in, or flagged as an administrator role in Drupal
    /// (whatever its name, a role with every permission is never SCIM's to grant).
    fn is_protected(&self, role: &Role) -> bool {
        role.is_privileged() || self.protected_roles.contains(&role.id) || roles::is_built_in(&self.site, &role.id)
    }

    /// Every role of the site.
    pub async fn roles(&self) -> Result<Vec<Role>, StoreError> {
        let mut conn = self.db.conn().await?;
        roles::list_roles(&mut *conn, &self.site).await
    }

    /// Visible groups: linked, not deleted, their role still there and not protected.
    pub async fn list(&self) -> Result<Vec<GroupRecord>, StoreError> {
        let mut conn = self.db.conn().await?;
        self.visible(&mut *conn).await
    }

    async fn visible<Q: Queryable>(&self, q: &mut Q) -> Result<Vec<GroupRecord>, StoreError> {
        let all_roles = roles::list_roles(q, &self.site).await?;
        let sql = format!(
            "SELECT `group_id`, `role_id`, `display_name`, `external_id`, `created_by_scim`, `created`, `changed`, `revision` \
             FROM {} WHERE `deleted` = 0 ORDER BY `created`, `group_id`",
            self.site.tables().t("scim_group")
        );
        let rows: Vec<Row> = q.exec(sql, ()).await?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in rows {
            let group = record(row)?;
            let visible = match &group.role_id {
                Some(role) => all_roles.iter().any(|r| &r.id == role && !self.is_protected(r)),
                None => true,
            };
            if visible {
                groups.push(group);
            }
        }
        Ok(groups)
    }

    /// A visible group by id.
    pub async fn get(&self, id: &str) -> Result<Option<GroupRecord>, StoreError> {
        Ok(self.list().await?.into_iter().find(|g| g.id == id))
    }

    /// The visible members of a group (none for a group that grants nothing).
    pub async fn members(&self, group: &GroupRecord) -> Result<Vec<Account>, StoreError> {
        let Some(role) = &group.role_id else { return Ok(Vec::new()) };
        let mut conn = self.db.conn().await?;
        membership::members(&mut *conn, &self.site, role).await
    }

    /// Create a group (and its role when `target` says so), with its initial members.
    pub async fn create(
        &self,
        display_name: &str,
        external_id: Option<&str>,
        target: &GroupTarget,
        members: &[String],
    ) -> Result<GroupRecord, StoreError> {
        let mut conn = self.db.conn().await?;
        if let GroupTarget::ExistingRole(role) = target {
            let all = roles::list_roles(&mut *conn, &self.site).await?;
            let protected = all.iter().find(|r| &r.id == role).is_some_and(|r| self.is_protected(r))
                || self.protected_roles.iter().any(|r| r == role);
            if protected {
                return Err(StoreError::Protected(format!("role {role:?} is protected and cannot be a SCIM group")));
            }
        }
        self.lock(&mut conn).await?;
        let result = retrying!(self.create_tx(&mut conn, display_name, external_id, target, members).await);
        unlock(&mut conn, &self.site).await;
        let (group, changed_uids, created_role) = result?;
        let role = group.role_id.as_deref().filter(|_| created_role);
        self.invalidate(conn, role.map(|r| self.site.schema.role_changed(r, true, false)), &changed_uids).await;
        Ok(group)
    }

    async fn create_tx(
        &self,
        conn: &mut Conn,
        display_name: &str,
        external_id: Option<&str>,
        target: &GroupTarget,
        members: &[String],
    ) -> Result<(GroupRecord, Vec<u32>, bool), StoreError> {
        let t = self.site.tables();
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        self.check_display_name(&mut tx, display_name, None).await?;
        let all_roles = roles::list_roles(&mut tx, &self.site).await?;
        let mut revived_role = false;
        let (group_id, role_id, created_role) = match target {
            GroupTarget::ExistingRole(role) => {
                if !all_roles.iter().any(|r| &r.id == role) {
                    return Err(StoreError::Invalid(format!(
                        "drupal_mapping.toml maps this group to role {role:?}, which does not exist"
                    )));
                }
                (role.clone(), Some(role.clone()), false)
            }
            GroupTarget::NewRole => {
                if let Some(r) = all_roles.iter().find(|r| r.label.to_lowercase() == display_name.to_lowercase()) {
                    // A group deleted through SCIM keeps the role it created; when it comes back
                    // (Entra re-scoping it), it takes that role again instead of failing forever.
                    let sql = format!(
                        "SELECT COUNT(*) FROM {} WHERE `group_id` = ? AND `role_id` = ? AND `deleted` = 1 AND `created_by_scim` = 1",
                        t.t("scim_group")
                    );
                    let kept =
                        rows::first::<i64, _>(&mut tx, sql, (&r.id, &r.id), "a count of scim_group rows").await?;
                    if kept.unwrap_or(0) == 0 {
                        return Err(StoreError::Conflict(format!(
                            "a Drupal role labelled {:?} ({}) already exists; to let this group grant it, add a [[groups.map]] entry for it in drupal_mapping.toml",
                            r.label, r.id
                        )));
                    }
                    revived_role = true;
                    (r.id.clone(), Some(r.id.clone()), false)
                } else {
                    let taken: Vec<String> = all_roles.iter().map(|r| r.id.clone()).collect();
                    let id = roles::create_role(&mut tx, &self.site, display_name, &taken).await?.id;
                    (id.clone(), Some(id), true)
                }
            }
            GroupTarget::Nothing => (uuid::Uuid::new_v4().to_string(), None, false),
        };
        // A group that was deleted earlier and now comes back takes its old row. So does a row
        // left behind by a role an admin deleted in Drupal: that group is gone for SCIM already.
        let sql = format!("SELECT `role_id` FROM {} WHERE `group_id` = ? AND `deleted` = 0", t.t("scim_group"));
        let live = rows::first::<Option<String>, _>(&mut tx, sql, (&group_id,), "scim_group.role_id").await?;
        if let Some(live_role) = live {
            // `all_roles` was read before this request created any role.
            let role_gone = live_role.as_ref().is_some_and(|lr| !all_roles.iter().any(|r| &r.id == lr));
            if !role_gone {
                return Err(StoreError::Conflict(format!(
                    "role {group_id:?} is already the Drupal side of another SCIM group"
                )));
            }
        }
        let by_scim = created_role || revived_role;
        let now = now();
        tx.exec_drop(
            format!(
                "INSERT INTO {} (`group_id`, `role_id`, `display_name`, `external_id`, `created_by_scim`, `deleted`, `created`, `changed`) \
                 VALUES (?, ?, ?, ?, ?, 0, ?, ?) ON DUPLICATE KEY UPDATE `role_id` = VALUES(`role_id`), \
                 `display_name` = VALUES(`display_name`), `external_id` = VALUES(`external_id`), \
                 `created_by_scim` = VALUES(`created_by_scim`), `deleted` = 0, `changed` = VALUES(`changed`), \
                 `revision` = `revision` + 1",
                t.t("scim_group")
            ),
            (&group_id, &role_id, display_name, external_id, i8::from(by_scim), now, now),
        )
        .await?;
        let mut changed = Vec::new();
        if let Some(role) = &role_id {
            changed = self.apply_members(&mut tx, role, &[MemberChange::Add(members.to_vec())]).await?;
        } else {
            self.resolve_all(&mut tx, members).await?;
        }
        self.db.finish(tx).await?;
        let group = GroupRecord {
            id: group_id,
            role_id,
            display_name: display_name.to_string(),
            external_id: external_id.map(String::from),
            created_by_scim: by_scim,
            created: now,
            changed: now,
            revision: 0,
        };
        Ok((group, changed, created_role))
    }

    /// Update a group: rename, externalId, membership, all in one transaction.
    pub async fn update(&self, group: &GroupRecord, write: &GroupWrite) -> Result<GroupRecord, StoreError> {
        let mut conn = self.db.conn().await?;
        self.lock(&mut conn).await?;
        let result = retrying!(self.update_tx(&mut conn, group, write).await);
        unlock(&mut conn, &self.site).await;
        let (updated, changed_uids, relabelled) = result?;
        let role = group.role_id.as_deref().filter(|_| relabelled);
        self.invalidate(conn, role.map(|r| self.site.schema.role_changed(r, false, false)), &changed_uids).await;
        Ok(updated)
    }

    async fn update_tx(
        &self,
        conn: &mut Conn,
        group: &GroupRecord,
        write: &GroupWrite,
    ) -> Result<(GroupRecord, Vec<u32>, bool), StoreError> {
        let t = self.site.tables();
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        let mut updated = group.clone();
        let mut relabelled = false;
        let now = now();
        if let Some(name) = write.display_name.as_ref().filter(|n| **n != group.display_name) {
            self.check_display_name(&mut tx, name, Some(group)).await?;
            if let (Some(role), true) = (&group.role_id, group.created_by_scim) {
                // The role drupal-scim created carries the group's name as its label.
                roles::relabel_role(&mut tx, &self.site, role, name).await?;
                relabelled = true;
            }
            updated.display_name = name.clone();
        }
        if let Some(ext) = &write.external_id {
            updated.external_id = ext.clone();
        }
        let changed = match &group.role_id {
            Some(role) => self.apply_members(&mut tx, role, &write.members).await?,
            None => {
                // Validated as for any group: unknown ids fail additions; removals never fail.
                for change in &write.members {
                    if let MemberChange::Add(ids) | MemberChange::Set(ids) = change {
                        self.resolve_all(&mut tx, ids).await?;
                    }
                }
                Vec::new()
            }
        };
        if updated != *group || !changed.is_empty() {
            updated.changed = now;
            updated.revision += 1;
            tx.exec_drop(
                format!(
                    "UPDATE {} SET `display_name` = ?, `external_id` = ?, `changed` = ?, `revision` = `revision` + 1 WHERE `group_id` = ?",
                    t.t("scim_group")
                ),
                (&updated.display_name, &updated.external_id, now, &group.id),
            )
            .await?;
        }
        self.db.finish(tx).await?;
        Ok((updated, changed, relabelled))
    }

    /// Delete a group: memberships go; the role goes only when drupal-scim created it and
    /// `delete_role` is set.
    pub async fn delete(&self, group: &GroupRecord, delete_role: bool) -> Result<(), StoreError> {
        let mut conn = self.db.conn().await?;
        self.lock(&mut conn).await?;
        let drop_role = delete_role && group.created_by_scim;
        let result = retrying!(self.delete_tx(&mut conn, group, drop_role).await);
        unlock(&mut conn, &self.site).await;
        let changed = result?;
        let role = group.role_id.as_deref().filter(|_| drop_role);
        self.invalidate(conn, role.map(|r| self.site.schema.role_changed(r, false, true)), &changed).await;
        Ok(())
    }

    async fn delete_tx(&self, conn: &mut Conn, group: &GroupRecord, drop_role: bool) -> Result<Vec<u32>, StoreError> {
        let t = self.site.tables();
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        let mut changed = Vec::new();
        if let Some(role) = &group.role_id {
            changed = membership::revoke_all(&mut tx, &self.site, role).await?;
            if drop_role {
                // The role goes for everyone, protected accounts included (as in Drupal);
                // take it from them here so their deltas stay 0..n-1 too.
                changed.extend(membership::revoke_from_all_holders(&mut tx, &self.site, role).await?);
                roles::delete_role(&mut tx, &self.site, role).await?;
            }
        }
        let sql = if drop_role {
            format!("DELETE FROM {} WHERE `group_id` = ?", t.t("scim_group"))
        } else {
            format!("UPDATE {} SET `deleted` = 1 WHERE `group_id` = ?", t.t("scim_group"))
        };
        tx.exec_drop(sql, (&group.id,)).await?;
        self.db.finish(tx).await?;
        Ok(changed)
    }

    async fn apply_members<Q: Queryable>(
        &self,
        q: &mut Q,
        role: &str,
        changes: &[MemberChange],
    ) -> Result<Vec<u32>, StoreError> {
        let mut changed: Vec<u32> = Vec::new();
        for change in changes {
            let uids = match change {
                MemberChange::Add(ids) => {
                    let accounts = self.resolve_all(q, ids).await?;
                    membership::grant(q, &self.site, role, &accounts).await?
                }
                MemberChange::Remove(ids) => {
                    // Removing someone who is not (or no longer) a member is a no-op, not an error.
                    let accounts = membership::resolve_for_removal(q, &self.site, ids).await?;
                    let uids: Vec<u32> = accounts.iter().map(|a| a.uid).collect();
                    membership::revoke(q, &self.site, role, &uids).await?
                }
                MemberChange::Set(ids) => {
                    let accounts = self.resolve_all(q, ids).await?;
                    let keep: Vec<u32> = accounts.iter().map(|a| a.uid).collect();
                    // Everyone else loses the role, accounts deleted through SCIM included.
                    let current = membership::changeable_holders(q, &self.site, role).await?;
                    let gone: Vec<u32> = current.into_iter().filter(|u| !keep.contains(u)).collect();
                    let mut uids = membership::revoke(q, &self.site, role, &gone).await?;
                    uids.extend(membership::grant(q, &self.site, role, &accounts).await?);
                    uids
                }
            };
            changed.extend(uids);
        }
        changed.sort_unstable();
        changed.dedup();
        Ok(changed)
    }

    /// Resolve member ids; any unknown id fails the whole request (nothing is written).
    async fn resolve_all<Q: Queryable>(&self, q: &mut Q, ids: &[String]) -> Result<Vec<Account>, StoreError> {
        let accounts = membership::resolve(q, &self.site, ids).await?;
        if let Some(missing) = ids.iter().find(|id| !accounts.iter().any(|a| a.uuid.eq_ignore_ascii_case(id))) {
            return Err(StoreError::Invalid(format!("members: there is no user with id {missing:?}")));
        }
        Ok(accounts)
    }

    /// displayName must be unique among SCIM groups (Entra matches groups on it).
    async fn check_display_name<Q: Queryable>(
        &self,
        q: &mut Q,
        name: &str,
        except: Option<&GroupRecord>,
    ) -> Result<(), StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("displayName is required".into()));
        }
        if name.chars().count() > 255 {
            return Err(StoreError::Invalid("displayName is longer than 255 characters".into()));
        }
        let others = self.visible(q).await?;
        if let Some(other) = others
            .iter()
            .find(|g| g.display_name.to_lowercase() == name.to_lowercase() && except.is_none_or(|e| e.id != g.id))
        {
            return Err(StoreError::Conflict(format!(
                "the group {:?} already exists (id {})",
                other.display_name, other.id
            )));
        }
        if let Some(role) = except.and_then(|g| g.created_by_scim.then_some(g.role_id.as_ref()).flatten()) {
            let all = roles::list_roles(q, &self.site).await?;
            if let Some(r) = all.iter().find(|r| &r.id != role && r.label.to_lowercase() == name.to_lowercase()) {
                return Err(StoreError::Conflict(format!(
                    "a Drupal role labelled {:?} ({}) already exists",
                    r.label, r.id
                )));
            }
        }
        Ok(())
    }

    /// The caches after a group write: the role's (if it was created, renamed or deleted) and
    /// those of the accounts whose roles changed. No account changed (Entra re-adds every
    /// member each cycle) means nothing for them: bumping `user_list` and `4xx-response` anyway
    /// would flush the People page and every cached 404/403 page on every sync.
    async fn invalidate(&self, conn: crate::drupal::db::Pooled, role: Option<Invalidation>, uids: &[u32]) {
        let plan = role.unwrap_or_default().and(self.site.schema.user_saved(uids, false));
        after_commit::invalidate(&self.db, self.site.tables(), Some(conn), plan).await;
    }

    async fn lock(&self, conn: &mut Conn) -> Result<(), StoreError> {
        // A request cancelled while holding the lock: the pool's reset releases it (locks.rs).
        conn.reset_connection(true);
        if locks::lock(conn, self.site.tables(), GROUP_LOCK, self.db.timeout()).await? {
            Ok(())
        } else {
            Err(StoreError::Unavailable("timed out waiting for a concurrent group change".into()))
        }
    }
}

async fn unlock(conn: &mut Conn, site: &Site) {
    match locks::unlock(conn, site.tables(), GROUP_LOCK).await {
        Ok(()) => conn.reset_connection(false),
        Err(e) => log::warn!("releasing the group lock failed: {e}"),
    }
}
