//! Units of work: a row, its jobs and its audit entry are written together or not at all,
//! and a document past the tenant's quota leaves nothing behind.

#![expect(clippy::unwrap_used, reason = "tests")]

use tome_domain::auth::ClientInfo;
use tome_domain::jobs::NewJob;
use tome_domain::knowledge::*;
use tome_domain::outbox::{StorageQuota, Write};
use tome_domain::repo::*;
use tome_domain::*;
use tome_store::SqlStore;
use tome_testkit::contract_tests;

use crate::contract::{sample_new_document, tenant};

contract_tests!(
    a_failing_job_takes_its_document_and_audit_line_back,
    a_unit_writes_its_row_job_and_audit_line_once,
    a_document_past_the_quota_is_refused_and_leaves_nothing,
    a_missing_row_refuses_the_whole_unit,
    a_role_its_permissions_and_its_audit_line_commit_together,
);

fn entry(action: &str, target: String) -> NewAuditEntry {
    NewAuditEntry::new(None, action, ("document", Some(target)), "unit", &ClientInfo::default())
}

fn job(tenant: TenantId, kind: &str, document: DocumentId) -> NewJob {
    tome_domain::documents::document_job(kind, tenant, document)
}

/// Rows, jobs and audit entries the tenant holds.
async fn held(store: &SqlStore, tenant: TenantId) -> (usize, usize, usize) {
    let all = DocumentFilter { include_deleted: true, ..DocumentFilter::default() };
    let documents = store.list_documents(tenant, all, PageRequest::first(200)).await.unwrap().items.len();
    let jobs = store.list_jobs(None, PageRequest::first(200)).await.unwrap();
    let jobs = jobs.items.iter().filter(|job| job.tenant_id == Some(tenant)).count();
    let audit = store.list_audit(tenant, AuditFilter::default(), PageRequest::first(200)).await.unwrap().items.len();
    (documents, jobs, audit)
}

fn create(size_bytes: i64, sha: char, quota: StorageQuota) -> (DocumentId, Write) {
    let id = DocumentId::new();
    let new = NewDocument { size_bytes, sha256: sha.to_string().repeat(64), ..sample_new_document() };
    (id, Write::CreateDocument { id, new, quota })
}

async fn a_failing_job_takes_its_document_and_audit_line_back(store: SqlStore) {
    let acme = tenant(&store, "acme").await;
    let (id, document) = create(10, 'a', StorageQuota::default());
    // A job kind the schema refuses (empty) fails after the document row was written.
    let writes = vec![document, Write::Enqueue(job(acme.id, "", id))];
    let result = store.write_unit(acme.id, writes, Some(entry("document.create", id.to_string()))).await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(held(&store, acme.id).await, (0, 0, 0), "nothing of the unit is kept");
    assert!(matches!(store.get_document(acme.id, id).await, Err(DomainError::NotFound(_))));
}

async fn a_unit_writes_its_row_job_and_audit_line_once(store: SqlStore) {
    let acme = tenant(&store, "acme").await;
    let (id, document) = create(10, 'a', StorageQuota::default());
    let writes = vec![document, Write::Enqueue(job(acme.id, "document.ingest", id))];
    store.write_unit(acme.id, writes, Some(entry("document.create", id.to_string()))).await.unwrap();
    assert_eq!(held(&store, acme.id).await, (1, 1, 1));
    let stored = store.get_document(acme.id, id).await.unwrap();
    assert_eq!((stored.id, stored.size_bytes, stored.status), (id, 10, DocumentStatus::Uploaded));
    let audit = store.list_audit(acme.id, AuditFilter::default(), PageRequest::first(10)).await.unwrap();
    assert_eq!(audit.items[0].target_id.as_deref(), Some(id.to_string().as_str()));

    let hide = vec![Write::HideDocument { id, at: now() }, Write::Enqueue(job(acme.id, "document.purge", id))];
    store.write_unit(acme.id, hide, None).await.unwrap();
    assert!(matches!(store.get_document(acme.id, id).await, Err(DomainError::NotFound(_))));
    assert_eq!(held(&store, acme.id).await, (1, 2, 1), "hidden (not purged), the purge queued, no audit asked");
}

