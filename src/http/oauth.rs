//! `POST <base>/oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4), for
//! clients that fetch short-lived tokens instead of keeping one pasted once — a sync-out of
//! another drupal-scim, or an identity provider configured that way. Client authentication by
//! HTTP Basic (RFC 6749 §2.3.1, which servers must support) or in the form body; the token is
//! one `drupal-scim token` would mint, with the client's lifetime. Errors are RFC 6749 §5.2's.

use crate::http::app::AppState;
use crate::settings::OAuthClient;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The token endpoint.
pub async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return error(400, "invalid_request", "send the request as application/x-www-form-urlencoded");
    }
    let form: Vec<(String, String)> = url_form(&body);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(_) => return error(400, "unsupported_grant_type", "only client_credentials is supported"),
        None => return error(400, "invalid_request", "grant_type is missing"),
    }
    let basic = basic_credentials(&req);
    let (id, secret) = match (&basic, field("client_id"), field("client_secret")) {
        (Some((id, secret)), _, _) => (id.as_str(), secret.as_str()),
        (None, Some(id), Some(secret)) => (id, secret),
        _ => return invalid_client(),
    };
    let Some(client) = state.oauth_clients.iter().find(|c| c.id == id && same(c.secret.expose(), secret)) else {
        log::info!(
            "token endpoint: refused client credentials for client {:?}",
            id.chars().take(64).collect::<String>()
        );
        return invalid_client();
    };
    issue(&state, client)
}

fn issue(state: &AppState, client: &OAuthClient) -> HttpResponse {
    match state.keyring.mint(&format!("oauth:{}", client.id), Some(client.token_ttl_secs)) {
        Ok((token, _)) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(json!({"access_token": token, "token_type": "Bearer", "expires_in": client.token_ttl_secs})),
        Err(e) => {
            log::error!("token endpoint: cannot mint a token: {e}");
            error(500, "server_error", "the token could not be issued")
        }
    }
}

/// `id:secret` from `Authorization: Basic …`, each form-urlencoded as RFC 6749 §2.3.1 says.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

/// The pairs of an `application/x-www-form-urlencoded` body.
fn url_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Compare secrets without leaking where they differ (through their digests: equal length).
fn same(expected: &str, given: &str) -> bool {
    let (a, b) = (Sha256::digest(expected.as_bytes()), Sha256::digest(given.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn invalid_client() -> HttpResponse {
    let mut response = error(401, "invalid_client", "unknown client or wrong secret");
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"drupal-scim\""));
    response
}

fn error(status: u16, code: &str, description: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"error": code, "error_description": description}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_and_basic_credentials_decode_as_rfc_6749_says() {
        let form = url_form(b"grant_type=client_credentials&client_id=my+app&client_secret=a%2Bb%3Dc&scope=");
        assert_eq!(form[1], ("client_id".into(), "my app".into()));
        assert_eq!(form[2], ("client_secret".into(), "a+b=c".into()));
        assert_eq!(form[3], ("scope".into(), String::new()));
        assert!(same("x", "x") && !same("x", "y") && !same("x", "xx"));
    }
}
