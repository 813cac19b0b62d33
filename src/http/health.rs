//! `GET /healthz`: is the Drupal database reachable? No auth, no data. The cache backend's
//! state (Redis) is reported beside it but never decides the status: the database is the
//! truth, and invalidations Redis misses are kept and replayed.
//!
//! With several sites, `/healthz` reports each and `/healthz/<site>` one: a process whose every
//! site is down is unhealthy (503); one with some sites down is `degraded` but still answers
//! 200, because restarting it or taking it out of a load balancer would stop the healthy sites
//! too. A monitor per site watches `/healthz/<site>`.

use crate::http::app::AppState;
use crate::http::sites::{Sites, Slot};
use actix_web::{HttpResponse, web};
use mysql_async::prelude::*;
use serde_json::{Value, json};

/// 200 when the site's database (every site's, with several) answers, 503 otherwise.
pub async fn healthz(sites: web::Data<Sites>) -> HttpResponse {
    let table = sites.table();
    if !sites.multisite() {
        return match table.entries.values().next().map(|e| &e.slot) {
            Some(Slot::Up(state)) => {
                let (ok, body) = one(state).await;
                respond(ok, body)
            }
            _ => respond(false, json!({"status": "unavailable"})),
        };
    }
    let checks = table.entries.iter().map(|(name, entry)| async move {
        match &entry.slot {
            Slot::Up(state) => (name.clone(), one(state).await),
            Slot::Down(_) => (name.clone(), (false, json!({"status": "unavailable", "database": "not opened"}))),
        }
    });
    let results = futures_util::future::join_all(checks).await;
    let up = results.iter().filter(|(_, (ok, _))| *ok).count();
    let status = match up {
        n if n == results.len() => "ok",
        0 => "unavailable",
        _ => "degraded",
    };
    let by_site: serde_json::Map<String, Value> = results.into_iter().map(|(name, (_, body))| (name, body)).collect();
    respond(up > 0, json!({"status": status, "sites": by_site}))
}

/// `GET /healthz/<site>`: one site's health; 404 for a name no site has.
pub async fn site(sites: web::Data<Sites>, name: web::Path<String>) -> HttpResponse {
    let table = sites.table();
    match table.entries.get(name.as_str()).filter(|_| sites.multisite()).map(|e| &e.slot) {
        Some(Slot::Up(state)) => {
            let (ok, body) = one(state).await;
            respond(ok, body)
        }
        Some(Slot::Down(_)) => respond(false, json!({"status": "unavailable", "database": "not opened"})),
        None => HttpResponse::NotFound().json(json!({"status": "unknown site"})),
    }
}

/// One site's database (bounded: a database that keeps its sockets open but answers nothing is
/// unhealthy too) and cache backend.
async fn one(state: &web::Data<AppState>) -> (bool, Value) {
    let db = state.db.clone();
    let check = async move {
        let mut conn = db.conn().await.map_err(crate::scim::error::ScimError::from)?;
        conn.query_drop("SELECT 1")
            .await
            .map_err(|e| crate::scim::error::ScimError::from(crate::drupal::error::StoreError::from(e)))
    };
    let (ok, cache) = futures_util::future::join(state.within(false, check), state.db.cache().health()).await;
    if ok.is_ok() {
        (true, json!({"status": "ok", "database": "reachable", "cache": cache}))
    } else {
        (false, json!({"status": "unavailable", "database": "unreachable", "cache": cache}))
    }
}

fn respond(ok: bool, body: Value) -> HttpResponse {
    if ok { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
