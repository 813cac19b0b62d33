//! The discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas,
//! telling the truth about what this server supports and which attributes it keeps.

use crate::scim::schema::{
    AttributeDef, ENTERPRISE_USER, GROUP, RESOURCE_TYPE_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA, SchemaDef, USER,
};
use serde_json::{Value, json};

/// An attribute the server stores: schema URN, attribute, optional sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposed {
    pub schema: &'static str,
    pub attr: &'static str,
    pub sub: Option<&'static str>,
}

/// What the server supports, for ServiceProviderConfig.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub max_results: u64,
    pub default_page_size: u64,
    pub change_password: bool,
    pub max_payload_size: usize,
    pub max_operations: usize,
}

/// `GET /ServiceProviderConfig`.
pub fn service_provider_config(caps: &Capabilities, location: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://github.com/drupal-scim/drupal-scim#readme",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": caps.max_operations, "maxPayloadSize": caps.max_payload_size},
        "filter": {"supported": true, "maxResults": caps.max_results},
        "changePassword": {"supported": caps.change_password},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": caps.default_page_size,
            "maxPageSize": caps.max_results,
            "cursorTimeout": 3600
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token minted by `drupal-scim token`, sent as Authorization: Bearer <token>",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": location}
    })
}

/// The two resource types, with their locations under `base`.
pub fn resource_types(base: &str, enterprise: bool) -> Vec<Value> {
    let mut extensions = Vec::new();
    if enterprise {
        extensions.push(json!({"schema": ENTERPRISE_USER.id, "required": false}));
    }
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
            "description": "Drupal user accounts", "schema": USER.id, "schemaExtensions": extensions,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "Drupal roles", "schema": GROUP.id, "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")}
        }),
    ]
}

/// The schemas, trimmed to the attributes the server really keeps.
pub fn schemas(base: &str, exposed: &[Exposed]) -> Vec<Value> {
    let mut out = Vec::new();
    for schema in [&USER, &ENTERPRISE_USER, &GROUP] {
        let attrs: Vec<Value> = schema.attributes.iter().filter_map(|a| trimmed(schema, a, exposed)).collect();
        if attrs.is_empty() {
            continue;
        }
        let mut doc = schema.to_json();
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("attributes".into(), Value::Array(attrs));
            obj.insert(
                "meta".into(),
                json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{}", schema.id)}),
            );
        }
        out.push(doc);
    }
    out
}

fn trimmed(schema: &SchemaDef, attr: &AttributeDef, exposed: &[Exposed]) -> Option<Value> {
    let mine: Vec<&Exposed> = exposed.iter().filter(|e| e.schema == schema.id && e.attr == attr.name).collect();
    if mine.is_empty() {
        return None;
    }
    let mut json = attr.to_json();
    if attr.is_complex() && !mine.iter().any(|e| e.sub.is_none()) {
        // A multi-valued attribute mapped through a value filter also shows its type/primary.
        let subs: Vec<Value> = attr
            .sub_attributes
            .iter()
            .filter(|s| {
                mine.iter().any(|e| e.sub == Some(s.name))
                    || (attr.multi_valued && matches!(s.name, "type" | "primary"))
            })
            .map(AttributeDef::to_json)
            .collect();
        if let Some(obj) = json.as_object_mut() {
            obj.insert("subAttributes".into(), Value::Array(subs));
        }
    }
    Some(json)
}
