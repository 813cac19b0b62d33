//! Discovered sites as a `[[sites]]` settings block to paste into drupal-scim's settings: one
//! entry per site, each with the facts behind it as comments, so the operator can check the
//! suggestion against the site without opening settings.php. The block never holds a database
//! user name or password (they are read from settings.php at start-up), and no source text of
//! settings.php, which could hold one.

use super::DiscoveredSite;
use super::names;
use crate::config::DrupalDatabase;
use std::fmt::Write as _;

/// The column the values' explanations start at, as in the documented example.
const COMMENT_COLUMN: usize = 35;

/// The `[[sites]]` block for `sites`. A site whose settings.php could not be read, or whose
/// tables an earlier site already has, is there but commented out, with the reason: pasted
/// as it is, the block configures only the sites that can be served.
pub fn settings_block(sites: &[DiscoveredSite]) -> String {
    let mut out = String::from("# one entry per site; each site's SCIM base is <public_url>/scim/v2/<name>\n");
    if sites.is_empty() {
        out.push_str("# no site directory with a settings.php was found\n");
    }
    for site in sites {
        out.push('\n');
        facts(&mut out, site);
        let entry = entry(site);
        let disabled = match (&site.database, &site.same_database_as) {
            (Err(_), _) => {
                Some("its settings.php could not be read (above); once it can, remove the leading '# '".to_string())
            }
            (Ok(_), Some(first)) => {
                Some(format!("sites/{first} has the same tables; remove the leading '# ' to serve them twice anyway"))
            }
            (Ok(_), None) => None,
        };
        match disabled {
            None => out.push_str(&entry),
            Some(why) => {
                comment(&mut out, &format!("not configured: {why}"));
                for line in entry.lines() {
                    out.push_str("# ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// The site's facts, as comments above its entry.
fn facts(out: &mut String, site: &DiscoveredSite) {
    comment(out, &format!("sites/{}", site.directory));
    if site.hosts.is_empty() {
        comment(out, "hosts in sites.php: none");
    } else {
        let hosts: Vec<String> = site
            .hosts
            .iter()
            .map(|key| match names::not_a_plain_host(key) {
                _ if site.host.as_deref() == Some(key.as_str()) => format!("{key} (the host below)"),
                Some(why) => format!("{key} (not a plain host: {why})"),
                None => format!("{key} (a plain host; only the first is suggested)"),
            })
            .collect();
        comment(out, &format!("hosts in sites.php: {}", hosts.join(", ")));
    }
    if let Some(host) = &site.host
        && !site.hosts.contains(host)
    {
        comment(out, &format!("host {host}: the directory's own name, which Drupal serves for that host"));
    }
    if let Some(reader) = &site.sites_php_reader {
        comment(out, &format!("sites.php read {reader}"));
    }
    match &site.database {
        Ok(db) => {
            comment(out, &format!("database {}, {}", database(db), prefix(db)));
            if let Some(reader) = &site.reader {
                comment(out, &format!("settings.php read {reader}"));
            }
        }
        Err(e) => comment(out, &format!("error: {}", without_source(e))),
    }
    for warning in &site.warnings {
        comment(out, &format!("warning: {}", without_source(warning)));
    }
}

/// The entry itself, in the settings format.
fn entry(site: &DiscoveredSite) -> String {
    let mut out = String::from("[[sites]]\n");
    let _ = writeln!(out, "name = {}", quoted(&site.name));
    if let Some(host) = &site.host {
        explained(
            &mut out,
            &format!("host = {}", quoted(host)),
            "only when a plain host was found: this Host is also served at /scim/v2",
        );
    }
    explained(
        &mut out,
        &format!("drupal_settings = {}", quoted(&site.settings_php.display().to_string())),
        "the database (URL and table prefix) is read from here",
    );
    explained(
        &mut out,
        "mapping = \"drupal_mapping.toml\"",
        "the site's field mapping (can be shared by sites with the same fields)",
    );
    out.push_str("[sites.auth]\n");
    let _ = writeln!(
        out,
        "# secret = \"…\"   # at least 32 bytes: openssl rand -hex 32; or set DRUPAL_SCIM_SITE_{}__AUTH__SECRET",
        names::env_name(&site.name)
    );
    out
}

/// `line`, then its explanation as a comment from [`COMMENT_COLUMN`] on.
fn explained(out: &mut String, line: &str, explanation: &str) {
    let width = line.chars().count();
    let pad = if width + 1 < COMMENT_COLUMN { COMMENT_COLUMN - width } else { 3 };
    let _ = writeln!(out, "{line}{:pad$}# {explanation}", "");
}

/// A TOML string, escaped as TOML requires.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// `text` as comment lines: one per line of it, without the control characters TOML forbids
/// in comments.
fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        let clean: String = line.chars().map(|c| if c.is_control() && c != '\t' { ' ' } else { c }).collect();
        let _ = writeln!(out, "# {}", clean.trim_end());
    }
}

/// `name@host[:port]`, or the socket: never the user or the password.
fn database(db: &DrupalDatabase) -> String {
    match (&db.unix_socket, db.port) {
        (Some(socket), _) => format!("{}@localhost (socket {socket})", db.database),
        (None, Some(port)) => format!("{}@{}:{port}", db.database, db.host),
        (None, None) => format!("{}@{}", db.database, db.host),
    }
}

fn prefix(db: &DrupalDatabase) -> String {
    let mut text =
        if db.prefix.is_empty() { "no table prefix".to_string() } else { format!("table prefix {:?}", db.prefix) };
    if !db.prefixes.is_empty() {
        let tables: Vec<String> = db.prefixes.iter().map(|(table, p)| format!("{table}: {p:?}")).collect();
        let _ = write!(text, " (per table: {})", tables.join(", "));
    }
    text
}

/// The settings.php readers quote source text between backticks (`'password' at line 9 is
/// \`'pa' . 'ss'\``); a block that may be pasted into a shared file keeps none of it.
fn without_source(message: &str) -> String {
    let mut out = String::new();
    for (i, part) in message.split('`').enumerate() {
        out.push_str(if i % 2 == 1 { "`…`" } else { part });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Reader;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn db(database: &str, prefix: &str) -> DrupalDatabase {
        DrupalDatabase {
            driver: "mysql".into(),
            host: "db".into(),
            port: Some(3306),
            database: database.into(),
            username: "scim_user_x".into(),
            password: "s3cret-Pa55".into(),
            prefix: prefix.into(),
            prefixes: BTreeMap::new(),
            unix_socket: None,
            config_sync_directory: None,
            cache: Default::default(),
            warnings: Vec::new(),
        }
    }

    fn site(directory: &str, name: &str, database: Result<DrupalDatabase, String>) -> DiscoveredSite {
        DiscoveredSite {
            name: name.into(),
            directory: directory.into(),
            settings_php: PathBuf::from(format!("/var/www/html/sites/{directory}/settings.php")),
            hosts: Vec::new(),
            host: None,
            reader: database.is_ok().then(|| Reader::Php { binary: "php".into(), version: "8.2.1".into() }),
            database,
            sites_php_reader: None,
            same_database_as: None,
            warnings: Vec::new(),
        }
    }

    fn sites() -> Vec<DiscoveredSite> {
        let mut arts = site("arts", "arts", Ok(db("drupal", "arts_")));
        arts.hosts = vec!["8080.arts.example.edu".into(), "arts.example.edu".into()];
        arts.host = Some("arts.example.edu".into());
        arts.sites_php_reader = Some(Reader::Literal { why_not_php: "no PHP found as php".into() });
        let mut again = site("arts.copy", "arts-copy", Ok(db("drupal", "arts_")));
        again.same_database_as = Some("arts".into());
        again.warnings.push("the same tables as sites/arts".into());
        let broken = site(
            "broken",
            "broken",
            Err("'password' at line 9 of settings.php is `'s3cret' . $x`, which drupal-scim cannot evaluate\nsecond line"
                .into()),
        );
        vec![site("default", "default", Ok(db("main", ""))), arts, again, broken]
    }

    #[test]
    fn the_block_is_toml_with_one_entry_per_usable_site() {
        let block = settings_block(&sites());
        let parsed: toml::Value = toml::from_str(&block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let entries = parsed["sites"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{block}");
        let arts = &entries[1];
        assert_eq!(arts["name"].as_str(), Some("arts"));
        assert_eq!(arts["host"].as_str(), Some("arts.example.edu"));
        assert_eq!(arts["drupal_settings"].as_str(), Some("/var/www/html/sites/arts/settings.php"));
        assert_eq!(arts["mapping"].as_str(), Some("drupal_mapping.toml"));
        assert!(arts["auth"].as_table().unwrap().is_empty());
        assert!(entries[0].get("host").is_none());
    }

    #[test]
    fn the_block_never_holds_credentials_or_source_text() {
        let block = settings_block(&sites());
        assert!(!block.contains("s3cret"), "{block}");
        assert!(!block.contains("scim_user_x"), "{block}");
        assert!(block.contains("'password' at line 9"), "{block}");
    }

    #[test]
    fn the_block_says_what_it_found_and_why_entries_are_off() {
        let block = settings_block(&sites());
        assert!(block.contains("# database drupal@db:3306, table prefix \"arts_\"\n"), "{block}");
        assert!(block.contains("8080.arts.example.edu (not a plain host: starts with a number label"), "{block}");
        assert!(block.contains("DRUPAL_SCIM_SITE_ARTS_COPY__AUTH__SECRET"), "{block}");
        assert!(block.contains("# not configured: sites/arts has the same tables"), "{block}");
        assert!(block.contains("\n# second line\n"), "{block}");
        assert!(block.contains("# [[sites]]\n# name = \"broken\"\n"), "{block}");
        assert!(
            block.contains(
                "host = \"arts.example.edu\"          # only when a plain host was found: this Host is also served at /scim/v2\n"
            ),
            "{block}"
        );
        assert!(block.contains(
            "drupal_settings = \"/var/www/html/sites/arts/settings.php\"   # the database (URL and table prefix) is read from here\n"
        ));
        assert!(block.contains(
            "mapping = \"drupal_mapping.toml\"    # the site's field mapping (can be shared by sites with the same fields)\n"
        ));
    }

    #[test]
    fn no_sites_is_still_toml_and_says_so() {
        let block = settings_block(&[]);
        assert!(block.contains("no site directory"), "{block}");
        assert!(toml::from_str::<toml::Value>(&block).unwrap().get("sites").is_none());
    }

    #[test]
    fn awkward_paths_stay_valid_toml() {
        let mut odd = site("odd", "odd", Ok(db("d", "")));
        odd.settings_php = PathBuf::from("/srv/\"quoted\" dir\\x/sites/odd/settings.php");
        odd.warnings.push("line one\nline two\u{7}".into());
        let block = settings_block(&[odd]);
        let parsed: toml::Value = toml::from_str(&block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        assert_eq!(
            parsed["sites"][0]["drupal_settings"].as_str(),
            Some("/srv/\"quoted\" dir\\x/sites/odd/settings.php")
        );
    }
}
