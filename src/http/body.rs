//! Request bodies: read up to the configured limit, parsed as JSON, every failure a SCIM error.

use crate::scim::error::ScimError;
use actix_web::HttpRequest;
use actix_web::web::{BytesMut, Payload};
use futures_util::StreamExt;

/// The most a body's buffer is sized for before its bytes arrive (a 1,000-member group PATCH
/// is about 60 KiB).
const PRESIZE_MAX: usize = 256 * 1024;

/// Read and parse a JSON body no larger than `limit` bytes (413 beyond, 400 for bad JSON).
pub async fn json_body(req: &HttpRequest, mut payload: Payload, limit: usize) -> Result<serde_json::Value, ScimError> {
    let too_large = || ScimError::new(413, None, format!("the request body is larger than {limit} bytes"));
    let declared =
        req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    // Sized once from Content-Length rather than doubled chunk by chunk — but only up to
    // PRESIZE_MAX: a client that declares a large body and sends none must not make every
    // connection reserve the whole limit.
    let mut bytes = BytesMut::with_capacity(declared.unwrap_or(0).min(PRESIZE_MAX));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ScimError::invalid_syntax(format!("could not read the request body: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(ScimError::invalid_syntax("the request body is empty; a JSON object is expected"));
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| ScimError::invalid_syntax("the request body is not valid UTF-8"))?;
    serde_json::from_str(text)
        .map_err(|e| ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
}
