//! The retrieval contract (`SearchRepo`): every case runs against SQLite (the in-process
//! tantivy and vector indexes) and PostgreSQL (full-text search + pgvector).

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use serde_json::json;
use tome_domain::identity::*;
use tome_domain::knowledge::*;
use tome_domain::organization::NewProject;
use tome_domain::repo::*;
use tome_domain::search::{SearchFilters, SearchScope, keywords};
use tome_domain::validate::{Email, Slug, Username};
use tome_domain::*;
use tome_store::SqlStore;
use tome_testkit::{TestDb, contract_tests};

contract_tests!(
    keyword_search_ranks_matches_and_follows_changes,
    vector_search_finds_the_nearest_of_the_model,
    access_rules_and_filters_apply_inside_both_rankings,
    a_reader_gets_k_results_when_nearer_chunks_are_forbidden,
    a_reader_gets_k_keyword_results_when_better_matches_are_forbidden,
    another_tenants_documents_do_not_move_a_tenants_keyword_scores,
    deleting_or_reindexing_changes_vector_results_at_once,
);

const MODEL: &str = "test-model";

async fn tenant(store: &SqlStore, name: &str) -> Tenant {
    let new =
        NewTenant { name: name.into(), slug: Slug::from_name(name).unwrap(), description: None, is_default: false };
    store.create_tenant(new).await.unwrap()
}

async fn user(store: &SqlStore, username: &str) -> User {
    store
        .create_user(NewUser {
            email: Email::parse(&format!("{username}@example.com")).unwrap(),
            username: Username::parse(username).unwrap(),
            name: None,
            password_hash: "x".into(),
            is_active: true,
            is_superadmin: false,
        })
        .await
        .unwrap()
}

struct Doc<'a> {
    owner: UserId,
    visibility: Visibility,
    name: &'a str,
    kind: DocumentType,
    project: Option<ProjectId>,
}

impl<'a> Doc<'a> {
    fn shared(owner: UserId, name: &'a str) -> Self {
        Self { owner, visibility: Visibility::Tenant, name, kind: DocumentType::GeneralDocument, project: None }
    }

    fn private(owner: UserId, name: &'a str) -> Self {
        Self { visibility: Visibility::Private, ..Self::shared(owner, name) }
    }
}

/// A processed document with chunks `texts`, each with its vector (or none).
async fn add(store: &SqlStore, tenant: TenantId, doc: Doc<'_>, chunks: Vec<(&str, Option<Vec<f32>>)>) -> DocumentId {
    let new = NewDocument {
        owner_id: Some(doc.owner),
        project_id: doc.project,
        visibility: doc.visibility,
        original_name: doc.name.into(),
        storage_key: format!("k/{}", doc.name),
        mime_type: "text/plain".into(),
        size_bytes: 1,
        sha256: "0".repeat(64),
        document_type: doc.kind,
    };
    let document = store.create_document(tenant, new).await.unwrap();
    let embedded = chunks.iter().all(|(_, vector)| vector.is_some());
    let chunks = chunks
        .into_iter()
        .enumerate()
        .map(|(ordinal, (text, embedding))| NewChunk {
            ordinal: ordinal as i32,
            content: text.into(),
            token_count: 1,
            metadata: json!({"page": 1}),
            embedding,
        })
        .collect();
    let set = ChunkSet { chunks, embedding_model: embedded.then(|| MODEL.to_owned()) };
    store.replace_chunks(tenant, document.id, set).await.unwrap();
    let processed = DocumentPatch { status: Some(DocumentStatus::Processed), ..Default::default() };
    store.update_document(tenant, document.id, processed).await.unwrap();
    document.id
}

/// A unit vector along axis `axis` of 8, nudged towards axis 7 by `tilt`.
fn axis(axis: usize, tilt: f32) -> Vec<f32> {
    let mut v = vec![0.0; 8];
    v[axis] = 1.0;
    v[7] += tilt;
    v
}

