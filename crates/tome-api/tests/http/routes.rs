//! Generated from the route table (the OpenAPI document is built from the routes): every
//! operation outside the public list refuses a request without credentials with 401.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use tome_testkit::{TestApp, app_tests};

/// Operations anyone may call.
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/permissions"),
    ("get", "/api/v1/setup"),
    ("post", "/api/v1/auth/cookie"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/password/forgot"),
    ("post", "/api/v1/auth/password/reset"),
];

app_tests!(every_route_outside_the_public_list_requires_credentials);

async fn every_route_outside_the_public_list_requires_credentials(app: TestApp) {
    let (_, doc) = app.get_json("/api/openapi.json").await;
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let concrete = path
                .split('/')
                .map(|part| if part.starts_with('{') { uuid::Uuid::now_v7().to_string() } else { part.to_owned() })
                .collect::<Vec<_>>()
                .join("/");
            let request =
                app.client.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), app.url(&concrete));
            let request = if ["post", "put", "patch"].contains(&method.as_str()) {
                request.json(&serde_json::json!({}))
            } else {
                request
            };
            let status = request.send().await.unwrap().status();
            let public = PUBLIC.contains(&(method.as_str(), path.as_str()));
            if public {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path} is public");
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} must require credentials");
                let documented = operations[method]["security"].is_array();
                assert!(documented, "{method} {path} documents its security requirement");
                let responses = &operations[method]["responses"];
                assert!(responses["401"].is_object(), "{method} {path} documents its 401");
            }
            // What a request body can be refused for is documented wherever one is read.
            if operations[method]["requestBody"]["content"]["application/json"].is_object() {
                let responses = &operations[method]["responses"];
                for code in ["400", "415", "422"] {
                    let envelope = &responses[code]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(envelope, "#/components/schemas/ErrorBody", "{method} {path} documents its {code}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "the route table was read ({checked} operations)");
    // Every paged list states the bounds the server enforces on `limit`.
    let mut paged = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            if let Some(limit) = parameters.iter().find(|p| p["name"] == "limit" && p["in"] == "query") {
                let bounds = (limit["schema"]["minimum"].as_f64(), limit["schema"]["maximum"].as_f64());
                assert_eq!(bounds, (Some(1.0), Some(200.0)), "{method} {path}: {limit}");
                paged += 1;
            }
        }
    }
    assert!(paged >= 9, "{paged} paged lists");
    let search = &doc["components"]["schemas"]["SearchBody"]["properties"]["limit"];
    assert_eq!((search["minimum"].as_f64(), search["maximum"].as_f64()), (Some(1.0), Some(100.0)), "{search}");
    // New passwords are 8–128 characters wherever one is chosen.
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("RegisterRequest", "password"),
        ("ChangePasswordRequest", "new_password"),
        ("ResetPasswordRequest", "new_password"),
    ] {
        let bounds = &schemas[schema]["properties"][field];
        assert_eq!((bounds["minLength"].as_u64(), bounds["maxLength"].as_u64()), (Some(8), Some(128)), "{schema}");
    }
}

/// The web app's types are generated from `web/openapi.json`: it must be the server's
/// document, so that the app and the API cannot drift. `TOME_UPDATE_OPENAPI=1` rewrites it
/// (then `npm run api-types` in `web/` regenerates the types).
#[test]
fn the_web_apps_copy_of_the_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/openapi.json");
    let current = tome_api::openapi().to_pretty_json().unwrap() + "\n";
    if std::env::var("TOME_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "web/openapi.json differs from the server's document: run \
         `TOME_UPDATE_OPENAPI=1 cargo test -p tome-api --test http -- openapi_document_is_current` \
         and `npm run api-types` in web/"
    );
}

/// Generated clients name their functions after operation ids: two handlers with one name
/// in different modules would silently share one (and one of them lose its types).
#[test]
fn every_operation_has_its_own_id() {
    let doc = serde_json::to_value(tome_api::openapi()).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let Some(id) = operation["operationId"].as_str() else { continue };
            let place = format!("{method} {path}");
            if let Some(earlier) = seen.insert(id.to_owned(), place.clone()) {
                panic!("operation id `{id}` names both {earlier} and {place}");
            }
        }
    }
    assert!(seen.len() > 100, "{} operations", seen.len());
}
