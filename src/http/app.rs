//! The application: shared state and the route table.

use crate::drupal::db::Db;
use crate::http::{auth, bulk, discovery, groups, health, oauth, observe, search, users};
use crate::provision::{GroupService, UserService};
use crate::scim::discovery::{Capabilities, Exposed};
use crate::scim::error::ScimError;
use crate::scim::list::PageLimits;
use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
use crate::token::Keyring;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::web::{delete, get, patch, post, put};
use actix_web::{HttpRequest, HttpResponse, Resource, ResponseError, web};

/// Everything a handler needs, shared by all workers.
pub struct AppState {
    /// The site's name (empty on a single-site server).
    pub site: String,
    pub users: UserService,
    pub groups: GroupService,
    pub db: Db,
    pub keyring: Keyring,
    /// Where the site's SCIM API lives: `/scim/v2/<site>` with several sites.
    pub base_path: String,
    /// Where it lives when reached by its own Host (`/scim/v2`): the same as `base_path` on a
    /// single-site server.
    pub host_base_path: String,
    /// `https://host` when configured; otherwise taken from each request.
    pub public_url: String,
    pub body_limit: usize,
    pub page_limits: PageLimits,
    pub capabilities: Capabilities,
    pub exposed: Vec<Exposed>,
    /// Turns to write groups (see `groups::GROUP_WRITERS`).
    pub group_writes: tokio::sync::Semaphore,
    /// OAuth clients allowed the client credentials grant at `<base>/oauth/token`.
    pub oauth_clients: Vec<crate::settings::OAuthClient>,
    /// How long one request may take (see `server.request_timeout_secs`).
    pub request_timeout: std::time::Duration,
}

impl AppState {
    /// Run a request's work within `server.request_timeout_secs`: a database that keeps its
    /// sockets open but answers nothing must not hold a request forever (503 instead). /Bulk,
    /// which runs many operations in one request, gets at least two minutes.
    ///
    /// The work runs as a task of its own: a client that hangs up does not stop it, and once it
    /// has sent a COMMIT the deadline is extended (by the deadline again, at least a minute) —
    /// what follows a commit (cache invalidation, the audit entry) runs to the end, and the
    /// client gets the real answer, late. Before a commit the deadline stops the work: nothing
    /// was written. (Cache invalidation runs in a task of its own as well, which even the
    /// extended deadline does not stop: see `drupal::after_commit`.)
    pub async fn within<T: 'static>(
        &self,
        bulk: bool,
        work: impl std::future::Future<Output = Result<T, ScimError>> + 'static,
    ) -> Result<T, ScimError> {
        use crate::telemetry::{COMMITTING, REQUEST};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let limit =
            if bulk { self.request_timeout.max(std::time::Duration::from_secs(120)) } else { self.request_timeout };
        let committing = Arc::new(AtomicBool::new(false));
        let work = COMMITTING.scope(committing.clone(), work);
        let mut request = crate::telemetry::request().unwrap_or_default();
        request.site.clone_from(&self.site);
        let mut task = actix_web::rt::spawn(REQUEST.scope(request, work));
        let joined = match tokio::time::timeout(limit, &mut task).await {
            Ok(joined) => joined,
            Err(_) if committing.load(Ordering::SeqCst) => {
                let grace = limit.max(std::time::Duration::from_secs(60));
                log::warn!(
                    "request {} passed its deadline ({limit:?}) after committing: finishing its work (up to {grace:?} more)",
                    crate::telemetry::request_id()
                );
                match tokio::time::timeout(grace, &mut task).await {
                    Ok(joined) => joined,
                    Err(_) => {
                        task.abort();
                        log::error!(
                            "request {}: the database stopped answering after a commit; the write stands",
                            crate::telemetry::request_id()
                        );
                        return Err(ScimError::new(
                            503,
                            None,
                            "the Drupal database stopped answering after the change was saved; read the resource again before retrying",
                        ));
                    }
                }
            }
            Err(_) => {
                task.abort();
                log::warn!("no answer from the database within {limit:?}; request {}", crate::telemetry::request_id());
                return Err(ScimError::new(
                    503,
                    None,
                    "the Drupal database does not answer right now; try again later",
                ));
            }
        };
        joined.unwrap_or_else(|e| {
            log::error!("request {} stopped: {e}", crate::telemetry::request_id());
            Err(ScimError::new(500, None, "internal error (see the server log)"))
        })
    }

    /// The absolute URL of the SCIM base path, for `meta.location`.
    /// The site's resources are located the way the request reached them: below
    /// `/scim/v2/<site>`, or below `/scim/v2` on the site's own Host.
    pub fn base_url(&self, req: &HttpRequest) -> String {
        let path = if crate::http::sites::named_by_path(req) || self.site.is_empty() {
            &self.base_path
        } else {
            &self.host_base_path
        };
        if !self.public_url.is_empty() {
            return format!("{}{path}", self.public_url.trim_end_matches('/'));
        }
        let info = req.connection_info();
        format!("{}://{}{path}", info.scheme(), info.host())
    }

    /// Whether any enterprise-extension attribute is mapped.
    pub fn enterprise(&self) -> bool {
        self.exposed.iter().any(|e| e.schema == ENTERPRISE_USER_SCHEMA)
    }
}

