//! SCIM Groups over Drupal roles: which role a group lands on is the mapping's decision;
//! membership changes become set operations, never a read of the whole member list.

use crate::drupal::audit::{Audit, Entry, Severity};
use crate::drupal::error::StoreError;
use crate::drupal::groups::{GroupRecord, GroupStore, GroupTarget, GroupWrite, MemberChange};
use crate::drupal::membership::Account;
use crate::mapping::model::{Mapping, UnmappedGroups};
use crate::mapping::users::{get_ci, rfc3339};
use crate::scim::cursor::{CursorKey, scope};
use crate::scim::error::ScimError;
use crate::scim::filter::{CompareOp, Filter, matches};
use crate::scim::list::{ListQuery, cursor_response, list_response};
use crate::scim::patch::{self, PatchOp, PatchOpKind};
use crate::scim::projection::Projection;
use crate::scim::resource::from_body;
use crate::scim::schema::{GROUP_RESOURCE, GROUP_SCHEMA};
use crate::scim::version::{check_if_match, weak_etag};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The Groups endpoint's logic.
#[derive(Clone)]
pub struct GroupService {
    pub mapping: Arc<Mapping>,
    pub store: GroupStore,
    pub cursors: CursorKey,
    pub audit: Audit,
}

/// What a PATCH answers: 204, or the group when the client asked for attributes.
pub enum Patched {
    NoContent,
    Resource(Value),
}

impl GroupService {
    /// A service over a store with a mapping.
    pub fn new(mapping: Arc<Mapping>, store: GroupStore, cursors: CursorKey, audit: Audit) -> Self {
        GroupService { mapping, store, cursors, audit }
    }

