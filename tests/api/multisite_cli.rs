//! The `drupal-scim` binary with `[[sites]]`: `token --site`, `check` per site, SIGHUP adding a
//! site to the running server, the site's name in the log lines — and `check --drupal-root`,
//! whose block, pasted as it is (secrets from the environment), is a working settings file.

use crate::helpers::*;
use crate::procs::free_port;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BETA_SECRET: &str = "beta-secret-0123456789abcdef0123456789";

fn binary(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drupal-scim"));
    cmd.current_dir(dir).args(args).env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn site_entry(name: &str, url: &str, secret: Option<&str>) -> String {
    let auth = secret.map(|s| format!("[sites.auth]\nsecret = \"{s}\"\n")).unwrap_or_default();
    format!(
        "\n[[sites]]\nname = \"{name}\"\nmapping = \"drupal_mapping.toml\"\n[sites.database]\nurl = \"{url}\"\n{auth}"
    )
}

/// A server process, killed when dropped (a failing assertion must not leave it running).
struct Served(std::process::Child);

impl Served {
    fn id(&self) -> u32 {
        self.0.id()
    }
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `drupal-scim serve` in `dir` (its settings file there), logging to `log`.
fn serve(dir: &Path, log: &Path, env: &[(&str, &str)]) -> Served {
    let child = Command::new(env!("CARGO_BIN_EXE_drupal-scim"))
        .current_dir(dir)
        .arg("serve")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .unwrap();
    Served(child)
}

/// Create the user `name` on `site` through its SCIM API.
async fn create_on(client: &reqwest::Client, origin: &str, site: &str, token: &str, name: &str) {
    let created = client
        .post(format!("{origin}/scim/v2/{site}/Users"))
        .bearer_auth(token)
        .json(&entra_user(name, &format!("{name}@example.com"), &format!("ext-{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201, "create {name} on {site}");
}

async fn wait_for(client: &reqwest::Client, url: &str, token: &str, log: &Path) {
    for _ in 0..150 {
        if client.get(url).bearer_auth(token).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered 200: {}", std::fs::read_to_string(log).unwrap_or_default());
}

#[tokio::test]
async fn the_binary_serves_sites_mints_their_tokens_and_adds_a_site_on_sighup() {
    let (alpha_db, server, _alpha_pool) = fresh_database().await;
    let (beta_db, _, _beta_pool) = fresh_database_on(&server, Fixture::Drupal7).await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-multi-cli-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("drupal_mapping.toml"), mapping_with_fields()).unwrap();
    let port = free_port();
    let settings = dir.0.join("drupal-scim.toml");
    let top = format!("[server]\nlisten = \"127.0.0.1:{port}\"\nworkers = 1\n");
    std::fs::write(&settings, format!("{top}{}", site_entry("alpha", &format!("{server}/{alpha_db}"), Some(SECRET))))
        .unwrap();
    let beta_env = [("DRUPAL_SCIM_SITE_BETA__AUTH__SECRET", BETA_SECRET)];

    let minted = binary(&dir.0, &["token", "--site", "alpha", "--quiet"], &[]);
    assert!(minted.status.success(), "{}", text(&minted));
    let alpha_token = String::from_utf8(minted.stdout).unwrap().trim().to_string();
    let json = binary(&dir.0, &["token", "--site", "alpha", "--format", "json"], &[]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["site"], "alpha");
    let person = text(&binary(&dir.0, &["token", "--site", "alpha"], &[]));
    assert!(person.contains("Tenant URL:   https://<your-host>/scim/v2/alpha"), "{person}");
    assert!(person.contains("opens site \"alpha\" only"), "{person}");
    let unnamed = binary(&dir.0, &["token"], &[]);
    assert_eq!(unnamed.status.code(), Some(2));
    assert!(text(&unnamed).contains("name the site with --site (sites: alpha)"), "{}", text(&unnamed));
    let unknown = binary(&dir.0, &["token", "--site", "gamma"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown).contains("no site \"gamma\""), "{}", text(&unknown));
    let checked = binary(&dir.0, &["check"], &[]);
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(text(&checked).contains("== site alpha =="), "{}", text(&checked));

    let log = dir.0.join("server.log");
    let mut child = serve(&dir.0, &log, &beta_env);
    let origin = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_for(&client, &format!("{origin}/scim/v2/alpha/Users"), &alpha_token, &log).await;
    create_on(&client, &origin, "alpha", &alpha_token, "cli.multi").await;

    // beta joins: the file gains its entry (its secret comes from its own environment variable),
    // and the running server reads it on SIGHUP.
    let with_beta = format!(
        "{top}{}{}",
        site_entry("alpha", &format!("{server}/{alpha_db}"), Some(SECRET)),
        site_entry("beta", &format!("{server}/{beta_db}"), None)
    );
    std::fs::write(&settings, with_beta).unwrap();
    let minted = binary(&dir.0, &["token", "--site", "beta", "--quiet"], &beta_env);
    assert!(minted.status.success(), "{}", text(&minted));
    let beta_token = String::from_utf8(minted.stdout).unwrap().trim().to_string();
    let hup = Command::new("kill").arg("-HUP").arg(child.id().to_string()).status().unwrap();
    assert!(hup.success());
    wait_for(&client, &format!("{origin}/scim/v2/beta/Users"), &beta_token, &log).await;
    let refused = client.get(format!("{origin}/scim/v2/beta/Users")).bearer_auth(&alpha_token).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);

    child.kill();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("POST /scim/v2/alpha/Users 201") && log.contains("site=alpha"), "{log}");
    assert!(log.lines().any(|l| l.contains("audit id=") && l.contains("site=alpha")), "{log}");
    assert!(log.contains("reload: site \"beta\": added"), "{log}");
    drop_test_database(&server, &alpha_db).await;
    drop_test_database(&server, &beta_db).await;
}

#[tokio::test]
async fn check_drupal_root_prints_a_block_that_is_a_working_settings_file() {
    let (default_db, server, _p1) = fresh_database().await;
    let (arts_db, _, _p2) = fresh_database().await;
    let (host, port) = {
        let authority = server.rsplit('@').next().unwrap();
        let (h, p) = authority.split_once(':').unwrap_or((authority, "3306"));
        (h.to_string(), p.to_string())
    };
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-root-{}", uuid::Uuid::new_v4().simple())));
    let root = dir.0.join("html");
    for site in ["default", "arts"] {
        std::fs::create_dir_all(root.join("sites").join(site)).unwrap();
    }
    std::fs::create_dir_all(root.join("sites/all/modules")).unwrap();
    std::fs::write(root.join("sites/sites.php"), "<?php\n$sites['arts.example.test'] = 'arts';\n").unwrap();
    for (site, db) in [("default", &default_db), ("arts", &arts_db)] {
        let php = format!(
            "<?php\n$databases['default']['default'] = [\n  'database' => '{db}',\n  'username' => 'root',\n  'password' => '',\n  'host' => '{host}',\n  'port' => '{port}',\n  'driver' => 'mysql',\n  'prefix' => '',\n];\n$settings['hash_salt'] = 'x';\n"
        );
        std::fs::write(root.join("sites").join(site).join("settings.php"), php).unwrap();
    }
    std::fs::write(dir.0.join("drupal_mapping.toml"), mapping_with_fields()).unwrap();
    let out = binary(&dir.0, &["check", "--drupal-root", root.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let block = String::from_utf8(out.stdout).unwrap();
    assert!(block.contains("name = \"arts\"") && block.contains("host = \"arts.example.test\""), "{block}");
    assert!(block.contains("name = \"default\""), "{block}");
    assert!(block.contains(&arts_db), "the block names each site's database: {block}");

    // Pasted as it is: the secrets come from the environment variables the block names.
    std::fs::write(dir.0.join("drupal-scim.toml"), &block).unwrap();
    let secrets =
        [("DRUPAL_SCIM_SITE_ARTS__AUTH__SECRET", SECRET), ("DRUPAL_SCIM_SITE_DEFAULT__AUTH__SECRET", BETA_SECRET)];
    let checked = binary(&dir.0, &["check"], &secrets);
    let report = text(&checked);
    assert!(checked.status.success(), "{report}");
    assert!(report.contains("== site arts ==") && report.contains("== site default =="), "{report}");
    assert!(report.contains(&format!("read from {}", root.join("sites/arts/settings.php").display())), "{report}");
    let only = text(&binary(&dir.0, &["check", "--site", "arts"], &secrets));
    assert!(only.contains("== site arts ==") && !only.contains("== site default =="), "{only}");
    drop_test_database(&server, &default_db).await;
    drop_test_database(&server, &arts_db).await;
}

#[tokio::test]
async fn serve_runs_each_sites_sync_out_and_sync_site_runs_one() {
    // alpha (Drupal 10) pushes its accounts to beta (Drupal 7), both served by one process.
    let (alpha_db, server, _alpha_pool) = fresh_database().await;
    let (beta_db, _, beta_pool) = fresh_database_on(&server, Fixture::Drupal7).await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-multi-sync-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("drupal_mapping.toml"), mapping_with_fields()).unwrap();
    let port = free_port();
    // beta already holds the fixture's accounts (jdoe, msmith): it links them on first contact
    // instead of answering 409 (its default, `refuse`, would park them — see the README).
    std::fs::write(dir.0.join("beta_mapping.toml"), mapping_linking_existing()).unwrap();
    let beta_token = drupal_scim::token::mint_for_site(BETA_SECRET, "beta", "alpha's sync").unwrap();
    let settings = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nworkers = 1\n{}[sites.sync]\nbase_url = \"http://127.0.0.1:{port}/scim/v2/beta\"\ntoken = \"{beta_token}\"\ninterval_secs = 1\n{}",
        site_entry("alpha", &format!("{server}/{alpha_db}"), Some(SECRET)),
        site_entry("beta", &format!("{server}/{beta_db}"), Some(BETA_SECRET))
            .replace("mapping = \"drupal_mapping.toml\"", "mapping = \"beta_mapping.toml\""),
    );
    std::fs::write(dir.0.join("drupal-scim.toml"), settings).unwrap();
    let unnamed = binary(&dir.0, &["sync", "--dry-run"], &[]);
    assert_eq!(unnamed.status.code(), Some(2), "{}", text(&unnamed));
    let dry = binary(&dir.0, &["sync", "--site", "alpha", "--dry-run"], &[]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(text(&dry).contains("\"userName\":\"jdoe\"") && text(&dry).contains("nothing was sent"), "{}", text(&dry));

    let log = dir.0.join("server.log");
    let mut child = serve(&dir.0, &log, &[]);
    let origin = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let alpha_token = drupal_scim::token::mint_for_site(SECRET, "alpha", "tests").unwrap();
    wait_for(&client, &format!("{origin}/scim/v2/alpha/Users"), &alpha_token, &log).await;
    create_on(&client, &origin, "alpha", &alpha_token, "travels.far").await;
    let mut arrived = 0;
    for _ in 0..100 {
        use mysql_async::prelude::Queryable;
        let mut conn = beta_pool.get_conn().await.unwrap();
        arrived = conn.query_first("SELECT COUNT(*) FROM users WHERE name = 'travels.far'").await.unwrap().unwrap_or(0);
        if arrived == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each push is counted, by site, and written to alpha's Drupal log.
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = client.get(format!("{origin}/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.contains("drupal_scim_sync_lag_seconds{site=\"alpha\"} 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pushed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("drupal_scim_sync_pushed_total{site=\"alpha\"} "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        pushed >= 4,
        "jdoe, msmith, blocked.user and travels.far at least: {metrics}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(metrics.contains("drupal_scim_sync_failed_total{site=\"alpha\"} 0"), "{metrics}");
    assert!(metrics.contains("drupal_scim_sync_parked{site=\"alpha\"} 0"), "{metrics}");
    let logged: Vec<(u32, String, u8)> = {
        use mysql_async::prelude::Queryable;
        let mut conn = _alpha_pool.get_conn().await.unwrap();
        conn.query("SELECT uid, location, severity FROM watchdog WHERE type = 'drupal_scim' AND message LIKE 'Sync out: %' ORDER BY wid")
            .await
            .unwrap()
    };
    assert!(logged.len() as u64 >= pushed, "one Drupal log entry per push: {logged:?}");
    assert!(
        logged.iter().all(|(_, location, severity)| location == "drupal-scim sync" && *severity == 6),
        "{logged:?}"
    );
    child.kill();
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(arrived, 1, "alpha's new account reached beta's Drupal 7 tables: {log}");
    assert!(log.contains("POST /scim/v2/beta/Users 201"), "pushed through beta's SCIM API: {log}");
    assert!(log.contains("sync site=alpha: pushing to http://127.0.0.1:"), "the sync's lines name its site: {log}");
    drop_test_database(&server, &alpha_db).await;
    drop_test_database(&server, &beta_db).await;
}
