//! A fault front for the sync-out tests: a small HTTP proxy in front of a real SCIM server that
//! passes requests through and, when told, answers some itself (a 500, a 429 or 503 with
//! `Retry-After`) or answers late (the request reaches the server, the answer comes after the
//! client's timeout). It records what it saw, so a test can say which requests were sent and
//! which of them the target got.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the front saw: method, path (without the query), body, the status it answered,
/// and whether the server behind it got the request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: String,
    pub status: u16,
    pub forwarded: bool,
}

#[derive(Default)]
struct Faults {
    /// Answer the next this many requests (with one of `refuse_methods`, any when empty) with
    /// `status` (and `Retry-After`), not forwarding them.
    refuse_next: usize,
    refuse_methods: Vec<String>,
    status: u16,
    retry_after: Option<u64>,
    /// Answer requests with these methods (all when empty) this late, after forwarding them.
    delay: Option<Duration>,
    delay_methods: Vec<String>,
    seen: Vec<Seen>,
}

/// A running front.
pub struct Front {
    /// The SCIM base URL to give the client: the upstream's path on the front's port.
    pub base: String,
    pub port: u16,
    faults: Arc<Mutex<Faults>>,
}

impl Front {
    /// A front of the SCIM base URL `upstream` (`http://127.0.0.1:PORT/path`) on a free port.
    pub async fn start(upstream: &str) -> Front {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Front::serve(listener, upstream)
    }

    /// A front on `port` (a target that "comes up" where nothing listened).
    pub async fn start_on(port: u16, upstream: &str) -> Front {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        Front::serve(listener, upstream)
    }

    fn serve(listener: std::net::TcpListener, upstream: &str) -> Front {
        let port = listener.local_addr().unwrap().port();
        let (origin, path) = split_url(upstream);
        let faults = Arc::new(Mutex::new(Faults::default()));
        let shared = faults.clone();
        let server = HttpServer::new(move || {
            let (origin, faults) = (origin.clone(), shared.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (origin, faults) = (origin.clone(), faults.clone());
                async move { answer(&origin, &faults, req, body).await }
            }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Front { base: format!("http://127.0.0.1:{port}{path}"), port, faults }
    }

    /// Answer the next `n` requests with `status` (and `Retry-After: secs`) without forwarding them.
    pub fn refuse_next(&self, n: usize, status: u16, retry_after: Option<u64>) {
        self.refuse_next_of(&[], n, status, retry_after);
    }

    /// [`Front::refuse_next`] for requests with one of `methods` only (any when empty).
    pub fn refuse_next_of(&self, methods: &[&str], n: usize, status: u16, retry_after: Option<u64>) {
        let mut f = self.faults.lock().unwrap();
        (f.refuse_next, f.status, f.retry_after) = (n, status, retry_after);
        f.refuse_methods = methods.iter().map(|m| m.to_string()).collect();
    }

    /// Answer the requests with one of `methods` (every request when empty) `delay` late, after
    /// the server behind has carried them out; `None` answers at once again.
    pub fn slow(&self, delay: Option<Duration>, methods: &[&str]) {
        let mut f = self.faults.lock().unwrap();
        f.delay = delay;
        f.delay_methods = methods.iter().map(|m| m.to_string()).collect();
    }

    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.faults.lock().unwrap().seen.clone()
    }

    /// How many requests were seen.
    pub fn count(&self) -> usize {
        self.faults.lock().unwrap().seen.len()
    }

    /// How many `method` requests whose path starts with `path` were seen (answered by the
    /// front or not).
    pub fn sent(&self, method: &str, path: &str) -> usize {
        self.seen().iter().filter(|s| s.method == method && s.path.starts_with(path)).count()
    }

    /// How many `method` requests whose path starts with `path` reached the server behind.
    pub fn forwarded(&self, method: &str, path: &str) -> usize {
        self.seen().iter().filter(|s| s.forwarded && s.method == method && s.path.starts_with(path)).count()
    }

    /// How many requests the front answered itself with `status`.
    pub fn refused(&self, status: u16) -> usize {
        self.seen().iter().filter(|s| !s.forwarded && s.status == status).count()
    }
}

/// `http://host:port/path` → (`http://host:port`, `/path`).
fn split_url(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap();
    match url[after_scheme..].find('/') {
        Some(i) => (url[..after_scheme + i].to_string(), url[after_scheme + i..].trim_end_matches('/').to_string()),
        None => (url.to_string(), String::new()),
    }
}

async fn answer(origin: &str, faults: &Mutex<Faults>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let (refuse, delay) = {
        let mut f = faults.lock().unwrap();
        let refuse = if f.refuse_next > 0 && (f.refuse_methods.is_empty() || f.refuse_methods.contains(&method)) {
            f.refuse_next -= 1;
            Some((f.status, f.retry_after))
        } else {
            None
        };
        let delay = f.delay.filter(|_| f.delay_methods.is_empty() || f.delay_methods.contains(&method));
        (refuse, delay)
    };
    let record = |status: u16, forwarded: bool| {
        let body = String::from_utf8_lossy(&body).into_owned();
        faults.lock().unwrap().seen.push(Seen { method: method.clone(), path: path.clone(), body, status, forwarded });
    };
    if let Some((status, retry_after)) = refuse {
        record(status, false);
        let mut response = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
        if let Some(secs) = retry_after {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        return response.finish();
    }
    let forward_method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut forward = reqwest::Client::new().request(forward_method, format!("{origin}{}", req.uri()));
    for name in ["authorization", "content-type", "accept"] {
        if let Some(v) = req.headers().get(name) {
            forward = forward.header(name, v.to_str().unwrap());
        }
    }
    let upstream = forward.body(body.to_vec()).send().await.unwrap();
    let status = upstream.status().as_u16();
    let content_type = upstream.headers().get("content-type").and_then(|v| v.to_str().ok()).map(String::from);
    let bytes = upstream.bytes().await.unwrap().to_vec();
    record(status, true);
    if let Some(delay) = delay {
        // The server has carried the request out; the client hears of it too late.
        tokio::time::sleep(delay).await;
    }
    let mut response = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(ct) = content_type {
        response.content_type(ct);
    }
    response.body(bytes)
}
