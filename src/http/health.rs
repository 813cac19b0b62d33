//! `GET /healthz`: is the Drupal database reachable? No auth, no data.

use crate::http::app::AppState;
use actix_web::{HttpResponse, web};
use mysql_async::prelude::*;

/// 200 `{"status":"ok"}` when a trivial query succeeds, 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let ok = match state.db.conn().await {
        Ok(mut conn) => conn.query_drop("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    if ok {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": "reachable"}))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "unavailable", "database": "unreachable"}))
    }
}
