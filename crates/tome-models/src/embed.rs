//! The `Embedder` trait: texts in, one unit-length vector per text out, in order.

use std::sync::Arc;

use async_trait::async_trait;

use crate::tokens::TokenCounter;

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the embedding model cannot be loaded: {0}")]
    Load(String),
    #[error("embedding failed: {0}")]
    Inference(String),
    #[error("the embedding server failed: {0}")]
    Remote(String),
}

/// A sentence-embedding model.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// The name stored with each vector (`embedding_model`); a different name means the
    /// vectors are not comparable and documents need embedding again.
    fn model_name(&self) -> &str;
    /// Vector length, when known before the first call.
    fn dimensions(&self) -> Option<usize>;
    /// Most tokens of one input; longer inputs are cut.
    fn max_tokens(&self) -> usize;
    /// The model's own tokenizer, when it has one locally.
    fn token_counter(&self) -> Option<Arc<dyn TokenCounter>>;
    /// One vector per text, in the same order. CPU-heavy work runs off the async threads.
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Scales a vector to unit length (cosine similarity becomes a dot product).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 { 0.0 } else { dot / denominator }
}
