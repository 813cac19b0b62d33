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
use crate::http::{AppState, configure};
use crate::mapping::check::open_site;
use crate::mapping::model::{LinkExisting, Mapping, MappingError};
use crate::provision::{GroupService, UserService};
use crate::scim::cursor::CursorKey;
use crate::scim::discovery::{Capabilities, Exposed};
use crate::scim::list::PageLimits;
use crate::scim::schema::{GROUP_SCHEMA, USER_SCHEMA};
use crate::settings::{Settings, canonical_path, canonical_url};
use crate::token::Keyring;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

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
    db: Db,
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
    /// Connect to the database, validate the mapping against it, and bind the listener.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let mut mapping = Mapping::load(&settings.mapping)?;
        mapping.override_prefixes(settings.database.table_prefix.as_deref(), settings.database.table_prefixes.as_ref());
        let db = Db::new(
            settings.database.url.expose(),
            settings.database.pool_max,
            Duration::from_secs(settings.database.timeout_secs),
        )?
        .dry_run(settings.dry_run);
        if settings.dry_run {
            log::warn!("DRY RUN: every write is validated, logged and rolled back; nothing is written to Drupal");
        }
        let mut site = open_site(&db, &mut mapping).await?;
        // Before the first write (the bridge tables): a server drupal-scim's SQL was not checked
        // for, or that refuses its named locks, is refused here and not halfway through a request.
        let accepted = server::decide(&server::inspect(&db).await?, site.release)?;
        log::info!("{accepted}");
        site.ensure_bridge_tables(&db).await?;
        log::info!(
            "Drupal site: {}, schema {}, langcode {}, timezone {}, password hashes {:?}, table prefix {:?}{}",
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
        let cursors = CursorKey::new(settings.auth.secret.expose(), 3600);
        let audit = Audit::new(db.clone(), site.tables().clone(), site.has_watchdog && settings.audit.watchdog);
        let mut user_store = UserStore::new(db.clone(), site.clone());
        if settings.sync.as_ref().is_some_and(|s| s.provider_is_target) {
            // No echo: what the provider writes is recorded as in sync with the sync target.
            crate::sync::state::ensure(&db, site.tables()).await?;
            user_store = user_store.with_after_write(crate::sync::echo::hook(mapping.clone(), site.tables().clone()));
        }
        let users = UserService::new(mapping.clone(), user_store, group_store.clone(), cursors.clone(), audit.clone());
        let groups = GroupService::new(mapping.clone(), group_store, cursors, audit);
        let state = web::Data::new(AppState {
            users,
            groups,
            db: db.clone(),
            keyring: Keyring::new(&settings.auth),
            // Settings read from a file are canonical already; settings built in code may not be.
            base_path: canonical_path(&settings.server.base_path),
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
            request_timeout: Duration::from_secs(
                settings
                    .server
                    .request_timeout_secs
                    .unwrap_or((u64::from(crate::drupal::db::ATTEMPTS) + 1) * settings.database.timeout_secs),
            ),
        });
        let listener = TcpListener::bind(&settings.server.listen)
            .map_err(|e| StartupError::Bind(settings.server.listen.clone(), e))?;
        let port = listener.local_addr().map_err(|e| StartupError::Bind(settings.server.listen.clone(), e))?.port();
        let workers = if settings.server.workers == 0 { num_workers() } else { settings.server.workers };
        let server = HttpServer::new(move || {
            // Tenant URLs are pasted with a trailing slash (`…/scim/v2/`) and clients join them
            // with `/Users`: merge repeated slashes and trim a trailing one before routing, so
            // `/scim/v2//Users/` reaches `/Users` (and its auth). The query string is kept. It
            // runs inside `observe`, whose log line shows the path as the client sent it.
            App::new()
                .wrap(actix_web::middleware::NormalizePath::trim())
                .wrap(actix_web::middleware::from_fn(crate::http::observe::observe))
                .configure(configure(state.clone()))
        })
        .workers(workers)
        .shutdown_timeout(30);
        let server = match (&settings.server.tls_cert, &settings.server.tls_key) {
            (Some(cert), Some(key)) => {
                let config = crate::tls::server_config(cert, key)?;
                log::info!("serving HTTPS (TLS 1.2/1.3) with {}", cert.display());
                server.listen_rustls_0_23(listener, config)
            }
            _ => server.listen(listener),
        }
        .map_err(|e| StartupError::Bind(settings.server.listen.clone(), e))?
        .run();
        Ok(Application { port, server, db })
    }

    /// The port actually bound (useful with `:0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serve until stopped (SIGTERM/SIGINT stop gracefully: in-flight requests finish).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.db.close().await;
        result
    }
}

/// Every role a `[[groups.map]]` names must exist. Mapped and protected roles named by their
/// Drupal 7 name are rewritten to their rid, the id the store uses.
pub async fn resolve_group_roles(db: &Db, site: &Site, mapping: &mut Mapping) -> Result<(), StartupError> {
    let mut conn = db.conn().await?;
    let roles = list_roles(&mut conn, site).await?;
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
