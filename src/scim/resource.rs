//! Incoming resource bodies (POST, PUT): normalised to canonical attribute names and types by
//! running them through the PATCH engine as one path-less replace on an empty resource, so that
//! every client quirk the engine absorbs (string booleans, case-insensitive names, URN keys,
//! dotted keys) is absorbed here too.

use crate::scim::error::ScimError;
use crate::scim::patch::{PatchOp, PatchOpKind, apply};
use crate::scim::schema::ResourceSchema;
use serde_json::{Map, Value};

/// Keys of a body that describe the request, not the resource.
const ENVELOPE: &[&str] = &["schemas", "id", "meta"];

/// Normalise a POST/PUT body into a canonical resource (without id/meta/schemas).
pub fn from_body(body: &Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
    let Value::Object(obj) = body else {
        return Err(ScimError::invalid_syntax("the request body must be a JSON object"));
    };
    let mut value = Map::new();
    for (k, v) in obj {
        // Clients send null for attributes they have no value for (Entra's older samples do).
        if ENVELOPE.iter().any(|e| e.eq_ignore_ascii_case(k)) || v.is_null() {
            continue;
        }
        value.insert(k.clone(), v.clone());
    }
    let mut resource = Value::Object(Map::new());
    let op = PatchOp { op: PatchOpKind::Replace, path: None, value: Some(Value::Object(value)) };
    apply(&mut resource, std::slice::from_ref(&op), schema).map_err(|mut e| {
        if let Some(rest) = e.detail.strip_prefix("Operations[0]: ") {
            e.detail = rest.to_string();
        }
        e
    })?;
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::USER_RESOURCE;
    use serde_json::json;

    #[test]
    fn entra_create_body_is_canonicalised() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a", "UserName": "Test_User", "active": "True",
            "emails": [{"primary": true, "type": "work", "value": "t@example.com"}],
            "meta": {"resourceType": "User"}, "name": {"familyName": "F", "givenName": "G"}, "roles": [],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "department": null},
            "title": null
        });
        let r = from_body(&body, &USER_RESOURCE).unwrap();
        assert_eq!(r["userName"], "Test_User");
        assert_eq!(r["active"], true);
        assert_eq!(r["externalId"], "0a21f0f2-8d2a");
        assert_eq!(r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"], "701984");
        assert!(r.get("meta").is_none());
    }

    #[test]
    fn a_body_that_is_not_an_object_is_invalid_syntax() {
        let e = from_body(&json!([1]), &USER_RESOURCE).unwrap_err();
        assert_eq!(e.status, 400);
    }
}
