//! One account to the target: first contact (look it up by `userName`, then `externalId`, and
//! link it; create it only when neither finds it), updates (PATCH when the target supports it,
//! PUT otherwise), blocking and cancelling. The state row moves only after the target confirmed.
//! A create that went unanswered is looked up before it is sent again: the target may have
//! carried it out.

use crate::mapping::model::Mapping;
use crate::settings::SyncRemoval;
use crate::sync::backoff::request_delay;
use crate::sync::client::{TargetClient, TargetError};
use crate::sync::patch_request;
use crate::sync::representation::{Representation, is_active, user_name};
use crate::sync::scope::Orphan;
use crate::sync::state::SyncState;
use reqwest::Method;
use serde_json::Value;

/// Look-ups after creates that went unanswered, before the push fails.
const CREATE_LOOKUPS: u32 = 3;

/// What to do for one account.
#[derive(Debug, Clone)]
pub enum Work {
    /// Make the target hold `rep` (or, blocked with `on_block = "delete"`, not hold it).
    Upsert { uid: u32, changed: i64, rep: Representation, state: Option<SyncState> },
    /// The account left Drupal or the scope: `on_cancel` on the target.
    Remove(Orphan),
}

impl Work {
    /// The account's uid.
    pub fn uid(&self) -> u32 {
        match self {
            Work::Upsert { uid, .. } => *uid,
            Work::Remove(o) => o.uid,
        }
    }
}

/// What the target confirmed, for the state row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Created (POST), or linked and updated: the target holds the representation as `target_id`.
    Holds { target_id: String, how: &'static str },
    /// Deleted or deactivated on the target (`target_id` kept when it still exists there).
    Gone { target_id: Option<String>, how: &'static str },
}

/// How pushes are made to this target.
pub struct Pusher<'a> {
    pub client: &'a TargetClient,
    pub mapping: &'a Mapping,
    pub patch: bool,
    pub on_block: SyncRemoval,
    pub on_cancel: SyncRemoval,
}

