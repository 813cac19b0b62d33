//! The sites one process serves, and which one a request is for.
//!
//! A single-site server has one site with an empty name: every request is its. With `[[sites]]`,
//! `/scim/v2/<site>/…` is site `<site>`'s `/scim/v2/…` (the path is rewritten before routing,
//! so every route and handler is the single-site one, given that site's state), and a site with
//! a `host` also answers `/scim/v2/…` on that Host. The table of sites is swapped whole on a
//! reload: a request keeps the site it started with until it ends.

use crate::http::app::AppState;
use crate::scim::error::ScimError;
use crate::settings::{ServerSettings, SiteSettings};
use crate::token::Keyring;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse, Url};
use actix_web::http::Uri;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, ResponseError, web};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::{Arc, RwLock};
use tokio::sync::Semaphore;

/// Every site of the process.
pub struct Sites {
    base: String,
    multisite: bool,
    shared_limit: Option<Arc<Semaphore>>,
    /// The shared `[server]` settings the process started with (a reload cannot change them).
    server: ServerSettings,
    table: RwLock<Arc<Table>>,
    /// One reload at a time.
    pub(crate) reloading: tokio::sync::Mutex<()>,
}

/// The sites at one moment.
#[derive(Clone, Default)]
pub struct Table {
    pub entries: BTreeMap<String, Entry>,
    hosts: HashMap<String, String>,
}

/// One site: the settings it was built from and its state.
#[derive(Clone)]
pub struct Entry {
    pub settings: SiteSettings,
    pub slot: Slot,
}

/// A site serving, or one that could not be opened (its requests get 503 after their token
/// is checked, and it is tried again).
#[derive(Clone)]
pub enum Slot {
    Up(web::Data<AppState>),
    Down(Arc<Down>),
}

impl Slot {
    /// A site that could not be opened, for `reason`: its own tokens get a 503.
    pub fn down(settings: &SiteSettings, reason: String) -> Slot {
        Slot::Down(Arc::new(Down { keyring: Keyring::for_site(&settings.settings.auth, &settings.name), reason }))
    }
}

/// A site that could not be opened: its keyring (its tokens get a 503, others a 401) and why.
pub struct Down {
    pub keyring: Keyring,
    pub reason: String,
}

/// How a request found its site: the site name and whether the path named it (the other ways:
/// the Host header, or a single-site server).
#[derive(Clone, Debug)]
pub struct Picked {
    pub name: String,
    pub by_path: bool,
}

impl Table {
    /// A table of these entries.
    pub fn of(entries: impl IntoIterator<Item = Entry>) -> Table {
        let entries: BTreeMap<String, Entry> = entries.into_iter().map(|e| (e.settings.name.clone(), e)).collect();
        let hosts = entries
            .values()
            .filter_map(|e| e.settings.host.as_ref().map(|h| (h.clone(), e.settings.name.clone())))
            .collect();
        Table { entries, hosts }
    }
}

