//! `StubReranker`: a loopback server that speaks the `/v1/rerank` protocol (Cohere's:
//! `{model, query, documents, top_n}` → `{results: [{index, relevance_score}]}`, best first).
//! Its "model" scores a passage by how often it holds a chosen word, so that a test knows
//! the order to expect; it records every request and can answer 500 the first N times.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The model name the stub answers to (others get 404, as real servers do).
pub const RERANK_MODEL: &str = "stub-reranker";

struct Shared {
    word: String,
    failures: Mutex<usize>,
    requests: Mutex<Vec<Value>>,
}

/// The running stub.
#[derive(Clone)]
pub struct StubReranker {
    /// Up to and including `/v1`.
    pub base_url: String,
    shared: Arc<Shared>,
}

/// How often `word` occurs in `text`, ignoring case.
pub fn occurrences(text: &str, word: &str) -> usize {
    text.to_lowercase().matches(&word.to_lowercase()).count()
}

async fn rerank(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    shared.requests.lock().expect("requests").push(body.clone());
    {
        let mut failures = shared.failures.lock().expect("failures");
        if *failures > 0 {
            *failures -= 1;
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"message": "overloaded"}))).into_response();
        }
    }
    if body["model"] != RERANK_MODEL {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "model not found"}))).into_response();
    }
    let Some(documents) = body["documents"].as_array() else {
        return (StatusCode::BAD_REQUEST, Json(json!({"message": "documents must be a list"}))).into_response();
    };
    let mut results: Vec<(usize, f64)> = documents
        .iter()
        .enumerate()
        .map(|(index, text)| (index, occurrences(text.as_str().unwrap_or_default(), &shared.word) as f64))
        .collect();
    results.sort_by(|a, b| b.1.total_cmp(&a.1));
    let results: Vec<Value> =
        results.into_iter().map(|(index, score)| json!({"index": index, "relevance_score": score})).collect();
    Json(json!({"id": "rerank-1", "results": results, "meta": {"billed_units": {"search_units": 1}}})).into_response()
}

impl StubReranker {
    /// Starts a stub that favours passages holding `word`, failing the first `failures`
    /// requests with 500.
    pub async fn start(word: &str, failures: usize) -> Self {
        let shared =
            Arc::new(Shared { word: word.to_owned(), failures: Mutex::new(failures), requests: Mutex::default() });
        let app = axum::Router::new().route("/v1/rerank", post(rerank)).with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let address = listener.local_addr().expect("its address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the stub serves") });
        Self { base_url: format!("http://{address}/v1"), shared }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().expect("requests").clone()
    }
}
