//! The embedded backend's keyword index: BM25 over chunk text with tantivy, in memory, kept
//! in step with the database by replaying `search_changes` (like the vector index).
//!
//! Why tantivy rather than FTS5: a top-k query must not score every matching chunk. tantivy's
//! block-max WAND skips blocks of postings that cannot reach the current k-th score, so a
//! query of common words over a million chunks costs a few milliseconds, where FTS5 ranked
//! every match.
//!
//! - Terms are `tome_domain::search::index_terms` (the same analysis as queries and
//!   snippets), each prefixed with the chunk's tenant: a tenant's query walks only its own
//!   postings, and its document frequencies are its own. BM25's document count is the
//!   tenant's as well (`TenantStatistics`); only the average chunk length is shared.
//! - Access rules and filters are decided inside the ranking: the pruning callback skips a
//!   chunk whose document the scope may not see, so the k results are the best k allowed
//!   ones (never fewer because forbidden chunks ranked higher).
//! - The database stays the truth. The index lives in memory, is built from
//!   `document_chunks` when a process first needs it, and replays the feed before every
//!   search, so a deleted or re-indexed document changes results at once, whichever process
//!   wrote it.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};
use tome_domain::search::{RankedChunk, SearchScope, index_terms, query_stems};
use tome_domain::{ChunkId, DocumentId, DomainError, DomainResult, TenantId};

use super::catalog::{Catalog, MaxSeq, distinct, feed_page, key_of, refresh_facts};
use crate::SqlStore;
use crate::sql::Sql;

/// What the index reads of a chunk.
const TEXT_COLUMNS: &str = "chunk_key, id, tenant_id, document_id, content";
/// Chunks read per round when building from the database.
const BUILD_PAGE: i64 = 5_000;
/// The indexing memory of the writer (tantivy splits it among its threads).
const WRITER_BUDGET: usize = 64 << 20;

fn internal(error: impl std::fmt::Display) -> DomainError {
    DomainError::internal(format!("keyword index: {error}"))
}

/// The process's keyword index, opened (built from the database) on first use.
#[derive(Default)]
pub(crate) struct KeywordIndex {
    open: tokio::sync::OnceCell<Arc<Keywords>>,
}

impl KeywordIndex {
    /// The index, built on first use and brought up to date with the feed.
    pub(crate) async fn current(&self, store: &SqlStore) -> DomainResult<Arc<Keywords>> {
        let keywords = self.open.get_or_try_init(|| Keywords::build(store)).await?.clone();
        keywords.catch_up(store).await?;
        Ok(keywords)
    }
}

#[derive(sqlx::FromRow)]
struct TextRow {
    chunk_key: i64,
    id: ChunkId,
    tenant_id: TenantId,
    document_id: DocumentId,
    content: String,
}

/// The tantivy index with the facts its searches filter by.
pub(crate) struct Keywords {
    key: Field,
    slot: Field,
    text: Field,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    reader: IndexReader,
    catalog: RwLock<Catalog>,
    seq: tokio::sync::Mutex<i64>,
}

/// A ranked chunk key; orders by score, then by key (the smaller key wins a tie).
#[derive(Clone, Copy, PartialEq)]
struct Hit {
    score: f32,
    key: u64,
}

impl Eq for Hit {}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then_with(|| other.key.cmp(&self.key))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// BM25 statistics of one tenant: its own chunk count and (through the tenant prefix) its
/// own document frequencies; the average chunk length is the index's.
struct TenantStatistics<'a> {
    searcher: &'a Searcher,
    chunks: u64,
}

impl Bm25StatisticsProvider for TenantStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let tokens = self.searcher.total_num_tokens(field)?;
        let docs = Bm25StatisticsProvider::total_num_docs(self.searcher)?.max(1);
        Ok(u64::try_from(u128::from(tokens) * u128::from(self.chunks) / u128::from(docs)).unwrap_or(u64::MAX))
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.chunks)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        // Postings of deleted chunks count until their segment is merged: never more than all.
        Ok(self.searcher.doc_freq(term)?.min(self.chunks))
    }
}

fn tenant_term(tenant: TenantId, stem: &str) -> String {
    format!("{tenant}/{stem}")
}

impl Keywords {
    async fn build(store: &SqlStore) -> DomainResult<Arc<Self>> {
        let mut schema = Schema::builder();
        let key = schema.add_u64_field("key", INDEXED | tantivy::schema::FAST);
        let slot = schema.add_u64_field("slot", tantivy::schema::FAST);
        let text = schema.add_text_field(
            "text",
            TextOptions::default()
                .set_indexing_options(TextFieldIndexing::default().set_index_option(IndexRecordOption::WithFreqs)),
        );
        let index = Index::create_in_ram(schema.build());
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(4);
        let writer = index.writer_with_num_threads(threads, WRITER_BUDGET).map_err(internal)?;
        // The build makes many segments; `compact` merges them once, at the end.
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(internal)?;
        let this = Arc::new(Self {
            key,
            slot,
            text,
            writer: Mutex::new(writer),
            reader,
            catalog: RwLock::default(),
            seq: tokio::sync::Mutex::new(0),
        });
        this.load(store).await?;
        Ok(this)
    }

