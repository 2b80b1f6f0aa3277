//! Chat at scale, over the real server on a loopback socket: a knowledge base of CHUNKS
//! synthetic chunks (default 100,000; see `tome_testkit::corpus`) and a chat model that
//! answers at once (or at a set pace), so that what is timed is Tome's own work. Prints:
//!
//! - own time per turn (HTTP, auth, storing the question, hybrid retrieval, prompt, storing
//!   the answer and moving the branch), p50/p99, with the retrieval part from the stored
//!   `metadata.retrieval_ms`;
//! - time to the first streamed byte of an answer after the model's first token, p50/p99;
//! - 200 concurrent streaming conversations (20 pieces 25 ms apart each): errors and
//!   latency.
//!
//! Query vectors come from a synthetic embedder (a lookup), since the embedding model's
//! time is the model's, like the chat model's.
//!
//!   scripts/bench-chat [CHUNKS] [sqlite|postgres|both]

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use tome_domain::repo::{SearchRepo, StoreAdmin, TenantRepo, UserRepo};
use tome_models::chat::{ChatError, ChatEvent, ChatModel, ChatRequest, ChatStream, Usage};
use tome_models::embed::{EmbedError, Embedder};
use tome_models::tokens::{EstimatedTokens, TokenCounter};
use tome_store::Backend;
use tome_testkit::corpus::{self, Corpus, DIMS, Error, MODEL, Rng, TOPICS, percentile};
use tome_testkit::{TestApp, TestDb};

const CONVERSATIONS: usize = 20;
const TURNS_PER_CONVERSATION: usize = 10;
const FIRST_BYTE_TURNS: usize = 100;
const CONCURRENT: usize = 200;

/// Query vectors without a model: a vector near the topic the text hashes to.
struct SyntheticEmbedder {
    corpus: Arc<Corpus>,
}

#[async_trait]
impl Embedder for SyntheticEmbedder {
    fn model_name(&self) -> &str {
        MODEL
    }
    fn dimensions(&self) -> Option<usize> {
        Some(DIMS)
    }
    fn max_tokens(&self) -> usize {
        256
    }
    fn token_counter(&self) -> Option<Arc<dyn TokenCounter>> {
        None
    }
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts
            .iter()
            .map(|text| {
                let hash = text
                    .bytes()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
                let mut rng = Rng(hash);
                self.corpus.near(rng.below(TOPICS), &mut rng)
            })
            .collect())
    }
}

/// A chat model that writes `pieces` pieces `pace` apart, noting when it wrote its first.
struct PacedModel {
    pieces: usize,
    pace: Mutex<Duration>,
    first_token: Arc<Mutex<Option<Instant>>>,
}

#[async_trait]
impl ChatModel for PacedModel {
    fn name(&self) -> &str {
        "bench-model"
    }
    fn context_tokens(&self) -> usize {
        8192
    }
    fn max_output_tokens(&self) -> usize {
        1024
    }
    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        Arc::new(EstimatedTokens)
    }
    async fn generate(&self, _request: ChatRequest) -> Result<ChatStream, ChatError> {
        let pace = *self.pace.lock().map_err(|_| ChatError::Generation("poisoned".into()))?;
        let pieces = self.pieces;
        let first_token = self.first_token.clone();
        let stream = futures::stream::unfold(0usize, move |step| {
            let first_token = first_token.clone();
            async move {
                if step > pieces {
                    return None;
                }
                if step == pieces {
                    let usage = Usage { input_tokens: 500, output_tokens: pieces * 2 };
                    return Some((Ok(ChatEvent::Done(usage)), step + 1));
                }
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
                if step == 0
                    && let Ok(mut slot) = first_token.lock()
                {
                    *slot = Some(Instant::now());
                }
                Some((Ok(ChatEvent::Delta(format!("word{step} [1] "))), step + 1))
            }
        });
        Ok(Box::pin(stream) as Pin<Box<dyn Stream<Item = _> + Send>>)
    }
}

