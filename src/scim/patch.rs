//! The SCIM PATCH engine (RFC 7644 §3.5.2): parses a `PatchOp` request body and applies its
//! operations to a resource held as JSON.
//!
//! The resource is the full current representation with canonical attribute names; extension
//! attributes live under their schema URN (`resource["urn:…:enterprise:2.0:User"]["department"]`).
//! Besides the RFC, the engine accepts what Microsoft Entra ID and Okta actually send: capitalised
//! op names, booleans as strings (`"False"`), path-less values carrying dotted and URN-qualified
//! keys, value-filter paths that create the element they name, member removal by value list, and
//! `manager` sent as a bare id. It performs no I/O and knows nothing about storage.

use std::fmt;

use serde_json::{Map, Value};

use crate::scim::error::ScimError;
use crate::scim::filter::{self, CompareOp, Filter};
use crate::scim::path::{self, AttrPath};
use crate::scim::schema::{AttrType, AttributeDef, Mutability, PATCH_OP, Resolved, ResourceSchema, SchemaDef};

/// The operation of one PATCH step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

impl PatchOpKind {
    /// Parses an op name case-insensitively (Entra sends `Add`/`Replace`/`Remove`).
    pub fn parse(name: &str) -> Option<PatchOpKind> {
        [PatchOpKind::Add, PatchOpKind::Remove, PatchOpKind::Replace]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }

