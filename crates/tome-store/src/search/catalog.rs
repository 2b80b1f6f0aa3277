//! What the embedded indexes (keywords and vectors) share: the per-document facts that
//! access rules and filters are evaluated against inside a search, the feed rows they
//! replay, and each chunk key's public id (so that a ranking is answered from memory).

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use tome_domain::knowledge::{DocumentType, Visibility};
use tome_domain::search::{RankedChunk, SearchScope};
use tome_domain::{ChunkId, DocumentId, DomainError, DomainResult, ProjectId, TenantId, Timestamp, UserId};

use crate::SqlStore;
use crate::pool::Record;
use crate::sql::Sql;

/// Changes read from the feed per round.
const FEED_PAGE: i64 = 2_000;

/// What a search needs to know of a document to decide whether its chunks may be shown.
#[derive(Clone, Debug)]
pub(super) struct DocFacts {
    tenant: TenantId,
    owner: Option<UserId>,
    project: Option<ProjectId>,
    shared: bool,
    document_type: DocumentType,
    created_at: Timestamp,
    deleted: bool,
}

impl DocFacts {
    pub(super) fn allows(&self, scope: &SearchScope, id: DocumentId) -> bool {
        self.tenant == scope.tenant
            && !self.deleted
            && (self.shared || self.owner == Some(scope.reader))
            && scope.filters.owner_id.is_none_or(|owner| self.owner == Some(owner))
            && (scope.filters.project_ids.is_empty()
                || self.project.is_some_and(|p| scope.filters.project_ids.contains(&p)))
            && (scope.filters.document_ids.is_empty() || scope.filters.document_ids.contains(&id))
            && (scope.filters.document_types.is_empty() || scope.filters.document_types.contains(&self.document_type))
            && scope.filters.created_after.is_none_or(|after| self.created_at >= after)
            && scope.filters.created_before.is_none_or(|before| self.created_at < before)
    }
}

/// Where an indexed chunk belongs: its document's slot, and the chunk's public id.
#[derive(Clone, Copy)]
pub(super) struct Placed {
    pub(super) slot: u32,
    chunk: ChunkId,
}

/// Which document each indexed chunk belongs to, and each document's facts.
#[derive(Default)]
pub(super) struct Catalog {
    slot_of: HashMap<DocumentId, u32>,
    ids: Vec<DocumentId>,
    facts: Vec<Option<DocFacts>>,
    pub(super) keys_of: Vec<HashSet<u64>>,
    pub(super) placed: HashMap<u64, Placed>,
}

impl Catalog {
    pub(super) fn slot(&mut self, document: DocumentId) -> u32 {
        if let Some(slot) = self.slot_of.get(&document) {
            return *slot;
        }
        let slot = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.slot_of.insert(document, slot);
        self.ids.push(document);
        self.facts.push(None);
        self.keys_of.push(HashSet::new());
        slot
    }

    pub(super) fn insert_key(&mut self, key: u64, document: DocumentId, chunk: ChunkId) {
        let slot = self.slot(document);
        if let Some(old) = self.placed.insert(key, Placed { slot, chunk }) {
            self.keys_of[old.slot as usize].remove(&key);
        }
        self.keys_of[slot as usize].insert(key);
    }

    pub(super) fn remove_key(&mut self, key: u64) {
        if let Some(old) = self.placed.remove(&key) {
            self.keys_of[old.slot as usize].remove(&key);
        }
    }

    /// `hits` (chunk keys with scores, best first) as ranked chunks of `tenant`; a key no
    /// longer indexed, or of another tenant, is left out.
    pub(super) fn ranked(&self, tenant: TenantId, hits: Vec<(u64, f64)>) -> Vec<RankedChunk> {
        hits.into_iter()
            .filter_map(|(key, score)| {
                let placed = self.placed.get(&key)?;
                let facts = self.facts[placed.slot as usize].as_ref()?;
                (facts.tenant == tenant).then_some(RankedChunk { chunk_id: placed.chunk, score })
            })
            .collect()
    }

    /// How many chunks the documents of `tenant` hold.
    pub(super) fn chunks_of(&self, tenant: TenantId) -> usize {
        (0..self.ids.len())
            .filter(|slot| self.facts[*slot].as_ref().is_some_and(|facts| facts.tenant == tenant))
            .map(|slot| self.keys_of[slot].len())
            .sum()
    }

