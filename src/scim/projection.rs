//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) applied to a resource.

use crate::scim::path::{AttrPath, parse_path};
use serde_json::{Map, Value};

/// Attributes returned whatever the client asks (RFC 7643 `returned: always`).
const ALWAYS: &[&str] = &["id", "schemas"];

/// Which attributes to keep or drop.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    include: Vec<AttrPath>,
    exclude: Vec<AttrPath>,
}

impl Projection {
    /// Parse the two lists; unparsable names are ignored (they cannot match anything).
    pub fn new(attributes: &[String], excluded: &[String]) -> Projection {
        let parse = |list: &[String]| list.iter().filter_map(|a| parse_path(a).ok()).collect();
        Projection { include: parse(attributes), exclude: parse(excluded) }
    }

    /// True when the client asked for `attr` to be left out (e.g. `members`).
    pub fn excludes(&self, attr: &str) -> bool {
        self.exclude.iter().any(|p| p.sub.is_none() && p.attr.eq_ignore_ascii_case(attr))
            || (!self.include.is_empty() && !self.include.iter().any(|p| p.attr.eq_ignore_ascii_case(attr)))
    }

    /// True when `attributes` names `attr` explicitly (for attributes returned only on request).
    pub fn asks_for(&self, attr: &str) -> bool {
        self.include.iter().any(|p| p.attr.eq_ignore_ascii_case(attr))
    }

    /// Apply to one resource.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(obj) = resource else { return resource };
        let mut out = Map::new();
        for (key, value) in obj {
            if ALWAYS.contains(&key.as_str()) {
                out.insert(key, value);
                continue;
            }
            if let Some(v) = self.project(&key, value) {
                out.insert(key, v);
            }
        }
        Value::Object(out)
    }

    fn project(&self, key: &str, value: Value) -> Option<Value> {
        let is_urn = key.to_ascii_lowercase().starts_with("urn:");
        if is_urn {
            // An extension object: project its attributes by their URN-qualified paths.
            let Value::Object(inner) = value else { return Some(value) };
            let mut out = Map::new();
            for (k, v) in inner {
                if let Some(v) = self.keep(Some(key), &k, v) {
                    out.insert(k, v);
                }
            }
            return if out.is_empty() { None } else { Some(Value::Object(out)) };
        }
        self.keep(None, key, value)
    }

    fn keep(&self, urn: Option<&str>, attr: &str, value: Value) -> Option<Value> {
        let same = |p: &AttrPath| {
            p.attr.eq_ignore_ascii_case(attr)
                && match (urn, &p.urn) {
                    (Some(u), Some(pu)) => u.eq_ignore_ascii_case(pu),
                    (None, Some(pu)) => pu.to_ascii_lowercase().contains(":core:"),
                    (_, None) => true,
                }
        };
        if self.exclude.iter().any(|p| same(p) && p.sub.is_none()) {
            return None;
        }
        let value = self.strip_subs(&self.exclude, &same, value, false);
        if self.include.is_empty() {
            return Some(value);
        }
        let wanted: Vec<&AttrPath> = self.include.iter().filter(|p| same(p)).collect();
        if wanted.is_empty() {
            return None;
        }
        if wanted.iter().any(|p| p.sub.is_none()) {
            return Some(value);
        }
        let keep: Vec<&str> = wanted.iter().filter_map(|p| p.sub.as_deref()).collect();
        Some(retain_subs(value, &keep))
    }

    fn strip_subs(&self, list: &[AttrPath], same: &dyn Fn(&AttrPath) -> bool, value: Value, _: bool) -> Value {
        let drop: Vec<&str> = list.iter().filter(|p| same(p)).filter_map(|p| p.sub.as_deref()).collect();
        if drop.is_empty() {
            return value;
        }
        map_elements(value, &|obj: &mut Map<String, Value>| {
            obj.retain(|k, _| !drop.iter().any(|d| d.eq_ignore_ascii_case(k)))
        })
    }
}

fn retain_subs(value: Value, keep: &[&str]) -> Value {
    map_elements(value, &|obj: &mut Map<String, Value>| {
        obj.retain(|k, _| keep.iter().any(|d| d.eq_ignore_ascii_case(k)))
    })
}

/// Apply `f` to a complex value or to each element of a multi-valued complex attribute.
fn map_elements(value: Value, f: &dyn Fn(&mut Map<String, Value>)) -> Value {
    match value {
        Value::Object(mut obj) => {
            f(&mut obj);
            Value::Object(obj)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| map_elements(v, f)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"schemas": ["x"], "id": "1", "userName": "u", "name": {"givenName": "G", "familyName": "F"},
               "emails": [{"value": "a@b", "type": "work"}], "meta": {"resourceType": "User"},
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}})
    }

    #[test]
    fn attributes_keep_only_what_is_asked_and_id() {
        let p = Projection::new(&["userName".into(), "name.givenName".into()], &[]);
        assert_eq!(p.apply(user()), json!({"schemas": ["x"], "id": "1", "userName": "u", "name": {"givenName": "G"}}));
    }

    #[test]
    fn excluded_attributes_drop_and_never_drop_id() {
        let p = Projection::new(
            &[],
            &[
                "emails".into(),
                "id".into(),
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".into(),
            ],
        );
        let out = p.apply(user());
        assert!(out.get("emails").is_none());
        assert_eq!(out["id"], "1");
        assert!(out.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_none());
        assert!(p.excludes("emails"));
    }
}
