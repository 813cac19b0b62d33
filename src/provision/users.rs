//! SCIM Users over Drupal accounts.

use crate::drupal::audit::{Audit, Entry, OnceEach, Severity};
use crate::drupal::error::StoreError;
use crate::drupal::groups::{GroupRecord, GroupStore};
use crate::drupal::model::{BaseColumn, Cmp, DbValue, Sort, UserColumn, UserQuery, UserRecord, UserWrite};
use crate::drupal::reach::Standing;
use crate::drupal::users::UserStore;
use crate::mapping::model::{Deprovision, LinkExisting, Mapping, Target};
use crate::mapping::query::{user_query, user_sort};
use crate::mapping::users::{GroupRef, diff, from_resource, to_resource};
use crate::scim::cursor::{CursorKey, scope};
use crate::scim::error::ScimError;
use crate::scim::error::ScimType;
use crate::scim::list::ListQuery;
use crate::scim::page::{PageWriter, Paging, Resources};
use crate::scim::patch;
use crate::scim::projection::Projection;
use crate::scim::resource::from_body;
use crate::scim::schema::USER_RESOURCE;
use crate::scim::version::check_if_match;
use serde_json::Value;
use std::sync::Arc;

/// The Users endpoint's logic.
#[derive(Clone)]
pub struct UserService {
    pub mapping: Arc<Mapping>,
    pub store: UserStore,
    /// For the read-only `groups` attribute.
    pub groups: GroupStore,
    pub cursors: CursorKey,
    pub audit: Audit,
    /// Accounts already reported as gone out of reach.
    out_of_reach: OnceEach,
}

/// An audit entry about one account.
fn entry(severity: Severity, message: &'static str, record: &UserRecord, more: &[(&'static str, String)]) -> Entry {
    let mut variables = vec![("%name", record.get(BaseColumn::Name).as_text().unwrap_or_default().to_string())];
    variables.extend(more.iter().cloned());
    Entry { severity, message, variables, uid: record.uid, link: Some(format!("/user/{}/edit", record.uid)) }
}

/// What a DELETE did in Drupal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Blocked,
    Removed,
    /// `delete_if_no_content` found content: the account was blocked instead.
    BlockedOwnsContent(String),
}

/// What a create answered: the resource, and whether it already existed (idempotent re-POST).
pub struct Created {
    pub resource: Value,
    pub existed: bool,
}

impl UserService {
    /// A service over a store with a mapping.
    pub fn new(mapping: Arc<Mapping>, store: UserStore, groups: GroupStore, cursors: CursorKey, audit: Audit) -> Self {
        UserService { mapping, store, groups, cursors, audit, out_of_reach: OnceEach::default() }
    }

    /// Write `changes` to an existing account (with the deactivation policy), and record it.
    /// `conditional`: the client's If-Match was checked against `current`.
    async fn save(
        &self,
        current: &UserRecord,
        mut changes: UserWrite,
        conditional: bool,
    ) -> Result<UserRecord, ScimError> {
        self.apply_deactivation(current, &mut changes).await?;
        let (record, linked) = self.store.update(current, &changes, conditional).await?;
        if linked {
            self.audit
                .record(entry(
                    Severity::Notice,
                    "Linked the existing account %name to SCIM (externalId @ext): its first SCIM write, with link_existing = \"link\".",
                    &record,
                    &[("@ext", record.external_id.clone().unwrap_or_default())],
                ))
                .await;
        }
        let names = self.changed_attributes(&changes);
        let status = changes.base.get(&BaseColumn::Status);
        if status == Some(&DbValue::Int(0)) {
            self.audit.record(entry(Severity::Notice, "Blocked account %name through SCIM.", &record, &[])).await;
        } else if status == Some(&DbValue::Int(1)) {
            self.audit.record(entry(Severity::Notice, "Unblocked account %name through SCIM.", &record, &[])).await;
        }
        if !names.is_empty() && !linked {
            self.audit
                .record(entry(
                    Severity::Info,
                    "Updated account %name through SCIM: @changes.",
                    &record,
                    &[("@changes", names.join(", "))],
                ))
                .await;
        }
        Ok(record)
    }

