//! Row-level security measured exactly: one row of every kind in each of two tenants, then
//! every policy-guarded table counted in each tenant's scope, with no filter of its own; and
//! the same through a transaction-mode PgBouncer with both tenants hammering it at once.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use serde_json::json;
use tome_domain::audio::*;
use tome_domain::auth::ClientInfo;
use tome_domain::chat::*;
use tome_domain::identity::*;
use tome_domain::knowledge::*;
use tome_domain::organization::*;
use tome_domain::repo::*;
use tome_domain::validate::{Email, Slug, Username};
use tome_domain::*;
use tome_store::{Backend, SqlStore, StoreOptions};
use tome_testkit::TestDb;

/// Tables under row-level security on PostgreSQL (migrations 0003, 0011, 0012 and 0014).
const RLS_TABLES: &[&str] = &[
    "roles",
    "user_roles",
    "memberships",
    "api_keys",
    "invitations",
    "folders",
    "projects",
    "social_links",
    "objects",
    "documents",
    "document_chunks",
    "personas",
    "conversations",
    "messages",
    "feedback",
    "transcription_jobs",
    "audit_log",
    "token_usage",
];

/// Every table of the live schema with a `tenant_id` is under row-level security and in
/// `RLS_TABLES` (so the exact count below covers it), or is named here with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_with_a_tenant_is_guarded_or_said_why_not() {
    let Some(db) = TestDb::postgres().await else { return };
    // `jobs` belong to the workers, which claim them across tenants; their queries guard them.
    let unguarded = ["jobs"];
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace AND a.attname = 'tenant_id'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    assert!(tables.len() >= RLS_TABLES.len(), "{tables:?}");
    for (table, guarded) in tables {
        if unguarded.contains(&table.as_str()) {
            continue;
        }
        assert!(guarded, "{table} has a tenant_id but no row-level security");
        assert!(RLS_TABLES.contains(&table.as_str()), "{table} is not counted by the isolation tests");
    }
}

async fn tenant(store: &SqlStore, name: &str) -> TenantId {
    let slug = Slug::from_name(name).unwrap();
    store.create_tenant(NewTenant { name: name.into(), slug, description: None, is_default: false }).await.unwrap().id
}

async fn user(store: &SqlStore, username: &str) -> UserId {
    let new = NewUser {
        email: Email::parse(&format!("{username}@example.com")).unwrap(),
        username: Username::parse(username).unwrap(),
        name: None,
        password_hash: "x".into(),
        is_active: true,
        is_superadmin: false,
    };
    store.create_user(new).await.unwrap().id
}

