//! `/Bulk` (RFC 7644 §3.7): operations run in order, each in its own transaction, with `bulkId`
//! references resolved from the results of earlier operations.

use crate::provision::groups::Patched;
use crate::provision::{GroupService, UserService};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::projection::Projection;
use crate::scim::schema::{BULK_REQUEST, BULK_RESPONSE};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Limits advertised in ServiceProviderConfig and enforced here.
#[derive(Debug, Clone, Copy)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_size: usize,
}

/// Run a bulk request.
pub async fn run(
    users: &UserService,
    groups: &GroupService,
    body: &Value,
    base: &str,
    limits: BulkLimits,
) -> Result<Value, ScimError> {
    let Value::Object(obj) = body else {
        return Err(ScimError::invalid_syntax("a bulk request must be a JSON object"));
    };
    let schemas_ok = obj.get("schemas").and_then(Value::as_array).is_some_and(|s| s.iter().any(|v| v == BULK_REQUEST));
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!("schemas must contain {BULK_REQUEST}")));
    }
    let ops = obj
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be a list"))?;
    if ops.len() > limits.max_operations {
        return Err(ScimError::new(
            413,
            Some(ScimType::TooMany),
            format!("at most {} operations per bulk request (got {})", limits.max_operations, ops.len()),
        ));
    }
    let fail_on_errors = match obj.get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| ScimError::invalid_value("failOnErrors must be a positive integer"))?,
        ),
    };
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results = Vec::new();
    let mut errors = 0u64;
    for op in ops {
        if fail_on_errors.is_some_and(|max| errors >= max) {
            break;
        }
        let result = run_one(users, groups, op, base, &mut ids).await;
        if result.get("response").is_some() {
            errors += 1;
        }
        results.push(result);
    }
    Ok(json!({"schemas": [BULK_RESPONSE], "Operations": results}))
}

async fn run_one(
    users: &UserService,
    groups: &GroupService,
    op: &Value,
    base: &str,
    ids: &mut HashMap<String, String>,
) -> Value {
    let method = op.get("method").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
    let bulk_id = op.get("bulkId").and_then(Value::as_str).map(String::from);
    let mut out = Map::new();
    out.insert("method".into(), Value::from(method.clone()));
    if let Some(b) = &bulk_id {
        out.insert("bulkId".into(), Value::from(b.clone()));
    }
    match execute(users, groups, op, &method, bulk_id.as_deref(), base, ids).await {
        Ok((status, resource)) => {
            if let Some(r) = &resource {
                if let Some(loc) = r.pointer("/meta/location") {
                    out.insert("location".into(), loc.clone());
                }
                if let Some(v) = r.pointer("/meta/version") {
                    out.insert("version".into(), v.clone());
                }
            }
            out.insert("status".into(), Value::from(status.to_string()));
        }
        Err(e) => {
            out.insert("status".into(), Value::from(e.status.to_string()));
            out.insert("response".into(), crate::scim::error_body(&e));
        }
    }
    Value::Object(out)
}

async fn execute(
    users: &UserService,
    groups: &GroupService,
    op: &Value,
    method: &str,
    bulk_id: Option<&str>,
    base: &str,
    ids: &mut HashMap<String, String>,
) -> Result<(u16, Option<Value>), ScimError> {
    let path = op
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("each operation needs a path"))?;
    let path = resolve_text(path, ids)?;
    let data = match op.get("data") {
        Some(d) => Some(resolve(d, ids)?),
        None => None,
    };
    let need_data = || data.clone().ok_or_else(|| ScimError::invalid_syntax(format!("{method} {path} needs data")));
    let if_match = op.get("version").and_then(Value::as_str);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let none = Projection::default();
    let (status, resource) = match (method, segments.as_slice()) {
        ("POST", ["Users"]) => (201, Some(users.create(&need_data()?, base).await?.resource)),
        ("POST", ["Groups"]) => (201, Some(groups.create(&need_data()?, base, &none).await?)),
        ("PUT", ["Users", id]) => (200, Some(users.replace(id, &need_data()?, base, if_match).await?)),
        ("PUT", ["Groups", id]) => (200, Some(groups.replace(id, &need_data()?, base, &none, if_match).await?)),
        ("PATCH", ["Users", id]) => (200, Some(users.patch(id, need_data()?, base, if_match).await?)),
        ("PATCH", ["Groups", id]) => match groups.patch(id, need_data()?, base, Some(&none), if_match).await? {
            Patched::Resource(r) => (200, Some(r)),
            Patched::NoContent => (204, None),
        },
        ("DELETE", ["Users", id]) => {
            users.delete(id, if_match).await?;
            (204, None)
        }
        ("DELETE", ["Groups", id]) => {
            groups.delete(id, if_match).await?;
            (204, None)
        }
        _ => {
            return Err(ScimError::invalid_path(format!(
                "{method} {path} is not a bulk operation this server performs"
            )));
        }
    };
    if let (Some(b), Some(id)) = (bulk_id, resource.as_ref().and_then(|r| r.get("id")).and_then(Value::as_str)) {
        ids.insert(b.to_string(), id.to_string());
    }
    Ok((status, resource))
}

/// Replace `bulkId:x` references with the ids earlier operations produced.
fn resolve(value: &Value, ids: &HashMap<String, String>) -> Result<Value, ScimError> {
    Ok(match value {
        Value::String(s) => Value::String(resolve_text(s, ids)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, ids)).collect::<Result<_, _>>()?),
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                out.insert(k.clone(), resolve(v, ids)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn resolve_text(s: &str, ids: &HashMap<String, String>) -> Result<String, ScimError> {
    let Some(start) = s.find("bulkId:") else { return Ok(s.to_string()) };
    let (head, tail) = s.split_at(start);
    let reference = tail.trim_start_matches("bulkId:");
    let end = reference.find('/').unwrap_or(reference.len());
    let (key, rest) = reference.split_at(end);
    let id = ids.get(key).ok_or_else(|| {
        ScimError::new(
            409,
            Some(ScimType::InvalidValue),
            format!("bulkId:{key} does not name an earlier successful operation"),
        )
    })?;
    Ok(format!("{head}{id}{}", resolve_text(rest, ids)?))
}
