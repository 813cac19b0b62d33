//! The SCIM requests Entra ID sends, over HTTP on loopback. Every answer is checked (status and
//! content), so a wrong answer counts as a failed request, not as a fast one.

use serde_json::{Value, json};
use std::time::Duration;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// An HTTP client of the server under test.
#[derive(Clone)]
pub struct Scim {
    client: reqwest::Client,
    base: String,
    auth: String,
}

/// One account to create, as Entra would send it.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// userPrincipalName.
    pub user_name: String,
    pub mail: String,
    /// Entra's objectId.
    pub external_id: String,
    pub given: String,
    pub family: String,
}

impl NewUser {
    pub fn numbered(tag: &str, i: usize) -> NewUser {
        NewUser {
            user_name: format!("{tag}.{i}@contoso.onmicrosoft.com"),
            mail: format!("{tag}.user{i}@contoso.com"),
            external_id: fake_object_id(tag, i as u64),
            given: "Bench".into(),
            family: format!("User{i}"),
        }
    }

    /// The body of Entra's POST /Users (MS-TUT "Create User").
    pub fn body(&self) -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "externalId": self.external_id,
            "userName": self.user_name,
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": self.mail}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": format!("{} {}", self.given, self.family), "familyName": self.family, "givenName": self.given},
            "roles": []
        })
    }
}

/// A GUID-shaped objectId, deterministic per (tag, i).
pub fn fake_object_id(tag: &str, i: u64) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in tag.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (i >> 48) & 0xfff,
        i & 0xffff_ffff_ffff
    )
}

/// Entra's two-operation PATCH of an account: work e-mail and family name.
pub fn entra_patch(mail: &str, family: &str) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": mail},
        {"op": "Replace", "path": "name.familyName", "value": family}
    ]})
}

/// Entra's disable.
pub fn entra_disable() -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
}

fn check(status: reqwest::StatusCode, want: u16, what: &str, body: &str) -> Result<(), String> {
    if status.as_u16() == want {
        Ok(())
    } else {
        Err(format!("{what}: HTTP {status} (wanted {want}): {}", body.chars().take(300).collect::<String>()))
    }
}

