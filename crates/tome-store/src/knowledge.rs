//! Documents, chunks (with their embeddings) and the audit log.

use async_trait::async_trait;
use tome_domain::knowledge::{
    AuditEntry, AuditFilter, Chunk, ChunkSet, Document, DocumentFilter, DocumentPatch, NewAuditEntry, NewDocument,
};
use tome_domain::outbox::StorageUsed;
use tome_domain::repo::KnowledgeRepo;
use tome_domain::{ChunkId, DocumentId, DomainError, DomainResult, Page, PageRequest, TenantId, Timestamp, now};

use crate::audit::{AUDIT, filtered};
use crate::sql::{Arg, Sets, Sql, contains_pattern, values};
use crate::{Backend, SqlStore};

const DOCUMENT: &str = "id, tenant_id, owner_id, project_id, visibility, original_name, storage_key, mime_type, \
size_bytes, sha256, document_type, status, error, chunk_count, progress_done, progress_total, processed_at, \
deleted_at, created_at, updated_at, embedding_model";
const CHUNK: &str = "id, tenant_id, document_id, ordinal, content, token_count, metadata, embedding_model, created_at";

/// The columns of a new document.
pub(crate) fn document_values(tenant: TenantId, id: DocumentId, new: NewDocument) -> Vec<(&'static str, Arg)> {
    let now = now();
    values![
        "id" => id, "tenant_id" => tenant, "owner_id" => new.owner_id,
        "project_id" => new.project_id, "visibility" => new.visibility.as_str(),
        "original_name" => new.original_name, "storage_key" => new.storage_key, "mime_type" => new.mime_type,
        "size_bytes" => new.size_bytes, "sha256" => new.sha256, "document_type" => new.document_type.as_str(),
        "created_at" => now, "updated_at" => now,
    ]
}

#[derive(sqlx::FromRow)]
struct EmbeddingText {
    embedding: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EmbeddingBlob {
    embedding: Option<Vec<u8>>,
}

/// pgvector's text form: `[1,2,3]`.
fn vector_text(vector: &[f32]) -> String {
    let values: Vec<String> = vector.iter().map(f32::to_string).collect();
    format!("[{}]", values.join(","))
}

fn parse_vector_text(text: &str) -> DomainResult<Vec<f32>> {
    text.trim_matches(['[', ']'])
        .split(',')
        .filter(|part| !part.is_empty())
        .map(|part| part.trim().parse::<f32>().map_err(DomainError::internal))
        .collect()
}

#[derive(sqlx::FromRow)]
struct DocumentRef {
    tenant_id: TenantId,
    id: DocumentId,
}

impl SqlStore {
    /// `UPDATE document_chunks SET embedding = …, embedding_model = … WHERE tenant_id = … AND id = …`
    /// in the backend's vector form (pgvector; little-endian f32 bytes on SQLite).
    fn embedding_update(&self, tenant: TenantId, chunk: ChunkId, model: &str, vector: &[f32]) -> Sql {
        let value = match self.backend_kind() {
            Backend::Postgres => {
                Sql::new("UPDATE document_chunks SET embedding = CAST(").bind(vector_text(vector)).push(" AS vector)")
            }
            Backend::Sqlite => {
                let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
                Sql::new("UPDATE document_chunks SET embedding = ").bind(bytes)
            }
        };
        value
            .push(", embedding_model = ")
            .bind(model)
            .push(" WHERE tenant_id = ")
            .bind(tenant)
            .push(" AND id = ")
            .bind(chunk)
    }
}

/// Hides a document from lists and search from `at` on (its purge removes the rest); touches
/// no row when it is already hidden.
pub(crate) fn hide_document(tenant: TenantId, id: DocumentId, at: Timestamp) -> Sql {
    Sql::update("documents", vec![("deleted_at", at.into())], at).scoped(tenant, id).push(" AND deleted_at IS NULL")
}

#[async_trait]
impl KnowledgeRepo for SqlStore {
    async fn create_document(&self, tenant: TenantId, new: NewDocument) -> DomainResult<Document> {
        self.ensure_in_tenant("project", "projects", tenant, new.project_id.map(|p| p.0)).await?;
        let values = document_values(tenant, DocumentId::new(), new);
        self.one("document", Sql::insert("documents", values, DOCUMENT)).await
    }

