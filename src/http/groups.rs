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

/// Group writes of one site that may read and work on their body at once. They are serialised
/// by the site's group lock in the database anyway; without this, every queued request held its
/// parsed body (a 1,000-member PATCH is about 1.7 MB of JSON values) while it waited for the
/// lock: 32 at once took the server from 12 to 68 MiB resident. Per site (in its state), so one
/// site's queue of group writes never delays another site's.
pub const GROUP_WRITERS: usize = 2;

/// A turn to write groups, or 503 after the database timeout (as the group lock answers).
async fn group_write_turn(state: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, ScimError> {
    match tokio::time::timeout(state.db.timeout(), state.group_writes.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => {
            Err(crate::drupal::error::StoreError::Unavailable("timed out waiting for a concurrent group change".into())
                .into())
        }
    }
}

fn projection(state: &AppState, query: &Query) -> Result<(Projection, bool), ScimError> {
    let q = ListQuery::parse(query, state.page_limits)?;
    let asked = !q.attributes.is_empty() || !q.excluded_attributes.is_empty();
    Ok((Projection::new(&q.attributes, &q.excluded_attributes), asked))
}

/// `GET /Groups`.
pub async fn list(state: web::Data<AppState>, req: HttpRequest, query: Query) -> Result<HttpResponse, ScimError> {
    let q = ListQuery::parse(&query, state.page_limits)?;
    let (s, base) = (state.clone(), state.base_url(&req));
    let body = state.within(false, async move { s.groups.list(&q, &base).await }).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

/// `GET /Groups/{id}`.
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: Query,
) -> Result<HttpResponse, ScimError> {
    let (projection, _) = projection(&state, &query)?;
    let (s, base) = (state.clone(), state.base_url(&req));
    let body = state.within(false, async move { s.groups.get(&id, &base, &projection).await }).await?;
    Ok(fresh_or_located(&req, &body))
}

/// `POST /Groups`.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let (projection, _) = projection(&state, &query)?;
    let _turn = group_write_turn(&state).await?;
    let body = json_body(&req, payload, state.body_limit).await?;
    let (s, base) = (state.clone(), state.base_url(&req));
    let group = state.within(false, async move { s.groups.create(&body, &base, &projection).await }).await?;
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
    let _turn = group_write_turn(&state).await?;
    let body = json_body(&req, payload, state.body_limit).await?;
    let (s, base, condition) = (state.clone(), state.base_url(&req), if_match(&req));
    let group = state
        .within(false, async move { s.groups.replace(&id, &body, &base, &projection, condition.as_deref()).await })
        .await?;
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
    let _turn = group_write_turn(&state).await?;
    let body = json_body(&req, payload, state.body_limit).await?;
    let (s, base, condition) = (state.clone(), state.base_url(&req), if_match(&req));
    let work =
        async move { s.groups.patch(&id, body, &base, asked.then_some(&projection), condition.as_deref()).await };
    match state.within(false, work).await? {
        Patched::NoContent => Ok(HttpResponse::NoContent().finish()),
        Patched::Resource(group) => Ok(located(StatusCode::OK, &group)),
    }
}

/// `DELETE /Groups/{id}`.
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let (s, condition) = (state.clone(), if_match(&req));
    state.within(false, async move { s.groups.delete(&id, condition.as_deref()).await }).await?;
    Ok(HttpResponse::NoContent().finish())
}
