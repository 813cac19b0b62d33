//! SCIM filter → store-neutral user query, through the mapping. Only mapped attributes, `id`,
//! `externalId`, `meta.created`, `meta.lastModified` and `groups` can be filtered on.

use crate::drupal::model::{BaseColumn, Cmp, DbValue, Sort, UserColumn, UserQuery};
use crate::mapping::model::{AttributeMap, Mapping, Target};
use crate::mapping::users::{parse_bool, parse_rfc3339};
use crate::scim::error::ScimError;
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::schema::{USER_RESOURCE, USER_SCHEMA};
use serde_json::Value;

/// How a filter term's value must be converted for its column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Time,
}

/// Translate a SCIM filter over Users.
pub fn user_query(mapping: &Mapping, filter: &Filter) -> Result<UserQuery, ScimError> {
    Ok(match filter {
        Filter::And(a, b) => UserQuery::And(Box::new(user_query(mapping, a)?), Box::new(user_query(mapping, b)?)),
        Filter::Or(a, b) => UserQuery::Or(Box::new(user_query(mapping, a)?), Box::new(user_query(mapping, b)?)),
        Filter::Not(a) => UserQuery::Not(Box::new(user_query(mapping, a)?)),
        Filter::Present(path) => match columns_for(mapping, path) {
            Ok(columns) => any(columns.into_iter().map(|(c, _)| UserQuery::Present(c))),
            Err(e) => return unstored(mapping, path, e, UserQuery::False),
        },
        // `emails[type eq "work"].value eq "x"`: the bracket is decided per mapped element.
        Filter::Compare { path, op, value } if path.filter.is_some() && !multi_maps(mapping, path).is_empty() => {
            let Some(inner) = &path.filter else { return Ok(UserQuery::False) };
            let sub = path.sub.as_deref().unwrap_or("value");
            let mut terms = Vec::new();
            for map in multi_maps(mapping, path) {
                if !is_value_sub(map, sub) {
                    continue;
                }
                let condition = element_query(mapping, map, inner)?;
                if condition == UserQuery::False {
                    continue;
                }
                let kind = if map.boolean { Kind::Bool } else { Kind::Text };
                terms.push(UserQuery::And(
                    Box::new(condition),
                    Box::new(compare(map_column(map), kind, *op, value, path)?),
                ));
            }
            if terms.is_empty() {
                return unstored(mapping, path, unsupported(path), absent_compare(*op, value));
            }
            any(terms.into_iter())
        }
        Filter::Compare { path, op, value } => {
            let columns = match columns_for(mapping, path) {
                Ok(columns) => columns,
                Err(e) => return unstored(mapping, path, e, absent_compare(*op, value)),
            };
            let mut terms = Vec::new();
            for (column, kind) in columns {
                terms.push(compare(column, kind, *op, value, path)?);
            }
            any(terms.into_iter())
        }
        Filter::ValuePath { path, filter } => {
            let maps = multi_maps(mapping, path);
            if maps.is_empty() {
                return unstored(mapping, path, unsupported(path), UserQuery::False);
            }
            let mut terms = Vec::new();
            for map in maps {
                // An element exists only where its column has a value: `emails[type eq "work"]`
                // is false for an account without a mail, as it is in memory.
                let element = element_query(mapping, map, filter)?;
                terms.push(UserQuery::And(Box::new(UserQuery::Present(map_column(map))), Box::new(element)));
            }
            any(terms.into_iter())
        }
    })
}

/// OR of several alternatives (an attribute mapped more than once, e.g. two email types).
fn any(mut terms: impl Iterator<Item = UserQuery>) -> UserQuery {
    let Some(first) = terms.next() else { return UserQuery::False };
    terms.fold(first, |acc, t| UserQuery::Or(Box::new(acc), Box::new(t)))
}

/// An attribute of the SCIM User schema that the mapping does not store has no value on any
/// account, so a filter on it is answered, not refused: `manager eq "x"` matches nobody and
/// `manager ne "x"` everybody. Entra asks `id eq "…" and manager eq "…"` before it sets a manager
/// and must get a ListResponse (a 400 there fails the user's export every cycle). Names the
/// schema does not know, attributes that can never be filtered on, and parts of a mapped attribute
/// the mapping cannot answer for (`emails.type`) stay `err`.
fn unstored(mapping: &Mapping, path: &AttrPath, err: ScimError, absent: UserQuery) -> Result<UserQuery, ScimError> {
    let Some(resolved) = USER_RESOURCE.resolve(path) else { return Err(err) };
    let never = matches!(resolved.attr.name, "id" | "externalId" | "meta" | "password" | "groups");
    let mapped =
        mapping.users.attributes.iter().any(|m| m.schema_urn == resolved.schema && m.attr_name == resolved.attr.name);
    if never || mapped { Err(err) } else { Ok(absent) }
}

