//! The embedded backend's vector index: one usearch HNSW graph per embedding model, in
//! memory, saved under `<data>/index/` and kept in step with the database by replaying
//! `search_changes` (written by triggers in the same transactions as the chunks).
//!
//! The database stays the truth: a snapshot that is missing, unreadable, of another model,
//! or that disagrees with the database after replay is rebuilt from `document_chunks`.
//! Every process holds its own copy, so `tome serve`, `tome worker` and `tome ingest` can
//! share one data folder. Access rules are evaluated inside the graph search against a
//! per-document summary (tenant, owner, visibility, project, type, date) kept from the same
//! feed, so filtered-out chunks never take the place of allowed ones.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tome_domain::search::{RankedChunk, SearchScope};
use tome_domain::{ChunkId, DocumentId, DomainError, DomainResult};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use super::catalog::{Catalog, MaxSeq, feed_page, key_of, refresh_facts};

use crate::SqlStore;
use crate::pool::fnv1a;
use crate::sql::Sql;

/// Below this many allowed chunks a search compares them all (exact, and cheaper than a
/// graph walk that must skip nearly everything).
const EXACT_BELOW: usize = 2_000;
/// What the index reads of a chunk.
const VECTOR_COLUMNS: &str = "chunk_key, id, document_id, embedding, embedding_model";
/// Vectors read per round when building from the database.
const BUILD_PAGE: i64 = 5_000;
/// A changed index is saved at most this often (and by `save_search`).
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// The open indexes, one per (model, dimensions).
pub(crate) struct VectorIndexes {
    pub(super) dir: Option<PathBuf>,
    pub(super) models: tokio::sync::Mutex<HashMap<(String, usize), Arc<ModelIndex>>>,
}

impl VectorIndexes {
    /// The model's index, opened (snapshot + replay, or built) on first use.
    pub(crate) async fn index(&self, store: &SqlStore, model: &str, dims: usize) -> DomainResult<Arc<ModelIndex>> {
        let mut models = self.models.lock().await;
        if let Some(index) = models.get(&(model.to_owned(), dims)) {
            return Ok(index.clone());
        }
        let index = ModelIndex::open(store, self.dir.as_deref(), model, dims).await?;
        models.insert((model.to_owned(), dims), index.clone());
        Ok(index)
    }

    /// The models whose vectors the database holds (found through `documents`, which is far
    /// smaller than the chunks), each index opened and brought up to date.
    pub(crate) async fn catch_up_all(&self, store: &SqlStore) -> DomainResult<()> {
        #[derive(sqlx::FromRow)]
        struct Model {
            embedding_model: String,
        }
        #[derive(sqlx::FromRow)]
        struct Dims {
            dims: i64,
        }
        let sql = Sql::new("SELECT DISTINCT embedding_model FROM documents WHERE embedding_model IS NOT NULL");
        let models: Vec<Model> = store.all("document", sql).await?;
        for model in models {
            let sql = Sql::new("SELECT length(embedding) / 4 AS dims FROM document_chunks WHERE embedding_model = ")
                .bind(&model.embedding_model)
                .push(" AND embedding IS NOT NULL LIMIT 1");
            if let Some(found) = store.optional::<Dims>("chunk", sql).await? {
                let dims = usize::try_from(found.dims).map_err(DomainError::internal)?;
                self.index(store, &model.embedding_model, dims).await?.catch_up(store).await?;
            }
        }
        Ok(())
    }

