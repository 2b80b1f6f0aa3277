//! A local GGUF chat model (the llama architecture — SmolLM2, Llama 3.2, … — and Qwen2 /
//! Qwen2.5) run in-process with candle from `TOME_CHAT_MODEL`. Everything the model needs comes from the one file: the
//! weights, the byte-level BPE tokenizer (see `gguf_tokenizer`), the chat template
//! (`tokenizer.chat_template`, rendered with minijinja; ChatML when absent) and the stop
//! tokens. Generation runs on its own thread, one at a time (each uses every core), and
//! stops at the next token once the caller drops the stream.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::{quantized_llama, quantized_qwen2};
use tokenizers::Tokenizer;
use tokio::sync::{Semaphore, mpsc};

use crate::chat::{ChatError, ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, Usage};
use crate::gguf_tokenizer;
use crate::tokens::TokenCounter;

/// The context used when the file names none, and the most Tome asks of a CPU model:
/// prompt processing runs at tens of tokens per second, so a longer prompt would only wait.
const MAX_CONTEXT: usize = 4096;
/// The longest answer asked of the model.
const MAX_OUTPUT: usize = 1024;
/// Penalty on tokens among the last `REPEAT_WINDOW` (small models loop without it).
const REPEAT_PENALTY: f32 = 1.1;
const REPEAT_WINDOW: usize = 64;

/// The ChatML template, used when the file carries none.
const CHATML: &str = "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n\
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// The weights of one of the architectures read.
enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
}

impl Weights {
    fn forward(&mut self, input: &Tensor, position: usize) -> candle_core::Result<Tensor> {
        match self {
            Self::Llama(model) => model.forward(input, position),
            Self::Qwen2(model) => model.forward(input, position),
        }
    }

    fn clear(&mut self) {
        match self {
            Self::Llama(model) => model.clear_kv_cache(),
            Self::Qwen2(model) => model.clear_kv_cache(),
        }
    }
}

struct Loaded {
    /// One generation at a time uses them (see `running`).
    weights: std::sync::Mutex<Weights>,
    tokenizer: Arc<Tokenizer>,
    template: String,
    bos: String,
    eos: String,
    stops: Vec<u32>,
    context: usize,
}

/// The in-process GGUF chat model.
#[derive(Clone)]
pub struct LocalChatModel {
    name: String,
    loaded: Arc<Loaded>,
    counter: Arc<GgufTokens>,
    /// One generation at a time.
    running: Arc<Semaphore>,
    /// Tokens written since loading, by every generation.
    written: Arc<AtomicU64>,
}

impl std::fmt::Debug for LocalChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChatModel").field("name", &self.name).field("context", &self.loaded.context).finish()
    }
}

fn load_error(path: &Path, error: impl std::fmt::Display) -> ChatError {
    ChatError::Load(format!("{}: {error}", path.display()))
}

