//! all-MiniLM-L6-v2 (or any BERT sentence-transformer with mean pooling) run in-process from
//! a local folder holding `model.safetensors`, `tokenizer.json` and `config.json`. The
//! forward pass is `bert::Encoder`'s: inputs' tokens packed without padding, one pass per
//! core (a lane), each on its own share of the inputs. `embed` hands its texts to one
//! embedding thread that joins concurrent callers' texts into shared passes; nothing runs on
//! the async threads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use candle_core::Device;
use tokenizers::{Tokenizer, TruncationParams};

use crate::bert::{Config, Encoder};
use crate::embed::{EmbedError, Embedder, normalize};
use crate::tokens::TokenCounter;

/// The sentence-transformers input limit of all-MiniLM-L6-v2.
pub const MAX_TOKENS: usize = 256;
/// Tokens of one pass of one lane: enough rows for the matrix products to run at full
/// speed, few enough that a pass's activations (3,840 floats, 15 KiB, per token) stay near the cache.
const PASS_TOKENS: usize = 1024;

/// The files a model folder must hold.
pub const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// Whether `dir` holds a loadable model's files (it may still fail to load).
pub fn present(dir: &Path) -> bool {
    FILES.iter().all(|file| dir.join(file).is_file())
}

struct Model {
    /// One embedding call at a time: each already uses every core (see `lanes`), so
    /// concurrent ones (two workers embedding two documents) would only contend for them.
    running: std::sync::Mutex<()>,
    encoder: Encoder,
    /// Truncates to `MAX_TOKENS`; no padding, since the encoder packs its inputs.
    truncating: Tokenizer,
    /// Passes that run side by side, one per core.
    lanes: usize,
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
const COALESCE: usize = 128;

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
        let weights: PathBuf = dir.join("model.safetensors");
        // The safe loader reads the file into memory (no mmap), so no unsafe code is needed.
        let tensors = candle_core::safetensors::load(&weights, &Device::Cpu).map_err(|e| load_error(&weights, e))?;
        let encoder = Encoder::load(&config, tensors).map_err(|e| load_error(&weights, e))?;
        let tokenizer_path = dir.join("tokenizer.json");
        let mut plain = Tokenizer::from_file(&tokenizer_path).map_err(|e| load_error(&tokenizer_path, e))?;
        plain.with_padding(None);
        let mut truncating = plain.clone();
        let max_length = MAX_TOKENS.min(encoder.max_positions());
        truncating
            .with_truncation(Some(TruncationParams { max_length, ..TruncationParams::default() }))
            .map_err(|e| load_error(&tokenizer_path, e))?;
        let mut counting = plain;
        counting.with_truncation(None).map_err(|e| load_error(&tokenizer_path, e))?;
        let lanes = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "minilm".into());
        let (queue, requests) = std::sync::mpsc::channel();
        let embedder = Self {
            model: Arc::new(Model { running: std::sync::Mutex::new(()), encoder, truncating, lanes }),
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

    /// Embeds on the calling thread and one more thread per further core (CPU-bound).
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let model = &self.model;
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let encodings =
            model.truncating.encode_batch(inputs, true).map_err(|e| EmbedError::Inference(e.to_string()))?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        let passes = passes(&ids, model.lanes);
        let next = AtomicUsize::new(0);
        // Each lane takes the next pass not yet taken until none is left, so a lane that
        // drew short passes takes more of them.
        let lane = || -> Result<Embedded, EmbedError> {
            let mut done = Vec::new();
            while let Some(pass) = passes.get(next.fetch_add(1, Ordering::Relaxed)) {
                let inputs: Vec<&[u32]> = pass.iter().map(|&i| ids[i]).collect();
                let pooled = model.encoder.mean_pooled(&inputs).map_err(EmbedError::Inference)?;
                done.extend(pass.iter().copied().zip(pooled));
            }
            Ok(done)
        };
        // A poisoned lock only means another call panicked; the model is unchanged.
        let _running = model.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lanes = model.lanes.min(passes.len()).max(1);
        let results: Vec<Result<Embedded, EmbedError>> = std::thread::scope(|scope| {
            let others: Vec<_> = (1..lanes).map(|_| scope.spawn(lane)).collect();
            let mut results = vec![lane()];
            for other in others {
                results.push(
                    other.join().unwrap_or_else(|_| Err(EmbedError::Inference("an embedding lane panicked".into()))),
                );
            }
            results
        });
        let mut vectors = vec![Vec::new(); texts.len()];
        for result in results {
            for (index, mut vector) in result? {
                normalize(&mut vector);
                vectors[index] = vector;
            }
        }
        Ok(vectors)
    }
}

/// Vectors of one lane, each with its input's index.
type Embedded = Vec<(usize, Vec<f32>)>;

/// The inputs (by index) of each pass: consecutive inputs up to `PASS_TOKENS` tokens, and
/// at least as many passes as `lanes` when there are that many inputs, so that no core
/// idles on a small call.
fn passes(ids: &[&[u32]], lanes: usize) -> Vec<Vec<usize>> {
    let total: usize = ids.iter().map(|ids| ids.len()).sum();
    let budget = PASS_TOKENS.min(total.div_ceil(lanes.max(1))).max(1);
    let mut passes: Vec<Vec<usize>> = Vec::new();
    let mut tokens = 0;
    for (index, input) in ids.iter().enumerate() {
        match passes.last_mut() {
            Some(pass) if tokens + input.len() <= budget => pass.push(index),
            _ => {
                passes.push(vec![index]);
                tokens = 0;
            }
        }
        tokens += input.len();
    }
    passes
}

#[async_trait]
impl Embedder for MiniLm {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn dimensions(&self) -> Option<usize> {
        Some(self.model.encoder.hidden())
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
