//! SQL-looking values are data: written through every written attribute they are stored byte for
//! byte, used in every filter operator they are matched literally (LIKE wildcards included), and
//! the tables are all still there afterwards.

use crate::helpers::*;
use drupal_scim::scim::filter::{matches, parse_filter};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Free-text values (fields, externalId): quoting, comments, wildcards, escapes, curly quotes.
/// (NUL: see `a_nul_character_is_refused_in_names_and_fields_and_kept_literally_in_external_id`.)
const VALUES: &[&str] = &[
    "' OR 1=1 --",
    "\"; DROP TABLE users; --",
    "x' UNION SELECT pass FROM users_field_data --",
    "\\",
    "%",
    "_",
    "\\%",
    "\\_",
    "%_\\",
    "_lead",
    "trail%",
    "\\'",
    "\\\"",
    "‘single’ “double” ʼ",
    "1; SELECT SLEEP(5)",
];

/// User names within Drupal's rules (letters, digits, space, `.@+_'-`, non-ASCII).
const NAMES: &[&str] =
    &["inj' or '1'-'1", "inj_under_", "_inj", "inj ‘curly’ “dq”", "inj'--", "inj.@+_'-", "inj o'brien"];

/// Mail addresses Drupal accepts that carry quotes, wildcards and backslashes.
const MAILS: &[&str] = &[
    "o'r%1=1_--@example.com",
    "\";DROP-TABLE-users;--\"@example.com",
    "\"a\\\\b\"@example.com",
    "\"a\\\"b\"@example.com",
    "100%_sure@example.com",
    "_%@example.com",
];

struct Written {
    user_name: String,
    mail: String,
    given: String,
    family: String,
    external_id: String,
}

fn written(i: usize) -> Written {
    Written {
        user_name: NAMES.get(i).map_or_else(|| format!("inj{i}"), |s| s.to_string()),
        mail: MAILS.get(i).map_or_else(|| format!("inj{i}@example.com"), |s| s.to_string()),
        given: VALUES[i].to_string(),
        family: VALUES[(i + 1) % VALUES.len()].to_string(),
        external_id: VALUES[i].to_string(),
    }
}

async fn provision_all(app: &TestApp) -> Vec<Written> {
    let mut out = Vec::new();
    for i in 0..VALUES.len() {
        let w = written(i);
        let body = json!({
            "schemas": [USER_SCHEMA],
            "userName": w.user_name,
            "externalId": w.external_id,
            "emails": [{"type": "work", "primary": true, "value": w.mail}],
            "name": {"givenName": w.given, "familyName": w.family},
        });
        let response = app.post("/Users", &body).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}: {answer}");
        out.push(w);
    }
    out
}

async fn ids(app: &TestApp, filter: &str) -> BTreeSet<String> {
    let response = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[("filter", filter), ("count", "1000")])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{filter}: {body}");
    body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

async fn tables_are_intact(app: &TestApp, users: usize) {
    let tables: i64 = app
        .one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN \
             ('users', 'users_field_data', 'scim_user', 'user__field_first_name', 'user__field_last_name', 'user__roles')",
        )
        .await
        .unwrap();
    assert_eq!(tables, 6, "a table is missing");
    let count: i64 = app.one("SELECT COUNT(*) FROM users_field_data").await.unwrap();
    assert_eq!(count as usize, users, "accounts appeared or vanished");
}

#[tokio::test]
async fn sql_looking_values_are_stored_byte_for_byte_in_every_written_column() {
    let app = TestApp::spawn().await;
    let before: i64 = app.one("SELECT COUNT(*) FROM users_field_data").await.unwrap();
    let all = provision_all(&app).await;
    for w in &all {
        let uid = app.uid_of(&w.user_name).await;
        let rows = app
            .json_rows(&format!(
                "SELECT d.name, d.mail, d.init, s.external_id, f.field_first_name_value AS given, l.field_last_name_value AS family \
                 FROM users_field_data d JOIN scim_user s ON s.uid = d.uid \
                 JOIN user__field_first_name f ON f.entity_id = d.uid JOIN user__field_last_name l ON l.entity_id = d.uid \
                 WHERE d.uid = {uid}"
            ))
            .await;
        assert_eq!(
            rows,
            vec![
                json!({"name": w.user_name, "mail": w.mail, "init": w.mail, "external_id": w.external_id, "given": w.given, "family": w.family})
            ],
            "uid {uid}"
        );
        // And read back unchanged through SCIM.
        let found: Value = app
            .filter_users(&format!("externalId eq {}", Value::from(w.external_id.as_str())))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(found["totalResults"], 1, "{}", w.external_id);
        let r = &found["Resources"][0];
        assert_eq!(
            (r["userName"].as_str(), r["emails"][0]["value"].as_str()),
            (Some(w.user_name.as_str()), Some(w.mail.as_str()))
        );
        assert_eq!(
            (r["name"]["givenName"].as_str(), r["name"]["familyName"].as_str()),
            (Some(w.given.as_str()), Some(w.family.as_str()))
        );
    }
    tables_are_intact(&app, before as usize + all.len()).await;
}

