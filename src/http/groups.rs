//! `/Groups` routes.

use crate::http::app::AppState;
use crate::http::body::json_body;
use crate::http::error::scim_json;
use crate::http::users::{fresh_or_located, if_match, located};
use crate::provision::groups::Patched;
use crate::scim::error::ScimError;
use crate::scim::list::ListQuery;
use crate::scim::projection::Projection;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

type Query = web::Query<Vec<(String, String)>>;

fn projection(state: &AppState, query: &Query) -> Result<(Projection, bool), ScimError> {
    let q = ListQuery::parse(query, state.page_limits)?;
    let asked = !q.attributes.is_empty() || !q.excluded_attributes.is_empty();
    Ok((Projection::new(&q.attributes, &q.excluded_attributes), asked))
}

/// `GET /Groups`.
pub async fn list(state: web::Data<AppState>, req: HttpRequest, query: Query) -> Result<HttpResponse, ScimError> {
    let q = ListQuery::parse(&query, state.page_limits)?;
    let body = state.groups.list(&q, &state.base_url(&req)).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

/// `GET /Groups/{id}`.
pub async fn get(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>, query: Query) -> Result<HttpResponse, ScimError> {
    let (projection, _) = projection(&state, &query)?;
    let body = state.groups.get(&id, &state.base_url(&req), &projection).await?;
    Ok(fresh_or_located(&req, &body))
}

/// `POST /Groups`.
pub async fn create(state: web::Data<AppState>, req: HttpRequest, query: Query, payload: web::Payload) -> Result<HttpResponse, ScimError> {
    let (projection, _) = projection(&state, &query)?;
    let body = json_body(&req, payload, state.body_limit).await?;
    let group = state.groups.create(&body, &state.base_url(&req), &projection).await?;
    Ok(located(StatusCode::CREATED, &group))
}

/// `PUT /Groups/{id}`.
pub async fn replace(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: Query,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let (projection, _) = projection(&state, &query)?;
    let body = json_body(&req, payload, state.body_limit).await?;
    let group = state.groups.replace(&id, &body, &state.base_url(&req), &projection, if_match(&req)).await?;
    Ok(located(StatusCode::OK, &group))
}

/// `PATCH /Groups/{id}`: 204 (Entra expects no member list back) unless attributes are asked for.
pub async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: Query,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let (projection, asked) = projection(&state, &query)?;
    let body = json_body(&req, payload, state.body_limit).await?;
    match state.groups.patch(&id, &body, &state.base_url(&req), asked.then_some(&projection), if_match(&req)).await? {
        Patched::NoContent => Ok(HttpResponse::NoContent().finish()),
        Patched::Resource(group) => Ok(located(StatusCode::OK, &group)),
    }
}

/// `DELETE /Groups/{id}`.
pub async fn delete(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
    state.groups.delete(&id, if_match(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}
