//! The rules of a tenant's documents: who may upload, read, change and delete them, what an
//! upload of content already stored returns, and which background jobs each change queues.
//!
//! Visibility: `tenant` documents are the organization's shared knowledge, readable with
//! `documents.read` and changed only with `documents.manage`; `private` documents belong to
//! their owner alone (another member gets 404, as if the document did not exist).

use serde_json::json;

use crate::access::Access;
use crate::audit;
use crate::auth::ClientInfo;
use crate::jobs::NewJob;
use crate::knowledge::{Chunk, Document, DocumentFilter, DocumentPatch, DocumentType, NewDocument, Visibility};
use crate::outbox::{StorageQuota, Write};
use crate::page::MAX_LIMIT;
use crate::repo::Store;
use crate::validate::required_text;
use crate::{DocumentId, DomainError, DomainResult, Page, PageRequest, ProjectId, TenantId, UserId, now};

pub const READ: &str = "documents.read";
pub const INGEST: &str = "documents.ingest";
pub const MANAGE: &str = "documents.manage";

/// The job that extracts, chunks and embeds a document. Payload: `{"document_id"}`.
pub const INGEST_JOB: &str = "document.ingest";
/// The job that embeds a processed document's stored chunks (vectors missing, or by another
/// model) without reading the file again. Payload: `{"document_id"}`.
pub const EMBED_JOB: &str = "document.embed";
/// The job that removes a deleted document's file and rows. Payload: `{"document_id", "storage_key"}`.
pub const PURGE_JOB: &str = "document.purge";

