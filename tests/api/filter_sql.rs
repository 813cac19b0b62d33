//! Property: a filter answered by MariaDB (`GET /Users?filter=`) selects exactly the users that
//! `drupal_scim::scim::filter::matches` selects in memory from the same users' resources.
//!
//! Users and filters come from a seeded generator (`FILTER_SQL_SEED` overrides the seed; a
//! failure prints it). Values mix case, LIKE wildcards, quotes, backslashes and non-ASCII.
//!
//! Known, documented differences between the two, kept out of the generated data:
//! - MariaDB's utf8mb4_general_ci folds accents (`ñ` = `n`) and `matches` does not: the generated
//!   values use accented letters whose base letters never occur (`ñ`/`ü` but no `n`/`u`).
//! - Ordering (gt/ge/lt/le) on text: the collation compares upper-cased weights, `matches`
//!   lower-cased code points, so `_`, `\` (between `Z` and `a`) and non-ASCII order differently.
//!   Ordering filters are only checked on users whose values avoid those characters, selected by
//!   an `externalId sw "safe-"` term in the same filter.
//! - PAD SPACE collations ignore trailing spaces in `=`: no generated value or literal ends in one.
//! - `id` is case-exact in `matches` and ascii_general_ci in the database: id literals keep the
//!   case of the real ids.

use crate::helpers::*;
use drupal_scim::scim::filter::{matches, parse_filter};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const USERS: usize = 60;
const FILTERS: usize = 400;

/// Pieces of user names (Drupal allows letters, digits, space, `.@+_'-` and most non-ASCII).
const NAME_PIECES: &[&str] = &["al", "AL", "Al", "bo", "BO", "x.y", "o'", "_", "-", "+", "ñ", "Ñ", "ü", "Ü", "日本", "c", "C"];
/// Pieces of free-text fields: anything, wildcards and SQL quoting included.
const TEXT_PIECES: &[&str] = &["al", "AL", "bo", "%", "_", "\\", "'", "\"", "\\%", "' OR 1=1 --", "ñ", "Ñ", "ü", "日本", "x y", "c"];
/// Pieces of the collation-safe population (ASCII letters, digits and `.@'-+ ` only).
const SAFE_PIECES: &[&str] = &["al", "AL", "bo", "BO", "c", "C", "x.y", "o'", "-", "1", "9"];

struct Person {
    user_name: String,
    mail: String,
    given: Option<String>,
    family: Option<String>,
    external_id: Option<String>,
    active: bool,
}

fn pieces(rng: &mut StdRng, from: &[&str], min: usize, max: usize) -> String {
    let n = rng.random_range(min..=max);
    (0..n).map(|_| *from.choose(rng).unwrap()).collect()
}

fn person(rng: &mut StdRng, i: usize) -> Person {
    let safe = i % 3 == 0;
    let name_pieces = if safe { SAFE_PIECES } else { NAME_PIECES };
    let text_pieces = if safe { SAFE_PIECES } else { TEXT_PIECES };
    let user_name = format!("{}{i}", pieces(rng, name_pieces, 1, 3));
    let local = if safe {
        format!("m.{}{i}", pieces(rng, &["al", "AL", "bo", "c"], 1, 2))
    } else {
        // Mail local parts allow % _ ' + and, quoted, a backslash.
        [format!("m%{}{i}", pieces(rng, &["al", "_", "AL", "'", "+"], 1, 2)), format!("\"q\\\\{}{i}\"", pieces(rng, &["al", "%", "_"], 1, 2))]
            .choose(rng)
            .unwrap()
            .clone()
    };
    let mail = format!("{local}@{}.example", ["ex", "EX", "ñü"][i % 3]);
    let with_name = i % 4 != 1;
    let text = |rng: &mut StdRng| {
        let s = pieces(rng, text_pieces, 1, 3);
        // Trailing spaces compare as absent in PAD SPACE collations (see the module doc).
        s.trim_end().to_string()
    };
    let given = with_name.then(|| text(rng)).filter(|s| !s.is_empty());
    let family = with_name.then(|| text(rng)).filter(|s| !s.is_empty());
    let external_id = match (safe, i % 5) {
        (true, _) => Some(format!("safe-{i}")),
        (false, 0) => None,
        (false, _) => Some(format!("{}-{i}", pieces(rng, &["Ab", "ab", "%", "_", "\\"], 1, 2))),
    };
    Person { user_name, mail, given, family, external_id, active: i % 5 != 2 }
}

