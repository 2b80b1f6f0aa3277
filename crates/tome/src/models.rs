//! Which models this process uses, from the configuration: the embedder (an
//! OpenAI-compatible server when `TOME_EMBED_BASE_URL` is set, else MiniLM from
//! `TOME_EMBED_MODEL_DIR` or `<data>/models/all-MiniLM-L6-v2`, else none), the chat models
//! (`TOME_LLM_*`, `TOME_CHAT_MODEL`; the extractive answerer otherwise), and the report that
//! `tome models` prints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use tome_config::Config;
use tome_models::chat::ChatModel;
use tome_models::embed::Embedder;
use tome_models::gguf_chat::LocalChatModel;
use tome_models::minilm::{self, MiniLm};
use tome_models::openai::{RemoteEmbedder, RemoteSettings};
use tome_models::openai_chat::{RemoteChatModel, RemoteChatSettings};
use tome_models::transcribe::{LocalTranscriber, RemoteTranscriber, RemoteTranscriberSettings, Transcriber};
use tome_models::whisper::{self, LocalWhisper};

/// Where the embedder comes from.
#[derive(Debug)]
pub enum EmbedSource {
    Remote(RemoteSettings),
    /// A local folder; `explicit` when the configuration named it (then it must load).
    Local {
        dir: PathBuf,
        explicit: bool,
    },
}

/// The configured embedder's source.
pub fn embed_source(config: &Config) -> anyhow::Result<EmbedSource> {
    if let Some(base_url) = &config.embed_base_url {
        let Some(model) = config.embed_model.clone() else {
            bail!("TOME_EMBED_BASE_URL is set, so TOME_EMBED_MODEL must name the server's embedding model");
        };
        let mut settings = RemoteSettings::new(base_url.clone(), model);
        settings.api_key = config.embed_api_key.as_ref().map(|key| key.expose_secret().to_owned());
        settings.dimensions = config.embed_dimensions.map(|d| d as usize);
        return Ok(EmbedSource::Remote(settings));
    }
    Ok(match &config.embed_model_dir {
        Some(dir) => EmbedSource::Local { dir: dir.clone(), explicit: true },
        None => EmbedSource::Local { dir: config.data_dir.join("models").join("all-MiniLM-L6-v2"), explicit: false },
    })
}

/// The embedder to use, or None (keyword search only) when no model is configured and the
/// default folder holds none. A model that is configured but cannot be loaded is an error.
pub fn load_embedder(config: &Config) -> anyhow::Result<Option<Arc<dyn Embedder>>> {
    match embed_source(config)? {
        EmbedSource::Remote(settings) => {
            tracing::info!(base_url = %settings.base_url, model = %settings.model, "embedding with a remote server");
            Ok(Some(Arc::new(RemoteEmbedder::new(settings)?)))
        }
        EmbedSource::Local { dir, explicit: false } if !minilm::present(&dir) => {
            tracing::warn!(
                folder = %dir.display(),
                "no embedding model: documents are searchable by keywords only until one is installed \
                 (TOME_EMBED_MODEL_DIR) and `tome reindex` runs"
            );
            Ok(None)
        }
        EmbedSource::Local { dir, .. } => {
            let started = Instant::now();
            let model = MiniLm::load(&dir).with_context(|| format!("TOME_EMBED_MODEL_DIR {}", dir.display()))?;
            tracing::info!(folder = %dir.display(), ms = started.elapsed().as_millis() as u64, "embedding model loaded");
            Ok(Some(Arc::new(model)))
        }
    }
}

