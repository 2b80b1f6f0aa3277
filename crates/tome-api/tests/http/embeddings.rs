//! Embeddings in the ingestion pipeline, on SQLite and PostgreSQL: the in-process MiniLM
//! gives every chunk its vector in the same transaction as the chunk; documents processed
//! without an embedder say their vectors are missing and are embedded later; an embedder
//! that fails leaves the document searchable by keywords and queues the vectors for later.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tome_domain::jobs::JobStatus;
use tome_domain::repo::{JobQueue, KnowledgeRepo};
use tome_domain::{ChunkId, PageRequest, TenantId};
use tome_jobs::Step;
use tome_models::embed::{Embedder, cosine};
use tome_rag::pipeline::Pipeline;
use tome_testkit::{TestApp, Unreachable, app_tests, minilm};

app_tests!(
    minilm_vectors_are_stored_with_every_chunk,
    documents_processed_without_an_embedder_are_embedded_later,
    a_failing_embedder_leaves_the_document_searchable_and_queues_its_vectors,
);

fn with_minilm(app: &TestApp) -> Pipeline {
    app.pipeline().with_embedder(Arc::new(minilm()))
}

/// A handbook long enough for several chunks.
fn handbook() -> Vec<u8> {
    let mut text = String::from("# Handbook\n\n");
    for (i, topic) in ["holidays", "expenses", "security", "travel", "hardware", "onboarding"].iter().enumerate() {
        text.push_str(&format!("## Section {i}: {topic}\n\n"));
        for sentence in 0..12 {
            text.push_str(&format!(
                "Rule {sentence} about {topic}: every employee follows the {topic} policy carefully and asks their manager when unsure. "
            ));
        }
        text.push_str("\n\n");
    }
    text.into_bytes()
}

async fn upload_one(app: &TestApp, token: &str, name: &str, content: Vec<u8>) -> String {
    let (status, answer) = app.upload(token, &[(name, content)], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    answer["documents"][0]["id"].as_str().unwrap().to_owned()
}

async fn vector(app: &TestApp, tenant: TenantId, chunk: &Value) -> Option<Vec<f32>> {
    let id = ChunkId(chunk["id"].as_str().unwrap().parse().unwrap());
    app.db.store.get_chunk_embedding(tenant, id).await.unwrap()
}

/// The tenant of the token's user, from `/auth/me`.
async fn current_tenant(app: &TestApp, token: &str) -> TenantId {
    let (_, me) = app.call(token, Method::GET, "/api/v1/auth/me", None).await;
    TenantId(me["tenant"]["id"].as_str().unwrap().parse().unwrap())
}

async fn minilm_vectors_are_stored_with_every_chunk(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let id = upload_one(&app, &admin, "handbook.md", handbook()).await;
    let steps = app.work_with(with_minilm(&app)).await;
    assert!(steps.iter().all(|s| matches!(s, Step::Succeeded(_))), "{steps:?}");

    let doc = app.document(&admin, &id).await;
    assert_eq!(doc["status"], "processed", "{doc}");
    assert_eq!(doc["embedding_model"], "all-MiniLM-L6-v2");
    assert_eq!(doc["vectors_missing"], false);
    let count = doc["chunk_count"].as_i64().unwrap();
    assert!(count >= 3, "a long handbook makes several chunks: {doc}");
    assert_eq!((doc["progress"]["done"].as_i64(), doc["progress"]["total"].as_i64()), (Some(count), Some(count)));

    let model = minilm();
    let counter = model.token_counter().unwrap();
    let tenant = current_tenant(&app, &admin).await;
    for chunk in app.document_chunks(&admin, &id).await {
        let content = chunk["content"].as_str().unwrap();
        assert_eq!(chunk["embedding_model"], "all-MiniLM-L6-v2");
        // Sized by the model's own tokenizer, so that the model reads every chunk whole.
        let tokens = counter.count(content);
        assert!(tokens <= 256, "{tokens} tokens: {content}");
        assert_eq!(chunk["token_count"].as_u64(), Some(tokens as u64));
        let stored = vector(&app, tenant, &chunk).await.expect("every chunk has a vector");
        assert_eq!(stored.len(), 384);
        let fresh = model.embed(vec![content.to_owned()]).await.unwrap().remove(0);
        assert!(cosine(&stored, &fresh) > 0.999, "the stored vector is this chunk's, in order");
    }
}

async fn documents_processed_without_an_embedder_are_embedded_later(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let id = upload_one(&app, &admin, "handbook.md", handbook()).await;
    app.work().await;
    let doc = app.document(&admin, &id).await;
    assert_eq!(doc["status"], "processed", "keyword search needs no embedder: {doc}");
    assert_eq!((doc["embedding_model"].clone(), doc["vectors_missing"].clone()), (Value::Null, Value::Bool(true)));
    let tenant = current_tenant(&app, &admin).await;
    let before = app.document_chunks(&admin, &id).await;
    assert!(before.iter().all(|c| c["embedding_model"].is_null()));
    assert_eq!(vector(&app, tenant, &before[0]).await, None);

    // What `tome reindex` (and `tome serve` with a new model) does.
    let store = app.db.store.clone();
    let queued = tome_domain::documents::queue_embeddings(&store, "all-MiniLM-L6-v2", None).await.unwrap();
    assert_eq!(queued, 1);
    let other_tenant = [TenantId::new()];
    assert_eq!(tome_domain::documents::queue_embeddings(&store, "x", Some(&other_tenant)).await.unwrap(), 0);
    let steps = app.work_with(with_minilm(&app)).await;
    assert_eq!(steps, [Step::Succeeded("document.embed".into())]);

    let doc = app.document(&admin, &id).await;
    assert_eq!(
        (doc["embedding_model"].clone(), doc["vectors_missing"].clone()),
        ("all-MiniLM-L6-v2".into(), false.into())
    );
    let after = app.document_chunks(&admin, &id).await;
    assert_eq!(
        after.iter().map(|c| c["id"].clone()).collect::<Vec<_>>(),
        before.iter().map(|c| c["id"].clone()).collect::<Vec<_>>(),
        "the same chunks, now with vectors: nothing was extracted again"
    );
    for chunk in &after {
        assert_eq!(vector(&app, tenant, chunk).await.map(|v| v.len()), Some(384));
    }
    assert_eq!(tome_domain::documents::queue_embeddings(&store, "all-MiniLM-L6-v2", None).await.unwrap(), 0);
}

async fn a_failing_embedder_leaves_the_document_searchable_and_queues_its_vectors(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let id = upload_one(&app, &admin, "handbook.md", handbook()).await;
    let steps = app.work_with(app.pipeline().with_embedder(Arc::new(Unreachable))).await;
    assert_eq!(steps, [Step::Succeeded("document.ingest".into())], "the embed job waits a minute before it runs");
    let doc = app.document(&admin, &id).await;
    assert_eq!(doc["status"], "processed", "{doc}");
    assert_eq!(doc["vectors_missing"], true);
    assert!(doc["chunk_count"].as_i64().unwrap() >= 1);
    let queued = app.db.store.list_jobs(Some(JobStatus::Queued), PageRequest::default()).await.unwrap();
    let embed: Vec<_> = queued.items.iter().filter(|j| j.kind == "document.embed").collect();
    assert_eq!(embed.len(), 1, "{queued:?}");
    assert_eq!(embed[0].payload["document_id"], Value::String(id));
    assert!(embed[0].run_at > tome_domain::now());
}
