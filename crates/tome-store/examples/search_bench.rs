//! Retrieval at scale on synthetic data: CHUNKS chunks (default 100,000) of 120 words drawn
//! from a Zipf-distributed vocabulary, with 384-dimensional vectors clustered around 2,000
//! topics, in one tenant. For the embedded backend (SQLite: FTS5 + the in-process HNSW
//! index) and PostgreSQL (full-text + pgvector HNSW) it prints: load time, index build time,
//! memory (or disk) per chunk, hybrid query latency p50/p99 (keyword and vector rankings
//! 100 deep, fused, the top 10 read back), and ANN recall@10 against exact search.
//!
//!   scripts/bench-search [CHUNKS] [sqlite|postgres|both]

use std::time::Instant;

use serde_json::json;
use sqlx::Connection;
use tome_domain::identity::{NewTenant, NewUser};
use tome_domain::knowledge::{ChunkSet, DocumentType, NewChunk, NewDocument, Visibility};
use tome_domain::repo::{KnowledgeRepo, SearchRepo, StoreAdmin, TenantRepo, UserRepo};
use tome_domain::search::{Fusion, RankedChunk, SearchScope, fuse};
use tome_domain::validate::{Email, Slug, Username};
use tome_domain::{ChunkId, TenantId};
use tome_store::{Backend, SqlStore};
use tome_testkit::TestDb;

const DIMS: usize = 384;
const TOPICS: usize = 2_000;
const VOCABULARY: usize = 30_000;
const WORDS_PER_CHUNK: usize = 120;
const CHUNKS_PER_DOCUMENT: usize = 50;
const QUERIES: usize = 200;
const MODEL: &str = "synthetic-384";

type Error = Box<dyn std::error::Error>;

/// SplitMix64: a small deterministic generator, so every run builds the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn gaussian(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
}

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// A pronounceable pseudo-word for vocabulary rank `rank`.
fn word(rank: usize) -> String {
    const SYLLABLES: [&str; 20] = [
        "ka", "ro", "mi", "tu", "le", "sa", "no", "vi", "de", "po", "ra", "ki", "mo", "te", "lu", "si", "na", "ve",
        "do", "pa",
    ];
    let mut n = rank + 20;
    let mut out = String::new();
    while n > 0 {
        out.push_str(SYLLABLES[n % 20]);
        n /= 20;
    }
    out
}

struct Corpus {
    vocabulary: Vec<String>,
    /// Cumulative Zipf weights (exponent 1) over the vocabulary.
    cumulative: Vec<f64>,
    topics: Vec<Vec<f32>>,
}

impl Corpus {
    fn new(rng: &mut Rng) -> Self {
        let vocabulary: Vec<String> = (0..VOCABULARY).map(word).collect();
        let mut total = 0.0;
        let cumulative = (1..=VOCABULARY)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        let topics = (0..TOPICS).map(|_| normalized((0..DIMS).map(|_| rng.gaussian()).collect())).collect();
        Self { vocabulary, cumulative, topics }
    }

    fn zipf_word(&self, rng: &mut Rng) -> &str {
        let target = rng.unit() * self.cumulative[VOCABULARY - 1];
        let index = self.cumulative.partition_point(|c| *c < target).min(VOCABULARY - 1);
        &self.vocabulary[index]
    }

    /// A vector near `topic`: cosine ≈ 0.7 to its centre.
    fn near(&self, topic: usize, rng: &mut Rng) -> Vec<f32> {
        let sigma = 1.0 / (DIMS as f32).sqrt();
        normalized(self.topics[topic].iter().map(|c| c + sigma * rng.gaussian()).collect())
    }

    fn text(&self, rng: &mut Rng) -> String {
        (0..WORDS_PER_CHUNK).map(|_| self.zipf_word(rng)).collect::<Vec<_>>().join(" ")
    }

    /// A query of 3 words of middling frequency (ranks 50–5,000).
    fn query(&self, rng: &mut Rng) -> String {
        (0..3).map(|_| self.vocabulary[50 + rng.below(4_950)].clone()).collect::<Vec<_>>().join(" ")
    }
}

struct Loaded {
    tenant: TenantId,
    scope: SearchScope,
    ids: Vec<ChunkId>,
    vectors: Vec<Vec<f32>>,
}