async fn documents_found(store: &SqlStore, scope: &SearchScope, query: &str) -> Vec<DocumentId> {
    let ranked = store.keyword_search(scope, &keywords(query), 10).await.unwrap();
    hits_documents(store, scope, &ranked).await
}

async fn documents_near(store: &SqlStore, scope: &SearchScope, vector: &[f32], limit: usize) -> Vec<DocumentId> {
    let ranked = store.vector_search(scope, MODEL, vector, limit).await.unwrap();
    hits_documents(store, scope, &ranked).await
}

async fn hits_documents(
    store: &SqlStore,
    scope: &SearchScope,
    ranked: &[tome_domain::search::RankedChunk],
) -> Vec<DocumentId> {
    let ids: Vec<ChunkId> = ranked.iter().map(|r| r.chunk_id).collect();
    let hits = store.chunk_hits(scope.tenant, &ids).await.unwrap();
    ids.iter().map(|id| hits.iter().find(|h| h.chunk_id == *id).unwrap().document_id).collect()
}

async fn keyword_search_ranks_matches_and_follows_changes(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ann = user(&store, "ann").await;
    let scope = SearchScope::reader(acme.id, ann.id);
    let cells = add(
        &store,
        acme.id,
        Doc::shared(ann.id, "cells.txt"),
        vec![("Mitochondria are the powerhouse of the cell; cells need them.", None), ("Unrelated text.", None)],
    )
    .await;
    let plants = add(
        &store,
        acme.id,
        Doc::shared(ann.id, "plants.txt"),
        vec![("Photosynthesis in plant cells converts light into sugar.", None)],
    )
    .await;
    // Stemming: "cell" finds "cells"; the document that says it more, and rarer words, ranks first.
    assert_eq!(documents_found(&store, &scope, "What is the powerhouse of the cell?").await, [cells, plants]);
    assert_eq!(documents_found(&store, &scope, "photosynthesis").await, [plants]);
    assert!(documents_found(&store, &scope, "the of and").await.is_empty(), "stop words alone find nothing");
    assert!(documents_found(&store, &scope, "quantum").await.is_empty());
    // Scores are higher for better matches.
    let ranked = store.keyword_search(&scope, &keywords("powerhouse cell"), 10).await.unwrap();
    assert!(ranked[0].score > ranked[1].score, "{ranked:?}");

    // New text is found at once, the old text no more.
    let new = ChunkSet {
        chunks: vec![NewChunk {
            ordinal: 0,
            content: "Ribosomes build proteins.".into(),
            token_count: 1,
            metadata: json!({}),
            embedding: None,
        }],
        embedding_model: None,
    };
    store.replace_chunks(acme.id, cells, new).await.unwrap();
    assert_eq!(documents_found(&store, &scope, "ribosome protein").await, [cells]);
    assert_eq!(documents_found(&store, &scope, "powerhouse").await, Vec::<DocumentId>::new());
    // A deleted document is not found.
    store.soft_delete_document(acme.id, plants, now()).await.unwrap();
    assert!(documents_found(&store, &scope, "photosynthesis").await.is_empty());
    store.purge_document(acme.id, plants).await.unwrap();
    assert!(documents_found(&store, &scope, "photosynthesis").await.is_empty());
}

