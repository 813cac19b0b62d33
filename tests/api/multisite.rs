//! Many sites, one process: each site at `/scim/v2/<site>` (or its own Host), kept apart —
//! tokens, cursors, ETags, database connections and outages of one site never reach another —
//! and sites added, removed or changed by a reload while the others keep serving.

use crate::helpers::*;
use crate::multisite_support::*;
use crate::procs::{MariaDb, free_port};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const OTHER_SECRET: &str = "another-secret-0123456789abcdef012345";

/// The table a site keeps `name` in, and its status column, for a check of its own rows.
fn accounts_table(app: &TestApp, prefix: &str) -> String {
    if app.is_d7() { format!("{prefix}users") } else { format!("{prefix}users_field_data") }
}

#[tokio::test]
async fn one_process_serves_a_drupal_10_a_prefixed_drupal_10_and_a_drupal_7_site() {
    let prefixed = Spec { prefix: Some("lab_"), ..Spec::new("lab", Fixture::Drupal10) };
    let multi =
        Multi::spawn(vec![Spec::new("main", Fixture::Drupal10), prefixed, Spec::new("legacy", Fixture::Drupal7)], "")
            .await;
    for (name, prefix) in [("main", ""), ("lab", "lab_"), ("legacy", "")] {
        let app = multi.site(name);
        // Entra's sequence: match (nothing), create, read, disable, a group with the user.
        let found: Value = app.filter_users("userName eq \"ada.multi\"").await.json().await.unwrap();
        assert_eq!(found["totalResults"], 0, "{name}");
        let created = app
            .post(
                "/Users",
                &json!({
                    "schemas": [USER_SCHEMA], "userName": "ada.multi", "externalId": format!("ext-{name}"),
                    "emails": [{"value": "ada.multi@example.com", "primary": true, "type": "work"}],
                    "name": {"givenName": "Ada", "familyName": name}, "active": true
                }),
            )
            .await;
        assert_eq!(created.status().as_u16(), 201, "{name}");
        let location = created.headers()["location"].to_str().unwrap().to_string();
        let user: Value = created.json().await.unwrap();
        let id = user["id"].as_str().unwrap().to_string();
        assert_eq!(location, format!("{}/Users/{id}", app.base), "{name}: located below its own base");
        let found: Value = app.filter_users(&format!("externalId eq \"ext-{name}\"")).await.json().await.unwrap();
        assert_eq!(found["totalResults"], 1, "{name}");
        let disabled = app
            .patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}]))
            .await;
        assert_eq!(disabled.status().as_u16(), 200, "{name}");
        let group = app
            .post(
                "/Groups",
                &json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Multi Editors",
                    "externalId": format!("g-{name}"), "members": [{"value": id}]
                }),
            )
            .await;
        assert_eq!(group.status().as_u16(), 201, "{name}");
        let group: Value = group.json().await.unwrap();
        assert_eq!(group["meta"]["location"], format!("{}/Groups/{}", app.base, group["id"].as_str().unwrap()));
        let table = accounts_table(app, prefix);
        let status: Vec<i64> = app.rows(&format!("SELECT status FROM {table} WHERE name = 'ada.multi'")).await;
        assert_eq!(status, vec![0], "{name}: one blocked ada.multi in its own tables");
        let holds: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
        assert_eq!(holds["groups"][0]["display"], "Multi Editors", "{name}");
    }
    let unprefixed: Vec<String> = multi
        .site("lab")
        .rows("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'lab\\_%'")
        .await;
    assert_eq!(unprefixed, Vec::<String>::new(), "the prefixed site's writes stay within its prefix");

    // The same userName created on every site at once: different sites, so all succeed.
    let creates = ["main", "lab", "legacy"].map(|name| {
        let app = multi.site(name);
        async move {
            app.post(
                "/Users",
                &json!({"schemas": [USER_SCHEMA], "userName": "twin", "emails": [{"value": "twin@example.com"}]}),
            )
            .await
            .status()
            .as_u16()
        }
    });
    assert_eq!(futures_util::future::join_all(creates).await, vec![201, 201, 201]);
}