    async fn record(
        &self,
        severity: Severity,
        message: &'static str,
        group: &GroupRecord,
        more: &[(&'static str, String)],
    ) {
        let mut variables = vec![
            ("%group", group.display_name.clone()),
            ("%role", group.role_id.clone().unwrap_or_else(|| "none".into())),
        ];
        variables.extend(more.iter().cloned());
        let link = group.role_id.as_ref().map(|r| format!("/admin/people/roles/manage/{r}"));
        self.audit.record(Entry { severity, message, variables, uid: 0, link }).await;
    }

    /// Update a group and record what changed.
    async fn save(&self, group: &GroupRecord, write: &GroupWrite) -> Result<GroupRecord, ScimError> {
        let updated = self.store.update(group, write).await?;
        if updated.display_name != group.display_name {
            self.record(
                Severity::Notice,
                "Renamed SCIM group %old to %group (role %role).",
                &updated,
                &[("%old", group.display_name.clone())],
            )
            .await;
        }
        if !write.members.is_empty() && updated.revision != group.revision {
            let mut counts = (0, 0, 0);
            for change in &write.members {
                match change {
                    MemberChange::Add(ids) => counts.0 += ids.len(),
                    MemberChange::Remove(ids) => counts.1 += ids.len(),
                    MemberChange::Set(ids) => counts.2 += ids.len(),
                }
            }
            let what = match counts {
                (a, 0, 0) => format!("{a} member(s) added"),
                (0, r, 0) => format!("{r} member(s) removed"),
                (0, 0, s) => format!("members set to {s} account(s)"),
                (a, r, s) => format!("{a} added, {r} removed, {s} set"),
            };
            self.record(
                Severity::Info,
                "Changed the members of SCIM group %group (role %role): @what.",
                &updated,
                &[("@what", what)],
            )
            .await;
        }
        Ok(updated)
    }

    /// What seeds this site's group versions besides the group itself (see `Mapping::realm`).
    fn realm(&self) -> String {
        if self.mapping.realm.is_empty() { String::new() } else { format!("\0{}", self.mapping.realm) }
    }

    fn render(&self, group: &GroupRecord, base: &str, members: Option<&[Account]>) -> Value {
        let mut out = Map::new();
        out.insert("schemas".into(), json!([GROUP_SCHEMA]));
        out.insert("id".into(), json!(group.id));
        if let Some(ext) = &group.external_id {
            out.insert("externalId".into(), json!(ext));
        }
        out.insert("displayName".into(), json!(group.display_name));
        if let Some(members) = members {
            let list: Vec<Value> = members
                .iter()
                .map(|m| json!({"value": m.uuid, "display": m.name, "type": "User", "$ref": format!("{base}/Users/{}", m.uuid)}))
                .collect();
            out.insert("members".into(), Value::Array(list));
        }
        out.insert(
            "meta".into(),
            json!({
                "resourceType": "Group",
                "created": rfc3339(group.created),
                "lastModified": rfc3339(group.changed.max(group.created)),
                "location": format!("{base}/Groups/{}", group.id),
                // Members are not part of the representation hashed here, so the version comes
                // from the bridge's revision counter, which every membership change bumps.
                "version": weak_etag(format!("{}:{}:{}{}", group.id, group.revision, group.changed, self.realm()).as_bytes()),
            }),
        );
        Value::Object(out)
    }

    async fn current(&self, id: &str) -> Result<GroupRecord, ScimError> {
        self.store.get(id).await?.ok_or_else(|| ScimError::not_found(format!("Group {id:?} not found")))
    }

    async fn render_with(&self, group: &GroupRecord, base: &str, want_members: bool) -> Result<Value, ScimError> {
        let members = if want_members { Some(self.store.members(group).await?) } else { None };
        Ok(self.render(group, base, members.as_deref()))
    }

    /// `GET /Groups`: groups are few, so the filter is evaluated in memory; members are read only
    /// when the filter or the projection needs them.
    pub async fn list(&self, query: &ListQuery, base: &str) -> Result<Value, ScimError> {
        let projection = Projection::new(&query.attributes, &query.excluded_attributes);
        let filter_needs_members = query.filter.as_ref().is_some_and(mentions_members);
        let show_members = !projection.excludes("members");
        let mut rendered = Vec::new();
        for group in self.store.list().await? {
            let resource = self.render_with(&group, base, filter_needs_members).await?;
            if query.filter.as_ref().is_none_or(|f| matches(f, &resource)) {
                rendered.push((group, resource));
            }
        }
        if let Some(sort_by) = &query.sort_by {
            let key = |r: &Value| get_ci(r, sort_by).and_then(Value::as_str).map(str::to_lowercase).unwrap_or_default();
            rendered.sort_by_key(|(_, r)| key(r));
            if query.descending {
                rendered.reverse();
            }
        }
        let total = rendered.len() as u64;
        let count = usize::try_from(query.count).unwrap_or(usize::MAX);
        // Cursor pages walk the groups in id order, after the last id already returned.
        let (offset, next) = match &query.cursor {
            None => (usize::try_from(query.offset()).unwrap_or(usize::MAX), None),
            Some(cursor) => {
                rendered.sort_by(|a, b| a.0.id.cmp(&b.0.id));
                let scope = scope(&["Groups", &query.filter.as_ref().map(|f| f.to_string()).unwrap_or_default()]);
                let now = crate::drupal::users::now();
                let after = if cursor.is_empty() { None } else { Some(self.cursors.open(cursor, now, &scope)?.after) };
                let offset = after.map_or(0, |a| rendered.iter().take_while(|(g, _)| g.id <= a).count());
                let next = match rendered.get(offset + count.saturating_sub(1)) {
                    Some((last, _)) if count > 0 && offset + count < rendered.len() => {
                        Some(self.cursors.seal(&last.id, now, &scope)?)
                    }
                    _ => None,
                };
                (offset, Some(next))
            }
        };
        let mut page = Vec::new();
        for (group, resource) in rendered.into_iter().skip(offset).take(count) {
            let resource = if show_members && !filter_needs_members {
                self.render_with(&group, base, true).await?
            } else {
                resource
            };
            page.push(projection.apply(resource));
        }
        match next {
            Some(next) => Ok(cursor_response(total, page, next)),
            None => Ok(list_response(total, query.start_index, page)),
        }
    }

    /// `GET /Groups/{id}`.
    pub async fn get(&self, id: &str, base: &str, projection: &Projection) -> Result<Value, ScimError> {
        let group = self.current(id).await?;
        Ok(projection.apply(self.render_with(&group, base, !projection.excludes("members")).await?))
    }

    /// Where the mapping sends a new group.
    fn target(&self, display_name: &str, external_id: Option<&str>) -> Result<GroupTarget, ScimError> {
        let mapped = self.mapping.groups.maps.iter().find(|m| {
            m.external_id.as_deref().is_some_and(|e| Some(e) == external_id)
                || m.display_name.as_deref().is_some_and(|d| d.to_lowercase() == display_name.to_lowercase())
        });
        if let Some(m) = mapped {
            return Ok(GroupTarget::ExistingRole(m.role.clone()));
        }
        match self.mapping.groups.unmapped {
            UnmappedGroups::CreateRole => Ok(GroupTarget::NewRole),
            UnmappedGroups::Ignore => Ok(GroupTarget::Nothing),
            UnmappedGroups::Refuse => Err(ScimError::invalid_value(format!(
                "the group {display_name:?} is not mapped to a Drupal role, and drupal_mapping.toml says [groups] unmapped = \"refuse\"; add a [[groups.map]] entry for it"
            ))),
        }
    }

    /// `POST /Groups`.
    pub async fn create(&self, body: &Value, base: &str, projection: &Projection) -> Result<Value, ScimError> {
        let resource = from_body(body, &GROUP_RESOURCE)?;
        let display_name = resource
            .get("displayName")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ScimError::invalid_value("displayName is required"))?
            .to_string();
        let external_id = resource.get("externalId").and_then(Value::as_str).map(String::from);
        let members = member_ids(resource.get("members"))?;
        // A re-sent create (same externalId and displayName) converges on the existing group.
        if let Some(existing) = self.same_group(&display_name, external_id.as_deref()).await? {
            return self.converge(&existing, members, base, projection).await;
        }
        let target = self.target(&display_name, external_id.as_deref())?;
        let group = match self.store.create(&display_name, external_id.as_deref(), &target, &members).await {
            Ok(group) => group,
            // The same create sent again while the first was still running (a client retrying
            // after a timeout) lost the race for the group lock: converge, as when sequential.
            Err(StoreError::Conflict(detail)) => match self.same_group(&display_name, external_id.as_deref()).await? {
                Some(existing) => return self.converge(&existing, members, base, projection).await,
                None => return Err(StoreError::Conflict(detail).into()),
            },
            Err(e) => return Err(e.into()),
        };
        let message = match target {
            GroupTarget::NewRole => "Created SCIM group %group as the new role %role.",
            GroupTarget::ExistingRole(_) => "Created SCIM group %group on the existing role %role.",
            GroupTarget::Nothing => "Accepted SCIM group %group; it grants no role (unmapped = ignore).",
        };
        self.record(Severity::Notice, message, &group, &[]).await;
        Ok(projection.apply(self.render_with(&group, base, wants_members(projection)).await?))
    }

    /// The visible group a create with this externalId and displayName re-sends, if any.
    async fn same_group(
        &self,
        display_name: &str,
        external_id: Option<&str>,
    ) -> Result<Option<GroupRecord>, ScimError> {
        let Some(ext) = external_id else { return Ok(None) };
        Ok(self.store.list().await?.into_iter().find(|g| {
            g.external_id.as_deref() == Some(ext) && g.display_name.to_lowercase() == display_name.to_lowercase()
        }))
    }

    /// Answer a re-sent create with the existing group, adding the members it lists.
    async fn converge(
        &self,
        existing: &GroupRecord,
        members: Vec<String>,
        base: &str,
        projection: &Projection,
    ) -> Result<Value, ScimError> {
        let write = GroupWrite { members: vec![MemberChange::Add(members)], ..GroupWrite::default() };
        let group = self.save(existing, &write).await?;
        self.render_with(&group, base, wants_members(projection)).await.map(|r| projection.apply(r))
    }

    /// `PUT /Groups/{id}`: displayName, externalId and the member list replaced.
    pub async fn replace(
        &self,
        id: &str,
        body: &Value,
        base: &str,
        projection: &Projection,
        if_match: Option<&str>,
    ) -> Result<Value, ScimError> {
        let group = self.current(id).await?;
        check_if_match(if_match, &self.render(&group, base, None))?;
        let resource = from_body(body, &GROUP_RESOURCE)?;
        let display_name = resource
            .get("displayName")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
        let write = GroupWrite {
            display_name: Some(display_name.to_string()),
            external_id: Some(resource.get("externalId").and_then(Value::as_str).map(String::from)),
            members: vec![MemberChange::Set(member_ids(resource.get("members"))?)],
        };
        let group = self.save(&group, &write).await?;
        Ok(projection.apply(self.render_with(&group, base, wants_members(projection)).await?))
    }

    /// `PATCH /Groups/{id}`: member operations become set operations; the rest is applied to
    /// the in-memory group (without members) and written with them in one transaction.
    pub async fn patch(
        &self,
        id: &str,
        body: Value,
        base: &str,
        projection: Option<&Projection>,
        if_match: Option<&str>,
    ) -> Result<Patched, ScimError> {
        let ops = patch::parse_request(body)?;
        let group = self.current(id).await?;
        let mut resource = self.render(&group, base, None);
        check_if_match(if_match, &resource)?;
        let mut write = GroupWrite::default();
        // Each operation is consumed as it is read: a 1,000-member Add's values are dropped once
        // its member ids are taken, not held through the database work below.
        for (i, op) in ops.into_iter().enumerate() {
            let other = split_member_op(op, &mut write.members).map_err(|mut e| {
                e.detail = format!("Operations[{i}]: {}", e.detail);
                e
            })?;
            if let Some(other) = other {
                patch::apply(&mut resource, std::slice::from_ref(&other), &GROUP_RESOURCE).map_err(|mut e| {
                    e.detail = e.detail.replacen("Operations[0]", &format!("Operations[{i}]"), 1);
                    e
                })?;
            }
        }
        let display_name = resource.get("displayName").and_then(Value::as_str).map(String::from);
        if display_name.as_deref() != Some(group.display_name.as_str()) {
            write.display_name = Some(display_name.ok_or_else(|| ScimError::invalid_value("displayName is required"))?);
        }
        let external_id = resource.get("externalId").and_then(Value::as_str).map(String::from);
        if external_id != group.external_id {
            write.external_id = Some(external_id);
        }
        let updated = if write == GroupWrite::default() { group } else { self.save(&group, &write).await? };
        match projection {
            None => Ok(Patched::NoContent),
            Some(p) => Ok(Patched::Resource(p.apply(self.render_with(&updated, base, wants_members(p)).await?))),
        }
    }

    /// `DELETE /Groups/{id}`.
    pub async fn delete(&self, id: &str, if_match: Option<&str>) -> Result<(), ScimError> {
        let group = self.current(id).await?;
        check_if_match(if_match, &self.render(&group, "", None))?;
        self.store.delete(&group, self.mapping.groups.delete_created_roles).await?;
        let role_deleted = self.mapping.groups.delete_created_roles && group.created_by_scim;
        let message = if role_deleted {
            "Deleted SCIM group %group and its role %role."
        } else {
            "Deleted SCIM group %group; its members lost role %role, the role was kept."
        };
        self.record(Severity::Notice, message, &group, &[]).await;
        Ok(())
    }
}

/// POST/PUT answers carry members only when the client asks for them.
fn wants_members(projection: &Projection) -> bool {
    projection.asks_for("members")
}

fn mentions_members(filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => mentions_members(a) || mentions_members(b),
        Filter::Not(a) => mentions_members(a),
        Filter::Present(p) | Filter::Compare { path: p, .. } | Filter::ValuePath { path: p, .. } => p.is("members"),
    }
}

