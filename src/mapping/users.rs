//! SCIM User JSON ↔ Drupal account, attribute by attribute as the mapping says.

use crate::drupal::model::{BaseColumn, DbValue, UserRecord, UserWrite};
use crate::mapping::model::{AttributeMap, Mapping, Target, Transform};
use crate::scim::error::ScimError;
use crate::scim::filter::matches;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use serde_json::{Map, Value, json};

/// A group a user belongs to, as shown in the read-only `groups` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub display: String,
}

/// Build the SCIM resource of a Drupal account. `location` is the URL of `/Users/{id}`.
pub fn to_resource(mapping: &Mapping, record: &UserRecord, location: &str, groups: &[GroupRef]) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::from(USER_SCHEMA)];
    out.insert("id".into(), Value::from(record.uuid.clone()));
    if let Some(ext) = &record.external_id {
        out.insert("externalId".into(), Value::from(ext.clone()));
    }
    for map in &mapping.users.attributes {
        let Some(value) = stored_value(map, record) else { continue };
        if map.schema_urn == ENTERPRISE_USER_SCHEMA && !schemas.iter().any(|s| s == ENTERPRISE_USER_SCHEMA) {
            schemas.push(Value::from(ENTERPRISE_USER_SCHEMA));
        }
        place(&mut out, map, value);
    }
    if !groups.is_empty() {
        let list: Vec<Value> =
            groups.iter().map(|g| json!({"value": g.id, "display": g.display, "type": "direct"})).collect();
        out.insert("groups".into(), Value::Array(list));
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": rfc3339(record.created),
            "lastModified": rfc3339(record.changed.max(record.created)),
            "location": location,
        }),
    );
    let mut resource = Value::Object(out);
    crate::scim::version::stamp_in(&mut resource, &mapping.realm);
    resource
}

/// The JSON value of one mapped attribute, or None when Drupal stores nothing for it.
fn stored_value(map: &AttributeMap, record: &UserRecord) -> Option<Value> {
    match &map.target {
        Target::Column(BaseColumn::Pass) => None,
        Target::Column(BaseColumn::Status) => Some(Value::Bool(record.is_active())),
        Target::Column(column) => match record.get(*column) {
            DbValue::Text(s) if !s.is_empty() => Some(Value::from(s.clone())),
            DbValue::Int(i) => Some(Value::from(i.to_string())),
            _ => None,
        },
        Target::Field(field) => record.fields.get(field).and_then(|v| v.first()).map(|s| Value::from(s.clone())),
    }
}

/// Put `value` where the map's SCIM path says, creating containers and array elements.
fn place(out: &mut Map<String, Value>, map: &AttributeMap, value: Value) {
    let container = if map.schema_urn == USER_SCHEMA {
        out
    } else {
        match out.entry(map.schema_urn.to_string()).or_insert_with(|| Value::Object(Map::new())) {
            Value::Object(o) => o,
            _ => return,
        }
    };
    match (map.multi_valued, map.sub_name) {
        (false, None) => {
            container.insert(map.attr_name.to_string(), value);
        }
        (false, Some(sub)) => {
            if let Value::Object(o) = container.entry(map.attr_name.to_string()).or_insert_with(|| json!({})) {
                o.insert(sub.to_string(), value);
            }
        }
        (true, sub) => {
            let sub = sub.unwrap_or("value");
            let Value::Array(items) = container.entry(map.attr_name.to_string()).or_insert_with(|| json!([])) else {
                return;
            };
            let terms = map.filter_terms();
            let existing = items.iter_mut().position(|item| terms.iter().all(|(k, v)| item.get(k) == Some(v)));
            let index = match existing {
                Some(i) => i,
                None => {
                    let mut element = Map::new();
                    for (k, v) in &terms {
                        element.insert(k.clone(), v.clone());
                    }
                    if items.is_empty() {
                        element.insert("primary".into(), Value::Bool(true));
                    }
                    items.push(Value::Object(element));
                    items.len() - 1
                }
            };
            if let Some(Value::Object(element)) = items.get_mut(index) {
                element.insert(sub.to_string(), value);
            }
        }
    }
}

