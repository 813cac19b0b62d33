//! Build the server from settings: connect, check the mapping against the live site, bind.

use crate::drupal::audit::Audit;
use crate::drupal::db::Db;
use crate::drupal::groups::GroupStore;
use crate::drupal::model::BaseColumn;
use crate::drupal::reach::Reach;
use crate::drupal::roles::{self, list_roles};
use crate::drupal::server::{self, Refusal};
use crate::drupal::site::{Site, SiteError};
use crate::drupal::users::UserStore;
use crate::http::sites::{Entry, Sites, Slot, Table};
use crate::http::{AppState, configure};
use crate::mapping::check::open_site;
use crate::mapping::model::{LinkExisting, Mapping, MappingError};
use crate::provision::{GroupService, UserService};
use crate::scim::cursor::CursorKey;
use crate::scim::discovery::{Capabilities, Exposed};
use crate::scim::list::PageLimits;
use crate::scim::schema::{GROUP_SCHEMA, USER_SCHEMA};
use crate::settings::{Deployment, Settings, SiteSettings, canonical_path, canonical_url};
use crate::token::Keyring;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Mapping(#[from] MappingError),
    #[error("{0}")]
    Site(#[from] SiteError),
    #[error("{0}")]
    Store(#[from] crate::drupal::error::StoreError),
    #[error("{0}")]
    Server(#[from] Refusal),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("{0}")]
    Cache(String),
}

/// A built, bound server.
pub struct Application {
    port: u16,
    server: Server,
    sites: web::Data<Sites>,
}

/// The attributes the mapping exposes, for /Schemas.
fn exposed(mapping: &Mapping) -> Vec<Exposed> {
    let mut out: Vec<Exposed> = mapping
        .users
        .attributes
        .iter()
        .map(|m| Exposed { schema: m.schema_urn, attr: m.attr_name, sub: m.sub_name })
        .collect();
    out.push(Exposed { schema: USER_SCHEMA, attr: "groups", sub: None });
    out.push(Exposed { schema: GROUP_SCHEMA, attr: "displayName", sub: None });
    out.push(Exposed { schema: GROUP_SCHEMA, attr: "members", sub: None });
    out
}

impl Application {
    /// Connect to the database, validate the mapping against it, and bind the listener: one
    /// site, served at the base path.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Application::build_deployment(Deployment::single(settings)).await
    }

    /// Open every site and bind the listener. One site alone (the single-site case) must open,
    /// or nothing starts. With several, a site that cannot be opened answers 503 and is tried
    /// again (every 30 s, and on reload) while the others serve.
    pub async fn build_deployment(deployment: Deployment) -> Result<Application, StartupError> {
        let shared = deployment.shared().clone();
        let limit = shared.server.database_connections_max.map(|n| Arc::new(Semaphore::new(n.max(1))));
        let sites = web::Data::new(Sites::new(
            canonical_path(&shared.server.base_path),
            deployment.multisite,
            limit,
            shared.server.clone(),
        ));
        let mut opened = Vec::new();
        for site in deployment.sites {
            match open(&site, sites.shared_limit()).await {
                Ok(state) => opened.push((site, Ok(state))),
                Err(e) if deployment.multisite => {
                    log::error!("site {:?} cannot be served yet (503 until it can): {e}", site.name);
                    opened.push((site, Err(e.to_string())));
                }
                Err(e) => return Err(e),
            }
        }
        sites.install(opened);
        if deployment.multisite {
            let names: Vec<String> = sites.names();
            log::info!("serving {} site(s): {}", names.len(), names.join(", "));
            tokio::spawn(retry_down(sites.clone()));
        }
        let listener = TcpListener::bind(&shared.server.listen)
            .map_err(|e| StartupError::Bind(shared.server.listen.clone(), e))?;
        let port = listener.local_addr().map_err(|e| StartupError::Bind(shared.server.listen.clone(), e))?.port();
        let workers = if shared.server.workers == 0 { num_workers() } else { shared.server.workers };
        let routed = sites.clone();
        let server = HttpServer::new(move || {
            // Tenant URLs are pasted with a trailing slash (`…/scim/v2/`) and clients join them
            // with `/Users`: merge repeated slashes and trim a trailing one before routing, so
            // `/scim/v2//Users/` reaches `/Users` (and its auth). The query string is kept. It
            // runs inside `observe`, whose log line shows the path as the client sent it; the
            // site is picked after it (`/scim/v2/<site>/Users` is served as `/scim/v2/Users`).
            App::new()
                .app_data(routed.clone())
                .wrap(actix_web::middleware::from_fn(crate::http::sites::route))
                .wrap(actix_web::middleware::NormalizePath::trim())
                .wrap(actix_web::middleware::from_fn(crate::http::observe::observe))
                .configure(configure(routed.base().to_string()))
        })
        .workers(workers)
        .shutdown_timeout(30);
        let server = match (&shared.server.tls_cert, &shared.server.tls_key) {
            (Some(cert), Some(key)) => {
                let config = crate::tls::server_config(cert, key)?;
                log::info!("serving HTTPS (TLS 1.2/1.3) with {}", cert.display());
                server.listen_rustls_0_23(listener, config)
            }
            _ => server.listen(listener),
        }
        .map_err(|e| StartupError::Bind(shared.server.listen.clone(), e))?
        .run();
        Ok(Application { port, server, sites })
    }

    /// The port actually bound (useful with `:0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The sites being served: reload them (SIGHUP) while the server runs.
    pub fn sites(&self) -> web::Data<Sites> {
        self.sites.clone()
    }

    /// Serve until stopped (SIGTERM/SIGINT stop gracefully: in-flight requests finish).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.sites.close().await;
        result
    }
}

/// Open one site: connect, check its mapping against the live site, and build what its
/// requests need.
pub async fn open(
    entry: &SiteSettings,
    shared_limit: Option<Arc<Semaphore>>,
) -> Result<web::Data<AppState>, StartupError> {
    let settings = &entry.settings;
    let mut mapping = Mapping::load(&settings.mapping)?;
    mapping.override_prefixes(settings.database.table_prefix.as_deref(), settings.database.table_prefixes.as_ref());
    mapping.realm = entry.name.clone();
    let db = Db::new(
        settings.database.url.expose(),
        settings.database.pool_max,
        Duration::from_secs(settings.database.timeout_secs),
    )?
    .dry_run(settings.dry_run)
    .sharing(shared_limit);
    let named = if entry.name.is_empty() { String::new() } else { format!("site {:?}: ", entry.name) };
    if settings.dry_run {
        log::warn!("{named}DRY RUN: every write is validated, logged and rolled back; nothing is written to Drupal");
    }
    let mut site = open_site(&db, &mut mapping).await?;
    // Before the first write (the bridge tables): a server drupal-scim's SQL was not checked
    // for, or that refuses its named locks, is refused here and not halfway through a request.
    let accepted = server::decide(&server::inspect(&db).await?, site.release)?;
    log::info!("{named}{accepted}");
    site.ensure_bridge_tables(&db).await?;
    log::info!(
        "{named}Drupal site: {}, schema {}, langcode {}, timezone {}, password hashes {:?}, table prefix {:?}{}",
        site.schema.label(),
        site.schema_version,
        site.langcode,
        site.timezone,
        site.password,
        mapping.table_prefix,
        if mapping.table_prefixes.is_empty() {
            String::new()
        } else {
            format!(", per-table prefixes {:?}", mapping.table_prefixes)
        }
    );
    resolve_group_roles(&db, &site, &mut mapping).await?;
    let db =
        db.with_cache(crate::drupal::cache_backend::announce(&settings.cache, &site).map_err(StartupError::Cache)?);
    site.reach = reach(&site, &mapping);
    let site = Arc::new(site);
    let mapping = Arc::new(mapping);
    let group_store = GroupStore::new(db.clone(), site.clone(), mapping.groups.protected_roles.clone());
    let cursors = CursorKey::for_site(settings.auth.secret.expose(), &entry.name, 3600);
    let audit = Audit::new(db.clone(), site.tables().clone(), site.has_watchdog && settings.audit.watchdog);
    let mut user_store = UserStore::new(db.clone(), site.clone());
    if settings.sync.as_ref().is_some_and(|s| s.provider_is_target) {
        // No echo: what the provider writes is recorded as in sync with the sync target.
        crate::sync::state::ensure(&db, site.tables()).await?;
        user_store = user_store.with_after_write(crate::sync::echo::hook(mapping.clone(), site.tables().clone()));
    }
    let users = UserService::new(mapping.clone(), user_store, group_store.clone(), cursors.clone(), audit.clone());
    let groups = GroupService::new(mapping.clone(), group_store, cursors, audit);
    // Settings read from a file are canonical already; settings built in code may not be.
    let host_base_path = canonical_path(&settings.server.base_path);
    let base_path =
        if entry.name.is_empty() { host_base_path.clone() } else { format!("{host_base_path}/{}", entry.name) };
    Ok(web::Data::new(AppState {
        site: entry.name.clone(),
        users,
        groups,
        db,
        keyring: Keyring::for_site(&settings.auth, &entry.name),
        base_path,
        host_base_path,
        public_url: canonical_url(&settings.server.public_url),
        body_limit: settings.limits.body_bytes,
        page_limits: PageLimits {
            default_count: u64::from(settings.limits.default_page_size),
            max_count: u64::from(settings.limits.max_page_size),
        },
        capabilities: Capabilities {
            max_results: u64::from(settings.limits.max_page_size),
            default_page_size: u64::from(settings.limits.default_page_size),
            change_password: mapping.column_map(BaseColumn::Pass).is_some(),
            max_payload_size: settings.limits.body_bytes,
            max_operations: settings.limits.bulk_max_operations,
        },
        exposed: exposed(&mapping),
        oauth_clients: settings.auth.clients.clone(),
        group_writes: tokio::sync::Semaphore::new(crate::http::groups::GROUP_WRITERS),
        request_timeout: Duration::from_secs(
            settings
                .server
                .request_timeout_secs
                .unwrap_or((u64::from(crate::drupal::db::ATTEMPTS) + 1) * settings.database.timeout_secs),
        ),
    }))
}

/// How often a site that could not be opened is tried again.
const RETRY_DOWN: Duration = Duration::from_secs(30);

/// Try the sites that could not be opened again, now and then, until the process stops.
async fn retry_down(sites: web::Data<Sites>) {
    loop {
        tokio::time::sleep(RETRY_DOWN).await;
        open_down_sites(&sites).await;
    }
}

/// Open the sites that could not be opened (at start-up or a reload) if they can be now; one
/// line per site that came up.
pub async fn open_down_sites(sites: &Sites) -> ReloadReport {
    let down: Vec<SiteSettings> = sites
        .table()
        .entries
        .values()
        .filter(|e| matches!(e.slot, Slot::Down(_)))
        .map(|e| e.settings.clone())
        .collect();
    let mut report = Vec::new();
    if down.is_empty() {
        return report;
    }
    let _one_at_a_time = sites.reloading.lock().await;
    for settings in down {
        let Ok(state) = open(&settings, sites.shared_limit()).await else { continue };
        let name = settings.name.clone();
        let mut entries = sites.table().entries.clone();
        // A reload may have removed or replaced it meanwhile: only a site still down is swapped.
        if entries
            .get(&name)
            .is_some_and(|e| matches!(e.slot, Slot::Down(_)) && e.settings.fingerprint == settings.fingerprint)
        {
            entries.insert(name.clone(), Entry { settings, slot: Slot::Up(state) });
            sites.replace(Table::of(entries.into_values()));
            log::info!("site {name:?} is serving now");
            report.push(format!("site {name:?}: serving"));
        }
    }
    report
}

/// What a reload did, one line per site that changed (for the log and the admin).
pub type ReloadReport = Vec<String>;

/// Apply new settings to a running server (SIGHUP): sites whose settings, mapping or
/// settings.php changed are opened again and swapped in, new ones added, missing ones removed;
/// the others are not touched, and no request in flight is dropped (it finishes with the state
/// it started with). A site whose new settings cannot be opened keeps running with its previous
/// ones. What cannot change without a restart (`[server]`, one site ↔ many) is reported.
pub async fn reload(sites: &Sites, new: Deployment) -> ReloadReport {
    let _one_at_a_time = sites.reloading.lock().await;
    let mut report = Vec::new();
    if new.multisite != sites.multisite() {
        report.push("refused: switching between one site and [[sites]] takes a restart".to_string());
        return report;
    }
    let server = &new.shared().server;
    let running = sites.server();
    if (
        &server.listen,
        &server.base_path,
        server.workers,
        &server.tls_cert,
        &server.tls_key,
        server.database_connections_max,
    ) != (
        &running.listen,
        &running.base_path,
        running.workers,
        &running.tls_cert,
        &running.tls_key,
        running.database_connections_max,
    ) {
        report.push("[server] changed: listen, base_path, workers, TLS and database_connections_max take a restart; the rest is applied".to_string());
    }
    let old = sites.table();
    let mut entries = Vec::new();
    let mut retired = Vec::new();
    for settings in new.sites {
        let previous = old.entries.get(&settings.name).cloned();
        let unchanged = previous
            .as_ref()
            .is_some_and(|p| p.settings.fingerprint == settings.fingerprint && matches!(p.slot, Slot::Up(_)));
        if let (true, Some(previous)) = (unchanged, previous.clone()) {
            entries.push(previous);
            continue;
        }
        let name = settings.name.clone();
        match (open(&settings, sites.shared_limit()).await, previous) {
            (Ok(state), previous) => {
                report.push(format!("site {name:?}: {}", if previous.is_some() { "reloaded" } else { "added" }));
                if let Some(Entry { slot: Slot::Up(old_state), .. }) = previous {
                    retired.push(old_state);
                }
                entries.push(Entry { settings, slot: Slot::Up(state) });
            }
            (Err(e), Some(previous @ Entry { slot: Slot::Up(_), .. })) => {
                report
                    .push(format!("site {name:?}: new settings refused, it keeps running with its previous ones: {e}"));
                entries.push(previous);
            }
            (Err(e), _) => {
                report.push(format!("site {name:?}: cannot be served (503 until it can): {e}"));
                let slot = Slot::down(&settings, e.to_string());
                entries.push(Entry { settings, slot });
            }
        }
    }
    for (name, entry) in &old.entries {
        if !entries.iter().any(|e| &e.settings.name == name) {
            report.push(format!("site {name:?}: removed"));
            if let Slot::Up(state) = &entry.slot {
                retired.push(state.clone());
            }
        }
    }
    sites.replace(Table::of(entries));
    // Requests still holding a retired site finish first: closing waits for their connections.
    for state in retired {
        let db = state.db.clone();
        tokio::spawn(async move { db.close().await });
    }
    for line in &report {
        log::info!("reload: {line}");
    }
    report
}

/// Every role a `[[groups.map]]` names must exist. Mapped and protected roles named by their
/// Drupal 7 name are rewritten to their rid, the id the store uses.
pub async fn resolve_group_roles(db: &Db, site: &Site, mapping: &mut Mapping) -> Result<(), StartupError> {
    let mut conn = db.conn().await?;
    let roles = list_roles(&mut *conn, site).await?;
    let mut problems = Vec::new();
    for m in &mut mapping.groups.maps {
        match roles::find(site, &roles, &m.role) {
            None => problems.push(format!("line {}: role {:?} does not exist in this Drupal site", m.line, m.role)),
            Some(r) if r.is_privileged() || roles::is_built_in(site, &r.id) => problems.push(format!(
                "line {}: role {:?} is protected: Drupal's administrator role, a role with a permission that leads to every account (administer users, administer permissions, …), or a built-in role, which SCIM may never grant",
                m.line, m.role
            )),
            Some(r) if mapping.groups.protected_roles.iter().any(|p| roles::find(site, &roles, p) == Some(r)) => {
                problems.push(format!("line {}: role {:?} is protected and cannot be mapped to a group", m.line, m.role))
            }
            Some(r) => m.role = r.id.clone(),
        }
    }
    let protected: Vec<String> = mapping
        .groups
        .protected_roles
        .iter()
        .filter_map(|p| roles::find(site, &roles, p))
        .map(|r| r.id.clone())
        .collect();
    mapping.groups.protected_roles.extend(protected);
    mapping.groups.protected_roles.sort();
    mapping.groups.protected_roles.dedup();
    if problems.is_empty() { Ok(()) } else { Err(SiteError::Mismatch(problems).into()) }
}

/// What SCIM may reach on this site, from the mapping (after [`resolve_group_roles`]).
pub fn reach(site: &Site, mapping: &Mapping) -> Reach {
    // The schema adds the roles it protects itself (Drupal 7's `user_admin_role`) and keeps
    // only ids its role column can compare (names were resolved to ids by resolve_group_roles).
    let mut protected_roles = site.schema.protected_roles(mapping.groups.protected_roles.clone());
    protected_roles.sort();
    protected_roles.dedup();
    Reach {
        protected_uids: mapping.users.protected_uids.clone(),
        protected_roles,
        unlinked_reachable: mapping.users.link_existing == LinkExisting::Link,
    }
}

fn num_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}
