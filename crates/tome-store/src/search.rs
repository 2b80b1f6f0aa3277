//! Retrieval: the two rankings of `SearchRepo` on each engine.
//!
//! SQLite: in-process indexes that replay the `search_changes` feed: BM25 with tantivy
//! (`keywords.rs`) and an HNSW graph per embedding model (`ann.rs`, usearch).
//! PostgreSQL: `ts_rank` over the generated `search_vector` column (GIN) and pgvector's
//! HNSW with cosine distance, one partial index per model (`pg_index.rs`). Access rules (tenant,
//! visibility, owner) and the caller's filters are part of every ranking's query.

mod ann;
mod catalog;
mod keywords;
mod pg_index;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;

use ann::VectorIndexes;
use keywords::KeywordIndex;

use async_trait::async_trait;
use tome_domain::repo::SearchRepo;
use tome_domain::search::{ChunkHit, RankedChunk, SearchScope};
use tome_domain::{ChunkId, DomainError, DomainResult, TenantId};

use crate::sql::Sql;
use crate::{Backend, SqlStore};

/// Retrieval state of one `SqlStore` and its scoped copies.
pub(crate) struct SearchState {
    pub(crate) keywords: KeywordIndex,
    pub(crate) vectors: VectorIndexes,
    /// PostgreSQL: the HNSW indexes (by name) this process made sure of or is building.
    pub(crate) hnsw_ready: Mutex<HashSet<String>>,
}

impl SearchState {
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self {
            keywords: KeywordIndex::default(),
            vectors: VectorIndexes { dir, models: tokio::sync::Mutex::new(HashMap::new()) },
            hnsw_ready: Mutex::default(),
        }
    }
}

impl std::fmt::Debug for SearchState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchState").field("dir", &self.vectors.dir).finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct Ranked {
    chunk_id: ChunkId,
    score: f64,
}

impl From<Ranked> for RankedChunk {
    fn from(row: Ranked) -> Self {
        Self { chunk_id: row.chunk_id, score: row.score }
    }
}

/// ` AND …` conditions on the document `d` (and chunk `c`) that confine a ranking to
/// what `scope` allows.
fn scope_conditions(sql: Sql, scope: &SearchScope) -> Sql {
    let mut sql = sql
        .push(" AND c.tenant_id = ")
        .bind(scope.tenant)
        .push(" AND d.tenant_id = ")
        .bind(scope.tenant)
        .push(" AND d.deleted_at IS NULL AND (d.visibility = 'tenant' OR d.owner_id = ")
        .bind(scope.reader)
        .push(")")
        .and_eq("d.owner_id", scope.filters.owner_id);
    sql = any_of(sql, "d.project_id", &scope.filters.project_ids);
    sql = any_of(sql, "d.id", &scope.filters.document_ids);
    let types: Vec<&str> = scope.filters.document_types.iter().map(|t| t.as_str()).collect();
    sql = any_of(sql, "d.document_type", &types);
    if let Some(after) = scope.filters.created_after {
        sql = sql.push(" AND d.created_at >= ").bind(after);
    }
    if let Some(before) = scope.filters.created_before {
        sql = sql.push(" AND d.created_at < ").bind(before);
    }
    sql
}

/// ` AND column IN (…)` when `values` is not empty.
fn any_of<T: Clone + Into<crate::sql::Arg>>(mut sql: Sql, column: &str, values: &[T]) -> Sql {
    if values.is_empty() {
        return sql;
    }
    sql = sql.push(format!(" AND {column} IN ("));
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            sql = sql.push(", ");
        }
        sql = sql.bind(value.clone());
    }
    sql.push(")")
}

/// pgvector's text form of a query vector.
pub(crate) fn vector_literal(vector: &[f32]) -> String {
    let values: Vec<String> = vector.iter().map(f32::to_string).collect();
    format!("[{}]", values.join(","))
}