impl Pusher<'_> {
    /// Do one piece of work.
    pub async fn push(&self, work: &Work) -> Result<Done, TargetError> {
        match work {
            Work::Upsert { rep, state, .. } => self.upsert(rep, state.as_ref()).await,
            Work::Remove(orphan) => self.remove(orphan).await,
        }
    }

    async fn upsert(&self, rep: &Representation, state: Option<&SyncState>) -> Result<Done, TargetError> {
        let known = state.and_then(|s| s.target_id.clone());
        if !is_active(&rep.resource) && self.on_block == SyncRemoval::Delete {
            let id = match known {
                Some(id) => Some(id),
                None => self.first_contact(&rep.resource).await?,
            };
            if let Some(id) = &id {
                self.delete(id).await?;
            }
            return Ok(Done::Gone { target_id: None, how: "deleted (blocked)" });
        }
        // A known id the target no longer has (404) means contacting it afresh.
        if let Some(id) = known
            && self.update(&id, &rep.resource).await?
        {
            return Ok(Done::Holds { target_id: id, how: "updated" });
        }
        if let Some(id) = self.first_contact(&rep.resource).await?
            && self.update(&id, &rep.resource).await?
        {
            return Ok(Done::Holds { target_id: id, how: "linked" });
        }
        if !is_active(&rep.resource) {
            // A blocked account the target does not have is not created there (nor re-created
            // on a provider that has just deleted it through our SCIM server).
            return Ok(Done::Gone { target_id: None, how: "not created (blocked)" });
        }
        self.create(&rep.resource).await
    }

    /// POST the account. When the target may have created it without our hearing back (a
    /// timeout, a 500), look it up before sending the create again: a second POST would make a
    /// twin on a target that does not refuse a taken userName.
    async fn create(&self, resource: &Value) -> Result<Done, TargetError> {
        let mut lookups = 0;
        loop {
            let answer = match self.client.send(Method::POST, "/Users", &[], Some(resource)).await {
                Ok(answer) => answer,
                Err(e) if e.maybe_applied() && lookups < CREATE_LOOKUPS => {
                    tokio::time::sleep(request_delay(lookups)).await;
                    lookups += 1;
                    if let Some(id) = self.first_contact(resource).await?
                        && self.update(&id, resource).await?
                    {
                        return Ok(Done::Holds { target_id: id, how: "linked after an unanswered create" });
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            return match answer.body.as_ref().and_then(|b| b.get("id")).and_then(Value::as_str) {
                Some(id) if answer.status == 201 || answer.status == 200 => {
                    Ok(Done::Holds { target_id: id.to_string(), how: "created" })
                }
                _ => Err(TargetError::Refused {
                    status: answer.status,
                    detail: format!("POST /Users answered {} without an id", answer.status),
                }),
            };
        }
    }

    /// The id of the target's account for this representation, found by `userName`, then
    /// `externalId`.
    async fn first_contact(&self, resource: &Value) -> Result<Option<String>, TargetError> {
        if let Some(name) = user_name(resource)
            && let Some(id) = self.client.find_user("userName", name).await?
        {
            return Ok(Some(id));
        }
        match resource.get("externalId").and_then(Value::as_str) {
            Some(ext) => self.client.find_user("externalId", ext).await,
            None => Ok(None),
        }
    }

    /// Make the target's account `id` hold `resource`; false when the target has no such
    /// account (404).
    async fn update(&self, id: &str, resource: &Value) -> Result<bool, TargetError> {
        let path = format!("/Users/{}", path_segment(id));
        let answer = if self.patch {
            let body = patch_request::update(self.mapping, resource);
            self.client.send(Method::PATCH, &path, &[], Some(&body)).await?
        } else {
            // PUT replaces every attribute, clearing the ones Drupal no longer has.
            self.client.send(Method::PUT, &path, &[], Some(resource)).await?
        };
        Ok(answer.status != 404)
    }

    async fn delete(&self, id: &str) -> Result<(), TargetError> {
        self.client.send(Method::DELETE, &format!("/Users/{}", path_segment(id)), &[], None).await?;
        Ok(())
    }

    async fn remove(&self, orphan: &Orphan) -> Result<Done, TargetError> {
        let id = match &orphan.target_id {
            Some(id) => Some(id.clone()),
            None if !orphan.external_id.is_empty() => self.client.find_user("externalId", &orphan.external_id).await?,
            None => None,
        };
        let Some(id) = id else { return Ok(Done::Gone { target_id: None, how: "already absent" }) };
        match self.on_cancel {
            SyncRemoval::Delete => {
                self.delete(&id).await?;
                Ok(Done::Gone { target_id: None, how: "deleted" })
            }
            SyncRemoval::Deactivate => {
                let path = format!("/Users/{}", path_segment(&id));
                let found = if self.patch {
                    let body = patch_request::deactivate();
                    self.client.send(Method::PATCH, &path, &[], Some(&body)).await?.status != 404
                } else {
                    let current = self.client.send(Method::GET, &path, &[], None).await?;
                    match current.body.filter(|_| current.status != 404) {
                        Some(mut resource) => {
                            if let Some(obj) = resource.as_object_mut() {
                                obj.remove("meta");
                                obj.insert("active".into(), Value::Bool(false));
                            }
                            self.client.send(Method::PUT, &path, &[], Some(&resource)).await?.status != 404
                        }
                        None => false,
                    }
                };
                Ok(Done::Gone { target_id: found.then_some(id), how: "deactivated" })
            }
        }
    }
}

/// An id as one URL path segment.
pub fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_become_one_path_segment() {
        assert_eq!(super::path_segment("abc-1_2.x~"), "abc-1_2.x~");
        assert_eq!(super::path_segment("a/b c"), "a%2Fb%20c");
    }
}
