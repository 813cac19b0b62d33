//! `drupal-scim check`: read the settings and the mapping, connect, inspect the Drupal site and
//! report what drupal-scim would do — without opening a listener or writing anything.

use crate::drupal::columns::Columns;
use crate::drupal::db::Db;
use crate::drupal::model::DbValue;
use crate::drupal::password::PasswordScheme;
use crate::drupal::roles::{self, list_roles};
use crate::drupal::rows::{self, take};
use crate::drupal::server;
use crate::drupal::site::{Site, SiteError};
use crate::mapping::check::open_site;
use crate::mapping::model::{Mapping, Target, UnmappedGroups};
use crate::settings::Settings;
use mysql_async::prelude::*;
use std::fmt;
use std::time::Duration;

mod cache;

/// How serious a line of the report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Info,
    Warn,
    Error,
}

/// The report: lines in order, each with its level.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<(Level, String)>,
}

impl Report {
    fn push(&mut self, level: Level, line: impl Into<String>) {
        self.lines.push((level, line.into()));
    }
    /// True when any line is an error.
    pub fn failed(&self) -> bool {
        self.lines.iter().any(|(l, _)| *l == Level::Error)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (level, line) in &self.lines {
            let tag = match level {
                Level::Ok => "ok   ",
                Level::Info => "     ",
                Level::Warn => "WARN ",
                Level::Error => "ERROR",
            };
            writeln!(f, "{tag} {line}")?;
        }
        let errors = self.lines.iter().filter(|(l, _)| *l == Level::Error).count();
        let warnings = self.lines.iter().filter(|(l, _)| *l == Level::Warn).count();
        write!(f, "{} error(s), {} warning(s)", errors, warnings)
    }
}

/// Run every check.
pub async fn run(settings: &Settings) -> Report {
    let mut report = Report::default();
    if let Some(how) = &settings.drupal_settings_read {
        report.push(Level::Ok, how.clone());
    }
    let mut mapping = match Mapping::load(&settings.mapping) {
        Ok(m) => {
            report.push(Level::Ok, format!("mapping {} parsed", settings.mapping.display()));
            m
        }
        Err(e) => {
            report.push(Level::Error, e.to_string());
            return report;
        }
    };
    mapping.override_prefixes(settings.database.table_prefix.as_deref(), settings.database.table_prefixes.as_ref());
    let db = match Db::new(settings.database.url.expose(), 1, Duration::from_secs(settings.database.timeout_secs)) {
        Ok(db) => db,
        Err(e) => {
            report.push(Level::Error, e.to_string());
            return report;
        }
    };
    let site = match open_site(&db, &mut mapping).await {
        Ok(site) => site,
        Err(SiteError::Mismatch(problems)) => {
            for p in problems {
                report.push(Level::Error, p);
            }
            db.close().await;
            return report;
        }
        Err(e) => {
            report.push(Level::Error, format!("cannot inspect the database: {e}"));
            db.close().await;
            return report;
        }
    };
    let core = site.schema.label();
    report.push(Level::Ok, format!("connected; {core} schema (system schema version {})", site.schema_version));
    match server::inspect(&db).await {
        Ok(found) => match server::decide(&found, site.release) {
            Ok(accepted) => report.push(Level::Ok, accepted.to_string()),
            Err(refusal) => report.push(Level::Error, refusal.to_string()),
        },
        Err(e) => report.push(Level::Error, format!("cannot ask the database server its version: {e}")),
    }
    report.push(Level::Info, format!("table prefix {:?}", mapping.table_prefix));
    for (table, prefix) in &mapping.table_prefixes {
        report.push(Level::Info, format!("table {table} has its own prefix {prefix:?}"));
    }
    let language = match site.schema.default_preferred_language(&site.langcode) {
        DbValue::Text(langcode) => langcode,
        _ => "none ('', Drupal 7's default)".to_string(),
    };
    report.push(Level::Info, format!("new accounts: language {language}, time zone {}", site.timezone));
    let hashes = match site.password {
        PasswordScheme::Bcrypt { cost } => format!("bcrypt $2y$ at cost {cost}"),
        PasswordScheme::PhpassSha512 { count_log2 } => format!("phpass $S$ with 2^{count_log2} rounds"),
    };
    report.push(Level::Info, format!("passwords (only when a client sends one): {hashes}"));
    for map in &mapping.users.attributes {
        let len = map.max_len.map(|l| format!(", at most {l} characters")).unwrap_or_default();
        let kind = match &map.target {
            Target::Column(_) => "column",
            Target::Field(_) => "field",
        };
        let target = match &map.target {
            Target::Column(c) => {
                format!("{}.{}", site.schema.data_table(), site.schema.column_name(*c).unwrap_or_default())
            }
            Target::Field(f) => site.schema.field_target_text(f),
        };
        report.push(Level::Ok, format!("line {}: {} → {target} ({kind}{len})", map.line, map.scim_text));
    }
    let caches_in_database = settings.cache.backend == crate::settings::CacheBackendKind::Database;
    if let Err(e) = site_report(&db, &site, &mapping, caches_in_database, &mut report).await {
        report.push(Level::Error, format!("cannot read the site: {e}"));
    }
    cache::report(&settings.cache, &site, &mut report).await;
    if site.schema.roles_are_config()
        && let Err(e) =
            config_sync_report(&db, &site, &mapping, settings.config_sync_directory.as_deref(), &mut report).await
    {
        report.push(Level::Error, format!("cannot read the roles SCIM created: {e}"));
    }
    db.close().await;
    report
}

