//! The sites of a Drupal multisite codebase, found from its root so that `drupal-scim check
//! --drupal-root` can propose one `[[sites]]` entry per site instead of making the operator
//! write them by hand. [`discover`] finds the `sites` directory (`<root>/sites`, or the
//! `web/` or `docroot/` of a Composer or Acquia layout), reads `sites/sites.php` (PHP first, a
//! literal reader without PHP: [`sites_php`]) for the host names Drupal maps to each site
//! directory, and reads each `sites/*/settings.php` with [`crate::config::read`]. It suggests a
//! site name and a plain host per site ([`names`]), and flags directories that point at the
//! same tables, which drupal-scim must serve as one site. No database is connected to, and
//! nothing about one site is fatal: a settings.php that cannot be read is listed with its error, so the operator
//! sees every site. [`settings_block()`] turns the result into settings ready to paste.

pub mod names;
pub mod settings_block;
pub mod sites_literal;
pub mod sites_php;

pub use settings_block::settings_block;

use crate::config::{DrupalDatabase, Reader};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the sites directory may be, relative to the root given: Drupal's own layout, then the
/// docroots of the Composer project template and of Acquia.
const SITES_DIRECTORIES: [&str; 3] = ["sites", "web/sites", "docroot/sites"];

/// Directories of `sites/` that are never a site: shared code, and the test runner's sites.
const NOT_SITES: [&str; 2] = ["all", "simpletest"];

/// The directory Drupal falls back to; listed first, as it is usually the main site.
const DEFAULT_DIRECTORY: &str = "default";

/// MySQL's port when settings.php names none, so `db` and `db:3306` count as one server.
const MYSQL_PORT: u16 = 3306;

/// One site directory: what drupal-scim needs to serve it, and what the operator needs to judge.
#[derive(Debug, Clone)]
pub struct DiscoveredSite {
    /// Suggested drupal-scim site name, `^[a-z0-9][a-z0-9_-]{0,62}$`, unique in the discovery.
    pub name: String,
    /// The directory under `sites/` (`default`, `arts.example.edu`).
    pub directory: String,
    /// `<sites>/<directory>/settings.php`, absolute when the root could be made absolute.
    pub settings_php: PathBuf,
    /// The sites.php keys that map to this directory, in sites.php's order.
    pub hosts: Vec<String>,
    /// The plain host to serve this site at: the first of `hosts` that is one, else the
    /// directory's own name when it is one (Drupal serves `sites/<host>` for that host).
    pub host: Option<String>,
    /// The connection settings.php gives, or why it could not be read.
    pub database: Result<DrupalDatabase, String>,
    /// How settings.php was read (`None` when it could not be).
    pub reader: Option<Reader>,
    /// How sites.php was read; `None` when there is no sites.php.
    pub sites_php_reader: Option<Reader>,
    /// The directory of an earlier site with the same tables: this one is that site again.
    pub same_database_as: Option<String>,
    /// What the operator should know: settings.php's warnings, sites.php entries that could not
    /// be read, a shared database.
    pub warnings: Vec<String>,
}

/// Why nothing could be discovered.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(
        "{} holds no Drupal sites directory (looked for {}): give --drupal-root the directory that holds \
         Drupal's index.php, or the project directory above web/",
        .root.display(), SITES_DIRECTORIES.join(", ")
    )]
    NoSitesDirectory { root: PathBuf },
    #[error("cannot list the sites in {}: {source}", .dir.display())]
    ListSites { dir: PathBuf, source: std::io::Error },
    /// sites.php exists and neither PHP nor the literal reader could read it: Drupal itself
    /// would fail on it, and without it the host names would silently be wrong.
    #[error("{0}")]
    SitesPhp(String),
}

/// The CLI reports errors as text; this lets `?` carry a discovery error there.
impl From<DiscoverError> for String {
    fn from(e: DiscoverError) -> String {
        e.to_string()
    }
}

