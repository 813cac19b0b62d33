//! Sites that keep Drupal's caches in Redis (the `redis` module): after each write the tag
//! counters Drupal reads (`<prefix>:cachetags:<tag>`) go up by exactly what Drupal's own save
//! raises, the account's cache items (`<prefix>:<bin>:<cid>`) are gone, and no other key moves —
//! not another prefix's, not another bin's, not another cid's. A Redis that goes away keeps its
//! invalidations waiting, in order, until it returns. Runs against TEST_REDIS_URL (scripts/test.sh
//! starts a throwaway redis-server); the outage test starts redis-servers of its own.
use crate::helpers::{Fixture, SECRET, TempDir, TestApp, both, entra_user, mapping_with_fields, test_server_url};
use drupal_scim::settings::{CachePrefix, CacheSettings, Settings};
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL")
        .expect("TEST_REDIS_URL is not set: run the tests with scripts/test.sh (it starts a throwaway redis-server)")
}

async fn connect(url: &str) -> MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// A prefix no other test uses.
fn unique(kind: &str) -> String {
    format!("{kind}{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Every key under the given prefixes, with its value (a hash as its sorted fields).
async fn snapshot(redis: &mut MultiplexedConnection, prefixes: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for prefix in prefixes {
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(redis).await.unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query_async(redis).await.unwrap();
            let value = if kind == "hash" {
                let fields: BTreeMap<String, String> =
                    redis::cmd("HGETALL").arg(&key).query_async(redis).await.unwrap();
                format!("hash {fields:?}")
            } else {
                redis::cmd("GET").arg(&key).query_async::<String>(redis).await.unwrap()
            };
            out.insert(key, value);
        }
    }
    out
}

/// A cache item as the redis module stores one (a hash).
async fn seed_item(redis: &mut MultiplexedConnection, key: &str) {
    let _: () = redis::cmd("HSET")
        .arg(key)
        .arg("data")
        .arg("a:0:{}")
        .arg("created")
        .arg("1719476990.12")
        .arg("expire")
        .arg("-1")
        .arg("checksum")
        .arg("5")
        .query_async(redis)
        .await
        .unwrap();
}

async fn set(redis: &mut MultiplexedConnection, key: &str, value: &str) {
    let _: () = redis::cmd("SET").arg(key).arg(value).query_async(redis).await.unwrap();
}

/// Between `before` and `after`: each of `incremented` went up by exactly one (absent = 0),
/// each of `gone` existed and no longer does, and every other key is as it was.
fn assert_changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    incremented: &[String],
    gone: &[String],
    what: &str,
) {
    for key in incremented {
        let old: i64 = before.get(key).map_or(0, |v| v.parse().unwrap());
        assert_eq!(after.get(key).map(String::as_str), Some((old + 1).to_string().as_str()), "{what}: {key} +1");
    }
    for key in gone {
        assert!(before.contains_key(key), "{what}: {key} was seeded");
        assert!(!after.contains_key(key), "{what}: {key} is deleted");
    }
    let mut expected = before.clone();
    for key in gone {
        expected.remove(key);
    }
    let rest = |map: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        map.iter().filter(|(k, _)| !incremented.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert_eq!(rest(after), rest(&expected), "{what}: nothing else changed");
}

fn mapping_hard_delete() -> String {
    let text = mapping_with_fields();
    assert!(text.contains("delete = \"block\"\n"));
    text.replace("delete = \"block\"\n", "delete = \"delete_if_no_content\"\n")
}

async fn spawn(fx: Fixture, mapping: &str, cache: CacheSettings) -> TestApp {
    TestApp::spawn_custom_on(fx, &test_server_url(), mapping, "", move |s: &mut Settings| s.cache = cache).await
}

/// The keys Drupal reads for account `uid` under prefix `p`.
struct Layout {
    p: String,
    d7: bool,
}

impl Layout {
    fn tag(&self, tag: &str) -> String {
        format!("{}:cachetags:{tag}", self.p)
    }
    /// What a save of an existing account raises (none on Drupal 7, which has no cache tags).
    fn saved(&self, uid: u32) -> Vec<String> {
        if self.d7 {
            vec![]
        } else {
            vec![self.tag("user_list"), self.tag("4xx-response"), self.tag(&format!("user:{uid}"))]
        }
    }
    /// What creating an account raises.
    fn created(&self) -> Vec<String> {
        if self.d7 { vec![] } else { vec![self.tag("user_list"), self.tag("4xx-response")] }
    }
    /// What deleting an account raises: no 4xx-response (EntityBase::invalidateTagsOnDelete).
    fn deleted(&self, uid: u32) -> Vec<String> {
        if self.d7 { vec![] } else { vec![self.tag("user_list"), self.tag(&format!("user:{uid}"))] }
    }
    /// The account's cache items: cache_entity on 8+, cache_field and entitycache's
    /// cache_entity_user on 7 (whose bins keep their table names).
    fn items(&self, uid: u32) -> Vec<String> {
        if self.d7 {
            vec![format!("{}:cache_field:field:user:{uid}", self.p), format!("{}:cache_entity_user:{uid}", self.p)]
        } else {
            vec![format!("{}:entity:values:user:{uid}", self.p)]
        }
    }
}

async fn redis_user_writes_raise_exactly_drupals_tags_and_drop_the_items(fx: Fixture) {
    let url = redis_url();
    let mut redis = connect(&url).await;
    let (p, other) = (unique("site"), unique("other"));
    let app = spawn(fx, &mapping_hard_delete(), CacheSettings::redis(&url, CachePrefix::One(p.clone()))).await;
    let site = Layout { p: p.clone(), d7: app.is_d7() };
    // What must not move: another site's keys, other bins, other accounts' items, other tags.
    set(&mut redis, &format!("{other}:cachetags:user_list"), "7").await;
    seed_item(&mut redis, &format!("{other}:entity:values:user:2")).await;
    seed_item(&mut redis, &format!("{p}:data:user_admin_people:page_1:results")).await;
    seed_item(&mut redis, &format!("{p}:render:entity_view:user:2:full")).await;
    set(&mut redis, &format!("{p}:cachetags:node_list"), "3").await;
    set(&mut redis, &site.tag("user_list"), "41").await;
    for key in site.items(3) {
        seed_item(&mut redis, &key).await;
    }
    let prefixes = [p.as_str(), other.as_str()];

    // Create.
    let before = snapshot(&mut redis, &prefixes).await;
    let created = app.create_user("redis.one", "redis.one@example.com").await;
    let id = created["id"].as_str().unwrap().to_string();
    let uid = app.uid_of("redis.one").await;
    let after = snapshot(&mut redis, &prefixes).await;
    assert_changes(&before, &after, &site.created(), &[], "create");
    assert_eq!(after[&site.tag("user_list")], if app.is_d7() { "41" } else { "42" });

    // PATCH (a new mail): Drupal would have cached the account meanwhile.
    for key in site.items(uid) {
        seed_item(&mut redis, &key).await;
    }
    let before = snapshot(&mut redis, &prefixes).await;
    let ops = json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "redis.one@example.org"}]);
    assert_eq!(app.patch_ops(&format!("/Users/{id}"), ops).await.status().as_u16(), 200);
    let after = snapshot(&mut redis, &prefixes).await;
    assert_changes(&before, &after, &site.saved(uid), &site.items(uid), "patch");

    // Block (active = false).
    for key in site.items(uid) {
        seed_item(&mut redis, &key).await;
    }
    let before = snapshot(&mut redis, &prefixes).await;
    let ops = json!([{"op": "replace", "path": "active", "value": false}]);
    assert_eq!(app.patch_ops(&format!("/Users/{id}"), ops).await.status().as_u16(), 200);
    let after = snapshot(&mut redis, &prefixes).await;
    assert_changes(&before, &after, &site.saved(uid), &site.items(uid), "block");

    // Delete (delete_if_no_content: the account owns nothing, so it goes).
    for key in site.items(uid) {
        seed_item(&mut redis, &key).await;
    }
    let before = snapshot(&mut redis, &prefixes).await;
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status().as_u16(), 204);
    assert_eq!(app.try_uid_of("redis.one").await, None, "hard-deleted");
    let after = snapshot(&mut redis, &prefixes).await;
    assert_changes(&before, &after, &site.deleted(uid), &site.items(uid), "delete");
    // The other site's counter and items never moved.
    assert_eq!(after[&format!("{other}:cachetags:user_list")], "7");
}
both!(redis_user_writes_raise_exactly_drupals_tags_and_drop_the_items);

