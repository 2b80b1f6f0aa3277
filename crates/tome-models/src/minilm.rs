//! all-MiniLM-L6-v2 (or any BERT sentence-transformer with mean pooling) run in-process with
//! candle, from a local folder holding `model.safetensors`, `tokenizer.json` and
//! `config.json`. Inputs are sorted by length and run in batches so that padding stays
//! small; candle's CPU kernels use every core. `embed` hands its texts to one embedding
//! thread that joins concurrent callers' texts into shared batches; nothing runs on the
//! async threads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::embed::{EmbedError, Embedder, normalize};
use crate::tokens::TokenCounter;

/// The sentence-transformers input limit of all-MiniLM-L6-v2.
pub const MAX_TOKENS: usize = 256;
/// Inputs of full length per forward pass; shorter inputs go more to a pass, up to the same
/// number of tokens (`BATCH_TOKENS`) and at most `MAX_BATCH` inputs.
const BATCH: usize = 32;
const BATCH_TOKENS: usize = BATCH * MAX_TOKENS;
const MAX_BATCH: usize = 256;

/// The files a model folder must hold.
pub const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// Whether `dir` holds a loadable model's files (it may still fail to load).
pub fn present(dir: &Path) -> bool {
    FILES.iter().all(|file| dir.join(file).is_file())
}

struct Model {
    /// One forward pass at a time: each already uses every core, so concurrent ones (two
    /// workers embedding two documents) would only contend for them.
    running: std::sync::Mutex<()>,
    bert: BertModel,
    /// Truncates to `MAX_TOKENS` and pads each batch to its longest input.
    batching: Tokenizer,
    hidden: usize,
}

/// The in-process MiniLM embedder.
#[derive(Clone)]
pub struct MiniLm {
    model: Arc<Model>,
    counter: Arc<WordPieces>,
    name: String,
    /// Requests of `embed`, coalesced by one thread (see `coalesce`).
    queue: std::sync::mpsc::Sender<Request>,
}

/// Texts to embed for one caller, and where its vectors go.
struct Request {
    texts: Vec<String>,
    reply: tokio::sync::oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>,
}

/// Texts the embedding thread joins at most before a pass.
const COALESCE: usize = 4 * BATCH;

/// The embedding thread: takes a request, adds whatever other requests are already waiting
/// (up to `COALESCE` texts), embeds them together and hands each caller its vectors. A short
/// document has two or three chunks; embedded alone they make batches too small to keep
/// both cores busy, while several documents' chunks together fill a batch. Ends when the
/// last `MiniLm` clone is dropped.
fn coalesce(model: MiniLm, requests: std::sync::mpsc::Receiver<Request>) {
    while let Ok(first) = requests.recv() {
        let mut taken = vec![first];
        let mut count = taken[0].texts.len();
        while count < COALESCE {
            match requests.try_recv() {
                Ok(more) => {
                    count += more.texts.len();
                    taken.push(more);
                }
                Err(_) => break,
            }
        }
        let mut texts = Vec::with_capacity(count);
        let mut replies = Vec::with_capacity(taken.len());
        for request in taken {
            replies.push((request.texts.len(), request.reply));
            texts.extend(request.texts);
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.embed_blocking(&texts)))
            .unwrap_or_else(|_| Err(EmbedError::Inference("the model panicked".into())));
        match outcome {
            Ok(vectors) => {
                let mut vectors = vectors.into_iter();
                for (len, reply) in replies {
                    // A caller that went away no longer wants its vectors.
                    let _ = reply.send(Ok(vectors.by_ref().take(len).collect()));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for (_, reply) in replies {
                    let _ = reply.send(Err(EmbedError::Inference(message.clone())));
                }
            }
        }
    }
}

fn load_error(what: &Path, error: impl std::fmt::Display) -> EmbedError {
    EmbedError::Load(format!("{}: {error}", what.display()))
}