/// What a comparison says about an attribute without a value (`null`).
fn absent_compare(op: CompareOp, value: &Value) -> UserQuery {
    match (op, value.is_null()) {
        (CompareOp::Eq, true) | (CompareOp::Ne, false) => UserQuery::True,
        _ => UserQuery::False,
    }
}

fn unsupported(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "filtering on \"{path}\" is not supported: only id, externalId, meta.created, meta.lastModified, groups and the attributes in drupal_mapping.toml can be filtered on"
    ))
}

/// The maps of a multi-valued attribute (`emails`) whatever their value filter.
fn multi_maps<'a>(mapping: &'a Mapping, path: &AttrPath) -> Vec<&'a AttributeMap> {
    mapping
        .users
        .attributes
        .iter()
        .filter(|m| m.multi_valued && urn_matches(m, path) && m.attr_name.eq_ignore_ascii_case(&path.attr))
        .collect()
}

fn urn_matches(map: &AttributeMap, path: &AttrPath) -> bool {
    match &path.urn {
        None => true,
        Some(urn) => urn.eq_ignore_ascii_case(map.schema_urn),
    }
}

/// Inside `emails[...]`: `type eq "work"` is decided by the map's own filter; `value op x` by
/// the column.
fn element_query(mapping: &Mapping, map: &AttributeMap, filter: &Filter) -> Result<UserQuery, ScimError> {
    let recurse = |f: &Filter| element_query(mapping, map, f).map(Box::new);
    Ok(match filter {
        Filter::And(a, b) => UserQuery::And(recurse(a)?, recurse(b)?),
        Filter::Or(a, b) => UserQuery::Or(recurse(a)?, recurse(b)?),
        Filter::Not(a) => UserQuery::Not(recurse(a)?),
        Filter::Present(p) if is_value_sub(map, &p.attr) => UserQuery::Present(map_column(map)),
        Filter::Compare { path, op, value } if is_value_sub(map, &path.attr) => {
            compare(map_column(map), Kind::Text, *op, value, path)?
        }
        // Resources mark the first element with a value primary (and carry no `primary: false`).
        Filter::Compare { path, op: CompareOp::Eq, value } if path.attr.eq_ignore_ascii_case("primary") => {
            if parse_bool(value) == Some(true) { is_primary(mapping, map) } else { UserQuery::False }
        }
        Filter::Present(p) if p.attr.eq_ignore_ascii_case("primary") => is_primary(mapping, map),
        Filter::Compare { path, op: CompareOp::Eq, value } => {
            let fixed = map.filter_terms();
            match fixed.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path.attr)) {
                Some((_, v)) if values_equal(v, value) => UserQuery::True,
                _ => UserQuery::False,
            }
        }
        Filter::Present(p) => {
            if map.filter_terms().iter().any(|(k, _)| k.eq_ignore_ascii_case(&p.attr)) {
                UserQuery::True
            } else {
                UserQuery::False
            }
        }
        other => {
            return Err(ScimError::invalid_filter(format!(
                "\"{other}\" inside {}[…] is not supported; use eq on its type or any operator on its value",
                map.attr_name
            )));
        }
    })
}

/// Whether `map`'s element is the primary one: no element of the same attribute placed before it
/// has a value (the caller requires `map`'s own value).
fn is_primary(mapping: &Mapping, map: &AttributeMap) -> UserQuery {
    UserQuery::Not(Box::new(any(earlier_elements(mapping, map).map(|m| UserQuery::Present(map_column(m))))))
}

/// The maps of the same multi-valued attribute placed before `map` (with other filter terms).
fn earlier_elements<'a>(mapping: &'a Mapping, map: &'a AttributeMap) -> impl Iterator<Item = &'a AttributeMap> {
    let terms = map.filter_terms();
    mapping.users.attributes.iter().take_while(move |m| !std::ptr::eq(*m, map)).filter(move |m| {
        m.multi_valued
            && m.schema_urn == map.schema_urn
            && m.attr_name.eq_ignore_ascii_case(map.attr_name)
            && m.filter_terms() != terms
    })
}