    async fn get_document(&self, tenant: TenantId, id: DocumentId) -> DomainResult<Document> {
        let sql = Sql::new(format!("SELECT {DOCUMENT} FROM documents WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND id = ")
            .bind(id)
            .push(" AND deleted_at IS NULL");
        self.one("document", sql).await
    }

    async fn list_documents(
        &self,
        tenant: TenantId,
        filter: DocumentFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Document>> {
        let mut sql = Sql::new(format!("SELECT {DOCUMENT} FROM documents WHERE tenant_id = "))
            .bind(tenant)
            .and_eq("status", filter.status.map(|s| s.as_str()))
            .and_eq("document_type", filter.document_type.map(|t| t.as_str()))
            .and_eq("owner_id", filter.owner_id)
            .and_eq("project_id", filter.project_id)
            .and_eq("visibility", filter.visibility.map(|v| v.as_str()))
            .and_eq("sha256", filter.sha256);
        if let Some(reader) = filter.readable_by {
            sql = sql.push(" AND (visibility = 'tenant' OR owner_id = ").bind(reader).push(")");
        }
        if let Some(name) = filter.name_contains.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            sql = sql.push(" AND lower(original_name) LIKE ").bind(contains_pattern(name)).push(" ESCAPE '\\'");
        }
        if !filter.include_deleted {
            sql = sql.push(" AND deleted_at IS NULL");
        }
        self.page_of("document", sql, page, |d: &Document| d.id.0).await
    }

    async fn update_document(&self, tenant: TenantId, id: DocumentId, patch: DocumentPatch) -> DomainResult<Document> {
        if let Some(project) = patch.project_id {
            self.ensure_in_tenant("project", "projects", tenant, project.map(|p| p.0)).await?;
        }
        let sets = Sets::default()
            .set("original_name", patch.original_name)
            .set("project_id", patch.project_id)
            .set("visibility", patch.visibility.map(|v| v.as_str()))
            .set("document_type", patch.document_type.map(|t| t.as_str()))
            .set("status", patch.status.map(|s| s.as_str()))
            .set("error", patch.error)
            .set("chunk_count", patch.chunk_count)
            .set("progress_done", patch.progress_done)
            .set("progress_total", patch.progress_total)
            .set("processed_at", patch.processed_at);
        let sql = Sql::update("documents", sets.0, now())
            .push("tenant_id = ")
            .bind(tenant)
            .push(" AND id = ")
            .bind(id)
            .push(format!(" AND deleted_at IS NULL RETURNING {DOCUMENT}"));
        self.one("document", sql).await
    }

    async fn soft_delete_document(&self, tenant: TenantId, id: DocumentId, at: Timestamp) -> DomainResult<()> {
        self.exec_one("document", hide_document(tenant, id, at)).await
    }

    async fn storage_used(&self, tenant: TenantId) -> DomainResult<StorageUsed> {
        let sql = Sql::new(
            "SELECT count(*) AS documents, CAST(coalesce(sum(size_bytes), 0) AS BIGINT) AS bytes FROM documents \
             WHERE tenant_id = ",
        )
        .bind(tenant)
        .push(" AND deleted_at IS NULL");
        self.one("document", sql).await
    }

    async fn purge_document(&self, tenant: TenantId, id: DocumentId) -> DomainResult<()> {
        let sql = Sql::new("DELETE FROM documents WHERE tenant_id = ").bind(tenant).push(" AND id = ").bind(id);
        self.exec_one("document", sql).await
    }

    async fn replace_chunks(&self, tenant: TenantId, document: DocumentId, set: ChunkSet) -> DomainResult<Vec<Chunk>> {
        self.get_document(tenant, document).await?;
        let now = now();
        let count = i32::try_from(set.chunks.len()).map_err(|_| DomainError::TooLarge("too many chunks".into()))?;
        let mut statements = vec![
            // By document: the tenant's index would walk every chunk of the tenant.
            Sql::new(format!("DELETE FROM document_chunks WHERE {} = ", self.filter_only("tenant_id")))
                .bind(tenant)
                .push(" AND document_id = ")
                .bind(document),
        ];
        let model = set.embedding_model.filter(|_| set.chunks.iter().all(|c| c.embedding.is_some()));
        let dims = set.chunks.first().and_then(|chunk| chunk.embedding.as_ref()).map(Vec::len);
        for chunk in set.chunks {
            let id = ChunkId::new();
            let values = values![
                "id" => id, "tenant_id" => tenant, "document_id" => document, "ordinal" => chunk.ordinal,
                "content" => chunk.content, "token_count" => chunk.token_count, "metadata" => chunk.metadata,
                "created_at" => now,
            ];
            statements.push(Sql::insert("document_chunks", values, "id"));
            if let (Some(model), Some(vector)) = (&model, &chunk.embedding) {
                statements.push(self.embedding_update(tenant, id, model, vector));
            }
        }
        let sets = vec![("chunk_count", count.into()), ("embedding_model", model.clone().into())];
        statements.push(
            Sql::update("documents", sets, now).push("tenant_id = ").bind(tenant).push(" AND id = ").bind(document),
        );
        self.transaction("chunk", statements).await?;
        if let (Some(model), Some(dims)) = (&model, dims) {
            self.vector_index_in_background(model, dims);
        }
        let sql = Sql::new(format!("SELECT {CHUNK} FROM document_chunks WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND document_id = ")
            .bind(document)
            .push(" ORDER BY ordinal");
        self.all("chunk", sql).await
    }

    async fn set_document_embeddings(
        &self,
        tenant: TenantId,
        document: DocumentId,
        model: &str,
        vectors: Vec<(ChunkId, Vec<f32>)>,
    ) -> DomainResult<()> {
        let current = self.get_document(tenant, document).await?;
        if usize::try_from(current.chunk_count).ok() != Some(vectors.len()) {
            return Err(DomainError::Conflict("the document's chunks changed meanwhile".into()));
        }
        let mut statements: Vec<Sql> = vectors
            .iter()
            .map(|(chunk, vector)| {
                self.embedding_update(tenant, *chunk, model, vector).push(" AND document_id = ").bind(document)
            })
            .collect();
        // The chunk count guards against chunks added since they were read.
        statements.push(
            Sql::update("documents", vec![("embedding_model", model.into())], now())
                .push("tenant_id = ")
                .bind(tenant)
                .push(" AND id = ")
                .bind(document)
                .push(" AND chunk_count = ")
                .bind(current.chunk_count)
                .push(" AND deleted_at IS NULL"),
        );
        self.transaction_all("document", statements).await?;
        if let Some((_, vector)) = vectors.first() {
            self.vector_index_in_background(model, vector.len());
        }
        Ok(())
    }

    async fn documents_needing_embeddings(
        &self,
        model: &str,
        after: Option<DocumentId>,
        limit: i64,
    ) -> DomainResult<Vec<(TenantId, DocumentId)>> {
        let mut sql = Sql::new("SELECT tenant_id, id FROM documents WHERE status = 'processed' AND deleted_at IS NULL")
            .push(" AND chunk_count > 0 AND (embedding_model IS NULL OR embedding_model <> ")
            .bind(model)
            .push(")");
        if let Some(after) = after {
            sql = sql.push(" AND id > ").bind(after);
        }
        let rows: Vec<DocumentRef> = self.all("document", sql.push(" ORDER BY id LIMIT ").bind(limit)).await?;
        Ok(rows.into_iter().map(|r| (r.tenant_id, r.id)).collect())
    }

    async fn list_chunks(
        &self,
        tenant: TenantId,
        document: DocumentId,
        page: PageRequest,
    ) -> DomainResult<Page<Chunk>> {
        self.get_document(tenant, document).await?;
        let mut sql = Sql::new(format!("SELECT {CHUNK} FROM document_chunks WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND document_id = ")
            .bind(document);
        // Chunks read in document order; ids grow with the ordinal, so the cursor is the id.
        if let Some(after) = page.after {
            sql = sql.push(" AND ordinal > (SELECT ordinal FROM document_chunks WHERE id = ").bind(after).push(")");
        }
        let rows = self.all("chunk", sql.push(" ORDER BY ordinal LIMIT ").bind(i64::from(page.limit) + 1)).await?;
        Ok(Page::from_rows(rows, page, |c: &Chunk| c.id.0))
    }

    async fn set_chunk_embedding(
        &self,
        tenant: TenantId,
        chunk: ChunkId,
        model: &str,
        vector: &[f32],
    ) -> DomainResult<()> {
        self.exec_one("chunk", self.embedding_update(tenant, chunk, model, vector)).await
    }

    async fn get_chunk_embedding(&self, tenant: TenantId, chunk: ChunkId) -> DomainResult<Option<Vec<f32>>> {
        let condition = |sql: Sql| sql.bind(tenant).push(" AND id = ").bind(chunk);
        match self.backend_kind() {
            Backend::Postgres => {
                let sql = condition(Sql::new(
                    "SELECT CAST(embedding AS text) AS embedding FROM document_chunks WHERE tenant_id = ",
                ));
                let row: EmbeddingText = self.one("chunk", sql).await?;
                row.embedding.as_deref().map(parse_vector_text).transpose()
            }
            Backend::Sqlite => {
                let row: EmbeddingBlob = self
                    .one("chunk", condition(Sql::new("SELECT embedding FROM document_chunks WHERE tenant_id = ")))
                    .await?;
                Ok(row
                    .embedding
                    .map(|bytes| bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()))
            }
        }
    }

    async fn append_audit(&self, tenant: Option<TenantId>, entry: NewAuditEntry) -> DomainResult<AuditEntry> {
        self.append_chained(tenant, entry).await
    }

    async fn list_platform_audit(&self, filter: AuditFilter, page: PageRequest) -> DomainResult<Page<AuditEntry>> {
        let sql = filtered(Sql::new(format!("SELECT {AUDIT} FROM audit_log WHERE tenant_id IS NULL")), filter);
        self.page_of("audit entry", sql, page, |e: &AuditEntry| e.id.0).await
    }

    async fn list_audit(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> DomainResult<Page<AuditEntry>> {
        let sql = filtered(Sql::new(format!("SELECT {AUDIT} FROM audit_log WHERE tenant_id = ")).bind(tenant), filter);
        self.page_of("audit entry", sql, page, |e: &AuditEntry| e.id.0).await
    }

    async fn audit_chain(&self, tenant: Option<TenantId>, after_seq: i64, limit: i64) -> DomainResult<Vec<AuditEntry>> {
        self.chain_page(tenant, after_seq, limit).await
    }
}