impl Sites {
    /// No sites yet (see [`Sites::replace`]).
    pub fn new(base: String, multisite: bool, shared_limit: Option<Arc<Semaphore>>, server: ServerSettings) -> Sites {
        Sites {
            base,
            multisite,
            shared_limit,
            server,
            table: RwLock::new(Arc::new(Table::default())),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The SCIM base path every site shares (`/scim/v2`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Whether sites are named in the path.
    pub fn multisite(&self) -> bool {
        self.multisite
    }

    /// The limit on database connections every site's pool shares.
    pub fn shared_limit(&self) -> Option<Arc<Semaphore>> {
        self.shared_limit.clone()
    }

    /// The `[server]` settings the process runs with.
    pub fn server(&self) -> &ServerSettings {
        &self.server
    }

    /// The current table.
    pub fn table(&self) -> Arc<Table> {
        match self.table.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Swap in a new table; requests in flight keep the state they hold.
    pub fn replace(&self, table: Table) {
        let table = Arc::new(table);
        match self.table.write() {
            Ok(mut t) => *t = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
    }

    /// Put the sites opened at start-up in place.
    pub fn install(&self, opened: Vec<(SiteSettings, Result<web::Data<AppState>, String>)>) {
        self.replace(Table::of(opened.into_iter().map(|(settings, state)| {
            let slot = match state {
                Ok(state) => Slot::Up(state),
                Err(reason) => Slot::down(&settings, reason),
            };
            Entry { settings, slot }
        })));
    }

    /// Site names, in order.
    pub fn names(&self) -> Vec<String> {
        self.table().entries.keys().cloned().collect()
    }

    /// The state of every site that is serving.
    pub fn serving(&self) -> Vec<web::Data<AppState>> {
        self.table()
            .entries
            .values()
            .filter_map(|e| match &e.slot {
                Slot::Up(state) => Some(state.clone()),
                Slot::Down(_) => None,
            })
            .collect()
    }

    /// Close every site's connections (graceful shutdown).
    pub async fn close(&self) {
        for state in self.serving() {
            state.db.clone().close().await;
        }
    }

    /// Which site a request path (after normalisation) and Host are for.
    fn pick(&self, table: &Table, path: &str, host: &str) -> Pick {
        if !self.multisite {
            return match table.entries.values().next() {
                Some(entry) => Pick::site(entry, false, None),
                None => Pick::Pass,
            };
        }
        let Some(rest) = path.strip_prefix(self.base.as_str()).filter(|r| r.is_empty() || r.starts_with('/')) else {
            return Pick::Pass;
        };
        let segment = rest.trim_start_matches('/').split('/').next().unwrap_or_default();
        if let Some(entry) = table.entries.get(segment) {
            let after = &rest[1 + segment.len()..];
            return Pick::site(entry, true, Some(format!("{}{after}", self.base)));
        }
        let host =
            host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
        match table.hosts.get(&host.to_ascii_lowercase()).and_then(|name| table.entries.get(name)) {
            Some(entry) => Pick::site(entry, false, None),
            None => Pick::Unknown(segment.to_string()),
        }
    }
}

enum Pick {
    /// Not a SCIM path of any site (`/healthz`, `/metrics`, elsewhere).
    Pass,
    /// The site's name and state (cheap to clone: the state is shared), not its whole entry:
    /// this runs for every request.
    Site { name: String, slot: Slot, by_path: bool, rewrite: Option<String> },
    /// Below the base path, but no site has that name or this Host.
    Unknown(String),
}

impl Pick {
    fn site(entry: &Entry, by_path: bool, rewrite: Option<String>) -> Pick {
        Pick::Site { name: entry.settings.name.clone(), slot: entry.slot.clone(), by_path, rewrite }
    }
}

/// Middleware: find the request's site and give its handlers that site's state.
pub async fn route<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let Some(sites) = req.app_data::<web::Data<Sites>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    };
    let host = req.connection_info().host().to_string();
    let picked = sites.pick(&sites.table(), req.path(), &host);
    let (name, slot, by_path, rewrite) = match picked {
        Pick::Pass => return next.call(req).await.map(ServiceResponse::map_into_left_body),
        Pick::Unknown(segment) => {
            let err = ScimError::not_found(format!(
                "no site {segment:?} is served here; each site's SCIM base is {}/<site>",
                sites.base()
            ));
            return Ok(req.into_response(err.error_response()).map_into_right_body());
        }
        Pick::Site { name, slot, by_path, rewrite } => (name, slot, by_path, rewrite),
    };
    if let Some(path) = rewrite {
        rewrite_path(&mut req, &path);
    }
    match slot {
        Slot::Up(state) => {
            req.extensions_mut().insert(Picked { name, by_path });
            let mut data = actix_web::dev::Extensions::new();
            data.insert(state);
            req.add_data_container(Rc::new(data));
            next.call(req).await.map(ServiceResponse::map_into_left_body)
        }
        Slot::Down(down) => {
            let err = if crate::http::auth::bearer(&req).is_some_and(|t| down.keyring.verify(t).is_ok()) {
                log::warn!("site {name:?} is not available: {}", down.reason);
                ScimError::new(503, None, "this site's Drupal database cannot be reached right now; try again later")
            } else {
                crate::http::auth::refusal()
            };
            req.extensions_mut().insert(Picked { name, by_path });
            Ok(req.into_response(err.error_response()).map_into_right_body())
        }
    }
}

/// Serve the request as if it had come for `path` (query string kept).
fn rewrite_path(req: &mut ServiceRequest, path: &str) {
    let path = if path.is_empty() { "/" } else { path };
    let mut parts = req.head().uri.clone().into_parts();
    let with_query = match parts.path_and_query.as_ref().and_then(|pq| pq.query()) {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let Ok(pq) = with_query.parse() else { return };
    parts.path_and_query = Some(pq);
    if let Ok(uri) = Uri::from_parts(parts) {
        req.match_info_mut().set(Url::new(uri.clone()));
        req.head_mut().uri = uri;
    }
}

/// The site a request was served for (empty: a single-site server, or no site).
pub fn site_of(req: &HttpRequest) -> String {
    req.extensions().get::<Picked>().map(|p| p.name.clone()).unwrap_or_default()
}

/// Whether the request named its site in the path (its resources' URLs do too).
pub fn named_by_path(req: &HttpRequest) -> bool {
    req.extensions().get::<Picked>().is_some_and(|p| p.by_path)
}
