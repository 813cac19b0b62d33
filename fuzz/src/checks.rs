//! What the fuzz targets assert about one input. Shared by the fuzz crate and the root crate's
//! `tests/parsers.rs` (included there with `#[path]`), so that replaying `fuzz/corpus/**` in
//! `cargo test` runs exactly the code a fuzzer runs. Depends on `drupal_scim` and `serde_json` only.
#![allow(dead_code)]

use drupal_scim::scim::filter::{self, Filter, MAX_FILTER_LEN};
use drupal_scim::scim::patch;
use drupal_scim::scim::path;
use drupal_scim::scim::resource;
use drupal_scim::scim::schema::{GROUP_RESOURCE, ResourceSchema, USER_RESOURCE};
use serde_json::{Value, json};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A User with every shape the engine handles: complex, multi-valued with primary, extension.
pub fn sample_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen-ext",
        "userName": "bjensen@example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara", "formatted": "Barbara Jensen"},
        "displayName": "Babs Jensen",
        "title": "",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "groups": [{"value": "g1", "display": "Team"}],
        "meta": {"resourceType": "User", "created": "2011-05-13T04:42:34Z", "lastModified": "2011-05-13T04:42:34Z"},
        ENTERPRISE: {"employeeNumber": "701984", "department": "Sales", "manager": {"value": "26118915"}}
    })
}

/// A Group with a few members.
pub fn sample_group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ],
        "meta": {"resourceType": "Group"}
    })
}

/// `parse_filter` does not panic; when it parses, the printed filter parses back to an equal AST
/// (unless printing made it longer than [`MAX_FILTER_LEN`]: `eq"x"` prints as `eq "x"`, `1e15` as
/// `1000000000000000.0`, so a filter at the length limit may print past it), and evaluating it
/// on a User and a Group does not panic.
pub fn check_filter(input: &str) -> Option<Filter> {
    let ast = filter::parse_filter(input).ok()?;
    let printed = ast.to_string();
    if printed.len() <= MAX_FILTER_LEN {
        match filter::parse_filter(&printed) {
            Ok(again) => assert_eq!(again, ast, "{input:?} printed as {printed:?} parses to another filter"),
            Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {}", e.detail),
        }
    }
    filter::matches(&ast, &sample_user());
    filter::matches(&ast, &sample_group());
    filter::matches(&ast, &json!({}));
    Some(ast)
}

/// `parse_path` does not panic; a parsed path prints and parses back to itself.
pub fn check_path(input: &str) -> Option<path::AttrPath> {
    let parsed = path::parse_path(input).ok()?;
    let printed = parsed.to_string();
    if printed.len() <= MAX_FILTER_LEN {
        match path::parse_path(&printed) {
            Ok(again) => assert_eq!(again, parsed, "{input:?} printed as {printed:?} parses to another path"),
            Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {}", e.detail),
        }
    }
    Some(parsed)
}

/// A PATCH body: `parse_request` does not panic, and its operations applied to a sample User and
/// a sample Group do not panic. After a successful apply the resource keeps its required
/// attribute and at most one element of a multi-valued attribute is primary (RFC 7643 §2.4).
/// Returns `[user, group]`: whether the body applied to each sample.
pub fn check_patch_body(body: &Value) -> [bool; 2] {
    let Ok(ops) = patch::parse_request(body.clone()) else { return [false, false] };
    [(sample_user(), &USER_RESOURCE, "userName"), (sample_group(), &GROUP_RESOURCE, "displayName")].map(
        |(sample, schema, required)| {
            let mut resource = sample;
            let applied = patch::apply(&mut resource, &ops, schema).is_ok();
            if applied {
                check_resource_shape(&resource, schema, body);
                assert!(
                    resource.get(required).is_some_and(Value::is_string),
                    "{required} lost or not a string after {body}: {resource}"
                );
            }
            applied
        },
    )
}

/// A POST/PUT body through `from_body` for Users and Groups: no panic; a normalised resource has
/// no id or meta (read-only, never taken from the client) and at most one primary per attribute.
/// Returns `[user, group]`: whether the body was accepted for each resource type.
pub fn check_resource_body(body: &Value) -> [bool; 2] {
    [&USER_RESOURCE, &GROUP_RESOURCE].map(|schema| match resource::from_body(body, schema) {
        Ok(r) => {
            check_resource_shape(&r, schema, body);
            assert!(r.get("id").is_none() && r.get("meta").is_none(), "read-only attribute taken from {body}: {r}");
            true
        }
        Err(_) => false,
    })
}

fn check_resource_shape(resource: &Value, _schema: &ResourceSchema, input: &Value) {
    let obj = resource.as_object().unwrap_or_else(|| panic!("not an object after {input}: {resource}"));
    for (key, value) in obj {
        if let Value::Array(items) = value {
            let primaries = items.iter().filter(|el| el.get("primary") == Some(&Value::Bool(true))).count();
            assert!(primaries <= 1, "{key} has {primaries} primary values after {input}: {resource}");
        }
    }
}