fn body(p: &Person, i: usize) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "userName": p.user_name,
        "active": p.active,
    });
    // Some accounts have no mail at all.
    if i % 7 != 6 {
        body["emails"] = json!([{"primary": true, "type": "work", "value": p.mail}]);
    }
    if let Some(ext) = &p.external_id {
        body["externalId"] = json!(ext);
    }
    let mut name = serde_json::Map::new();
    if let Some(g) = &p.given {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &p.family {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        body["name"] = Value::Object(name);
    }
    body
}

/// The generator's view of the stored users: every value a literal may be cut from.
struct Pool {
    texts: Vec<(&'static str, Vec<String>)>,
    ids: Vec<String>,
    times: Vec<String>,
}

const TEXT_ATTRS: &[&str] = &[
    "userName",
    r#"emails[type eq "work"].value"#,
    "emails.value",
    "emails",
    "name.givenName",
    "name.familyName",
    "externalId",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
];

fn values_of(users: &[Value], attr: &str) -> Vec<String> {
    let get = |u: &Value| -> Option<String> {
        let v = match attr {
            "userName" | "urn:ietf:params:scim:schemas:core:2.0:User:userName" => &u["userName"],
            "name.givenName" => &u["name"]["givenName"],
            "name.familyName" => &u["name"]["familyName"],
            "externalId" => &u["externalId"],
            _ => &u["emails"][0]["value"],
        };
        v.as_str().map(String::from)
    };
    users.iter().filter_map(get).collect()
}

/// A literal: a slice of a stored value (case flipped or not), a piece, or a wildcard-ish string.
fn text_literal(rng: &mut StdRng, values: &[String], pieces_from: &[&str]) -> String {
    let s = match rng.random_range(0..10) {
        0..=5 if !values.is_empty() => {
            let v: Vec<char> = values.choose(rng).unwrap().chars().collect();
            let a = rng.random_range(0..v.len());
            let b = rng.random_range(a..=v.len());
            let slice: String = v[a..b].iter().collect();
            match rng.random_range(0..3) {
                0 => slice.to_uppercase(),
                1 => slice.to_lowercase(),
                _ => slice,
            }
        }
        6..=7 => pieces(rng, pieces_from, 1, 2),
        _ => ["%", "_", "\\", "\\%", "'", "\"", "%_", "' OR 1=1 --", ""].choose(rng).unwrap().to_string(),
    };
    s.trim_end().to_string()
}

fn quote(s: &str) -> String {
    Value::from(s).to_string()
}

/// One term over the whole population: equality, substring and presence operators only.
fn term(rng: &mut StdRng, pool: &Pool) -> String {
    match rng.random_range(0..20) {
        0..=11 => {
            let (attr, values) = pool.texts.choose(rng).unwrap();
            let op = *["eq", "ne", "co", "sw", "ew", "pr", "eq", "co"].choose(rng).unwrap();
            if op == "pr" {
                return format!("{attr} pr");
            }
            format!("{attr} {op} {}", quote(&text_literal(rng, values, TEXT_PIECES)))
        }
        12..=13 => {
            let value = *["true", "false", "TRUE", "False", "\"True\"", "\"false\""].choose(rng).unwrap();
            format!("active {} {value}", ["eq", "ne"].choose(rng).unwrap())
        }
        14..=15 => {
            let id = pool.ids.choose(rng).unwrap();
            format!("id {} {}", ["eq", "ne"].choose(rng).unwrap(), quote(id))
        }
        16 => {
            let values = &pool.texts.iter().find(|(a, _)| *a == "emails.value").unwrap().1;
            let lit = quote(&text_literal(rng, values, TEXT_PIECES));
            let inner = [
                format!("value co {lit}"),
                format!("type eq \"work\" and value sw {lit}"),
                format!("value ew {lit} or type eq \"home\""),
                "type eq \"work\"".to_string(),
                "value pr".to_string(),
                "primary eq true".to_string(),
                "primary pr and value co \"a\"".to_string(),
                "type pr".to_string(),
            ]
            .choose(rng)
            .unwrap()
            .clone();
            format!("emails[{inner}]")
        }
        _ => {
            let t = pool.times.choose(rng).unwrap();
            let attr = ["meta.created", "meta.lastModified"].choose(rng).unwrap();
            format!("{attr} {} {}", ["gt", "ge", "lt", "le"].choose(rng).unwrap(), quote(t))
        }
    }
}

/// An ordering term on text, for the collation-safe population.
fn ordering_term(rng: &mut StdRng, pool: &Pool) -> String {
    let (attr, values) = pool.texts.choose(rng).unwrap();
    let op = ["gt", "ge", "lt", "le"].choose(rng).unwrap();
    let safe: Vec<String> = values.iter().filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || ".@'-+ ".contains(c))).cloned().collect();
    format!("{attr} {op} {}", quote(&text_literal(rng, &safe, SAFE_PIECES).replace(['%', '_', '\\', '"'], "")))
}