    /// The SCIM names of what a write changes (never values: they may be personal data).
    fn changed_attributes(&self, changes: &UserWrite) -> Vec<String> {
        let mut names: Vec<String> = self
            .mapping
            .users
            .attributes
            .iter()
            .filter(|m| match &m.target {
                Target::Column(BaseColumn::Status) => false,
                Target::Column(BaseColumn::Pass) => changes.password.is_some(),
                Target::Column(c) => changes.base.contains_key(c),
                Target::Field(f) => changes.fields.contains_key(f),
            })
            .map(|m| m.scim_text.clone())
            .collect();
        if changes.external_id.is_some() {
            names.push("externalId".into());
        }
        if !changes.revoke_roles.is_empty() {
            names.push(format!("roles removed ({})", changes.revoke_roles.join(", ")));
        }
        names
    }

    /// The resource of one account; `groups` are the visible SCIM groups (read once per request).
    fn render(&self, record: &UserRecord, base: &str, groups: &[GroupRecord]) -> Value {
        let refs: Vec<GroupRef> = groups
            .iter()
            .filter(|g| g.role_id.as_ref().is_some_and(|r| record.roles.contains(r)))
            .map(|g| GroupRef { id: g.id.clone(), display: g.display_name.clone() })
            .collect();
        to_resource(&self.mapping, record, &format!("{base}/Users/{}", record.uuid), &refs)
    }

    async fn render_one(&self, record: &UserRecord, base: &str) -> Result<Value, ScimError> {
        let groups = if record.roles.is_empty() { Vec::new() } else { self.groups.list().await? };
        Ok(self.render(record, base, &groups))
    }

    /// Render a page's records, projected, into `out`, one at a time.
    fn render_into<R: Resources>(
        &self,
        records: &[UserRecord],
        base: &str,
        groups: &[GroupRecord],
        projection: &Projection,
        out: &mut R,
    ) {
        out.expect(records.len());
        for record in records {
            out.add(projection.apply(self.render(record, base, groups)));
        }
    }

    /// Whether rendering these records needs the groups: only a group whose role an account
    /// holds shows in its `groups`, so accounts without roles (every new one) need no look.
    fn needs_groups(records: &[UserRecord], projection: &Projection) -> bool {
        !projection.excludes("groups") && records.iter().any(|r| !r.roles.is_empty())
    }

    /// The account a request names, if SCIM may reach it. An account SCIM managed that has
    /// since been given a privileged role in Drupal is out of reach: said once in the audit log.
    async fn current(&self, id: &str) -> Result<UserRecord, ScimError> {
        if let Some(record) = self.store.get(id).await? {
            return Ok(record);
        }
        if let Some((uid, Standing::Privileged { linked: true })) = self.store.standing_by_id(id).await?
            && self.out_of_reach.first_time(uid)
        {
            self.audit
                .record(Entry {
                    severity: Severity::Warning,
                    message: "Account @uid now holds a protected role in Drupal: SCIM can no longer see or change it.",
                    variables: vec![("@uid", uid.to_string())],
                    uid,
                    link: Some(format!("/user/{uid}/edit")),
                })
                .await;
        }
        Err(ScimError::not_found(format!("User {id:?} not found")))
    }

    /// `GET /Users`: the ListResponse as JSON text, each resource serialised as soon as it is
    /// rendered (`scim::page`), so a page never holds all its resources as trees at once.
    pub async fn list(&self, query: &ListQuery, base: &str) -> Result<Vec<u8>, ScimError> {
        let mut page = PageWriter::new();
        let (total, paging) = self.list_into(query, base, &mut page).await?;
        Ok(page.finish(total, &paging))
    }

    /// A list's total and resources as values, for the root `/.search`, which merges the
    /// Users' and the Groups' lists into one.
    pub async fn list_values(&self, query: &ListQuery, base: &str) -> Result<(u64, Vec<Value>), ScimError> {
        let mut resources = Vec::new();
        let (total, _) = self.list_into(query, base, &mut resources).await?;
        Ok((total, resources))
    }