#[tokio::test]
async fn a_token_of_one_site_is_refused_on_every_route_of_another_even_with_the_same_secret() {
    let multi =
        Multi::spawn(vec![Spec::new("north", Fixture::Drupal10), Spec::new("south", Fixture::Drupal10)], "").await;
    let (north, south) = (multi.site("north"), multi.site("south"));
    let jdoe: String = north.one("SELECT uuid FROM users WHERE uid = 2").await.unwrap();
    let routes: Vec<(reqwest::Method, String)> = [
        ("GET", "/ServiceProviderConfig"),
        ("GET", "/ResourceTypes"),
        ("GET", "/ResourceTypes/User"),
        ("GET", "/Schemas"),
        ("GET", &format!("/Schemas/{USER_SCHEMA}")),
        ("GET", "/Users"),
        ("POST", "/Users"),
        ("GET", &format!("/Users/{jdoe}")),
        ("PUT", &format!("/Users/{jdoe}")),
        ("PATCH", &format!("/Users/{jdoe}")),
        ("DELETE", &format!("/Users/{jdoe}")),
        ("POST", "/Users/.search"),
        ("GET", "/Groups"),
        ("POST", "/Groups"),
        ("GET", "/Groups/content_editor"),
        ("PATCH", "/Groups/content_editor"),
        ("PUT", "/Groups/content_editor"),
        ("DELETE", "/Groups/content_editor"),
        ("POST", "/Groups/.search"),
        ("POST", "/.search"),
        ("POST", "/Bulk"),
        ("GET", "/Me"),
    ]
    .iter()
    .map(|(m, p)| (reqwest::Method::from_bytes(m.as_bytes()).unwrap(), p.to_string()))
    .collect();
    let plain = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "tests", None).unwrap();
    let before = south.bridge_rows().await;
    for (method, path) in &routes {
        for (token, whose) in [(&north.token, "north's token"), (&plain, "a token naming no site")] {
            let response = south
                .client
                .request(method.clone(), format!("{}{path}", south.base))
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": [PATCH_OP], "Operations": []}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 401, "{method} {path} with {whose}");
        }
    }
    assert_eq!(south.bridge_rows().await, before, "nothing was written");
    assert_eq!(south.get(&format!("/Users/{jdoe}")).await.status().as_u16(), 200, "south's own token works");

    // Cursors and versions of one site mean nothing on the other, though both sites were made
    // from one database (jdoe has the same uuid and the same attributes on both).
    let page: Value =
        north.list_users(&[("cursor", ""), ("count", "1"), ("attributes", "id")]).await.json().await.unwrap();
    let cursor = page["nextCursor"].as_str().expect("a next cursor").to_string();
    let refused = south.list_users(&[("cursor", cursor.as_str()), ("count", "1")]).await;
    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(refused.json::<Value>().await.unwrap()["scimType"], "invalidCursor");
    let etag = north.get(&format!("/Users/{jdoe}")).await.headers()["etag"].to_str().unwrap().to_string();
    let south_etag = south.get(&format!("/Users/{jdoe}")).await.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(etag, south_etag);
    let fresh = south
        .client
        .get(format!("{}/Users/{jdoe}", south.base))
        .bearer_auth(&south.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status().as_u16(), 200, "north's ETag is not south's version");
    let conditional = south
        .client
        .patch(format!("{}/Users/{jdoe}", south.base))
        .bearer_auth(&south.token)
        .header("content-type", "application/scim+json")
        .header("if-match", &etag)
        .body(
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(conditional.status().as_u16(), 412);

    // An unknown site is a SCIM 404 that names no other site.
    let unknown = north
        .client
        .get(format!("{}/scim/v2/west/Users", multi.address))
        .bearer_auth(&north.token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let detail = unknown.json::<Value>().await.unwrap()["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("\"west\"") && !detail.contains("north") && !detail.contains("south"), "{detail}");
}

