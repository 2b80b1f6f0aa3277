//! The store contract: every case runs against SQLite and PostgreSQL (`name::sqlite`,
//! `name::postgres`).

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use serde_json::json;
use time::Duration;
use tome_domain::audio::*;
use tome_domain::chat::*;
use tome_domain::identity::*;
use tome_domain::jobs::*;
use tome_domain::knowledge::*;
use tome_domain::organization::*;
use tome_domain::repo::*;
use tome_domain::validate::{Email, Slug, Username};
use tome_domain::*;
use tome_store::SqlStore;
use tome_testkit::contract_tests;

contract_tests!(
    every_table_of_the_data_model_exists,
    seeding_is_idempotent_and_complete,
    readiness_reports_migrations,
    tenants_crud_and_unique_slug,
    users_crud_case_insensitive_email_and_pagination,
    user_settings_and_avatar_round_trip,
    memberships_roles_and_effective_permissions,
    builtin_roles_are_read_only,
    sessions_rotate_and_revoke,
    reset_tokens_are_single_use,
    api_keys_are_tenant_scoped,
    folders_move_with_their_subtree_and_refuse_cycles,
    projects_and_social_links_crud,
    documents_soft_delete_filters_and_chunks,
    chunk_embeddings_round_trip,
    document_vectors_are_stored_whole,
    audit_log_appends_and_filters,
    concurrent_audit_appends_keep_one_unbroken_chain_per_tenant,
    personas_are_unique_per_tenant_and_checked,
    conversations_messages_tree_and_feedback,
    objects_and_transcriptions_crud,
    every_tenant_owned_row_is_invisible_to_another_tenant,
    jobs_are_claimed_once_retried_and_failed,
    expired_lease_is_reclaimed,
    concurrent_workers_never_claim_the_same_job,
    deleting_a_tenant_cascades,
);

pub(crate) async fn tenant(store: &SqlStore, name: &str) -> Tenant {
    store
        .create_tenant(NewTenant {
            name: name.into(),
            slug: Slug::from_name(name).unwrap(),
            description: None,
            is_default: false,
        })
        .await
        .unwrap()
}

pub(crate) async fn user(store: &SqlStore, username: &str) -> User {
    store
        .create_user(NewUser {
            email: Email::parse(&format!("{username}@example.com")).unwrap(),
            username: Username::parse(username).unwrap(),
            name: Some(format!("{username} Example")),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            is_active: true,
            is_superadmin: false,
        })
        .await
        .unwrap()
}

async fn document(store: &SqlStore, tenant: TenantId, owner: Option<UserId>, name: &str) -> Document {
    store
        .create_document(
            tenant,
            NewDocument {
                owner_id: owner,
                project_id: None,
                visibility: Visibility::Tenant,
                original_name: name.into(),
                storage_key: format!("files/{name}"),
                mime_type: "text/plain".into(),
                size_bytes: 42,
                sha256: format!("{:064x}", name.len()),
                document_type: DocumentType::GeneralDocument,
            },
        )
        .await
        .unwrap()
}

async fn every_table_of_the_data_model_exists(store: SqlStore) {
    let mut expected: Vec<&str> = tome_store::TABLES.to_vec();
    expected.insert(0, "_sqlx_migrations");
    if store.backend_kind() == tome_store::Backend::Sqlite {
        expected.extend(tome_store::SQLITE_SEARCH_TABLES);
        expected.sort_unstable();
    }
    assert_eq!(store.table_names().await.unwrap(), expected);
}

async fn seeding_is_idempotent_and_complete(store: SqlStore) {
    store.seed().await.unwrap();
    store.seed().await.unwrap();
    let permissions = store.list_permissions().await.unwrap();
    assert_eq!(permissions.len(), catalog::PERMISSIONS.len());
    let default = store.default_tenant().await.unwrap();
    assert_eq!(default.slug, "default");
    let roles = store.list_roles(default.id).await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["admin", "member", "owner", "viewer"]);
    let owner = store.get_role_by_name(default.id, "owner").await.unwrap();
    assert_eq!(store.role_permissions(default.id, owner.id).await.unwrap().len(), permissions.len());
    let viewer = store.get_role_by_name(default.id, "viewer").await.unwrap();
    assert_eq!(store.role_permissions(default.id, viewer.id).await.unwrap(), ["chat.use", "documents.read"]);
    let persona = store.get_persona_by_name(default.id, None, "default").await.unwrap();
    assert_eq!(persona.owner_id, None);
    assert_eq!(store.list_tenants(PageRequest::default()).await.unwrap().items.len(), 1);
    // A tenant created later gets its default persona at the next seeding.
    let acme = tenant(&store, "Acme").await;
    store.seed().await.unwrap();
    assert!(store.get_persona_by_name(acme.id, None, "default").await.is_ok());
}

async fn readiness_reports_migrations(store: SqlStore) {
    let readiness = store.readiness().await;
    assert!(readiness.reachable && readiness.migrations_applied, "{readiness:?}");
    assert_eq!(readiness.latest_migration, store.latest_known_migration());
    assert_eq!(store.migrate().await.unwrap(), 0, "nothing left to apply");
}