/// The `value`s of a members list (`[{"value": id}, …]`).
fn member_ids(members: Option<&Value>) -> Result<Vec<String>, ScimError> {
    let items = match members {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.as_slice(),
        Some(single @ Value::Object(_)) => std::slice::from_ref(single),
        Some(other) => return Err(ScimError::invalid_value(format!("members must be a list, not {other}"))),
    };
    items
        .iter()
        .map(|m| {
            get_ci(m, "value").and_then(Value::as_str).map(String::from).ok_or_else(|| {
                ScimError::invalid_value(format!("each member needs a string \"value\" (a user id), not {m}"))
            })
        })
        .collect()
}

/// The user ids a member filter names: `value eq "a"`, possibly or-ed.
fn filter_ids(filter: &Filter, out: &mut Vec<String>) -> Result<(), ScimError> {
    match filter {
        Filter::Or(a, b) => {
            filter_ids(a, out)?;
            filter_ids(b, out)
        }
        Filter::Compare { path, op: CompareOp::Eq, value: Value::String(id) } if path.is("value") => {
            out.push(id.clone());
            Ok(())
        }
        other => Err(ScimError::invalid_filter(format!(
            "members[{other}] is not supported: select members with value eq \"<user id>\""
        ))),
    }
}

/// Turn an op on `members` into a membership change; give back any other op (or the non-member
/// part of a path-less op) for the in-memory group.
fn split_member_op(op: PatchOp, changes: &mut Vec<MemberChange>) -> Result<Option<PatchOp>, ScimError> {
    match &op.path {
        Some(path) if path.is("members") => {
            if path.sub.is_some() {
                return Err(ScimError::mutability("member sub-attributes cannot be changed; add or remove the member"));
            }
            let mut filtered = Vec::new();
            if let Some(f) = &path.filter {
                filter_ids(f, &mut filtered)?;
            }
            let listed = member_ids(op.value.as_ref())?;
            let change = match (op.op, path.filter.is_some()) {
                (PatchOpKind::Add, false) => MemberChange::Add(listed),
                (PatchOpKind::Replace, false) => MemberChange::Set(listed),
                (PatchOpKind::Remove, true) => MemberChange::Remove(filtered),
                // Entra's default: remove with a value list removes those members only.
                (PatchOpKind::Remove, false) if op.value.as_ref().is_some_and(|v| !v.is_null()) => {
                    MemberChange::Remove(listed)
                }
                (PatchOpKind::Remove, false) => MemberChange::Set(Vec::new()),
                (_, true) => {
                    return Err(ScimError::invalid_path(
                        "add or replace on members[…] is not supported; use add with a value list",
                    ));
                }
            };
            changes.push(change);
            Ok(None)
        }
        Some(_) => Ok(Some(op)),
        None => {
            let Some(Value::Object(mut rest)) = op.value else { return Ok(Some(op)) };
            let key = rest.keys().find(|k| k.eq_ignore_ascii_case("members")).cloned();
            if let Some(key) = key {
                let members = rest.remove(&key);
                let listed = member_ids(members.as_ref())?;
                changes.push(match op.op {
                    PatchOpKind::Add => MemberChange::Add(listed),
                    _ => MemberChange::Set(listed),
                });
            }
            Ok(Some(PatchOp { op: op.op, path: None, value: Some(Value::Object(rest)) }))
        }
    }
}