    /// Saves every open index that changed since it was last saved.
    pub(crate) async fn save_all(&self, store: &SqlStore) -> DomainResult<()> {
        let open: Vec<Arc<ModelIndex>> = self.models.lock().await.values().cloned().collect();
        for index in open {
            index.catch_up(store).await?;
            index.save().await?;
        }
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct VectorRow {
    chunk_key: i64,
    id: ChunkId,
    document_id: DocumentId,
    embedding: Option<Vec<u8>>,
    embedding_model: Option<String>,
}

/// What is saved beside the graph.
#[derive(Serialize, Deserialize)]
struct Sidecar {
    model: String,
    dimensions: usize,
    /// The last feed entry the saved graph includes.
    seq: i64,
    vectors: usize,
}

struct Sync {
    seq: i64,
    unsaved: usize,
    saved_at: Instant,
}

/// One model's graph with its catalog.
pub(crate) struct ModelIndex {
    model: String,
    dims: usize,
    file: Option<PathBuf>,
    graph: RwLock<Index>,
    catalog: RwLock<Catalog>,
    sync: tokio::sync::Mutex<Sync>,
}

fn internal(error: impl std::fmt::Display) -> DomainError {
    DomainError::internal(format!("vector index: {error}"))
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn new_graph(dims: usize) -> DomainResult<Index> {
    let options = IndexOptions {
        dimensions: dims,
        metric: MetricKind::Cos,
        // Half precision halves memory; cosine ranks are unchanged to three decimals.
        quantization: ScalarKind::F16,
        connectivity: 16,
        expansion_add: 128,
        expansion_search: 128,
        multi: false,
    };
    let graph = Index::new(&options).map_err(internal)?;
    graph.reserve_capacity_and_threads(1024, 16).map_err(internal)?;
    Ok(graph)
}

impl ModelIndex {
    async fn open(store: &SqlStore, dir: Option<&Path>, model: &str, dims: usize) -> DomainResult<Arc<Self>> {
        let name = format!("vectors-{:016x}", fnv1a(format!("{model}\u{0}{dims}").as_bytes()));
        let file = dir.map(|dir| dir.join(format!("{name}.usearch")));
        let this = Arc::new(Self {
            model: model.to_owned(),
            dims,
            file: file.clone(),
            graph: RwLock::new(new_graph(dims)?),
            catalog: RwLock::default(),
            sync: tokio::sync::Mutex::new(Sync { seq: 0, unsaved: 0, saved_at: Instant::now() }),
        });
        let snapshot = match &file {
            Some(file) => this.load_snapshot(file).await,
            None => None,
        };
        match snapshot {
            Some(seq) => {
                this.sync.lock().await.seq = seq;
                this.read_catalog(store).await?;
                this.catch_up(store).await?;
                let (graph, known) = (this.graph_size(), this.catalog_size());
                if graph != known {
                    tracing::warn!(
                        model,
                        graph,
                        known,
                        "the saved vector index disagrees with the database; rebuilding it"
                    );
                    this.rebuild(store).await?;
                }
            }
            None => this.rebuild(store).await?,
        }
        Ok(this)
    }

    fn graph_size(&self) -> usize {
        self.graph.read().map(|graph| graph.size()).unwrap_or(0)
    }

    fn catalog_size(&self) -> usize {
        self.catalog.read().map(|catalog| catalog.placed.len()).unwrap_or(0)
    }

    /// The feed position of a readable snapshot of this model, loaded into the graph.
    async fn load_snapshot(self: &Arc<Self>, file: &Path) -> Option<i64> {
        let sidecar: Sidecar = serde_json::from_slice(&std::fs::read(file.with_extension("json")).ok()?).ok()?;
        if sidecar.model != self.model || sidecar.dimensions != self.dims {
            return None;
        }
        let this = self.clone();
        let path = file.to_string_lossy().into_owned();
        let loaded = tokio::task::spawn_blocking(move || -> DomainResult<usize> {
            let graph = this.graph.write().map_err(internal)?;
            graph.load(&path).map_err(internal)?;
            Ok(graph.size())
        })
        .await;
        match loaded {
            Ok(Ok(size)) if size == sidecar.vectors => Some(sidecar.seq),
            Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {
                tracing::warn!(file = %file.display(), "the saved vector index is unreadable; rebuilding it");
                None
            }
        }
    }

    /// Builds the graph and catalog from every vector of this model in the database.
    async fn rebuild(self: &Arc<Self>, store: &SqlStore) -> DomainResult<()> {
        let mut sync = self.sync.lock().await;
        let started = Instant::now();
        // Changes made while reading are replayed afterwards (replay is idempotent).
        let max: MaxSeq = store.one("change", Sql::new("SELECT MAX(seq) AS seq FROM search_changes")).await?;
        {
            let graph = self.graph.write().map_err(internal)?;
            graph.reset().map_err(internal)?;
            graph.reserve_capacity_and_threads(1024, 16).map_err(internal)?;
        }
        *self.catalog.write().map_err(internal)? = Catalog::default();
        let mut after = 0_i64;
        loop {
            let sql = Sql::new(
                "SELECT chunk_key, id, document_id, embedding, embedding_model FROM document_chunks WHERE embedding_model = ",
            )
            .bind(&self.model)
            .push(" AND embedding IS NOT NULL AND chunk_key > ")
            .bind(after)
            .push(" ORDER BY chunk_key LIMIT ")
            .bind(BUILD_PAGE);
            let rows: Vec<VectorRow> = store.all("chunk", sql).await?;
            let Some(last) = rows.last() else { break };
            after = last.chunk_key;
            let documents: Vec<DocumentId> = rows.iter().map(|row| row.document_id).collect();
            self.apply(rows, &[]).await?;
            refresh_facts(store, &self.catalog, &documents).await?;
        }
        sync.seq = max.seq.unwrap_or(0);
        sync.unsaved = self.catalog_size();
        drop(sync);
        self.catch_up(store).await?;
        tracing::info!(model = %self.model, vectors = self.graph_size(), ms = started.elapsed().as_millis(), "vector index built");
        Ok(())
    }

    /// Reads which document every vector of this model belongs to (after loading a snapshot).
    async fn read_catalog(self: &Arc<Self>, store: &SqlStore) -> DomainResult<()> {
        let mut after = 0_i64;
        loop {
            let sql = Sql::new("SELECT chunk_key, id, document_id, NULL AS embedding, NULL AS embedding_model FROM document_chunks WHERE embedding_model = ")
                .bind(&self.model)
                .push(" AND embedding IS NOT NULL AND chunk_key > ")
                .bind(after)
                .push(" ORDER BY chunk_key LIMIT ")
                .bind(BUILD_PAGE * 4);
            let rows: Vec<VectorRow> = store.all("chunk", sql).await?;
            let Some(last) = rows.last() else { break };
            after = last.chunk_key;
            let documents: Vec<DocumentId> = rows.iter().map(|row| row.document_id).collect();
            {
                let mut catalog = self.catalog.write().map_err(internal)?;
                for row in &rows {
                    catalog.insert_key(key_of(row.chunk_key), row.document_id, row.id);
                }
            }
            refresh_facts(store, &self.catalog, &documents).await?;
        }
        Ok(())
    }

    /// Applies the feed's entries after the last one seen.
    pub(crate) async fn catch_up(self: &Arc<Self>, store: &SqlStore) -> DomainResult<()> {
        let mut sync = self.sync.lock().await;
        while let Some(page) = feed_page::<VectorRow>(store, sync.seq, VECTOR_COLUMNS).await? {
            let present: HashSet<i64> = page.rows.iter().map(|row| row.chunk_key).collect();
            let gone: Vec<i64> = page.keys.iter().copied().filter(|key| !present.contains(key)).collect();
            self.apply(page.rows, &gone).await?;
            refresh_facts(store, &self.catalog, &page.documents).await?;
            sync.unsaved += page.entries;
            sync.seq = page.last;
        }
        if sync.unsaved > 0 && sync.saved_at.elapsed() >= SAVE_EVERY {
            drop(sync);
            self.save().await?;
        }
        Ok(())
    }

    /// Adds or replaces the vectors of `rows` (removing those no longer of this model) and
    /// removes the `gone` keys, off the async threads.
    async fn apply(self: &Arc<Self>, rows: Vec<VectorRow>, gone: &[i64]) -> DomainResult<()> {
        let this = self.clone();
        let gone = gone.to_vec();
        tokio::task::spawn_blocking(move || this.apply_blocking(rows, &gone)).await.map_err(internal)?
    }

    fn apply_blocking(&self, rows: Vec<VectorRow>, gone: &[i64]) -> DomainResult<()> {
        let mut adds: Vec<(u64, DocumentId, ChunkId, Vec<f32>)> = Vec::new();
        let mut removals: Vec<u64> = gone.iter().map(|key| key_of(*key)).collect();
        for row in rows {
            match (row.embedding, row.embedding_model.as_deref()) {
                (Some(bytes), Some(model)) if model == self.model && bytes.len() == self.dims * 4 => {
                    adds.push((key_of(row.chunk_key), row.document_id, row.id, floats(&bytes)));
                }
                _ => removals.push(key_of(row.chunk_key)),
            }
        }
        {
            let graph = self.graph.write().map_err(internal)?;
            for key in removals.iter().chain(adds.iter().map(|(key, _, _, _)| key)) {
                if graph.contains(*key) {
                    graph.remove(*key).map_err(internal)?;
                }
            }
            let needed = graph.size() + adds.len();
            if needed > graph.capacity() {
                let capacity = needed.max(graph.capacity() * 2);
                graph.reserve_capacity_and_threads(capacity, 16).map_err(internal)?;
            }
        }
        let graph = self.graph.read().map_err(internal)?;
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(4);
        let per_thread = adds.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| -> DomainResult<()> {
            let workers: Vec<_> = adds
                .chunks(per_thread)
                .map(|part| {
                    let graph = &graph;
                    scope.spawn(move || -> DomainResult<()> {
                        for (key, _, _, vector) in part {
                            graph.add(*key, vector).map_err(internal)?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for worker in workers {
                worker.join().map_err(|_| internal("an indexing thread panicked"))??;
            }
            Ok(())
        })?;
        drop(graph);
        let mut catalog = self.catalog.write().map_err(internal)?;
        for key in removals {
            catalog.remove_key(key);
        }
        for (key, document, chunk, _) in adds {
            catalog.insert_key(key, document, chunk);
        }
        Ok(())
    }

    /// The `limit` chunks nearest `vector` among those `scope` allows, best first.
    pub(crate) async fn search(
        self: &Arc<Self>,
        store: &SqlStore,
        scope: &SearchScope,
        vector: &[f32],
        limit: usize,
    ) -> DomainResult<Vec<RankedChunk>> {
        self.catch_up(store).await?;
        // Milliseconds of CPU: off the async threads (and beside the keyword ranking).
        let (this, within, vector) = (self.clone(), scope.clone(), vector.to_vec());
        tokio::task::spawn_blocking(move || this.nearest(&within, &vector, limit)).await.map_err(internal)?
    }

    fn nearest(&self, scope: &SearchScope, vector: &[f32], limit: usize) -> DomainResult<Vec<RankedChunk>> {
        let catalog = self.catalog.read().map_err(internal)?;
        let (mask, allowed) = catalog.allowed(scope);
        if allowed == 0 {
            return Ok(Vec::new());
        }
        let graph = self.graph.read().map_err(internal)?;
        let wanted = limit.min(allowed);
        if allowed >= EXACT_BELOW {
            let matches = graph
                .filtered_search(vector, limit, |key| {
                    catalog.placed.get(&key).is_some_and(|placed| mask[placed.slot as usize])
                })
                .map_err(internal)?;
            if matches.keys.len() >= wanted {
                let hits = matches.keys.into_iter().zip(matches.distances).map(|(k, d)| (k, 1.0 - f64::from(d)));
                return Ok(catalog.ranked(scope.tenant, hits.collect()));
            }
        }
        // Few allowed vectors (or a graph walk that found too few): compare them all.
        let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        let mut buffer = vec![0.0_f32; self.dims];
        let mut scored: Vec<(u64, f64)> = Vec::with_capacity(allowed);
        for slot in (0..mask.len()).filter(|slot| mask[*slot]) {
            for key in &catalog.keys_of[slot] {
                if graph.get(*key, &mut buffer).map_err(internal)? == 0 {
                    continue;
                }
                let dot: f32 = buffer.iter().zip(vector).map(|(a, b)| a * b).sum();
                let other = buffer.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
                scored.push((*key, f64::from(dot / (norm * other))));
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(limit);
        Ok(catalog.ranked(scope.tenant, scored))
    }

    /// Writes the graph and its sidecar (through temporary files and renames, so that a
    /// crash leaves the previous snapshot or the new one).
    pub(crate) async fn save(self: &Arc<Self>) -> DomainResult<()> {
        let Some(file) = self.file.clone() else { return Ok(()) };
        let mut sync = self.sync.lock().await;
        if sync.unsaved == 0 && file.exists() {
            return Ok(());
        }
        let this = self.clone();
        let seq = sync.seq;
        tokio::task::spawn_blocking(move || -> DomainResult<()> {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(internal)?;
            }
            let temporary = file.with_extension("usearch.tmp");
            let graph = this.graph.read().map_err(internal)?;
            graph.save(&temporary.to_string_lossy()).map_err(internal)?;
            let sidecar = Sidecar { model: this.model.clone(), dimensions: this.dims, seq, vectors: graph.size() };
            drop(graph);
            let sidecar_temporary = file.with_extension("json.tmp");
            std::fs::write(&sidecar_temporary, serde_json::to_vec(&sidecar).map_err(internal)?).map_err(internal)?;
            std::fs::rename(&temporary, &file).map_err(internal)?;
            std::fs::rename(&sidecar_temporary, file.with_extension("json")).map_err(internal)?;
            Ok(())
        })
        .await
        .map_err(internal)??;
        sync.unsaved = 0;
        sync.saved_at = Instant::now();
        Ok(())
    }
}