/// One row in every tenant-owned table of `tenant` (an invitation's audit line besides).
async fn one_of_everything(store: &SqlStore, tenant: TenantId, user: UserId, tag: &str) {
    store.add_member(tenant, user).await.unwrap();
    let role = store.create_role(tenant, NewRole { name: format!("role-{tag}"), description: None }).await.unwrap();
    store.assign_role(tenant, user, role.id, None).await.unwrap();
    let key = NewApiKey {
        user_id: user,
        name: tag.into(),
        prefix: format!("pfx{tag}"),
        key_hash: format!("hash-{tag}"),
        permissions: Vec::new(),
        expires_at: None,
    };
    store.create_api_key(tenant, key).await.unwrap();
    let invitation = NewInvitation {
        id: InvitationId::new(),
        tenant_id: tenant,
        email: Email::parse(&format!("guest-{tag}@example.com")).unwrap(),
        roles: vec!["member".into()],
        token_hash: format!("{:0>64}", tag),
        invited_by: user,
        expires_at: now() + time::Duration::days(1),
    };
    let entry = NewAuditEntry::new(Some(user), "invitation.create", ("invitation", None), tag, &ClientInfo::default());
    store.apply_access_change(AccessChange::Invite(invitation), Some(tenant), entry).await.unwrap();
    store.create_folder(tenant, NewFolder { parent_id: None, name: tag.into(), created_by: None }).await.unwrap();
    let project = NewProject { folder_id: None, name: tag.into(), description: None, icon: None, created_by: None };
    store.create_project(tenant, project).await.unwrap();
    let link = NewSocialLink { url: format!("https://x.com/{tag}"), platform: SocialPlatform::Twitter };
    store.create_social_link(tenant, link).await.unwrap();
    let object = NewObject { kind: ObjectKind::Openscad, name: tag.into(), source: "cube();".into(), created_by: None };
    store.create_object(tenant, object).await.unwrap();
    let document = NewDocument {
        owner_id: Some(user),
        project_id: None,
        visibility: Visibility::Tenant,
        original_name: format!("{tag}.txt"),
        storage_key: format!("files/{tag}"),
        mime_type: "text/plain".into(),
        size_bytes: 3,
        sha256: format!("{:064x}", tag.len()),
        document_type: DocumentType::GeneralDocument,
    };
    let document = store.create_document(tenant, document).await.unwrap();
    let chunk = NewChunk { ordinal: 0, content: tag.into(), token_count: 1, metadata: json!({}), embedding: None };
    store.replace_chunks(tenant, document.id, ChunkSet { chunks: vec![chunk], embedding_model: None }).await.unwrap();
    let persona = NewPersona {
        owner_id: Some(user),
        name: format!("persona-{tag}"),
        display_name: tag.into(),
        description: None,
        system_prompt: String::new(),
        model: None,
        default_temperature: 0.2,
        max_tokens: 10,
    };
    store.create_persona(tenant, persona).await.unwrap();
    let conversation = NewConversation {
        user_id: user,
        project_id: None,
        persona_id: None,
        title: tag.into(),
        auto_title: false,
        model: None,
    };
    let conversation = store.create_conversation(tenant, conversation).await.unwrap();
    let message =
        store.create_message(tenant, NewMessage::text(conversation.id, MessageRole::User, tag)).await.unwrap();
    let feedback = NewFeedback { message_id: message.id, user_id: user, rating: 1, comment: None, correction: None };
    store.put_feedback(tenant, feedback).await.unwrap();
    let job = NewTranscriptionJob {
        user_id: Some(user),
        audio_key: format!("audio/{tag}"),
        original_name: format!("{tag}.wav"),
        mime_type: None,
        size_bytes: 0,
        language: None,
        project_id: None,
        visibility: Visibility::Private,
    };
    store.create_transcription(tenant, job).await.unwrap();
    let tokens =
        NewTokenUsage { user_id: Some(user), model: "m".into(), source: "chat", input_tokens: 3, output_tokens: 1 };
    store.record_tokens(tenant, tokens).await.unwrap();
}

/// Two tenants with one of everything each.
async fn two_seeded_tenants(store: &SqlStore) -> (TenantId, TenantId) {
    let (a, b) = (tenant(store, "Scope A").await, tenant(store, "Scope B").await);
    let (ada, bob) = (user(store, "ada").await, user(store, "bob").await);
    one_of_everything(store, a, ada, "a").await;
    one_of_everything(store, b, bob, "b").await;
    (a, b)
}

/// Exactly the tenant's rows (and the shared built-in roles), counted by a query that has no
/// tenant filter of its own: the policies alone confine it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_security_gives_each_tenant_exactly_its_rows() {
    let Some(db) = TestDb::postgres().await else { return };
    let store = &db.store;
    let (a, b) = two_seeded_tenants(store).await;
    for table in RLS_TABLES {
        for tenant in [a, b] {
            let scoped = store.scoped(tenant).count_unfiltered(table).await.unwrap();
            let own = db.count_rows(table, Some(tenant)).await;
            let expected = if *table == "roles" { own + db.count_rows(table, None).await } else { own };
            assert!(own >= 1, "{table}: the seed wrote no row for the tenant");
            assert_eq!(scoped, expected, "{table}: the scope of {tenant} sees other rows than its own");
        }
    }
    // A query that names the other tenant finds nothing and cannot write there.
    let in_a = store.scoped(a);
    let theirs = store.list_folders(b, None, PageRequest::default()).await.unwrap().items;
    assert!(matches!(in_a.get_folder(b, theirs[0].id).await, Err(DomainError::NotFound(_))));
    let sneaky = NewFolder { parent_id: None, name: "sneaky".into(), created_by: None };
    assert!(in_a.create_folder(b, sneaky).await.is_err(), "row-level security refuses a row of another tenant");
    assert!(in_a.list_audit(b, AuditFilter::default(), PageRequest::default()).await.unwrap().items.is_empty());
    assert!(in_a.get_role_by_name(a, "owner").await.is_ok(), "built-in roles stay visible in every scope");
}