    /// The RFC spelling: `add`, `remove` or `replace`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

impl fmt::Display for PatchOpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed PATCH operation. `value` is `Some(Value::Null)` when the client sent `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: Option<AttrPath>,
    pub value: Option<Value>,
}

// ---------------------------------------------------------------------------------------------
// Parsing the request body

/// Parses a PATCH request body into its operations (an empty `Operations` array is valid).
/// The body is taken, not borrowed: an operation's value moves into the op (a 1,000-member Add
/// is not copied).
pub fn parse_request(body: Value) -> Result<Vec<PatchOp>, ScimError> {
    let Value::Object(mut obj) = body else {
        return Err(ScimError::invalid_syntax("PATCH body must be a JSON object"));
    };
    check_schemas(&obj)?;
    let ops = match remove_ci(&mut obj, "Operations") {
        Some(Value::Array(ops)) => ops,
        Some(_) => return Err(ScimError::invalid_syntax("\"Operations\" must be an array")),
        None => return Err(ScimError::invalid_syntax("PATCH body lacks \"Operations\"")),
    };
    ops.into_iter().enumerate().map(|(i, op)| parse_op(op).map_err(|e| at_index(i, e))).collect()
}

/// `schemas` may be missing (lenient), but when present it must name the PatchOp message.
fn check_schemas(obj: &Map<String, Value>) -> Result<(), ScimError> {
    let is_patch = |v: &Value| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP));
    let ok = match get_ci(obj, "schemas") {
        None => true,
        Some(Value::Array(ids)) => ids.iter().any(is_patch),
        Some(other) => is_patch(other),
    };
    if ok { Ok(()) } else { Err(ScimError::invalid_syntax(format!("\"schemas\" must contain \"{PATCH_OP}\""))) }
}

fn parse_op(v: Value) -> Result<PatchOp, ScimError> {
    let Value::Object(mut obj) = v else {
        return Err(ScimError::invalid_syntax("operation must be a JSON object"));
    };
    let op = match get_ci(&obj, "op") {
        Some(Value::String(name)) => {
            PatchOpKind::parse(name).ok_or_else(|| ScimError::invalid_syntax(format!("unknown op \"{name}\"")))?
        }
        Some(_) => return Err(ScimError::invalid_syntax("\"op\" must be a string")),
        None => return Err(ScimError::invalid_syntax("operation lacks \"op\"")),
    };
    let path = match get_ci(&obj, "path") {
        // An empty path is treated as absent: some clients send "" for path-less operations.
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(parse_op_path(s)?),
        Some(_) => return Err(ScimError::invalid_syntax("\"path\" must be a string")),
    };
    let value = remove_ci(&mut obj, "value");
    match op {
        PatchOpKind::Remove if path.is_none() => Err(ScimError::no_target("remove needs a path")),
        PatchOpKind::Add | PatchOpKind::Replace if value.is_none() => {
            Err(ScimError::invalid_syntax(format!("{op} needs a \"value\"")))
        }
        _ => Ok(PatchOp { op, path, value }),
    }
}

/// A PATCH `path`. Besides an attribute path it may be the bare URN of an extension schema
/// (`"path": "urn:…:enterprise:2.0:User"`, the value an object of the extension's attributes),
/// which the attribute-path grammar refuses: it is kept split at its last ':' (urn
/// `urn:…:enterprise:2.0`, attr `User`, displayed as written) for [`extension_named`] to
/// recognise once the resource's schemas are known.
fn parse_op_path(s: &str) -> Result<AttrPath, ScimError> {
    let trimmed = s.trim();
    if path::is_schema_urn(trimmed)
        && let Some((head, tail)) = trimmed.rsplit_once(':')
    {
        return Ok(AttrPath { urn: Some(head.to_string()), ..AttrPath::new(tail) });
    }
    path::parse_path(s)
}

/// Prefixes an error with the index of the operation that caused it.
fn at_index(i: usize, e: ScimError) -> ScimError {
    ScimError { detail: format!("Operations[{i}]: {}", e.detail), ..e }
}

// ---------------------------------------------------------------------------------------------
// Applying operations

/// Applies `ops` in order to `resource` (a JSON object). On error the resource is left partly
/// modified; callers patch a clone and discard it on failure.
pub fn apply(resource: &mut Value, ops: &[PatchOp], schema: &ResourceSchema) -> Result<(), ScimError> {
    let res =
        resource.as_object_mut().ok_or_else(|| ScimError::new(500, None, "resource to patch is not a JSON object"))?;
    for (i, op) in ops.iter().enumerate() {
        apply_op(res, op, schema).map_err(|e| at_index(i, e))?;
    }
    Ok(())
}

/// A resolved place to write: the attribute (and sub-attribute) plus the value filter, if any.
struct Target<'p> {
    at: Resolved,
    filter: Option<&'p Filter>,
}

impl Target<'_> {
    fn name(&self) -> String {
        self.at.display_name()
    }
}

fn apply_op(res: &mut Map<String, Value>, op: &PatchOp, schema: &ResourceSchema) -> Result<(), ScimError> {
    if let Some(p) = op.path.as_ref().filter(|p| p.filter.is_none() && p.sub.is_none()) {
        if let Some(ext) = extension_named(p, schema) {
            return apply_extension_path(res, op.op, ext, op.value.as_ref(), schema);
        }
        if path::is_schema_urn(&p.to_string()) {
            return Err(ScimError::invalid_path(format!(
                "\"{p}\" is a schema URN: a path names an attribute after it, or is the URN of an extension of this resource"
            )));
        }
    }
    match (&op.path, op.op) {
        (Some(p), kind) => {
            // An explicit path must name a known, writable attribute: here strictness helps the
            // client find its mapping mistake.
            let target = target_of(p, schema, true)?
                .ok_or_else(|| ScimError::invalid_path(format!("unknown attribute \"{p}\"")))?;
            apply_to(res, kind, &target, op.value.as_ref())
        }
        (None, PatchOpKind::Remove) => Err(ScimError::no_target("remove needs a path")),
        (None, kind) => apply_pathless(res, kind, op.value.as_ref(), schema),
    }
}

/// Resolves `p`. With `strict`, unknown and readOnly attributes are errors; without it (keys of
/// path-less values) they yield `None` so the caller skips them.
fn target_of<'p>(p: &'p AttrPath, schema: &ResourceSchema, strict: bool) -> Result<Option<Target<'p>>, ScimError> {
    let Some(at) = schema.resolve(p) else {
        if strict && p.urn.is_none() && p.is("schemas") {
            return Err(ScimError::mutability("\"schemas\" is maintained by the server"));
        }
        return if strict { Err(ScimError::invalid_path(format!("unknown attribute \"{p}\""))) } else { Ok(None) };
    };
    let read_only =
        at.attr.mutability == Mutability::ReadOnly || at.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly);
    if read_only {
        return if strict {
            Err(ScimError::mutability(format!("attribute \"{}\" is readOnly", at.display_name())))
        } else {
            Ok(None)
        };
    }
    let filter = p.filter.as_deref();
    if filter.is_some() && !(at.attr.multi_valued && at.attr.is_complex()) {
        return Err(ScimError::invalid_path(format!(
            "a value filter needs a multi-valued complex attribute, \"{}\" is not",
            at.attr.name
        )));
    }
    Ok(Some(Target { at, filter }))
}

/// Path-less add/replace: every key of the value object is treated as a path (plain, dotted,
/// URN-qualified) or a bare schema URN holding an object of that schema's attributes.
fn apply_pathless(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let Some(Value::Object(map)) = value else {
        return Err(ScimError::invalid_value(format!("{kind} without a path needs an object value")));
    };
    let ids = schema.schema_ids();
    for (key, v) in map {
        match path::split_schema_urn(key, &ids) {
            Some((urn, "")) => apply_schema_object(res, kind, urn, v, schema)?,
            Some((urn, rest)) => {
                let mut p = path::parse_path(rest)?;
                p.urn = Some(urn.to_string());
                apply_pathless_entry(res, kind, &p, v, schema)?;
            }
            // Keys naming no schema of ours: a plain path, or an unknown URN that resolves to nothing.
            None => {
                // `schemas` is not an attribute to set (Okta echoes it back), and a bare URN of an
                // extension we do not serve is an unknown key like any other: skip both.
                if key.eq_ignore_ascii_case("schemas") || path::is_schema_urn(key) {
                    continue;
                }
                let p = path::parse_path(key)?;
                apply_pathless_entry(res, kind, &p, v, schema)?;
            }
        }
    }
    Ok(())
}

/// The extension `p` names, when it is the bare URN of one of the resource's extensions (see
/// [`parse_op_path`]). The core schema's URN is not taken as a path: its attributes are the
/// resource's own, named without it.
fn extension_named(p: &AttrPath, schema: &ResourceSchema) -> Option<&'static SchemaDef> {
    if p.filter.is_some() || p.sub.is_some() || p.urn.is_none() {
        return None;
    }
    schema.extension(&p.to_string())
}

/// An operation whose path is an extension's URN (RFC 7644 §3.5.2; SCIM test tools send it):
/// add/replace apply the object value as the path-less form `{"<urn>": {…}}` does, and remove
/// (or a null value) removes every attribute of the extension.
fn apply_extension_path(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    ext: &'static SchemaDef,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let removes = kind == PatchOpKind::Remove || value.is_some_and(Value::is_null);
    if !removes {
        return apply_schema_object(res, kind, ext.id, need_value(value, kind)?, schema);
    }
    for attr in ext.attributes {
        let p = AttrPath { urn: Some(ext.id.to_string()), ..AttrPath::new(attr.name) };
        // readOnly attributes are the server's: skipped, as in a path-less value.
        if let Some(target) = target_of(&p, schema, false)? {
            apply_to(res, PatchOpKind::Remove, &target, None)?;
        }
    }
    Ok(())
}

/// `"urn:…:enterprise:2.0:User": {"department": "X"}` inside a path-less value.
fn apply_schema_object(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    urn: &str,
    v: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let Value::Object(inner) = v else {
        return Err(ScimError::invalid_value(format!("\"{urn}\" must be an object of attributes")));
    };
    for (key, v) in inner {
        let mut p = path::parse_path(key)?;
        p.urn.get_or_insert_with(|| urn.to_string());
        apply_pathless_entry(res, kind, &p, v, schema)?;
    }
    Ok(())
}

fn apply_pathless_entry(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    p: &AttrPath,
    v: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    // Unknown and readOnly keys are skipped: Okta sends `id`/`meta` back in replace values.
    match target_of(p, schema, false)? {
        Some(target) => apply_to(res, kind, &target, Some(v)),
        None => Ok(()),
    }
}

/// Applies one operation at a resolved target, picking the container (resource or extension).
fn apply_to(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    // JSON null means "unassigned" (RFC 7643 §2.5), so setting null removes.
    let (kind, value) = match value {
        Some(Value::Null) => (PatchOpKind::Remove, None),
        _ => (kind, value),
    };
    if !t.at.extension {
        return apply_in(res, kind, t, value);
    }
    let mut ext = take_object(res, t.at.schema);
    let result = apply_in(&mut ext, kind, t, value);
    put_extension(res, t.at.schema, ext);
    result
}

fn apply_in(
    container: &mut Map<String, Value>,
    kind: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let a = t.at.attr;
    let whole = t.filter.is_none() && t.at.sub.is_none();
    // A value on remove only narrows multi-valued removals; a single-valued one goes entirely.
    let removes_all = !a.multi_valued || value.is_none();
    if kind == PatchOpKind::Remove && whole && a.required && removes_all {
        return Err(ScimError::invalid_value(format!("{} is required and cannot be removed", a.name)));
    }
    if a.multi_valued { apply_multi(container, kind, t, value) } else { apply_single(container, kind, t, value) }
}

fn need_value(value: Option<&Value>, kind: PatchOpKind) -> Result<&Value, ScimError> {
    value.ok_or_else(|| ScimError::invalid_syntax(format!("{kind} needs a \"value\"")))
}

// ---- single-valued attributes ----

fn apply_single(
    container: &mut Map<String, Value>,
    kind: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let a = t.at.attr;
    match (t.at.sub, kind) {
        (None, PatchOpKind::Remove) => {
            check_immutable(a, a.name, get_ci(container, a.name), None)?;
            remove_ci(container, a.name);
            Ok(())
        }
        // add on a single-valued attribute is replace; on a complex one both merge (RFC 7644
        // §3.5.2.1/.3: sub-attributes not given stay unchanged).
        (None, _) => {
            let v = need_value(value, kind)?;
            if a.is_complex() {
                // Entra sends the enterprise `manager` as a one-element list:
                // `{"op":"Add","path":"manager","value":[{"$ref":null,"value":"<id>"}]}`.
                let v = match v {
                    Value::Array(items) if items.len() == 1 => &items[0],
                    other => other,
                };
                let patch = coerce_complex(a, v, a.name)?;
                let mut cur = take_object(container, a.name);
                let result = merge_into(&mut cur, a, patch, a.name);
                put_object(container, a.name, cur);
                result
            } else {
                let v = coerce_single(a, v, a.name)?;
                check_immutable(a, a.name, get_ci(container, a.name), Some(&v))?;
                set_ci(container, a.name, v);
                Ok(())
            }
        }
        (Some(sub), kind) => {
            let mut patch = Map::new();
            if kind == PatchOpKind::Remove {
                patch.insert(sub.name.to_string(), Value::Null);
            } else {
                let v = coerce_single(sub, need_value(value, kind)?, &t.name())?;
                patch.insert(sub.name.to_string(), v);
            }
            let mut cur = take_object(container, a.name);
            let result = merge_into(&mut cur, a, patch, a.name);
            put_object(container, a.name, cur);
            result
        }
    }
}

// ---- multi-valued attributes ----

fn apply_multi(
    container: &mut Map<String, Value>,
    kind: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let a = t.at.attr;
    let mut items = take_array(container, a.name);
    let result = if t.filter.is_none() && t.at.sub.is_none() {
        apply_whole(a, &mut items, kind, value)
    } else {
        apply_elements(a, &mut items, kind, t, value)
    };
    if let Ok(touched) = &result {
        fix_primary(&mut items, touched);
    }
    put_array(container, a.name, items);
    result.map(|_| ())
}

/// Operations on the whole multi-valued attribute. Returns the indices of written elements.
fn apply_whole(
    a: &AttributeDef,
    items: &mut Vec<Value>,
    kind: PatchOpKind,
    value: Option<&Value>,
) -> Result<Vec<usize>, ScimError> {
    match kind {
        PatchOpKind::Add => {
            let mut touched = Vec::new();
            for new in coerce_items(a, need_value(value, kind)?)? {
                // RFC 7644 §3.5.2.1: adding a value that is already there changes nothing.
                if !items.iter().any(|old| same_element(a, old, &new)) {
                    touched.push(items.len());
                    items.push(new);
                }
            }
            Ok(touched)
        }
        PatchOpKind::Replace => {
            *items = coerce_items(a, need_value(value, kind)?)?;
            Ok((0..items.len()).collect())
        }
        PatchOpKind::Remove => {
            match value {
                None => items.clear(),
                // Entra removes group members as `path: "members", value: [{"value": id}, …]`:
                // drop just those elements.
                Some(v) => {
                    let gone = as_list(v);
                    items.retain(|old| !gone.iter().any(|g| removal_matches(a, old, g)));
                }
            }
            Ok(Vec::new())
        }
    }
}

/// Operations on the elements selected by a value filter (all elements when there is none but
/// a sub-attribute is named, e.g. `emails.type`). Returns the indices of written elements.
fn apply_elements(
    a: &AttributeDef,
    items: &mut Vec<Value>,
    kind: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<Vec<usize>, ScimError> {
    let selected: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, el)| el.is_object() && t.filter.is_none_or(|f| filter::matches(f, el)))
        .map(|(i, _)| i)
        .collect();
    let patch = element_patch(a, kind, t, value)?;
    if kind == PatchOpKind::Remove && t.at.sub.is_none() {
        // `members[value eq "x"]`: drop the matches; no match is a no-op, not an error.
        let mut i = 0;
        items.retain(|_| {
            let keep = !selected.contains(&i);
            i += 1;
            keep
        });
        return Ok(Vec::new());
    }
    if selected.is_empty() {
        if kind == PatchOpKind::Remove {
            return Ok(Vec::new());
        }
        // Entra relies on `emails[type eq "work"].value` creating the work email when absent,
        // so build the element from the filter's eq terms instead of answering noTarget.
        let mut el = template(a, t)?;
        for (k, v) in patch {
            if !v.is_null() {
                set_ci(&mut el, &k, v);
            }
        }
        items.push(Value::Object(el));
        return Ok(vec![items.len() - 1]);
    }
    for &i in &selected {
        if let Some(Value::Object(el)) = items.get_mut(i) {
            merge_into(el, a, patch.clone(), a.name)?;
        }
    }
    Ok(selected)
}

/// The sub-attribute changes an element operation makes; `null` marks a sub-attribute to remove.
fn element_patch(
    a: &AttributeDef,
    kind: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<Map<String, Value>, ScimError> {
    if kind == PatchOpKind::Remove {
        let mut m = Map::new();
        if let Some(sub) = t.at.sub {
            m.insert(sub.name.to_string(), Value::Null);
        }
        return Ok(m);
    }
    match t.at.sub {
        Some(sub) => {
            let v = coerce_single(sub, need_value(value, kind)?, &t.name())?;
            Ok(Map::from_iter([(sub.name.to_string(), v)]))
        }
        None => coerce_complex(a, need_value(value, kind)?, a.name),
    }
}

/// The element a value filter describes: `type eq "work" and primary eq true` gives
/// `{"type": "work", "primary": true}`. Other filter shapes cannot be turned into an element.
fn template(a: &AttributeDef, t: &Target<'_>) -> Result<Map<String, Value>, ScimError> {
    let mut el = Map::new();
    let Some(f) = t.filter else {
        return Ok(el);
    };
    let mut terms = Vec::new();
    if !eq_terms(f, &mut terms) {
        return Err(ScimError::no_target(format!(
            "no value of \"{}\" matches [{f}], and only eq terms joined by and can create one",
            a.name
        )));
    }
    for (p, literal) in terms {
        let sub = a
            .sub(&p.attr)
            .ok_or_else(|| ScimError::invalid_path(format!("unknown attribute \"{}.{}\"", a.name, p.attr)))?;
        if !literal.is_null() {
            let v = coerce_single(sub, literal, &format!("{}.{}", a.name, sub.name))?;
            el.insert(sub.name.to_string(), v);
        }
    }
    Ok(el)
}

/// Collects `attr eq literal` terms of an and-chain; false if the filter is anything else.
fn eq_terms<'f>(f: &'f Filter, out: &mut Vec<(&'f AttrPath, &'f Value)>) -> bool {
    match f {
        Filter::And(l, r) => eq_terms(l, out) && eq_terms(r, out),
        Filter::Compare { path, op: CompareOp::Eq, value }
            if path.urn.is_none() && path.filter.is_none() && path.sub.is_none() =>
        {
            out.push((path, value));
            true
        }
        _ => false,
    }
}

/// Whether an add would duplicate `old`: same `value` when both have one, else deep equality.
fn same_element(a: &AttributeDef, old: &Value, new: &Value) -> bool {
    match (get_ci_value(old, "value"), get_ci_value(new, "value")) {
        (Some(x), Some(y)) => values_equal(a, x, y),
        _ => old == new,
    }
}

/// Whether `old` is named by one item of a remove value list: `{"value": id}` (or a bare id)
/// matches by `value`; anything else must be deeply equal.
fn removal_matches(a: &AttributeDef, old: &Value, gone: &Value) -> bool {
    match (get_ci_value(old, "value"), gone) {
        (Some(x), Value::Object(_)) => get_ci_value(gone, "value").map_or(old == gone, |y| values_equal(a, x, y)),
        (Some(x), Value::String(_)) => values_equal(a, x, gone),
        _ => old == gone,
    }
}

/// Compares two `value` sub-attribute values honouring its caseExact.
fn values_equal(a: &AttributeDef, x: &Value, y: &Value) -> bool {
    let case_exact = a.sub("value").is_none_or(|s| s.case_exact);
    match (x, y) {
        (Value::String(x), Value::String(y)) if !case_exact => x.to_lowercase() == y.to_lowercase(),
        _ => x == y,
    }
}

/// At most one element may have `primary: true` (RFC 7643 §2.4); when an operation wrote one,
/// the others are set to false (RFC 7644 §3.5.2), otherwise the first one wins.
fn fix_primary(items: &mut [Value], touched: &[usize]) {
    let is_primary = |v: &Value| get_ci_value(v, "primary") == Some(&Value::Bool(true));
    let winner = touched
        .iter()
        .copied()
        .find(|&i| items.get(i).is_some_and(is_primary))
        .or_else(|| items.iter().position(is_primary));
    let Some(winner) = winner else {
        return;
    };
    for (i, el) in items.iter_mut().enumerate() {
        if i != winner
            && is_primary(el)
            && let Some(obj) = el.as_object_mut()
        {
            set_ci(obj, "primary", Value::Bool(false));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values: type checks and coercion

/// The elements of a multi-valued value: an array, or a single element standing for one.
fn coerce_items(a: &AttributeDef, v: &Value) -> Result<Vec<Value>, ScimError> {
    let mut out = Vec::new();
    for item in as_list(v) {
        if item.is_null() {
            continue;
        }
        let el = if a.is_complex() {
            let mut m = coerce_complex(a, item, a.name)?;
            m.retain(|_, v| !v.is_null());
            if m.is_empty() {
                continue;
            }
            Value::Object(m)
        } else {
            coerce_simple(a, item, a.name)?
        };
        out.push(el);
    }
    Ok(out)
}

/// A single (non-array) value for `def`, coerced to its type.
fn coerce_single(def: &AttributeDef, v: &Value, name: &str) -> Result<Value, ScimError> {
    if v.is_array() {
        return Err(ScimError::invalid_value(format!("attribute \"{name}\" is single-valued")));
    }
    if def.is_complex() { coerce_complex(def, v, name).map(Value::Object) } else { coerce_simple(def, v, name) }
}

/// A complex value with canonical sub-attribute names and coerced sub-values. Unknown and
/// readOnly sub-attributes are dropped; `null` sub-values are kept as removal markers.
fn coerce_complex(def: &AttributeDef, v: &Value, name: &str) -> Result<Map<String, Value>, ScimError> {
    let obj = match v {
        Value::Object(obj) => obj,
        // Entra sends the enterprise `manager` as the bare manager id.
        Value::String(_) if def.sub("value").is_some() => {
            let mut m = Map::new();
            m.insert("value".to_string(), v.clone());
            return coerce_complex(def, &Value::Object(m), name);
        }
        _ => {
            return Err(ScimError::invalid_value(format!("attribute \"{name}\" must be an object")));
        }
    };
    let mut out = Map::new();
    for (key, sv) in obj {
        let Some(sub) = def.sub(key) else { continue };
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        let sv = if sv.is_null() { Value::Null } else { coerce_single(sub, sv, &format!("{name}.{}", sub.name))? };
        out.insert(sub.name.to_string(), sv);
    }
    Ok(out)
}

/// A simple value checked against the attribute type; booleans may come as strings.
fn coerce_simple(def: &AttributeDef, v: &Value, name: &str) -> Result<Value, ScimError> {
    let ok = match def.attr_type {
        AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary => v.is_string(),
        AttrType::Integer => v.is_i64() || v.is_u64(),
        AttrType::Decimal => v.is_number(),
        // Entra sends `"value": "False"`; coerce the spellings of true/false, nothing else.
        AttrType::Boolean => return coerce_bool(v, name),
        AttrType::Complex => return coerce_complex(def, v, name).map(Value::Object),
    };
    if ok {
        Ok(v.clone())
    } else {
        Err(ScimError::invalid_value(format!("attribute \"{name}\" must be {}", type_phrase(def.attr_type))))
    }
}

fn coerce_bool(v: &Value, name: &str) -> Result<Value, ScimError> {
    match v {
        Value::Bool(_) => Ok(v.clone()),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        _ => Err(ScimError::invalid_value(format!("attribute \"{name}\" must be a boolean, got {v}"))),
    }
}

fn type_phrase(t: AttrType) -> &'static str {
    match t {
        AttrType::String | AttrType::Binary => "a string",
        AttrType::Reference => "a reference (string)",
        AttrType::DateTime => "a dateTime string",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a number",
        AttrType::Boolean => "a boolean",
        AttrType::Complex => "an object",
    }
}

/// Fails when an immutable attribute that already has a value would change.
fn check_immutable(def: &AttributeDef, name: &str, old: Option<&Value>, new: Option<&Value>) -> Result<(), ScimError> {
    let has_old = old.is_some_and(|o| !o.is_null());
    if def.mutability == Mutability::Immutable && has_old && old != new {
        Err(ScimError::mutability(format!("attribute \"{name}\" is immutable")))
    } else {
        Ok(())
    }
}

/// Merges coerced sub-attributes into a complex value; `null` removes a sub-attribute.
fn merge_into(
    dst: &mut Map<String, Value>,
    def: &AttributeDef,
    patch: Map<String, Value>,
    name: &str,
) -> Result<(), ScimError> {
    for (key, v) in patch {
        let new = (!v.is_null()).then_some(&v);
        if let Some(sub) = def.sub(&key) {
            check_immutable(sub, &format!("{name}.{}", sub.name), get_ci(dst, &key), new)?;
        }
        if v.is_null() {
            remove_ci(dst, &key);
        } else {
            set_ci(dst, &key, v);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JSON map helpers (keys matched case-insensitively, written canonically)

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// `map[key]`, an exact match first, then any spelling ignoring ASCII case.
fn get_ci<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn get_ci_value<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_object().and_then(|m| get_ci(m, key))
}

/// Removes every spelling of `key`, returning the value of the exact spelling if present.
fn remove_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let exact = map.remove(key);
    let others: Vec<String> = map.keys().filter(|k| k.eq_ignore_ascii_case(key)).cloned().collect();
    let mut first_other = None;
    for k in others {
        let v = map.remove(&k);
        first_other = first_other.or(v);
    }
    exact.or(first_other)
}

/// Sets `key`, dropping other spellings so the canonical name is the only one left.
fn set_ci(map: &mut Map<String, Value>, key: &str, v: Value) {
    remove_ci(map, key);
    map.insert(key.to_string(), v);
}

fn take_object(map: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match remove_ci(map, key) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Puts a complex value back, leaving the attribute absent when nothing is left in it.
fn put_object(map: &mut Map<String, Value>, key: &str, obj: Map<String, Value>) {
    if !obj.is_empty() {
        map.insert(key.to_string(), Value::Object(obj));
    }
}

fn take_array(map: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match remove_ci(map, key) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => Vec::new(),
        // A stored single value is read as a one-element list rather than lost.
        Some(other) => vec![other],
    }
}

/// Puts a multi-valued attribute back without empty elements; an empty list means absent.
fn put_array(map: &mut Map<String, Value>, key: &str, mut items: Vec<Value>) {
    items.retain(|el| !matches!(el, Value::Object(o) if o.is_empty()));
    if !items.is_empty() {
        map.insert(key.to_string(), Value::Array(items));
    }
}

/// Puts an extension object back under its URN and keeps `schemas` in step: the URN is listed
/// while the extension has attributes and dropped when it has none.
fn put_extension(res: &mut Map<String, Value>, urn: &str, ext: Map<String, Value>) {
    let present = !ext.is_empty();
    put_object(res, urn, ext);
    let Some(Value::Array(ids)) = res.get_mut("schemas") else {
        return;
    };
    let listed = ids.iter().any(|id| id.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
    if present && !listed {
        ids.push(Value::String(urn.to_string()));
    } else if !present && listed {
        ids.retain(|id| !id.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, GROUP_SCHEMA, USER_RESOURCE, USER_SCHEMA};
    use serde_json::json;

    const ENT: &str = ENTERPRISE_USER_SCHEMA;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "id": "u1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs",
            "active": true,
            "emails": [{"type": "work", "value": "old@x.com", "primary": true}],
            "meta": {"resourceType": "User"},
        })
    }

    fn group() -> Value {
        json!({
            "schemas": [GROUP_SCHEMA],
            "id": "g1",
            "displayName": "Team",
            "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}],
        })
    }

    fn body(ops: Value) -> Value {
        json!({"schemas": [PATCH_OP], "Operations": ops})
    }

    fn run(resource: Value, ops: Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
        let ops = parse_request(body(ops))?;
        let mut r = resource;
        apply(&mut r, &ops, schema)?;
        Ok(r)
    }

    fn patch_user(ops: Value) -> Value {
        run(user(), ops, &USER_RESOURCE).unwrap()
    }

    fn patch_group(ops: Value) -> Value {
        run(group(), ops, &GROUP_RESOURCE).unwrap()
    }

    fn user_err(ops: Value) -> ScimError {
        run(user(), ops, &USER_RESOURCE).unwrap_err()
    }

    fn member_ids(g: &Value) -> Vec<&str> {
        g["members"].as_array().map_or(vec![], |m| m.iter().map(|e| e["value"].as_str().unwrap()).collect())
    }

    // ---- Entra ID request shapes ----

    #[test]
    fn entra_replace_work_email_value() {
        let u = patch_user(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@x.com"}]));
        assert_eq!(u["emails"], json!([{"type": "work", "value": "new@x.com", "primary": true}]));
    }

    #[test]
    fn entra_replace_family_name_keeps_given_name() {
        let u = patch_user(json!([{"op": "Replace", "path": "name.familyName", "value": "X"}]));
        assert_eq!(u["name"], json!({"givenName": "Barbara", "familyName": "X"}));
    }

    #[test]
    fn entra_replace_user_name() {
        let u = patch_user(json!([{"op": "Replace", "path": "userName", "value": "u"}]));
        assert_eq!(u["userName"], "u");
    }

    #[test]
    fn entra_string_booleans() {
        let u = patch_user(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        assert_eq!(u["active"], false);
        let u = run(u, json!([{"op": "Add", "path": "active", "value": "True"}]), &USER_RESOURCE).unwrap();
        assert_eq!(u["active"], true);
        let u = patch_user(json!([{"op": "replace", "path": "ACTIVE", "value": "fAlSe"}]));
        assert_eq!(u["active"], false);
    }

    #[test]
    fn entra_pathless_replace_mixed_keys() {
        let u = patch_user(json!([{"op": "replace", "value": {
            "displayName": "D",
            "name.givenName": "G",
            "name.familyName": "F",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
            "active": false,
        }}]));
        assert_eq!(u["displayName"], "D");
        assert_eq!(u["name"], json!({"givenName": "G", "familyName": "F"}));
        assert_eq!(u[ENT], json!({"employeeNumber": "701984"}));
        assert_eq!(u["active"], false);
        assert_eq!(u["schemas"], json!([USER_SCHEMA, ENT]));
    }

    #[test]
    fn entra_add_enterprise_department() {
        let u = patch_user(json!([{"op": "Add", "path": format!("{ENT}:department"), "value": "Sales"}]));
        assert_eq!(u[ENT]["department"], "Sales");
        assert!(u.get("department").is_none());
    }

    #[test]
    fn entra_add_work_email_creates_element() {
        let mut r = user();
        r.as_object_mut().unwrap().remove("emails");
        let u =
            run(r, json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@b.c"}]), &USER_RESOURCE)
                .unwrap();
        assert_eq!(u["emails"], json!([{"type": "work", "value": "a@b.c"}]));
    }

    #[test]
    fn entra_sub_attribute_case_is_canonicalised() {
        let u = patch_user(json!([{"op": "Replace", "path": "emails[type eq \"other\"].Value", "value": "o@x.com"}]));
        assert_eq!(u["emails"][1], json!({"type": "other", "value": "o@x.com"}));
        assert_eq!(u["emails"][0]["value"], "old@x.com");
    }

    #[test]
    fn entra_work_primary_filter_builds_full_element() {
        let mut r = user();
        r.as_object_mut().unwrap().remove("emails");
        let u = run(
            r,
            json!([{"op": "Add", "path": "emails[type eq \"work\" and primary eq true].value", "value": "p@x.com"}]),
            &USER_RESOURCE,
        )
        .unwrap();
        assert_eq!(u["emails"], json!([{"type": "work", "primary": true, "value": "p@x.com"}]));
    }

    #[test]
    fn entra_manager_as_bare_id() {
        let u = patch_user(json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": "boss-1"}]));
        assert_eq!(u[ENT]["manager"], json!({"value": "boss-1"}));
        let u = run(u, json!([{"op": "Remove", "path": format!("{ENT}:manager")}]), &USER_RESOURCE).unwrap();
        assert!(u.get(ENT).is_none());
        assert_eq!(u["schemas"], json!([USER_SCHEMA]));
    }

    #[test]
    fn entra_manager_as_one_element_list() {
        let u = patch_user(json!([{"op": "Add", "path": "manager", "value": [{"$ref": null, "value": "boss-2"}]}]));
        assert_eq!(u[ENT]["manager"], json!({"value": "boss-2"}));
    }

    #[test]
    fn entra_group_member_remove_by_value_list() {
        let g = patch_group(json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}, {"value": "c"}]}]));
        assert_eq!(member_ids(&g), ["b"]);
    }

    // ---- Okta request shapes ----

    #[test]
    fn okta_pathless_deactivate() {
        let u = patch_user(json!([{"op": "replace", "value": {"active": false}}]));
        assert_eq!(u["active"], false);
    }

    #[test]
    fn okta_group_rename_ignores_id() {
        let g = patch_group(json!([{"op": "replace", "value": {"id": "abc", "displayName": "New"}}]));
        assert_eq!((g["id"].as_str(), g["displayName"].as_str()), (Some("g1"), Some("New")));
    }

    #[test]
    fn pathless_ignores_read_only_unknown_and_schemas() {
        let u = patch_user(json!([{"op": "replace", "value": {
            "schemas": ["x"], "meta": {"version": "W/\"1\""}, "groups": [{"value": "g"}],
            "favouriteColour": "blue", "nickName": "B",
            "urn:example:custom:2.0:User": {"x": 1}, "urn:example:custom:2.0:User:y": 2,
        }}]));
        assert_eq!(u["nickName"], "B");
        assert_eq!(u["schemas"], json!([USER_SCHEMA]));
        assert_eq!(u["meta"], json!({"resourceType": "User"}));
        assert!(u.get("groups").is_none() && u.get("favouriteColour").is_none());
    }

    #[test]
    fn pathless_bare_schema_urn_object() {
        let u = patch_user(json!([{"op": "add", "value": {ENT: {"department": "X", "Manager": {"value": "m"}}}}]));
        assert_eq!(u[ENT], json!({"department": "X", "manager": {"value": "m"}}));
        let u = patch_user(json!([{"op": "replace", "value": {USER_SCHEMA: {"title": "Dr"}}}]));
        assert_eq!(u["title"], "Dr");
    }

    #[test]
    fn schema_urn_path_with_object_value_is_the_pathless_form() {
        for op in ["add", "replace"] {
            let u = patch_user(json!([{"op": op, "path": ENT, "value": {"department": "X", "Manager": "m"}}]));
            assert_eq!(u[ENT], json!({"department": "X", "manager": {"value": "m"}}), "{op}");
            assert_eq!(u["schemas"], json!([USER_SCHEMA, ENT]), "{op}");
        }
        let lower = ENT.to_ascii_lowercase();
        let u = patch_user(json!([{"op": "add", "path": lower, "value": {"costCenter": "7"}}]));
        assert_eq!(u[ENT]["costCenter"], "7");
    }

    #[test]
    fn schema_urn_path_remove_clears_the_extension() {
        let u = patch_user(json!([{"op": "add", "value": {ENT: {"department": "X", "employeeNumber": "1"}}}]));
        let u = run(u, json!([{"op": "remove", "path": ENT}]), &USER_RESOURCE).unwrap();
        assert!(u.get(ENT).is_none());
        assert_eq!(u["schemas"], json!([USER_SCHEMA]));
        let u = run(u, json!([{"op": "remove", "path": ENT}]), &USER_RESOURCE).unwrap();
        assert!(u.get(ENT).is_none(), "removing an absent extension changes nothing");
        let u = patch_user(json!([{"op": "add", "value": {ENT: {"department": "X"}}}]));
        let u = run(u, json!([{"op": "replace", "path": ENT, "value": null}]), &USER_RESOURCE).unwrap();
        assert!(u.get(ENT).is_none());
    }

    #[test]
    fn schema_urn_path_errors() {
        let e = user_err(json!([{"op": "add", "path": ENT, "value": "X"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        // The core schema's URN is no path (its attributes are named without it), nor is an
        // unknown one.
        for p in [USER_SCHEMA, "urn:example:custom:2.0:User"] {
            let e = user_err(json!([{"op": "replace", "path": p, "value": {"title": "Dr"}}]));
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{p}");
            assert!(e.detail.contains("is a schema URN"), "{}", e.detail);
        }
        // A URN the resource does not carry stays an unknown attribute.
        let e = run(group(), json!([{"op": "add", "path": ENT, "value": {"department": "X"}}]), &GROUP_RESOURCE)
            .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    }

    // ---- group members ----

    #[test]
    fn members_add_list_dedupes() {
        let g = patch_group(
            json!([{"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "d", "display": "D"}]}]),
        );
        assert_eq!(member_ids(&g), ["a", "b", "c", "d"]);
        assert_eq!(g["members"][3]["display"], "D");
    }

    #[test]
    fn members_filter_remove() {
        let g = patch_group(json!([{"op": "remove", "path": "members[value eq \"b\"]"}]));
        assert_eq!(member_ids(&g), ["a", "c"]);
        let g = patch_group(json!([{"op": "remove", "path": "members[value eq \"zzz\"]"}]));
        assert_eq!(member_ids(&g), ["a", "b", "c"]);
    }

    #[test]
    fn members_replace_whole_list() {
        let g = patch_group(json!([{"op": "replace", "path": "members", "value": [{"value": "x"}, {"value": "y"}]}]));
        assert_eq!(member_ids(&g), ["x", "y"]);
    }

    #[test]
    fn members_remove_all_leaves_attribute_absent() {
        let g = patch_group(json!([{"op": "remove", "path": "members"}]));
        assert!(g.get("members").is_none());
    }

    #[test]
    fn member_value_is_immutable() {
        let e = run(
            group(),
            json!([{"op": "replace", "path": "members[value eq \"a\"].value", "value": "z"}]),
            &GROUP_RESOURCE,
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }

    // ---- request parsing ----

    #[test]
    fn empty_operations() {
        assert_eq!(parse_request(body(json!([]))).unwrap(), vec![]);
        let mut u = user();
        apply(&mut u, &[], &USER_RESOURCE).unwrap();
        assert_eq!(u, user());
    }

    #[test]
    fn op_names_are_case_insensitive() {
        let ops = parse_request(json!({"schemas": [PATCH_OP], "operations": [
            {"op": "Add", "path": "title", "value": "a"},
            {"Op": "REPLACE", "Path": "title", "Value": "b"},
            {"op": "Remove", "path": "title"},
        ]}))
        .unwrap();
        let kinds: Vec<_> = ops.iter().map(|o| o.op).collect();
        assert_eq!(kinds, [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]);
    }

    #[test]
    fn schemas_may_be_missing_but_not_wrong() {
        assert!(parse_request(json!({"Operations": []})).is_ok());
        let e = parse_request(json!({"schemas": [USER_SCHEMA], "Operations": []})).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn malformed_bodies_are_invalid_syntax() {
        for b in [
            json!({"schemas": [PATCH_OP]}),
            json!({"schemas": [PATCH_OP], "Operations": {}}),
            json!([]),
            body(json!(["add"])),
            body(json!([{"path": "title", "value": "x"}])),
            body(json!([{"op": "add", "path": "title"}])),
            body(json!([{"op": "add", "path": 3, "value": "x"}])),
        ] {
            let e = parse_request(b.clone()).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax), "{b}: {e}");
        }
    }

    #[test]
    fn unknown_op_names_its_index() {
        let e = parse_request(body(
            json!([{"op": "add", "path": "title", "value": "x"}, {"op": "Upsert", "path": "title", "value": "x"}]),
        ))
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert_eq!(e.detail, "Operations[1]: unknown op \"Upsert\"");
    }

    #[test]
    fn remove_without_path_is_no_target() {
        let e = parse_request(body(json!([{"op": "remove"}]))).unwrap_err();
        assert_eq!((e.scim_type, e.detail.as_str()), (Some(ScimType::NoTarget), "Operations[0]: remove needs a path"));
    }

    #[test]
    fn bad_path_syntax_is_invalid_path() {
        let e = parse_request(body(json!([{"op": "add", "path": "emails[type eq", "value": "x"}]))).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        assert!(e.detail.starts_with("Operations[0]: "));
    }

    // ---- apply errors ----

    #[test]
    fn unknown_attribute_path() {
        let e = user_err(json!([{"op": "add", "path": "foo", "value": "x"}]));
        assert_eq!(
            (e.scim_type, e.detail.as_str()),
            (Some(ScimType::InvalidPath), "Operations[0]: unknown attribute \"foo\"")
        );
        let e = user_err(json!([{"op": "add", "path": "name.nope", "value": "x"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    }

    #[test]
    fn bad_boolean() {
        let e = user_err(json!([{"op": "replace", "path": "active", "value": "maybe"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("\"active\""), "{}", e.detail);
    }

    #[test]
    fn read_only_paths_are_mutability_errors() {
        for p in ["id", "meta.created", "groups", "schemas"] {
            let e = user_err(json!([{"op": "replace", "path": p, "value": "x"}]));
            assert_eq!(e.scim_type, Some(ScimType::Mutability), "{p}");
        }
        let e = user_err(json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "x"}]));
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }

    #[test]
    fn required_attributes_cannot_be_removed() {
        let e = user_err(json!([{"op": "remove", "path": "userName"}]));
        assert_eq!(
            (e.scim_type, e.detail.as_str()),
            (Some(ScimType::InvalidValue), "Operations[0]: userName is required and cannot be removed")
        );
        let e = user_err(json!([{"op": "replace", "path": "userName", "value": null}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        let e = user_err(json!([{"op": "remove", "path": "userName", "value": "bjensen"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        let e = run(group(), json!([{"op": "replace", "value": {"displayName": null}}]), &GROUP_RESOURCE).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn type_checks() {
        let cases = [
            json!({"op": "replace", "path": "displayName", "value": 5}),
            json!({"op": "replace", "path": "displayName", "value": ["one"]}),
            json!({"op": "replace", "path": "name", "value": "x"}),
            json!({"op": "add", "path": "emails", "value": [{"value": "a@b", "primary": "yes"}]}),
            json!({"op": "replace", "value": "not an object"}),
        ];
        for op in cases {
            let e = user_err(json!([op]));
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{op}: {e}");
        }
    }

    #[test]
    fn error_names_failing_index_after_earlier_ops() {
        let e = user_err(json!([
            {"op": "replace", "path": "title", "value": "ok"},
            {"op": "replace", "path": "active", "value": 3},
        ]));
        assert!(e.detail.starts_with("Operations[1]: "), "{}", e.detail);
    }

    #[test]
    fn non_eq_filter_without_match_is_no_target() {
        let e = user_err(json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "home"}]));
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
    }

    #[test]
    fn filter_on_single_valued_attribute_is_invalid_path() {
        let e = user_err(json!([{"op": "replace", "path": "name[givenName eq \"x\"].familyName", "value": "y"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    }

    // ---- semantics ----

    #[test]
    fn remove_sub_attribute_and_null_replace() {
        let u = patch_user(json!([{"op": "remove", "path": "name.givenName"}]));
        assert_eq!(u["name"], json!({"familyName": "Jensen"}));
        let u = patch_user(json!([{"op": "replace", "path": "displayName", "value": null}]));
        assert!(u.get("displayName").is_none());
        let u = patch_user(
            json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
        );
        assert!(u.get("name").is_none());
    }

    #[test]
    fn replace_complex_merges_and_null_sub_removes() {
        let u = patch_user(
            json!([{"op": "replace", "path": "name", "value": {"GivenName": "B", "familyName": null, "middleName": "M"}}]),
        );
        assert_eq!(u["name"], json!({"givenName": "B", "middleName": "M"}));
    }

    #[test]
    fn add_email_with_primary_clears_other_primary() {
        let u = patch_user(
            json!([{"op": "add", "path": "emails", "value": {"value": "h@x.com", "type": "home", "primary": "True"}}]),
        );
        assert_eq!(u["emails"][0]["primary"], false);
        assert_eq!(u["emails"][1], json!({"value": "h@x.com", "type": "home", "primary": true}));
    }

    #[test]
    fn add_email_dedupes_case_insensitively() {
        let u = patch_user(json!([{"op": "add", "path": "emails", "value": [{"value": "OLD@x.com"}]}]));
        assert_eq!(u["emails"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn filter_without_sub_merges_or_removes() {
        let u = patch_user(
            json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@x.com", "display": "W"}}]),
        );
        assert_eq!(u["emails"], json!([{"type": "work", "value": "w@x.com", "primary": true, "display": "W"}]));
        let u = patch_user(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]));
        assert!(u.get("emails").is_none());
    }

    #[test]
    fn remove_whole_multi_valued_and_sub_of_all_elements() {
        let u = patch_user(json!([{"op": "remove", "path": "emails"}]));
        assert!(u.get("emails").is_none());
        let u = patch_user(json!([{"op": "remove", "path": "emails.primary"}]));
        assert_eq!(u["emails"], json!([{"type": "work", "value": "old@x.com"}]));
    }

    #[test]
    fn replace_multi_valued_without_filter_replaces_list() {
        let u =
            patch_user(json!([{"op": "replace", "path": "phoneNumbers", "value": [{"value": "1", "type": "work"}]}]));
        assert_eq!(u["phoneNumbers"], json!([{"value": "1", "type": "work"}]));
        let u = run(u, json!([{"op": "replace", "path": "phoneNumbers", "value": [{"value": "2"}]}]), &USER_RESOURCE)
            .unwrap();
        assert_eq!(u["phoneNumbers"], json!([{"value": "2"}]));
    }

    #[test]
    fn unqualified_extension_attribute_and_removal_cleanup() {
        let u = patch_user(json!([{"op": "add", "path": "costCenter", "value": "42"}]));
        assert_eq!(u[ENT]["costCenter"], "42");
        let u = run(u, json!([{"op": "remove", "path": format!("{ENT}:costCenter")}]), &USER_RESOURCE).unwrap();
        assert!(u.get(ENT).is_none());
        assert_eq!(u["schemas"], json!([USER_SCHEMA]));
    }

    #[test]
    fn external_id_and_password_are_writable() {
        let u = patch_user(json!([{"op": "replace", "value": {"externalId": "E1", "password": "s3cret"}}]));
        assert_eq!((u["externalId"].as_str(), u["password"].as_str()), (Some("E1"), Some("s3cret")));
    }

    #[test]
    fn existing_non_canonical_keys_are_normalised() {
        let mut r = user();
        r.as_object_mut().unwrap().insert("DisplayName".into(), json!("old"));
        r.as_object_mut().unwrap().remove("displayName");
        let u = run(r, json!([{"op": "replace", "path": "displayname", "value": "new"}]), &USER_RESOURCE).unwrap();
        assert_eq!(u["displayName"], "new");
        assert!(u.get("DisplayName").is_none());
    }
}