impl LocalChatModel {
    /// Loads the GGUF file at `path`; the model is named after the file (without `.gguf`).
    pub fn load(path: &Path) -> Result<Self, ChatError> {
        let mut file = std::fs::File::open(path).map_err(|error| load_error(path, error))?;
        let content = gguf_file::Content::read(&mut file).map_err(|error| load_error(path, error))?;
        let metadata = &content.metadata;
        let text = |key: &str| metadata.get(key).and_then(|value| value.to_string().ok()).cloned();
        let architecture = text("general.architecture").unwrap_or_default();
        if !matches!(architecture.as_str(), "llama" | "qwen2") {
            return Err(load_error(
                path,
                format!("architecture {architecture:?} is not supported (llama and qwen2 models only)"),
            ));
        }
        let tokenizer = gguf_tokenizer::from_metadata(metadata).map_err(|error| load_error(path, error))?;
        let token = |key: &str| {
            metadata.get(key).and_then(|value| value.to_u32().ok()).and_then(|id| tokenizer.id_to_token(id))
        };
        let bos = token("tokenizer.ggml.bos_token_id").unwrap_or_default();
        let eos = token("tokenizer.ggml.eos_token_id").unwrap_or_default();
        // Stop at the end of turn as the template writes it, and at the end-of-text token.
        let stops: Vec<u32> = ["<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", eos.as_str()]
            .iter()
            .filter_map(|marker| tokenizer.token_to_id(marker))
            .collect();
        if stops.is_empty() {
            return Err(load_error(path, "the file names no end-of-turn token"));
        }
        let context = metadata
            .get(&format!("{architecture}.context_length"))
            .and_then(|value| value.to_u32().ok())
            .map_or(MAX_CONTEXT, |length| (length as usize).min(MAX_CONTEXT));
        let template = text("tokenizer.chat_template").unwrap_or_else(|| CHATML.to_owned());
        let weights = match architecture.as_str() {
            "qwen2" => quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).map(Weights::Qwen2),
            _ => quantized_llama::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).map(Weights::Llama),
        }
        .map_err(|error| load_error(path, error))?;
        let tokenizer = Arc::new(tokenizer);
        let name = path.file_stem().map_or_else(|| "local".to_owned(), |stem| stem.to_string_lossy().into_owned());
        let loaded = Loaded {
            weights: std::sync::Mutex::new(weights),
            tokenizer: tokenizer.clone(),
            template,
            bos,
            eos,
            stops,
            context,
        };
        // The template must render before the model is offered.
        render(&loaded, &[ChatMessage::new(crate::chat::ChatRole::User, "test")])
            .map_err(|error| load_error(path, error))?;
        Ok(Self {
            name,
            loaded: Arc::new(loaded),
            counter: Arc::new(GgufTokens(tokenizer)),
            running: Arc::new(Semaphore::new(1)),
            written: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Tokens written since loading, by every generation (an abandoned one stops adding).
    pub fn tokens_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The prompt `messages` make, as the model's chat template writes it.
    pub fn prompt(&self, messages: &[ChatMessage]) -> Result<String, ChatError> {
        render(&self.loaded, messages)
    }
}

/// The chat template applied to `messages`, with the generation prompt.
fn render(loaded: &Loaded, messages: &[ChatMessage]) -> Result<String, ChatError> {
    let mut environment = minijinja::Environment::new();
    // Whitespace as Hugging Face renders chat templates (trim_blocks, lstrip_blocks).
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|error| ChatError::Generation(format!("template syntax: {error}")))?;
    environment.set_syntax(syntax);
    minijinja_contrib::add_to_environment(&mut environment);
    environment.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    environment.add_function("raise_exception", |message: String| -> Result<String, minijinja::Error> {
        Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message))
    });
    let template = environment
        .template_from_str(&loaded.template)
        .map_err(|error| ChatError::Generation(format!("the chat template does not parse: {error}")))?;
    let messages: Vec<minijinja::Value> = messages
        .iter()
        .map(|message| minijinja::context! { role => message.role.as_str(), content => &message.content })
        .collect();
    template
        .render(minijinja::context! {
            messages => messages,
            add_generation_prompt => true,
            bos_token => &loaded.bos,
            eos_token => &loaded.eos,
        })
        .map_err(|error| ChatError::Generation(format!("the chat template failed: {error}")))
}

/// Counts tokens with the model's own tokenizer.
struct GgufTokens(Arc<Tokenizer>);

impl TokenCounter for GgufTokens {
    fn count(&self, text: &str) -> usize {
        self.0.encode(text, false).map_or(0, |encoding| encoding.len())
    }

    fn name(&self) -> &str {
        "gguf"
    }
}