    /// Indexes every chunk in the database (changes made meanwhile are replayed after).
    async fn load(self: &Arc<Self>, store: &SqlStore) -> DomainResult<()> {
        let started = Instant::now();
        let mut seq = self.seq.lock().await;
        let max: MaxSeq = store.one("change", Sql::new("SELECT MAX(seq) AS seq FROM search_changes")).await?;
        let mut after = 0_i64;
        let mut chunks = 0_usize;
        loop {
            let sql = Sql::new(
                "SELECT chunk_key, id, tenant_id, document_id, content FROM document_chunks WHERE chunk_key > ",
            )
            .bind(after)
            .push(" ORDER BY chunk_key LIMIT ")
            .bind(BUILD_PAGE);
            let rows: Vec<TextRow> = store.all("chunk", sql).await?;
            let Some(last) = rows.last() else { break };
            after = last.chunk_key;
            chunks += rows.len();
            let documents = distinct(rows.iter().map(|row| row.document_id));
            self.apply(rows, Vec::new()).await?;
            refresh_facts(store, &self.catalog, &documents).await?;
        }
        self.commit().await?;
        self.compact().await?;
        *seq = max.seq.unwrap_or(0);
        tracing::info!(chunks, ms = started.elapsed().as_millis(), "keyword index built");
        Ok(())
    }