#[tokio::test]
async fn sql_looking_values_in_every_operator_match_literally() {
    let app = TestApp::spawn().await;
    let before: i64 = app.one("SELECT COUNT(*) FROM users_field_data").await.unwrap();
    let all = provision_all(&app).await;
    let listed: Value = app.get("/Users?count=1000").await.json().await.unwrap();
    let users = listed["Resources"].as_array().unwrap().clone();
    let attrs = [
        "userName",
        "emails.value",
        r#"emails[type eq "work"].value"#,
        "name.givenName",
        "name.familyName",
        "externalId",
    ];
    let literals: BTreeSet<&str> =
        VALUES.iter().chain(NAMES).chain(MAILS).copied().chain(["'", "\"", "--", ";", "\u{0}", "a\u{0}b"]).collect();
    let mut checked = 0;
    for attr in attrs {
        for literal in &literals {
            for op in ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] {
                let filter = format!("{attr} {op} {}", Value::from(*literal));
                let in_sql = ids(&app, &filter).await;
                // Ordering uses the collation's weights (see filter_sql.rs): only answered, not compared.
                if ["gt", "ge", "lt", "le"].contains(&op) {
                    continue;
                }
                let ast = parse_filter(&filter).unwrap();
                let in_memory: BTreeSet<String> =
                    users.iter().filter(|u| matches(&ast, u)).map(|u| u["id"].as_str().unwrap().to_string()).collect();
                assert_eq!(in_sql, in_memory, "{filter}");
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked}");

    // Wildcards are literal: an oracle independent of `matches`.
    let id_where = |pred: &dyn Fn(&Written) -> bool| -> BTreeSet<String> {
        all.iter()
            .filter(|w| pred(w))
            .map(|w| {
                users.iter().find(|u| u["externalId"] == w.external_id.as_str()).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids(&app, r#"name.givenName co "%""#).await, id_where(&|w| w.given.contains('%')));
    assert_eq!(ids(&app, r#"name.givenName sw "_""#).await, id_where(&|w| w.given.starts_with('_')));
    assert_eq!(ids(&app, r#"externalId ew "\\%""#).await, id_where(&|w| w.external_id.ends_with("\\%")));
    assert_eq!(ids(&app, r#"externalId co "\\""#).await, id_where(&|w| w.external_id.contains('\\')));
    assert_eq!(ids(&app, r#"userName co "_""#).await, id_where(&|w| w.user_name.contains('_')));
    assert_eq!(ids(&app, r#"emails.value sw "_%""#).await, id_where(&|w| w.mail.starts_with("_%")));
    assert!(ids(&app, r#"name.givenName co "\u0000""#).await.is_empty(), "NUL is refused in fields, so none holds one");
    assert_eq!(ids(&app, r#"name.familyName eq "' OR 1=1 --""#).await, id_where(&|w| w.family == "' OR 1=1 --"));
    assert_eq!(id_where(&|w| w.given.contains('%')).len(), 4, "the oracle itself sees the wildcard values");

    tables_are_intact(&app, before as usize + all.len()).await;
}

#[tokio::test]
async fn a_nul_character_is_refused_in_names_and_fields_and_kept_literally_in_external_id() {
    let app = TestApp::spawn().await;
    let before: i64 = app.one("SELECT COUNT(*) FROM users_field_data").await.unwrap();
    let bridge = app.bridge_rows().await;
    let base = entra_user("nul.user", "nul.user@example.com", "nul-ext");
    for (pointer, value) in
        [("/name/givenName", "a\u{0}b"), ("/name/familyName", "\u{0}"), ("/userName", "nul\u{0}user")]
    {
        let mut body = base.clone();
        *body.pointer_mut(pointer).unwrap() = json!(value);
        let response = app.post("/Users", &body).await;
        let status = response.status().as_u16();
        let error: Value = response.json().await.unwrap();
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{pointer}: {error}");
    }
    let after: i64 = app.one("SELECT COUNT(*) FROM users_field_data").await.unwrap();
    assert_eq!(after, before, "nothing written");
    assert_eq!(app.bridge_rows().await, bridge, "no bridge row written");
    // externalId lives in the bridge's own utf8mb4_bin column: a NUL is data there, stored as sent
    // and found only by itself.
    let mut body = base.clone();
    body["externalId"] = json!("ext\u{0}");
    assert_eq!(app.post("/Users", &body).await.status().as_u16(), 201);
    // The fixture's linked accounts (uids 2–4) have no externalId; the new account has it.
    let stored: Vec<Option<String>> = app.rows("SELECT external_id FROM scim_user ORDER BY uid").await;
    assert_eq!(stored, [None, None, None, Some("ext\u{0}".to_string())]);
    assert_eq!(ids(&app, r#"externalId eq "ext\u0000""#).await.len(), 1);
    assert!(ids(&app, r#"externalId eq "ext""#).await.is_empty());
}
