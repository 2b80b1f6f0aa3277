//! The shipped middleware stack (body limit, timeout, JSON rejections, panics) exercised
//! over a real socket with probe routes mounted inside it.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tome_api::AppState;
use tome_api::extract::Json;
use tome_testkit::{TestApp, TestDb};

async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "too late"
}

async fn boom() -> &'static str {
    panic!("probe panic")
}

async fn app() -> TestApp {
    let probes: Router<AppState> =
        Router::new().route("/probe/echo", post(echo)).route("/probe/slow", get(slow)).route("/probe/panic", get(boom));
    TestApp::spawn_with_routes(
        TestDb::sqlite().await,
        |config| {
            config.max_body_bytes = 1024;
            config.request_timeout_secs = 1;
        },
        probes,
    )
    .await
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn json_within_the_limit_is_accepted() {
    let app = app().await;
    let response = app.post_json("/probe/echo", &json!({"hello": "world"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"hello": "world"}));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_in_the_envelope() {
    let app = app().await;
    let response = app.post_json("/probe/echo", &json!({"text": "x".repeat(2048)})).await;
    assert_eq!(error_code(response).await, (StatusCode::PAYLOAD_TOO_LARGE, "too_large".into()));
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_answer_in_the_envelope() {
    let app = app().await;
    let syntax = app
        .client
        .post(app.url("/probe/echo"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(syntax).await, (StatusCode::BAD_REQUEST, "bad_request".into()));
    let plain = app.client.post(app.url("/probe/echo")).body("{}").send().await.unwrap();
    assert_eq!(error_code(plain).await, (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type".into()));
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_408_in_the_envelope() {
    let app = app().await;
    let started = std::time::Instant::now();
    let response = app.get("/probe/slow").await;
    assert_eq!(error_code(response).await, (StatusCode::REQUEST_TIMEOUT, "timeout".into()));
    assert!(started.elapsed() < Duration::from_secs(4), "cut off at the limit, not after the handler");
}

#[tokio::test]
async fn a_panic_is_a_500_that_reveals_nothing_and_the_server_lives_on() {
    let app = app().await;
    let response = app.get("/probe/panic").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": {"code": "internal", "message": "internal error"}}));
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_is_503_on_a_database_without_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bare.db").display());
    let store = tome_store::SqlStore::connect(&url, &tome_store::StoreOptions::default()).await.unwrap();
    let db = TestDb { store, url, backend: tome_store::Backend::Sqlite, dir };
    let app = TestApp::spawn_with(db, |_| {}).await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!((body["database_reachable"].as_bool(), body["migrations_applied"].as_bool()), (Some(true), Some(false)));
}