    /// A mask over document slots: which ones `scope` may see; and how many vectors they hold.
    pub(super) fn allowed(&self, scope: &SearchScope) -> (Vec<bool>, usize) {
        let mut count = 0;
        let mask = (0..self.ids.len())
            .map(|slot| {
                let allowed = self.facts[slot].as_ref().is_some_and(|facts| facts.allows(scope, self.ids[slot]));
                if allowed {
                    count += self.keys_of[slot].len();
                }
                allowed
            })
            .collect();
        (mask, count)
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    seq: i64,
    document_id: DocumentId,
    chunk_key: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(super) struct DocRow {
    id: DocumentId,
    tenant_id: TenantId,
    owner_id: Option<UserId>,
    project_id: Option<ProjectId>,
    #[sqlx(try_from = "String")]
    visibility: Visibility,
    #[sqlx(try_from = "String")]
    document_type: DocumentType,
    created_at: Timestamp,
    deleted_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
pub(super) struct MaxSeq {
    pub(super) seq: Option<i64>,
}

pub(super) fn key_of(chunk_key: i64) -> u64 {
    u64::try_from(chunk_key).unwrap_or(0)
}

/// One page of the `search_changes` feed, with the changed chunks' current rows.
pub(super) struct FeedPage<R> {
    /// The page's last feed position.
    pub(super) last: i64,
    /// How many feed entries the page held.
    pub(super) entries: usize,
    /// The distinct chunk keys changed (a key without a row in `rows` is gone).
    pub(super) keys: Vec<i64>,
    /// The distinct documents changed.
    pub(super) documents: Vec<DocumentId>,
    pub(super) rows: Vec<R>,
}

/// The feed page after position `after`, if any: `columns` are read from
/// `document_chunks c` for every changed chunk that still exists.
pub(super) async fn feed_page<R: Record>(
    store: &SqlStore,
    after: i64,
    columns: &str,
) -> DomainResult<Option<FeedPage<R>>> {
    let sql = Sql::new("SELECT seq, document_id, chunk_key FROM search_changes WHERE seq > ")
        .bind(after)
        .push(" ORDER BY seq LIMIT ")
        .bind(FEED_PAGE);
    let changes: Vec<ChangeRow> = store.all("change", sql).await?;
    let Some(last) = changes.last().map(|change| change.seq) else { return Ok(None) };
    let keys = distinct(changes.iter().filter_map(|change| change.chunk_key));
    let documents = distinct(changes.iter().map(|change| change.document_id));
    let rows = if keys.is_empty() {
        Vec::new()
    } else {
        let sql = super::any_of(
            Sql::new(format!("SELECT {columns} FROM document_chunks c WHERE 1 = 1")),
            "c.chunk_key",
            &keys,
        );
        store.all::<R>("chunk", sql).await?
    };
    Ok(Some(FeedPage { last, entries: changes.len(), keys, documents, rows }))
}

/// `items` sorted, each once.
pub(super) fn distinct<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut items: Vec<T> = items.collect();
    items.sort_unstable();
    items.dedup();
    items
}

/// Reads the current facts of `documents` into `catalog` (a document that no longer exists
/// is forgotten, so that none of its chunks can be shown).
pub(super) async fn refresh_facts(
    store: &SqlStore,
    catalog: &RwLock<Catalog>,
    documents: &[DocumentId],
) -> DomainResult<()> {
    for part in documents.chunks(500) {
        let sql = Sql::new(
            "SELECT id, tenant_id, owner_id, project_id, visibility, document_type, created_at, deleted_at \
             FROM documents d WHERE 1 = 1",
        );
        let rows: Vec<DocRow> = store.all("document", super::any_of(sql, "d.id", part)).await?;
        let mut catalog = catalog.write().map_err(DomainError::internal)?;
        let found: HashSet<DocumentId> = rows.iter().map(|row| row.id).collect();
        for row in rows {
            let slot = catalog.slot(row.id) as usize;
            catalog.facts[slot] = Some(DocFacts {
                tenant: row.tenant_id,
                owner: row.owner_id,
                project: row.project_id,
                shared: row.visibility == Visibility::Tenant,
                document_type: row.document_type,
                created_at: row.created_at,
                deleted: row.deleted_at.is_some(),
            });
        }
        for document in part.iter().filter(|document| !found.contains(document)) {
            if let Some(slot) = catalog.slot_of.get(document).copied() {
                catalog.facts[slot as usize] = None;
            }
        }
    }
    Ok(())
}
