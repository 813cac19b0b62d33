//! `POST /Bulk` (RFC 7644 §3.7).

use crate::http::app::AppState;
use crate::http::body::json_body;
use crate::http::error::scim_json;
use crate::provision::bulk::BulkLimits;
use crate::scim::error::ScimError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /Bulk`.
pub async fn bulk(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let body = json_body(&req, payload, state.body_limit).await?;
    let limits = BulkLimits { max_operations: state.capabilities.max_operations, max_payload_size: state.body_limit };
    let base = state.base_url(&req);
    let s = state.clone();
    let answer = state
        .within(true, async move { crate::provision::bulk::run(&s.users, &s.groups, &body, &base, limits).await })
        .await?;
    Ok(scim_json(StatusCode::OK, &answer))
}