    /// Merges the built index into one segment (a top-k search then walks one posting list
    /// per term, not one per segment), and from then on lets tantivy merge small segments
    /// in the background as changes arrive.
    async fn compact(self: &Arc<Self>) -> DomainResult<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || -> DomainResult<()> {
            let mut writer = this.writer.lock().map_err(internal)?;
            let segments = writer.index().searchable_segment_ids().map_err(internal)?;
            if segments.len() > 1 {
                writer.merge(&segments).wait().map_err(internal)?;
            }
            writer.set_merge_policy(Box::new(LogMergePolicy::default()));
            drop(writer);
            this.reader.reload().map_err(internal)
        })
        .await
        .map_err(internal)?
    }

    /// Applies the feed's entries after the last one seen, and makes them searchable.
    async fn catch_up(self: &Arc<Self>, store: &SqlStore) -> DomainResult<()> {
        let mut seq = self.seq.lock().await;
        let mut changed = false;
        while let Some(page) = feed_page::<TextRow>(store, *seq, TEXT_COLUMNS).await? {
            // Every changed key is removed, and those still present are added anew.
            self.apply(page.rows, page.keys).await?;
            refresh_facts(store, &self.catalog, &page.documents).await?;
            *seq = page.last;
            changed = true;
        }
        if changed {
            self.commit().await?;
        }
        Ok(())
    }

    /// Removes the `gone` keys and indexes `rows`, off the async threads.
    async fn apply(self: &Arc<Self>, rows: Vec<TextRow>, gone: Vec<i64>) -> DomainResult<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.apply_blocking(rows, &gone)).await.map_err(internal)?
    }

    fn apply_blocking(&self, rows: Vec<TextRow>, gone: &[i64]) -> DomainResult<()> {
        let slots: Vec<u32> = {
            let mut catalog = self.catalog.write().map_err(internal)?;
            for key in gone {
                catalog.remove_key(key_of(*key));
            }
            rows.iter()
                .map(|row| {
                    catalog.insert_key(key_of(row.chunk_key), row.document_id, row.id);
                    catalog.slot(row.document_id)
                })
                .collect()
        };
        // Analysis (splitting, stemming) is the costly part: spread it over the cores.
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(4);
        let per_thread = rows.len().div_ceil(threads).max(1);
        let documents: Vec<TantivyDocument> = std::thread::scope(|scope| {
            let workers: Vec<_> = rows
                .chunks(per_thread)
                .zip(slots.chunks(per_thread))
                .map(|(rows, slots)| {
                    scope.spawn(move || {
                        rows.iter().zip(slots).map(|(row, slot)| self.document(row, *slot)).collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|worker| worker.join().unwrap_or_default()).collect()
        });
        if documents.len() != rows.len() {
            return Err(internal("an analysis thread panicked"));
        }
        let writer = self.writer.lock().map_err(internal)?;
        for key in gone {
            writer.delete_term(Term::from_field_u64(self.key, key_of(*key)));
        }
        for document in documents {
            writer.add_document(document).map_err(internal)?;
        }
        Ok(())
    }

    fn document(&self, row: &TextRow, slot: u32) -> TantivyDocument {
        let mut offset = 0;
        let tokens = index_terms(&row.content)
            .into_iter()
            .enumerate()
            .map(|(position, stem)| {
                let text = tenant_term(row.tenant_id, &stem);
                let token =
                    Token { offset_from: offset, offset_to: offset + text.len(), position, text, position_length: 1 };
                offset = token.offset_to;
                token
            })
            .collect();
        let mut document = TantivyDocument::default();
        document.add_u64(self.key, key_of(row.chunk_key));
        document.add_u64(self.slot, u64::from(slot));
        document.add_pre_tokenized_text(self.text, PreTokenizedString { text: String::new(), tokens });
        document
    }

    /// Commits what was applied and lets searches see it.
    async fn commit(self: &Arc<Self>) -> DomainResult<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || -> DomainResult<()> {
            this.writer.lock().map_err(internal)?.commit().map_err(internal)?;
            this.reader.reload().map_err(internal)
        })
        .await
        .map_err(internal)?
    }

    /// The `limit` chunks that best match `terms` (BM25) among those `scope` allows.
    pub(crate) async fn search(
        self: &Arc<Self>,
        scope: &SearchScope,
        terms: &[String],
        limit: usize,
    ) -> DomainResult<Vec<RankedChunk>> {
        // Milliseconds of CPU: off the async threads (and beside the vector ranking).
        let (this, within, terms) = (self.clone(), scope.clone(), terms.to_vec());
        tokio::task::spawn_blocking(move || this.top(&within, &terms, limit)).await.map_err(internal)?
    }

    fn top(&self, scope: &SearchScope, terms: &[String], limit: usize) -> DomainResult<Vec<RankedChunk>> {
        let catalog = self.catalog.read().map_err(internal)?;
        let (mask, allowed) = catalog.allowed(scope);
        let chunks = catalog.chunks_of(scope.tenant);
        if allowed == 0 || limit == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = query_stems(terms)
            .iter()
            .map(|stem| {
                let term = Term::from_field_text(self.text, &tenant_term(scope.tenant, stem));
                (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)) as Box<dyn Query>)
            })
            .collect();
        let query: Box<dyn Query> = match clauses.len() {
            0 => return Ok(Vec::new()),
            1 => clauses.pop().map(|(_, query)| query).ok_or_else(|| internal("no clause"))?,
            _ => Box::new(BooleanQuery::new(clauses)),
        };
        let searcher = self.reader.searcher();
        let statistics = TenantStatistics { searcher: &searcher, chunks: u64::try_from(chunks).unwrap_or(u64::MAX) };
        let weight =
            query.weight(EnableScoring::enabled_from_statistics_provider(&statistics, &searcher)).map_err(internal)?;
        let mut best: BinaryHeap<Reverse<Hit>> = BinaryHeap::with_capacity(limit + 1);
        for segment in searcher.segment_readers() {
            let keys = segment.fast_fields().u64("key").map_err(internal)?;
            let slots = segment.fast_fields().u64("slot").map_err(internal)?;
            let alive = segment.alive_bitset();
            let floor = |best: &BinaryHeap<Reverse<Hit>>| match best.peek() {
                Some(Reverse(worst)) if best.len() >= limit => worst.score,
                _ => f32::MIN,
            };
            let start = floor(&best);
            weight
                .for_each_pruning(start, segment, &mut |doc, score| {
                    let visible = alive.is_none_or(|alive| alive.is_alive(doc))
                        && slots.first(doc).and_then(|slot| mask.get(usize::try_from(slot).ok()?)).copied()
                            == Some(true);
                    if visible && let Some(key) = keys.first(doc) {
                        best.push(Reverse(Hit { score, key }));
                        if best.len() > limit {
                            best.pop();
                        }
                    }
                    floor(&best)
                })
                .map_err(internal)?;
        }
        let mut hits: Vec<Hit> = best.into_iter().map(|Reverse(hit)| hit).collect();
        hits.sort_by(|a, b| b.cmp(a));
        Ok(catalog.ranked(scope.tenant, hits.into_iter().map(|hit| (hit.key, f64::from(hit.score))).collect()))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn hits_order_by_score_then_smaller_key() {
        let mut hits = [Hit { score: 1.0, key: 9 }, Hit { score: 2.0, key: 5 }, Hit { score: 1.0, key: 3 }];
        hits.sort_by(|a, b| b.cmp(a));
        let keys: Vec<u64> = hits.iter().map(|hit| hit.key).collect();
        assert_eq!(keys, [5, 3, 9]);
    }

    #[test]
    fn a_tenant_counts_only_its_chunks_and_never_more_postings_than_chunks() {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", tantivy::schema::TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for _ in 0..10 {
            let mut document = TantivyDocument::default();
            document.add_text(text, "alpha beta");
            writer.add_document(document).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let statistics = TenantStatistics { searcher: &searcher, chunks: 4 };
        assert_eq!(statistics.total_num_docs().unwrap(), 4);
        assert_eq!(statistics.doc_freq(&Term::from_field_text(text, "alpha")).unwrap(), 4);
        // 20 tokens over 10 chunks: 2 per chunk, so 8 for 4 chunks.
        assert_eq!(statistics.total_num_tokens(text).unwrap(), 8);
    }
}
