//! Discovery (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes, /Schemas, and /healthz.

use crate::helpers::*;
use serde_json::Value;

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Paths of every null in a JSON document (Entra refuses nulls in /Schemas).
fn nulls(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Null => out.push(at.to_string()),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, x)| nulls(x, &format!("{at}/{i}"), out)),
        Value::Object(map) => map.iter().for_each(|(k, x)| nulls(x, &format!("{at}/{k}"), out)),
        _ => {}
    }
}

async fn ok_json(response: reqwest::Response) -> Value {
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/scim+json");
    let body: Value = response.json().await.unwrap();
    let mut found = Vec::new();
    nulls(&body, "", &mut found);
    assert!(found.is_empty(), "no nulls, found at {found:?}");
    body
}

fn attribute_names(schema: &Value) -> Vec<String> {
    schema["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn service_provider_config_tells_what_is_supported() {
    let app = TestApp::spawn().await;
    let spc = ok_json(app.get("/ServiceProviderConfig").await).await;
    assert_eq!(spc["schemas"][0], "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig");
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    assert_eq!(spc["bulk"]["supported"], true);
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["changePassword"]["supported"], true, "password is mapped by default");
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert!(spc["meta"]["location"].as_str().unwrap().ends_with("/scim/v2/ServiceProviderConfig"));
}

#[tokio::test]
async fn change_password_is_not_advertised_when_password_is_unmapped() {
    let block = "[[users.attribute]]\nscim = \"password\"\ndrupal = \"pass\"\n";
    let full = mapping_with_fields();
    assert!(full.contains(block));
    let app = TestApp::spawn_with_mapping(&full.replace(block, "")).await;
    let spc = ok_json(app.get("/ServiceProviderConfig").await).await;
    assert_eq!(spc["changePassword"]["supported"], false);
    let user = ok_json(app.get(&format!("/Schemas/{USER_SCHEMA}")).await).await;
    assert!(!attribute_names(&user).contains(&"password".to_string()));
}

#[tokio::test]
async fn resource_types_list_user_with_the_enterprise_extension() {
    let app = TestApp::spawn().await;
    let list = ok_json(app.get("/ResourceTypes").await).await;
    assert_eq!(list["schemas"][0], LIST);
    let types = list["Resources"].as_array().unwrap();
    assert_eq!(list["totalResults"], types.len());
    let user = types.iter().find(|t| t["id"] == "User").expect("a User resource type");
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER_SCHEMA);
    assert_eq!(user["schemaExtensions"][0]["schema"], ENTERPRISE);
    assert_eq!(user["schemaExtensions"][0]["required"], false);
    let single = ok_json(app.get("/ResourceTypes/User").await).await;
    assert_eq!(&single, user);
    expect_error(app.get("/ResourceTypes/Device").await, 404, None).await;
}

#[tokio::test]
async fn resource_types_omit_the_extension_when_nothing_of_it_is_mapped() {
    let app = TestApp::spawn_with_mapping(&std::fs::read_to_string(repo_path("drupal_mapping.toml")).unwrap()).await;
    let user = ok_json(app.get("/ResourceTypes/User").await).await;
    assert_eq!(user["schemaExtensions"], serde_json::json!([]));
}

#[tokio::test]
async fn schemas_is_a_list_trimmed_to_the_mapped_attributes() {
    let app = TestApp::spawn().await;
    let list = ok_json(app.get("/Schemas").await).await;
    assert_eq!(list["schemas"][0], LIST);
    let schemas = list["Resources"].as_array().unwrap();
    assert_eq!(list["totalResults"], schemas.len());
    assert_eq!(list["itemsPerPage"], schemas.len());
    let user = schemas.iter().find(|s| s["id"] == USER_SCHEMA).expect("the core User schema");
    let mut names = attribute_names(user);
    names.sort();
    assert_eq!(
        names,
        vec!["active", "emails", "groups", "name", "password", "preferredLanguage", "timezone", "userName"]
    );
    let name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "name").unwrap();
    let mut subs: Vec<&str> =
        name["subAttributes"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    subs.sort();
    assert_eq!(subs, vec!["familyName", "givenName"], "only the stored parts of name");
    let emails = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "emails").unwrap();
    let subs: Vec<&str> =
        emails["subAttributes"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(subs.contains(&"value") && subs.contains(&"type") && !subs.contains(&"display"), "{subs:?}");
    let password = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
    assert_eq!(password["returned"], "never");
    assert_eq!(password["mutability"], "writeOnly");
    let user_name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["required"], true);

    let enterprise = schemas.iter().find(|s| s["id"] == ENTERPRISE).expect("the enterprise extension");
    let mut names = attribute_names(enterprise);
    names.sort();
    assert_eq!(names, vec!["department", "employeeNumber"], "manager is not stored, so not advertised");
    for schema in schemas {
        assert!(
            schema["meta"]["location"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/Schemas/{}", schema["id"].as_str().unwrap()))
        );
        assert_eq!(schema["meta"]["resourceType"], "Schema");
    }
}

#[tokio::test]
async fn schema_by_id() {
    let app = TestApp::spawn().await;
    let user = ok_json(app.get(&format!("/Schemas/{USER_SCHEMA}")).await).await;
    assert_eq!(user["id"], USER_SCHEMA);
    assert!(attribute_names(&user).contains(&"userName".to_string()));
    let enterprise = ok_json(app.get(&format!("/Schemas/{ENTERPRISE}")).await).await;
    assert_eq!(enterprise["id"], ENTERPRISE);
    expect_error(app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nope").await, 404, None).await;
}

#[tokio::test]
async fn discovery_requires_the_bearer_token() {
    let app = TestApp::spawn().await;
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        let response = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        expect_error(response, 401, None).await;
    }
}

#[tokio::test]
async fn healthz_answers_without_auth_and_shows_no_data() {
    let app = TestApp::spawn().await;
    let response = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let text = body.to_string();
    assert!(!text.contains("jdoe") && !text.contains(&app.db_name), "{text}");
}