async fn load(store: &SqlStore, corpus: &Corpus, chunks: usize, rng: &mut Rng) -> Result<Loaded, Error> {
    let new_tenant =
        NewTenant { name: "Bench".into(), slug: Slug::from_name("bench")?, description: None, is_default: false };
    let tenant = store.create_tenant(new_tenant).await?;
    let user = store
        .create_user(NewUser {
            email: Email::parse("bench@example.com")?,
            username: Username::parse("bench")?,
            name: None,
            password_hash: "x".into(),
            is_active: true,
            is_superadmin: false,
        })
        .await?;
    let mut ids = Vec::with_capacity(chunks);
    let mut vectors = Vec::with_capacity(chunks);
    let started = Instant::now();
    let mut document_number = 0;
    while ids.len() < chunks {
        let count = CHUNKS_PER_DOCUMENT.min(chunks - ids.len());
        let new = NewDocument {
            owner_id: Some(user.id),
            project_id: None,
            visibility: Visibility::Tenant,
            original_name: format!("doc-{document_number}.txt"),
            storage_key: format!("bench/{document_number}"),
            mime_type: "text/plain".into(),
            size_bytes: 1,
            sha256: "0".repeat(64),
            document_type: DocumentType::GeneralDocument,
        };
        document_number += 1;
        let document = store.create_document(tenant.id, new).await?;
        let topic = rng.below(TOPICS);
        let mut batch = Vec::with_capacity(count);
        for ordinal in 0..count {
            // Most chunks of a document share its topic; some wander.
            let topic = if rng.below(4) == 0 { rng.below(TOPICS) } else { topic };
            let vector = corpus.near(topic, rng);
            vectors.push(vector.clone());
            batch.push(NewChunk {
                ordinal: ordinal as i32,
                content: corpus.text(rng),
                token_count: WORDS_PER_CHUNK as i32,
                metadata: json!({}),
                embedding: Some(vector),
            });
        }
        let stored = store
            .replace_chunks(tenant.id, document.id, ChunkSet { chunks: batch, embedding_model: Some(MODEL.into()) })
            .await?;
        ids.extend(stored.iter().map(|c| c.id));
        if document_number % 200 == 0 {
            eprint!(
                "\r  loaded {} of {chunks} chunks ({:.0}/s)",
                ids.len(),
                ids.len() as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!();
    println!("load (rows, keyword index, vectors): {:.1} s for {chunks} chunks", started.elapsed().as_secs_f64());
    Ok(Loaded { tenant: tenant.id, scope: SearchScope::reader(tenant.id, user.id), ids, vectors })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The exact top 10 by cosine (the vectors are unit length: dot products).
fn exact_top10(vectors: &[Vec<f32>], query: &[f32]) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> =
        vectors.iter().enumerate().map(|(i, v)| (v.iter().zip(query).map(|(a, b)| a * b).sum(), i)).collect();
    scored.select_nth_unstable_by(10, |a, b| b.0.total_cmp(&a.0));
    scored.truncate(10);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, i)| i).collect()
}

async fn bench(db: &TestDb, chunks: usize) -> Result<(), Error> {
    let store = db.store.clone();
    let mut rng = Rng(42);
    let corpus = Corpus::new(&mut rng);
    println!("== {} with {chunks} chunks ({DIMS}-dimensional vectors, {WORDS_PER_CHUNK} words each)", store.backend());
    let loaded = load(&store, &corpus, chunks, &mut rng).await?;
    let queries: Vec<(String, Vec<f32>)> =
        (0..QUERIES).map(|_| (corpus.query(&mut rng), corpus.near(rng.below(TOPICS), &mut rng))).collect();

    // Build the vector index: the embedded one from the database; pgvector's on first search.
    let before = rss_mib();
    let started = Instant::now();
    match store.backend_kind() {
        Backend::Sqlite => store.refresh_search().await?,
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&db.url).await?;
            // pgvector builds fast only while the graph fits in maintenance_work_mem.
            let name: (String,) = sqlx::query_as("SELECT current_database()").fetch_one(&mut connection).await?;
            let _ = sqlx::query(&format!("ALTER DATABASE {} SET maintenance_work_mem = '2GB'", name.0))
                .execute(&mut connection)
                .await;
            store.vector_search(&loaded.scope, MODEL, &queries[0].1, 10).await?;
        }
    }
    let build = started.elapsed().as_secs_f64();
    println!("vector index build: {build:.1} s ({:.0} vectors/s)", chunks as f64 / build);
    match store.backend_kind() {
        Backend::Sqlite => {
            let index_mib = rss_mib() - before;
            let file = std::fs::metadata(db.dir.path().join("tome.db")).map(|m| m.len()).unwrap_or(0)
                + std::fs::metadata(db.dir.path().join("tome.db-wal")).map(|m| m.len()).unwrap_or(0);
            println!(
                "memory: vector index {:.0} bytes/chunk in RAM; database file {:.0} bytes/chunk on disk",
                index_mib * 1024.0 * 1024.0 / chunks as f64,
                file as f64 / chunks as f64
            );
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&db.url).await?;
            let sizes: Vec<(String, i64)> = sqlx::query_as(
                "SELECT c.relname::text, pg_relation_size(c.oid) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid \
                 WHERE i.indrelid = 'document_chunks'::regclass",
            )
            .fetch_all(&mut connection)
            .await?;
            let table: (i64,) =
                sqlx::query_as("SELECT pg_table_size('document_chunks')").fetch_one(&mut connection).await?;
            for (name, bytes) in sizes.iter().filter(|(name, _)| name.contains("hnsw") || name.contains("search")) {
                println!("index {name}: {:.0} bytes/chunk on disk", *bytes as f64 / chunks as f64);
            }
            println!(
                "table (rows, text, vectors, tsvector): {:.0} bytes/chunk on disk",
                table.0 as f64 / chunks as f64
            );
        }
    }

    // Hybrid queries: both rankings 100 deep, fused, the top 10 read back.
    let mut times = Vec::with_capacity(QUERIES);
    let (mut keyword_times, mut vector_times) = (Vec::with_capacity(QUERIES), Vec::with_capacity(QUERIES));
    let mut matched = 0usize;
    for (text, vector) in &queries {
        let started = Instant::now();
        let terms = tome_domain::search::keywords(text);
        let keyword = store.keyword_search(&loaded.scope, &terms, 100).await?;
        keyword_times.push(started.elapsed().as_secs_f64() * 1000.0);
        let vector_started = Instant::now();
        let semantic = store.vector_search(&loaded.scope, MODEL, vector, 100).await?;
        vector_times.push(vector_started.elapsed().as_secs_f64() * 1000.0);
        let fused: Vec<RankedChunk> = fuse(&[(&keyword, 1.0), (&semantic, 1.0)], Fusion::Rrf);
        let top: Vec<ChunkId> = fused.iter().take(10).map(|r| r.chunk_id).collect();
        let hits = store.chunk_hits(loaded.tenant, &top).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        matched += keyword.len();
        assert_eq!(hits.len(), top.len());
    }
    times.sort_by(f64::total_cmp);
    keyword_times.sort_by(f64::total_cmp);
    vector_times.sort_by(f64::total_cmp);
    println!(
        "hybrid query: p50 {:.2} ms, p99 {:.2} ms ({QUERIES} queries; {:.0} keyword matches per query on average)",
        percentile(&times, 50.0),
        percentile(&times, 99.0),
        matched as f64 / QUERIES as f64
    );
    println!(
        "  of which: keyword ranking p50 {:.2} ms, p99 {:.2} ms; vector ranking p50 {:.2} ms, p99 {:.2} ms",
        percentile(&keyword_times, 50.0),
        percentile(&keyword_times, 99.0),
        percentile(&vector_times, 50.0),
        percentile(&vector_times, 99.0)
    );

    // ANN recall@10 against exact search.
    let position: std::collections::HashMap<ChunkId, usize> =
        loaded.ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut recall = 0.0;
    let sample = 100.min(QUERIES);
    for (_, vector) in queries.iter().take(sample) {
        let exact = exact_top10(&loaded.vectors, vector);
        let found = store.vector_search(&loaded.scope, MODEL, vector, 10).await?;
        let found: Vec<usize> = found.iter().filter_map(|r| position.get(&r.chunk_id).copied()).collect();
        recall += exact.iter().filter(|i| found.contains(i)).count() as f64 / 10.0;
    }
    println!("ANN recall@10 against exact search: {:.3} ({sample} queries)", recall / sample as f64);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let chunks: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "both".into());
    if which == "sqlite" || which == "both" {
        bench(&TestDb::sqlite().await, chunks).await?;
    }
    if which == "postgres" || which == "both" {
        match TestDb::postgres().await {
            Some(db) => bench(&db, chunks).await?,
            None => println!("PostgreSQL skipped (TOME_TEST_POSTGRES=skip)"),
        }
    }
    Ok(())
}
