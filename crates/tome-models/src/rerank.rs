//! Any server of the `/v1/rerank` protocol (Cohere's, also served by Jina, vLLM, llama.cpp's
//! server and Infinity): a query and passages in, a relevance score per passage out — a
//! cross-encoder reads query and passage together, which first-stage rankings cannot.
//! Retried with backoff on 429, 5xx and connection failures, like the embedder.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::retry::post_json;

/// How to reach the server.
#[derive(Clone, Debug)]
pub struct RerankSettings {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Tries per request, the first included.
    pub attempts: u32,
    /// First retry delay; doubled each time.
    pub backoff: Duration,
    pub timeout: Duration,
}

impl RerankSettings {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            attempts: 3,
            backoff: Duration::from_millis(250),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why passages could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum RerankError {
    #[error("cannot set up the reranker: {0}")]
    Setup(String),
    #[error("the reranking server failed: {0}")]
    Remote(String),
}

/// The remote reranker.
pub struct RemoteReranker {
    settings: RerankSettings,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Response {
    results: Vec<Scored>,
}

#[derive(Deserialize)]
struct Scored {
    index: usize,
    relevance_score: f64,
}

impl RemoteReranker {
    pub fn new(settings: RerankSettings) -> Result<Self, RerankError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| RerankError::Setup(e.to_string()))?;
        Ok(Self { settings, client })
    }

    pub fn model_name(&self) -> &str {
        &self.settings.model
    }

    /// One relevance score per passage, in the passages' order (higher is more relevant).
    pub async fn scores(&self, query: &str, passages: &[String]) -> Result<Vec<f64>, RerankError> {
        if passages.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({
            "model": self.settings.model,
            "query": query,
            "documents": passages,
            "top_n": passages.len(),
            "return_documents": false,
        });
        let url = format!("{}/rerank", self.settings.base_url.trim_end_matches('/'));
        let key = self.settings.api_key.as_deref();
        let response = post_json(&self.client, &url, key, &body, self.settings.attempts, self.settings.backoff)
            .await
            .map_err(RerankError::Remote)?;
        let parsed: Response = response.json().await.map_err(|e| RerankError::Remote(e.to_string()))?;
        let mut scores: Vec<Option<f64>> = vec![None; passages.len()];
        for scored in parsed.results {
            let slot = scores
                .get_mut(scored.index)
                .ok_or_else(|| RerankError::Remote(format!("answered index {} of {}", scored.index, passages.len())))?;
            *slot = Some(scored.relevance_score);
        }
        scores
            .into_iter()
            .enumerate()
            .map(|(i, score)| score.ok_or_else(|| RerankError::Remote(format!("no score for passage {i}"))))
            .collect()
    }
}
