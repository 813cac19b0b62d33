//! The SCIM protocol (RFC 7643 / RFC 7644): pure, no I/O, knows nothing of Drupal.
//!
//! `filter` and `path` parse what clients send, `patch` applies PATCH operations to an in-memory
//! resource, `schema` holds the RFC attribute definitions, `list`, `page` and `projection` shape answers,
//! `resource` normalises incoming bodies, `discovery` answers the discovery endpoints.
pub mod cursor;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod page;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod version;

/// The JSON body of a SCIM error (RFC 7644 §3.12): `status` as a string, `scimType`, `detail`.
pub fn error_body(e: &error::ScimError) -> serde_json::Value {
    let mut body = serde_json::json!({"schemas": [schema::ERROR], "status": e.status.to_string(), "detail": e.detail});
    if let (Some(t), Some(obj)) = (e.scim_type, body.as_object_mut()) {
        obj.insert("scimType".into(), serde_json::json!(t.as_str()));
    }
    body
}
