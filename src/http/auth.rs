//! Bearer authentication for every SCIM route. Every refusal looks the same to the client.

use crate::http::app::AppState;
use crate::scim::error::ScimError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};

/// Middleware: let the request through only with a valid `Authorization: Bearer <token>`.
pub async fn require_bearer<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let ok = match (req.app_data::<web::Data<AppState>>(), bearer(&req)) {
        (Some(state), Some(token)) => match state.keyring.verify(token) {
            Ok(_) => true,
            Err(e) => {
                log::info!("rejected a bearer token: {e}");
                false
            }
        },
        _ => false,
    };
    if ok {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    Ok(req.into_response(refusal().error_response()).map_into_right_body())
}

/// The one answer to a missing, invalid, revoked or foreign token.
pub fn refusal() -> ScimError {
    ScimError::new(401, None, "authentication required: send Authorization: Bearer <token>")
}

/// The bearer token a request carries.
pub fn bearer(req: &ServiceRequest) -> Option<&str> {
    let header = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}
