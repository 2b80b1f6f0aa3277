//! Any OpenAI-compatible `/v1/embeddings` server (OpenAI, vLLM, llama.cpp, Ollama, TEI…):
//! inputs in batches, retried with exponential backoff (or the server's `Retry-After`) on
//! 429, 5xx and connection failures, vectors put back in input order and scaled to unit
//! length.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::embed::{EmbedError, Embedder, normalize};
use crate::retry::post_json;
use crate::tokens::TokenCounter;

/// How to reach the server.
#[derive(Clone, Debug)]
pub struct RemoteSettings {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Asked of models that can shorten their vectors (`dimensions`).
    pub dimensions: Option<usize>,
    /// Inputs per request.
    pub batch: usize,
    /// Tries per batch, the first included.
    pub attempts: u32,
    /// First retry delay; doubled each time.
    pub backoff: Duration,
    pub timeout: Duration,
    /// Input limit assumed for chunk sizes.
    pub max_tokens: usize,
}

impl RemoteSettings {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            dimensions: None,
            batch: 64,
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
            max_tokens: 512,
        }
    }
}

/// The remote embedder.
pub struct RemoteEmbedder {
    settings: RemoteSettings,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Vec<f32>,
}

impl RemoteEmbedder {
    pub fn new(settings: RemoteSettings) -> Result<Self, EmbedError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| EmbedError::Load(e.to_string()))?;
        Ok(Self { settings, client })
    }

    fn url(&self) -> String {
        format!("{}/embeddings", self.settings.base_url.trim_end_matches('/'))
    }

    async fn batch(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut body = json!({"model": self.settings.model, "input": inputs, "encoding_format": "float"});
        if let Some(dimensions) = self.settings.dimensions {
            body["dimensions"] = json!(dimensions);
        }
        let key = self.settings.api_key.as_deref();
        let response = post_json(&self.client, &self.url(), key, &body, self.settings.attempts, self.settings.backoff)
            .await
            .map_err(EmbedError::Remote)?;
        let parsed: Response = response.json().await.map_err(|e| EmbedError::Remote(e.to_string()))?;
        order(parsed, inputs.len())
    }
}

/// The vectors in input order, unit length; every input must have one.
fn order(response: Response, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; expected];
    for mut item in response.data {
        normalize(&mut item.embedding);
        let slot = vectors
            .get_mut(item.index)
            .ok_or_else(|| EmbedError::Remote(format!("answered index {} of {expected}", item.index)))?;
        *slot = Some(item.embedding);
    }
    vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| EmbedError::Remote(format!("no vector for input {i}"))))
        .collect()
}

#[async_trait]
impl Embedder for RemoteEmbedder {
    fn model_name(&self) -> &str {
        &self.settings.model
    }

    fn dimensions(&self) -> Option<usize> {
        self.settings.dimensions
    }

    fn max_tokens(&self) -> usize {
        self.settings.max_tokens
    }

    fn token_counter(&self) -> Option<Arc<dyn TokenCounter>> {
        None
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.settings.batch.max(1)) {
            vectors.extend(self.batch(batch).await?);
        }
        Ok(vectors)
    }
}