fn tree(rng: &mut StdRng, pool: &Pool, depth: u32, leaf: fn(&mut StdRng, &Pool) -> String) -> String {
    if depth == 0 || rng.random_bool(0.4) {
        return leaf(rng, pool);
    }
    match rng.random_range(0..5) {
        0 => format!("not ({})", tree(rng, pool, depth - 1, leaf)),
        1 | 2 => format!("({}) and ({})", tree(rng, pool, depth - 1, leaf), tree(rng, pool, depth - 1, leaf)),
        _ => format!("{} or {}", tree(rng, pool, depth - 1, leaf), tree(rng, pool, depth - 1, leaf)),
    }
}

async fn ids_for(app: &TestApp, filter: &str) -> Result<BTreeSet<String>, (u16, Value)> {
    let response = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[("filter", filter), ("count", "1000"), ("attributes", "id")])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    if status != 200 {
        return Err((status, body));
    }
    assert!(body["totalResults"].as_u64().unwrap() < 1000);
    Ok(body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect())
}

#[tokio::test]
async fn filters_select_the_same_users_in_sql_as_in_memory() {
    let seed: u64 = std::env::var("FILTER_SQL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5c1a_f11e);
    let mut rng = StdRng::seed_from_u64(seed);
    let app = TestApp::spawn().await;
    // Only generated accounts: the fixture's names and mails contain `n` and `u`, which the
    // collation folds with the generated `ñ` and `ü`.
    app.exec("DELETE FROM users WHERE uid IN (2, 3, 4)").await;
    app.exec("DELETE FROM users_field_data WHERE uid IN (2, 3, 4)").await;
    for i in 0..USERS {
        let p = person(&mut rng, i);
        let response = app.post("/Users", &body(&p, i)).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "seed {seed}: create {}: {answer}", p.user_name);
    }
    let all: Value = app.get("/Users?count=1000").await.json().await.unwrap();
    let users: Vec<Value> = all["Resources"].as_array().unwrap().clone();
    assert_eq!(users.len(), USERS, "only the generated accounts are listed");
    let pool = Pool {
        texts: TEXT_ATTRS.iter().map(|a| (*a, values_of(&users, a))).collect(),
        ids: users.iter().map(|u| u["id"].as_str().unwrap().to_string()).collect(),
        times: users.iter().flat_map(|u| [u["meta"]["created"].clone(), u["meta"]["lastModified"].clone()]).filter_map(|v| v.as_str().map(String::from)).collect(),
    };
    let name_of = |id: &String| users.iter().find(|u| &u["id"] == id).map(|u| u["userName"].to_string()).unwrap_or_default();

    let (mut checked, mut refused, mut mismatches) = (0, Vec::new(), Vec::new());
    for n in 0..FILTERS {
        let filter = if n % 4 == 3 {
            format!("externalId sw \"safe-\" and ({})", tree(&mut rng, &pool, 2, ordering_term))
        } else {
            tree(&mut rng, &pool, 3, term)
        };
        let ast = parse_filter(&filter).unwrap_or_else(|e| panic!("seed {seed}: generated filter {filter:?} does not parse: {}", e.detail));
        let in_memory: BTreeSet<String> =
            users.iter().filter(|u| matches(&ast, u)).map(|u| u["id"].as_str().unwrap().to_string()).collect();
        match ids_for(&app, &filter).await {
            Ok(in_sql) => {
                checked += 1;
                if in_sql != in_memory {
                    let only_sql: Vec<String> = in_sql.difference(&in_memory).map(name_of).collect();
                    let only_memory: Vec<String> = in_memory.difference(&in_sql).map(name_of).collect();
                    mismatches.push(format!("{filter}\n    only in SQL: {only_sql:?}\n    only in memory: {only_memory:?}"));
                }
            }
            Err((status, body)) => {
                assert_eq!(status, 400, "seed {seed}: {filter}: {body}");
                refused.push(format!("{filter}: {}", body["detail"]));
            }
        }
    }
    assert!(mismatches.is_empty(), "seed {seed}: {} of {checked} filters disagree:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(refused.is_empty(), "seed {seed}: every generated filter is supported, but these were refused:\n{}", refused.join("\n"));
}

#[tokio::test]
async fn not_of_a_comparison_on_an_absent_attribute_selects_the_users_without_it() {
    let app = TestApp::spawn().await;
    let with_ext = app.create_user("has.ext", "has.ext@example.com").await;
    // The fixture's accounts were never provisioned: no externalId (a NULL in SQL).
    for filter in [r#"not (externalId eq "nope")"#, r#"not (externalId co "x")"#, r#"not (externalId sw "x") and userName pr"#] {
        let body: Value = app.filter_users(filter).await.json().await.unwrap();
        let mut names: Vec<&str> = body["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["blocked.user", "has.ext", "jdoe", "msmith"], "{filter}");
    }
    let ext = with_ext["externalId"].as_str().unwrap();
    let body: Value = app.filter_users(&format!("not (externalId eq {})", quote(ext))).await.json().await.unwrap();
    assert_eq!(body["totalResults"], 3, "only the three accounts without an externalId");
}

#[tokio::test]
async fn a_value_path_is_false_for_an_account_without_that_element() {
    let app = TestApp::spawn().await;
    app.exec("UPDATE users_field_data SET mail = NULL WHERE uid = 3").await;
    let with_mail: Value = app.get("/Users?count=100").await.json().await.unwrap();
    let expected: Vec<&str> = with_mail["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u.get("emails").is_some())
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(expected.len(), 2, "msmith has no mail now");
    for filter in [r#"emails[type eq "work"]"#, "emails[type pr]", "emails[primary eq true]", "emails[primary pr]", r#"emails[not (value eq "x")]"#] {
        let body: Value = app.filter_users(filter).await.json().await.unwrap();
        let names: Vec<&str> = body["Resources"].as_array().unwrap_or_else(|| panic!("{filter}: {body}")).iter().map(|r| r["userName"].as_str().unwrap()).collect();
        assert_eq!(names, expected, "{filter}");
    }
    let body: Value = app.filter_users("emails[primary eq false]").await.json().await.unwrap();
    assert_eq!(body["totalResults"], 0, "no element carries primary: false");
}