async fn tenants_crud_and_unique_slug(store: SqlStore) {
    let acme = tenant(&store, "Acme Corp").await;
    assert_eq!(acme.slug, "acme-corp");
    assert_eq!(store.get_tenant_by_slug("acme-corp").await.unwrap().id, acme.id);
    let clash = store
        .create_tenant(NewTenant {
            name: "Other".into(),
            slug: Slug::parse("acme-corp").unwrap(),
            description: None,
            is_default: false,
        })
        .await;
    assert!(
        matches!(clash, Err(DomainError::Conflict(message)) if message.contains("slug")),
        "duplicate slug conflicts"
    );
    let second_default = store
        .create_tenant(NewTenant {
            name: "D2".into(),
            slug: Slug::parse("d2").unwrap(),
            description: None,
            is_default: true,
        })
        .await;
    assert!(matches!(second_default, Err(DomainError::Conflict(_))), "only one default tenant");
    let renamed = store
        .update_tenant(
            acme.id,
            TenantPatch {
                name: Some("Acme Inc".into()),
                description: Some(Some("Rockets".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.description.as_deref()), ("Acme Inc", Some("Rockets")));
    assert!(renamed.updated_at >= acme.updated_at);
    assert_eq!(renamed.created_at, acme.created_at, "timestamps survive the round trip exactly");
    store.delete_tenant(acme.id).await.unwrap();
    assert!(matches!(store.get_tenant(acme.id).await, Err(DomainError::NotFound(_))));
    assert!(matches!(store.delete_tenant(acme.id).await, Err(DomainError::NotFound(_))));
}

async fn users_crud_case_insensitive_email_and_pagination(store: SqlStore) {
    let ada = user(&store, "ada").await;
    assert_eq!(store.find_user_by_login("ADA@example.com").await.unwrap().id, ada.id);
    assert_eq!(store.find_user_by_login("Ada").await.unwrap().id, ada.id);
    let duplicate = store
        .create_user(NewUser {
            email: Email::parse("Ada@Example.com").unwrap(),
            username: Username::parse("ada2").unwrap(),
            name: None,
            password_hash: "x".into(),
            is_active: true,
            is_superadmin: false,
        })
        .await;
    assert!(matches!(duplicate, Err(DomainError::Conflict(message)) if message.contains("email")));
    for i in 0..4 {
        user(&store, &format!("user{i}")).await;
    }
    assert_eq!(store.count_users().await.unwrap(), 5);
    let first = store.list_users(UserFilter::default(), PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.items[0].username, "user3", "newest first");
    let cursor = first.next_cursor.clone().unwrap();
    let second =
        store.list_users(UserFilter::default(), PageRequest::parse(Some(2), Some(&cursor)).unwrap()).await.unwrap();
    assert_eq!(second.items.len(), 2);
    let third = store
        .list_users(UserFilter::default(), PageRequest::parse(Some(2), second.next_cursor.as_deref()).unwrap())
        .await
        .unwrap();
    assert_eq!(third.items.len(), 1);
    assert_eq!(third.next_cursor, None);
    let search = store
        .list_users(UserFilter { query: Some("ADA EX".into()), ..Default::default() }, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(search.items.len(), 1, "search matches the name case-insensitively");
    let updated = store
        .update_user(
            ada.id,
            UserPatch { is_active: Some(false), profile: Some(json!({"title": "Countess"})), ..Default::default() },
        )
        .await
        .unwrap();
    assert!(!updated.is_active);
    assert_eq!(updated.profile["title"], "Countess");
    let inactive = store
        .list_users(UserFilter { is_active: Some(false), ..Default::default() }, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(inactive.items.len(), 1);
    let at = now();
    store.record_login(ada.id, at).await.unwrap();
    store.set_password_hash(ada.id, "$argon2id$new").await.unwrap();
    let reread = store.get_user(ada.id).await.unwrap();
    assert_eq!(reread.last_login_at, Some(at));
    assert_eq!(reread.password_hash, "$argon2id$new");
    store.delete_user(ada.id).await.unwrap();
    assert!(matches!(store.get_user(ada.id).await, Err(DomainError::NotFound(_))));
}

async fn user_settings_and_avatar_round_trip(store: SqlStore) {
    let ada = user(&store, "ada").await;
    assert_eq!(store.get_settings(ada.id).await.unwrap().settings, json!({}));
    store.put_settings(ada.id, json!({"theme": "dark"})).await.unwrap();
    let settings = store.put_settings(ada.id, json!({"theme": "light", "language": "fr"})).await.unwrap();
    assert_eq!(settings.settings, json!({"theme": "light", "language": "fr"}));
    assert_eq!(store.get_settings(ada.id).await.unwrap().settings["language"], "fr");
    assert!(matches!(store.put_settings(ada.id, json!([1])).await, Err(DomainError::Invalid { .. })));
    assert!(matches!(store.get_avatar(ada.id).await, Err(DomainError::NotFound(_))));
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
    store.set_avatar(ada.id, Some(Avatar { mime_type: "image/jpeg".into(), bytes: jpeg.clone() })).await.unwrap();
    assert_eq!(store.get_avatar(ada.id).await.unwrap().bytes, jpeg);
    assert!(store.get_user(ada.id).await.unwrap().avatar_updated_at.is_some());
    let huge = Avatar { mime_type: "image/jpeg".into(), bytes: vec![0; MAX_AVATAR_BYTES + 1] };
    assert!(matches!(store.set_avatar(ada.id, Some(huge)).await, Err(DomainError::TooLarge(_))));
    store.set_avatar(ada.id, None).await.unwrap();
    assert!(store.get_avatar(ada.id).await.is_err());
}

async fn memberships_roles_and_effective_permissions(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ada = user(&store, "ada").await;
    let viewer = store.get_role_by_name(acme.id, "viewer").await.unwrap();
    assert!(
        matches!(store.assign_role(acme.id, ada.id, viewer.id, None).await, Err(DomainError::Invalid { .. })),
        "members only"
    );
    store.add_member(acme.id, ada.id).await.unwrap();
    assert!(matches!(store.add_member(acme.id, ada.id).await, Err(DomainError::Conflict(_))));
    store.assign_role(acme.id, ada.id, viewer.id, None).await.unwrap();
    assert!(matches!(store.assign_role(acme.id, ada.id, viewer.id, None).await, Err(DomainError::Conflict(_))));
    let auditor = store
        .create_role(acme.id, NewRole { name: "auditor".into(), description: Some("Reads the log".into()) })
        .await
        .unwrap();
    assert!(matches!(
        store.create_role(acme.id, NewRole { name: "viewer".into(), description: None }).await,
        Err(DomainError::Conflict(_))
    ));
    store.set_role_permissions(acme.id, auditor.id, &["audit.read".into()]).await.unwrap();
    assert!(matches!(
        store.set_role_permissions(acme.id, auditor.id, &["audit.write".into()]).await,
        Err(DomainError::Invalid { .. })
    ));
    store.assign_role(acme.id, ada.id, auditor.id, Some(ada.id)).await.unwrap();
    assert_eq!(
        store.effective_permissions(acme.id, ada.id).await.unwrap(),
        ["audit.read", "chat.use", "documents.read"]
    );
    assert_eq!(store.list_user_roles(acme.id, ada.id).await.unwrap().len(), 2);
    assert!(matches!(store.delete_role(acme.id, auditor.id).await, Err(DomainError::Conflict(_))), "in use");
    store.unassign_role(acme.id, ada.id, auditor.id).await.unwrap();
    store.delete_role(acme.id, auditor.id).await.unwrap();
    let other = tenant(&store, "Other").await;
    assert!(store.effective_permissions(other.id, ada.id).await.unwrap().is_empty(), "permissions are per tenant");
    assert_eq!(store.list_memberships_of_user(ada.id).await.unwrap().len(), 1);
    assert_eq!(store.list_members(acme.id, PageRequest::default()).await.unwrap().items.len(), 1);
    store.remove_member(acme.id, ada.id).await.unwrap();
    assert!(store.list_user_roles(acme.id, ada.id).await.unwrap().is_empty(), "roles go with the membership");
    assert!(matches!(store.remove_member(acme.id, ada.id).await, Err(DomainError::NotFound(_))));
}

async fn builtin_roles_are_read_only(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let owner = store.get_role_by_name(acme.id, "owner").await.unwrap();
    assert!(matches!(
        store.update_role(acme.id, owner.id, RolePatch { name: Some("boss".into()), ..Default::default() }).await,
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(store.delete_role(acme.id, owner.id).await, Err(DomainError::Forbidden(_))));
    assert!(matches!(store.set_role_permissions(acme.id, owner.id, &[]).await, Err(DomainError::Forbidden(_))));
}

async fn sessions_rotate_and_revoke(store: SqlStore) {
    let ada = user(&store, "ada").await;
    let expires = now() + Duration::days(30);
    let new = |hash: &str| NewAuthSession {
        id: AuthSessionId::new(),
        user_id: ada.id,
        refresh_token_hash: hash.into(),
        expires_at: expires,
        user_agent: Some("curl/8".into()),
        ip: Some("127.0.0.1".into()),
    };
    let first = store.create_session(new("h1")).await.unwrap();
    let second = store.create_session(new("h2")).await.unwrap();
    assert!(matches!(store.create_session(new("h2")).await, Err(DomainError::Conflict(_))));
    assert_eq!(store.find_session_by_refresh_hash("h1").await.unwrap().id, first.id);
    assert!(
        matches!(store.rotate_session(first.id, "stale", "h1x", expires).await, Err(DomainError::NotFound(_))),
        "only from the current hash"
    );
    let rotated = store.rotate_session(first.id, "h1", "h1b", expires).await.unwrap();
    assert_eq!(rotated.refresh_token_hash, "h1b");
    assert!(store.find_session_by_refresh_hash("h1").await.is_err());
    store.touch_session(first.id, now()).await.unwrap();
    assert_eq!(store.list_sessions(ada.id).await.unwrap().len(), 2);
    assert_eq!(store.revoke_sessions(ada.id, Some(first.id)).await.unwrap(), 1);
    assert!(store.get_session(second.id).await.unwrap().revoked_at.is_some());
    store.revoke_session(ada.id, first.id).await.unwrap();
    assert!(matches!(store.revoke_session(ada.id, first.id).await, Err(DomainError::NotFound(_))), "already revoked");
    assert!(store.rotate_session(first.id, "h1b", "h1c", expires).await.is_err(), "revoked sessions do not rotate");
    assert!(store.list_sessions(ada.id).await.unwrap().is_empty());
}

async fn reset_tokens_are_single_use(store: SqlStore) {
    let ada = user(&store, "ada").await;
    let token = store.create_reset_token(ada.id, "th", now() + Duration::minutes(30)).await.unwrap();
    assert_eq!(store.find_reset_token("th").await.unwrap().id, token.id);
    store.use_reset_token(token.id, now()).await.unwrap();
    assert!(matches!(store.use_reset_token(token.id, now()).await, Err(DomainError::Conflict(_))));
    assert!(store.find_reset_token("th").await.unwrap().used_at.is_some());
}

async fn api_keys_are_tenant_scoped(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let other = tenant(&store, "Other").await;
    let ada = user(&store, "ada").await;
    let key = store
        .create_api_key(
            acme.id,
            NewApiKey {
                user_id: ada.id,
                name: "ci".into(),
                prefix: "tome_abc".into(),
                key_hash: "kh".into(),
                permissions: vec!["documents.read".into()],
                expires_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(key.permissions, json!(["documents.read"]));
    assert_eq!(store.find_api_key_by_prefix("tome_abc").await.unwrap().tenant_id, acme.id);
    assert_eq!(store.list_api_keys(acme.id, Some(ada.id), PageRequest::default()).await.unwrap().items.len(), 1);
    assert!(store.list_api_keys(other.id, None, PageRequest::default()).await.unwrap().items.is_empty());
    assert!(matches!(store.revoke_api_key(other.id, key.id, now()).await, Err(DomainError::NotFound(_))));
    assert_eq!(store.get_api_key(acme.id, key.id).await.unwrap().name, "ci");
    assert!(matches!(store.get_api_key(other.id, key.id).await, Err(DomainError::NotFound(_))));
    store.touch_api_key(key.id, now()).await.unwrap();
    store.revoke_api_key(acme.id, key.id, now()).await.unwrap();
    let reread = store.find_api_key_by_prefix("tome_abc").await.unwrap();
    assert!(reread.revoked_at.is_some() && reread.last_used_at.is_some());
}

async fn folders_move_with_their_subtree_and_refuse_cycles(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let folder =
        |parent: Option<FolderId>, name: &str| NewFolder { parent_id: parent, name: name.into(), created_by: None };
    let a = store.create_folder(acme.id, folder(None, "a")).await.unwrap();
    let b = store.create_folder(acme.id, folder(Some(a.id), "b")).await.unwrap();
    let c = store.create_folder(acme.id, folder(Some(b.id), "c")).await.unwrap();
    let x = store.create_folder(acme.id, folder(None, "x")).await.unwrap();
    assert_eq!(c.path, "/a/b/c");
    assert!(matches!(store.create_folder(acme.id, folder(None, "a")).await, Err(DomainError::Conflict(_))));
    assert!(matches!(store.create_folder(acme.id, folder(None, "bad/name")).await, Err(DomainError::Invalid { .. })));
    let cycle =
        store.update_folder(acme.id, a.id, FolderPatch { parent_id: Some(Some(c.id)), ..Default::default() }).await;
    assert!(matches!(cycle, Err(DomainError::Invalid { .. })), "no cycles");
    let moved = store
        .update_folder(acme.id, b.id, FolderPatch { parent_id: Some(Some(x.id)), name: Some("bee".into()) })
        .await
        .unwrap();
    assert_eq!(moved.path, "/x/bee");
    assert_eq!(store.get_folder(acme.id, c.id).await.unwrap().path, "/x/bee/c", "descendants follow");
    assert_eq!(store.list_folders(acme.id, None, PageRequest::default()).await.unwrap().items.len(), 2);
    assert_eq!(store.list_folders(acme.id, Some(x.id), PageRequest::default()).await.unwrap().items.len(), 1);
    store.delete_folder(acme.id, x.id).await.unwrap();
    assert!(store.get_folder(acme.id, c.id).await.is_err(), "subfolders are deleted with their parent");
}

async fn projects_and_social_links_crud(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ada = user(&store, "ada").await;
    let folder = store
        .create_folder(acme.id, NewFolder { parent_id: None, name: "f".into(), created_by: Some(ada.id) })
        .await
        .unwrap();
    let project = store
        .create_project(
            acme.id,
            NewProject {
                folder_id: Some(folder.id),
                name: "Rockets".into(),
                description: None,
                icon: Some("🚀".into()),
                created_by: Some(ada.id),
            },
        )
        .await
        .unwrap();
    let bob = user(&store, "bob").await;
    let updated = store
        .update_project(
            acme.id,
            project.id,
            ProjectPatch {
                modified_by: bob.id,
                folder_id: Some(None),
                name: None,
                description: Some(Some("d".into())),
                icon: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((updated.last_modified_by, updated.folder_id, updated.created_by), (Some(bob.id), None, Some(ada.id)));
    assert_eq!(
        store.list_projects(acme.id, ProjectFilter::default(), PageRequest::default()).await.unwrap().items.len(),
        1
    );
    assert!(
        store
            .list_projects(acme.id, ProjectFilter { folder_id: Some(folder.id) }, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    store.delete_project(acme.id, project.id).await.unwrap();
    let link = store
        .create_social_link(
            acme.id,
            NewSocialLink { url: "https://linkedin.com/company/acme".into(), platform: SocialPlatform::Linkedin },
        )
        .await
        .unwrap();
    let bad = store
        .create_social_link(
            acme.id,
            NewSocialLink { url: "javascript:alert(1)".into(), platform: SocialPlatform::Twitter },
        )
        .await;
    assert!(matches!(bad, Err(DomainError::Invalid { .. })), "the database checks URLs too");
    let changed = store
        .update_social_link(
            acme.id,
            link.id,
            SocialLinkPatch { platform: Some(SocialPlatform::Youtube), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(changed.platform, SocialPlatform::Youtube);
    assert_eq!(store.list_social_links(acme.id, PageRequest::default()).await.unwrap().items.len(), 1);
    store.delete_social_link(acme.id, link.id).await.unwrap();
    assert!(store.get_social_link(acme.id, link.id).await.is_err());
}

async fn documents_soft_delete_filters_and_chunks(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ada = user(&store, "ada").await;
    let doc = document(&store, acme.id, Some(ada.id), "a.txt").await;
    let other = document(&store, acme.id, None, "bb.txt").await;
    assert_eq!((doc.status, doc.chunk_count), (DocumentStatus::Uploaded, 0));
    let processing = store
        .update_document(
            acme.id,
            doc.id,
            DocumentPatch { status: Some(DocumentStatus::Processing), progress_total: Some(3), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!((processing.status, processing.progress_total), (DocumentStatus::Processing, 3));
    let by_owner = store
        .list_documents(
            acme.id,
            DocumentFilter { owner_id: Some(ada.id), ..Default::default() },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_owner.items.len(), 1);
    let by_status = store
        .list_documents(
            acme.id,
            DocumentFilter { status: Some(DocumentStatus::Uploaded), ..Default::default() },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_status.items[0].id, other.id);
    let chunks =
        (0..5).map(|i| NewChunk { metadata: json!({"page": i + 1}), ..new_chunk(i, &format!("chunk {i}")) }).collect();
    let stored = store.replace_chunks(acme.id, doc.id, chunk_set(chunks)).await.unwrap();
    assert_eq!(stored.len(), 5);
    assert_eq!(store.get_document(acme.id, doc.id).await.unwrap().chunk_count, 5);
    let page = store.list_chunks(acme.id, doc.id, PageRequest::first(3)).await.unwrap();
    assert_eq!(page.items.iter().map(|c| c.ordinal).collect::<Vec<_>>(), [0, 1, 2]);
    let rest = store
        .list_chunks(acme.id, doc.id, PageRequest::parse(Some(3), page.next_cursor.as_deref()).unwrap())
        .await
        .unwrap();
    assert_eq!(rest.items.iter().map(|c| c.ordinal).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(rest.items[0].metadata["page"], 4);
    let replaced = store.replace_chunks(acme.id, doc.id, chunk_set(vec![new_chunk(0, "only")])).await.unwrap();
    assert_eq!(replaced.len(), 1, "replacing leaves no old chunks behind");
    let duplicate = vec![new_chunk(0, "x"), new_chunk(0, "y")];
    assert!(store.replace_chunks(acme.id, doc.id, chunk_set(duplicate)).await.is_err());
    assert_eq!(
        store.list_chunks(acme.id, doc.id, PageRequest::default()).await.unwrap().items[0].content,
        "only",
        "a failed replace changes nothing"
    );
    store.soft_delete_document(acme.id, doc.id, now()).await.unwrap();
    assert!(matches!(store.get_document(acme.id, doc.id).await, Err(DomainError::NotFound(_))));
    assert_eq!(
        store.list_documents(acme.id, DocumentFilter::default(), PageRequest::default()).await.unwrap().items.len(),
        1
    );
    let with_deleted = DocumentFilter { include_deleted: true, ..Default::default() };
    assert_eq!(store.list_documents(acme.id, with_deleted, PageRequest::default()).await.unwrap().items.len(), 2);
    store.purge_document(acme.id, doc.id).await.unwrap();
    let bad_hash = NewDocument { sha256: "nothex".into(), ..sample_new_document() };
    assert!(matches!(store.create_document(acme.id, bad_hash).await, Err(DomainError::Invalid { .. })));
}

pub(crate) fn sample_new_document() -> NewDocument {
    NewDocument {
        owner_id: None,
        project_id: None,
        visibility: Visibility::Private,
        original_name: "n.md".into(),
        storage_key: "k".into(),
        mime_type: "text/markdown".into(),
        size_bytes: 1,
        sha256: "0".repeat(64),
        document_type: DocumentType::MeetingMinutes,
    }
}

fn new_chunk(ordinal: i32, content: &str) -> NewChunk {
    NewChunk { ordinal, content: content.into(), token_count: 1, metadata: json!({}), embedding: None }
}

fn chunk_set(chunks: Vec<NewChunk>) -> ChunkSet {
    ChunkSet { chunks, embedding_model: None }
}

async fn chunk_embeddings_round_trip(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let doc = document(&store, acme.id, None, "e.txt").await;
    let chunks = store.replace_chunks(acme.id, doc.id, chunk_set(vec![new_chunk(0, "c")])).await.unwrap();
    let chunk = chunks[0].id;
    assert_eq!(store.get_chunk_embedding(acme.id, chunk).await.unwrap(), None);
    let vector: Vec<f32> = (0..384).map(|i| (i as f32 / 384.0) - 0.5).collect();
    store.set_chunk_embedding(acme.id, chunk, "all-MiniLM-L6-v2", &vector).await.unwrap();
    assert_eq!(store.get_chunk_embedding(acme.id, chunk).await.unwrap(), Some(vector));
    let listed = store.list_chunks(acme.id, doc.id, PageRequest::default()).await.unwrap();
    assert_eq!(listed.items[0].embedding_model.as_deref(), Some("all-MiniLM-L6-v2"));
    let other = tenant(&store, "Other").await;
    assert!(matches!(store.set_chunk_embedding(other.id, chunk, "m", &[1.0]).await, Err(DomainError::NotFound(_))));
}

async fn document_vectors_are_stored_whole(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let doc = document(&store, acme.id, None, "v.txt").await;
    let processed = DocumentPatch { status: Some(DocumentStatus::Processed), ..Default::default() };
    store.update_document(acme.id, doc.id, processed).await.unwrap();
    // Chunks with their vectors: the document names the model.
    let with_vectors = (0..3).map(|i| NewChunk { embedding: Some(vec![i as f32, 1.0]), ..new_chunk(i, "t") }).collect();
    let set = ChunkSet { chunks: with_vectors, embedding_model: Some("model-a".into()) };
    let chunks = store.replace_chunks(acme.id, doc.id, set).await.unwrap();
    assert!(chunks.iter().all(|c| c.embedding_model.as_deref() == Some("model-a")));
    assert_eq!(store.get_chunk_embedding(acme.id, chunks[2].id).await.unwrap(), Some(vec![2.0, 1.0]));
    let stored = store.get_document(acme.id, doc.id).await.unwrap();
    assert_eq!((stored.embedding_model.as_deref(), stored.vectors_missing()), (Some("model-a"), false));
    assert!(store.documents_needing_embeddings("model-a", None, 10).await.unwrap().is_empty());
    assert_eq!(store.documents_needing_embeddings("model-b", None, 10).await.unwrap(), [(acme.id, doc.id)]);

    // Without vectors: the model is cleared and the document needs embedding.
    let chunks =
        store.replace_chunks(acme.id, doc.id, chunk_set(vec![new_chunk(0, "a"), new_chunk(1, "b")])).await.unwrap();
    let stored = store.get_document(acme.id, doc.id).await.unwrap();
    assert_eq!((stored.embedding_model.as_deref(), stored.vectors_missing()), (None, true));
    assert_eq!(store.documents_needing_embeddings("model-a", None, 10).await.unwrap(), [(acme.id, doc.id)]);

    // Vectors for fewer chunks than the document has: nothing is stored.
    let partial = vec![(chunks[0].id, vec![1.0, 0.0])];
    assert!(matches!(
        store.set_document_embeddings(acme.id, doc.id, "m", partial).await,
        Err(DomainError::Conflict(_))
    ));
    // A vector for a chunk that is no longer there: nothing is stored either.
    let stale = vec![(chunks[0].id, vec![1.0, 0.0]), (tome_domain::ChunkId::new(), vec![0.0, 1.0])];
    assert!(matches!(store.set_document_embeddings(acme.id, doc.id, "m", stale).await, Err(DomainError::Conflict(_))));
    assert_eq!(store.get_chunk_embedding(acme.id, chunks[0].id).await.unwrap(), None, "a failed update keeps nothing");
    let whole = vec![(chunks[0].id, vec![1.0, 0.0]), (chunks[1].id, vec![0.0, 1.0])];
    store.set_document_embeddings(acme.id, doc.id, "model-b", whole).await.unwrap();
    assert_eq!(store.get_chunk_embedding(acme.id, chunks[1].id).await.unwrap(), Some(vec![0.0, 1.0]));
    assert_eq!(store.get_document(acme.id, doc.id).await.unwrap().embedding_model.as_deref(), Some("model-b"));
    assert_eq!(store.documents_needing_embeddings("model-a", None, 10).await.unwrap(), [(acme.id, doc.id)]);
    assert!(store.documents_needing_embeddings("model-a", Some(doc.id), 10).await.unwrap().is_empty());
}

async fn audit_log_appends_and_filters(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ada = user(&store, "ada").await;
    let entry = |action: &str| NewAuditEntry {
        actor_id: Some(ada.id),
        action: action.into(),
        target_type: "document".into(),
        target_id: Some("d1".into()),
        summary: Some("uploaded a.txt".into()),
        changes: json!({"name": "a.txt"}),
        ip: Some("127.0.0.1".into()),
        user_agent: None,
    };
    store.append_audit(Some(acme.id), entry("document.create")).await.unwrap();
    store.append_audit(Some(acme.id), entry("document.delete")).await.unwrap();
    store.append_audit(None, entry("tenant.create")).await.unwrap();
    assert!(matches!(
        store.append_audit(Some(acme.id), entry("Not An Action")).await,
        Err(DomainError::Invalid { .. })
    ));
    let all = store.list_audit(acme.id, AuditFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(all.items.len(), 2);
    assert_eq!(all.items[0].action, "document.delete", "newest first");
    let deletes = store
        .list_audit(
            acme.id,
            AuditFilter { action: Some("document.delete".into()), ..Default::default() },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(deletes.items.len(), 1);
    let platform = store.list_platform_audit(AuditFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(platform.items.len(), 1, "platform entries are separate from tenants'");
    assert_eq!(platform.items[0].action, "tenant.create");
}

async fn personas_are_unique_per_tenant_and_checked(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ada = user(&store, "ada").await;
    let new = |name: &str, temperature: f64| NewPersona {
        owner_id: Some(ada.id),
        name: name.into(),
        display_name: "Helper".into(),
        description: None,
        system_prompt: "Be brief.".into(),
        model: None,
        default_temperature: temperature,
        max_tokens: 512,
    };
    let persona = store.create_persona(acme.id, new("helper", 0.5)).await.unwrap();
    assert!(matches!(store.create_persona(acme.id, new("helper", 0.5)).await, Err(DomainError::Conflict(_))));
    assert!(
        matches!(store.create_persona(acme.id, new("hot", 2.5)).await, Err(DomainError::Invalid { .. })),
        "temperature 0–2"
    );
    let other = tenant(&store, "Other").await;
    store.create_persona(other.id, new("helper", 0.5)).await.expect("same name in another tenant");
    let updated = store
        .update_persona(
            acme.id,
            persona.id,
            PersonaPatch { max_tokens: Some(100), is_active: Some(false), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!((updated.max_tokens, updated.is_active), (100, false));
    let mine = store.list_personas(acme.id, Some(ada.id), PageRequest::default()).await.unwrap();
    assert_eq!(mine.items.len(), 2, "the tenant's default persona and mine");
    assert_eq!(store.list_personas(acme.id, None, PageRequest::default()).await.unwrap().items.len(), 1);
    store.delete_persona(acme.id, persona.id).await.unwrap();
}

async fn conversations_messages_tree_and_feedback(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ada = user(&store, "ada").await;
    let new_conversation = |title: &str| NewConversation {
        user_id: ada.id,
        project_id: None,
        persona_id: None,
        title: title.into(),
        auto_title: false,
        model: Some("m".into()),
    };
    let first = store.create_conversation(acme.id, new_conversation("Rocket fuel")).await.unwrap();
    let second = store.create_conversation(acme.id, new_conversation("Budget")).await.unwrap();
    assert!(matches!(
        store.create_conversation(acme.id, new_conversation(&"t".repeat(256))).await,
        Err(DomainError::Invalid { .. })
    ));
    let question = store
        .create_message(
            acme.id,
            NewMessage { author_id: Some(ada.id), ..NewMessage::text(first.id, MessageRole::User, "What fuel?") },
        )
        .await
        .unwrap();
    let answer = store
        .create_message(
            acme.id,
            NewMessage {
                parent_id: Some(question.id),
                source_references: json!([{"document": "d", "chunk": "c", "page": 2, "score": 0.9, "snippet": "LOX"}]),
                input_tokens: Some(120),
                output_tokens: Some(30),
                ..NewMessage::text(first.id, MessageRole::Assistant, "Liquid oxygen [1].")
            },
        )
        .await
        .unwrap();
    let sibling = store
        .create_message(
            acme.id,
            NewMessage {
                parent_id: Some(question.id),
                ..NewMessage::text(first.id, MessageRole::Assistant, "Kerosene.")
            },
        )
        .await
        .unwrap();
    let long = NewMessage::text(first.id, MessageRole::User, "x".repeat(10_001));
    assert!(
        matches!(store.create_message(acme.id, long).await, Err(DomainError::Invalid { .. })),
        "user content ≤ 10,000"
    );
    let messages = store.list_messages(acme.id, first.id).await.unwrap();
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), [question.id, answer.id, sibling.id]);
    assert_eq!(messages[1].source_references[0]["page"], 2);
    // Posting a message is activity: the conversation moves to the top.
    let listed = store
        .list_conversations(
            acme.id,
            ConversationFilter { user_id: Some(ada.id), ..Default::default() },
            PageRequest::first(1),
        )
        .await
        .unwrap();
    assert_eq!(listed.items[0].id, first.id);
    let next = store
        .list_conversations(
            acme.id,
            ConversationFilter::default(),
            PageRequest::parse(Some(1), listed.next_cursor.as_deref()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(next.items[0].id, second.id);
    assert_eq!(next.next_cursor, None);
    let found = store
        .list_conversations(
            acme.id,
            ConversationFilter { title_query: Some("FUEL".into()), ..Default::default() },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    let archived = store
        .update_conversation(
            acme.id,
            second.id,
            ConversationPatch { status: Some(ConversationStatus::Archived), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(archived.status, ConversationStatus::Archived);
    let active = store
        .list_conversations(
            acme.id,
            ConversationFilter { status: Some(ConversationStatus::Active), ..Default::default() },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(active.items.len(), 1);
    let updated = store
        .update_message(acme.id, answer.id, MessagePatch { error: Some(Some("cut off".into())), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(updated.error.as_deref(), Some("cut off"));
    let feedback = |rating: i32| NewFeedback {
        message_id: answer.id,
        user_id: ada.id,
        rating,
        comment: Some("ok".into()),
        correction: None,
    };
    store.put_feedback(acme.id, feedback(5)).await.unwrap();
    let replaced = store.put_feedback(acme.id, feedback(1)).await.unwrap();
    assert_eq!(replaced.rating, 1);
    assert_eq!(store.list_feedback(acme.id, answer.id).await.unwrap().len(), 1, "one rating per message and user");
    assert!(matches!(store.put_feedback(acme.id, feedback(6)).await, Err(DomainError::Invalid { .. })), "rating 1–5");
    store.delete_feedback(acme.id, answer.id, ada.id).await.unwrap();
    store.delete_conversation(acme.id, first.id).await.unwrap();
    assert!(store.get_message(acme.id, question.id).await.is_err(), "messages go with their conversation");
}

async fn objects_and_transcriptions_crud(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ada = user(&store, "ada").await;
    let object = store
        .create_object(
            acme.id,
            NewObject {
                kind: ObjectKind::Openscad,
                name: "cube".into(),
                source: "cube(10);".into(),
                created_by: Some(ada.id),
            },
        )
        .await
        .unwrap();
    let updated = store
        .update_object(acme.id, object.id, ObjectPatch { source: Some("cube(20);".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(updated.source, "cube(20);");
    assert_eq!(store.list_objects(acme.id, PageRequest::default()).await.unwrap().items.len(), 1);
    let conversation = store
        .create_conversation(
            acme.id,
            NewConversation {
                user_id: ada.id,
                project_id: None,
                persona_id: None,
                title: "t".into(),
                auto_title: false,
                model: None,
            },
        )
        .await
        .unwrap();
    let message = store
        .create_message(
            acme.id,
            NewMessage {
                object_id: Some(object.id),
                tool_calls: Some(json!([{"name": "openscad"}])),
                ..NewMessage::text(conversation.id, MessageRole::Assistant, "Here")
            },
        )
        .await
        .unwrap();
    assert_eq!(message.object_id, Some(object.id));
    store.delete_object(acme.id, object.id).await.unwrap();
    assert_eq!(store.get_message(acme.id, message.id).await.unwrap().object_id, None, "the message stays");

    let job = store
        .create_transcription(
            acme.id,
            NewTranscriptionJob {
                user_id: Some(ada.id),
                audio_key: "audio/1.wav".into(),
                original_name: "standup.wav".into(),
                mime_type: Some("audio/wav".into()),
                size_bytes: 1000,
                language: Some("en".into()),
                project_id: None,
                visibility: Visibility::Private,
            },
        )
        .await
        .unwrap();
    assert_eq!(job.status, TranscriptionStatus::Pending);
    let transcript = document(&store, acme.id, Some(ada.id), "standup transcript").await;
    let done = store
        .update_transcription(
            acme.id,
            job.id,
            TranscriptionPatch {
                status: Some(TranscriptionStatus::Completed),
                transcript: Some("hello".into()),
                segments: Some(json!([{"start": 0.0, "end": 1.0, "text": "hello"}])),
                minutes: Some("# Minutes".into()),
                duration_seconds: Some(1.0),
                transcript_document_id: Some(transcript.id),
                completed_at: Some(now()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((done.status, done.transcript_document_id), (TranscriptionStatus::Completed, Some(transcript.id)));
    assert_eq!(store.list_transcriptions(acme.id, Some(ada.id), PageRequest::default()).await.unwrap().items.len(), 1);
    store.delete_transcription(acme.id, job.id).await.unwrap();
}

/// The isolation contract: a row of tenant A is `NotFound` through tenant B, for every
/// tenant-owned entity, and lists of B never show it.
async fn every_tenant_owned_row_is_invisible_to_another_tenant(store: SqlStore) {
    let a = tenant(&store, "Tenant A").await.id;
    let b = tenant(&store, "Tenant B").await.id;
    let ada = user(&store, "ada").await;
    let doc = document(&store, a, Some(ada.id), "secret.txt").await;
    let folder =
        store.create_folder(a, NewFolder { parent_id: None, name: "f".into(), created_by: None }).await.unwrap();
    let project = store
        .create_project(
            a,
            NewProject { folder_id: None, name: "p".into(), description: None, icon: None, created_by: None },
        )
        .await
        .unwrap();
    let link = store
        .create_social_link(a, NewSocialLink { url: "https://x.com/a".into(), platform: SocialPlatform::Twitter })
        .await
        .unwrap();
    let persona = store.get_persona_by_name(a, None, "default").await;
    let persona = match persona {
        Ok(persona) => persona,
        Err(_) => store
            .create_persona(
                a,
                NewPersona {
                    owner_id: None,
                    name: "default".into(),
                    display_name: "d".into(),
                    description: None,
                    system_prompt: String::new(),
                    model: None,
                    default_temperature: 0.2,
                    max_tokens: 10,
                },
            )
            .await
            .unwrap(),
    };
    let conversation = store
        .create_conversation(
            a,
            NewConversation {
                user_id: ada.id,
                project_id: None,
                persona_id: None,
                title: "t".into(),
                auto_title: false,
                model: None,
            },
        )
        .await
        .unwrap();
    let message = store.create_message(a, NewMessage::text(conversation.id, MessageRole::User, "hi")).await.unwrap();
    let object = store
        .create_object(
            a,
            NewObject { kind: ObjectKind::Openscad, name: "o".into(), source: "s".into(), created_by: None },
        )
        .await
        .unwrap();
    let job = store
        .create_transcription(
            a,
            NewTranscriptionJob {
                user_id: None,
                audio_key: "k".into(),
                original_name: "n".into(),
                mime_type: None,
                size_bytes: 0,
                language: None,
                project_id: None,
                visibility: Visibility::Private,
            },
        )
        .await
        .unwrap();
    let role = store.create_role(a, NewRole { name: "custom".into(), description: None }).await.unwrap();

    fn not_found<T: std::fmt::Debug>(result: DomainResult<T>) {
        assert!(matches!(result, Err(DomainError::NotFound(_))), "expected NotFound, got {result:?}");
    }
    not_found(store.get_document(b, doc.id).await);
    not_found(
        store
            .update_document(b, doc.id, DocumentPatch { status: Some(DocumentStatus::Error), ..Default::default() })
            .await,
    );
    not_found(store.soft_delete_document(b, doc.id, now()).await);
    not_found(store.replace_chunks(b, doc.id, ChunkSet::default()).await);
    not_found(store.set_document_embeddings(b, doc.id, "m", Vec::new()).await);
    not_found(store.list_chunks(b, doc.id, PageRequest::default()).await);
    not_found(store.get_folder(b, folder.id).await);
    not_found(store.delete_folder(b, folder.id).await);
    not_found(
        store.create_folder(b, NewFolder { parent_id: Some(folder.id), name: "x".into(), created_by: None }).await,
    );
    not_found(store.get_project(b, project.id).await);
    not_found(
        store
            .create_project(
                b,
                NewProject {
                    folder_id: Some(folder.id),
                    name: "p".into(),
                    description: None,
                    icon: None,
                    created_by: None,
                },
            )
            .await,
    );
    not_found(store.get_social_link(b, link.id).await);
    not_found(store.get_persona(b, persona.id).await);
    not_found(store.update_persona(b, persona.id, PersonaPatch::default()).await);
    not_found(store.get_conversation(b, conversation.id).await);
    not_found(store.list_messages(b, conversation.id).await);
    not_found(store.create_message(b, NewMessage::text(conversation.id, MessageRole::User, "inject")).await);
    not_found(
        store
            .create_conversation(
                b,
                NewConversation {
                    user_id: ada.id,
                    project_id: Some(project.id),
                    persona_id: None,
                    title: "t".into(),
                    auto_title: false,
                    model: None,
                },
            )
            .await,
    );
    not_found(store.get_message(b, message.id).await);
    not_found(
        store
            .put_feedback(
                b,
                NewFeedback { message_id: message.id, user_id: ada.id, rating: 5, comment: None, correction: None },
            )
            .await,
    );
    not_found(store.get_object(b, object.id).await);
    not_found(store.get_transcription(b, job.id).await);
    not_found(store.get_role(b, role.id).await);
    not_found(store.delete_conversation(b, conversation.id).await);
    assert!(store.list_documents(b, DocumentFilter::default(), PageRequest::default()).await.unwrap().items.is_empty());
    assert!(store.list_projects(b, ProjectFilter::default(), PageRequest::default()).await.unwrap().items.is_empty());
    assert!(
        store
            .list_conversations(b, ConversationFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(store.list_objects(b, PageRequest::default()).await.unwrap().items.is_empty());
    assert!(store.list_transcriptions(b, None, PageRequest::default()).await.unwrap().items.is_empty());
    assert!(store.list_roles(b).await.unwrap().iter().all(|r| r.tenant_id.is_none()));
    // Tenant A still sees all of it.
    assert!(store.get_document(a, doc.id).await.is_ok());
    assert_eq!(store.list_messages(a, conversation.id).await.unwrap().len(), 1);
}

async fn jobs_are_claimed_once_retried_and_failed(store: SqlStore) {
    let t0 = now();
    let job = store
        .enqueue(NewJob { tenant_id: None, kind: "demo".into(), payload: json!({"n": 1}), max_attempts: 2, run_at: t0 })
        .await
        .unwrap();
    let later = store
        .enqueue(NewJob {
            tenant_id: None,
            kind: "demo".into(),
            payload: json!({}),
            max_attempts: 1,
            run_at: t0 + Duration::hours(1),
        })
        .await
        .unwrap();
    let lease = t0 + Duration::minutes(5);
    let claimed = store.claim_job("w1", t0, lease).await.unwrap().expect("a due job");
    assert_eq!((claimed.id, claimed.status, claimed.attempts), (job.id, JobStatus::Running, 1));
    assert!(store.claim_job("w2", t0, lease).await.unwrap().is_none(), "leased and not yet due jobs are not claimed");
    let retried = store.fail_job(job.id, "w1", "boom", t0).await.unwrap();
    assert_eq!((retried.status, retried.last_error.as_deref()), (JobStatus::Queued, Some("boom")));
    let again = store.claim_job("w2", t0, lease).await.unwrap().expect("retry");
    assert_eq!(again.attempts, 2);
    assert!(store.complete_job(job.id, "w1", now()).await.is_err(), "only the holder completes");
    let failed = store.fail_job(job.id, "w2", "boom again", t0).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed, "no attempts left");
    assert!(failed.finished_at.is_some());
    let due_later =
        store.claim_job("w3", t0 + Duration::hours(2), t0 + Duration::hours(3)).await.unwrap().expect("due now");
    assert_eq!(due_later.id, later.id);
    store.complete_job(later.id, "w3", now()).await.unwrap();
    assert_eq!(store.get_job(later.id).await.unwrap().status, JobStatus::Succeeded);
    assert_eq!(store.list_jobs(Some(JobStatus::Failed), PageRequest::default()).await.unwrap().items.len(), 1);
}

async fn expired_lease_is_reclaimed(store: SqlStore) {
    let t0 = now();
    let job = store
        .enqueue(NewJob { tenant_id: None, kind: "demo".into(), payload: json!({}), max_attempts: 2, run_at: t0 })
        .await
        .unwrap();
    store.claim_job("dead", t0, t0 + Duration::seconds(30)).await.unwrap().expect("claimed");
    // The worker died: once its lease expires another worker takes the job over.
    let t1 = t0 + Duration::seconds(31);
    let taken = store.claim_job("alive", t1, t1 + Duration::seconds(30)).await.unwrap().expect("reclaimed");
    assert_eq!((taken.id, taken.locked_by.as_deref(), taken.attempts), (job.id, Some("alive"), 2));
    assert!(store.complete_job(job.id, "dead", t1).await.is_err(), "the dead worker's late completion is refused");
    assert!(
        matches!(store.extend_lease(job.id, "dead", t1 + Duration::seconds(60)).await, Err(DomainError::NotFound(_))),
        "nor may it extend a lease it lost"
    );
    // A live worker's heartbeat keeps the job from being taken over.
    store.extend_lease(job.id, "alive", t1 + Duration::seconds(90)).await.unwrap();
    let t_mid = t1 + Duration::seconds(45);
    assert!(store.claim_job("thief", t_mid, t_mid + Duration::seconds(30)).await.unwrap().is_none());
    // The second worker dies too, on the last attempt: the job is failed, not retried forever.
    let t2 = t1 + Duration::seconds(91);
    assert!(store.claim_job("third", t2, t2 + Duration::seconds(30)).await.unwrap().is_none());
    let failed = store.get_job(job.id).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.last_error.is_some());
}

async fn concurrent_workers_never_claim_the_same_job(store: SqlStore) {
    let t0 = now();
    for i in 0..20 {
        store
            .enqueue(NewJob {
                tenant_id: None,
                kind: "demo".into(),
                payload: json!({"i": i}),
                max_attempts: 1,
                run_at: t0,
            })
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let name = format!("w{w}");
            while let Some(job) = store.claim_job(&name, now(), now() + Duration::minutes(5)).await.unwrap() {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let claimed = all.len();
    all.sort();
    all.dedup();
    assert_eq!((claimed, all.len()), (20, 20), "every job claimed exactly once");
}

async fn deleting_a_tenant_cascades(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ada = user(&store, "ada").await;
    store.add_member(acme.id, ada.id).await.unwrap();
    let doc = document(&store, acme.id, Some(ada.id), "a.txt").await;
    store.replace_chunks(acme.id, doc.id, chunk_set(vec![new_chunk(0, "c")])).await.unwrap();
    store.delete_tenant(acme.id).await.unwrap();
    assert!(store.list_memberships_of_user(ada.id).await.unwrap().is_empty());
    assert!(store.get_user(ada.id).await.is_ok(), "users are platform-wide and stay");
}

async fn concurrent_audit_appends_keep_one_unbroken_chain_per_tenant(store: SqlStore) {
    let a = tenant(&store, "Chain A").await.id;
    let b = tenant(&store, "Chain B").await.id;
    let client = tome_domain::auth::ClientInfo::default();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = store.clone();
        let client = client.clone();
        let tenant = [Some(a), Some(b), None][i % 3];
        tasks.push(tokio::spawn(async move {
            let entry = NewAuditEntry::new(None, "folder.create", ("folder", Some(i.to_string())), "made", &client)
                .with_changes(json!({"z": i, "a": {"nested": [1, 2], "b": "x"}}));
            store.append_audit(tenant, entry).await.unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for chain in [Some(a), Some(b), None] {
        let report = tome_domain::audit::verify(&store, chain).await.unwrap();
        assert!(report.valid(), "{chain:?}: {:?}", report.broken);
        assert_eq!(report.entries, 8, "{chain:?}");
    }
}
