//! Retrieval: a query in, ranked passages out. Keyword and semantic rankings come from the
//! store (`SearchRepo`, one implementation per engine); this module embeds the query,
//! fuses the rankings (`search::fuse`), optionally re-ranks, and shapes the results with
//! their snippets.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;
use tome_domain::access::Access;
use tome_domain::documents::READ;
use tome_domain::repo::Store;
use tome_domain::search::{self, ChunkHit, Fusion, RankedChunk, SearchFilters, SearchMode, SearchScope};
use tome_domain::{DomainError, DomainResult};
use tome_models::embed::Embedder;
use tome_models::rerank::RemoteReranker;

/// The most results one search returns.
pub const MAX_LIMIT: usize = 100;
/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// How deep each ranking goes before fusion, at least.
pub const MIN_CANDIDATES: usize = 100;

/// How hybrid search combines its rankings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FusionSettings {
    pub fusion: Fusion,
    pub keyword_weight: f64,
    pub semantic_weight: f64,
}

impl Default for FusionSettings {
    /// Reciprocal rank fusion with equal weights: no score scales to calibrate, no
    /// constants fitted to a benchmark.
    fn default() -> Self {
        Self { fusion: Fusion::Rrf, keyword_weight: 1.0, semantic_weight: 1.0 }
    }
}

/// What a caller asks for.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    pub query: String,
    pub mode: Option<SearchMode>,
    pub limit: Option<usize>,
    pub filters: SearchFilters,
}

/// One passage found.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResult {
    pub chunk: ChunkHit,
    /// The fused score (hybrid) or the ranking's own (cosine similarity, BM25); the
    /// reranker's relevance score when one is configured.
    pub score: f64,
    /// 1-based ranks in the keyword and semantic rankings, where the chunk was found.
    pub keyword_rank: Option<usize>,
    pub semantic_rank: Option<usize>,
    pub snippet: String,
}

/// The results and how they were obtained.
#[derive(Clone, Debug, Serialize)]
pub struct SearchOutcome {
    pub mode: SearchMode,
    pub results: Vec<SearchResult>,
    /// Said when the search could not do what was asked (e.g. hybrid without an embedder).
    pub notice: Option<String>,
    pub took_ms: f64,
}

/// An optional last stage that re-scores the first fused results (e.g. a cross-encoder).
#[async_trait]
pub trait Reranker: Send + Sync {
    /// A relevance score for each of `results`, in their order (higher is better).
    async fn scores(&self, query: &str, results: &[SearchResult]) -> DomainResult<Vec<f64>>;
}

/// A `/v1/rerank` server scores the passages' text.
#[async_trait]
impl Reranker for RemoteReranker {
    async fn scores(&self, query: &str, results: &[SearchResult]) -> DomainResult<Vec<f64>> {
        let passages: Vec<String> = results.iter().map(|result| result.chunk.content.clone()).collect();
        RemoteReranker::scores(self, query, &passages)
            .await
            .map_err(|error| DomainError::Unavailable(error.to_string()))
    }
}

/// How many fused results a reranker re-scores unless told otherwise.
pub const DEFAULT_RERANK_DEPTH: usize = 50;

/// Runs searches: the query embedder (if any), fusion settings and optional re-ranker.
#[derive(Clone, Default)]
pub struct Retriever {
    embedder: Option<Arc<dyn Embedder>>,
    fusion: FusionSettings,
    reranker: Option<Arc<dyn Reranker>>,
    /// How many of the first fused results the reranker re-scores (at least `limit`).
    rerank_depth: usize,
}

impl Retriever {
    pub fn new(embedder: Option<Arc<dyn Embedder>>, fusion: FusionSettings) -> Self {
        Self { embedder, fusion, reranker: None, rerank_depth: DEFAULT_RERANK_DEPTH }
    }

    pub fn with_embedder(mut self, embedder: Option<Arc<dyn Embedder>>) -> Self {
        self.embedder = embedder;
        self
    }

