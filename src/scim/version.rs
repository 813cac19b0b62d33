//! Resource versions (RFC 7644 §3.14): weak ETags in `meta.version`, and the `If-Match` /
//! `If-None-Match` comparisons.

use crate::scim::error::ScimError;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// A weak ETag over some bytes: `W/"<16 hex digits>"`.
pub fn weak_etag(bytes: &[u8]) -> String {
    etag_of(Sha256::digest(bytes).as_slice())
}

fn etag_of(digest: &[u8]) -> String {
    let mut tag = String::with_capacity(20);
    tag.push_str("W/\"");
    for b in digest.iter().take(8) {
        let _ = write!(tag, "{b:02x}");
    }
    tag.push('"');
    tag
}

/// A resource object's attributes other than `meta`, serialized exactly as `Value::to_string`
/// serializes the object without it — read in place, not copied.
struct Attributes<'a>(&'a Map<String, Value>);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().filter(|(k, _)| k.as_str() != "meta"))
    }
}

/// Feeds what is written into the digest.
struct Digesting<'a>(&'a mut Sha256);

impl std::io::Write for Digesting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Put `meta.version` into a resource: the ETag of its attributes (meta left out, so the
/// version does not depend on the URL the server was reached at).
pub fn stamp(resource: &mut Value) {
    stamp_in(resource, "");
}

/// [`stamp`] within a realm (a site of a multisite server): the same attributes in another
/// realm get another version.
pub fn stamp_in(resource: &mut Value, realm: &str) {
    let mut digest = Sha256::new();
    // Writing into a digest cannot fail, and a Value always serializes.
    let _ = match resource.as_object() {
        Some(obj) => serde_json::to_writer(Digesting(&mut digest), &Attributes(obj)),
        None => serde_json::to_writer(Digesting(&mut digest), &*resource),
    };
    if !realm.is_empty() {
        digest.update(b"\0");
        digest.update(realm.as_bytes());
    }
    let version = etag_of(digest.finalize().as_slice());
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("version".into(), Value::from(version));
    }
}

/// The version a resource carries.
pub fn of(resource: &Value) -> Option<&str> {
    resource.pointer("/meta/version").and_then(Value::as_str)
}

/// ETags compare weakly: `W/"x"` equals `"x"`.
fn opaque(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/")
}

/// Whether a list header (`If-Match` / `If-None-Match`) names the current version.
pub fn listed(header: &str, current: &str) -> bool {
    header.split(',').any(|t| t.trim() == "*" || opaque(t) == opaque(current))
}

/// `If-Match`: fail with 412 when the client's version is stale.
pub fn check_if_match(if_match: Option<&str>, current: &Value) -> Result<(), ScimError> {
    let (Some(header), Some(version)) = (if_match, of(current)) else { return Ok(()) };
    if listed(header, version) {
        Ok(())
    } else {
        Err(ScimError::new(
            412,
            None,
            format!("the resource has changed (its version is now {version}); read it again and retry"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_same_resource_on_two_sites_has_two_versions() {
        let resource = json!({"id": "1", "userName": "a", "meta": {"resourceType": "User"}});
        let (mut plain, mut arts, mut law) = (resource.clone(), resource.clone(), resource);
        stamp(&mut plain);
        stamp_in(&mut arts, "arts");
        stamp_in(&mut law, "law");
        let versions = [of(&plain).unwrap(), of(&arts).unwrap(), of(&law).unwrap()];
        assert!(versions[0] != versions[1] && versions[1] != versions[2] && versions[0] != versions[2]);
    }

    /// The version as it was computed before stamping stopped copying the resource: the same
    /// attributes keep the same version across the change (a client holding one gets no 412).
    fn version_by_copy(resource: &Value, realm: &str) -> String {
        let mut attributes = resource.clone();
        attributes.as_object_mut().unwrap().remove("meta");
        let mut text = attributes.to_string();
        if !realm.is_empty() {
            text.push('\0');
            text.push_str(realm);
        }
        weak_etag(text.as_bytes())
    }

    #[test]
    fn versions_are_those_of_the_attributes_serialized_without_meta() {
        let resource = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "7", "active": true,
            "userName": "a\"b\\c\u{e9}", "emails": [{"value": "a@example.com", "primary": true}],
            "name": {"familyName": "Z", "givenName": null}, "zeta": 1.5, "meta": {"resourceType": "User"}
        });
        for realm in ["", "arts"] {
            let mut stamped = resource.clone();
            stamp_in(&mut stamped, realm);
            assert_eq!(of(&stamped).unwrap(), version_by_copy(&resource, realm), "realm {realm:?}");
        }
        assert_eq!(weak_etag(b"x").len(), 20);
        assert!(weak_etag(b"x").starts_with("W/\"") && weak_etag(b"x").ends_with('"'));
    }

    #[test]
    fn stamping_is_stable_and_changes_with_the_content() {
        let mut a = json!({"id": "1", "userName": "a", "meta": {"resourceType": "User"}});
        stamp(&mut a);
        let v1 = of(&a).unwrap().to_string();
        stamp(&mut a);
        assert_eq!(of(&a).unwrap(), v1, "restamping does not change the version");
        let mut b = json!({"id": "1", "userName": "b", "meta": {"resourceType": "User"}});
        stamp(&mut b);
        assert_ne!(of(&b).unwrap(), v1);
        assert!(v1.starts_with("W/\""));
    }

    #[test]
    fn preconditions_compare_weakly_and_accept_star() {
        let r = json!({"meta": {"version": "W/\"abc\""}});
        assert!(check_if_match(Some("W/\"abc\""), &r).is_ok());
        assert!(check_if_match(Some("\"abc\""), &r).is_ok());
        assert!(check_if_match(Some("*"), &r).is_ok());
        assert!(check_if_match(None, &r).is_ok());
        assert_eq!(check_if_match(Some("W/\"old\", W/\"older\""), &r).unwrap_err().status, 412);
    }
}