async fn a_document_past_the_quota_is_refused_and_leaves_nothing(store: SqlStore) {
    let acme = tenant(&store, "acme").await;
    let other = tenant(&store, "other").await;
    let two = StorageQuota { max_documents: Some(2), max_bytes: Some(100) };
    for (sha, size) in [('a', 40), ('b', 40)] {
        let (id, document) = create(size, sha, two);
        let writes = vec![document, Write::Enqueue(job(acme.id, "document.ingest", id))];
        store.write_unit(acme.id, writes, Some(entry("document.create", id.to_string()))).await.unwrap();
    }
    // A third document is over the count; a smaller quota of bytes refuses a large one.
    let (id, third) = create(1, 'c', two);
    let refused =
        store.write_unit(acme.id, vec![third, Write::Enqueue(job(acme.id, "document.ingest", id))], None).await;
    assert!(matches!(&refused, Err(DomainError::QuotaExceeded { retry_after_secs: None, .. })), "{refused:?}");
    let bytes = StorageQuota { max_documents: None, max_bytes: Some(100) };
    let (id, large) = create(21, 'd', bytes);
    let refused =
        store.write_unit(acme.id, vec![large, Write::Enqueue(job(acme.id, "document.ingest", id))], None).await;
    assert!(matches!(&refused, Err(DomainError::QuotaExceeded { .. })), "{refused:?}");
    assert_eq!(held(&store, acme.id).await, (2, 2, 2), "refused units leave no row, job or audit line");
    // Exactly up to the byte quota is allowed, and another tenant's quota is its own.
    let (_, fits) = create(20, 'e', bytes);
    store.write_unit(acme.id, vec![fits], None).await.unwrap();
    let (_, elsewhere) = create(100, 'a', two);
    store.write_unit(other.id, vec![elsewhere], None).await.unwrap();
    // Deleted documents no longer count.
    let first = store.list_documents(acme.id, DocumentFilter::default(), PageRequest::first(1)).await.unwrap();
    store.write_unit(acme.id, vec![Write::HideDocument { id: first.items[0].id, at: now() }], None).await.unwrap();
    let (_, after_delete) = create(1, 'f', StorageQuota { max_documents: Some(3), max_bytes: None });
    store.write_unit(acme.id, vec![after_delete], None).await.unwrap();
}

async fn a_missing_row_refuses_the_whole_unit(store: SqlStore) {
    let acme = tenant(&store, "acme").await;
    let other = tenant(&store, "other").await;
    let (id, document) = create(10, 'a', StorageQuota::default());
    store.write_unit(other.id, vec![document], None).await.unwrap();
    // Another tenant's document is not there for acme: its purge job is not queued either.
    let hide = vec![Write::HideDocument { id, at: now() }, Write::Enqueue(job(acme.id, "document.purge", id))];
    let refused = store.write_unit(acme.id, hide, Some(entry("document.delete", id.to_string()))).await;
    assert!(matches!(refused, Err(DomainError::NotFound("document"))), "{refused:?}");
    let requeue = vec![Write::RequeueDocument { id }, Write::Enqueue(job(acme.id, "document.ingest", id))];
    assert!(store.write_unit(acme.id, requeue, None).await.is_err());
    assert_eq!(held(&store, acme.id).await, (0, 0, 0));
    assert!(store.get_document(other.id, id).await.is_ok(), "the other tenant's document is untouched");
}

async fn a_role_its_permissions_and_its_audit_line_commit_together(store: SqlStore) {
    use tome_domain::identity::{NewRole, RolePatch};
    let acme = tenant(&store, "acme").await;
    let roles_before = store.list_roles(acme.id).await.unwrap().len();
    let audit = |action: &str, id: RoleId| {
        NewAuditEntry::new(None, action, ("role", Some(id.to_string())), "unit", &ClientInfo::default())
    };
    let new = |name: &str| NewRole { name: name.into(), description: None };
    let id = RoleId::new();
    let create = Write::CreateRole { id, new: new("editors"), permissions: vec!["documents.read".into()] };
    // A failing job in the same unit takes the role, its permissions and the audit line back.
    let failing = vec![create.clone(), Write::Enqueue(job(acme.id, "", DocumentId::new()))];
    assert!(store.write_unit(acme.id, failing, Some(audit("role.create", id))).await.is_err());
    assert_eq!(store.list_roles(acme.id).await.unwrap().len(), roles_before);
    assert_eq!(held(&store, acme.id).await, (0, 0, 0));
    // Unknown permissions refuse the unit before anything is written.
    let unknown = Write::CreateRole { id, new: new("editors"), permissions: vec!["root.everything".into()] };
    let refused = store.write_unit(acme.id, vec![unknown], Some(audit("role.create", id))).await;
    assert!(matches!(refused, Err(DomainError::Invalid { .. })), "{refused:?}");

    store.write_unit(acme.id, vec![create], Some(audit("role.create", id))).await.unwrap();
    assert_eq!(store.role_permissions(acme.id, id).await.unwrap(), ["documents.read"]);
    assert_eq!(held(&store, acme.id).await, (0, 0, 1));
    let patch = RolePatch { name: Some("writers".into()), description: None };
    let permissions = Some(vec!["documents.read".into(), "chat.use".into()]);
    store
        .write_unit(acme.id, vec![Write::ChangeRole { id, patch, permissions }], Some(audit("role.update", id)))
        .await
        .unwrap();
    assert_eq!(store.get_role(acme.id, id).await.unwrap().name, "writers");
    assert_eq!(store.role_permissions(acme.id, id).await.unwrap(), ["chat.use", "documents.read"]);
    // Another tenant's unit cannot touch the role.
    let other = tenant(&store, "other").await;
    let foreign = store.write_unit(other.id, vec![Write::DeleteRole { id }], Some(audit("role.delete", id))).await;
    assert!(matches!(foreign, Err(DomainError::NotFound(_))), "{foreign:?}");
    assert_eq!(held(&store, other.id).await, (0, 0, 0));
    store.write_unit(acme.id, vec![Write::DeleteRole { id }], Some(audit("role.delete", id))).await.unwrap();
    assert!(matches!(store.get_role(acme.id, id).await, Err(DomainError::NotFound(_))));
    assert_eq!(held(&store, acme.id).await, (0, 0, 3));
}