struct Bench {
    app: TestApp,
    token: String,
    model: Arc<PacedModel>,
    corpus: Arc<Corpus>,
    rng: Rng,
}

impl Bench {
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value, Error> {
        let response =
            self.app.client.request(method, self.app.url(path)).bearer_auth(&self.token).json(&body).send().await?;
        let status = response.status();
        let value: Value = response.json().await?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {value}").into());
        }
        Ok(value)
    }

    async fn conversation(&self) -> Result<String, Error> {
        let created = self.call(reqwest::Method::POST, "/api/v1/conversations", json!({"title": "bench"})).await?;
        Ok(created["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Own time: turns answered by a model that takes no time.
    async fn own_time(&mut self) -> Result<(), Error> {
        set_pace(&self.model, Duration::ZERO);
        let (mut totals, mut retrievals) = (Vec::new(), Vec::new());
        for round in 0..=CONVERSATIONS {
            let id = self.conversation().await?;
            for _ in 0..TURNS_PER_CONVERSATION {
                let question = self.corpus.query(&mut self.rng);
                let started = Instant::now();
                let turn = self
                    .call(
                        reqwest::Method::POST,
                        &format!("/api/v1/conversations/{id}/messages"),
                        json!({"content": question}),
                    )
                    .await?;
                let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                let answer = &turn["assistant_message"];
                if !answer["error"].is_null() || answer["source_references"].as_array().is_none_or(Vec::is_empty) {
                    return Err(format!("a turn failed or found nothing: {answer}").into());
                }
                // The first conversation warms caches up and is not counted.
                if round > 0 {
                    totals.push(elapsed);
                    retrievals.push(answer["metadata"]["retrieval_ms"].as_f64().unwrap_or(0.0));
                }
            }
        }
        totals.sort_by(f64::total_cmp);
        retrievals.sort_by(f64::total_cmp);
        println!(
            "own time per turn: p50 {:.1} ms, p99 {:.1} ms ({} turns, {TURNS_PER_CONVERSATION} per conversation; \
             of which retrieval p50 {:.1} ms, p99 {:.1} ms)",
            percentile(&totals, 50.0),
            percentile(&totals, 99.0),
            totals.len(),
            percentile(&retrievals, 50.0),
            percentile(&retrievals, 99.0)
        );
        Ok(())
    }

    /// Time from the model's first token to the first byte of it on the client's socket.
    async fn first_byte(&mut self) -> Result<(), Error> {
        set_pace(&self.model, Duration::from_millis(5));
        let mut gaps = Vec::new();
        let id = self.conversation().await?;
        for _ in 0..FIRST_BYTE_TURNS {
            let question = self.corpus.query(&mut self.rng);
            let path = format!("/api/v1/conversations/{id}/messages");
            let response = self
                .app
                .client
                .post(self.app.url(&path))
                .bearer_auth(&self.token)
                .json(&json!({"content": question, "stream": true}))
                .send()
                .await?;
            let mut body = response.bytes_stream();
            let mut seen = String::new();
            let mut arrived = None;
            while let Some(piece) = body.next().await {
                seen.push_str(&String::from_utf8_lossy(&piece?));
                if arrived.is_none() && seen.contains("event: delta") {
                    arrived = Some(Instant::now());
                }
            }
            let first = self.model.first_token.lock().map_err(|_| "poisoned")?.take();
            match (first, arrived) {
                (Some(first), Some(arrived)) => gaps.push(arrived.duration_since(first).as_secs_f64() * 1000.0),
                _ => return Err(format!("no delta arrived: {seen}").into()),
            }
        }
        gaps.sort_by(f64::total_cmp);
        println!(
            "first streamed byte after the model's first token: p50 {:.2} ms, p99 {:.2} ms ({FIRST_BYTE_TURNS} turns)",
            percentile(&gaps, 50.0),
            percentile(&gaps, 99.0)
        );
        Ok(())
    }

    /// CONCURRENT conversations streaming at once.
    async fn concurrent(&mut self) -> Result<(), Error> {
        set_pace(&self.model, Duration::from_millis(25));
        let mut ids = Vec::new();
        for _ in 0..CONCURRENT {
            ids.push(self.conversation().await?);
        }
        let started = Instant::now();
        let tasks: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let client = self.app.client.clone();
                let url = self.app.url(&format!("/api/v1/conversations/{id}/messages"));
                let token = self.token.clone();
                let question = self.corpus.query(&mut self.rng);
                tokio::spawn(async move {
                    let started = Instant::now();
                    let response = client
                        .post(url)
                        .bearer_auth(token)
                        .json(&json!({"content": question, "stream": true}))
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    if !response.status().is_success() {
                        return Err(format!("status {}", response.status()));
                    }
                    let text = response.text().await.map_err(|e| e.to_string())?;
                    if !text.contains("event: done") || text.contains("event: error") {
                        return Err(format!("no done event: {}", text.chars().rev().take(300).collect::<String>()));
                    }
                    Ok(started.elapsed().as_secs_f64() * 1000.0)
                })
            })
            .collect();
        let mut times = Vec::new();
        let mut errors = Vec::new();
        for task in tasks {
            match task.await? {
                Ok(ms) => times.push(ms),
                Err(error) => errors.push(error),
            }
        }
        let wall = started.elapsed().as_secs_f64();
        times.sort_by(f64::total_cmp);
        println!(
            "{CONCURRENT} concurrent streaming conversations: {} errors; all done in {wall:.1} s; turn p50 {:.0} ms, \
             p99 {:.0} ms (the model alone takes 500 ms)",
            errors.len(),
            percentile(&times, 50.0),
            percentile(&times, 99.0)
        );
        if let Some(error) = errors.first() {
            println!("  first error: {error}");
        }
        Ok(())
    }
}

