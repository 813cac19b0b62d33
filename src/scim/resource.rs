//! Incoming resource bodies (POST, PUT): normalised to canonical attribute names and types by
//! running them through the PATCH engine as one path-less replace on an empty resource, so that
//! every client quirk the engine absorbs (string booleans, case-insensitive names, URN keys,
//! dotted keys) is absorbed here too.

use crate::scim::error::ScimError;
use crate::scim::patch::{PatchOp, PatchOpKind, apply};
use crate::scim::schema::{
    BULK_REQUEST, BULK_RESPONSE, ENTERPRISE_USER_SCHEMA, ERROR, GROUP_SCHEMA, LIST_RESPONSE, PATCH_OP,
    RESOURCE_TYPE_SCHEMA, ResourceSchema, SCHEMA_SCHEMA, SEARCH_REQUEST, SERVICE_PROVIDER_CONFIG_SCHEMA, USER_SCHEMA,
};
use serde_json::{Map, Value};

/// Keys of a body that describe the request, not the resource.
const ENVELOPE: &[&str] = &["schemas", "id", "meta"];

/// The SCIM schema URNs this server knows, and what a body naming each one is.
const KNOWN: &[(&str, &str)] = &[
    (USER_SCHEMA, "a User"),
    (ENTERPRISE_USER_SCHEMA, "the enterprise extension of a User"),
    (GROUP_SCHEMA, "a Group"),
    (PATCH_OP, "a PATCH request"),
    (SEARCH_REQUEST, "a search request"),
    (BULK_REQUEST, "a bulk request"),
    (BULK_RESPONSE, "a bulk response"),
    (LIST_RESPONSE, "a list response"),
    (ERROR, "an error"),
    (SERVICE_PROVIDER_CONFIG_SCHEMA, "the service provider configuration"),
    (RESOURCE_TYPE_SCHEMA, "a resource type"),
    (SCHEMA_SCHEMA, "a schema"),
];

/// Normalise a POST/PUT body into a canonical resource (without id/meta/schemas).
pub fn from_body(body: &Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
    let Value::Object(obj) = body else {
        return Err(ScimError::invalid_syntax("the request body must be a JSON object"));
    };
    check_schemas(obj, schema)?;
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

/// A body whose `schemas` names a schema of something else (a Group posted to /Users, a PATCH
/// body sent with PUT) is refused: read as this resource it would be half-empty or wrong.
/// Lenient otherwise: `schemas` may be missing (some clients leave it out), and URNs this server
/// does not know (Entra's `http://schemas.microsoft.com/…/ADSCIM/2.0/Group`, custom extensions)
/// are ignored like their attributes.
fn check_schemas(obj: &Map<String, Value>, schema: &ResourceSchema) -> Result<(), ScimError> {
    let listed = match obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")).map(|(_, v)| v) {
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(id)) => vec![id.as_str()],
        _ => Vec::new(),
    };
    let ours = schema.schema_ids();
    for id in listed {
        if ours.iter().any(|o| o.eq_ignore_ascii_case(id)) {
            continue;
        }
        if let Some((urn, what)) = KNOWN.iter().find(|(urn, _)| urn.eq_ignore_ascii_case(id)) {
            let name = schema.core.name;
            return Err(ScimError::invalid_syntax(format!(
                "\"schemas\" names {urn}, {what}, not a {name}: a {name} body names {}",
                schema.core.id
            )));
        }
    }
    Ok(())
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
    fn schemas_of_another_kind_are_refused_and_unknown_or_missing_ones_are_not() {
        use crate::scim::error::ScimType;
        use crate::scim::schema::GROUP_RESOURCE;
        let e = from_body(&json!({"schemas": [GROUP_SCHEMA], "displayName": "G"}), &USER_RESOURCE).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert!(e.detail.contains("a Group, not a User"), "{}", e.detail);
        let e =
            from_body(&json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "displayName": "G"}), &GROUP_RESOURCE)
                .unwrap_err();
        assert!(e.detail.contains("a User, not a Group"), "{}", e.detail);
        let e = from_body(&json!({"schemas": PATCH_OP, "userName": "u"}), &USER_RESOURCE).unwrap_err();
        assert!(e.detail.contains("a PATCH request"), "{}", e.detail);
        for ok in [
            json!({"userName": "u"}),
            json!({"schemas": [], "userName": "u"}),
            json!({"schemas": [USER_SCHEMA.to_ascii_lowercase(), "urn:example:custom:2.0:User"], "userName": "u"}),
        ] {
            assert!(from_body(&ok, &USER_RESOURCE).is_ok(), "{ok}");
        }
        let entra_group = json!({"schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"], "displayName": "G"});
        assert!(from_body(&entra_group, &GROUP_RESOURCE).is_ok());
    }

    #[test]
    fn a_body_that_is_not_an_object_is_invalid_syntax() {
        let e = from_body(&json!([1]), &USER_RESOURCE).unwrap_err();
        assert_eq!(e.status, 400);
    }
}
