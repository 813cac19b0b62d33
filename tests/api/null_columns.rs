//! No data shape crashes a request: every column the store reads for an account that the
//! site's schema allows to be NULL (read from information_schema, so a column added later is
//! covered too) is set to NULL on the account's rows, one at a time, and a read, a list and a
//! PATCH of the account must each get a SCIM answer — never a dropped connection — without
//! losing the rows they do not change.

use crate::groups_support::*;
use crate::helpers::*;
use mysql_async::prelude::*;
use mysql_async::{Row, Value as SqlValue};
use serde_json::{Value, json};

/// The tables holding an account's rows, with the condition selecting them (`{uid}` filled in):
/// the accounts, their field values and roles, and drupal-scim's own bridge table.
fn account_tables(fx: Fixture, tables: Vec<String>, uid: u32) -> Vec<(String, String)> {
    tables
        .into_iter()
        .filter_map(|t| {
            let condition = match (fx, t.as_str()) {
                (_, "users" | "scim_user") => format!("`uid` = {uid}"),
                (Fixture::Drupal10, "users_field_data") => format!("`uid` = {uid}"),
                (Fixture::Drupal10, name) if name.starts_with("user__") => format!("`entity_id` = {uid}"),
                (Fixture::Drupal7, "users_roles") => format!("`uid` = {uid}"),
                (Fixture::Drupal7, name) if name.starts_with("field_data_") || name.starts_with("field_revision_") => {
                    format!("`entity_type` = 'user' AND `entity_id` = {uid}")
                }
                _ => return None,
            };
            Some((t, condition))
        })
        .collect()
}

/// The rows of one table for the account, to put back after each column.
struct Saved {
    table: String,
    condition: String,
    columns: Vec<String>,
    rows: Vec<Vec<SqlValue>>,
}

async fn save(conn: &mut mysql_async::Conn, table: &str, condition: &str) -> Saved {
    let rows: Vec<Row> = conn.query(format!("SELECT * FROM `{table}` WHERE {condition}")).await.unwrap();
    let columns = match rows.first() {
        Some(row) => row.columns_ref().iter().map(|c| c.name_str().into_owned()).collect(),
        None => Vec::new(),
    };
    Saved {
        table: table.to_string(),
        condition: condition.to_string(),
        columns,
        rows: rows.into_iter().map(Row::unwrap).collect(),
    }
}

async fn restore(conn: &mut mysql_async::Conn, saved: &[Saved]) {
    for s in saved {
        conn.query_drop(format!("DELETE FROM `{}` WHERE {}", s.table, s.condition)).await.unwrap();
        for row in &s.rows {
            let names: Vec<String> = s.columns.iter().map(|c| format!("`{c}`")).collect();
            let marks = vec!["?"; names.len()].join(", ");
            let sql = format!("INSERT INTO `{}` ({}) VALUES ({marks})", s.table, names.join(", "));
            conn.exec_drop(sql, row.clone()).await.unwrap();
        }
    }
}

/// The account's field and role rows (which a deactivation does not change), in a fixed order.
async fn kept_rows(app: &TestApp, tables: &[(String, String)]) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for (table, condition) in tables {
        if matches!(table.as_str(), "users" | "users_field_data" | "scim_user") {
            continue;
        }
        let mut rows = app.json_rows(&format!("SELECT * FROM `{table}` WHERE {condition}")).await;
        rows.sort_by_key(Value::to_string);
        out.push(rows);
    }
    out
}

/// Send a request and assert it got a SCIM answer: 2xx with a JSON body (or none for a 204),
/// or a SCIM Error. Returns the status and body.
async fn answered(request: reqwest::RequestBuilder, what: &str) -> (u16, Value) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{what}: no answer (connection dropped?): {e}"));
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap_or_else(|e| panic!("{what}: the answer broke off: {e}"));
    if status == 204 {
        return (status, Value::Null);
    }
    assert_eq!(content_type.as_deref(), Some("application/scim+json"), "{what}: {status} {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    if !(200..300).contains(&status) {
        assert!((400..=599).contains(&status), "{what}: {status} {body}");
        assert_eq!(body["schemas"], json!([ERROR]), "{what}: {body}");
        assert_eq!(body["status"], Value::from(status.to_string()), "{what}: {body}");
    }
    (status, body)
}