#[tokio::test]
async fn a_site_whose_database_stops_answers_503_while_the_others_serve() {
    let mut own = MariaDb::start(&[]).await;
    let failing =
        Spec { server: Some(own.url()), database: "timeout_secs = 2", ..Spec::new("fragile", Fixture::Drupal10) };
    let multi = Multi::spawn(vec![failing, Spec::new("steady", Fixture::Drupal10)], "").await;
    let (fragile, steady) = (multi.site("fragile"), multi.site("steady"));
    assert_eq!(fragile.get("/Users").await.status().as_u16(), 200);
    own.kill();
    let started = Instant::now();
    let down = fragile.get("/Users").await;
    assert_eq!(down.status().as_u16(), 503, "{:?}", down.text().await);
    assert!(started.elapsed() < Duration::from_secs(15));
    for _ in 0..5 {
        assert_eq!(steady.get("/Users").await.status().as_u16(), 200);
        let name = format!("steady.{}", uuid::Uuid::new_v4().simple());
        assert_eq!(steady.create_user(&name, &format!("{name}@example.com")).await["active"], true);
    }
    let health = reqwest::get(format!("{}/healthz", multi.address)).await.unwrap();
    assert_eq!(health.status().as_u16(), 200, "some sites serve: the process stays in rotation");
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["sites"]["fragile"]["database"], "unreachable");
    assert_eq!(health["sites"]["steady"]["status"], "ok");
    assert_eq!(reqwest::get(format!("{}/healthz/fragile", multi.address)).await.unwrap().status().as_u16(), 503);
    assert_eq!(reqwest::get(format!("{}/healthz/steady", multi.address)).await.unwrap().status().as_u16(), 200);
    assert_eq!(reqwest::get(format!("{}/healthz/nowhere", multi.address)).await.unwrap().status().as_u16(), 404);
    own.restart().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = fragile.get("/Users").await.status().as_u16();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the site did not come back: {status}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    drop(multi);
}

#[tokio::test]
async fn a_site_that_cannot_be_opened_at_start_answers_503_the_others_serve_and_it_joins_later() {
    // Its database does not exist yet (a site being installed, a database being restored).
    let late = format!("dscim_late_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}/{late}", test_server_url());
    let gone = Spec {
        url: Some(url),
        secret: OTHER_SECRET,
        database: "timeout_secs = 1",
        ..Spec::new("gone", Fixture::Drupal10)
    };
    let multi = Multi::spawn(vec![gone, Spec::new("here", Fixture::Drupal10)], "").await;
    let here = multi.site("here");
    assert_eq!(here.get("/Users").await.status().as_u16(), 200);
    let url = format!("{}/scim/v2/gone/Users", multi.address);
    let gone_token = drupal_scim::token::mint_for_site(OTHER_SECRET, "gone", "tests").unwrap();
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).bearer_auth(&gone_token).send().await.unwrap().status().as_u16(), 503);
    assert_eq!(
        client.get(&url).bearer_auth(&here.token).send().await.unwrap().status().as_u16(),
        401,
        "token checked first"
    );
    assert_eq!(client.get(&url).send().await.unwrap().status().as_u16(), 401);
    let health: Value = reqwest::get(format!("{}/healthz", multi.address)).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["sites"]["gone"]["database"], "not opened");
    assert_eq!(drupal_scim::startup::open_down_sites(&multi.handle).await, Vec::<String>::new(), "still missing");

    // The database appears: the next retry opens the site, and nothing else changes.
    let admin = mysql_async::Pool::new(format!("{}/", test_server_url()).as_str());
    let mut conn = admin.get_conn().await.unwrap();
    use mysql_async::prelude::Queryable;
    conn.query_drop(format!("CREATE DATABASE `{late}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci; USE `{late}`"))
        .await
        .unwrap();
    conn.query_drop(std::fs::read_to_string(repo_path(Fixture::Drupal10.sql_file())).unwrap()).await.unwrap();
    drop(conn);
    assert_eq!(drupal_scim::startup::open_down_sites(&multi.handle).await, vec!["site \"gone\": serving".to_string()]);
    assert_eq!(client.get(&url).bearer_auth(&gone_token).send().await.unwrap().status().as_u16(), 200);
    let health: Value = reqwest::get(format!("{}/healthz", multi.address)).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    drop(multi);
    drop_test_database(&test_server_url(), &late).await;
    admin.disconnect().await.unwrap();
}

#[tokio::test]
async fn healthz_is_503_only_when_no_site_answers() {
    let nowhere = format!("mysql://root@127.0.0.1:{}/drupal", free_port());
    let gone = Spec { url: Some(nowhere), database: "timeout_secs = 1", ..Spec::new("gone", Fixture::Drupal10) };
    let multi = Multi::spawn(vec![gone], "").await;
    let health = reqwest::get(format!("{}/healthz", multi.address)).await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "unavailable");
}

