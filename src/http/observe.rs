//! Every request gets an id (`X-Request-Id`), a log line (method, path, status, latency, id —
//! never the query string or a header value) and its place in the metrics.

use crate::telemetry::{METRICS, REQUEST, RequestInfo};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use std::time::Instant;

/// Middleware: request id, access log line, metrics.
pub async fn observe<B: MessageBody>(req: ServiceRequest, next: Next<B>) -> Result<ServiceResponse<B>, Error> {
    // Keep a client's own id when it is sane; otherwise make one.
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(String::from)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().to_string();
    let path = req.path().to_string();
    let info = RequestInfo {
        id: id.clone(),
        peer: req.connection_info().realip_remote_addr().unwrap_or_default().to_string(),
        method: method.clone(),
        path: path.clone(),
        site: String::new(),
    };
    let start = Instant::now();
    let mut res = REQUEST.scope(info, next.call(req)).await?;
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let site = crate::http::sites::site_of(res.request());
    METRICS.observe(&site, &method, &route, status, elapsed);
    let at = if site.is_empty() { String::new() } else { format!(" site={site}") };
    log::info!("{method} {path} {status} {:.1}ms id={id}{at}", elapsed.as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// `GET /metrics` (Prometheus text format).
pub async fn metrics(sites: web::Data<crate::http::sites::Sites>) -> HttpResponse {
    let pools: Vec<_> = sites.serving().iter().map(|s| (s.site.clone(), s.db.pool_metrics())).collect();
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(METRICS.render(&pools))
}
