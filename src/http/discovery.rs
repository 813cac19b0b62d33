//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (and their `/{id}` forms).

use crate::http::app::AppState;
use crate::http::error::scim_json;
use crate::scim::discovery::{resource_types, schemas, service_provider_config};
use crate::scim::error::ScimError;
use crate::scim::list::list_response;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /ServiceProviderConfig`.
pub async fn service_provider(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let base = state.base_url(&req);
    scim_json(StatusCode::OK, &service_provider_config(&state.capabilities, &format!("{base}/ServiceProviderConfig")))
}

/// `GET /ResourceTypes`.
pub async fn list_resource_types(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let all = resource_types(&state.base_url(&req), state.enterprise());
    scim_json(StatusCode::OK, &list_response(all.len() as u64, 1, all))
}

/// `GET /ResourceTypes/{id}`.
pub async fn get_resource_type(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    resource_types(&state.base_url(&req), state.enterprise())
        .into_iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(|r| scim_json(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::not_found(format!("ResourceType {:?} not found", id.as_str())))
}

/// `GET /Schemas`.
pub async fn list_schemas(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let all = schemas(&state.base_url(&req), &state.exposed);
    scim_json(StatusCode::OK, &list_response(all.len() as u64, 1, all))
}

/// `GET /Schemas/{id}`.
pub async fn get_schema(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    schemas(&state.base_url(&req), &state.exposed)
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(|s| scim_json(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found(format!("Schema {:?} not found", id.as_str())))
}