/// Read every mapped attribute from a full SCIM resource (POST, PUT, or a patched resource).
/// Absent attributes come back as NULL / empty so the caller can default or clear them;
/// the password only when one was sent; the externalId always.
pub fn from_resource(mapping: &Mapping, resource: &Value) -> Result<UserWrite, ScimError> {
    let mut write = UserWrite::default();
    for map in &mapping.users.attributes {
        let raw = find_value(map, resource);
        match &map.target {
            Target::Column(BaseColumn::Pass) => {
                if let Some(v) = raw.filter(|v| !v.is_null()) {
                    let pw = v.as_str().ok_or_else(|| ScimError::invalid_value("password must be a string"))?;
                    write.password = Some(pw.to_string());
                }
            }
            Target::Column(column) => {
                write.base.insert(*column, column_value(map, raw)?);
            }
            Target::Field(field) => {
                let values = match column_value(map, raw)? {
                    DbValue::Text(s) => vec![s],
                    DbValue::Int(i) => vec![i.to_string()],
                    DbValue::Null => vec![],
                };
                write.fields.insert(field.clone(), values);
            }
        }
    }
    let external_id = match get_ci(resource, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ScimError::invalid_value("externalId must be a string")),
    };
    if let Some(ext) = &external_id
        && ext.chars().count() > 255
    {
        return Err(ScimError::invalid_value("externalId is longer than 255 characters"));
    }
    write.external_id = Some(external_id);
    Ok(write)
}

/// A key of a JSON object, matched case-insensitively (SCIM attribute names are).
pub fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = value.as_object()?;
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Find the raw JSON value a map reads, following its path through the resource (sync-out
/// also asks it which mapped attributes a representation lacks).
pub fn find_value<'a>(map: &AttributeMap, resource: &'a Value) -> Option<&'a Value> {
    let container = if map.schema_urn == USER_SCHEMA { Some(resource) } else { get_ci(resource, map.schema_urn) }?;
    let attr = get_ci(container, map.attr_name)?;
    if !map.multi_valued {
        return match map.sub_name {
            None => Some(attr),
            Some(sub) => get_ci(attr, sub),
        };
    }
    let items = attr.as_array()?;
    let sub = map.sub_name.unwrap_or("value");
    let chosen = match &map.scim.filter {
        Some(filter) => items.iter().find(|item| matches(filter, item)),
        None => None,
    }
    // A client that sends one email without a type (or marks one primary) still means it.
    .or_else(|| items.iter().find(|item| get_ci(item, "primary").is_some_and(is_true)))
    .or_else(|| if items.len() == 1 { items.first() } else { None })?;
    get_ci(chosen, sub)
}

fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Convert one JSON value to what its column stores, applying the transform and length limit.
fn column_value(map: &AttributeMap, raw: Option<&Value>) -> Result<DbValue, ScimError> {
    let name = &map.scim_text;
    let Some(raw) = raw else { return Ok(DbValue::Null) };
    if map.boolean {
        return match parse_bool(raw) {
            Some(b) => Ok(DbValue::Int(i64::from(b))),
            None if raw.is_null() => Ok(DbValue::Null),
            None => Err(ScimError::invalid_value(format!("{name} must be true or false, not {raw}"))),
        };
    }
    let text = match raw {
        Value::Null => return Ok(DbValue::Null),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(ScimError::invalid_value(format!("{name} must be a string, not {other}"))),
    };
    let text = match map.transform {
        Transform::None => text,
        Transform::Lowercase => text.to_lowercase(),
        Transform::Trim => text.trim().to_string(),
    };
    if text.is_empty() {
        return Ok(DbValue::Null);
    }
    if text.contains('\0') {
        return Err(ScimError::invalid_value(format!("{name} contains a NUL character")));
    }
    if let Some(max) = map.max_len
        && text.chars().count() > max
    {
        return Err(ScimError::invalid_value(format!(
            "{name} is longer than the {max} characters Drupal's {} holds",
            map.target
        )));
    }
    Ok(DbValue::Text(text))
}

/// SCIM booleans, including Entra's "True"/"False" strings.
pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Unix seconds as an RFC 3339 UTC timestamp.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// An RFC 3339 timestamp as unix seconds (for meta.created / meta.lastModified filters).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok().map(|t| t.unix_timestamp())
}

/// What changes between a stored account and the values a client now wants.
pub fn diff(current: &UserRecord, wanted: &UserWrite) -> UserWrite {
    let mut out = UserWrite::default();
    for (column, value) in &wanted.base {
        if current.get(*column) != value {
            out.base.insert(*column, value.clone());
        }
    }
    for (field, values) in &wanted.fields {
        let now = current.fields.get(field).cloned().unwrap_or_default();
        if &now != values {
            out.fields.insert(field.clone(), values.clone());
        }
    }
    out.password = wanted.password.clone();
    if let Some(ext) = &wanted.external_id
        && ext != &current.external_id
    {
        out.external_id = Some(ext.clone());
    }
    out
}