    /// Render a list's resources one by one into `out`: its total and how it is paged.
    async fn list_into<R: Resources + Send>(
        &self,
        query: &ListQuery,
        base: &str,
        out: &mut R,
    ) -> Result<(u64, Paging), ScimError> {
        let filter = match &query.filter {
            Some(f) => user_query(&self.mapping, f)?,
            None => UserQuery::True,
        };
        let projection = Projection::new(&query.attributes, &query.excluded_attributes);
        if let Some(cursor) = &query.cursor {
            return self.list_by_cursor(&filter, cursor, query, &projection, base, out).await;
        }
        let sort = user_sort(&self.mapping, query.sort_by.as_deref(), query.descending)?;
        let page = self.store.search(&filter, sort.as_ref(), query.offset(), query.count).await?;
        let groups =
            if Self::needs_groups(&page.records, &projection) { self.groups.list().await? } else { Vec::new() };
        self.render_into(&page.records, base, &groups, &projection, out);
        Ok((page.total, Paging::Index(query.start_index)))
    }

    async fn list_by_cursor<R: Resources + Send>(
        &self,
        filter: &UserQuery,
        cursor: &str,
        query: &ListQuery,
        projection: &Projection,
        base: &str,
        out: &mut R,
    ) -> Result<(u64, Paging), ScimError> {
        let scope = scope(&["Users", &query.filter.as_ref().map(|f| f.to_string()).unwrap_or_default()]);
        let now = crate::drupal::users::now();
        let after = if cursor.is_empty() {
            0
        } else {
            let opened = self.cursors.open(cursor, now, &scope)?;
            opened
                .after
                .parse::<u32>()
                .map_err(|_| ScimError::bad_request(ScimType::InvalidCursor, "malformed cursor"))?
        };
        let page = self.store.search_after(filter, after, query.count).await?;
        let groups = if Self::needs_groups(&page.records, projection) { self.groups.list().await? } else { Vec::new() };
        let next = match page.records.last() {
            Some(last) if page.records.len() as u64 == query.count => {
                // One more look: is there anything after this page?
                let more = self.store.search_after(filter, last.uid, 1).await?;
                if more.records.is_empty() {
                    None
                } else {
                    Some(self.cursors.seal(&last.uid.to_string(), now, &scope)?)
                }
            }
            _ => None,
        };
        self.render_into(&page.records, base, &groups, projection, out);
        Ok((page.total, Paging::Cursor(next)))
    }

    /// `GET /Users/{id}`.
    pub async fn get(&self, id: &str, base: &str, projection: &Projection) -> Result<Value, ScimError> {
        let record = self.current(id).await?;
        Ok(projection.apply(self.render_one(&record, base).await?))
    }

    /// `POST /Users`.
    pub async fn create(&self, body: &Value, base: &str) -> Result<Created, ScimError> {
        let resource = from_body(body, &USER_RESOURCE)?;
        let write = from_resource(&self.mapping, &resource)?;
        let Some(DbValue::Text(name)) = write.base.get(&BaseColumn::Name).cloned() else {
            return Err(ScimError::invalid_value("userName is required"));
        };
        // Most creates are of new accounts: write first. The store refuses (409) a userName or
        // mail that any account holds, and validates every value (400); only then is it worth
        // looking for an account this create means. That search finds nothing unless some
        // account holds the name or mail, so looking only after a refusal decides the same as
        // looking first — and it also covers a re-send racing its original.
        let refused = match self.store.create(&write).await {
            Ok(record) => {
                self.audit.record(entry(Severity::Notice, "Created account %name through SCIM.", &record, &[])).await;
                return Ok(Created { resource: self.render_one(&record, base).await?, existed: false });
            }
            Err(e @ (StoreError::Conflict(_) | StoreError::Invalid(_))) => e,
            Err(e) => return Err(e.into()),
        };
        let record = match self.existing_for_create(&write, &name).await? {
            // Nothing SCIM may reach: the store's refusal says whose the name or mail is
            // (protected, unlinked, deleted through SCIM, or simply taken).
            Existing::None => return Err(refused.into()),
            // Entra re-sends a create whose answer it did not receive: converge, don't conflict.
            Existing::Same(existing) => self.save(&existing, diff(&existing, &write), false).await?,
            // An account SCIM reaches that has no externalId: an unlinked one (reachable only
            // with link_existing = "link") is adopted, and its write links it; one SCIM created
            // or linked already is simply taken — a create never takes over a managed account.
            Existing::Unlinked(existing) if self.adoptable(&existing).await? => {
                self.save(&existing, diff(&existing, &write), false).await?
            }
            Existing::Unlinked(_) => return Err(refused.into()),
        };
        Ok(Created { resource: self.render_one(&record, base).await?, existed: true })
    }

