//! The PATCH requests sync-out sends. An update first removes each mapped attribute the
//! representation lacks (so that a value cleared in Drupal is cleared on the target, as a PUT
//! would clear it), then replaces the rest in one path-less `replace`. Unlike a PUT it leaves
//! alone what the mapping never sends (attributes the target or another client set), and it
//! works for every account, not only those with every mapped attribute filled in.

use crate::drupal::model::BaseColumn;
use crate::mapping::model::{AttributeMap, Mapping, Target};
use crate::mapping::users::find_value;
use crate::scim::schema::USER_SCHEMA;
use serde_json::{Value, json};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The PATCH body that makes the target's account hold `resource` (a representation).
pub fn update(mapping: &Mapping, resource: &Value) -> Value {
    let mut operations: Vec<Value> =
        absent_paths(mapping, resource).into_iter().map(|path| json!({"op": "remove", "path": path})).collect();
    let mut value = resource.clone();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("schemas");
    }
    // The removals go first: removing a whole element (`emails[type eq "work"]`) and then
    // replacing puts back what the representation still has of it.
    operations.push(json!({"op": "replace", "value": value}));
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// The PATCH body that deactivates an account.
pub fn deactivate() -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]})
}

/// The paths of the mapped attributes `resource` has no value for, each once. The password is
/// never one of them: it is never read back, so its absence says nothing.
fn absent_paths(mapping: &Mapping, resource: &Value) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for map in &mapping.users.attributes {
        if map.target == Target::Column(BaseColumn::Pass) || find_value(map, resource).is_some_and(|v| !v.is_null()) {
            continue;
        }
        let path = removal_path(map);
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// What to remove for a map without a value: the attribute (`timezone`), the sub-attribute
/// (`name.givenName`), or for a multi-valued attribute the element the map's filter selects
/// (`emails[type eq "work"]`), so that no element with only its `type` and `primary` is left.
/// Canonical names, URN-qualified outside the core schema.
fn removal_path(map: &AttributeMap) -> String {
    let attr = if map.schema_urn == USER_SCHEMA {
        map.attr_name.to_string()
    } else {
        format!("{}:{}", map.schema_urn, map.attr_name)
    };
    match (map.multi_valued, &map.scim.filter, map.sub_name) {
        (true, Some(filter), _) => format!("{attr}[{filter}]"),
        (true, None, _) | (false, _, None) => attr,
        (false, _, Some(sub)) => format!("{attr}.{sub}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        let mut text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/drupal_mapping.toml")).unwrap();
        text.push_str(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fields_mapping.toml"))
                .unwrap(),
        );
        Mapping::parse(&text).unwrap()
    }

    #[test]
    fn an_update_removes_what_drupal_lacks_first_then_replaces_the_rest() {
        let resource = json!({
            "schemas": [USER_SCHEMA],
            "userName": "ana",
            "active": true,
            "name": {"familyName": "Ng"},
            "externalId": "x",
        });
        let body = update(&mapping(), &resource);
        let ops = body["Operations"].as_array().unwrap();
        let removed: Vec<&str> =
            ops.iter().filter(|o| o["op"] == "remove").map(|o| o["path"].as_str().unwrap()).collect();
        assert_eq!(
            removed,
            [
                "emails[type eq \"work\"]",
                "timezone",
                "preferredLanguage",
                "name.givenName",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ]
        );
        assert!(!removed.iter().any(|p| p.contains("password") || p.contains("userName") || p.contains("active")));
        let last = ops.last().unwrap();
        assert_eq!(last["op"], "replace");
        assert!(last.get("path").is_none());
        assert_eq!(last["value"]["name"]["familyName"], "Ng");
        assert!(last["value"].get("schemas").is_none(), "schemas belong to the PatchOp message");
    }

    #[test]
    fn a_complete_representation_is_one_replace() {
        let resource = json!({
            "schemas": [USER_SCHEMA], "userName": "ana", "active": true, "timezone": "UTC",
            "preferredLanguage": "en", "emails": [{"type": "work", "primary": true, "value": "a@example.org"}],
            "name": {"givenName": "Ana", "familyName": "Ng"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "employeeNumber": "1"},
        });
        let body = update(&mapping(), &resource);
        assert_eq!(body["Operations"].as_array().unwrap().len(), 1, "{body}");
        assert_eq!(deactivate()["Operations"][0]["path"], "active");
    }
}
