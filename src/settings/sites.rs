//! Many sites, one process: the `[[sites]]` list. Each entry is one Drupal site with its own
//! database, mapping and token keys; `[server]` and `[limits]` are shared. A settings file
//! without `[[sites]]` is the single-site case and loads exactly as before.
//!
//! Each site's settings are, each overriding the one before: what its `drupal_settings` file
//! says, the shared part of the file, the shared `DRUPAL_SCIM__*` environment, the site's entry,
//! and the site's own `DRUPAL_SCIM_SITE_<NAME>__*` environment (name upper-cased, `-` as `_`) —
//! the more specific wins. The result is an ordinary [`Settings`], checked as one.

use crate::settings::{Settings, SettingsError, canonical_path, canonical_url};
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// Keys of a `[[sites]]` entry that are not [`Settings`] keys.
const SITE_ONLY: [&str; 4] = ["name", "host", "drupal_settings", "public_url"];

/// Sections that every site shares; a site entry may not set them.
const SHARED_ONLY: [&str; 2] = ["server", "limits"];

/// The longest site name (it is one URL path segment and a metrics label).
const NAME_MAX: usize = 63;

/// What one process serves.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// In order of the file; never empty.
    pub sites: Vec<SiteSettings>,
    /// Whether the settings list sites (`/scim/v2/<site>/…`) or are the single-site case.
    pub multisite: bool,
}

/// One site's settings and how it is reached.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    /// URL-safe name, the path segment after the base path; empty in the single-site case.
    pub name: String,
    /// A Host header that reaches this site at the base path itself (no site segment).
    pub host: Option<String>,
    /// Everything the site needs, as a single-site server would have it.
    pub settings: Settings,
    /// Changes when anything this site was built from changes (its entry, the shared part, its
    /// mapping file, its settings.php): a reload rebuilds exactly the sites whose fingerprint moved.
    pub fingerprint: u64,
}

/// Reads a Drupal settings.php into setting defaults (the database URL, prefixes, config sync
/// directory, caches) and a line saying how it was read.
pub type DrupalSettingsReader<'a> = &'a dyn Fn(&Path) -> Result<(SettingDefaults, String), String>;

/// Setting defaults: (key, value) pairs.
pub type SettingDefaults = Vec<(&'static str, config::Value)>;

impl Deployment {
    /// One site, as `Settings` describe it (the single-site case; tests and embedding). Its
    /// fingerprint is new each time (its `Debug` form hides the secrets, so it cannot tell a
    /// changed secret): a reload always opens the one site again.
    pub fn single(settings: Settings) -> Deployment {
        let fingerprint = rand::random();
        Deployment {
            sites: vec![SiteSettings { name: String::new(), host: None, settings, fingerprint }],
            multisite: false,
        }
    }

    /// The settings every site shares (server, limits), from the first site.
    pub fn shared(&self) -> &Settings {
        // `sites` is never empty: `load` refuses a list without sites.
        &self.sites[0].settings
    }

    /// The site called `name`.
    pub fn site(&self, name: &str) -> Option<&SiteSettings> {
        self.sites.iter().find(|s| s.name == name)
    }

    /// Read the settings file: `[[sites]]` makes it a multisite deployment, otherwise it is the
    /// single-site case (`single` builds that one from the same file, as before). `environment`:
    /// `None` reads the process's.
    pub fn load(
        file: Option<&Path>,
        environment: Option<BTreeMap<String, String>>,
        read_drupal_settings: DrupalSettingsReader<'_>,
        single: impl FnOnce() -> Result<Settings, SettingsError>,
    ) -> Result<Deployment, SettingsError> {
        let path = match file {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("drupal-scim.toml")).filter(|p| p.exists()),
        };
        let text = match &path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| SettingsError::Invalid(format!("cannot read {}: {e}", p.display())))?,
            None => String::new(),
        };
        let mut table: toml::Table =
            text.parse().map_err(|e| SettingsError::Invalid(format!("{}: {e}", path.unwrap_or_default().display())))?;
        let Some(sites) = table.remove("sites") else {
            return Ok(Deployment::single(single()?));
        };
        let environment = environment.unwrap_or_else(|| std::env::vars().collect());
        let entries = match sites {
            toml::Value::Array(entries) if !entries.is_empty() => entries,
            _ => return Err(invalid("`sites` must be a non-empty list of [[sites]] entries")),
        };
        refuse_shared_identity(&table, &environment)?;
        let shared_text = toml::to_string(&table).map_err(|e| invalid(format!("settings: {e}")))?;
        let mut out: Vec<SiteSettings> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let toml::Value::Table(entry) = entry else {
                return Err(invalid(format!("sites[{i}] must be a table ([[sites]])")));
            };
            let site = load_site(i, entry, &shared_text, &environment, read_drupal_settings)?;
            if out.iter().any(|s| s.name == site.name) {
                return Err(invalid(format!("two sites are called {:?}: names must be unique", site.name)));
            }
            if let Some(host) = &site.host
                && out.iter().any(|s| s.host.as_ref() == Some(host))
            {
                return Err(invalid(format!("two sites claim host {host:?}")));
            }
            out.push(site);
        }
        warn_shared_secrets(&out);
        Ok(Deployment { sites: out, multisite: true })
    }
}