async fn vector_search_finds_the_nearest_of_the_model(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ann = user(&store, "ann").await;
    let scope = SearchScope::reader(acme.id, ann.id);
    let a =
        add(&store, acme.id, Doc::shared(ann.id, "a"), vec![("a0", Some(axis(0, 0.0))), ("a1", Some(axis(1, 0.0)))])
            .await;
    let b = add(&store, acme.id, Doc::shared(ann.id, "b"), vec![("b0", Some(axis(2, 0.1)))]).await;
    // Without vectors a document is found by keywords only.
    add(&store, acme.id, Doc::shared(ann.id, "c"), vec![("c0", None)]).await;
    let ranked = store.vector_search(&scope, MODEL, &axis(2, 0.0), 10).await.unwrap();
    assert_eq!(ranked.len(), 3);
    assert_eq!(hits_documents(&store, &scope, &ranked).await, [b, a, a]);
    assert!((ranked[0].score - 1.0 / 1.01_f64.sqrt()).abs() < 1e-3, "cosine similarity: {}", ranked[0].score);
    assert!(ranked[1].score.abs() < 1e-3);
    assert_eq!(documents_near(&store, &scope, &axis(1, 0.0), 1).await, [a]);
    // Another model's vectors are never compared.
    assert!(store.vector_search(&scope, "other-model", &axis(2, 0.0), 10).await.unwrap().is_empty());
    assert!(store.vector_search(&scope, MODEL, &[], 10).await.is_err());
}

fn filtered(scope: &SearchScope, filters: SearchFilters) -> SearchScope {
    SearchScope { filters, ..scope.clone() }
}

/// Both rankings find exactly `expected` (in any order) for `scope`.
async fn check(store: &SqlStore, scope: SearchScope, mut expected: Vec<DocumentId>) {
    expected.sort();
    let mut found = documents_found(store, &scope, "revenue").await;
    found.sort();
    assert_eq!(found, expected, "keyword {scope:?}");
    let mut found = documents_near(store, &scope, &axis(0, 0.0), 10).await;
    found.sort();
    assert_eq!(found, expected, "semantic {scope:?}");
}

async fn access_rules_and_filters_apply_inside_both_rankings(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let other = tenant(&store, "Other").await;
    let ann = user(&store, "ann").await;
    let bob = user(&store, "bob").await;
    let project = store
        .create_project(
            acme.id,
            NewProject { folder_id: None, name: "P".into(), description: None, icon: None, created_by: Some(ann.id) },
        )
        .await
        .unwrap();
    let text = "Quarterly revenue grew strongly";
    let shared = add(&store, acme.id, Doc::shared(ann.id, "shared"), vec![(text, Some(axis(0, 0.0)))]).await;
    let bobs_private = add(&store, acme.id, Doc::private(bob.id, "bob"), vec![(text, Some(axis(0, 0.0)))]).await;
    let minutes = add(
        &store,
        acme.id,
        Doc { kind: DocumentType::MeetingMinutes, project: Some(project.id), ..Doc::shared(bob.id, "minutes") },
        vec![(text, Some(axis(0, 0.0)))],
    )
    .await;
    let foreign = add(&store, other.id, Doc::shared(ann.id, "foreign"), vec![(text, Some(axis(0, 0.0)))]).await;
    // Ann sees shared documents of her tenant, never Bob's private one nor another tenant's.
    check(&store, SearchScope::reader(acme.id, ann.id), vec![shared, minutes]).await;
    check(&store, SearchScope::reader(acme.id, bob.id), vec![shared, bobs_private, minutes]).await;
    check(&store, SearchScope::reader(other.id, ann.id), vec![foreign]).await;
    let ann_scope = SearchScope::reader(acme.id, ann.id);
    check(
        &store,
        filtered(&ann_scope, SearchFilters { project_ids: vec![project.id], ..Default::default() }),
        vec![minutes],
    )
    .await;
    check(
        &store,
        filtered(&ann_scope, SearchFilters { document_ids: vec![shared, bobs_private], ..Default::default() }),
        vec![shared],
    )
    .await;
    check(
        &store,
        filtered(
            &ann_scope,
            SearchFilters { document_types: vec![DocumentType::MeetingMinutes], ..Default::default() },
        ),
        vec![minutes],
    )
    .await;
    check(&store, filtered(&ann_scope, SearchFilters { owner_id: Some(ann.id), ..Default::default() }), vec![shared])
        .await;
    let later = now() + time::Duration::hours(1);
    check(&store, filtered(&ann_scope, SearchFilters { created_after: Some(later), ..Default::default() }), vec![])
        .await;
    check(
        &store,
        filtered(&ann_scope, SearchFilters { created_before: Some(later), ..Default::default() }),
        vec![shared, minutes],
    )
    .await;
    // Changing a document's visibility changes who finds it, at once.
    let private = DocumentPatch { visibility: Some(Visibility::Private), ..Default::default() };
    store.update_document(acme.id, minutes, private).await.unwrap();
    check(&store, SearchScope::reader(acme.id, ann.id), vec![shared]).await;
}

