//! Structured PATCH bodies for the `patch` target: op names in various cases, paths from a
//! vocabulary of valid and broken ones (or free text), and values of every JSON shape, including
//! the string booleans and nested objects clients send.
use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{Map, Value, json};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const OPS: &[&str] = &["add", "Add", "ADD", "replace", "Replace", "REPLACE", "remove", "Remove", "REMOVE", "upsert", ""];

const PATHS: &[&str] = &[
    "userName", "username", "USERNAME", "active", "displayName", "title", "nickName", "externalId",
    "password", "name", "name.givenName", "name.familyName", "name.formatted", "name.nope",
    "emails", "emails.value", "emails.primary", "emails.type",
    r#"emails[type eq "work"].value"#, r#"emails[type eq "work"]"#, r#"emails[type eq "home" and primary eq true].value"#,
    r#"emails[value co "x"].type"#, r#"emails[type eq "work"].Value"#, r#"emails[not (type eq "work")]"#,
    r#"emails[primary eq true].value"#, r#"emails[type ne "work"].display"#,
    "phoneNumbers", r#"phoneNumbers[type eq "mobile"].value"#, "addresses", r#"addresses[type eq "work"].formatted"#,
    "members", r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#, r#"members[value eq "x"].display"#,
    "members.value", "members.display",
    "groups", "id", "meta", "meta.created", "schemas", "roles", r#"roles[primary eq "True"].value"#,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
    "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
    "urn:example:custom:2.0:User:x", "costCenter", "department",
    // Broken ones.
    "", " ", "emails[", "emails[type eq", r#"emails[type eq "work""#, "emails[]", "emails]", "name..givenName",
    "1abc", "name.givenName[type eq \"x\"]", r#"emails[type[x pr] pr]"#, "urn:", "urn:x:y:", ".", "$ref", "a b",
    r#"emails[type eq "work"]."#, "members[value eq \"a\"] x",
];

const KEYS: &[&str] = &[
    "value", "Value", "type", "primary", "display", "$ref", "givenName", "familyName", "formatted",
    "name.givenName", "name.familyName", "userName", "active", "displayName", "emails", "members",
    "externalId", "id", "meta", "schemas", "title", "manager", "department", "employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    ENT, "urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:example:custom:2.0:User", "emails[type eq \"work\"].value", "bogus", "", "name.", "a..b", "urn:x:y:",
];

const STRINGS: &[&str] = &[
    "", "x", "True", "False", "true", "false", "TRUE", "fAlSe", "yes", "0", "1", "null",
    "bjensen@example.com", "2819c223-7f76-453a-919d-413861904646", "g1", "work", "home",
    "O'Malley", "Zoë", "日本", "\u{0}", "a\"b\\c", "' OR 1=1 --", "%", "_",
];

/// Where an op's text comes from: the vocabulary or the fuzzer.
#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Free(String),
}

impl Text {
    fn pick(&self, list: &[&str]) -> String {
        match self {
            Text::Known(i) => list.get(usize::from(*i) % list.len()).copied().unwrap_or("").to_string(),
            Text::Free(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Gen {
    Str(Text),
    Bool(bool),
    Int(i64),
    Float(f64),
    Null,
    Array(Vec<Gen>),
    Object(Vec<(Text, Gen)>),
}

impl Gen {
    fn to_json(&self) -> Value {
        match self {
            Gen::Str(t) => Value::String(t.pick(STRINGS)),
            Gen::Bool(b) => Value::Bool(*b),
            Gen::Int(i) => json!(i),
            Gen::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Gen::Null => Value::Null,
            Gen::Array(items) => Value::Array(items.iter().map(Gen::to_json).collect()),
            Gen::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.pick(KEYS), v.to_json())).collect()),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Field<T> {
    Absent,
    Null,
    Present(T),
    /// The wrong JSON type (a number).
    Wrong,
}

#[derive(Arbitrary, Debug)]
struct Op {
    op: Field<Text>,
    path: Field<Text>,
    value: Field<Gen>,
    capitalised_keys: bool,
}

#[derive(Arbitrary, Debug)]
enum Schemas {
    Missing,
    Patch,
    PatchAsString,
    Upper,
    Wrong,
}

#[derive(Arbitrary, Debug)]
struct Body {
    schemas: Schemas,
    operations_key: u8,
    operations: Field<Vec<Op>>,
}

fn put<T>(obj: &mut Map<String, Value>, key: &str, field: &Field<T>, f: impl Fn(&T) -> Value) {
    match field {
        Field::Absent => {}
        Field::Null => {
            obj.insert(key.into(), Value::Null);
        }
        Field::Present(t) => {
            obj.insert(key.into(), f(t));
        }
        Field::Wrong => {
            obj.insert(key.into(), json!(7));
        }
    }
}

/// Builds a PATCH body from fuzzer bytes.
pub fn body(u: &mut Unstructured<'_>) -> Result<Value> {
    let b = Body::arbitrary(u)?;
    let mut obj = Map::new();
    match b.schemas {
        Schemas::Missing => {}
        Schemas::Patch => {
            obj.insert("schemas".into(), json!([PATCH_OP]));
        }
        Schemas::PatchAsString => {
            obj.insert("schemas".into(), json!(PATCH_OP));
        }
        Schemas::Upper => {
            obj.insert("schemas".into(), json!([PATCH_OP.to_uppercase()]));
        }
        Schemas::Wrong => {
            obj.insert("schemas".into(), json!(["urn:ietf:params:scim:schemas:core:2.0:User"]));
        }
    }
    let key = ["Operations", "operations", "OPERATIONS", "ops"][usize::from(b.operations_key % 4)];
    put(&mut obj, key, &b.operations, |ops| {
        Value::Array(
            ops.iter()
                .map(|op| {
                    let mut o = Map::new();
                    let k = |name: &str| if op.capitalised_keys { capitalise(name) } else { name.to_string() };
                    put(&mut o, &k("op"), &op.op, |t| Value::String(t.pick(OPS)));
                    put(&mut o, &k("path"), &op.path, |t| Value::String(t.pick(PATHS)));
                    put(&mut o, &k("value"), &op.value, Gen::to_json);
                    Value::Object(o)
                })
                .collect(),
        )
    });
    Ok(Value::Object(obj))
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}