/// Build one site's settings from its entry.
fn load_site(
    index: usize,
    mut entry: toml::Table,
    shared_text: &str,
    environment: &BTreeMap<String, String>,
    read_drupal_settings: DrupalSettingsReader<'_>,
) -> Result<SiteSettings, SettingsError> {
    let name = match entry.remove("name") {
        Some(toml::Value::String(name)) => name,
        _ => return Err(invalid(format!("sites[{index}] needs a `name` (it becomes /scim/v2/<name>)"))),
    };
    check_name(&name)?;
    let at = |e: SettingsError| match e {
        SettingsError::Invalid(m) => invalid(format!("site {name:?}: {m}")),
        SettingsError::Load(e) => invalid(format!("site {name:?}: {e}")),
    };
    let text_of = |key: &str, entry: &mut toml::Table| -> Result<Option<String>, SettingsError> {
        match entry.remove(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(format!("site {name:?}: `{key}` must be a string"))),
        }
    };
    let host = text_of("host", &mut entry)?.map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty());
    let drupal_settings = text_of("drupal_settings", &mut entry)?.map(PathBuf::from);
    let public_url = text_of("public_url", &mut entry)?;
    debug_assert!(SITE_ONLY.iter().all(|k| !entry.contains_key(*k)));
    if let Some(key) = SHARED_ONLY.iter().find(|k| entry.contains_key(**k)) {
        return Err(invalid(format!("site {name:?}: [{key}] is shared by every site: set it at the top of the file")));
    }
    let (defaults, how) = match &drupal_settings {
        Some(path) => {
            let (defaults, how) = read_drupal_settings(path).map_err(|e| invalid(format!("site {name:?}: {e}")))?;
            (defaults, Some(how))
        }
        None => (Vec::new(), None),
    };
    let site_text = toml::to_string(&entry).map_err(|e| invalid(format!("site {name:?}: {e}")))?;
    let mut builder = config::Config::builder();
    for (key, value) in &defaults {
        builder = builder.set_default(*key, value.clone()).map_err(SettingsError::from).map_err(at)?;
    }
    let env_prefix = env_prefix(&name);
    let site_env: config::Map<String, String> = environment
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(&env_prefix).map(|rest| (format!("DRUPAL_SCIM__{rest}"), v.clone())))
        .collect();
    let shared_env: config::Map<String, String> = environment
        .iter()
        .filter(|(k, _)| k.starts_with("DRUPAL_SCIM__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let env = |vars: config::Map<String, String>| {
        config::Environment::with_prefix("DRUPAL_SCIM")
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("auth.revoked")
            .source(Some(vars))
    };
    let mut settings: Settings = builder
        .add_source(config::File::from_str(shared_text, config::FileFormat::Toml))
        .add_source(env(shared_env))
        .add_source(config::File::from_str(&site_text, config::FileFormat::Toml))
        .add_source(env(site_env.clone()))
        .build()
        .and_then(config::Config::try_deserialize)
        .map_err(SettingsError::from)
        .map_err(at)?;
    if let Some(url) = public_url {
        settings.server.public_url = url;
    }
    settings.server.base_path = canonical_path(&settings.server.base_path);
    settings.server.public_url = canonical_url(&settings.server.public_url);
    settings.drupal_settings_read = how;
    settings.check().map_err(at)?;
    let mut env_text: Vec<String> = site_env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env_text.sort();
    let mut sources: Vec<&Path> = vec![&settings.mapping];
    if let Some(path) = &drupal_settings {
        sources.push(path);
    }
    let fingerprint = fingerprint_of(&[shared_text, &site_text, &env_text.join("\n"), &name], &sources);
    Ok(SiteSettings { name, host, settings, fingerprint })
}

