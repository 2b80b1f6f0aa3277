//! `POST /api/v1/search` end to end, on SQLite and PostgreSQL: real uploads, the real
//! pipeline with all-MiniLM-L6-v2, and the three modes over a socket.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_testkit::rerank::{RERANK_MODEL, StubReranker, occurrences};
use tome_testkit::{TestApp, TestDb, app_tests, minilm};

/// Runs each case on both backends with a server whose searches embed with MiniLM.
macro_rules! with_minilm {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = tome_testkit::TestDb::sqlite().await;
                super::$name(super::spawn(db).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = tome_testkit::TestDb::postgres().await else { return };
                super::$name(super::spawn(db).await).await;
            }
        }
    )*};
}

with_minilm!(
    hybrid_search_finds_passages_with_their_document_heading_and_highlights,
    semantic_search_finds_paraphrases_and_keyword_search_exact_words,
    search_shows_only_what_the_reader_may_read_and_forgets_deleted_documents,
);

app_tests!(without_an_embedder_hybrid_falls_back_to_keywords_and_bad_input_is_refused);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedder_that_is_down_leaves_hybrid_search_with_keywords() {
    let app = TestApp::spawn_with_embedder(TestDb::sqlite().await, Arc::new(tome_testkit::Unreachable)).await;
    let admin = app.superadmin("admin").await;
    ingest_without_vectors(&app, &admin, &[("security.md", SECURITY)]).await;
    let (status, answer) = search(&app, &admin, json!({"query": "password manager"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["mode"].as_str(), names(&answer)), (Some("keyword"), vec!["security.md".to_owned()]));
    assert!(answer["notice"].as_str().unwrap().contains("could not be embedded"), "{answer}");
    let (status, error) = search(&app, &admin, json!({"query": "password manager", "mode": "semantic"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("embedding model failed"), "{error}");
}

async fn spawn(db: TestDb) -> TestApp {
    TestApp::spawn_with_embedder(db, Arc::new(minilm())).await
}

const EXPENSES: &str = "# Finance handbook\n\n## Travel expenses\n\nKeep every receipt from a business trip. \
Submit your travel expenses within thirty days; the finance team reimburses them with the next salary.\n";
const HOLIDAYS: &str = "# People handbook\n\n## Holidays\n\nEvery employee has twenty-eight days of paid leave a year. \
Ask your manager before booking time off, at least two weeks ahead.\n";
const SECURITY: &str = "# IT handbook\n\n## Passwords\n\nUse a password manager, never reuse a password, and turn on \
two-factor authentication for every account that offers it.\n";

/// Uploads `files` as `token` (form `fields`) and processes them with MiniLM; returns the ids.
async fn ingest(app: &TestApp, token: &str, files: &[(&str, &str)], fields: &[(&str, &str)]) -> Vec<String> {
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(name, text)| (*name, text.as_bytes().to_vec())).collect();
    let (status, answer) = app.upload(token, &files, fields).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    app.work_with(app.pipeline().with_embedder(Arc::new(minilm()))).await;
    answer["documents"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect()
}

/// Uploads `files` as `token` and processes them without an embedder (keyword search only).
async fn ingest_without_vectors(app: &TestApp, token: &str, files: &[(&str, &str)]) {
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(name, text)| (*name, text.as_bytes().to_vec())).collect();
    let (status, answer) = app.upload(token, &files, &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    app.work().await;
}

async fn search(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(token, Method::POST, "/api/v1/search", Some(body)).await
}

fn names(answer: &Value) -> Vec<String> {
    answer["results"].as_array().unwrap().iter().map(|r| r["document"]["name"].as_str().unwrap().to_owned()).collect()
}

async fn hybrid_search_finds_passages_with_their_document_heading_and_highlights(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let ids =
        ingest(&app, &admin, &[("expenses.md", EXPENSES), ("holidays.md", HOLIDAYS), ("security.md", SECURITY)], &[])
            .await;
    let (status, answer) = search(&app, &admin, json!({"query": "How do I get my travel expenses reimbursed?"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["mode"], "hybrid");
    assert!(answer["notice"].is_null());
    let top = &answer["results"][0];
    assert_eq!(top["document"]["name"], "expenses.md", "{answer}");
    assert_eq!(top["document"]["id"].as_str(), Some(ids[0].as_str()));
    assert_eq!(top["document"]["document_type"], "general_document");
    assert!(top["chunk_id"].as_str().is_some_and(|id| id.len() == 36));
    assert_eq!(top["heading"], json!(["Finance handbook"]), "{top}");
    assert!(top["snippet"].as_str().unwrap().contains("<mark>expenses</mark>"), "{top}");
    assert!(top["content"].as_str().unwrap().contains("thirty days"));
    assert!(top["keyword_rank"] == 1 && top["semantic_rank"] == 1, "{top}");
    let scores: Vec<f64> = answer["results"].as_array().unwrap().iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|pair| pair[0] >= pair[1]), "best first: {scores:?}");
    // `limit` caps the results.
    let (_, one) = search(&app, &admin, json!({"query": "handbook", "limit": 1})).await;
    assert_eq!(one["results"].as_array().unwrap().len(), 1);
}

async fn semantic_search_finds_paraphrases_and_keyword_search_exact_words(app: TestApp) {
    let admin = app.superadmin("admin").await;
    ingest(&app, &admin, &[("expenses.md", EXPENSES), ("holidays.md", HOLIDAYS), ("security.md", SECURITY)], &[]).await;
    // No word in common with the holiday passage: only meaning connects them.
    let (status, answer) =
        search(&app, &admin, json!({"query": "vacation allowance for staff", "mode": "semantic", "limit": 3})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["mode"].as_str(), names(&answer)[0].as_str()), (Some("semantic"), "holidays.md"), "{answer}");
    assert!(answer["results"][0]["keyword_rank"].is_null());
    let (_, answer) = search(&app, &admin, json!({"query": "vacation allowance for staff", "mode": "keyword"})).await;
    assert!(names(&answer).is_empty(), "{answer}");
    let (_, answer) = search(&app, &admin, json!({"query": "reuse passwords", "mode": "keyword"})).await;
    assert_eq!(names(&answer), ["security.md"]);
}

async fn search_shows_only_what_the_reader_may_read_and_forgets_deleted_documents(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let member = app.active_user(&admin, "mia").await;
    let shared = ingest(&app, &admin, &[("expenses.md", EXPENSES)], &[]).await;
    ingest(
        &app,
        &member,
        &[("diary.md", "# Diary\n\nMy travel expenses for the trip to Lisbon were high.\n")],
        &[("visibility", "private")],
    )
    .await;
    let query = json!({"query": "travel expenses"});
    let (_, answer) = search(&app, &admin, query.clone()).await;
    assert_eq!(names(&answer), ["expenses.md"], "another member's private document stays hidden");
    let (_, answer) = search(&app, &member, query.clone()).await;
    let mut found = names(&answer);
    found.sort();
    assert_eq!(found, ["diary.md", "expenses.md"]);
    // Filters.
    let (_, answer) = search(&app, &member, json!({"query": "travel expenses", "document_ids": [shared[0]]})).await;
    assert_eq!(names(&answer), ["expenses.md"]);
    let (_, answer) =
        search(&app, &member, json!({"query": "travel expenses", "document_types": ["meeting_minutes"]})).await;
    assert!(names(&answer).is_empty());
    // Deleted: gone from results at once.
    let (status, _) = app.call(&admin, Method::DELETE, &format!("/api/v1/documents/{}", shared[0]), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, answer) = search(&app, &member, query).await;
    assert_eq!(names(&answer), ["diary.md"]);
}

async fn without_an_embedder_hybrid_falls_back_to_keywords_and_bad_input_is_refused(app: TestApp) {
    let admin = app.superadmin("admin").await;
    ingest_without_vectors(&app, &admin, &[("security.md", SECURITY)]).await;
    let (status, answer) = search(&app, &admin, json!({"query": "password manager"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["mode"].as_str(), names(&answer)), (Some("keyword"), vec!["security.md".to_owned()]));
    assert!(answer["notice"].as_str().unwrap().contains("keyword search only"));
    for (body, field) in [
        (json!({"query": "x", "mode": "semantic"}), "mode"),
        (json!({"query": "  "}), "query"),
        (json!({"query": "x".repeat(2_001)}), "query"),
        (json!({"query": "x", "limit": 0}), "limit"),
        (json!({"query": "x", "limit": 101}), "limit"),
        (json!({"query": "x", "mode": "fuzzy"}), "mode"),
        (json!({"query": "x", "document_types": ["memo"]}), "document_types"),
        (json!({"query": "x", "project_ids": vec![uuid::Uuid::nil(); 101]}), "project_ids"),
        (json!({"query": "x", "document_ids": vec![uuid::Uuid::nil(); 1001]}), "document_ids"),
        (
            json!({"query": "x", "created_after": "2026-01-02T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"}),
            "created_before",
        ),
    ] {
        let (status, error) = search(&app, &admin, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {error}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let (status, error) = search(&app, &admin, json!({"query": "x", "unknown": 1})).await;
    assert!(status.is_client_error() && error["error"]["message"].is_string(), "{status} {error}");
    let response = app.post_json("/api/v1/search", &json!({"query": "password"})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_reranker_orders_the_results_sqlite() {
    a_configured_reranker_orders_the_results(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_reranker_orders_the_results_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    a_configured_reranker_orders_the_results(db).await;
}

/// A `/v1/rerank` server (the stub scores a passage by how often it says "password")
/// re-orders the first `rerank_depth` results and its scores are the results' scores; a
/// reranker that cannot be reached leaves the first-stage order, with a notice.
async fn a_configured_reranker_orders_the_results(db: TestDb) {
    let stub = StubReranker::start("password", 0).await;
    let base_url = stub.base_url.clone();
    let app = TestApp::spawn_with(db, move |config| {
        config.rerank_base_url = Some(base_url);
        config.rerank_model = Some(RERANK_MODEL.to_owned());
        config.rerank_depth = 3;
    })
    .await;
    let admin = app.superadmin("admin").await;
    let files = [("expenses.md", EXPENSES), ("holidays.md", HOLIDAYS), ("security.md", SECURITY)];
    ingest_without_vectors(&app, &admin, &files).await;
    // "every" is in all three passages, "days" in the other two (which BM25 therefore
    // ranks above it); the reranker puts the password passage first.
    let (status, answer) = search(&app, &admin, json!({"query": "every days", "limit": 2})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(names(&answer)[0], "security.md", "{answer}");
    assert_eq!(names(&answer).len(), 2, "limit still applies: {answer}");
    for result in answer["results"].as_array().unwrap() {
        let expected = occurrences(result["content"].as_str().unwrap(), "password") as f64;
        assert_eq!(result["score"].as_f64(), Some(expected), "{result}");
    }
    assert!(answer["results"][0]["score"].as_f64().unwrap() > 0.0);
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0]["query"].as_str(), requests[0]["model"].as_str()),
        (Some("every days"), Some(RERANK_MODEL))
    );
    assert_eq!(requests[0]["documents"].as_array().unwrap().len(), 3, "the first rerank_depth results");
}

/// A reranker nobody answers for: the search still answers, in first-stage order, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reranker_that_is_down_leaves_the_first_stage_order() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = TestApp::spawn_with(TestDb::sqlite().await, move |config| {
        config.rerank_base_url = Some(format!("http://127.0.0.1:{port}/v1"));
        config.rerank_model = Some(RERANK_MODEL.to_owned());
    })
    .await;
    let admin = app.superadmin("admin").await;
    ingest_without_vectors(&app, &admin, &[("security.md", SECURITY)]).await;
    let (status, answer) = search(&app, &admin, json!({"query": "password manager"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(names(&answer), ["security.md"], "{answer}");
    assert!(answer["notice"].as_str().unwrap().contains("reranker failed"), "{answer}");
}