    /// `PUT /Users/{id}`.
    pub async fn replace(
        &self,
        id: &str,
        body: &Value,
        base: &str,
        if_match: Option<&str>,
    ) -> Result<Value, ScimError> {
        let current = self.current(id).await?;
        if if_match.is_some() {
            check_if_match(if_match, &self.render_one(&current, base).await?)?;
        }
        let resource = from_body(body, &USER_RESOURCE)?;
        let mut write = from_resource(&self.mapping, &resource)?;
        if write.external_id == Some(None) {
            // Okta's PUT does not always carry externalId; keep the link Entra matches on.
            write.external_id = None;
        }
        let record = self.save(&current, diff(&current, &write), if_match.is_some()).await?;
        self.render_one(&record, base).await
    }

    /// `PATCH /Users/{id}`: ops applied to the in-memory resource, then written in one transaction.
    pub async fn patch(&self, id: &str, body: Value, base: &str, if_match: Option<&str>) -> Result<Value, ScimError> {
        let ops = patch::parse_request(body)?;
        let current = self.current(id).await?;
        let mut resource = self.render_one(&current, base).await?;
        check_if_match(if_match, &resource)?;
        patch::apply(&mut resource, &ops, &USER_RESOURCE)?;
        let write = from_resource(&self.mapping, &resource)?;
        let record = self.save(&current, diff(&current, &write), if_match.is_some()).await?;
        self.render_one(&record, base).await
    }

    /// `DELETE /Users/{id}`: the mapping's delete policy. SCIM answers 404 for the account after.
    pub async fn delete(&self, id: &str, if_match: Option<&str>) -> Result<Deleted, ScimError> {
        let current = self.current(id).await?;
        if if_match.is_some() {
            check_if_match(if_match, &self.render_one(&current, "").await?)?;
        }
        let conditional = if_match.is_some();
        let outcome = match self.mapping.users.delete {
            Deprovision::Block => {
                self.store.block_and_hide(&current, &[], conditional).await?;
                Deleted::Blocked
            }
            Deprovision::BlockRemoveRoles => {
                let roles = self.scim_roles(&current).await?;
                self.store.block_and_hide(&current, &roles, conditional).await?;
                Deleted::Blocked
            }
            Deprovision::DeleteIfNoContent => match self.store.hard_delete(&current, conditional).await? {
                Some(what) => {
                    self.store.block_and_hide(&current, &[], conditional).await?;
                    Deleted::BlockedOwnsContent(what)
                }
                None => Deleted::Removed,
            },
        };
        let audited = match &outcome {
            Deleted::Blocked => entry(
                Severity::Notice,
                "Blocked account %name: it was deleted in the identity provider (SCIM).",
                &current,
                &[],
            ),
            Deleted::Removed => {
                entry(Severity::Notice, "Deleted account %name through SCIM (it owned no content).", &current, &[])
            }
            Deleted::BlockedOwnsContent(what) => entry(
                Severity::Warning,
                "Blocked account %name instead of deleting it through SCIM: it owns @what.",
                &current,
                &[("@what", what.clone())],
            ),
        };
        self.audit.record(audited).await;
        Ok(outcome)
    }