    /// Re-scores the first `depth` fused results of every search with `reranker`.
    pub fn with_reranker(mut self, reranker: Arc<dyn Reranker>, depth: usize) -> Self {
        self.reranker = Some(reranker);
        self.rerank_depth = depth;
        self
    }

    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.embedder.as_ref()
    }

    /// Searches what `access` may read (permission `documents.read`).
    pub async fn search(
        &self,
        store: &dyn Store,
        access: &Access,
        request: SearchRequest,
    ) -> DomainResult<SearchOutcome> {
        access.require(READ)?;
        let started = Instant::now();
        let query = request.query.trim().to_owned();
        if query.is_empty() {
            return Err(DomainError::invalid("query", "must not be empty"));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(DomainError::invalid("query", format!("must be at most {MAX_QUERY_CHARS} characters")));
        }
        let limit = request.limit.unwrap_or(10);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(DomainError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        if let (Some(after), Some(before)) = (request.filters.created_after, request.filters.created_before)
            && after >= before
        {
            return Err(DomainError::invalid("created_before", "must be later than created_after"));
        }
        let scope = SearchScope { tenant: access.tenant_id, reader: access.user_id, filters: request.filters };
        let (mode, notice) = match (request.mode.unwrap_or(SearchMode::Hybrid), &self.embedder) {
            (SearchMode::Semantic, None) => {
                return Err(DomainError::invalid(
                    "mode",
                    "semantic search needs an embedding model, and none is configured",
                ));
            }
            (SearchMode::Hybrid, None) => {
                (SearchMode::Keyword, Some("no embedding model is configured: keyword search only".to_owned()))
            }
            (mode, _) => (mode, None),
        };
        let ranked = self.rank(store, &scope, &query, mode, limit).await?;
        let (mode, mut notice) = match &ranked.embed_failure {
            Some(error) => {
                (SearchMode::Keyword, Some(format!("the query could not be embedded ({error}): keyword search only")))
            }
            None => (mode, notice),
        };
        // Without a reranker only the top `limit` are read back and given snippets; a
        // reranker re-scores the first `rerank_depth`.
        let wanted = if self.reranker.is_some() { self.rerank_depth.max(limit) } else { limit };
        let mut results = self.results(store, &scope, &query, ranked, wanted).await?;
        if let Some(reranker) = &self.reranker {
            match reranker.scores(&query, &results).await {
                Ok(scores) if scores.len() == results.len() => {
                    for (result, score) in results.iter_mut().zip(scores) {
                        result.score = score;
                    }
                    // Stable: equal scores keep their first-stage order.
                    results.sort_by(|a, b| b.score.total_cmp(&a.score));
                }
                Ok(scores) => {
                    notice = Some(format!(
                        "the reranker scored {} of {} results: results are in first-stage order",
                        scores.len(),
                        results.len()
                    ));
                }
                Err(error) => {
                    tracing::warn!(%error, "reranking failed; answering in first-stage order");
                    notice = Some(format!("the reranker failed ({error}): results are in first-stage order"));
                }
            }
        }
        results.truncate(limit);
        Ok(SearchOutcome { mode, results, notice, took_ms: started.elapsed().as_secs_f64() * 1000.0 })
    }

    /// The fused ranking, with each chunk's rank in the keyword and semantic rankings.
    async fn rank(
        &self,
        store: &dyn Store,
        scope: &SearchScope,
        query: &str,
        mode: SearchMode,
        limit: usize,
    ) -> DomainResult<Ranked> {
        let depth = limit.max(MIN_CANDIDATES);
        // The two rankings run side by side: the keyword ranking while the query is embedded
        // and its neighbours are found.
        let keyword_ranking = async {
            if mode == SearchMode::Semantic {
                Ok(Vec::new())
            } else {
                store.keyword_search(scope, &search::keywords(query), depth).await
            }
        };
        let semantic_ranking = async {
            match (&self.embedder, mode) {
                (Some(embedder), SearchMode::Semantic | SearchMode::Hybrid) => {
                    match embed_query(embedder.as_ref(), query).await {
                        Ok(vector) => {
                            Ok((store.vector_search(scope, embedder.model_name(), &vector, depth).await?, None))
                        }
                        // A hybrid search still answers from keywords when the embedder is down.
                        Err(error) if mode == SearchMode::Hybrid => {
                            tracing::warn!(%error, "hybrid search without its semantic ranking");
                            Ok((Vec::new(), Some(error.to_string())))
                        }
                        Err(error) => Err(error),
                    }
                }
                _ => Ok((Vec::new(), None)),
            }
        };
        let (keyword, semantic) = tokio::join!(keyword_ranking, semantic_ranking);
        let keyword = keyword?;
        let (semantic, embed_failure) = semantic?;
        let mode = if embed_failure.is_some() { SearchMode::Keyword } else { mode };
        let fused = match mode {
            SearchMode::Keyword => keyword.clone(),
            SearchMode::Semantic => semantic.clone(),
            SearchMode::Hybrid => search::fuse(
                &[(&keyword, self.fusion.keyword_weight), (&semantic, self.fusion.semantic_weight)],
                self.fusion.fusion,
            ),
        };
        Ok(Ranked { fused, keyword, semantic, embed_failure })
    }

    /// The first `wanted` chunks of the fused ranking that can still be read, with snippets.
    async fn results(
        &self,
        store: &dyn Store,
        scope: &SearchScope,
        query: &str,
        ranked: Ranked,
        wanted: usize,
    ) -> DomainResult<Vec<SearchResult>> {
        let rank_in = |ranking: &[RankedChunk], chunk| ranking.iter().position(|r| r.chunk_id == chunk).map(|p| p + 1);
        let mut results = Vec::with_capacity(wanted.min(ranked.fused.len()));
        // Read back in batches: a chunk deleted since it was ranked is skipped and the next
        // one taken.
        for batch in ranked.fused.chunks(wanted.max(1)) {
            let ids: Vec<_> = batch.iter().map(|chunk| chunk.chunk_id).collect();
            let mut hits: std::collections::HashMap<_, _> =
                store.chunk_hits(scope.tenant, &ids).await?.into_iter().map(|hit| (hit.chunk_id, hit)).collect();
            for chunk in batch {
                if results.len() == wanted {
                    return Ok(results);
                }
                let Some(hit) = hits.remove(&chunk.chunk_id) else { continue };
                results.push(SearchResult {
                    snippet: search::snippet(&hit.content, query),
                    chunk: hit,
                    score: chunk.score,
                    keyword_rank: rank_in(&ranked.keyword, chunk.chunk_id),
                    semantic_rank: rank_in(&ranked.semantic, chunk.chunk_id),
                });
            }
            if results.len() == wanted {
                break;
            }
        }
        Ok(results)
    }
}

struct Ranked {
    fused: Vec<RankedChunk>,
    keyword: Vec<RankedChunk>,
    semantic: Vec<RankedChunk>,
    /// Why a hybrid search had to do without its semantic ranking.
    embed_failure: Option<String>,
}

async fn embed_query(embedder: &dyn Embedder, query: &str) -> DomainResult<Vec<f32>> {
    let mut vectors = embedder
        .embed(vec![query.to_owned()])
        .await
        .map_err(|error| DomainError::Unavailable(format!("the embedding model failed: {error}")))?;
    vectors.pop().ok_or_else(|| DomainError::internal("the embedder returned no vector"))
}
