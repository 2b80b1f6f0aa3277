//! The OpenAI-compatible embedder against a loopback server that speaks the real
//! `/v1/embeddings` protocol: batches, the bearer key, `dimensions`, answers out of order,
//! retries on 429 (honouring `Retry-After`) and 5xx, and a clear error when the server
//! keeps failing or refuses the request.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tome_models::embed::Embedder;
use tome_models::openai::{RemoteEmbedder, RemoteSettings};

/// What the server saw, and the failures it still has to give.
#[derive(Default)]
struct Server {
    requests: Vec<Value>,
    keys: Vec<Option<String>>,
    failures: Vec<StatusCode>,
}

type Shared = Arc<Mutex<Server>>;

/// A vector that encodes the input: `[len, first byte, 1]`, so that order can be checked.
fn vector_of(text: &str) -> Vec<f32> {
    vec![text.len() as f32, f32::from(text.as_bytes().first().copied().unwrap_or(0)), 1.0]
}

async fn embeddings(State(shared): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut server = shared.lock().unwrap();
    server.requests.push(body.clone());
    server.keys.push(headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()));
    if !server.failures.is_empty() {
        let status = server.failures.remove(0);
        let mut response = (status, Json(json!({"error": {"message": "slow down"}}))).into_response();
        response.headers_mut().insert("retry-after", "0".parse().unwrap());
        return response;
    }
    if body["model"] != "embed-small" {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"message": "The model does not exist"}})))
            .into_response();
    }
    let inputs: Vec<String> =
        body["input"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    // Last input first: the client must put them back by `index`.
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": vector_of(text)}))
        .collect();
    Json(json!({"object": "list", "data": data, "model": "embed-small", "usage": {"prompt_tokens": 1, "total_tokens": 1}}))
        .into_response()
}

async fn start(failures: Vec<StatusCode>) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Server { failures, ..Server::default() }));
    let app = axum::Router::new().route("/v1/embeddings", post(embeddings)).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/v1"), shared)
}

fn settings(base_url: &str, model: &str) -> RemoteSettings {
    let mut settings = RemoteSettings::new(base_url, model);
    settings.api_key = Some("sk-test".into());
    settings.dimensions = Some(3);
    settings.batch = 2;
    settings.backoff = Duration::from_millis(10);
    settings
}

fn unit(vector: &[f32]) -> Vec<f32> {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    vector.iter().map(|v| v / norm).collect()
}

#[tokio::test]
async fn batches_in_order_with_key_and_dimensions_after_retries() {
    let (base, shared) = start(vec![StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE]).await;
    let embedder = RemoteEmbedder::new(settings(&base, "embed-small")).unwrap();
    let texts: Vec<String> = ["alpha", "be", "gamma ray", "d", "epsilon"].iter().map(|t| t.to_string()).collect();
    let vectors = embedder.embed(texts.clone()).await.unwrap();
    assert_eq!(vectors.len(), 5);
    for (text, vector) in texts.iter().zip(&vectors) {
        assert_eq!(vector, &unit(&vector_of(text)), "{text}: in input order, unit length");
    }
    let server = shared.lock().unwrap();
    // Two refused tries of the first batch, then three batches of at most two.
    assert_eq!(server.requests.len(), 5);
    let sizes: Vec<usize> = server.requests[2..].iter().map(|r| r["input"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [2, 2, 1]);
    assert!(server.requests.iter().all(|r| r["dimensions"] == 3 && r["model"] == "embed-small"));
    assert!(server.keys.iter().all(|k| k.as_deref() == Some("Bearer sk-test")));
    assert_eq!(embedder.model_name(), "embed-small");
}

#[tokio::test]
async fn a_server_that_keeps_failing_is_an_error_after_the_last_attempt() {
    let (base, shared) = start(vec![StatusCode::TOO_MANY_REQUESTS; 10]).await;
    let embedder = RemoteEmbedder::new(settings(&base, "embed-small")).unwrap();
    let error = embedder.embed(vec!["x".into()]).await.unwrap_err().to_string();
    assert!(error.contains("429") && error.contains("4 attempts"), "{error}");
    assert_eq!(shared.lock().unwrap().requests.len(), 4);
}

#[tokio::test]
async fn a_refused_request_is_not_retried_and_says_why() {
    let (base, shared) = start(Vec::new()).await;
    let embedder = RemoteEmbedder::new(settings(&base, "no-such-model")).unwrap();
    let error = embedder.embed(vec!["x".into()]).await.unwrap_err().to_string();
    assert!(error.contains("404") && error.contains("The model does not exist"), "{error}");
    assert_eq!(shared.lock().unwrap().requests.len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_after_the_last_attempt() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let embedder = RemoteEmbedder::new(settings(&format!("http://127.0.0.1:{port}/v1"), "embed-small")).unwrap();
    let error = embedder.embed(vec!["x".into()]).await.unwrap_err().to_string();
    assert!(error.contains("after 4 attempts"), "{error}");
}