/// `text` as a SQL string literal (for the few places where a value must be inlined, such
/// as a partial index's predicate, which a bound parameter cannot match).
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl SqlStore {
    async fn keyword_postgres(&self, scope: &SearchScope, terms: &[String], limit: usize) -> DomainResult<Vec<Ranked>> {
        let query: Vec<String> = terms.iter().map(|term| quoted(term)).collect();
        // Normalisation 1 divides by 1 + log(length): long chunks do not win by length alone.
        let sql = Sql::new(
            "SELECT c.id AS chunk_id, ts_rank(c.search_vector, q, 1)::float8 AS score \
             FROM to_tsquery('english', ",
        )
        .bind(query.join(" | "))
        .push(") q, document_chunks c JOIN documents d ON d.id = c.document_id WHERE c.search_vector @@ q");
        let sql = scope_conditions(sql, scope).push(" ORDER BY score DESC, c.id LIMIT ").bind(limit_arg(limit));
        self.all("chunk", sql).await
    }

    async fn vector_postgres(
        &self,
        scope: &SearchScope,
        model: &str,
        vector: &[f32],
        limit: usize,
    ) -> DomainResult<Vec<Ranked>> {
        let dims = vector.len();
        let query = vector_literal(vector);
        // The model is inlined so that the planner can match the model's partial index.
        let sql = Sql::new(format!("SELECT c.id AS chunk_id, (1 - (c.embedding::vector({dims}) <=> CAST("))
            .bind(query.clone())
            .push(format!(" AS vector({dims}))))::float8 AS score FROM document_chunks c "))
            .push("JOIN documents d ON d.id = c.document_id WHERE c.embedding_model = ")
            .push(quoted(model));
        let sql = scope_conditions(sql, scope)
            .push(format!(" ORDER BY c.embedding::vector({dims}) <=> CAST("))
            .bind(query)
            .push(format!(" AS vector({dims})) LIMIT "))
            .bind(limit_arg(limit));
        // Iterative scans keep walking the graph until `limit` rows pass the filters.
        self.all_with_settings(
            "chunk",
            &["SET LOCAL hnsw.iterative_scan = strict_order", "SET LOCAL hnsw.ef_search = 100"],
            sql,
        )
        .await
    }
}

fn limit_arg(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl SearchRepo for SqlStore {
    async fn keyword_search(
        &self,
        scope: &SearchScope,
        terms: &[String],
        limit: usize,
    ) -> DomainResult<Vec<RankedChunk>> {
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let rows = match self.backend_kind() {
            Backend::Sqlite => {
                let index = self.search.keywords.current(self).await?;
                return index.search(scope, terms, limit).await;
            }
            Backend::Postgres => self.keyword_postgres(scope, terms, limit).await?,
        };
        Ok(rows.into_iter().map(RankedChunk::from).collect())
    }

    async fn vector_search(
        &self,
        scope: &SearchScope,
        model: &str,
        vector: &[f32],
        limit: usize,
    ) -> DomainResult<Vec<RankedChunk>> {
        if vector.is_empty() {
            return Err(DomainError::invalid("vector", "is empty"));
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        match self.backend_kind() {
            Backend::Sqlite => {
                let index = self.search.vectors.index(self, model, vector.len()).await?;
                index.search(self, scope, vector, limit).await
            }
            Backend::Postgres => Ok(self
                .vector_postgres(scope, model, vector, limit)
                .await?
                .into_iter()
                .map(RankedChunk::from)
                .collect()),
        }
    }

    async fn chunk_hits(&self, tenant: TenantId, chunks: &[ChunkId]) -> DomainResult<Vec<ChunkHit>> {
        if chunks.is_empty() {
            return Ok(Vec::new());
        }
        // The few ids are the selective condition, not the tenant.
        let tenant_column = self.filter_only("c.tenant_id");
        let sql = Sql::new(format!(
            "SELECT c.id AS chunk_id, c.document_id, d.original_name AS document_name, d.document_type, \
             d.mime_type, c.ordinal, c.content, c.metadata FROM document_chunks c \
             JOIN documents d ON d.id = c.document_id WHERE {tenant_column} = "
        ))
        .bind(tenant);
        self.all("chunk", any_of(sql, "c.id", chunks)).await
    }

    async fn refresh_search(&self) -> DomainResult<()> {
        match self.backend_kind() {
            Backend::Sqlite => {
                self.search.keywords.current(self).await?;
                self.search.vectors.catch_up_all(self).await
            }
            Backend::Postgres => self.ensure_vector_indexes().await.map(|_| ()),
        }
    }

    async fn refresh_vectors(&self, model: &str, dimensions: usize) -> DomainResult<()> {
        match self.backend_kind() {
            Backend::Sqlite => self.search.vectors.index(self, model, dimensions).await?.catch_up(self).await,
            Backend::Postgres => Ok(()),
        }
    }

    async fn save_search(&self) -> DomainResult<()> {
        match self.backend_kind() {
            Backend::Sqlite => self.search.vectors.save_all(self).await,
            Backend::Postgres => Ok(()),
        }
    }
}
