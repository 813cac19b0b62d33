//! Paging: startIndex/count and RFC 9865 cursors, under concurrent inserts. Every test runs on
//! both fixtures (`…::d10`, `…::d7`).

use crate::helpers::*;
use serde_json::Value;
use std::collections::HashSet;

/// Seed `n` accounts with bulk SQL in the shape the server writes when it creates them (names
/// `<prefix><uid>`): the account's rows and its bridge row, so SCIM reaches them. On Drupal 7 a
/// `users` row each, with uids taken from `sequences` as `db_next_id()` does, and a stored random
/// SCIM id in the bridge row; on 8+ `users` + `users_field_data`, the uuid being the id.
pub async fn seed_users(app: &TestApp, n: u32, prefix: &str) {
    if app.is_d7() {
        app.exec(&format!(
            "SET @base = (SELECT MAX(value) FROM sequences); \
             INSERT INTO users (uid, name, pass, mail, created, changed, access, login, status, timezone, language, init) \
             SELECT @base + seq, CONCAT('{prefix}', @base + seq), '', CONCAT('{prefix}', @base + seq, '@example.com'), \
             UNIX_TIMESTAMP(), UNIX_TIMESTAMP(), 0, 0, 1, 'UTC', '', CONCAT('{prefix}', @base + seq, '@example.com') \
             FROM seq_1_to_{n}; \
             INSERT INTO scim_user (uid, scim_id, external_id, deleted, created, changed) \
             SELECT @base + seq, UUID(), NULL, 0, UNIX_TIMESTAMP(), UNIX_TIMESTAMP() FROM seq_1_to_{n}; \
             INSERT INTO sequences (value) VALUES (@base + {n}); DELETE FROM sequences WHERE value < @base + {n}"
        ))
        .await;
        return;
    }
    app.exec(&format!("INSERT INTO users (uuid, langcode) SELECT UUID(), 'en' FROM seq_1_to_{n}")).await;
    app.exec(&format!(
        "INSERT INTO users_field_data (uid, langcode, preferred_langcode, preferred_admin_langcode, name, pass, mail, timezone, status, created, changed, access, login, init, default_langcode) \
         SELECT u.uid, 'en', 'en', NULL, CONCAT('{prefix}', u.uid), NULL, CONCAT('{prefix}', u.uid, '@example.com'), 'UTC', 1, UNIX_TIMESTAMP(), UNIX_TIMESTAMP(), 0, 0, CONCAT('{prefix}', u.uid, '@example.com'), 1 \
         FROM users u LEFT JOIN users_field_data d ON d.uid = u.uid WHERE d.uid IS NULL"
    ))
    .await;
    app.exec(&format!(
        "INSERT INTO scim_user (uid, scim_id, external_id, deleted, created, changed) \
         SELECT d.uid, NULL, NULL, 0, UNIX_TIMESTAMP(), UNIX_TIMESTAMP() FROM users_field_data d \
         LEFT JOIN scim_user s ON s.uid = d.uid WHERE s.uid IS NULL AND d.name = CONCAT('{prefix}', d.uid)"
    ))
    .await;
}

async fn page(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let r = app.client.get(format!("{}/Users", app.base)).bearer_auth(&app.token).query(query).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{query:?}");
    r.json().await.unwrap()
}

async fn cursor_paging_through_10000_users_while_inserts_happen_has_no_duplicates_or_gaps(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    seed_users(&app, 10_000, "seed").await;
    let ids = if app.is_d7() {
        // The fixture's accounts are linked with their derived ids stored, the seeded ones have
        // random ids; an account with no stored id would have its derived one.
        "SELECT COALESCE(s.scim_id, CONCAT('00000000-0000-4000-8000-', LPAD(LOWER(HEX(u.uid)), 12, '0'))) \
         FROM users u LEFT JOIN scim_user s ON s.uid = u.uid WHERE u.uid > 1"
    } else {
        "SELECT uuid FROM users WHERE uid > 1"
    };
    let expected: HashSet<String> = app.rows::<String>(ids).await.into_iter().collect();
    assert!(expected.contains(&app.jdoe_id()) && expected.contains(&app.blocked_id()), "{}", expected.len());
    assert_eq!(expected.len(), 10_003, "three fixture accounts plus the seeded ones");
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = String::new();
    let mut inserted = 0;
    loop {
        let body = page(&app, &[("cursor", cursor.as_str()), ("count", "700"), ("attributes", "id")]).await;
        assert!(body.get("startIndex").is_none(), "cursor pages have no startIndex");
        for r in body["Resources"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_string());
        }
        // Someone creates a user between two pages.
        app.create_user(&format!("late{inserted}"), &format!("late{inserted}@example.com")).await;
        inserted += 1;
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no resource twice");
    assert!(expected.iter().all(|id| unique.contains(id)), "no resource that existed at the start is missed");
}
both!(cursor_paging_through_10000_users_while_inserts_happen_has_no_duplicates_or_gaps);

async fn a_forged_or_foreign_cursor_is_invalid_cursor(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let first = page(&app, &[("cursor", ""), ("count", "1")]).await;
    let next = first["nextCursor"].as_str().unwrap().to_string();
    let other_filter = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[("cursor", next.as_str()), ("count", "1"), ("filter", "userName pr")])
        .send()
        .await
        .unwrap();
    assert_eq!(other_filter.status().as_u16(), 400);
    let error: Value = other_filter.json().await.unwrap();
    assert_eq!(error["scimType"], "invalidCursor");
    let forged = format!("{}0", next);
    let r = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[("cursor", forged.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let too_many = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[("cursor", ""), ("count", "100000")])
        .send()
        .await
        .unwrap();
    let error: Value = too_many.json().await.unwrap();
    assert_eq!(error["scimType"], "invalidCount");
}
both!(a_forged_or_foreign_cursor_is_invalid_cursor);

async fn index_paging_is_stable_and_clamped(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let mut names = Vec::new();
    for start in 1..=4 {
        let body = page(&app, &[("startIndex", &start.to_string()), ("count", "1")]).await;
        assert_eq!(body["totalResults"], 3);
        assert_eq!(body["startIndex"], start);
        if let Some(r) = body["Resources"].as_array().unwrap().first() {
            names.push(r["userName"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(names, ["jdoe", "msmith", "blocked.user"]);
    let body = page(&app, &[("startIndex", "0"), ("count", "-1")]).await;
    assert_eq!(body["startIndex"], 1);
    assert_eq!(body["itemsPerPage"], 0);
}
both!(index_paging_is_stable_and_clamped);
