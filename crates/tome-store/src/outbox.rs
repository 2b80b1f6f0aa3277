//! Units of work: rows, the jobs that carry them on and their audit entry in one
//! transaction (see `tome_domain::outbox`).

use tome_domain::knowledge::NewAuditEntry;
use tome_domain::outbox::{StorageQuota, Write};
use tome_domain::{DocumentId, DomainError, DomainResult, TenantId, now};

use crate::SqlStore;
use crate::audio::transcription_values;
use crate::audit::Change;
use crate::jobs::job_values;
use crate::knowledge::{document_values, hide_document};
use crate::sql::Sql;

impl SqlStore {
    pub(crate) async fn write_unit_of(
        &self,
        tenant: TenantId,
        writes: Vec<Write>,
        entry: Option<NewAuditEntry>,
    ) -> DomainResult<()> {
        let mut changes = Vec::with_capacity(writes.len());
        for write in writes {
            changes.extend(self.changes(tenant, write).await?);
        }
        self.write_changes(Some(tenant), entry, changes, "change").await.map(|_| ())
    }

    /// The statements of one write. Checks that need a read (the project is the tenant's, the
    /// role is not built in) run first; what a concurrent change could break is a condition of
    /// the statement itself.
    async fn changes(&self, tenant: TenantId, write: Write) -> DomainResult<Vec<Change>> {
        Ok(match write {
            Write::CreateDocument { id, new, quota } => {
                self.ensure_in_tenant("project", "projects", tenant, new.project_id.map(|p| p.0)).await?;
                let size = new.size_bytes;
                let sql = Sql::insert_where("documents", document_values(tenant, id, new));
                vec![Change::one(within_quota(sql, tenant, size, quota), quota.exceeded())]
            }
            Write::HideDocument { id, at } => {
                vec![Change::one(hide_document(tenant, id, at), DomainError::NotFound("document"))]
            }
            Write::RequeueDocument { id } => vec![Change::one(requeue(tenant, id), DomainError::NotFound("document"))],
            Write::CreateTranscription { id, new } => {
                self.ensure_in_tenant("project", "projects", tenant, new.project_id.map(|p| p.0)).await?;
                vec![Change::any(Sql::insert_values("transcription_jobs", transcription_values(tenant, id, new)))]
            }
            Write::HideConversation { id } => vec![Change::one(
                Sql::update("conversations", vec![("status", "deleted".into())], now()).scoped(tenant, id),
                DomainError::NotFound("conversation"),
            )],
            Write::Enqueue(job) => vec![Change::any(Sql::insert_values("jobs", job_values(job)))],
            Write::CreateRole { id, new, permissions } => {
                self.create_role_changes(tenant, id, new, &permissions).await?
            }
            Write::ChangeRole { id, patch, permissions } => {
                self.change_role_changes(tenant, id, patch, permissions.as_deref()).await?
            }
            Write::DeleteRole { id } => self.delete_role_changes(tenant, id).await?,
        })
    }
}

fn requeue(tenant: TenantId, id: DocumentId) -> Sql {
    let sets = vec![("status", "uploaded".into()), ("error", Option::<String>::None.into())];
    Sql::update("documents", sets, now()).scoped(tenant, id).push(" AND deleted_at IS NULL")
}

/// Appends to an `insert_where` the condition that the tenant stays within `quota` with
/// `size` more bytes and one more document (documents being deleted do not count).
fn within_quota(sql: Sql, tenant: TenantId, size: i64, quota: StorageQuota) -> Sql {
    let held = |what: &str| {
        Sql::new(format!("(SELECT {what} FROM documents WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND deleted_at IS NULL)")
    };
    let mut sql = sql.push("1 = 1");
    if let Some(max) = quota.max_documents {
        sql = sql.push(" AND ").push_sql(held("count(*)")).push(" < ").bind(max);
    }
    if let Some(max) = quota.max_bytes {
        sql = sql
            .push(" AND ")
            .push_sql(held("coalesce(sum(size_bytes), 0)"))
            .push(" + ")
            .bind(size)
            .push(" <= ")
            .bind(max);
    }
    sql
}