/// Names are one path segment, lower-case so that no name can be mistaken for a SCIM endpoint
/// (`Users`, `Groups`, `Schemas`, `.search`, …).
pub fn check_name(name: &str) -> Result<(), SettingsError> {
    let mut chars = name.chars();
    let ok = name.len() <= NAME_MAX
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "site name {name:?} must be 1 to {NAME_MAX} characters of a-z, 0-9, '-' and '_', starting with a letter or digit (it is the path segment in /scim/v2/<name>)"
        )))
    }
}

/// The environment prefix of a site's own variables.
pub fn env_prefix(name: &str) -> String {
    format!("DRUPAL_SCIM_SITE_{}__", name.to_ascii_uppercase().replace('-', "_"))
}

/// A database or a signing secret set once for every site would point them all at one database
/// or let one token open every site: each site sets its own.
fn refuse_shared_identity(shared: &toml::Table, environment: &BTreeMap<String, String>) -> Result<(), SettingsError> {
    let in_file = |section: &str, key: &str| {
        shared.get(section).and_then(toml::Value::as_table).is_some_and(|t| t.contains_key(key))
    };
    for (section, key) in [("database", "url"), ("auth", "secret")] {
        let variable = format!("DRUPAL_SCIM__{}__{}", section.to_ascii_uppercase(), key.to_ascii_uppercase());
        if in_file(section, key) || environment.contains_key(&variable) {
            return Err(invalid(format!(
                "with [[sites]], {section}.{key} belongs to each site ([sites.{section}] or DRUPAL_SCIM_SITE_<NAME>__{}__{}), not to the whole file or {variable}",
                section.to_ascii_uppercase(),
                key.to_ascii_uppercase()
            )));
        }
    }
    if shared.contains_key("sync") {
        return Err(invalid("with [[sites]], [sync] belongs to a site ([sites.sync])"));
    }
    Ok(())
}

/// Sites sharing a signing secret are still kept apart (tokens name their site), but a leaked
/// secret would then open all of them: say so.
fn warn_shared_secrets(sites: &[SiteSettings]) {
    let mut seen = HashSet::new();
    for site in sites {
        if !seen.insert(site.settings.auth.secret.expose()) {
            log::warn!(
                "site {:?} shares its auth.secret with another site: tokens still name their site, but give each site its own secret",
                site.name
            );
        }
    }
}

fn fingerprint_of(texts: &[&str], files: &[&Path]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    texts.hash(&mut h);
    for file in files {
        std::fs::read(file).unwrap_or_default().hash(&mut h);
    }
    h.finish()
}