async fn every_nullable_column_of_an_account_gets_a_scim_answer(fx: Fixture) {
    let started = std::time::Instant::now();
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_with_fields()).await;
    // The account under test is one SCIM created (and so manages), with every mapped field
    // filled and a role from a group.
    let mut body = entra_user("null.probe", "null.probe@example.com", "ext-null-probe");
    body["timezone"] = json!("Europe/Berlin");
    body["preferredLanguage"] = json!("en");
    body[ENTERPRISE] = json!({"department": "Research", "employeeNumber": "E-77"});
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let uid = app.uid_of("null.probe").await;
    let group = create_group(&app, &entra_group("Null Probes", "ext-null-probes")).await;
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
    patch_204(&app, &group_path, json!([{"op": "add", "path": "members", "value": members(&[&id])}])).await;
    assert_eq!(app.role_ids_of(uid).await.len(), 1);

    let mut conn = app.pool.get_conn().await.unwrap();
    let names: Vec<String> = conn
        .query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME")
        .await
        .unwrap();
    let tables = account_tables(fx, names, uid);
    let mut saved = Vec::new();
    for (table, condition) in &tables {
        saved.push(save(&mut conn, table, condition).await);
    }
    let mut nullable: Vec<(String, String)> = Vec::new();
    for (table, _) in &tables {
        let columns: Vec<String> = conn
            .exec(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = ? AND IS_NULLABLE = 'YES' ORDER BY ORDINAL_POSITION",
                (table,),
            )
            .await
            .unwrap();
        nullable.extend(columns.into_iter().map(|c| (table.clone(), c)));
    }
    let has = |t: &str, c: &str| nullable.iter().any(|(table, column)| table == t && column == c);
    match fx {
        Fixture::Drupal10 => assert!(has("users_field_data", "mail") && has("users_field_data", "status")),
        // The column whose NULL closed the connection of every list holding the account.
        Fixture::Drupal7 => assert!(has("field_data_field_first_name", "field_first_name_value")),
    }
    assert!(has("scim_user", "external_id"), "the bridge table is covered: {nullable:?}");

    let user_path = format!("/Users/{id}");
    let user_url = format!("{}{user_path}", app.base);
    let list_url = format!("{}/Users", app.base);
    let scim = |r: reqwest::RequestBuilder| r.bearer_auth(&app.token).header("content-type", "application/scim+json");
    let deactivate =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    for (table, column) in &nullable {
        let at = format!("{table}.{column} = NULL");
        let condition = &tables.iter().find(|(t, _)| t == table).unwrap().1;
        conn.query_drop(format!("UPDATE `{table}` SET `{column}` = NULL WHERE {condition}")).await.unwrap();
        let touched = conn.affected_rows();
        // The bridge's id is the SCIM id on Drupal 7: without it the account has its derived id.
        let id_lost = fx == Fixture::Drupal7 && table == "scim_user" && column == "scim_id";

        let (status, one) = answered(scim(app.client.get(&user_url)), &format!("{at}: GET {user_path}")).await;
        if id_lost {
            assert_eq!(status, 404, "{at}: {one}");
        } else {
            assert_eq!(status, 200, "{at}: a NULL Drupal allows is read as absent: {one}");
            assert_eq!(one["id"], id.as_str(), "{at}");
        }

        let (status, list) = answered(scim(app.client.get(&list_url)), &format!("{at}: GET /Users")).await;
        assert_eq!(status, 200, "{at}: {list}");
        assert!(list["Resources"].as_array().is_some_and(|r| !r.is_empty()), "{at}: {list}");

        let before = kept_rows(&app, &tables).await;
        let request = scim(app.client.patch(&user_url)).body(deactivate.to_string());
        let (status, patched) = answered(request, &format!("{at}: PATCH active")).await;
        if id_lost {
            assert_eq!(status, 404, "{at}: {patched}");
        } else {
            assert_eq!(status, 200, "{at}: {patched}");
            assert_eq!(patched["active"], false, "{at}: {patched}");
            assert_eq!(app.data_column(uid, "status").await, 0, "{at}: the account is blocked");
        }
        assert_eq!(
            kept_rows(&app, &tables).await,
            before,
            "{at} ({touched} rows): the PATCH left the field and role rows alone"
        );
        restore(&mut conn, &saved).await;
    }

    // Everything is back, and the server still answers.
    let user = app.get(&user_path).await.json::<Value>().await.unwrap();
    assert_eq!(user["name"]["givenName"], "Given", "{user}");
    assert_eq!(user[ENTERPRISE]["department"], "Research", "{user}");
    assert_eq!(user["active"], true, "{user}");
    assert_eq!(reqwest::get(format!("{}/healthz", app.address)).await.unwrap().status().as_u16(), 200);
    eprintln!("{fx:?}: {} nullable columns in {:?}", nullable.len(), started.elapsed());
}

both!(every_nullable_column_of_an_account_gets_a_scim_answer);

/// A value Drupal's schema never holds (here a `created` that is not a number, after a module
/// changed the column) makes the requests that read the account answer 500 naming the column —
/// never the value — and the server goes on answering.
async fn an_unreadable_column_is_a_500_naming_it(fx: Fixture) {
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_with_fields()).await;
    let other = app.create_user("other.reader", "other.reader@example.com").await;
    let user = app.create_user("odd.created", "odd.created@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let uid = app.uid_of("odd.created").await;
    let table = app.account_table();
    app.exec(&format!("ALTER TABLE {table} MODIFY `created` varchar(32) NOT NULL DEFAULT ''")).await;
    app.exec(&format!("UPDATE {table} SET `created` = 'Tuesday the 3rd' WHERE uid = {uid}")).await;
    for body in [
        expect_error(app.get(&path).await, 500, None).await,
        expect_error(app.get("/Users").await, 500, None).await,
        expect_error(
            app.patch_ops(&path, json!([{"op": "replace", "path": "active", "value": false}])).await,
            500,
            None,
        )
        .await,
    ] {
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("{table}.created holds text")), "{detail}");
        assert!(!detail.contains("Tuesday"), "no row data in an answer: {detail}");
    }
    assert_eq!(app.data_column(uid, "status").await, 1, "nothing was written");
    let other = format!("/Users/{}", other["id"].as_str().unwrap());
    assert_eq!(app.get(&other).await.status().as_u16(), 200, "other accounts still read");
}

both!(an_unreadable_column_is_a_500_naming_it);
