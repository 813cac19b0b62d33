//! One process serving several sites: start it from a real `[[sites]]` settings file, and a
//! [`TestApp`] view of each site (its base `/scim/v2/<site>`, its token, its database).

use crate::helpers::*;
use actix_web::web;
use drupal_scim::http::sites::Sites;
use drupal_scim::settings::Deployment;
use drupal_scim::startup::Application;
use mysql_async::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One site to serve.
pub struct Spec {
    pub name: &'static str,
    pub fixture: Fixture,
    /// Every table renamed with this prefix, and `database.table_prefix` set to it.
    pub prefix: Option<&'static str>,
    /// The database server (`mysql://root@host:port`), or None for the shared test server.
    pub server: Option<String>,
    /// A database URL to use as is, with no database made for it (a site that cannot open).
    pub url: Option<String>,
    pub host: Option<&'static str>,
    pub secret: &'static str,
    /// More lines for the site's entry (after `[sites.database]`'s url).
    pub database: &'static str,
}

impl Spec {
    pub fn new(name: &'static str, fixture: Fixture) -> Spec {
        Spec { name, fixture, prefix: None, server: None, url: None, host: None, secret: SECRET, database: "" }
    }
}

/// The running process and a view of each site.
pub struct Multi {
    pub address: String,
    pub sites: BTreeMap<String, TestApp>,
    pub handle: web::Data<Sites>,
    pub settings: PathBuf,
    /// The settings file's directory (mapping files live there too).
    pub dir: PathBuf,
    /// Each site's entry as written, to write the file again for a reload.
    pub entries: BTreeMap<String, String>,
    pub top: String,
}

impl Multi {
    /// Start one process serving `specs`, with `top` added to `[server]`.
    pub async fn spawn(specs: Vec<Spec>, top: &str) -> Multi {
        let _ = env_logger::builder().is_test(true).try_init();
        let dir = std::env::temp_dir().join(format!("dscim-multi-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut entries = BTreeMap::new();
        let mut databases = BTreeMap::new();
        for spec in &specs {
            let (entry, db) = prepare(&dir, spec).await;
            entries.insert(spec.name.to_string(), entry);
            if let Some(db) = db {
                databases.insert(spec.name.to_string(), db);
            }
        }
        let settings = dir.join("drupal-scim.toml");
        write_settings(&settings, top, &entries);
        let deployment = load(&settings).unwrap_or_else(|e| panic!("settings: {e}"));
        let app = Application::build_deployment(deployment).await.unwrap_or_else(|e| panic!("did not start: {e}"));
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.sites();
        tokio::spawn(app.run_until_stopped());
        let mut sites = BTreeMap::new();
        for spec in &specs {
            let Some(db) = databases.remove(spec.name) else { continue };
            if spec.prefix.is_none() {
                link_fixture_accounts(&db.2, spec.fixture).await;
            }
            let token = drupal_scim::token::mint_for_site(spec.secret, spec.name, "tests").unwrap();
            let view_dir = dir.join(format!("view-{}", spec.name));
            std::fs::create_dir_all(&view_dir).unwrap();
            let base = format!("{address}/scim/v2/{}", spec.name);
            sites.insert(spec.name.to_string(), TestApp::site_view(spec.fixture, base, token, db, view_dir));
        }
        Multi { address, sites, handle, settings, dir, entries, top: top.to_string() }
    }

    pub fn site(&self, name: &str) -> &TestApp {
        &self.sites[name]
    }

    /// Write the settings file with these entries and reload the running process from it.
    pub async fn reload(&mut self, entries: BTreeMap<String, String>) -> Vec<String> {
        write_settings(&self.settings, &self.top, &entries);
        self.entries = entries;
        let deployment = load(&self.settings).unwrap_or_else(|e| panic!("settings: {e}"));
        drupal_scim::startup::reload(&self.handle, deployment).await
    }

    /// A site added later: its database and entry (not yet in the settings).
    pub async fn prepare(&self, spec: &Spec) -> (String, (String, String, mysql_async::Pool)) {
        let (entry, db) = prepare(&self.dir, spec).await;
        (entry, db.expect("a database"))
    }
}

impl Drop for Multi {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn load(settings: &Path) -> Result<Deployment, String> {
    let no_php = |_: &Path| -> Result<(drupal_scim::settings::sites::SettingDefaults, String), String> {
        Err("no settings.php in these tests".into())
    };
    Deployment::load(Some(settings), Some(BTreeMap::new()), &no_php, || panic!("the file lists [[sites]]"))
        .map_err(|e| e.to_string())
}

fn write_settings(path: &Path, top: &str, entries: &BTreeMap<String, String>) {
    let mut text = format!("[server]\nlisten = \"127.0.0.1:0\"\nworkers = 2\n{top}\n");
    for entry in entries.values() {
        text.push_str(entry);
    }
    std::fs::write(path, text).unwrap();
}

/// The site's database (unless it has a URL of its own) and its `[[sites]]` entry.
async fn prepare(dir: &Path, spec: &Spec) -> (String, Option<(String, String, mysql_async::Pool)>) {
    let mapping = dir.join(format!("{}.mapping.toml", spec.name));
    std::fs::write(&mapping, mapping_with_fields()).unwrap();
    let (url, db) = match &spec.url {
        Some(url) => (url.clone(), None),
        None => {
            let server = spec.server.clone().unwrap_or_else(test_server_url);
            let db = fresh_database_on(&server, spec.fixture).await;
            if let Some(prefix) = spec.prefix {
                prefix_every_table(&db.2, spec.fixture, prefix).await;
            }
            (format!("{}/{}", db.1, db.0), Some(db))
        }
    };
    let mut entry = format!("\n[[sites]]\nname = \"{}\"\nmapping = \"{}\"\n", spec.name, mapping.display());
    if let Some(host) = spec.host {
        entry.push_str(&format!("host = \"{host}\"\n"));
    }
    entry.push_str(&format!("[sites.database]\nurl = \"{url}\"\n{}\n", spec.database));
    if let Some(prefix) = spec.prefix {
        entry.push_str(&format!("table_prefix = \"{prefix}\"\n"));
    }
    entry.push_str(&format!("[sites.auth]\nsecret = \"{}\"\n", spec.secret));
    (entry, db)
}

/// Rename every table of the fixture to `<prefix><table>`, as a site installed with a prefix.
async fn prefix_every_table(pool: &mysql_async::Pool, fixture: Fixture, prefix: &str) {
    let sql = std::fs::read_to_string(repo_path(fixture.sql_file())).unwrap();
    let renames: Vec<String> = sql
        .lines()
        .filter_map(|l| l.strip_prefix("CREATE TABLE `"))
        .filter_map(|rest| rest.split('`').next())
        .map(|t| format!("`{t}` TO `{prefix}{t}`"))
        .collect();
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop(format!("RENAME TABLE {}", renames.join(", "))).await.unwrap();
}