async fn redis_group_writes_invalidate_the_role_and_its_members(fx: Fixture) {
    let url = redis_url();
    let mut redis = connect(&url).await;
    let (p, other) = (unique("site"), unique("other"));
    let app = spawn(fx, &mapping_with_fields(), CacheSettings::redis(&url, CachePrefix::One(p.clone()))).await;
    let site = Layout { p: p.clone(), d7: app.is_d7() };
    let d7 = app.is_d7();
    let member = app.create_user("redis.member", "redis.member@example.com").await;
    let member_id = member["id"].as_str().unwrap().to_string();
    let uid = app.uid_of("redis.member").await;
    set(&mut redis, &format!("{other}:cachetags:config:user_role_list"), "9").await;
    seed_item(&mut redis, &format!("{other}:config:last_write_timestamp_cache_config")).await;
    seed_item(&mut redis, &format!("{p}:config:system.site")).await;
    let prefixes = [p.as_str(), other.as_str()];
    let config = |name: &str| format!("{p}:config:{name}");
    // Drupal 8+: the role's three config items and the APCu timestamp of cache_config.
    let role_items = |role: &str| -> Vec<String> {
        if d7 {
            vec![]
        } else {
            vec![
                config(&format!("user.role.{role}")),
                config(&format!("system.action.user_add_role_action.{role}")),
                config(&format!("system.action.user_remove_role_action.{role}")),
                config("last_write_timestamp_cache_config"),
            ]
        }
    };
    let tags =
        |names: &[&str]| -> Vec<String> { if d7 { vec![] } else { names.iter().map(|t| site.tag(t)).collect() } };

    // Create a group with one member: a new role (its config items were never cached, but the
    // timestamp was), and the member's roles changed.
    if !d7 {
        seed_item(&mut redis, &config("last_write_timestamp_cache_config")).await;
    }
    for key in site.items(uid) {
        seed_item(&mut redis, &key).await;
    }
    let before = snapshot(&mut redis, &prefixes).await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Redis Editors", "members": [{"value": member_id}]});
    let response = app.post("/Groups", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    let group: Value = response.json().await.unwrap();
    let gid = group["id"].as_str().unwrap().to_string();
    let after = snapshot(&mut redis, &prefixes).await;
    let mut raised = tags(&["config:user_role_list", "config:action_list"]);
    raised.extend(site.saved(uid));
    let mut gone = site.items(uid);
    if !d7 {
        gone.push(config("last_write_timestamp_cache_config"));
    }
    assert_changes(&before, &after, &raised, &gone, "group create");

    // Rename: the role's label, so the role's own config tag too; no member changed.
    for key in role_items(&gid) {
        seed_item(&mut redis, &key).await;
    }
    let before = snapshot(&mut redis, &prefixes).await;
    let ops = json!([{"op": "replace", "path": "displayName", "value": "Redis Reviewers"}]);
    assert_eq!(app.patch_ops(&format!("/Groups/{gid}"), ops).await.status().as_u16(), 204);
    let after = snapshot(&mut redis, &prefixes).await;
    assert_changes(
        &before,
        &after,
        &tags(&["config:user_role_list", &format!("config:user.role.{gid}")]),
        &role_items(&gid),
        "group rename",
    );

    // Delete: the role stays (delete_created_roles = false), the member loses it.
    for key in site.items(uid) {
        seed_item(&mut redis, &key).await;
    }
    let before = snapshot(&mut redis, &prefixes).await;
    assert_eq!(app.delete(&format!("/Groups/{gid}")).await.status().as_u16(), 204);
    let after = snapshot(&mut redis, &prefixes).await;
    assert_changes(&before, &after, &site.saved(uid), &site.items(uid), "group delete");
    assert_eq!(after[&format!("{other}:cachetags:config:user_role_list")], "9");
}
both!(redis_group_writes_invalidate_the_role_and_its_members);

#[tokio::test]
async fn redis_per_bin_prefix_puts_the_items_of_that_bin_under_their_own_prefix() {
    let url = redis_url();
    let mut redis = connect(&url).await;
    let (p, e) = (unique("site"), unique("ent"));
    let prefix = CachePrefix::PerBin([("default".to_string(), p.clone()), ("entity".to_string(), e.clone())].into());
    let app = spawn(Fixture::Drupal10, &mapping_with_fields(), CacheSettings::redis(&url, prefix)).await;
    let created = app.create_user("redis.bins", "redis.bins@example.com").await;
    let uid = app.uid_of("redis.bins").await;
    seed_item(&mut redis, &format!("{e}:entity:values:user:{uid}")).await;
    seed_item(&mut redis, &format!("{p}:entity:values:user:{uid}")).await;
    let prefixes = [p.as_str(), e.as_str()];
    let before = snapshot(&mut redis, &prefixes).await;
    let ops = json!([{"op": "replace", "path": "active", "value": false}]);
    assert_eq!(app.patch_ops(&format!("/Users/{}", created["id"].as_str().unwrap()), ops).await.status().as_u16(), 200);
    let after = snapshot(&mut redis, &prefixes).await;
    // Tags under `default`; the entity bin's item under its own prefix; the same cid under the
    // default prefix is another key, untouched.
    let tags = ["user_list", "4xx-response", &format!("user:{uid}")].map(|t| format!("{p}:cachetags:{t}"));
    assert_changes(&before, &after, &tags, &[format!("{e}:entity:values:user:{uid}")], "per-bin prefix");
    assert!(after.contains_key(&format!("{p}:entity:values:user:{uid}")));
}

/// A redis-server of one test's own, on a port of its own, that can be killed and restarted.
struct OwnRedis {
    port: u16,
    dir: TempDir,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    fn program() -> String {
        std::env::var("TEST_REDIS_SERVER").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "redis-server".into())
    }

    async fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = TempDir(std::env::temp_dir().join(format!("dscim-redis-{}", uuid::Uuid::new_v4().simple())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let mut own = OwnRedis { port, dir, child: None };
        own.restart().await;
        own
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Start it (again) on its port, from its last snapshot, logging every command to SLOWLOG.
    async fn restart(&mut self) {
        let child = std::process::Command::new(Self::program())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--slowlog-log-slower-than", "0", "--slowlog-max-len", "10000"])
            .arg("--dir")
            .arg(&self.dir.0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server (TEST_REDIS_SERVER)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(client) = redis::Client::open(self.url())
                && let Ok(mut c) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING").query_async::<String>(&mut c).await.is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not answer on port {}", self.port);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Snapshot to disk, then die without a word (what a crash or a network cut looks like).
    async fn crash(&mut self) {
        let mut c = connect(&self.url()).await;
        let _: () = redis::cmd("SAVE").query_async(&mut c).await.unwrap();
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn healthz(app: &TestApp) -> (u16, Value) {
    let response = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn redis_outage_keeps_invalidations_and_replays_them_in_order_when_it_returns() {
    let mut own = OwnRedis::start().await;
    let p = unique("site");
    let app =
        spawn(Fixture::Drupal10, &mapping_with_fields(), CacheSettings::redis(&own.url(), CachePrefix::One(p.clone())))
            .await;
    let site = Layout { p: p.clone(), d7: false };
    let a = app.create_user("redis.a", "redis.a@example.com").await;
    let a_id = a["id"].as_str().unwrap().to_string();
    let uid_a = app.uid_of("redis.a").await;
    let mut redis = connect(&own.url()).await;
    // Drupal caches account A again, as it would on the next page view.
    seed_item(&mut redis, &format!("{p}:entity:values:user:{uid_a}")).await;
    let before = snapshot(&mut redis, &[p.as_str()]).await;
    assert_eq!(before[&site.tag("user_list")], "1");
    own.crash().await;

    // Three writes while Redis is away: each is answered as usual, and in good time.
    let started = Instant::now();
    let ops = json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "redis.a@example.org"}]);
    assert_eq!(app.patch_ops(&format!("/Users/{a_id}"), ops).await.status().as_u16(), 200);
    let response = app.post("/Users", &entra_user("redis.b", "redis.b@example.com", "ext-redis-b")).await;
    assert_eq!(response.status().as_u16(), 201);
    let uid_b = app.uid_of("redis.b").await;
    let ops = json!([{"op": "replace", "path": "active", "value": false}]);
    assert_eq!(app.patch_ops(&format!("/Users/{a_id}"), ops).await.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(20), "answered in {:?}", started.elapsed());
    assert_eq!(app.data_column(uid_a, "status").await, json!(0), "the database has the truth");

    // /healthz: the database decides the status; Redis is reported beside it.
    let (status, body) = healthz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cache"]["backend"], "redis", "{body}");
    assert_eq!(body["cache"]["state"], "unreachable", "{body}");
    assert_eq!(body["cache"]["pending"], 3, "{body}");
    assert!(crate::helpers::metric(&app.address, "drupal_scim_cache_pending").await >= 3.0);
    assert!(crate::helpers::metric(&app.address, "drupal_scim_cache_failures_total").await >= 1.0);

    // Redis comes back on the same port, with what it held before.
    own.restart().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = healthz(&app).await;
        if body["cache"]["pending"] == 0 && body["cache"]["state"] == "reachable" {
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Drupal's view converged: the three saves' tags, and no stale copy of A.
    let mut redis = connect(&own.url()).await;
    let after = snapshot(&mut redis, &[p.as_str()]).await;
    assert_eq!(after[&site.tag("user_list")], "4");
    assert_eq!(after[&site.tag("4xx-response")], "4");
    assert_eq!(after[&site.tag(&format!("user:{uid_a}"))], "2");
    assert!(!after.contains_key(&site.tag(&format!("user:{uid_b}"))), "a new account has no own tag yet");
    assert!(!after.contains_key(&format!("{p}:entity:values:user:{uid_a}")));

    // In order: the PATCH of A, the create of B, the block of A (SLOWLOG holds every command).
    let log: Vec<Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(10000)
        .query_async::<redis::Value>(&mut redis)
        .await
        .map(to_json)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap();
    let mut seen: Vec<String> = log
        .iter()
        .rev()
        .filter_map(|entry| entry.get(3).and_then(Value::as_array).cloned())
        .map(|args| args.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
        .filter(|cmd| cmd.starts_with("INCR") || cmd.starts_with("DEL"))
        .filter(|cmd| cmd.contains(&format!("user:{uid_a}")) || cmd.contains(&format!("user:{uid_b}")))
        .collect();
    seen.dedup();
    let incr_a = format!("INCR {p}:cachetags:user:{uid_a}");
    let del_a = format!("DEL {p}:entity:values:user:{uid_a}");
    let del_b = format!("DEL {p}:entity:values:user:{uid_b}");
    assert_eq!(seen, vec![incr_a.clone(), del_a.clone(), del_b, incr_a, del_a]);
}

/// A RESP value as JSON, for reading SLOWLOG.
fn to_json(value: redis::Value) -> Value {
    match value {
        redis::Value::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        redis::Value::BulkString(bytes) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        redis::Value::SimpleString(s) => Value::String(s),
        redis::Value::Int(n) => json!(n),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn redis_check_shows_the_prefix_and_warns_when_drupal_keeps_its_tags_elsewhere() {
    let url = redis_url();
    let mut redis = connect(&url).await;
    let (real, wrong) = (unique("real"), unique("wrong"));
    set(&mut redis, &format!("{real}:cachetags:user_list"), "12").await;
    let app = TestApp::database_only_on(Fixture::Drupal10).await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-check-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let mapping = dir.0.join("drupal_mapping.toml");
    std::fs::write(&mapping, mapping_with_fields()).unwrap();
    let mut settings = Settings::new(&format!("{}/{}", test_server_url(), app.db_name), SECRET, mapping);

    settings.cache = CacheSettings::redis(&url, CachePrefix::One(wrong.clone()));
    let report = drupal_scim::check::run(&settings).await;
    let text = report.to_string();
    assert!(!report.failed(), "{text}");
    assert!(text.contains("answers"), "{text}");
    assert!(text.contains(&format!("WARN  no key {wrong}:cachetags:*")), "{text}");
    assert!(text.contains(&format!("\"{real}\"")), "the hint names the prefix in use: {text}");
    assert!(!text.contains("no cachetags table"), "no database-cache warning on a Redis site: {text}");

    settings.cache = CacheSettings::redis(&url, CachePrefix::One(real.clone()));
    let text = drupal_scim::check::run(&settings).await.to_string();
    assert!(text.contains(&format!("ok    Drupal's cache tag counters found under the prefix \"{real}\"")), "{text}");

    // A Redis that does not answer is a warning: the server can start and keep invalidations.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    settings.cache = CacheSettings::redis(&format!("redis://127.0.0.1:{port}/"), CachePrefix::One(real));
    let report = drupal_scim::check::run(&settings).await;
    assert!(!report.failed(), "{report}");
    assert!(report.to_string().contains("does not answer"), "{report}");
}

#[tokio::test]
async fn memcache_is_said_to_be_out_of_reach() {
    let app = TestApp::database_only_on(Fixture::Drupal10).await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-check-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let mapping = dir.0.join("drupal_mapping.toml");
    std::fs::write(&mapping, mapping_with_fields()).unwrap();
    let mut settings = Settings::new(&format!("{}/{}", test_server_url(), app.db_name), SECRET, mapping);
    settings.cache.backend = drupal_scim::settings::CacheBackendKind::Memcache;
    let text = drupal_scim::check::run(&settings).await.to_string();
    assert!(text.contains("WARN  cache.backend = \"memcache\": drupal-scim does not invalidate Memcache"), "{text}");
    assert!(text.contains("drush cr"), "{text}");
}