/// A file already written to storage, described for registration.
#[derive(Clone, Debug)]
pub struct UploadedFile {
    pub original_name: String,
    pub storage_key: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

/// Choices made at upload.
#[derive(Clone, Debug, Default)]
pub struct UploadOptions {
    pub project_id: Option<ProjectId>,
    pub visibility: Option<Visibility>,
    pub document_type: Option<DocumentType>,
    /// The tenant's storage quota, set by the server (never by the client).
    pub quota: StorageQuota,
}

/// What an upload produced: a new document, or the one that already holds this content.
#[derive(Clone, Debug)]
pub struct Registered {
    pub document: Document,
    pub duplicate: bool,
}

pub(crate) fn name(raw: &str) -> DomainResult<String> {
    let trimmed = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    required_text("name", trimmed, 1024)
}

/// Whether `access` may see `document`.
fn readable(access: &Access, document: &Document) -> bool {
    document.visibility == Visibility::Tenant || document.owner_id == Some(access.user_id)
}

/// Whether `access` may change `document` (rename, move, re-index, delete).
fn changeable(access: &Access, document: &Document) -> bool {
    access.can(MANAGE) || (document.owner_id == Some(access.user_id) && access.can(INGEST))
}

fn ingest_job(tenant: TenantId, document: DocumentId) -> NewJob {
    document_job(INGEST_JOB, tenant, document)
}

/// A job of `kind` about one document, with three attempts.
pub fn document_job(kind: &str, tenant: TenantId, document: DocumentId) -> NewJob {
    NewJob {
        tenant_id: Some(tenant),
        kind: kind.into(),
        payload: json!({"document_id": document}),
        max_attempts: 3,
        run_at: now(),
    }
}

/// Queues an embedding job for every processed document (in `only` these tenants, or in
/// all) whose vectors are missing or by another model than `model` (platform work: `tome
/// reindex`, and `tome serve` when the configured model changed). Documents stay searchable
/// meanwhile: each one's vectors are replaced in one transaction. Returns how many were
/// queued.
pub async fn queue_embeddings(store: &dyn Store, model: &str, only: Option<&[TenantId]>) -> DomainResult<u64> {
    let mut after = None;
    let mut queued = 0;
    loop {
        let batch = store.documents_needing_embeddings(model, after, 500).await?;
        let Some(&(_, last)) = batch.last() else { return Ok(queued) };
        for (tenant, document) in batch {
            if only.is_none_or(|tenants| tenants.contains(&tenant)) {
                store.enqueue(document_job(EMBED_JOB, tenant, document)).await?;
                queued += 1;
            }
        }
        after = Some(last);
    }
}

/// Queues every document of `tenant` to be extracted, chunked and embedded again (`tome
/// reindex --all`, after a change to the parsers or chunk sizes). Returns how many.
pub async fn queue_processing(store: &dyn Store, tenant: TenantId) -> DomainResult<u64> {
    let mut page = PageRequest::first(MAX_LIMIT);
    let mut queued = 0;
    loop {
        let found = store.list_documents(tenant, DocumentFilter::default(), page).await?;
        for document in &found.items {
            store.enqueue(ingest_job(tenant, document.id)).await?;
            queued += 1;
        }
        match found.next_cursor {
            Some(cursor) => page = PageRequest::parse(Some(MAX_LIMIT), Some(&cursor))?,
            None => return Ok(queued),
        }
    }
}

/// Registers an uploaded file (permission `documents.ingest`) and queues its processing.
/// The same content already in this tenant with the same visibility (and, when private, the
/// same owner) is returned instead, marked as a duplicate; the caller discards its copy.
pub async fn register_upload(
    store: &dyn Store,
    access: &Access,
    file: UploadedFile,
    options: UploadOptions,
    client: &ClientInfo,
) -> DomainResult<Registered> {
    access.require(INGEST)?;
    register(store, access.tenant_id, access.user_id, file, options, client).await
}

/// Registers a file that Tome wrote itself for `owner` (a transcript, meeting minutes):
/// the permission to make it was checked when the work was asked for. Recorded in the
/// audit log as the owner's.
pub async fn register_generated(
    store: &dyn Store,
    tenant: TenantId,
    owner: UserId,
    file: UploadedFile,
    options: UploadOptions,
) -> DomainResult<Registered> {
    register(store, tenant, owner, file, options, &ClientInfo::default()).await
}

/// A new document, its ingest job and its audit entry, or the document that already holds
/// this content.
async fn register(
    store: &dyn Store,
    tenant: TenantId,
    owner: UserId,
    file: UploadedFile,
    options: UploadOptions,
    client: &ClientInfo,
) -> DomainResult<Registered> {
    let visibility = options.visibility.unwrap_or(Visibility::Tenant);
    let original_name = name(&file.original_name)?;
    let same = DocumentFilter {
        sha256: Some(file.sha256.clone()),
        visibility: Some(visibility),
        owner_id: (visibility == Visibility::Private).then_some(owner),
        ..DocumentFilter::default()
    };
    let existing = store.list_documents(tenant, same, PageRequest { limit: 1, after: None }).await?;
    if let Some(document) = existing.items.into_iter().next() {
        return Ok(Registered { document, duplicate: true });
    }
    let new = NewDocument {
        owner_id: Some(owner),
        project_id: options.project_id,
        visibility,
        original_name,
        storage_key: file.storage_key,
        mime_type: file.mime_type,
        size_bytes: file.size_bytes,
        sha256: file.sha256,
        document_type: options.document_type.unwrap_or(DocumentType::GeneralDocument),
    };
    // The document, its ingest job and its audit line are written together: none without the others.
    let id = DocumentId::new();
    let summary = format!("uploaded {} ({} bytes)", new.original_name, new.size_bytes);
    let changes = json!({"name": new.original_name, "visibility": new.visibility.as_str(),
        "sha256": new.sha256, "document_type": new.document_type.as_str()});
    let entry = audit::entry(Some(owner), "document.create", ("document", id.to_string()), summary, changes, client);
    let writes = vec![Write::CreateDocument { id, new, quota: options.quota }, Write::Enqueue(ingest_job(tenant, id))];
    store.write_unit(tenant, writes, Some(entry)).await?;
    let document = store.get_document(tenant, id).await?;
    Ok(Registered { document, duplicate: false })
}

/// The documents the caller may read (permission `documents.read`), newest first.
pub async fn list(
    store: &dyn Store,
    access: &Access,
    filter: DocumentFilter,
    page: PageRequest,
) -> DomainResult<Page<Document>> {
    access.require(READ)?;
    let filter = DocumentFilter { readable_by: Some(access.user_id), include_deleted: false, ..filter };
    store.list_documents(access.tenant_id, filter, page).await
}

/// One document the caller may read; another member's private document is not found.
pub async fn get(store: &dyn Store, access: &Access, id: DocumentId) -> DomainResult<Document> {
    access.require(READ)?;
    let document = store.get_document(access.tenant_id, id).await?;
    if readable(access, &document) { Ok(document) } else { Err(DomainError::NotFound("document")) }
}

/// A readable document's chunks in order.
pub async fn chunks(
    store: &dyn Store,
    access: &Access,
    id: DocumentId,
    page: PageRequest,
) -> DomainResult<Page<Chunk>> {
    get(store, access, id).await?;
    store.list_chunks(access.tenant_id, id, page).await
}

/// What a caller may change about a document.
#[derive(Clone, Debug, Default)]
pub struct DocumentChanges {
    pub original_name: Option<String>,
    pub project_id: Option<Option<ProjectId>>,
    pub visibility: Option<Visibility>,
    pub document_type: Option<DocumentType>,
}

/// Renames, moves or re-types one's own document (`documents.ingest`) or anyone's
/// (`documents.manage`); changing visibility always needs `documents.manage`.
pub async fn update(
    store: &dyn Store,
    access: &Access,
    id: DocumentId,
    changes: DocumentChanges,
    client: &ClientInfo,
) -> DomainResult<Document> {
    let before = get(store, access, id).await?;
    if !changeable(access, &before) {
        return Err(DomainError::Forbidden("changing this document needs documents.manage".into()));
    }
    if changes.visibility.is_some_and(|v| v != before.visibility) {
        access.require(MANAGE)?;
    }
    let patch = DocumentPatch {
        original_name: changes.original_name.as_deref().map(name).transpose()?,
        project_id: changes.project_id,
        visibility: changes.visibility,
        document_type: changes.document_type,
        ..DocumentPatch::default()
    };
    let document = store.update_document(access.tenant_id, id, patch).await?;
    let target = ("document", document.id.to_string());
    if document.visibility != before.visibility {
        let summary = format!("made {} {}", document.original_name, document.visibility);
        let changes = json!({"visibility": {"from": before.visibility.as_str(), "to": document.visibility.as_str()}});
        audit::record(store, access, "document.visibility", target, summary, changes, client).await?;
    } else {
        let summary = format!("changed {}", document.original_name);
        let changes = json!({"name": {"from": before.original_name, "to": document.original_name}});
        audit::record(store, access, "document.update", target, summary, changes, client).await?;
    }
    Ok(document)
}

/// Hides a document at once (it leaves lists and search) and queues the purge of its file,
/// chunks and vectors.
pub async fn delete(store: &dyn Store, access: &Access, id: DocumentId, client: &ClientInfo) -> DomainResult<()> {
    let document = get(store, access, id).await?;
    if !changeable(access, &document) {
        return Err(DomainError::Forbidden("deleting this document needs documents.manage".into()));
    }
    let purge = NewJob {
        tenant_id: Some(access.tenant_id),
        kind: PURGE_JOB.into(),
        payload: json!({"document_id": id, "storage_key": document.storage_key}),
        max_attempts: 10,
        run_at: now(),
    };
    let summary = format!("deleted {}", document.original_name);
    let target = ("document", id.to_string());
    let entry = audit::entry(Some(access.user_id), "document.delete", target, summary, json!({}), client);
    let writes = vec![Write::HideDocument { id, at: now() }, Write::Enqueue(purge)];
    store.write_unit(access.tenant_id, writes, Some(entry)).await
}

/// Queues a document to be processed again (after a failure, or a new embedding model).
pub async fn reindex(
    store: &dyn Store,
    access: &Access,
    id: DocumentId,
    client: &ClientInfo,
) -> DomainResult<Document> {
    let document = get(store, access, id).await?;
    if !changeable(access, &document) {
        return Err(DomainError::Forbidden("re-indexing this document needs documents.manage".into()));
    }
    let summary = format!("queued {} for re-indexing", document.original_name);
    let target = ("document", id.to_string());
    let entry = audit::entry(Some(access.user_id), "document.reindex", target, summary, json!({}), client);
    let writes = vec![Write::RequeueDocument { id }, Write::Enqueue(ingest_job(access.tenant_id, id))];
    store.write_unit(access.tenant_id, writes, Some(entry)).await?;
    store.get_document(access.tenant_id, id).await
}