async fn site_report(
    db: &Db,
    site: &Site,
    mapping: &Mapping,
    caches_in_database: bool,
    report: &mut Report,
) -> Result<(), crate::drupal::error::StoreError> {
    let mut conn = db.conn().await?;
    let t = site.tables();
    let roles = list_roles(&mut *conn, site).await?;
    // What SCIM may reach, as the server will have it: protected roles named by id or name.
    let mut site = site.clone();
    site.reach = crate::startup::reach(&site, mapping);
    let resolved: Vec<String> = mapping
        .groups
        .protected_roles
        .iter()
        .filter_map(|p| roles::find(&site, &roles, p))
        .map(|r| r.id.clone())
        .collect();
    site.reach.protected_roles.extend(resolved);
    let site = &site;
    let uids = &site.reach.protected_uids;
    let marks = vec!["?"; uids.len().max(1)].join(", ");
    let params: Vec<mysql_async::Value> =
        if uids.is_empty() { vec![0u32.into()] } else { uids.iter().map(|u| (*u).into()).collect() };
    let default_row = site.schema.account_row_condition("");
    let sql = format!(
        "SELECT `uid`, `name` FROM {} WHERE `uid` IN ({marks}){default_row} ORDER BY `uid`",
        t.t(site.schema.data_table())
    );
    let rows: Vec<mysql_async::Row> = conn.exec(sql, params).await?;
    let data = site.schema.data_table();
    for mut row in rows {
        let uid: u32 = take(&mut row, 0, format_args!("{data}.uid"))?;
        let name: String = take(&mut row, 1, format_args!("{data}.name"))?;
        let who = if name.is_empty() { "anonymous".to_string() } else { name };
        report.push(Level::Info, format!("protected account uid {uid} ({who}): never listed or changed"));
    }
    for r in &roles {
        let listed = site.reach.protected_roles.contains(&r.id);
        let why = match (r.is_admin, r.escalates, listed) {
            (true, _, _) => "Drupal's administrator role",
            (_, true, _) => "holds a permission that leads to every account",
            (_, _, true) => "listed in protected_roles",
            _ => continue,
        };
        report.push(
            Level::Info,
            format!(
                "protected role {} ({:?}): {why}; never granted, revoked, renamed or deleted, and its holders are out of SCIM's reach",
                r.id, r.label
            ),
        );
    }
    for role in &mapping.groups.protected_roles {
        if roles::find(site, &roles, role).is_none() {
            report.push(Level::Info, format!("protected role {role} does not exist on this site"));
        }
    }
    let mut params = Vec::new();
    let privileged = site.privileged_sql(&mut params);
    let default_row = site.schema.account_row_condition("d.");
    let sql = format!("SELECT COUNT(*) FROM {} d WHERE {privileged}{default_row}", t.t(site.schema.data_table()));
    let held: Option<i64> = conn.exec_first(sql, params).await?;
    report.push(
        Level::Info,
        format!("{} account(s) hold a protected role: invisible to SCIM and never changed", held.unwrap_or(0)),
    );
    // Before the first start there is no bridge table yet: every account is unlinked.
    let bridge = Columns::load(&mut conn, t).await?.has(t, "scim_user");
    if !site.reach.unlinked_reachable {
        let linked = if bridge {
            format!(" AND NOT EXISTS (SELECT 1 FROM {} s WHERE s.`uid` = d.`uid`)", t.t("scim_user"))
        } else {
            String::new()
        };
        let mut params = Vec::new();
        let protected = site.protected_uids_sql(&mut params);
        let sql =
            format!("SELECT COUNT(*) FROM {} d WHERE {protected}{default_row}{linked}", t.t(site.schema.data_table()));
        let unlinked: Option<i64> = conn.exec_first(sql, params).await?;
        report.push(
            Level::Info,
            format!(
                "{} existing account(s) are not linked to SCIM: invisible to it while [users] link_existing = \"refuse\" (a create naming one answers 409)",
                unlinked.unwrap_or(0)
            ),
        );
    }
    for m in &mapping.groups.maps {
        let who = m.display_name.as_deref().or(m.external_id.as_deref()).unwrap_or_default();
        match roles::find(site, &roles, &m.role) {
            Some(r) => {
                report.push(Level::Ok, format!("line {}: group {who:?} → role {} ({:?})", m.line, r.id, r.label))
            }
            None => report.push(
                Level::Error,
                format!("line {}: group {who:?} → role {:?}, which does not exist", m.line, m.role),
            ),
        }
    }
    let unmapped = match mapping.groups.unmapped {
        UnmappedGroups::CreateRole => "create a role",
        UnmappedGroups::Refuse => "are refused",
        UnmappedGroups::Ignore => "are accepted and grant nothing",
    };
    report.push(Level::Info, format!("groups without a [[groups.map]] entry {unmapped}"));
    // Per-table prefixes may put tables in other databases: Columns looks in each of them.
    let columns = Columns::load(&mut conn, t).await?;
    let has = |name: &str| columns.has(t, name);
    for bridge in ["scim_user", "scim_group"] {
        let name = match t.schema_of(bridge) {
            Some(schema) => format!("{schema}.{}", t.raw(bridge)),
            None => t.raw(bridge),
        };
        if has(bridge) {
            report.push(Level::Ok, format!("drupal-scim table {name} present"));
        } else {
            report.push(Level::Info, format!("drupal-scim table {name} will be created at the first start"));
        }
    }
    if !caches_in_database {
        // The cache backend's own report (check/cache.rs) says where the caches are.
    } else if let Some(note) = site.schema.cache_note() {
        report.push(Level::Ok, note);
    } else if !has("cachetags") {
        report.push(
            Level::Warn,
            "no cachetags table: either Drupal never invalidated a cache tag in the database, or its caches live elsewhere — for Redis set [cache] backend = \"redis\" (README: Sites that keep caches in Redis); Memcache cannot be reached: run `drush cr` after provisioning",
        );
    } else {
        let sql = format!("SELECT `invalidations` FROM {} WHERE `tag` = 'user_list'", t.t("cachetags"));
        let user_list = rows::first::<i64, _>(&mut *conn, sql, (), "cachetags.invalidations").await?;
        if user_list.is_none() {
            report.push(
                Level::Warn,
                "cachetags has never seen the user_list tag: if the site keeps cache tags in Redis, set [cache] backend = \"redis\" (README: Sites that keep caches in Redis); Memcache cannot be reached",
            );
        } else {
            report.push(Level::Ok, "cache tags are kept in the database (cachetags): provisioned changes show at once");
        }
    }
    for bin in site.schema.cache_bins() {
        if !has(bin) {
            report.push(
                Level::Info,
                format!("{bin} does not exist yet (Drupal creates cache tables on first use): nothing to invalidate"),
            );
        }
    }
    Ok(())
}