impl MiniLm {
    /// Loads the model in `dir`; its folder name is the model's name.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        for file in FILES {
            if !dir.join(file).is_file() {
                return Err(EmbedError::Load(format!("{} has no {file}", dir.display())));
            }
        }
        let config_path = dir.join("config.json");
        let config_text = std::fs::read_to_string(&config_path).map_err(|e| load_error(&config_path, e))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| load_error(&config_path, e))?;
        let hidden = config.hidden_size;
        let weights: PathBuf = dir.join("model.safetensors");
        // The safe loader reads the file into memory (no mmap), so no unsafe code is needed.
        let tensors = candle_core::safetensors::load(&weights, &Device::Cpu).map_err(|e| load_error(&weights, e))?;
        let builder = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let bert = BertModel::load(builder, &config).map_err(|e| load_error(&weights, e))?;
        let tokenizer_path = dir.join("tokenizer.json");
        let plain = Tokenizer::from_file(&tokenizer_path).map_err(|e| load_error(&tokenizer_path, e))?;
        let mut batching = plain.clone();
        batching
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..TruncationParams::default() }))
            .map_err(|e| load_error(&tokenizer_path, e))?;
        batching
            .with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..PaddingParams::default() }));
        let mut counting = plain;
        counting.with_truncation(None).map_err(|e| load_error(&tokenizer_path, e))?;
        counting.with_padding(None);
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "minilm".into());
        let (queue, requests) = std::sync::mpsc::channel();
        let embedder = Self {
            model: Arc::new(Model { running: std::sync::Mutex::new(()), bert, batching, hidden }),
            counter: Arc::new(WordPieces(counting)),
            name,
            queue,
        };
        // The thread holds the model but not the queue's sender, so it ends with the last clone.
        let worker = Self { queue: std::sync::mpsc::channel().0, ..embedder.clone() };
        std::thread::Builder::new()
            .name("minilm".into())
            .spawn(move || coalesce(worker, requests))
            .map_err(|e| EmbedError::Load(format!("cannot start the embedding thread: {e}")))?;
        Ok(embedder)
    }

    /// Embeds on the calling thread (CPU-bound).
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Sorted by length, so that each batch pads little; batches hold up to
        // `BATCH_TOKENS` tokens (padding included), so that short texts go many to a pass:
        // every pass has a fixed cost (each operation's thread hand-off), worth amortizing.
        let lengths: Vec<usize> = texts.iter().map(|t| self.counter.count(t).clamp(1, MAX_TOKENS)).collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| lengths[i]);
        let mut vectors = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            // Sorted ascending: the last text of a batch is its longest.
            while end < order.len()
                && (end + 1 - start) * lengths[order[end]] <= BATCH_TOKENS
                && end - start < MAX_BATCH
            {
                end += 1;
            }
            let batch = &order[start..end];
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
            // A poisoned lock only means another pass panicked; the model is unchanged.
            let _running = self.model.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let embedded = self.model.forward(&inputs).map_err(|e| EmbedError::Inference(e.to_string()))?;
            for (&index, vector) in batch.iter().zip(embedded) {
                vectors[index] = vector;
            }
            start = end;
        }
        Ok(vectors)
    }
}

impl Model {
    /// Mean of the token vectors under the attention mask, scaled to unit length.
    fn forward(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error + Send + Sync>> {
        let encodings = self.batching.encode_batch(inputs.to_vec(), true)?;
        let length = encodings.first().map(|e| e.get_ids().len()).unwrap_or(0);
        let ids: Vec<u32> = encodings.iter().flat_map(|e| e.get_ids().iter().copied()).collect();
        let mask: Vec<u32> = encodings.iter().flat_map(|e| e.get_attention_mask().iter().copied()).collect();
        let device = Device::Cpu;
        let ids = Tensor::from_vec(ids, (inputs.len(), length), &device)?;
        let mask = Tensor::from_vec(mask, (inputs.len(), length), &device)?;
        let types = ids.zeros_like()?;
        let hidden = self.bert.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let mut rows: Vec<Vec<f32>> = mean.to_vec2()?;
        for row in &mut rows {
            debug_assert_eq!(row.len(), self.hidden);
            normalize(row);
        }
        Ok(rows)
    }
}

#[async_trait]
impl Embedder for MiniLm {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn dimensions(&self) -> Option<usize> {
        Some(self.model.hidden)
    }

    fn max_tokens(&self) -> usize {
        MAX_TOKENS
    }

    fn token_counter(&self) -> Option<Arc<dyn TokenCounter>> {
        Some(self.counter.clone())
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || EmbedError::Inference("the embedding thread stopped".into());
        self.queue.send(Request { texts, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Counts WordPiece tokens with the model's own tokenizer (special tokens included).
struct WordPieces(Tokenizer);

impl TokenCounter for WordPieces {
    fn count(&self, text: &str) -> usize {
        self.0.encode_fast(text, true).map(|e| e.get_ids().len()).unwrap_or_else(|_| text.len() / 4)
    }

    fn name(&self) -> &str {
        "wordpiece"
    }
}
