//! `POST /.search` (RFC 7644 §3.4.3) on /Users, /Groups and the root, and `/Me`.

use crate::http::app::AppState;
use crate::http::body::json_body;
use crate::http::error::{scim_json, scim_text};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::list::{ListQuery, list_response};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

async fn query(state: &AppState, req: &HttpRequest, payload: web::Payload) -> Result<ListQuery, ScimError> {
    let body = json_body(req, payload, state.body_limit).await?;
    ListQuery::from_search(&body, state.page_limits)
}

/// `POST /Users/.search`.
pub async fn users(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let q = query(&state, &req, payload).await?;
    let (s, base) = (state.clone(), state.base_url(&req));
    Ok(scim_text(StatusCode::OK, state.within(false, async move { s.users.list(&q, &base).await }).await?))
}

/// `POST /Groups/.search`.
pub async fn groups(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let q = query(&state, &req, payload).await?;
    let (s, base) = (state.clone(), state.base_url(&req));
    Ok(scim_json(StatusCode::OK, &state.within(false, async move { s.groups.list(&q, &base).await }).await?))
}

/// `POST /.search`: users first, then groups, paged over the whole. A filter that names
/// attributes only one resource type has searches that type only.
pub async fn root(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let q = query(&state, &req, payload).await?;
    let base = state.base_url(&req);
    let s = state.clone();
    state.within(false, async move { root_search(&s, q, base).await }).await
}

async fn root_search(state: &AppState, q: ListQuery, base: String) -> Result<HttpResponse, ScimError> {
    let mut all_q = q.clone();
    all_q.start_index = 1;
    // Count both sides first (count 0 reads no resources), then fetch the window needed.
    all_q.count = 0;
    let users_total = total_or_skip(state.users.list_values(&all_q, &base).await.map(|(total, _)| total))?;
    let groups_total = total_or_skip(state.groups.list(&all_q, &base).await.map(|list| total_of(&list)))?;
    if users_total.is_none() && groups_total.is_none() {
        return Err(ScimError::invalid_filter("the filter matches attributes of neither Users nor Groups"));
    }
    let (users_total, groups_total) = (users_total.unwrap_or(0), groups_total.unwrap_or(0));
    let mut resources = Vec::new();
    let offset = q.offset();
    if offset < users_total && q.count > 0 {
        let mut uq = q.clone();
        uq.count = q.count.min(users_total - offset);
        resources.extend(state.users.list_values(&uq, &base).await?.1);
    }
    let left = q.count.saturating_sub(resources.len() as u64);
    if left > 0 && groups_total > 0 {
        let mut gq = q.clone();
        gq.start_index = offset.saturating_sub(users_total) + 1;
        gq.count = left;
        resources.extend(page_of(state.groups.list(&gq, &base).await?));
    }
    Ok(scim_json(StatusCode::OK, &list_response(users_total + groups_total, q.start_index, resources)))
}

fn total_of(list: &Value) -> u64 {
    list["totalResults"].as_u64().unwrap_or(0)
}

fn total_or_skip(result: Result<u64, ScimError>) -> Result<Option<u64>, ScimError> {
    match result {
        Ok(total) => Ok(Some(total)),
        Err(e) if e.scim_type == Some(ScimType::InvalidFilter) => Ok(None),
        Err(e) => Err(e),
    }
}

fn page_of(list: Value) -> Vec<Value> {
    match list {
        Value::Object(mut obj) => match obj.remove("Resources") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `/Me`: a provisioning token stands for no user.
pub async fn me() -> Result<HttpResponse, ScimError> {
    Err(ScimError::new(501, None, "/Me is not implemented: a provisioning token does not stand for a user"))
}