impl Scim {
    pub fn new(base: &str, token: &str, concurrency: usize) -> Scim {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency.max(64))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(120))
            .build()
            .expect("HTTP client");
        Scim { client, base: base.trim_end_matches('/').to_string(), auth: format!("Bearer {token}") }
    }

    /// The same HTTP client (and its keep-alive connections) for another base and token: one
    /// client for every site of a multisite server.
    pub fn on(&self, base: &str, token: &str) -> Scim {
        Scim {
            client: self.client.clone(),
            base: base.trim_end_matches('/').to_string(),
            auth: format!("Bearer {token}"),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(reqwest::StatusCode, String), String> {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).header("authorization", &self.auth);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| format!("{path}: {e}"))?;
        Ok((status, text))
    }

    /// GET /healthz until it answers 200.
    pub async fn wait_ready(&self, origin: &str, timeout: Duration) -> Result<(), String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.client.get(format!("{origin}/healthz")).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) if std::time::Instant::now() > deadline => {
                    return Err(format!("/healthz answers {}", r.status()));
                }
                Err(e) if std::time::Instant::now() > deadline => return Err(format!("/healthz: {e}")),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// GET /Users?count=1: the site answers a list (its pool opens, its statements are prepared).
    pub async fn touch(&self) -> Result<(), String> {
        let (status, text) = self.send(reqwest::Method::GET, "/Users?count=1", None).await?;
        check(status, 200, "GET /Users?count=1", &text)
    }

    /// POST /Users; the new SCIM id.
    pub async fn create_user(&self, user: &NewUser) -> Result<String, String> {
        let (status, text) = self.send(reqwest::Method::POST, "/Users", Some(&user.body())).await?;
        check(status, 201, "POST /Users", &text)?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("POST /Users: {e}"))?;
        if v["userName"] != user.user_name.as_str() {
            return Err(format!("POST /Users answered another account: {}", v["userName"]));
        }
        v["id"].as_str().map(String::from).ok_or_else(|| "POST /Users: no id".into())
    }

    /// GET /Users?filter=<attr> eq "<value>"; checks that exactly one account matches.
    pub async fn find_one(&self, attr: &str, value: &str) -> Result<(), String> {
        let filter = format!("{attr} eq \"{value}\"");
        let resp = self
            .client
            .get(format!("{}/Users", self.base))
            .header("authorization", &self.auth)
            .query(&[("filter", filter.as_str())])
            .send()
            .await
            .map_err(|e| format!("GET /Users: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| format!("GET /Users: {e}"))?;
        check(status, 200, "GET /Users?filter", &text)?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("GET /Users: {e}"))?;
        let found = &v["Resources"][0][attr];
        if v["totalResults"] != 1 || found != value {
            return Err(format!("filter {filter}: totalResults {} ({found})", v["totalResults"]));
        }
        Ok(())
    }

    /// GET /Users?startIndex=..&count=..; checks the page size.
    pub async fn list_page(&self, start_index: u64, count: u64, want: usize) -> Result<u64, String> {
        let resp = self
            .client
            .get(format!("{}/Users", self.base))
            .header("authorization", &self.auth)
            .query(&[("startIndex", start_index), ("count", count)])
            .send()
            .await
            .map_err(|e| format!("GET /Users page: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| format!("GET /Users page: {e}"))?;
        check(status, 200, "GET /Users?startIndex", &text)?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("GET /Users page: {e}"))?;
        let got = v["Resources"].as_array().map_or(0, Vec::len);
        if got != want {
            return Err(format!("page at startIndex {start_index}: {got} resources, wanted {want}"));
        }
        Ok(v["totalResults"].as_u64().unwrap_or(0))
    }

    /// PATCH /Users/{id}; checks the answer.
    pub async fn patch_user(&self, id: &str, body: &Value, check_mail: Option<&str>) -> Result<Value, String> {
        let (status, text) = self.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(body)).await?;
        check(status, 200, "PATCH /Users", &text)?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("PATCH /Users: {e}"))?;
        if let Some(mail) = check_mail
            && v["emails"][0]["value"] != mail
        {
            return Err(format!("PATCH /Users: mail is {}", v["emails"][0]["value"]));
        }
        Ok(v)
    }

    pub async fn delete_user(&self, id: &str) -> Result<(), String> {
        let (status, text) = self.send(reqwest::Method::DELETE, &format!("/Users/{id}"), None).await?;
        check(status, 204, "DELETE /Users", &text)
    }

    /// POST /Groups; the new group's id.
    pub async fn create_group(&self, name: &str, external_id: &str) -> Result<String, String> {
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": external_id, "members": []});
        let (status, text) = self.send(reqwest::Method::POST, "/Groups", Some(&body)).await?;
        check(status, 201, "POST /Groups", &text)?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("POST /Groups: {e}"))?;
        v["id"].as_str().map(String::from).ok_or_else(|| "POST /Groups: no id".into())
    }

    /// One PATCH adding all `members` to a group.
    pub async fn add_members(&self, group: &str, members: &[String]) -> Result<(), String> {
        let value: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": value}]});
        let (status, text) = self.send(reqwest::Method::PATCH, &format!("/Groups/{group}"), Some(&body)).await?;
        if status.as_u16() == 204 || status.as_u16() == 200 {
            Ok(())
        } else {
            check(status, 204, "PATCH /Groups", &text)
        }
    }

    /// GET /Groups/{id} member count (to check a group PATCH really landed).
    pub async fn member_count(&self, group: &str) -> Result<usize, String> {
        let (status, text) = self.send(reqwest::Method::GET, &format!("/Groups/{group}"), None).await?;
        check(status, 200, "GET /Groups", &text)?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("GET /Groups: {e}"))?;
        Ok(v["members"].as_array().map_or(0, Vec::len))
    }
}
