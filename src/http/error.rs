//! SCIM errors as HTTP responses (RFC 7644 §3.12): `status` as a string, `scimType`, `detail`.

use crate::scim::error::ScimError;
use crate::scim::error_body;
use actix_web::body::MessageBody;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// The SCIM media type of every answer.
pub const SCIM_JSON: &str = "application/scim+json";

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        builder.content_type(SCIM_JSON);
        if self.status == 401 {
            builder.insert_header(("WWW-Authenticate", "Bearer realm=\"drupal-scim\""));
        }
        if self.status == 503 {
            builder.insert_header(("Retry-After", "5"));
        }
        builder.body(error_body(self).to_string())
    }
}

/// A successful SCIM JSON answer.
pub fn scim_json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    scim_text(status, body.to_string())
}

/// A successful SCIM answer already serialised as JSON text (a page of users, `scim::page`).
pub fn scim_text(status: StatusCode, body: impl MessageBody + 'static) -> HttpResponse {
    HttpResponse::build(status).content_type(SCIM_JSON).body(body)
}