/// Roles SCIM creates live only in Drupal's active configuration: a deploy that imports the
/// configuration (`drush config:import`) deletes every role missing from the sync directory,
/// and with it every membership. Warn for each SCIM-created role the directory lacks.
async fn config_sync_report(
    db: &Db,
    site: &Site,
    mapping: &Mapping,
    sync_dir: Option<&std::path::Path>,
    report: &mut Report,
) -> Result<(), crate::drupal::error::StoreError> {
    let mut conn = db.conn().await?;
    let t = site.tables();
    let created: Vec<String> = if Columns::load(&mut conn, t).await?.has(t, "scim_group") {
        let sql = format!(
            "SELECT `role_id` FROM {} WHERE `created_by_scim` = 1 AND `deleted` = 0 AND `role_id` IS NOT NULL ORDER BY `role_id`",
            t.t("scim_group")
        );
        crate::drupal::rows::column(&mut *conn, sql, (), "scim_group.role_id").await?
    } else {
        Vec::new()
    };
    let creates = mapping.groups.unmapped == UnmappedGroups::CreateRole;
    match sync_dir {
        Some(dir) if !dir.is_dir() => report.push(
            Level::Warn,
            format!("config sync directory {} does not exist here: cannot tell whether a configuration import would delete the roles SCIM creates", dir.display()),
        ),
        Some(dir) => {
            for role in &created {
                let file = dir.join(format!("user.role.{role}.yml"));
                if file.is_file() {
                    report.push(Level::Ok, format!("role {role} (created through SCIM) is exported to {}", file.display()));
                } else {
                    report.push(
                        Level::Warn,
                        format!(
                            "role {role} was created through SCIM but {} does not exist: the next configuration import (drush cim, a deploy) deletes the role and takes it from every member; export it (drush config:export) or exclude user.role.* and the user_add/remove_role actions with config_ignore",
                            file.display()
                        ),
                    );
                }
            }
        }
        None if !created.is_empty() || creates => report.push(
            Level::Info,
            format!(
                "{} role(s) created through SCIM so far; new roles live only in the active configuration: if this site deploys with drush config:import, export them or ignore user.role.* (give --drupal-settings or config_sync_directory to have them checked)",
                created.len()
            ),
        ),
        None => {}
    }
    Ok(())
}
