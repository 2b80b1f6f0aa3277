//! A synthetic knowledge base for benchmarks: chunks of 120 words drawn from a
//! Zipf-distributed vocabulary, with 384-dimensional vectors clustered around 2,000 topics,
//! built deterministically (SplitMix64), and loaded straight through the store.

use std::time::Instant;

use serde_json::json;
use tome_domain::knowledge::{ChunkSet, DocumentType, NewChunk, NewDocument, Visibility};
use tome_domain::repo::KnowledgeRepo;
use tome_domain::{ChunkId, TenantId, UserId};
use tome_store::SqlStore;

pub const DIMS: usize = 384;
pub const TOPICS: usize = 2_000;
pub const VOCABULARY: usize = 30_000;
pub const WORDS_PER_CHUNK: usize = 120;
pub const CHUNKS_PER_DOCUMENT: usize = 50;
/// The embedding model name the vectors are stored under.
pub const MODEL: &str = "synthetic-384";

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// SplitMix64: a small deterministic generator, so every run builds the same data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn gaussian(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
}

pub fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// A pronounceable pseudo-word for vocabulary rank `rank`.
pub fn word(rank: usize) -> String {
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

pub struct Corpus {
    vocabulary: Vec<String>,
    /// Cumulative Zipf weights (exponent 1) over the vocabulary.
    cumulative: Vec<f64>,
    topics: Vec<Vec<f32>>,
}

impl Corpus {
    pub fn new(rng: &mut Rng) -> Self {
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

    pub fn zipf_word(&self, rng: &mut Rng) -> &str {
        let target = rng.unit() * self.cumulative[VOCABULARY - 1];
        let index = self.cumulative.partition_point(|c| *c < target).min(VOCABULARY - 1);
        &self.vocabulary[index]
    }

    /// A vector near `topic`: cosine ≈ 0.7 to its centre.
    pub fn near(&self, topic: usize, rng: &mut Rng) -> Vec<f32> {
        let sigma = 1.0 / (DIMS as f32).sqrt();
        normalized(self.topics[topic].iter().map(|c| c + sigma * rng.gaussian()).collect())
    }

    pub fn text(&self, rng: &mut Rng) -> String {
        (0..WORDS_PER_CHUNK).map(|_| self.zipf_word(rng)).collect::<Vec<_>>().join(" ")
    }

    /// A query of 3 words of middling frequency (ranks 50–5,000).
    pub fn query(&self, rng: &mut Rng) -> String {
        (0..3).map(|_| self.vocabulary[50 + rng.below(4_950)].clone()).collect::<Vec<_>>().join(" ")
    }
}

/// The chunks loaded, in order, with their vectors.
pub struct Loaded {
    pub ids: Vec<ChunkId>,
    pub vectors: Vec<Vec<f32>>,
}

/// Loads `chunks` chunks into `tenant` as documents of 50 chunks owned by `owner`, visible
/// to the tenant, with keyword index rows and vectors of model `MODEL`.
pub async fn load(
    store: &SqlStore,
    corpus: &Corpus,
    chunks: usize,
    rng: &mut Rng,
    tenant: TenantId,
    owner: UserId,
) -> Result<Loaded, Error> {
    let mut ids = Vec::with_capacity(chunks);
    let mut vectors = Vec::with_capacity(chunks);
    let started = Instant::now();
    let mut document_number = 0;
    while ids.len() < chunks {
        let count = CHUNKS_PER_DOCUMENT.min(chunks - ids.len());
        let new = NewDocument {
            owner_id: Some(owner),
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
        let document = store.create_document(tenant, new).await?;
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
            .replace_chunks(tenant, document.id, ChunkSet { chunks: batch, embedding_model: Some(MODEL.into()) })
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
    Ok(Loaded { ids, vectors })
}

/// The `p`th percentile of sorted values (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
