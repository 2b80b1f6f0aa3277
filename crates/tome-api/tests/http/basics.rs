//! The HTTP API over a real socket, against SQLite and PostgreSQL.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tome_testkit::{TestApp, app_tests};

app_tests!(
    healthz_answers_ok,
    readyz_reports_the_database_and_its_migrations,
    readyz_is_503_when_the_database_is_gone,
    metrics_count_requests_by_route_and_status,
    openapi_document_is_generated_from_the_routes,
    docs_page_and_its_assets_are_served_locally,
    errors_use_the_envelope_everywhere,
    lists_page_with_limit_and_cursor,
    request_ids_are_set_and_propagated,
    shutdown_lets_in_flight_requests_finish_then_refuses_new_ones,
);

async fn healthz_answers_ok(app: TestApp) {
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

async fn readyz_reports_the_database_and_its_migrations(app: TestApp) {
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["migrations_applied"], true);
    let latest = app.db.store.latest_known_migration().unwrap();
    assert!(latest >= 2, "{latest}");
    assert_eq!(body["migration"], latest);
    let expected = match app.db.backend {
        tome_store::Backend::Sqlite => "sqlite",
        tome_store::Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
}

async fn readyz_is_503_when_the_database_is_gone(app: TestApp) {
    app.db.store.close().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!((body["status"].as_str(), body["database_reachable"].as_bool()), (Some("not_ready"), Some(false)));
    let (status, _) = app.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK, "alive even when not ready");
}

async fn metrics_count_requests_by_route_and_status(app: TestApp) {
    app.get("/healthz").await;
    app.get("/healthz").await;
    app.get("/api/v1/permissions?limit=0").await;
    app.get("/api/no/such/route").await;
    app.get("/chat").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.contains(r#"tome_http_requests_total{method="GET",route="/healthz",status="200"} 2"#), "{text}");
    assert!(text.contains(r#"route="/api/v1/permissions",status="422"} 1"#), "{text}");
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
    assert!(text.contains(r#"route="web",status="200"} 1"#), "a page of the web app: {text}");
    assert!(text.contains(r#"tome_http_request_duration_seconds_bucket{le="#), "{text}");
    assert!(text.contains(r#"tome_db_pool_connections{state="open"}"#), "{text}");
    assert!(text.contains(r#"tome_db_pool_connections{state="idle"}"#), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
}

async fn openapi_document_is_generated_from_the_routes(app: TestApp) {
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/permissions"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let params: Vec<&str> = doc["paths"]["/api/v1/permissions"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["limit", "cursor"]);
}

async fn docs_page_and_its_assets_are_served_locally(app: TestApp) {
    let page = app.get("/api/docs").await;
    assert_eq!(page.status(), StatusCode::OK, "redirect followed to the page");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no asset comes from another host");
    for asset in ["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/api/docs/swagger-initializer.js"] {
        let response = app.get(asset).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let body = response.text().await.unwrap();
        assert!(body.len() > 50, "{asset} has content");
        if asset.ends_with("initializer.js") {
            assert!(body.contains("/api/openapi.json"), "the page loads our document");
        }
    }
}

async fn errors_use_the_envelope_everywhere(app: TestApp) {
    let cases: [(reqwest::RequestBuilder, StatusCode, &str); 4] = [
        (app.client.get(app.url("/api/nope")), StatusCode::NOT_FOUND, "not_found"),
        (app.client.delete(app.url("/healthz")), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        (app.client.get(app.url("/api/v1/permissions?limit=abc")), StatusCode::BAD_REQUEST, "bad_request"),
        (app.client.get(app.url("/api/v1/permissions?cursor=zzz")), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
        let is_json = response.headers()["content-type"].to_str().unwrap().starts_with("application/json");
        assert!(is_json);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
}

async fn lists_page_with_limit_and_cursor(app: TestApp) {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/permissions?limit=5&cursor={cursor}"),
            None => "/api/v1/permissions?limit=5".to_owned(),
        };
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, StatusCode::OK);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        names.extend(items.iter().map(|i| i["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut expected: Vec<String> = tome_domain::catalog::PERMISSIONS.iter().map(|(n, _)| (*n).to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected, "every permission exactly once, in order");
    let (status, body) = app.get_json("/api/v1/permissions?limit=201").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("limit")));
}

async fn request_ids_are_set_and_propagated(app: TestApp) {
    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID");
    let given = app.client.get(app.url("/healthz")).header("x-request-id", "trace-me-42").send().await.unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
}

async fn shutdown_lets_in_flight_requests_finish_then_refuses_new_ones(mut app: TestApp) {
    // A request whose head has only partly arrived is in flight when shutdown begins.
    let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: tome\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(b"Connection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response)).await.unwrap().unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "in-flight request completed: {response}");
    app.finished().await.unwrap();
    assert!(tokio::net::TcpStream::connect(app.address).await.is_err(), "no new connections after shutdown");
}