/// Find the sites under `drupal_root` and read each one's database, asking `php` where it runs.
pub fn discover(drupal_root: &Path, php: &Path) -> Result<Vec<DiscoveredSite>, DiscoverError> {
    // Absolute, so the settings block works from any directory; not canonical, so a symlinked
    // release directory (`/var/www/current`) stays as the operator deploys it.
    let root = std::path::absolute(drupal_root).unwrap_or_else(|_| drupal_root.to_path_buf());
    let sites_dir = SITES_DIRECTORIES
        .iter()
        .map(|dir| root.join(dir))
        .find(|dir| dir.is_dir())
        .ok_or_else(|| DiscoverError::NoSitesDirectory { root: root.clone() })?;
    let sites_php_path = sites_dir.join("sites.php");
    let sites_php = if sites_php_path.is_file() {
        Some(sites_php::read(&sites_php_path, php).map_err(DiscoverError::SitesPhp)?)
    } else {
        None
    };
    let entries = sites_php.as_ref().map(|s| s.entries.as_slice()).unwrap_or_default();

    let mut sites: Vec<DiscoveredSite> = Vec::new();
    for directory in site_directories(&sites_dir)? {
        let settings_php = sites_dir.join(&directory).join("settings.php");
        let hosts: Vec<String> = entries
            .iter()
            .filter(|(_, dir)| dir.trim_end_matches('/') == directory)
            .map(|(key, _)| key.clone())
            .collect();
        let host = suggest_host(&directory, &hosts, entries);
        let taken: Vec<String> = sites.iter().map(|s| s.name.clone()).collect();
        let mut warnings: Vec<String> = sites_php.iter().flat_map(|s| s.warnings.iter().cloned()).collect();
        let (database, reader) = match crate::config::read(&settings_php, php) {
            Ok((db, reader)) => {
                warnings.extend(db.warnings.iter().cloned());
                (Ok(db), Some(reader))
            }
            Err(e) => (Err(e), None),
        };
        sites.push(DiscoveredSite {
            name: names::site_name(&directory, &taken),
            directory,
            settings_php,
            hosts,
            host,
            database,
            reader,
            sites_php_reader: sites_php.as_ref().map(|s| s.reader.clone()),
            same_database_as: None,
            warnings,
        });
    }
    mark_shared_databases(&mut sites);
    Ok(sites)
}

/// The directories of `sites/` that hold a settings.php: `default` first, then by name.
fn site_directories(sites_dir: &Path) -> Result<Vec<String>, DiscoverError> {
    let list_error = |source| DiscoverError::ListSites { dir: sites_dir.to_path_buf(), source };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(sites_dir).map_err(list_error)? {
        let entry = entry.map_err(list_error)?;
        // A directory name that is not UTF-8 cannot be a sites.php value nor a site name.
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with('.') || NOT_SITES.contains(&name.as_str()) {
            continue;
        }
        // is_dir/is_file follow symlinks: Drupal accepts a symlinked site directory.
        let path = entry.path();
        if path.is_dir() && path.join("settings.php").is_file() {
            found.push(name);
        }
    }
    found.sort_by(|a, b| (a != DEFAULT_DIRECTORY).cmp(&(b != DEFAULT_DIRECTORY)).then_with(|| a.cmp(b)));
    Ok(found)
}

/// The first of `hosts` that is a plain host; else the directory's own name when it is a plain
/// host and sites.php does not send that host elsewhere.
fn suggest_host(directory: &str, hosts: &[String], entries: &[(String, String)]) -> Option<String> {
    if let Some(host) = hosts.iter().find(|key| names::not_a_plain_host(key).is_none()) {
        return Some(host.clone());
    }
    let mapped_elsewhere = entries.iter().any(|(key, _)| key == directory);
    (directory != DEFAULT_DIRECTORY && !mapped_elsewhere && names::not_a_plain_host(directory).is_none())
        .then(|| directory.to_string())
}

/// What makes two connections the same tables: server, database and every prefix. The user
/// and password are not part of it: two accounts on one database still share its tables.
type TablesKey = (Option<String>, String, u16, String, String, BTreeMap<String, String>);

fn tables_key(db: &DrupalDatabase) -> TablesKey {
    (
        db.unix_socket.clone(),
        db.host.to_ascii_lowercase(),
        db.port.unwrap_or(MYSQL_PORT),
        db.database.clone(),
        db.prefix.clone(),
        db.prefixes.clone(),
    )
}