async fn a_reader_gets_k_keyword_results_when_better_matches_are_forbidden(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ann = user(&store, "ann").await;
    let bob = user(&store, "bob").await;
    // Bob's private chunks say the query word three times; the shared ones once, in more
    // words. Every forbidden chunk outscores every allowed one.
    let strong: Vec<String> = (0..1_500).map(|i| format!("glacier glacier glacier {i}")).collect();
    let weak: Vec<String> = (0..1_500).map(|i| format!("a glacier seen from the valley on day {i}")).collect();
    let private =
        add(&store, acme.id, Doc::private(bob.id, "strong"), strong.iter().map(|t| (t.as_str(), None)).collect()).await;
    let shared =
        add(&store, acme.id, Doc::shared(bob.id, "weak"), weak.iter().map(|t| (t.as_str(), None)).collect()).await;
    assert_eq!(documents_found(&store, &SearchScope::reader(acme.id, ann.id), "glacier").await, vec![shared; 10]);
    assert_eq!(documents_found(&store, &SearchScope::reader(acme.id, bob.id), "glaciers").await, vec![private; 10]);
    // Deleting the strong document lets the weak ones through for bob too, at once.
    store.soft_delete_document(acme.id, private, now()).await.unwrap();
    assert_eq!(documents_found(&store, &SearchScope::reader(acme.id, bob.id), "glacier").await, vec![shared; 10]);
}

async fn another_tenants_documents_do_not_move_a_tenants_keyword_scores(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let globex = tenant(&store, "Globex").await;
    let ann = user(&store, "ann").await;
    let scope = SearchScope::reader(acme.id, ann.id);
    let texts =
        ["the harbour crane lifts containers", "the harbour pilot boards ships", "a quiet meadow of green clover"];
    add(&store, acme.id, Doc::shared(ann.id, "port"), texts.iter().map(|t| (*t, None)).collect()).await;
    let terms = keywords("harbour crane");
    let before = store.keyword_search(&scope, &terms, 10).await.unwrap();
    assert_eq!(before.len(), 2);
    // Globex writes the same words into many chunks of the same length (the average chunk
    // length is shared; term counts and chunk counts are each tenant's own).
    let flood: Vec<(&str, Option<Vec<f32>>)> = (0..200).map(|i| (texts[i % 2], None)).collect();
    add(&store, globex.id, Doc::shared(ann.id, "flood"), flood).await;
    let after = store.keyword_search(&scope, &terms, 10).await.unwrap();
    assert_eq!(after.len(), 2);
    for (was, is) in before.iter().zip(&after) {
        assert_eq!(was.chunk_id, is.chunk_id);
        assert!((was.score - is.score).abs() < 1e-6 * was.score.abs(), "{was:?} became {is:?}");
    }
}