fn invalid(message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    struct File(PathBuf);
    impl Drop for File {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Deployment, SettingsError> {
        let file = File(std::env::temp_dir().join(format!("drupal-scim-sites-{}.toml", uuid::Uuid::new_v4())));
        std::fs::write(&file.0, text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let no_php = |_: &Path| -> Result<(super::SettingDefaults, String), String> { Err("none".into()) };
        Deployment::load(Some(&file.0), Some(env), &no_php, || Err(invalid("single")))
    }

    fn two_sites() -> String {
        format!(
            "[server]\nlisten = \"127.0.0.1:9\"\n[database]\npool_max = 3\n\
             [[sites]]\nname = \"arts\"\nhost = \"Arts.Example.edu\"\nmapping = \"arts.toml\"\n\
             [sites.database]\nurl = \"mysql://u@h/arts\"\n[sites.auth]\nsecret = \"{A}\"\n\
             [[sites]]\nname = \"law-school\"\n[sites.database]\nurl = \"mysql://u@h/law\"\npool_max = 8\n\
             [sites.auth]\nsecret = \"{B}\"\n"
        )
    }

    #[test]
    fn each_site_gets_the_shared_part_and_its_own() {
        let d = load(&two_sites(), &[]).unwrap();
        assert!(d.multisite);
        let arts = d.site("arts").unwrap();
        assert_eq!(arts.host.as_deref(), Some("arts.example.edu"));
        assert_eq!(arts.settings.database.url.expose(), "mysql://u@h/arts");
        assert_eq!(arts.settings.database.pool_max, 3, "the shared [database] is every site's default");
        assert_eq!(arts.settings.mapping, PathBuf::from("arts.toml"));
        assert_eq!(arts.settings.server.listen, "127.0.0.1:9");
        let law = d.site("law-school").unwrap();
        assert_eq!(law.settings.database.pool_max, 8);
        assert_eq!(law.settings.auth.secret.expose(), B);
        assert_ne!(arts.fingerprint, law.fingerprint);
    }

    #[test]
    fn a_site_takes_its_own_environment_and_no_other() {
        let secret = "env-secret-env-secret-env-secret-0000";
        let d = load(
            &two_sites(),
            &[("DRUPAL_SCIM_SITE_LAW_SCHOOL__AUTH__SECRET", secret), ("DRUPAL_SCIM__DATABASE__POOL_MAX", "5")],
        )
        .unwrap();
        assert_eq!(d.site("law-school").unwrap().settings.auth.secret.expose(), secret);
        assert_eq!(d.site("arts").unwrap().settings.auth.secret.expose(), A);
        assert_eq!(d.site("arts").unwrap().settings.database.pool_max, 5);
        assert_eq!(d.site("law-school").unwrap().settings.database.pool_max, 8, "the site's entry beats shared env");
    }

    #[test]
    fn refused_shapes_say_why() {
        let cases = [
            (two_sites().replace("\"law-school\"", "\"arts\""), "unique"),
            (two_sites().replace("\"law-school\"", "\"Users\""), "a-z"),
            (two_sites().replace("name = \"law-school\"\n", ""), "needs a `name`"),
            (
                two_sites().replace(
                    "[sites.database]\nurl = \"mysql://u@h/law\"",
                    "[sites.server]\nlisten=\"x\"\n[sites.database]\nurl = \"mysql://u@h/law\"",
                ),
                "shared by every site",
            ),
            (
                two_sites().replace("[database]\npool_max = 3", "[database]\nurl = \"mysql://u@h/all\""),
                "belongs to each site",
            ),
            (
                two_sites().replace(&format!("secret = \"{B}\""), "secret = \"short\""),
                "site \"law-school\": auth.secret must be at least 32",
            ),
            ("sites = []\n".to_string(), "non-empty"),
        ];
        for (text, expected) in cases {
            let e = load(&text, &[]).unwrap_err().to_string();
            assert!(e.contains(expected), "{expected:?} not in {e:?}");
        }
        let e = load(&two_sites(), &[("DRUPAL_SCIM__AUTH__SECRET", A)]).unwrap_err().to_string();
        assert!(e.contains("belongs to each site"), "{e}");
    }

    #[test]
    fn without_sites_the_file_is_the_single_site_case() {
        let e = load("[auth]\nsecret = \"x\"\n", &[]).unwrap_err().to_string();
        assert!(e.contains("single"), "the single-site loader answered: {e}");
    }
}
