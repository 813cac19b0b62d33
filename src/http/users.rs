//! `/Users` routes.

use crate::http::app::AppState;
use crate::http::body::json_body;
use crate::http::error::{scim_json, scim_text};
use crate::provision::users::Deleted;
use crate::scim::error::ScimError;
use crate::scim::list::ListQuery;
use crate::scim::projection::Projection;
use crate::scim::version;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

type Query = web::Query<Vec<(String, String)>>;

/// `GET /Users`.
pub async fn list(state: web::Data<AppState>, req: HttpRequest, query: Query) -> Result<HttpResponse, ScimError> {
    let q = ListQuery::parse(&query, state.page_limits)?;
    let (s, base) = (state.clone(), state.base_url(&req));
    let body = state.within(false, async move { s.users.list(&q, &base).await }).await?;
    Ok(scim_text(StatusCode::OK, body))
}

/// `GET /Users/{id}`.
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: Query,
) -> Result<HttpResponse, ScimError> {
    let q = ListQuery::parse(&query, state.page_limits)?;
    let projection = Projection::new(&q.attributes, &q.excluded_attributes);
    let (s, base) = (state.clone(), state.base_url(&req));
    let body = state.within(false, async move { s.users.get(&id, &base, &projection).await }).await?;
    Ok(fresh_or_located(&req, &body))
}

/// `POST /Users`.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let body = json_body(&req, payload, state.body_limit).await?;
    let (s, base) = (state.clone(), state.base_url(&req));
    let created = state.within(false, async move { s.users.create(&body, &base).await }).await?;
    Ok(located(StatusCode::CREATED, &created.resource))
}

/// `PUT /Users/{id}`.
pub async fn replace(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let body = json_body(&req, payload, state.body_limit).await?;
    let (s, base, condition) = (state.clone(), state.base_url(&req), if_match(&req));
    let resource =
        state.within(false, async move { s.users.replace(&id, &body, &base, condition.as_deref()).await }).await?;
    Ok(located(StatusCode::OK, &resource))
}

/// `PATCH /Users/{id}`.
pub async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let body = json_body(&req, payload, state.body_limit).await?;
    let (s, base, condition) = (state.clone(), state.base_url(&req), if_match(&req));
    let resource =
        state.within(false, async move { s.users.patch(&id, body, &base, condition.as_deref()).await }).await?;
    Ok(located(StatusCode::OK, &resource))
}

/// `DELETE /Users/{id}`.
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let (s, condition) = (state.clone(), if_match(&req));
    let outcome = state.within(false, async move { s.users.delete(&id, condition.as_deref()).await }).await?;
    let mut response = HttpResponse::NoContent();
    if let Deleted::BlockedOwnsContent(what) = outcome {
        // 204 has no body: the fallback is told in a warning header (and the log).
        response.insert_header((
            "Warning",
            format!("299 drupal-scim \"the account owns {what}: it was blocked, not deleted\""),
        ));
    }
    Ok(response.finish())
}

/// A single-resource answer with its `Location` and `ETag` headers.
pub fn located(status: StatusCode, resource: &serde_json::Value) -> HttpResponse {
    let mut response = scim_json(status, resource);
    let headers =
        [(header::LOCATION, resource.pointer("/meta/location")), (header::ETAG, resource.pointer("/meta/version"))];
    for (name, value) in headers {
        if let Some(value) = value.and_then(|v| v.as_str()).and_then(|v| header::HeaderValue::from_str(v).ok()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A GET answer: 304 when `If-None-Match` names the current version.
pub fn fresh_or_located(req: &HttpRequest, resource: &serde_json::Value) -> HttpResponse {
    let inm = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if let (Some(inm), Some(current)) = (inm, version::of(resource))
        && version::listed(inm, current)
    {
        let mut response = HttpResponse::NotModified().finish();
        if let Ok(v) = header::HeaderValue::from_str(current) {
            response.headers_mut().insert(header::ETAG, v);
        }
        return response;
    }
    located(StatusCode::OK, resource)
}

/// The `If-Match` header, if any.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(String::from)
}