async fn a_reader_gets_k_results_when_nearer_chunks_are_forbidden(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ann = user(&store, "ann").await;
    let bob = user(&store, "bob").await;
    // Bob's private chunks lie right at the query; the shared ones further out. Enough of
    // both that the embedded index walks its graph rather than comparing everything.
    let near: Vec<(String, Option<Vec<f32>>)> =
        (0..2_500).map(|i| (format!("near {i}"), Some(axis(0, 0.001 * (i % 50) as f32)))).collect();
    let far: Vec<(String, Option<Vec<f32>>)> =
        (0..2_500).map(|i| (format!("far {i}"), Some(axis(1 + i % 6, 0.5 + 0.001 * (i % 50) as f32)))).collect();
    let private =
        add(&store, acme.id, Doc::private(bob.id, "near"), near.iter().map(|(t, v)| (t.as_str(), v.clone())).collect())
            .await;
    let shared =
        add(&store, acme.id, Doc::shared(bob.id, "far"), far.iter().map(|(t, v)| (t.as_str(), v.clone())).collect())
            .await;
    let found = documents_near(&store, &SearchScope::reader(acme.id, ann.id), &axis(0, 0.0), 10).await;
    assert_eq!(found, vec![shared; 10]);
    let found = documents_near(&store, &SearchScope::reader(acme.id, bob.id), &axis(0, 0.0), 10).await;
    assert_eq!(found, vec![private; 10]);
    // A filter that leaves few chunks still yields all of them.
    let few =
        add(&store, acme.id, Doc::shared(bob.id, "few"), vec![("x", Some(axis(3, 2.0))), ("y", Some(axis(4, 2.0)))])
            .await;
    let scope = filtered(
        &SearchScope::reader(acme.id, ann.id),
        SearchFilters { document_ids: vec![few], ..Default::default() },
    );
    assert_eq!(documents_near(&store, &scope, &axis(0, 0.0), 10).await, [few, few]);
}

async fn deleting_or_reindexing_changes_vector_results_at_once(store: SqlStore) {
    let acme = tenant(&store, "Acme").await;
    let ann = user(&store, "ann").await;
    let scope = SearchScope::reader(acme.id, ann.id);
    let a = add(&store, acme.id, Doc::shared(ann.id, "a"), vec![("a", Some(axis(0, 0.0)))]).await;
    let b = add(&store, acme.id, Doc::shared(ann.id, "b"), vec![("b", Some(axis(1, 0.0)))]).await;
    assert_eq!(documents_near(&store, &scope, &axis(0, 0.0), 1).await, [a]);
    // Re-indexed with other vectors: the old ones are gone.
    let set = ChunkSet {
        chunks: vec![NewChunk {
            ordinal: 0,
            content: "a2".into(),
            token_count: 1,
            metadata: json!({}),
            embedding: Some(axis(5, 0.0)),
        }],
        embedding_model: Some(MODEL.into()),
    };
    store.replace_chunks(acme.id, a, set).await.unwrap();
    assert_eq!(documents_near(&store, &scope, &axis(0, 0.0), 2).await.len(), 2);
    assert_eq!(documents_near(&store, &scope, &axis(5, 0.0), 1).await, [a]);
    // Soft-deleted: hidden at once; purged: gone.
    store.soft_delete_document(acme.id, a, now()).await.unwrap();
    assert_eq!(documents_near(&store, &scope, &axis(5, 0.0), 5).await, [b]);
    store.purge_document(acme.id, a).await.unwrap();
    assert_eq!(documents_near(&store, &scope, &axis(5, 0.0), 5).await, [b]);
    // Vectors replaced chunk by chunk count too.
    let chunk = store.list_chunks(acme.id, b, PageRequest::default()).await.unwrap().items[0].id;
    store.set_chunk_embedding(acme.id, chunk, "another-model", &axis(1, 0.0)).await.unwrap();
    assert!(documents_near(&store, &scope, &axis(1, 0.0), 5).await.is_empty());
}