    /// Whether a create may adopt this account: it exists, and SCIM has not linked it yet
    /// (which only `link_existing = "link"` lets SCIM see).
    async fn adoptable(&self, existing: &UserRecord) -> Result<bool, ScimError> {
        if self.mapping.users.link_existing == LinkExisting::Refuse {
            return Ok(false);
        }
        let standing = self.store.standing_by_id(&existing.uuid).await?;
        Ok(matches!(standing, Some((_, Standing::Reachable { linked: false }))))
    }

    /// The account's roles that SCIM groups stand for.
    async fn scim_roles(&self, record: &UserRecord) -> Result<Vec<String>, ScimError> {
        let groups = self.groups.list().await?;
        Ok(record.roles.iter().filter(|r| groups.iter().any(|g| g.role_id.as_ref() == Some(*r))).cloned().collect())
    }

    /// Deactivation with `block_remove_roles` also takes the SCIM-granted roles away.
    async fn apply_deactivation(&self, current: &UserRecord, changes: &mut UserWrite) -> Result<(), ScimError> {
        let deactivating = changes.base.get(&BaseColumn::Status) == Some(&DbValue::Int(0)) && current.is_active();
        if deactivating && self.mapping.users.deactivate == Deprovision::BlockRemoveRoles {
            changes.revoke_roles = self.scim_roles(current).await?;
        }
        Ok(())
    }

    /// What a create finds among the visible accounts, in one search: the account it re-sends
    /// (same externalId and userName), else an account SCIM has not linked (no externalId)
    /// with its userName or e-mail address.
    async fn existing_for_create(&self, write: &UserWrite, name: &str) -> Result<Existing, ScimError> {
        let eq = |column: UserColumn, value: DbValue| UserQuery::Compare { column, cmp: Cmp::Eq, value };
        let by_name = || eq(UserColumn::Base(BaseColumn::Name), DbValue::Text(name.to_string()));
        let mut name_or_mail = by_name();
        if let Some(DbValue::Text(mail)) = write.base.get(&BaseColumn::Mail) {
            name_or_mail = UserQuery::Or(
                Box::new(name_or_mail),
                Box::new(eq(UserColumn::Base(BaseColumn::Mail), DbValue::Text(mail.clone()))),
            );
        }
        let unlinked = eq(UserColumn::ExternalId, DbValue::Null);
        // (ext AND name) OR ((name OR mail) AND no ext), written with (name OR mail) outside, which
        // the first branch implies: the indexes on name and mail then find every candidate.
        let wanted = match &write.external_id {
            Some(Some(ext)) => UserQuery::Or(
                Box::new(UserQuery::And(
                    Box::new(eq(UserColumn::ExternalId, DbValue::Text(ext.clone()))),
                    Box::new(by_name()),
                )),
                Box::new(unlinked),
            ),
            _ => unlinked,
        };
        let query = UserQuery::And(Box::new(name_or_mail), Box::new(wanted));
        // Linked accounts (the re-sent one) sort first, NULL externalIds last: the first row says
        // whether this is a re-send, and when it is not, every row is an unlinked match.
        let sort = Sort { column: UserColumn::ExternalId, descending: true };
        let page = self.store.search(&query, Some(&sort), 0, 2).await?;
        let mut records = page.records.into_iter();
        match records.next() {
            None => Ok(Existing::None),
            Some(first) if first.external_id.is_some() => Ok(Existing::Same(first)),
            Some(_) if page.total > 1 => Err(ScimError::uniqueness(format!(
                "the user name {name:?} and the e-mail address belong to two different Drupal accounts"
            ))),
            Some(first) => Ok(Existing::Unlinked(first)),
        }
    }
}

/// What a create found before writing.
enum Existing {
    None,
    /// The account this create re-sends.
    Same(UserRecord),
    /// An account SCIM has not linked, with the create's userName or e-mail address.
    Unlinked(UserRecord),
}
