//! The OpenAI-compatible API over a socket, on SQLite and PostgreSQL: `/v1/models`,
//! `/v1/chat/completions` (streamed and not, by model or persona, citations in the extension
//! field), `/v1/embeddings`, and the same driven by the official `openai` Python package.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_models::chat::ChatModel;
use tome_models::embed::Embedder;
use tome_testkit::llm::{Script, StubLlm};
use tome_testkit::{TestApp, TestDb};

macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, llm) = super::spawn(tome_testkit::TestDb::sqlite().await).await;
                super::$name(app, llm).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = tome_testkit::TestDb::postgres().await else { return };
                let (app, llm) = super::spawn(db).await;
                super::$name(app, llm).await;
            }
        }
    )*};
}

both!(the_v1_api_answers_lists_and_embeds_for_api_keys, the_official_openai_client_works_unchanged);

mod a_tenant_past_its_daily_tokens_is_refused_until_midnight {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_tenant_past_its_daily_tokens_is_refused_until_midnight(tome_testkit::TestDb::sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = tome_testkit::TestDb::postgres().await else { return };
        super::a_tenant_past_its_daily_tokens_is_refused_until_midnight(db).await;
    }
}

/// With `quota_tokens_per_day` = 60 and a model that spends 49 tokens a call, the second call
/// is admitted (49 < 60) and the third refused with 429, `Retry-After` until midnight UTC —
/// on the OpenAI-compatible API and in conversations alike; another tenant keeps its own day.
async fn a_tenant_past_its_daily_tokens_is_refused_until_midnight(db: TestDb) {
    let llm = StubLlm::start(Script::answer(&["Fine."])).await;
    let model: Arc<dyn ChatModel> = Arc::new(llm.model("stub-model"));
    let app = TestApp::spawn_with_chat_configured(db, |c| c.quota_tokens_per_day = Some(60), vec![model]).await;
    let admin = app.superadmin("admin").await;
    let question = json!({"model": "stub-model", "messages": [{"role": "user", "content": "Hello?"}]});
    for _ in 0..2 {
        let (status, body) = app.call(&admin, Method::POST, "/v1/chat/completions", Some(question.clone())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let refused =
        app.client.post(app.url("/v1/chat/completions")).bearer_auth(&admin).json(&question).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quota_exceeded", "{body}");

    let (status, conversation) =
        app.call(&admin, Method::POST, "/api/v1/conversations", Some(json!({"title": "Late"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{conversation}");
    let path = format!("/api/v1/conversations/{}/messages", conversation["id"].as_str().unwrap());
    let (status, body) = app.call(&admin, Method::POST, &path, Some(json!({"content": "Still there?"}))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (_, thread) = app.get_as(&admin, &path).await;
    assert_eq!(thread["items"].as_array().map(Vec::len), Some(0), "a refused turn stores nothing: {thread}");
    assert_eq!(llm.requests().len(), 2, "the model was not asked past the quota");

    let (status, other) =
        app.call(&admin, Method::POST, "/api/v1/tenants", Some(json!({"name": "Other", "slug": "other"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let elsewhere = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(&admin)
        .header("x-tenant", "other")
        .json(&question)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::OK, "another tenant's day is its own");
}

async fn spawn(db: TestDb) -> (TestApp, StubLlm) {
    let llm = StubLlm::start(Script::answer(&["Rockets burn ", "kerosene [1", "] and more [7]."])).await;
    let model: Arc<dyn ChatModel> = Arc::new(llm.model("stub-model"));
    let embedder: Arc<dyn Embedder> = Arc::new(tome_testkit::minilm());
    (TestApp::spawn_with_chat(db, Some(embedder), vec![model]).await, llm)
}

const ROCKETS: &str = "# Rocket handbook\n\n## Fuel\n\nThe first stage burns kerosene with liquid oxygen. \
The upper stage burns liquid hydrogen.\n\n## Crew\n\nThe crew of three trains for two years.\n";

/// An API key that may chat and read documents, after uploading the rocket handbook and a
/// persona `rocket-guide`.
async fn setup(app: &TestApp) -> String {
    let admin = app.superadmin("admin").await;
    let (status, answer) = app.upload(&admin, &[("rockets.md", ROCKETS.as_bytes().to_vec())], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    app.work().await;
    let persona = json!({"name": "rocket-guide", "display_name": "Rocket guide", "model": "stub-model",
                         "system_prompt": "You are the rocket guide."});
    let (status, created) = app.call(&admin, Method::POST, "/api/v1/personas", Some(persona)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let body = json!({"name": "client", "permissions": ["chat.use", "documents.read"]});
    let (status, key) = app.call(&admin, Method::POST, "/api/v1/api-keys", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    key["key"].as_str().unwrap().to_owned()
}

/// The JSON values of an OpenAI stream's `data:` lines, up to (not including) `[DONE]`.
fn data_lines(body: &str) -> (Vec<Value>, bool) {
    let mut values = Vec::new();
    for line in body.lines().filter_map(|line| line.strip_prefix("data:")).map(str::trim) {
        if line == "[DONE]" {
            return (values, true);
        }
        values.push(serde_json::from_str(line).unwrap());
    }
    (values, false)
}

async fn the_v1_api_answers_lists_and_embeds_for_api_keys(app: TestApp, llm: StubLlm) {
    let key = setup(&app).await;
    let (status, models) = app.get_as(&key, "/v1/models").await;
    assert_eq!(status, StatusCode::OK, "{models}");
    let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids[..2], ["stub-model", "extractive"], "{models}");
    assert!(ids.contains(&"rocket-guide"), "{models}");

    let question = json!([{"role": "user", "content": "What does the first stage burn?"}]);
    let (status, completion) =
        app.call(&key, Method::POST, "/v1/chat/completions", Some(json!({"messages": question}))).await;
    assert_eq!(status, StatusCode::OK, "{completion}");
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["choices"][0]["message"]["content"], "Rockets burn kerosene [1] and more.");
    assert_eq!(completion["usage"]["total_tokens"], 49);
    let citation = &completion["citations"][0];
    assert_eq!((citation["number"].as_u64(), citation["cited"].as_bool()), (Some(1), Some(true)), "{completion}");
    assert_eq!(citation["document_name"], "rockets.md");

    // A persona's system prompt leads the model's instructions; the client's system message follows.
    let body = json!({"model": "rocket-guide", "messages": [
        {"role": "system", "content": "Answer in one line."},
        {"role": "user", "content": [{"type": "text", "text": "What does the upper stage burn?"}]}]});
    let (status, completion) = app.call(&key, Method::POST, "/v1/chat/completions", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{completion}");
    assert_eq!(completion["model"], "rocket-guide");
    let sent = llm.requests().last().unwrap().clone();
    let system = sent["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("You are the rocket guide.") && system.contains("Answer in one line."), "{system}");
    assert_eq!(sent["messages"].as_array().unwrap().last().unwrap()["content"], "What does the upper stage burn?");

    // Streamed: chunks, citations on the first and last, usage when asked, then [DONE].
    let body = json!({"messages": question, "stream": true, "stream_options": {"include_usage": true}});
    let response = app.client.post(app.url("/v1/chat/completions")).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (chunks, done) = data_lines(&response.text().await.unwrap());
    assert!(done, "the stream ends with [DONE]");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[0]["citations"][0]["document_name"], "rockets.md");
    let text: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect::<Vec<_>>().concat();
    assert_eq!(text, "Rockets burn kerosene [1] and more.");
    let finish = chunks.iter().find(|c| c["choices"][0]["finish_reason"] == "stop").unwrap();
    assert_eq!(finish["citations"][0]["cited"], true);
    assert_eq!(chunks.last().unwrap()["usage"]["prompt_tokens"], 42);

    // Embeddings from the model Tome indexes with.
    let body = json!({"input": ["kerosene", "oxygen"], "model": "all-MiniLM-L6-v2"});
    let (status, vectors) = app.call(&key, Method::POST, "/v1/embeddings", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{vectors}");
    assert_eq!(vectors["data"].as_array().unwrap().len(), 2);
    assert_eq!(vectors["data"][1]["embedding"].as_array().unwrap().len(), 384);
    // The base64 encoding the OpenAI clients ask for by default: the same f32s, little-endian.
    let body = json!({"input": ["kerosene", "oxygen"], "encoding_format": "base64"});
    let (status, encoded) = app.call(&key, Method::POST, "/v1/embeddings", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{encoded}");
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        encoded["data"][1]["embedding"].as_str().unwrap(),
    )
    .unwrap();
    let decoded: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let floats: Vec<f32> =
        vectors["data"][1]["embedding"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    assert_eq!(decoded, floats);

    // Bad input: a clear 4xx naming the field.
    for (path, body) in [
        ("/v1/chat/completions", json!({"messages": []})),
        ("/v1/chat/completions", json!({"messages": [{"role": "tool", "content": "x"}]})),
        ("/v1/chat/completions", json!({"messages": question, "n": 2})),
        ("/v1/chat/completions", json!({"messages": question, "model": "nope"})),
        ("/v1/chat/completions", json!({"messages": question, "temperature": 9})),
        ("/v1/chat/completions", json!({"messages": [{"role": "user", "content": ""}]})),
        ("/v1/embeddings", json!({"input": []})),
        ("/v1/embeddings", json!({"input": "x", "model": "other"})),
        ("/v1/embeddings", json!({"input": [1, 2]})),
    ] {
        let (status, error) = app.call(&key, Method::POST, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {error}");
        assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{error}");
    }
    // Without a key: 401.
    let response = app.client.get(app.url("/v1/models")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A key without chat.use: 403.
    let admin = app.login("admin", tome_testkit::PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let body = json!({"name": "reader", "permissions": ["documents.read"]});
    let (_, reader) = app.call(&admin, Method::POST, "/api/v1/api-keys", Some(body)).await;
    let (status, _) = app.get_as(reader["key"].as_str().unwrap(), "/v1/models").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The Python with the `openai` package: `TOME_TEST_PYTHON`, else what `scripts/python`
/// installs. Panics, saying how to get it, when neither exists.
fn python() -> PathBuf {
    let path = std::env::var_os("TOME_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/venv/bin/python"));
    assert!(path.is_file(), "no Python with openai at {}: run `scripts/python` (scripts/test does)", path.display());
    path
}

async fn the_official_openai_client_works_unchanged(app: TestApp, _llm: StubLlm) {
    let key = setup(&app).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/openai_client.py");
    let mut command = std::process::Command::new(python());
    command.arg(script).env("OPENAI_BASE_URL", app.url("/v1")).env("OPENAI_API_KEY", &key);
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the openai client failed:\n{stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["answer"], "Rockets burn kerosene [1] and more.", "{summary}");
    assert_eq!(summary["streamed"], summary["answer"], "{summary}");
    assert!(summary["stream_chunks"].as_u64().unwrap() >= 4, "{summary}");
    assert_eq!(summary["usage"], json!([42, 7]));
    assert_eq!(summary["stream_usage"], json!([42, 7]));
    assert_eq!(summary["citations"][0], json!([1, "rockets.md", true]), "{summary}");
    assert_eq!(summary["stream_cited"], json!([1]));
    assert_eq!(summary["persona_answer"], summary["answer"]);
    assert_eq!(summary["embeddings"], json!([384, 384]));
    assert!(summary["models"].as_array().unwrap().contains(&json!("rocket-guide")), "{summary}");
    assert_eq!(summary["unknown_model"], 422);
    assert_eq!(summary["bad_key"], 401);
}
