//! `GET /healthz`: is the Drupal database reachable? No auth, no data. The cache backend's
//! state (Redis) is reported beside it but never decides the status: the database is the
//! truth, and invalidations Redis misses are kept and replayed.

use crate::http::app::AppState;
use actix_web::{HttpResponse, web};
use mysql_async::prelude::*;

/// 200 `{"status":"ok"}` when a trivial query succeeds, 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    // Bounded: a database that keeps its sockets open but answers nothing is unhealthy too.
    let db = state.db.clone();
    let check = async move {
        let mut conn = db.conn().await.map_err(crate::scim::error::ScimError::from)?;
        conn.query_drop("SELECT 1")
            .await
            .map_err(|e| crate::scim::error::ScimError::from(crate::drupal::error::StoreError::from(e)))
    };
    let (ok, cache) = futures_util::future::join(state.within(false, check), state.db.cache().health()).await;
    if ok.is_ok() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": "reachable", "cache": cache}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "unavailable", "database": "unreachable", "cache": cache}))
    }
}