/// Mark each site whose tables an earlier site already has, with a warning on the later one.
fn mark_shared_databases(sites: &mut [DiscoveredSite]) {
    let mut seen: Vec<(TablesKey, String)> = Vec::new();
    for site in sites.iter_mut() {
        let Ok(db) = &site.database else { continue };
        let key = tables_key(db);
        match seen.iter().find(|(k, _)| *k == key) {
            Some((_, first)) => {
                site.warnings.push(format!(
                    "the same database and table prefix as sites/{first}: the same tables, so one site for \
                     drupal-scim; serve it through sites/{first}'s entry"
                ));
                site.same_database_as = Some(first.clone());
            }
            None => seen.push((key, site.directory.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Drupal root in the temp directory, removed when dropped (also when a test fails).
    struct Root(PathBuf);

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const SITES_PHP: &str = r#"<?php
// Multisite directory aliasing, as in Drupal's example.sites.php.
$sites['8080.arts.example.edu'] = 'arts';
$sites["arts.example.edu"] = 'arts';   # the plain host
$sites['localhost.example'] = 'default';
/* $sites['gone.example'] = 'gone'; */
$sites['www.' . 'arts.example.edu'] = 'arts';
"#;

    fn settings(database: &str, user: &str, password: &str, prefix: &str) -> String {
        format!(
            "<?php\n$databases['default']['default'] = [\n  'database' => '{database}',\n  'username' => '{user}',\n  \
             'password' => '{password}',\n  'host' => 'db',\n  'port' => '3306',\n  'driver' => 'mysql',\n  \
             'prefix' => '{prefix}',\n];\n$settings['hash_salt'] = 'x';\n"
        )
    }

    /// sites.php; default, arts (prefix `arts_`), arts_copy (arts' tables again), broken (a
    /// database name only PHP can compute, from an unset variable), music.example.edu (Drupal 7,
    /// no sites.php entry); `all` and a directory without settings.php are not sites.
    fn drupal_root(sites_under: &str) -> Root {
        let root = Root(std::env::temp_dir().join(format!("drupal-scim-multisite-{}", uuid::Uuid::new_v4())));
        let sites = root.0.join(sites_under);
        let write = |relative: &str, text: &str| {
            let path = sites.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("sites.php", SITES_PHP);
        write("default/settings.php", &settings("drupal_main", "main_user_x", "main-Secret-1", ""));
        write("default/default.settings.php", "<?php\n");
        write("arts/settings.php", &settings("drupal", "arts_user_x", "arts-Secret-2", "arts_"));
        write("arts_copy/settings.php", &settings("drupal", "copy_user_x", "copy-Secret-3", "arts_"));
        write(
            "broken/settings.php",
            "<?php\n$databases['default']['default'] = ['database' => getenv('DRUPAL_SCIM_TEST_UNSET_DB'), 'driver' => 'mysql'];\n",
        );
        write(
            "music.example.edu/settings.php",
            "<?php\n$databases = array('default' => array('default' => array('database' => 'd7', 'username' => \
             'music_user_x', 'password' => 'music-Secret-4', 'host' => 'db', 'driver' => 'mysql', 'prefix' => \
             array('default' => 'music_', 'users' => 'shared_'))));\n",
        );
        write("all/settings.php", &settings("not_a_site", "u", "p", ""));
        write("all/modules/README.txt", "contrib modules\n");
        write("nosettings/README.txt", "no settings.php here\n");
        root
    }

    fn php_runs() -> bool {
        std::process::Command::new("php").arg("-v").output().is_ok_and(|o| o.status.success())
    }

    /// What both readers agree on.
    fn assert_common(root: &Root, sites: &[DiscoveredSite]) {
        let directories: Vec<&str> = sites.iter().map(|s| s.directory.as_str()).collect();
        assert_eq!(directories, ["default", "arts", "arts_copy", "broken", "music.example.edu"]);
        let names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["default", "arts", "arts_copy", "broken", "music-example-edu"]);

        let default = &sites[0];
        assert_eq!(default.hosts, ["localhost.example"]);
        assert_eq!(default.host.as_deref(), Some("localhost.example"));
        assert_eq!(default.database.as_ref().unwrap().database, "drupal_main");
        assert!(default.settings_php.is_absolute() && default.settings_php.starts_with(&root.0));

        let arts = &sites[1];
        assert_eq!(arts.host.as_deref(), Some("arts.example.edu"));
        assert_eq!(arts.database.as_ref().unwrap().prefix, "arts_");
        assert_eq!(arts.same_database_as, None);

        let copy = &sites[2];
        assert_eq!(copy.host, None);
        assert_eq!(copy.same_database_as.as_deref(), Some("arts"));
        assert!(copy.warnings.iter().any(|w| w.contains("sites/arts")), "{:?}", copy.warnings);

        let broken = &sites[3];
        assert!(broken.database.is_err() && broken.reader.is_none());

        let music = &sites[4];
        assert_eq!(music.host.as_deref(), Some("music.example.edu"));
        let d7 = music.database.as_ref().unwrap();
        assert_eq!((d7.prefix.as_str(), d7.prefixes.get("users").map(String::as_str)), ("music_", Some("shared_")));

        let block = settings_block(sites);
        let parsed: toml::Value = toml::from_str(&block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let entries: Vec<&str> =
            parsed["sites"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(entries, ["default", "arts", "music-example-edu"], "{block}");
        for secret in ["Secret", "_user_x"] {
            assert!(!block.contains(secret), "{secret} in\n{block}");
        }
    }

    #[test]
    fn discovers_every_site_by_asking_php() {
        if !php_runs() {
            eprintln!("no `php` on PATH: the PHP side of discovery is not tested (apt-get install php-cli)");
            return;
        }
        let root = drupal_root("sites");
        let sites = discover(&root.0, Path::new("php")).unwrap();
        assert_common(&root, &sites);
        for site in &sites {
            assert!(matches!(site.sites_php_reader, Some(Reader::Php { .. })), "{:?}", site.sites_php_reader);
        }
        // Only PHP computes `'www.' . 'arts.example.edu'`.
        assert_eq!(sites[1].hosts, ["8080.arts.example.edu", "arts.example.edu", "www.arts.example.edu"]);
        assert!(matches!(sites[1].reader, Some(Reader::Php { .. })));
        assert!(sites[3].database.as_ref().unwrap_err().contains("no 'database' name"), "{:?}", sites[3].database);
    }

    #[test]
    fn discovers_every_site_without_php_in_a_web_layout() {
        let root = drupal_root("web/sites");
        let sites = discover(&root.0, Path::new("/nonexistent/drupal-scim-test/php")).unwrap();
        assert_common(&root, &sites);
        assert!(sites[0].settings_php.starts_with(root.0.join("web/sites")));
        for site in &sites {
            assert!(matches!(site.sites_php_reader, Some(Reader::Literal { .. })), "{:?}", site.sites_php_reader);
        }
        assert_eq!(sites[1].hosts, ["8080.arts.example.edu", "arts.example.edu"]);
        assert!(matches!(sites[1].reader, Some(Reader::Literal { .. })));
        // The computed entry is named, on every site, since any of them may be its target.
        assert!(sites[1].warnings.iter().any(|w| w.starts_with("sites.php line 7:")), "{:?}", sites[1].warnings);
        assert!(sites[3].database.as_ref().unwrap_err().contains("getenv"), "{:?}", sites[3].database);
    }

    #[test]
    fn a_root_without_sites_is_an_error_that_says_where_it_looked() {
        let root = Root(std::env::temp_dir().join(format!("drupal-scim-multisite-{}", uuid::Uuid::new_v4())));
        std::fs::create_dir_all(&root.0).unwrap();
        let e = discover(&root.0, Path::new("php")).unwrap_err().to_string();
        assert!(e.contains("sites, web/sites, docroot/sites"), "{e}");
    }

    #[test]
    fn a_site_directory_without_sites_php_gets_no_hosts() {
        let root = Root(std::env::temp_dir().join(format!("drupal-scim-multisite-{}", uuid::Uuid::new_v4())));
        std::fs::create_dir_all(root.0.join("sites/default")).unwrap();
        std::fs::write(root.0.join("sites/default/settings.php"), settings("d", "u", "p", "")).unwrap();
        let sites = discover(&root.0, Path::new("/nonexistent/drupal-scim-test/php")).unwrap();
        assert_eq!(sites.len(), 1);
        assert!(sites[0].hosts.is_empty() && sites[0].host.is_none() && sites[0].sites_php_reader.is_none());
    }
}
