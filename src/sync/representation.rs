//! What an account looks like on the target: exactly the resource drupal-scim's own SCIM server
//! would return for it (the mapping used in reverse), minus what belongs to the source server
//! (`id`, `meta`, `groups`), with `externalId` = the account's SCIM id on the source (the Drupal
//! uuid on 8–11, the bridge id on 7): stable for the account's life, never reused.

use crate::drupal::model::{BaseColumn, UserRecord};
use crate::mapping::model::{Mapping, Target};
use crate::mapping::users::to_resource;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The representation an account is pushed as, and its fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct Representation {
    /// The SCIM User resource sent to the target (never a password: the mapping reads none back).
    pub resource: Value,
    /// SHA-256 of the resource's canonical JSON, in hex: equal fingerprints, nothing to send.
    pub fingerprint: String,
}

/// The representation of `record`.
pub fn represent(mapping: &Mapping, record: &UserRecord) -> Representation {
    let mut resource = to_resource(mapping, record, "", &[]);
    if let Some(obj) = resource.as_object_mut() {
        for owned_by_source in ["id", "meta", "groups"] {
            obj.remove(owned_by_source);
        }
        obj.insert("externalId".into(), Value::from(record.uuid.clone()));
        // Blocking must reach the target even when the mapping keeps `status` to itself.
        let maps_status = mapping.users.attributes.iter().any(|m| m.target == Target::Column(BaseColumn::Status));
        if !maps_status {
            obj.insert("active".into(), Value::Bool(record.is_active()));
        }
    }
    let fingerprint = fingerprint(&resource);
    Representation { resource, fingerprint }
}

/// The fingerprint of a resource. serde_json's maps keep their keys sorted, so equal
/// resources always serialize to the same bytes.
pub fn fingerprint(resource: &Value) -> String {
    Sha256::digest(resource.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The `userName` of a representation (for the first-contact look-up and the log).
pub fn user_name(resource: &Value) -> Option<&str> {
    resource.get("userName").and_then(Value::as_str)
}

/// Whether a representation says the account is active.
pub fn is_active(resource: &Value) -> bool {
    resource.get("active").and_then(Value::as_bool).unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drupal::model::DbValue;
    use std::collections::BTreeMap;

    fn mapping() -> Mapping {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/drupal_mapping.toml")).unwrap();
        Mapping::parse(&text).unwrap()
    }

    fn record() -> UserRecord {
        UserRecord {
            uid: 7,
            uuid: "0b1c6a57-1e0f-4a43-9f3c-4c1b2ad9f000".into(),
            langcode: "en".into(),
            created: 1_700_000_000,
            changed: 1_700_000_100,
            base: BTreeMap::from([
                (BaseColumn::Name, DbValue::Text("ana".into())),
                (BaseColumn::Mail, DbValue::Text("ana@example.org".into())),
                (BaseColumn::Status, DbValue::Int(1)),
            ]),
            fields: BTreeMap::new(),
            roles: vec!["editor".into()],
            external_id: Some("entra-object-id".into()),
        }
    }

    #[test]
    fn the_resource_has_no_id_meta_groups_or_password_and_the_uuid_as_external_id() {
        let r = represent(&mapping(), &record());
        for key in ["id", "meta", "groups", "password"] {
            assert!(r.resource.get(key).is_none(), "{key}: {}", r.resource);
        }
        assert_eq!(r.resource["externalId"], "0b1c6a57-1e0f-4a43-9f3c-4c1b2ad9f000");
        assert_eq!(r.resource["userName"], "ana");
        assert_eq!(r.resource["active"], true);
        assert_eq!(user_name(&r.resource), Some("ana"));
    }

    #[test]
    fn the_fingerprint_follows_what_is_sent_not_when() {
        let a = represent(&mapping(), &record());
        let mut later = record();
        later.changed += 50;
        assert_eq!(represent(&mapping(), &later).fingerprint, a.fingerprint);
        let mut blocked = record();
        blocked.base.insert(BaseColumn::Status, DbValue::Int(0));
        let b = represent(&mapping(), &blocked);
        assert_ne!(b.fingerprint, a.fingerprint);
        assert!(!is_active(&b.resource));
        assert_eq!(a.fingerprint.len(), 64);
    }
}
