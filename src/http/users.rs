//! `/Users` routes.

use crate::http::app::AppState;
use crate::http::body::json_body;
use crate::http::error::scim_json;
use crate::scim::error::ScimError;
use crate::scim::list::ListQuery;
use crate::scim::projection::Projection;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

type Query = web::Query<Vec<(String, String)>>;

/// `GET /Users`.
pub async fn list(state: web::Data<AppState>, req: HttpRequest, query: Query) -> Result<HttpResponse, ScimError> {
    let q = ListQuery::parse(&query, state.page_limits)?;
    let body = state.users.list(&q, &state.base_url(&req)).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

/// `GET /Users/{id}`.
pub async fn get(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>, query: Query) -> Result<HttpResponse, ScimError> {
    let q = ListQuery::parse(&query, state.page_limits)?;
    let projection = Projection::new(&q.attributes, &q.excluded_attributes);
    let body = state.users.get(&id, &state.base_url(&req), &projection).await?;
    Ok(located(StatusCode::OK, &body))
}

/// `POST /Users`.
pub async fn create(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = json_body(&req, payload, state.body_limit).await?;
    let created = state.users.create(&body, &state.base_url(&req)).await?;
    Ok(located(StatusCode::CREATED, &created.resource))
}

/// `PUT /Users/{id}`.
pub async fn replace(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = json_body(&req, payload, state.body_limit).await?;
    let resource = state.users.replace(&id, &body, &state.base_url(&req)).await?;
    Ok(located(StatusCode::OK, &resource))
}

/// `PATCH /Users/{id}`.
pub async fn patch(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = json_body(&req, payload, state.body_limit).await?;
    let resource = state.users.patch(&id, &body, &state.base_url(&req)).await?;
    Ok(located(StatusCode::OK, &resource))
}

/// `DELETE /Users/{id}`.
pub async fn delete(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
    state.users.delete(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A single-resource answer with its `Location` header.
pub fn located(status: StatusCode, resource: &serde_json::Value) -> HttpResponse {
    let mut response = scim_json(status, resource);
    if let Some(loc) = resource.pointer("/meta/location").and_then(|l| l.as_str()) {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(loc) {
            response.headers_mut().insert(actix_web::http::header::LOCATION, value);
        }
    }
    response
}

/// Any unmatched route under the SCIM base path.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::not_found(format!("no SCIM endpoint at {} {}", req.method(), req.path())))
}