fn is_value_sub(map: &AttributeMap, sub: &str) -> bool {
    sub.eq_ignore_ascii_case(map.sub_name.unwrap_or("value"))
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

fn map_column(map: &AttributeMap) -> UserColumn {
    match &map.target {
        Target::Column(c) => UserColumn::Base(*c),
        Target::Field(f) => UserColumn::Field(f.clone()),
    }
}

/// Which columns an attribute path names. Several when a multi-valued attribute is mapped
/// more than once and the path does not pick one.
fn columns_for(mapping: &Mapping, path: &AttrPath) -> Result<Vec<(UserColumn, Kind)>, ScimError> {
    let core = path.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(USER_SCHEMA));
    if core && path.filter.is_none() {
        let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
        let fixed = match (path.attr.to_ascii_lowercase().as_str(), sub.as_deref()) {
            ("id", None) => Some((UserColumn::Uuid, Kind::Text)),
            ("externalid", None) => Some((UserColumn::ExternalId, Kind::Text)),
            ("meta", Some("created")) => Some((UserColumn::Created, Kind::Time)),
            ("meta", Some("lastmodified")) => Some((UserColumn::Changed, Kind::Time)),
            ("groups", None | Some("value")) => Some((UserColumn::Role, Kind::Text)),
            _ => None,
        };
        if let Some(fixed) = fixed {
            return Ok(vec![fixed]);
        }
    }
    let mut out = Vec::new();
    for map in &mapping.users.attributes {
        if !urn_matches(map, path) || !map.attr_name.eq_ignore_ascii_case(&path.attr) {
            continue;
        }
        if matches!(map.target, Target::Column(BaseColumn::Pass)) {
            return Err(ScimError::invalid_filter("password cannot be filtered on"));
        }
        let sub_ok = match (map.sub_name, &path.sub) {
            (None, None) => true,
            (Some(s), Some(p)) => s.eq_ignore_ascii_case(p),
            // `emails eq "x"` compares the elements' value.
            (Some(s), None) => map.multi_valued && s == "value",
            (None, Some(_)) => false,
        };
        let filter_ok = match &path.filter {
            None => true,
            Some(f) => {
                map.scim.filter.as_ref().is_some_and(|mine| mine.to_string().eq_ignore_ascii_case(&f.to_string()))
            }
        };
        if sub_ok && filter_ok {
            out.push((map_column(map), if map.boolean { Kind::Bool } else { Kind::Text }));
        }
    }
    if out.is_empty() {
        return Err(unsupported(path));
    }
    Ok(out)
}

fn compare(
    column: UserColumn,
    kind: Kind,
    op: CompareOp,
    value: &Value,
    path: &AttrPath,
) -> Result<UserQuery, ScimError> {
    let cmp = match op {
        CompareOp::Eq => Cmp::Eq,
        CompareOp::Ne => Cmp::Ne,
        CompareOp::Co => Cmp::Contains,
        CompareOp::Sw => Cmp::StartsWith,
        CompareOp::Ew => Cmp::EndsWith,
        CompareOp::Gt => Cmp::Gt,
        CompareOp::Ge => Cmp::Ge,
        CompareOp::Lt => Cmp::Lt,
        CompareOp::Le => Cmp::Le,
    };
    let value = match kind {
        Kind::Bool => {
            if !matches!(cmp, Cmp::Eq | Cmp::Ne) {
                return Err(ScimError::invalid_filter(format!("{path} is a boolean: only eq and ne apply")));
            }
            match parse_bool(value) {
                Some(b) => DbValue::Int(i64::from(b)),
                None => {
                    return Err(ScimError::invalid_filter(format!("{path} compares with true or false, not {value}")));
                }
            }
        }
        Kind::Time => match value.as_str().and_then(parse_rfc3339) {
            Some(t) => DbValue::Int(t),
            None => {
                return Err(ScimError::invalid_filter(format!(
                    "{path} compares with an RFC 3339 date-time, not {value}"
                )));
            }
        },
        Kind::Text => match value {
            Value::String(s) => DbValue::Text(s.clone()),
            Value::Number(n) => DbValue::Text(n.to_string()),
            Value::Null if matches!(cmp, Cmp::Eq | Cmp::Ne) => DbValue::Null,
            other => return Err(ScimError::invalid_filter(format!("{path} compares with a string, not {other}"))),
        },
    };
    Ok(UserQuery::Compare { column, cmp, value })
}

/// Translate `sortBy` (default: creation order).
pub fn user_sort(mapping: &Mapping, sort_by: Option<&str>, descending: bool) -> Result<Option<Sort>, ScimError> {
    let Some(sort_by) = sort_by.filter(|s| !s.is_empty()) else { return Ok(None) };
    let path = crate::scim::path::parse_path(sort_by)
        .map_err(|e| ScimError::invalid_value(format!("sortBy: {}", e.detail)))?;
    let columns = columns_for(mapping, &path).map_err(|_| {
        ScimError::invalid_value(format!("sortBy \"{sort_by}\" is not an attribute that can be sorted on"))
    })?;
    match columns.into_iter().next() {
        Some((column, _)) if column != UserColumn::Role => Ok(Some(Sort { column, descending })),
        _ => Err(ScimError::invalid_value(format!("sortBy \"{sort_by}\" cannot be sorted on"))),
    }
}