/// Opens a second store on the same SQLite file, as the next start of Tome would.
async fn reopen(db: &TestDb) -> SqlStore {
    SqlStore::open(&db.url, &tome_store::StoreOptions::default()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_vector_index_is_saved_and_rebuilt_when_lost_or_corrupt() {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let acme = tenant(&store, "Acme").await;
    let ann = user(&store, "ann").await;
    let scope = SearchScope::reader(acme.id, ann.id);
    let chunks: Vec<(String, Option<Vec<f32>>)> =
        (0..40).map(|i| (format!("c{i}"), Some(axis(i % 8, 0.01 * i as f32)))).collect();
    let doc =
        add(&store, acme.id, Doc::shared(ann.id, "d"), chunks.iter().map(|(t, v)| (t.as_str(), v.clone())).collect())
            .await;
    let expected = store.vector_search(&scope, MODEL, &axis(3, 0.0), 5).await.unwrap();
    store.save_search().await.unwrap();
    let folder = db.dir.path().join("index");
    let files: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
    let graph = files.iter().find(|p| p.extension().is_some_and(|e| e == "usearch")).expect("a saved index").clone();
    assert!(files.iter().any(|p| p.extension().is_some_and(|e| e == "json")));

    // A saved index is loaded, and changes made since are replayed.
    let later = add(&store, acme.id, Doc::shared(ann.id, "later"), vec![("l", Some(axis(3, 0.0)))]).await;
    let reopened = reopen(&db).await;
    assert_eq!(documents_near(&reopened, &scope, &axis(3, 0.0), 1).await, [later]);

    // Corrupt: rebuilt from the database, same answers.
    std::fs::write(&graph, b"not an index").unwrap();
    let rebuilt = reopen(&db).await;
    let found = rebuilt.vector_search(&scope, MODEL, &axis(3, 0.0), 6).await.unwrap();
    assert_eq!(
        found[1..].iter().map(|r| r.chunk_id).collect::<Vec<_>>(),
        expected.iter().map(|r| r.chunk_id).collect::<Vec<_>>()
    );
    // Lost: the same.
    std::fs::remove_dir_all(&folder).unwrap();
    let rebuilt = reopen(&db).await;
    assert_eq!(documents_near(&rebuilt, &scope, &axis(3, 0.0), 6).await, [later, doc, doc, doc, doc, doc]);
}

/// The HNSW indexes of the test database as (name, valid), read from the catalog.
async fn vector_indexes(db: &TestDb) -> Vec<(String, bool)> {
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE c.relname LIKE 'document_chunks_hnsw_%'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    rows
}

/// PostgreSQL builds a model's HNSW index when its first vectors arrive, in the background
/// and concurrently, never in a search; `ensure_vector_indexes` (`tome migrate`, `tome
/// reindex`, the start of `tome serve`) rebuilds one that an interrupted build left invalid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_builds_vector_indexes_off_the_request_path() {
    let Some(db) = TestDb::postgres().await else { return };
    let store = &db.store;
    let acme = tenant(store, "Acme").await;
    let ann = user(store, "ann").await;
    let scope = SearchScope::reader(acme.id, ann.id);
    assert!(store.vector_search(&scope, MODEL, &axis(0, 0.0), 10).await.unwrap().is_empty());
    assert!(vector_indexes(&db).await.is_empty(), "a search built an index");
    add(store, acme.id, Doc::shared(ann.id, "a"), vec![("a0", Some(axis(0, 0.0)))]).await;
    let mut built = Vec::new();
    for _ in 0..100 {
        built = vector_indexes(&db).await;
        if built.iter().any(|(_, valid)| *valid) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(built.len(), 1, "{built:?}");
    assert!(built[0].1, "the background build finished: {built:?}");
    assert_eq!(documents_near(store, &scope, &axis(0, 0.0), 1).await.len(), 1);
    // As a crashed concurrent build leaves it: present but invalid.
    let name = &built[0].0;
    db.execute_as_superuser(&format!("UPDATE pg_index SET indisvalid = false WHERE indexrelid = '{name}'::regclass"))
        .await;
    let restarted = SqlStore::connect(&db.url, &tome_store::StoreOptions::default()).await.unwrap();
    assert_eq!(restarted.ensure_vector_indexes().await.unwrap(), vec![name.clone()]);
    assert_eq!(vector_indexes(&db).await, vec![(name.clone(), true)]);
    assert!(restarted.ensure_vector_indexes().await.unwrap().is_empty(), "a valid index is left alone");
    restarted.close().await;
}