/// The chat models offered, default first: the OpenAI-compatible server when
/// `TOME_LLM_BASE_URL` is set, then the local GGUF model of `TOME_CHAT_MODEL`. The extractive
/// answerer is always offered after them (by the assistant itself).
pub fn load_chat_models(config: &Config) -> anyhow::Result<Vec<Arc<dyn ChatModel>>> {
    let mut models: Vec<Arc<dyn ChatModel>> = Vec::new();
    if let Some(base_url) = &config.llm_base_url {
        let Some(model) = config.llm_model.clone() else {
            bail!("TOME_LLM_BASE_URL is set, so TOME_LLM_MODEL must name the server's chat model");
        };
        let mut settings = RemoteChatSettings::new(base_url.clone(), model);
        settings.api_key = config.llm_api_key.as_ref().map(|key| key.expose_secret().to_owned());
        tracing::info!(base_url = %tome_config::redact_url(base_url), model = %settings.model, "answering with a chat server");
        models.push(Arc::new(RemoteChatModel::new(settings)?));
    }
    if let Some(path) = &config.chat_model {
        let started = Instant::now();
        let model = LocalChatModel::load(path).with_context(|| format!("TOME_CHAT_MODEL {}", path.display()))?;
        tracing::info!(file = %path.display(), model = model.name(), ms = started.elapsed().as_millis() as u64,
            "local chat model loaded");
        models.push(Arc::new(model));
    }
    if models.is_empty() {
        tracing::info!("no chat model is configured: answers are extractive (TOME_LLM_BASE_URL, TOME_CHAT_MODEL)");
    }
    Ok(models)
}

/// The transcriber: the OpenAI-compatible server when `TOME_STT_BASE_URL` is set, else the
/// local Whisper folder of `TOME_WHISPER_MODEL_DIR`, else none.
pub fn load_transcriber(config: &Config) -> anyhow::Result<Option<Arc<dyn Transcriber>>> {
    if let Some(base_url) = &config.stt_base_url {
        let model = config.stt_model.clone().unwrap_or_else(|| "whisper-1".to_owned());
        let mut settings = RemoteTranscriberSettings::new(base_url.clone(), model);
        settings.api_key = config.stt_api_key.as_ref().map(|key| key.expose_secret().to_owned());
        tracing::info!(base_url = %tome_config::redact_url(base_url), model = %settings.model, "transcribing with a server");
        return Ok(Some(Arc::new(RemoteTranscriber::new(settings)?)));
    }
    let Some(dir) = &config.whisper_model_dir else { return Ok(None) };
    let started = Instant::now();
    let model = LocalTranscriber::load(dir).with_context(|| format!("TOME_WHISPER_MODEL_DIR {}", dir.display()))?;
    tracing::info!(folder = %dir.display(), model = model.name(), ms = started.elapsed().as_millis() as u64,
        "local transcription model loaded");
    Ok(Some(Arc::new(model)))
}