/// SQLite has no row-level security: the queries' own tenant filters are the guard there
/// (`every_tenant_owned_row_is_invisible_to_another_tenant`), and a scope changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_scopes_change_nothing() {
    let db = TestDb::sqlite().await;
    let (a, _) = two_seeded_tenants(&db.store).await;
    for table in RLS_TABLES {
        let everything = db.store.count_unfiltered(table).await.unwrap();
        assert_eq!(db.store.scoped(a).count_unfiltered(table).await.unwrap(), everything, "{table}");
    }
}

/// Behind PgBouncer in transaction mode, a scope set in one transaction and a query run in
/// the next may land on different server connections; every statement carries its scope in
/// its own transaction, so each tenant sees only its rows, however the pooler shares them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_through_a_transaction_pooler_never_see_each_other() {
    let Some(db) = TestDb::postgres().await else { return };
    let (a, b) = two_seeded_tenants(&db.store).await;
    // Different row counts per tenant, so that a borrowed scope cannot go unnoticed.
    for i in 0..3 {
        db.store
            .create_folder(b, NewFolder { parent_id: None, name: format!("more {i}"), created_by: None })
            .await
            .unwrap();
    }
    let url = tome_testkit::pooler_url(&db).expect("PgBouncer: run `scripts/pg start` (it starts one)");
    // The pooler hands statements to any server connection: no named prepared statements.
    let options = StoreOptions { max_connections: 24, ..StoreOptions::default() };
    let pooled = SqlStore::connect(&format!("{url}?statement-cache-capacity=0"), &options).await.unwrap();
    assert_eq!(pooled.backend_kind(), Backend::Postgres);
    let tables = ["folders", "documents", "memberships", "api_keys"];
    let mut expected = Vec::new();
    for tenant in [a, b] {
        let mut counts = Vec::new();
        for table in tables {
            counts.push(db.count_rows(table, Some(tenant)).await);
        }
        expected.push((tenant, counts));
    }
    let audit_before = [db.count_rows("audit_log", Some(a)).await, db.count_rows("audit_log", Some(b)).await];
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (tenant, counts) = expected[worker % 2].clone();
        let store = pooled.scoped(tenant);
        tasks.push(tokio::spawn(async move {
            let mut wrong = 0;
            for round in 0..40 {
                for (table, count) in tables.iter().zip(&counts) {
                    if store.count_unfiltered(table).await.unwrap() != *count {
                        wrong += 1;
                    }
                }
                // Writes interleave with the reads: each lands in its own tenant.
                if round % 10 == 0 {
                    let name = format!("w{worker}-{round}");
                    let entry =
                        NewAuditEntry::new(None, "folder.create", ("folder", None), &name, &ClientInfo::default());
                    store.append_audit(Some(tenant), entry).await.unwrap();
                }
            }
            wrong
        }));
    }
    let mut wrong = 0;
    for task in tasks {
        wrong += task.await.unwrap();
    }
    assert_eq!(wrong, 0, "a statement ran under another tenant's scope or none");
    for (tenant, before) in [a, b].into_iter().zip(audit_before) {
        let audit = db.count_rows("audit_log", Some(tenant)).await;
        assert_eq!(audit, before + 8 * 4, "each tenant's writes landed in its own chain");
    }
    // A connection that sets no scope sees nothing, on whichever server connection it lands.
    for _ in 0..10 {
        assert_eq!(tome_testkit::count_unscoped(&url, "folders").await, 0, "a scope outlived its transaction");
    }
    pooled.close().await;
}