#[async_trait]
impl ChatModel for LocalChatModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn context_tokens(&self) -> usize {
        self.loaded.context
    }

    fn max_output_tokens(&self) -> usize {
        MAX_OUTPUT.min(self.loaded.context / 2)
    }

    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        self.counter.clone()
    }

    async fn generate(&self, request: ChatRequest) -> Result<ChatStream, ChatError> {
        let prompt = self.prompt(&request.messages)?;
        let ids = self
            .loaded
            .tokenizer
            .encode(prompt.as_str(), false)
            .map_err(|error| ChatError::Generation(error.to_string()))?
            .get_ids()
            .to_vec();
        if ids.len() >= self.loaded.context {
            return Err(ChatError::Generation(format!(
                "the prompt ({} tokens) does not fit the model's context ({} tokens)",
                ids.len(),
                self.loaded.context
            )));
        }
        let max_tokens = request.max_tokens.clamp(1, self.loaded.context - ids.len());
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ChatError::Generation("the model is shutting down".into()))?;
        let (sender, receiver) = mpsc::channel(64);
        let loaded = self.loaded.clone();
        let written = self.written.clone();
        let temperature = request.temperature;
        std::thread::Builder::new()
            .name("tome-gguf".into())
            .spawn(move || {
                let _permit = permit;
                let outcome = run(&loaded, ids, max_tokens, temperature, &sender, &written);
                if let Err(error) = outcome {
                    let _ = sender.blocking_send(Err(error));
                }
            })
            .map_err(|error| ChatError::Generation(format!("cannot start a generation thread: {error}")))?;
        Ok(Box::pin(tokio_stream(receiver)))
    }
}

fn tokio_stream(
    mut receiver: mpsc::Receiver<Result<ChatEvent, ChatError>>,
) -> impl futures::Stream<Item = Result<ChatEvent, ChatError>> + Send {
    futures::stream::poll_fn(move |context| receiver.poll_recv(context))
}

fn candle(error: candle_core::Error) -> ChatError {
    ChatError::Generation(error.to_string())
}

/// The generation loop: the prompt in one pass, then a token at a time until a stop token,
/// `max_tokens`, or a receiver that is gone.
fn run(
    loaded: &Loaded,
    prompt: Vec<u32>,
    max_tokens: usize,
    temperature: f64,
    sender: &mpsc::Sender<Result<ChatEvent, ChatError>>,
    counter: &AtomicU64,
) -> Result<(), ChatError> {
    let mut weights = loaded.weights.lock().map_err(|_| ChatError::Generation("the model is unusable".into()))?;
    weights.clear();
    let sampling = if temperature <= 0.0 { Sampling::ArgMax } else { Sampling::TopP { p: 0.9, temperature } };
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut sampler = LogitsProcessor::from_sampling(seed, sampling);
    let mut tokens = prompt.clone();
    let mut written: Vec<u32> = Vec::new();
    let mut emitted = 0usize;
    let mut position = 0usize;
    let mut input = prompt;
    while written.len() < max_tokens {
        if sender.is_closed() {
            return Ok(());
        }
        let tensor = Tensor::new(input.as_slice(), &Device::Cpu).and_then(|t| t.unsqueeze(0)).map_err(candle)?;
        let logits = weights.forward(&tensor, position).map_err(candle)?;
        position += input.len();
        let logits = logits.squeeze(0).map_err(candle)?;
        let window = &tokens[tokens.len().saturating_sub(REPEAT_WINDOW)..];
        let logits =
            candle_transformers::utils::apply_repeat_penalty(&logits, REPEAT_PENALTY, window).map_err(candle)?;
        let next = sampler.sample(&logits).map_err(candle)?;
        if loaded.stops.contains(&next) {
            break;
        }
        tokens.push(next);
        written.push(next);
        counter.fetch_add(1, Ordering::Relaxed);
        input = vec![next];
        // Emit what decodes completely: a character split over tokens waits for its rest.
        let text = loaded.tokenizer.decode(&written, true).map_err(|error| ChatError::Generation(error.to_string()))?;
        if text.len() > emitted && !text.ends_with('\u{FFFD}') && text.is_char_boundary(emitted) {
            let delta = text[emitted..].to_owned();
            emitted = text.len();
            if sender.blocking_send(Ok(ChatEvent::Delta(delta))).is_err() {
                return Ok(());
            }
        }
    }
    let usage = Usage { input_tokens: tokens.len() - written.len(), output_tokens: written.len() };
    let _ = sender.blocking_send(Ok(ChatEvent::Done(usage)));
    Ok(())
}