/// `tome models`: every model setting, whether its files are there and whether it loads.
/// Returns false when a configured model is unusable.
pub async fn report(config: &Config) -> anyhow::Result<bool> {
    let mut healthy = true;
    println!("embeddings:");
    match embed_source(config) {
        Err(error) => {
            healthy = false;
            println!("  misconfigured: {error:#}");
        }
        Ok(EmbedSource::Remote(settings)) => {
            println!("  server:  {} (model {})", tome_config::redact_url(&settings.base_url), settings.model);
            healthy &= probe(RemoteEmbedder::new(settings).map(|e| Arc::new(e) as Arc<dyn Embedder>)).await;
        }
        Ok(EmbedSource::Local { dir, explicit }) => {
            let origin = if explicit { "TOME_EMBED_MODEL_DIR" } else { "default folder" };
            println!("  folder:  {} ({origin})", dir.display());
            let missing: Vec<&str> = minilm::FILES.iter().copied().filter(|f| !dir.join(f).is_file()).collect();
            if missing.is_empty() {
                println!("  found:   yes");
                healthy &= probe(MiniLm::load(&dir).map(|e| Arc::new(e) as Arc<dyn Embedder>)).await;
            } else {
                println!("  found:   no (missing {})", missing.join(", "));
                println!(
                    "  status:  documents are searchable by keywords only; install the model and run `tome reindex`"
                );
                healthy &= !explicit;
            }
        }
    }
    println!("chat (local GGUF):");
    match &config.chat_model {
        None => println!("  not configured (TOME_CHAT_MODEL; answers are extractive without a chat model)"),
        Some(path) => {
            println!("  file:    {}", path.display());
            let found = path.is_file();
            println!("  found:   {}", if found { "yes" } else { "no" });
            healthy &= found && probe_chat(path).await;
        }
    }
    println!("transcription (local Whisper):");
    match &config.whisper_model_dir {
        None => println!("  not configured (TOME_WHISPER_MODEL_DIR)"),
        Some(dir) => {
            println!("  folder:  {}", dir.display());
            let missing: Vec<&str> = whisper::FILES.iter().copied().filter(|f| !dir.join(f).is_file()).collect();
            if missing.is_empty() {
                println!("  found:   yes");
                let started = Instant::now();
                match LocalWhisper::load(dir) {
                    Ok(model) => println!(
                        "  loads:   yes: {} ({}) in {} ms",
                        model.name(),
                        if model.multilingual() { "multilingual" } else { "English only" },
                        started.elapsed().as_millis()
                    ),
                    Err(error) => {
                        healthy = false;
                        println!("  loads:   no: {error}");
                    }
                }
            } else {
                healthy = false;
                println!("  found:   no (missing {})", missing.join(", "));
            }
        }
    }
    let servers = [
        ("chat server", "TOME_LLM_BASE_URL", &config.llm_base_url, &config.llm_model),
        ("transcription server", "TOME_STT_BASE_URL", &config.stt_base_url, &config.stt_model),
        ("reranking server", "TOME_RERANK_BASE_URL", &config.rerank_base_url, &config.rerank_model),
    ];
    for (what, key, url, model) in servers {
        match url {
            None => println!("{what}: not configured ({key})"),
            Some(url) => {
                println!("{what}: {} (model {})", tome_config::redact_url(url), model.as_deref().unwrap_or("unset"))
            }
        }
    }
    Ok(healthy)
}

/// Loads and runs an embedder once, printing what happened; true when it works.
async fn probe(loaded: Result<Arc<dyn Embedder>, tome_models::embed::EmbedError>) -> bool {
    let embedder = match loaded {
        Ok(embedder) => embedder,
        Err(error) => {
            println!("  loads:   no: {error}");
            return false;
        }
    };
    let started = Instant::now();
    match embedder.embed(vec!["Tome checks that its embedding model works.".into()]).await {
        Ok(vectors) => {
            let dimensions = vectors.first().map_or(0, Vec::len);
            println!(
                "  loads:   yes: {} gives {dimensions}-dimensional vectors ({} ms for one sentence)",
                embedder.model_name(),
                started.elapsed().as_millis()
            );
            true
        }
        Err(error) => {
            println!("  loads:   no: {error}");
            false
        }
    }
}

/// Loads the local chat model and has it write a few tokens, printing what happened; true
/// when it works.
async fn probe_chat(path: &std::path::Path) -> bool {
    let started = Instant::now();
    let model = match LocalChatModel::load(path) {
        Ok(model) => model,
        Err(error) => {
            println!("  loads:   no: {error}");
            return false;
        }
    };
    let loaded = started.elapsed();
    let request = tome_models::chat::ChatRequest {
        messages: vec![tome_models::chat::ChatMessage::new(tome_models::chat::ChatRole::User, "Say hello.")],
        temperature: 0.0,
        max_tokens: 8,
        question: "Say hello.".into(),
        passages: Vec::new(),
        tools: Vec::new(),
    };
    let started = Instant::now();
    match tome_models::chat::complete(&model, request).await {
        Ok((text, usage)) => {
            println!(
                "  loads:   yes: {} (context {} tokens) loaded in {} ms, wrote {} tokens in {} ms: {:?}",
                model.name(),
                model.context_tokens(),
                loaded.as_millis(),
                usage.output_tokens,
                started.elapsed().as_millis(),
                text.trim()
            );
            true
        }
        Err(error) => {
            println!("  loads:   no: {error}");
            false
        }
    }
}