/// Register every route on an actix `App`.
/// The site's state reaches the handlers from `sites::route`.
pub fn configure(base: String) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.route("/healthz", web::get().to(health::healthz))
            .route("/healthz/{site}", web::get().to(health::site))
            .route("/metrics", web::get().to(observe::metrics))
            // Before the SCIM scope, whose every route wants a bearer token: this one issues them.
            .service(
                web::resource(format!("{base}/oauth/token"))
                    .route(post().to(oauth::token))
                    .default_service(web::to(|req: HttpRequest| method_not_allowed(req, "POST"))),
            )
            .service(
                web::scope(&base)
                    .wrap(from_fn(auth::require_bearer))
                    .service(only("/ServiceProviderConfig", "GET").route(get().to(discovery::service_provider)))
                    .service(only("/ResourceTypes", "GET").route(get().to(discovery::list_resource_types)))
                    .service(only("/ResourceTypes/{id}", "GET").route(get().to(discovery::get_resource_type)))
                    .service(only("/Schemas", "GET").route(get().to(discovery::list_schemas)))
                    .service(only("/Schemas/{id}", "GET").route(get().to(discovery::get_schema)))
                    .service(only("/.search", "POST").route(post().to(search::root)))
                    .service(only("/Users/.search", "POST").route(post().to(search::users)))
                    .service(only("/Groups/.search", "POST").route(post().to(search::groups)))
                    .route("/Me", web::to(search::me))
                    .service(only("/Bulk", "POST").route(post().to(bulk::bulk)))
                    .service(only("/Users", "GET, POST").route(get().to(users::list)).route(post().to(users::create)))
                    .service(
                        only("/Users/{id}", "GET, PUT, PATCH, DELETE")
                            .route(get().to(users::get))
                            .route(put().to(users::replace))
                            .route(patch().to(users::patch))
                            .route(delete().to(users::delete)),
                    )
                    .service(
                        only("/Groups", "GET, POST").route(get().to(groups::list)).route(post().to(groups::create)),
                    )
                    .service(
                        only("/Groups/{id}", "GET, PUT, PATCH, DELETE")
                            .route(get().to(groups::get))
                            .route(put().to(groups::replace))
                            .route(patch().to(groups::patch))
                            .route(delete().to(groups::delete)),
                    )
                    .default_service(web::to(no_endpoint)),
            )
            // Outside the base too (`/scim/v3/Users`, a base path pasted twice): SCIM clients show
            // the detail, which says where the SCIM base is.
            .default_service(web::to(no_endpoint));
    }
}

/// Any request no route matches (after `NormalizePath`): a SCIM 404 that names the base path, so
/// that a client pointed at the wrong Tenant URL shows why.
async fn no_endpoint(req: HttpRequest, sites: web::Data<crate::http::sites::Sites>) -> Result<HttpResponse, ScimError> {
    let base = match req.app_data::<web::Data<AppState>>() {
        Some(state) if crate::http::sites::named_by_path(&req) || state.site.is_empty() => state.base_path.clone(),
        Some(state) => state.host_base_path.clone(),
        None if sites.multisite() => format!("{}/<site>", sites.base()),
        None => sites.base().to_string(),
    };
    Err(ScimError::not_found(format!(
        "no SCIM endpoint at {} {}; the SCIM base here is {base}",
        req.method(),
        req.path()
    )))
}

/// A SCIM endpoint that serves the methods in `allow` (its routes are added by the caller) and
/// answers any other method with 405 and an `Allow` header (RFC 7644 §3.12, RFC 9110 §15.5.6)
/// instead of the 404 of an unknown path: SCIM test tools probe for exactly this.
fn only(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| method_not_allowed(req, allow)))
}

async fn method_not_allowed(req: HttpRequest, allow: &'static str) -> HttpResponse {
    let err = ScimError::new(405, None, format!("{} is not allowed on {}; allowed: {allow}", req.method(), req.path()));
    let mut response = err.error_response();
    response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}