fn set_pace(model: &PacedModel, pace: Duration) {
    if let Ok(mut slot) = model.pace.lock() {
        *slot = pace;
    }
}

async fn bench(db: TestDb, chunks: usize) -> Result<(), Error> {
    let mut rng = Rng(42);
    let corpus = Arc::new(Corpus::new(&mut rng));
    let model = Arc::new(PacedModel { pieces: 20, pace: Mutex::new(Duration::ZERO), first_token: Arc::default() });
    let embedder: Arc<dyn Embedder> = Arc::new(SyntheticEmbedder { corpus: corpus.clone() });
    let chat: Arc<dyn ChatModel> = model.clone();
    let app = TestApp::spawn_with_chat(db, Some(embedder), vec![chat]).await;
    let store = app.db.store.clone();
    println!("== {} with {chunks} chunks", store.backend());
    app.superadmin("admin").await;
    let tenant = store.default_tenant().await?.id;
    let admin = store.find_user_by_login("admin").await?.id;
    corpus::load(&store, &corpus, chunks, &mut rng, tenant, admin).await?;
    let started = Instant::now();
    if store.backend_kind() == Backend::Sqlite {
        store.refresh_search().await?;
    }
    println!("vector index ready in {:.1} s", started.elapsed().as_secs_f64());
    let token =
        app.login("admin", tome_testkit::PASSWORD).await["access_token"].as_str().unwrap_or_default().to_owned();
    let mut bench = Bench { app, token, model, corpus, rng };
    bench.own_time().await?;
    bench.first_byte().await?;
    bench.concurrent().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let chunks: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "sqlite".into());
    if which == "sqlite" || which == "both" {
        bench(TestDb::sqlite().await, chunks).await?;
    }
    if which == "postgres" || which == "both" {
        match TestDb::postgres().await {
            Some(db) => bench(db, chunks).await?,
            None => println!("PostgreSQL skipped (TOME_TEST_POSTGRES=skip)"),
        }
    }
    Ok(())
}
