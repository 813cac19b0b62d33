//! Roles out as SCIM Groups (`sync.groups`): each listed role becomes a Group named by its label,
//! `externalId` its role id, whose members are the role's holders as the target knows them (the
//! target ids sync out recorded; an account not on the target yet joins on a later pass). A
//! group is pushed when its fingerprint (name and members) differs from the one the target last
//! confirmed; a role dropped from the list, or deleted in Drupal, is deleted on the target.

use crate::drupal::error::StoreError;
use crate::drupal::site::Site;
use crate::scim::schema::GROUP_SCHEMA;
use crate::sync::client::{TargetClient, TargetError};
use crate::sync::group_state::{self, GroupState};
use crate::sync::push::path_segment;
use mysql_async::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A role to push: its id and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRole {
    pub id: String,
    pub label: String,
}

/// What one round of groups did: (confirmed, failed).
pub type Outcome = (usize, usize);

/// Push every listed role whose group changed, and delete the groups of roles no longer listed.
pub async fn sync<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    client: &TargetClient,
    roles: &[PushedRole],
) -> Result<Outcome, StoreError> {
    let tables = site.tables();
    let states = group_state::all(q, tables).await?;
    let (mut pushed, mut failed) = (0, 0);
    for role in roles {
        let members = member_ids(q, site, &role.id).await?;
        let group = representation(role, &members);
        let fingerprint = fingerprint(&group);
        let state = states.iter().find(|s| s.role == role.id);
        if state.is_some_and(|s| s.fingerprint.as_deref() == Some(fingerprint.as_str())) {
            continue;
        }
        match push(client, &group, role, state).await {
            Ok(target_id) => {
                log::info!(
                    "sync{}: role {} pushed as group {target_id} ({} members)",
                    client.tag(),
                    role.id,
                    members.len()
                );
                group_state::confirm(q, tables, &role.id, &target_id, &fingerprint).await?;
                pushed += 1;
            }
            Err(e) => {
                log::warn!("sync{}: role {}: {e} (tried again next pass)", client.tag(), role.id);
                group_state::fail(q, tables, &role.id, &e.to_string()).await?;
                failed += 1;
            }
        }
    }
    for gone in states.iter().filter(|s| !roles.iter().any(|r| r.id == s.role)) {
        let deleted = match &gone.target_id {
            Some(id) => {
                client.send(Method::DELETE, &format!("/Groups/{}", path_segment(id)), &[], None).await.map(|_| ())
            }
            None => Ok(()),
        };
        match deleted {
            Ok(()) => {
                log::info!(
                    "sync{}: role {} is no longer pushed: its group was deleted on the target",
                    client.tag(),
                    gone.role
                );
                group_state::forget(q, tables, &gone.role).await?;
                pushed += 1;
            }
            Err(e) => {
                log::warn!("sync{}: role {}: deleting its group: {e}", client.tag(), gone.role);
                failed += 1;
            }
        }
    }
    Ok((pushed, failed))
}

/// Create, link or replace the role's group; its id on the target.
async fn push(
    client: &TargetClient,
    group: &Value,
    role: &PushedRole,
    state: Option<&GroupState>,
) -> Result<String, TargetError> {
    if let Some(id) = state.and_then(|s| s.target_id.as_deref()) {
        let answer = client.send(Method::PUT, &format!("/Groups/{}", path_segment(id)), &[], Some(group)).await?;
        if answer.status != 404 {
            return Ok(id.to_string());
        }
        // The target lost it: contact afresh.
    }
    let filter = format!("displayName eq {}", Value::from(role.label.as_str()));
    let found = client
        .send(Method::GET, "/Groups", &[("filter", filter.as_str()), ("attributes", "id"), ("count", "2")], None)
        .await?;
    let ids: Vec<&str> = found
        .body
        .as_ref()
        .and_then(|b| b.get("Resources"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(|g| g.get("id").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    match ids.as_slice() {
        [id] => {
            client.send(Method::PUT, &format!("/Groups/{}", path_segment(id)), &[], Some(group)).await?;
            Ok(id.to_string())
        }
        [] => {
            let created = client.send(Method::POST, "/Groups", &[], Some(group)).await?;
            created.body.as_ref().and_then(|b| b.get("id")).and_then(Value::as_str).map(String::from).ok_or_else(|| {
                TargetError::Refused { status: created.status, detail: "POST /Groups answered without an id".into() }
            })
        }
        _ => Err(TargetError::Refused {
            status: 409,
            detail: "the target has more than one group with this displayName: not linking either".into(),
        }),
    }
}

/// The target ids of the role's holders that sync out placed on the target.
async fn member_ids<Q: Queryable>(q: &mut Q, site: &Site, role: &str) -> Result<Vec<String>, StoreError> {
    let rows = site.schema.role_values();
    let sql = format!(
        "SELECT DISTINCT s.`target_id` FROM {} x, {} s \
         WHERE s.`uid` = x.`{}` AND {} = ? AND {} AND s.`target_id` IS NOT NULL AND s.`gone` = 0 \
         ORDER BY s.`target_id`",
        rows.table,
        site.tables().t("scim_sync"),
        rows.owner,
        site.schema.role_id_sql(),
        rows.conditions,
    );
    let ids: Vec<String> = q.exec(sql, (role,)).await?;
    Ok(ids)
}

/// The Group as the target gets it.
fn representation(role: &PushedRole, members: &[String]) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": role.label,
        "externalId": role.id,
        "members": members.iter().map(|id| json!({"value": id})).collect::<Vec<_>>(),
    })
}

fn fingerprint(group: &Value) -> String {
    Sha256::digest(group.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_changes_fingerprint_with_its_name_or_members_only() {
        let role = PushedRole { id: "editor".into(), label: "Editor".into() };
        let a = fingerprint(&representation(&role, &["1".into(), "2".into()]));
        assert_eq!(a, fingerprint(&representation(&role, &["1".into(), "2".into()])));
        assert_ne!(a, fingerprint(&representation(&role, &["1".into()])));
        let renamed = PushedRole { label: "Editors".into(), ..role.clone() };
        assert_ne!(a, fingerprint(&representation(&renamed, &["1".into(), "2".into()])));
        let group = representation(&role, &["1".into()]);
        assert_eq!(group["members"], json!([{"value": "1"}]));
        assert_eq!(group["externalId"], "editor");
    }
}