#[tokio::test]
async fn one_busy_site_cannot_take_the_database_connections_of_another() {
    let busy = Spec { database: "pool_max = 2\ntimeout_secs = 20", ..Spec::new("busy", Fixture::Drupal10) };
    let calm = Spec { database: "pool_max = 2", ..Spec::new("calm", Fixture::Drupal10) };
    let multi = Multi::spawn(vec![busy, calm], "database_connections_max = 3").await;
    let (busy, calm) = (multi.site("busy"), multi.site("calm"));
    let jdoe: String = busy.one("SELECT uuid FROM users WHERE uid = 2").await.unwrap();
    // Drupal (here: another connection) holds jdoe's row: busy's PATCHes wait on it, holding
    // both of busy's connections, and the rest wait for busy's pool.
    let mut holder = busy.pool.get_conn().await.unwrap();
    use mysql_async::prelude::Queryable;
    holder.query_drop("START TRANSACTION").await.unwrap();
    holder.query_drop("SELECT * FROM users WHERE uid = 2 FOR UPDATE").await.unwrap();
    holder.query_drop("SELECT * FROM users_field_data WHERE uid = 2 FOR UPDATE").await.unwrap();
    let patches: Vec<_> = (0..6)
        .map(|_| {
            let (client, url, token) = (busy.client.clone(), format!("{}/Users/{jdoe}", busy.base), busy.token.clone());
            tokio::spawn(async move {
                client
                    .patch(url)
                    .bearer_auth(token)
                    .header("content-type", "application/scim+json")
                    .body(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}).to_string())
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let metrics_url = format!("{}/metrics", multi.address);
    // Checked without panicking while the row is held: a panic here would leave the lock (and
    // the clean-up waiting on it) behind.
    let while_held: Result<(), String> = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = reqwest::get(&metrics_url).await.map_err(|e| e.to_string())?.text().await.unwrap_or_default();
            if text.contains("drupal_scim_db_connections_in_use{site=\"busy\"} 2") {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("busy never held its two connections:\n{text}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // calm is served at once, reads and writes, though busy holds two of the three shared
        // connections and four more of busy's requests queue for its pool.
        for i in 0..3 {
            let started = Instant::now();
            let read = calm.get("/Users").await.status().as_u16();
            let body = json!({"schemas": [USER_SCHEMA], "userName": format!("calm.{i}"), "emails": [{"value": format!("calm.{i}@example.com")}]});
            let write = calm.post("/Users", &body).await.status().as_u16();
            if (read, write) != (200, 201) || started.elapsed() > Duration::from_secs(3) {
                return Err(format!("calm answered {read}/{write} after {:?}", started.elapsed()));
            }
        }
        Ok(())
    }
    .await;
    holder.query_drop("ROLLBACK").await.unwrap();
    drop(holder);
    while_held.unwrap();
    for patch in patches {
        assert_eq!(patch.await.unwrap().unwrap(), 200, "busy's requests finish once the row is free");
    }
    let text = reqwest::get(&metrics_url).await.unwrap().text().await.unwrap();
    assert!(text.contains("site=\"calm\",method=\"POST\",route=\"/scim/v2/Users\",status=\"201\"} 3"), "{text}");
    assert!(text.contains("site=\"busy\",method=\"PATCH\""), "{text}");
    assert!(text.contains("drupal_scim_last_successful_write_timestamp_seconds{site=\"calm\"} 1"), "{text}");
    assert!(text.contains("drupal_scim_transaction_retries_total{site=\"busy\"}"), "{text}");
}

#[tokio::test]
async fn a_host_reaches_its_site_at_the_plain_base_path() {
    let arts = Spec { host: Some("arts.example.test"), ..Spec::new("arts", Fixture::Drupal10) };
    let multi = Multi::spawn(vec![arts, Spec::new("law", Fixture::Drupal10)], "").await;
    let arts = multi.site("arts");
    let plain = format!("{}/scim/v2/Users", multi.address);
    let created = arts
        .client
        .post(&plain)
        .header("host", "arts.example.test")
        .bearer_auth(&arts.token)
        .header("content-type", "application/scim+json")
        .body(
            json!({"schemas": [USER_SCHEMA], "userName": "by.host", "emails": [{"value": "h@example.com"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let user: Value = created.json().await.unwrap();
    assert_eq!(
        user["meta"]["location"],
        format!("http://arts.example.test/scim/v2/Users/{}", user["id"].as_str().unwrap())
    );
    assert_eq!(arts.one::<u32>("SELECT uid FROM users_field_data WHERE name = 'by.host'").await, Some(5));
    let law = multi.site("law");
    let wrong =
        law.client.get(&plain).header("host", "arts.example.test").bearer_auth(&law.token).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401, "arts' host takes arts' tokens only");
    let no_host = law.client.get(&plain).bearer_auth(&law.token).send().await.unwrap();
    assert_eq!(no_host.status().as_u16(), 404, "without a site in the path or a known host there is no site");
}

#[tokio::test]
async fn a_reload_adds_removes_and_refuses_sites_while_the_others_keep_serving() {
    let mut multi =
        Multi::spawn(vec![Spec::new("keep", Fixture::Drupal10), Spec::new("leave", Fixture::Drupal10)], "").await;
    let keep = multi.site("keep");
    let (client, url, token) = (keep.client.clone(), format!("{}/Users?count=1", keep.base), keep.token.clone());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let load = tokio::spawn(async move {
        let mut statuses = BTreeMap::new();
        while !*stopped.borrow() {
            let status = client.get(&url).bearer_auth(&token).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            *statuses.entry(status).or_insert(0) += 1;
        }
        statuses
    });
    let (added_entry, added_db) = multi.prepare(&Spec::new("added", Fixture::Drupal10)).await;
    let broken_mapping = multi.dir.join("broken.mapping.toml");
    std::fs::write(&broken_mapping, "version = 1\n[users]\nnot valid at all = [\n").unwrap();
    let broken_entry = format!(
        "\n[[sites]]\nname = \"broken\"\nmapping = \"{}\"\n[sites.database]\nurl = \"{}/{}\"\n[sites.auth]\nsecret = \"{SECRET}\"\n",
        broken_mapping.display(),
        added_db.1,
        added_db.0
    );
    let mut entries = multi.entries.clone();
    entries.remove("leave");
    entries.insert("added".into(), added_entry.clone());
    entries.insert("broken".into(), broken_entry);
    let report = multi.reload(entries).await;
    assert!(report.iter().any(|l| l == "site \"added\": added"), "{report:?}");
    assert!(report.iter().any(|l| l == "site \"leave\": removed"), "{report:?}");
    assert!(report.iter().any(|l| l.starts_with("site \"broken\": cannot be served")), "{report:?}");
    assert!(!report.iter().any(|l| l.contains("\"keep\"")), "an unchanged site is not touched: {report:?}");

    let added = TestApp::site_view(
        Fixture::Drupal10,
        format!("{}/scim/v2/added", multi.address),
        drupal_scim::token::mint_for_site(SECRET, "added", "tests").unwrap(),
        added_db,
        multi.dir.join("view-added"),
    );
    assert_eq!(added.create_user("new.site", "new.site@example.com").await["userName"], "new.site");
    let leave = multi.site("leave");
    assert_eq!(leave.get("/Users").await.status().as_u16(), 404, "a removed site is gone");
    let broken_token = drupal_scim::token::mint_for_site(SECRET, "broken", "tests").unwrap();
    let broken = added
        .client
        .get(format!("{}/scim/v2/broken/Users", multi.address))
        .bearer_auth(&broken_token)
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status().as_u16(), 503);

    // A running site whose new settings are invalid keeps its previous ones.
    let keep_mapping = multi.dir.join("keep.mapping.toml");
    std::fs::write(&keep_mapping, "this is not a mapping").unwrap();
    let report = multi.reload(multi.entries.clone()).await;
    assert!(report.iter().any(|l| l.starts_with("site \"keep\": new settings refused")), "{report:?}");
    assert_eq!(multi.site("keep").get("/Users").await.status().as_u16(), 200);

    let _ = stop.send(true);
    let statuses = load.await.unwrap();
    assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), vec![200], "keep answered every request: {statuses:?}");
}

#[tokio::test]
async fn a_reload_of_a_single_site_takes_its_new_secret() {
    let (db, server, _pool) = fresh_database().await;
    let dir = std::env::temp_dir().join(format!("dscim-single-reload-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mapping = dir.join("drupal_mapping.toml");
    std::fs::write(&mapping, mapping_with_fields()).unwrap();
    let settings = drupal_scim::settings::Settings::new(&format!("{server}/{db}"), SECRET, mapping);
    let app = drupal_scim::startup::Application::build(settings.clone()).await.unwrap();
    let (base, sites) = (format!("http://127.0.0.1:{}/scim/v2/Users", app.port()), app.sites());
    tokio::spawn(app.run_until_stopped());
    let old = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "t", None).unwrap();
    let new = drupal_scim::token::mint(OTHER_SECRET, "drupal-scim", "drupal-scim", "t", None).unwrap();
    let client = reqwest::Client::new();
    assert_eq!(client.get(&base).bearer_auth(&old).send().await.unwrap().status().as_u16(), 200);
    let mut rotated = settings;
    rotated.auth.secret = drupal_scim::settings::Secret::new(OTHER_SECRET);
    let report = drupal_scim::startup::reload(&sites, drupal_scim::settings::Deployment::single(rotated)).await;
    assert_eq!(report, vec!["site \"\": reloaded".to_string()]);
    assert_eq!(client.get(&base).bearer_auth(&old).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(client.get(&base).bearer_auth(&new).send().await.unwrap().status().as_u16(), 200);
    let _ = std::fs::remove_dir_all(&dir);
    drop_test_database(&server, &db).await;
}

#[tokio::test]
async fn group_writes_queued_on_one_site_never_delay_another_sites() {
    let slow = Spec { database: "timeout_secs = 20", ..Spec::new("slow", Fixture::Drupal10) };
    let multi = Multi::spawn(vec![slow, Spec::new("quick", Fixture::Drupal10)], "").await;
    let (slow, quick) = (multi.site("slow"), multi.site("quick"));
    let mut ids = Vec::new();
    for app in [slow, quick] {
        let created = app
            .post(
                "/Groups",
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Team"}),
            )
            .await;
        assert_eq!(created.status().as_u16(), 201);
        ids.push(created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string());
    }
    // Another writer (here: a connection of the test) holds slow's group lock: its group writes
    // queue — two of them at the database, the rest for their turn.
    let mut holder = slow.pool.get_conn().await.unwrap();
    use mysql_async::prelude::Queryable;
    let name = "CONCAT('drupal_scim:', LEFT(SHA2(CONCAT_WS('|', CONVERT(DATABASE() USING utf8mb4), '`users`', 'groups'), 256), 40))";
    let got: Option<i64> = holder.query_first(format!("SELECT GET_LOCK({name}, 5)")).await.unwrap();
    assert_eq!(got, Some(1));
    let body =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Editors"}]});
    let queued: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, token) =
                (slow.client.clone(), format!("{}/Groups/{}", slow.base, ids[0]), slow.token.clone());
            let body = body.to_string();
            tokio::spawn(async move {
                client
                    .patch(url)
                    .bearer_auth(token)
                    .header("content-type", "application/scim+json")
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting: Vec<i64> = slow
        .rows("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT GET_LOCK(%' AND DB = DATABASE()")
        .await;
    assert_eq!(waiting, vec![2], "two of slow's group writes wait for the lock, the others for their turn");
    let started = Instant::now();
    let other = quick
        .patch_ops(
            &format!("/Groups/{}", ids[1]),
            json!([{"op": "replace", "path": "displayName", "value": "Quick team"}]),
        )
        .await;
    let (status, waited) = (other.status().as_u16(), started.elapsed());
    let _: Option<i64> = holder.query_first(format!("SELECT RELEASE_LOCK({name})")).await.unwrap();
    drop(holder);
    assert!(matches!(status, 200 | 204), "the other site's group write is served: {status}");
    assert!(waited < Duration::from_secs(3), "and not queued behind slow's: {waited:?}");
    for patch in queued {
        let status = patch.await.unwrap().unwrap();
        assert!(matches!(status, 200 | 204), "slow's writes finish once the lock is free: {status}");
    }
}
