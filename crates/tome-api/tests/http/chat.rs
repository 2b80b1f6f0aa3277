//! Chat end to end over a socket, on SQLite and PostgreSQL: conversations, grounded answers
//! with citations (extractive, and from a loopback server speaking the OpenAI streaming
//! protocol), SSE, branching, regeneration, provider failure, feedback, usage,
//! personas and objects.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_models::chat::ChatModel;
use tome_testkit::llm::{Script, StubLlm};
use tome_testkit::{TestApp, TestDb};

/// Runs each case on both backends with a fresh stub LLM as the default model.
macro_rules! with_stub {
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

with_stub!(
    a_streamed_answer_arrives_as_events_with_citations_and_is_stored,
    editing_and_regenerating_make_branches_the_client_can_switch,
    a_failing_model_keeps_the_question_and_stores_the_error,
    feedback_is_one_editable_rating_and_admins_export_and_sum_usage,
    personas_set_the_prompt_and_only_their_owners_change_them,
    the_model_searches_and_creates_objects_through_tools,
    a_server_without_tools_is_asked_again_without_them,
);

tome_testkit::app_tests!(
    without_a_model_the_extractive_answerer_quotes_and_cites,
    conversations_are_private_listed_archived_and_deleted,
    objects_are_stored_changed_and_downloaded_as_scad,
);

mod the_local_gguf_model_answers_from_the_passages {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::the_local_gguf_model_answers_from_the_passages(tome_testkit::TestDb::sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = tome_testkit::TestDb::postgres().await else { return };
        super::the_local_gguf_model_answers_from_the_passages(db).await;
    }
}

/// SmolLM2-135M run in-process answers a streamed question briefly (a persona caps it at 32
/// tokens), from the handbook's passages, and the answer is stored with its usage.
async fn the_local_gguf_model_answers_from_the_passages(db: TestDb) {
    let model: Arc<dyn ChatModel> = Arc::new(tome_testkit::smollm());
    let name = model.name().to_owned();
    let app = TestApp::spawn_with_chat(db, None, vec![model]).await;
    let admin = with_handbook(&app).await;
    let persona = json!({"name": "brief", "model": name, "max_tokens": 32, "default_temperature": 0.0,
                         "system_prompt": "Answer in one short sentence from the passages."});
    let (status, persona) = app.call(&admin, Method::POST, "/api/v1/personas", Some(persona)).await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    let id = conversation(&app, &admin, json!({"persona_id": persona["id"]})).await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let (_, events) =
        stream(&app, &admin, &path, json!({"content": "What does the first stage burn?", "stream": true})).await;
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names[..2], ["message", "sources"], "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert!(names.iter().filter(|n| **n == "delta").count() >= 1, "{names:?}");
    let done = &events.last().unwrap().1;
    let answer = &done["message"];
    assert_eq!(answer["model"], name.as_str());
    assert!(!answer["content"].as_str().unwrap().trim().is_empty(), "{answer}");
    let written = done["usage"]["output_tokens"].as_u64().unwrap();
    assert!((1..=32).contains(&written), "{done}");
    assert!(done["usage"]["input_tokens"].as_u64().unwrap() > 50, "{done}");
    assert_eq!(answer["source_references"][0]["document_name"], "rockets.md");
    // Stored as streamed.
    let thread = thread(&app, &admin, &id).await;
    let stored = thread["items"].as_array().unwrap().iter().find(|m| m["id"] == answer["id"]).unwrap().clone();
    assert_eq!(stored["content"], answer["content"]);
    assert_eq!(stored["output_tokens"].as_u64(), Some(written));
}

pub(crate) async fn spawn(db: TestDb) -> (TestApp, StubLlm) {
    let llm = StubLlm::start(Script::answer(&["Rockets burn ", "kerosene [1", "] and more [7]."])).await;
    let model: Arc<dyn ChatModel> = Arc::new(llm.model("stub-model"));
    (TestApp::spawn_with_chat(db, None, vec![model]).await, llm)
}

const ROCKETS: &str = "# Rocket handbook\n\n## Fuel\n\nThe first stage burns kerosene with liquid oxygen. \
The upper stage burns liquid hydrogen.\n\n## Crew\n\nThe crew of three trains for two years.\n";

/// The superadmin's token after uploading and processing the rocket handbook.
pub(crate) async fn with_handbook(app: &TestApp) -> String {
    let admin = app.superadmin("admin").await;
    let (status, answer) = app.upload(&admin, &[("rockets.md", ROCKETS.as_bytes().to_vec())], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    app.work().await;
    admin
}

pub(crate) async fn conversation(app: &TestApp, token: &str, body: Value) -> String {
    let (status, created) = app.call(token, Method::POST, "/api/v1/conversations", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn ask(app: &TestApp, token: &str, conversation: &str, body: Value) -> (StatusCode, Value) {
    app.call(token, Method::POST, &format!("/api/v1/conversations/{conversation}/messages"), Some(body)).await
}

pub(crate) async fn thread(app: &TestApp, token: &str, conversation: &str) -> Value {
    let (status, thread) = app.get_as(token, &format!("/api/v1/conversations/{conversation}/messages")).await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    thread
}

/// The events of a whole SSE body: (event name, JSON data).
pub(crate) fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            Some((name?, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

async fn stream(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Value,
) -> (reqwest::header::HeaderMap, Vec<(String, Value)>) {
    let response = app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    if status != StatusCode::OK {
        panic!("{status}: {}", response.text().await.unwrap_or_default());
    }
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (headers, events(&text))
}

async fn without_a_model_the_extractive_answerer_quotes_and_cites(app: TestApp) {
    let admin = with_handbook(&app).await;
    let id = conversation(&app, &admin, json!({})).await;
    let (status, turn) = ask(&app, &admin, &id, json!({"content": "Which fuel does the first stage burn?"})).await;
    assert_eq!(status, StatusCode::CREATED, "{turn}");
    let answer = &turn["assistant_message"];
    let text = answer["content"].as_str().unwrap();
    assert!(text.starts_with("This is an extractive answer"), "{text}");
    assert!(text.contains("The first stage burns kerosene with liquid oxygen.\" [1]"), "{text}");
    assert_eq!(answer["model"], "extractive");
    let source = &answer["source_references"][0];
    assert_eq!((source["number"].as_u64(), source["document_name"].as_str()), (Some(1), Some("rockets.md")));
    assert_eq!(source["cited"], true);
    assert!(source["snippet"].as_str().unwrap().contains("<mark>"), "{source}");
    assert!(answer["metadata"]["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(answer["output_tokens"].as_i64().unwrap() > 0);
    // The question names the conversation.
    let (_, conversation) = app.get_as(&admin, &format!("/api/v1/conversations/{id}")).await;
    assert_eq!(conversation["title"], "Which fuel does the first stage burn?");
    let thread = thread(&app, &admin, &id).await;
    assert_eq!(thread["items"].as_array().unwrap().len(), 2);
    assert_eq!(thread["selected_path"].as_array().unwrap().len(), 2);
    // Bad input is refused and stores nothing.
    for bad in [json!({"content": ""}), json!({"content": "x".repeat(10_001)}), json!({"content": 5}), json!({})] {
        let (status, error) = ask(&app, &admin, &id, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    }
    assert_eq!(thread_len(&app, &admin, &id).await, 2);
}

async fn thread_len(app: &TestApp, token: &str, id: &str) -> usize {
    thread(app, token, id).await["items"].as_array().unwrap().len()
}

async fn a_streamed_answer_arrives_as_events_with_citations_and_is_stored(app: TestApp, llm: StubLlm) {
    let admin = with_handbook(&app).await;
    let id = conversation(&app, &admin, json!({})).await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let (headers, events) =
        stream(&app, &admin, &path, json!({"content": "What fuel does the first stage burn?", "stream": true})).await;
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"message"), "{names:?}");
    assert_eq!(names.get(1), Some(&"sources"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert!(names[2..names.len() - 1].iter().all(|name| *name == "delta"), "{names:?}");
    let streamed: String =
        events.iter().filter(|(n, _)| n == "delta").map(|(_, d)| d["text"].as_str().unwrap()).collect();
    // The marker that points nowhere ([7]) is gone; [1] stays.
    assert_eq!(streamed, "Rockets burn kerosene [1] and more.");
    let done = &events.last().unwrap().1;
    assert_eq!(done["message"]["content"], streamed.as_str());
    assert_eq!(done["message"]["model"], "stub-model");
    assert_eq!((done["usage"]["input_tokens"].as_u64(), done["usage"]["output_tokens"].as_u64()), (Some(42), Some(7)));
    assert_eq!(events[1].1["sources"][0]["document_name"], "rockets.md");
    assert_eq!(done["message"]["source_references"][0]["cited"], true);
    // The model saw the passage, numbered, and the question last.
    let request = llm.requests().into_iter().next().unwrap();
    let system = request["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("[1] rockets.md") && system.contains("kerosene with liquid oxygen"), "{system}");
    assert_eq!(
        request["messages"].as_array().unwrap().last().unwrap()["content"],
        "What fuel does the first stage burn?"
    );
    assert_eq!(request["stream"], true);
    // After the first exchange the model names the conversation.
    let mut title = Value::Null;
    for _ in 0..50 {
        title = app.get_as(&admin, &format!("/api/v1/conversations/{id}")).await.1["title"].clone();
        if title == "Rocket Fuel Basics" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(title, "Rocket Fuel Basics");
}

async fn editing_and_regenerating_make_branches_the_client_can_switch(app: TestApp, llm: StubLlm) {
    let admin = with_handbook(&app).await;
    let id = conversation(&app, &admin, json!({"title": "Rockets"})).await;
    let (_, first) = ask(&app, &admin, &id, json!({"content": "What does the first stage burn?"})).await;
    let (_, second) = ask(&app, &admin, &id, json!({"content": "And the upper stage?"})).await;
    // The second question came with the first exchange as history.
    let request = llm.requests().last().unwrap().clone();
    let contents: Vec<&str> =
        request["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(
        contents[1..],
        ["What does the first stage burn?", "Rockets burn kerosene [1] and more.", "And the upper stage?"]
    );
    let answer = second["assistant_message"]["id"].as_str().unwrap().to_owned();
    let question = second["user_message"]["id"].as_str().unwrap().to_owned();
    // Regenerate: a sibling answer under the same question, now shown.
    llm.set_script(Script::answer(&["Liquid hydrogen [1]."]));
    let (status, again) = app.call(&admin, Method::POST, &format!("/api/v1/messages/{answer}/regenerate"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["assistant_message"]["parent_id"], question.as_str());
    assert_eq!(again["assistant_message"]["content"], "Liquid hydrogen [1].");
    let path = thread(&app, &admin, &id).await["selected_path"].clone();
    assert_eq!(path.as_array().unwrap().last().unwrap(), &again["assistant_message"]["id"]);
    // Edit the second question: a sibling of it, with its own answer.
    let (status, edited) = ask(&app, &admin, &id, json!({"content": "And the crew?", "edit_of": question})).await;
    assert_eq!(status, StatusCode::CREATED, "{edited}");
    assert_eq!(edited["user_message"]["parent_id"], first["assistant_message"]["id"]);
    let shown = thread(&app, &admin, &id).await;
    assert_eq!(shown["items"].as_array().unwrap().len(), 7);
    assert_eq!(shown["selected_path"].as_array().unwrap().len(), 4);
    assert_eq!(shown["selected_path"][2], edited["user_message"]["id"]);
    // Switch back to the first answer of the original question.
    let patch = json!({"current_message_id": answer});
    let (status, _) = app.call(&admin, Method::PATCH, &format!("/api/v1/conversations/{id}"), Some(patch)).await;
    assert_eq!(status, StatusCode::OK);
    let shown = thread(&app, &admin, &id).await;
    assert_eq!(shown["selected_path"][2], question.as_str());
    assert_eq!(shown["selected_path"][3], answer.as_str());
    // Regenerating a question, or a message of another conversation, is refused.
    let (status, _) = app.call(&admin, Method::POST, &format!("/api/v1/messages/{question}/regenerate"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let other = conversation(&app, &admin, json!({})).await;
    let (status, _) = ask(&app, &admin, &other, json!({"content": "x", "parent_id": answer})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_failing_model_keeps_the_question_and_stores_the_error(app: TestApp, llm: StubLlm) {
    let admin = with_handbook(&app).await;
    // Two failures, then an answer: retried before the first token.
    llm.set_script(Script { failures: 2, ..Script::answer(&["Kerosene [1]."]) });
    let id = conversation(&app, &admin, json!({"title": "Fuel"})).await;
    let (status, turn) = ask(&app, &admin, &id, json!({"content": "What fuel?"})).await;
    assert_eq!(status, StatusCode::CREATED, "{turn}");
    assert_eq!(turn["assistant_message"]["content"], "Kerosene [1].");
    assert_eq!(llm.attempts(), 3);
    // Always failing: the question stays, the answer carries the error.
    llm.set_script(Script { always_fail: true, ..Script::answer(&[]) });
    let (status, turn) = ask(&app, &admin, &id, json!({"content": "Which oxidiser?"})).await;
    assert_eq!(status, StatusCode::CREATED, "{turn}");
    assert!(turn["error"].as_str().unwrap().contains("500"), "{turn}");
    assert!(turn["assistant_message"]["error"].as_str().unwrap().contains("500"), "{turn}");
    assert_eq!(turn["user_message"]["content"], "Which oxidiser?");
    let path = format!("/api/v1/conversations/{id}/messages");
    let (_, events) = stream(&app, &admin, &path, json!({"content": "Still there?", "stream": true})).await;
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["error"]["code"], "model_failed");
    assert_eq!(data["message"]["role"], "assistant");
    let contents: Vec<Value> =
        thread(&app, &admin, &id).await["items"].as_array().unwrap().iter().map(|m| m["content"].clone()).collect();
    assert!(contents.contains(&json!("Which oxidiser?")) && contents.contains(&json!("Still there?")));
    assert_eq!(contents.len(), 6);
}

async fn feedback_is_one_editable_rating_and_admins_export_and_sum_usage(app: TestApp, _llm: StubLlm) {
    let admin = with_handbook(&app).await;
    let member = app.active_user(&admin, "mia").await;
    let id = conversation(&app, &member, json!({})).await;
    let (_, turn) = ask(&app, &member, &id, json!({"content": "What fuel?"})).await;
    let answer = turn["assistant_message"]["id"].as_str().unwrap().to_owned();
    let question = turn["user_message"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/messages/{answer}/feedback");
    let (status, rated) = app.call(&member, Method::PUT, &path, Some(json!({"thumbs": "up"}))).await;
    assert_eq!((status, rated["rating"].as_i64()), (StatusCode::OK, Some(5)), "{rated}");
    let correction = json!({"rating": 2, "comment": "incomplete", "correction": "Kerosene and liquid oxygen."});
    let (status, rated) = app.call(&member, Method::PUT, &path, Some(correction)).await;
    assert_eq!((status, rated["rating"].as_i64()), (StatusCode::OK, Some(2)), "{rated}");
    for bad in [json!({"rating": 7}), json!({"thumbs": "sideways"}), json!({}), json!({"rating": 5, "thumbs": "up"})] {
        let (status, error) = app.call(&member, Method::PUT, &path, Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    }
    let (status, _) = app
        .call(&member, Method::PUT, &format!("/api/v1/messages/{question}/feedback"), Some(json!({"rating": 3})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another member cannot see the message at all.
    let other = app.active_user(&admin, "otto").await;
    let (status, _) = app.call(&other, Method::PUT, &path, Some(json!({"rating": 1}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // One rating per user and message.
    let (status, list) = app.get_as(&admin, "/api/v1/feedback?max_rating=3").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["question"], "What fuel?");
    assert_eq!(list["items"][0]["answer"], "Rockets burn kerosene [1] and more.");
    let response = app
        .client
        .get(app.url("/api/v1/feedback/export?with_correction=true"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> =
        response.text().await.unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["correction"], "Kerosene and liquid oxygen.");
    let (status, _) = app.get_as(&member, "/api/v1/feedback").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Usage: the stub's 42 + 7 tokens per answer (the title request is not an answer).
    let (status, usage) = app.get_as(&admin, "/api/v1/usage?group_by=user,model,day").await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(usage["items"].as_array().unwrap().len(), 1, "{usage}");
    assert_eq!(usage["items"][0]["model"], "stub-model");
    assert_eq!((usage["total_input_tokens"].as_u64(), usage["total_output_tokens"].as_u64()), (Some(42), Some(7)));
    let (status, _) = app.get_as(&admin, "/api/v1/usage?group_by=week").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.get_as(&member, "/api/v1/usage").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn personas_set_the_prompt_and_only_their_owners_change_them(app: TestApp, llm: StubLlm) {
    let admin = with_handbook(&app).await;
    let member = app.active_user(&admin, "mia").await;
    let mine = json!({"name": "pirate", "system_prompt": "Talk like a pirate.", "default_temperature": 1.3,
                      "max_tokens": 300, "model": "stub-model"});
    let (status, persona) = app.call(&member, Method::POST, "/api/v1/personas", Some(mine)).await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    let persona_id = persona["id"].as_str().unwrap().to_owned();
    for (bad, status_wanted) in [
        (json!({"name": "Bad Name", "system_prompt": ""}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"name": "hot", "default_temperature": 3.0}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"name": "long", "max_tokens": 5000, "model": "stub-model"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"name": "nomodel", "model": "gpt-9"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"name": "shared", "shared": true}), StatusCode::FORBIDDEN),
        (json!({"name": "pirate"}), StatusCode::CONFLICT),
    ] {
        let (status, error) = app.call(&member, Method::POST, "/api/v1/personas", Some(bad)).await;
        assert_eq!(status, status_wanted, "{error}");
    }
    // The tenant's default persona is read-only to members; others' own personas are hidden.
    let (_, list) = app.get_as(&member, "/api/v1/personas").await;
    let default = list["items"].as_array().unwrap().iter().find(|p| p["name"] == "default").unwrap().clone();
    let path = format!("/api/v1/personas/{}", default["id"].as_str().unwrap());
    let (status, _) = app.call(&member, Method::PATCH, &path, Some(json!({"system_prompt": "x"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = app.active_user(&admin, "otto").await;
    let (status, _) = app.get_as(&other, &format!("/api/v1/personas/{persona_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Names are unique per owner: a 409 never tells that someone else has a private "pirate".
    let parrot = json!({"name": "pirate", "system_prompt": "Talk like a parrot.", "model": "stub-model"});
    let (status, body) = app.call(&other, Method::POST, "/api/v1/personas", Some(parrot)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let shared = json!({"name": "pirate", "shared": true, "system_prompt": "Talk like a captain."});
    let (status, body) = app.call(&admin, Method::POST, "/api/v1/personas", Some(shared.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, error) = app.call(&admin, Method::POST, "/api/v1/personas", Some(shared)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let (_, error) = app.call(&other, Method::POST, "/api/v1/personas", Some(json!({"name": "pirate"}))).await;
    assert_eq!(error["error"]["message"], "you already have a persona with this name", "{error}");
    // By name, a person's own persona comes before the shared one.
    let question = json!({"model": "pirate", "messages": [{"role": "user", "content": "Hello?"}]});
    let (status, body) = app.call(&other, Method::POST, "/v1/chat/completions", Some(question)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let request = llm.requests().last().unwrap().clone();
    assert!(request["messages"][0]["content"].as_str().unwrap().starts_with("Talk like a parrot."), "{request}");
    // A conversation with the persona answers with its prompt and settings.
    let id = conversation(&app, &member, json!({"persona_id": persona_id, "title": "Arr"})).await;
    let (status, _) = ask(&app, &member, &id, json!({"content": "What fuel?"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let request = llm.requests().last().unwrap().clone();
    assert!(request["messages"][0]["content"].as_str().unwrap().starts_with("Talk like a pirate."));
    assert_eq!((request["temperature"].as_f64(), request["max_tokens"].as_u64()), (Some(1.3), Some(300)));
    let (status, changed) = app
        .call(&member, Method::PATCH, &format!("/api/v1/personas/{persona_id}"), Some(json!({"max_tokens": 100})))
        .await;
    assert_eq!((status, changed["max_tokens"].as_i64()), (StatusCode::OK, Some(100)), "{changed}");
    let (status, _) = app.call(&member, Method::DELETE, &format!("/api/v1/personas/{persona_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn conversations_are_private_listed_archived_and_deleted(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let member = app.active_user(&admin, "mia").await;
    let budget = conversation(&app, &member, json!({"title": "Budget 2027"})).await;
    let rockets = conversation(&app, &member, json!({"title": "Rocket fuel"})).await;
    let (_, list) = app.get_as(&member, "/api/v1/conversations").await;
    let titles: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Rocket fuel", "Budget 2027"]);
    let (_, found) = app.get_as(&member, "/api/v1/conversations?q=BUDGET").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    // Activity moves a conversation to the top.
    ask(&app, &member, &budget, json!({"content": "hello"})).await;
    let (_, list) = app.get_as(&member, "/api/v1/conversations?limit=1").await;
    assert_eq!(list["items"][0]["id"], budget.as_str());
    let (_, next) = app
        .get_as(&member, &format!("/api/v1/conversations?limit=1&cursor={}", list["next_cursor"].as_str().unwrap()))
        .await;
    assert_eq!(next["items"][0]["id"], rockets.as_str());
    // Archive, rename; others (even the superadmin) see nothing.
    let path = format!("/api/v1/conversations/{rockets}");
    let (status, changed) =
        app.call(&member, Method::PATCH, &path, Some(json!({"archived": true, "title": "Fuel"}))).await;
    assert_eq!((status, changed["status"].as_str()), (StatusCode::OK, Some("archived")), "{changed}");
    let (_, archived) = app.get_as(&member, "/api/v1/conversations?status=archived").await;
    assert_eq!(archived["items"][0]["title"], "Fuel");
    let (status, _) = app.get_as(&admin, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ask(&app, &admin, &rockets, json!({"content": "hi"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in [json!({"title": "x".repeat(256)}), json!({"model": "gpt-9"}), json!({"title": ""})] {
        let (status, error) = app.call(&member, Method::POST, "/api/v1/conversations", Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    }
    let unknown = json!({"persona_id": uuid::Uuid::now_v7()});
    let (status, _) = app.call(&member, Method::POST, "/api/v1/conversations", Some(unknown)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Delete: gone at once, purged by the worker.
    let (status, _) = app.call(&member, Method::DELETE, &format!("/api/v1/conversations/{budget}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get_as(&member, &format!("/api/v1/conversations/{budget}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.work().await;
    let tenant = tome_domain::repo::TenantRepo::get_tenant_by_slug(&app.db.store, "default").await.unwrap();
    let gone = tome_domain::repo::ChatRepo::get_conversation(
        &app.db.store,
        tenant.id,
        tome_domain::ConversationId(budget.parse().unwrap()),
    )
    .await;
    assert!(matches!(gone, Err(tome_domain::DomainError::NotFound(_))), "{gone:?}");
}

async fn objects_are_stored_changed_and_downloaded_as_scad(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let member = app.active_user(&admin, "mia").await;
    let body = json!({"name": "bracket", "source": "cube([10, 20, 3]);"});
    let (status, object) = app.call(&member, Method::POST, "/api/v1/objects", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{object}");
    let id = object["id"].as_str().unwrap();
    let (status, changed) =
        app.call(&member, Method::PATCH, &format!("/api/v1/objects/{id}"), Some(json!({"source": "sphere(5);"}))).await;
    assert_eq!((status, changed["source"].as_str()), (StatusCode::OK, Some("sphere(5);")));
    let response =
        app.client.get(app.url(&format!("/api/v1/objects/{id}/download"))).bearer_auth(&member).send().await.unwrap();
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"bracket.scad\"");
    assert_eq!(response.text().await.unwrap(), "sphere(5);");
    let (status, _) =
        app.call(&member, Method::POST, "/api/v1/objects", Some(json!({"name": "x", "source": " "}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let other = app.active_user(&admin, "otto").await;
    let (status, _) = app.call(&other, Method::DELETE, &format!("/api/v1/objects/{id}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call(&member, Method::DELETE, &format!("/api/v1/objects/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

const CREW: &str = "# Crew manual\n\nAstronaut training lasts two years and includes centrifuge sessions.\n";

async fn the_model_searches_and_creates_objects_through_tools(app: TestApp, llm: StubLlm) {
    let admin = with_handbook(&app).await;
    let (status, answer) = app.upload(&admin, &[("crew.md", CREW.as_bytes().to_vec())], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    app.work().await;
    let mut script = Script::answer(&["Training takes two years [2]; the bracket is stored [9]."]);
    script.tool_calls = vec![
        ("search_knowledge".into(), json!({"query": "astronaut training centrifuge"})),
        ("create_openscad_object".into(), json!({"name": "bracket", "source": "cube([10, 10, 2]);"})),
        ("launch_rocket".into(), json!({})),
    ];
    llm.set_script(script);
    let id = conversation(&app, &admin, json!({})).await;
    let (status, turn) = ask(&app, &admin, &id, json!({"content": "What does the first stage burn?"})).await;
    assert_eq!(status, StatusCode::CREATED, "{turn}");
    let answer = &turn["assistant_message"];
    assert_eq!(answer["content"], "Training takes two years [2]; the bracket is stored.");
    // The calls and their outputs are stored on the answer; the unknown tool got an error.
    let names: Vec<&str> =
        answer["tool_calls"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["search_knowledge", "create_openscad_object", "launch_rocket"], "{answer}");
    assert_eq!(answer["tool_calls"][1]["arguments"]["name"], "bracket");
    let outputs = answer["tool_outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 3);
    assert!(outputs[0]["output"].as_str().unwrap().starts_with("[2] crew.md"), "{outputs:?}");
    assert!(outputs[2]["error"].as_str().unwrap().contains("no tool named launch_rocket"), "{outputs:?}");
    // The search's passage is numbered after the turn's own and cited.
    let sources = answer["source_references"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert_eq!((sources[1]["number"].as_u64(), sources[1]["document_name"].as_str()), (Some(2), Some("crew.md")));
    assert_eq!(sources[1]["cited"], true);
    // The object is stored, linked from the answer, and downloads as .scad.
    let object = answer["object_id"].as_str().unwrap();
    let (status, stored) = app.get_as(&admin, &format!("/api/v1/objects/{object}")).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["source"], "cube([10, 10, 2]);");
    let download = app
        .client
        .get(app.url(&format!("/api/v1/objects/{object}/download")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(download.text().await.unwrap(), "cube([10, 10, 2]);");
    // The model got the tools, then its calls and their outputs back.
    let requests: Vec<Value> = llm
        .requests()
        .into_iter()
        .filter(|r| !r["messages"][0]["content"].as_str().unwrap_or("").contains("short title"))
        .collect();
    assert_eq!(requests.len(), 2, "a tool round, then the answer");
    let first = &requests[0];
    let offered: Vec<&str> =
        first["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(offered, ["search_knowledge", "create_openscad_object"]);
    let second = requests.last().unwrap()["messages"].as_array().unwrap().clone();
    let calling = &second[second.len() - 4];
    assert_eq!(calling["role"], "assistant");
    assert_eq!(
        calling["tool_calls"][0]["function"]["arguments"],
        json!({"query": "astronaut training centrifuge"}).to_string()
    );
    assert_eq!(
        (second[second.len() - 3]["role"].as_str(), second[second.len() - 3]["tool_call_id"].as_str()),
        (Some("tool"), Some("call_0"))
    );
    // Tool rounds add up their usage.
    assert_eq!((turn["usage"]["input_tokens"].as_u64(), turn["usage"]["output_tokens"].as_u64()), (Some(52), Some(12)));
}

async fn a_server_without_tools_is_asked_again_without_them(app: TestApp, llm: StubLlm) {
    let admin = with_handbook(&app).await;
    let mut script = Script::answer(&["Kerosene [1]."]);
    script.refuse_tools = true;
    llm.set_script(script);
    let id = conversation(&app, &admin, json!({})).await;
    for _ in 0..2 {
        let (status, turn) = ask(&app, &admin, &id, json!({"content": "What does the first stage burn?"})).await;
        assert_eq!(status, StatusCode::CREATED, "{turn}");
        assert_eq!(turn["assistant_message"]["content"], "Kerosene [1].");
        assert!(turn["assistant_message"]["error"].is_null(), "{turn}");
    }
    let offered: Vec<bool> = llm
        .requests()
        .iter()
        .filter(|r| !r["messages"][0]["content"].as_str().unwrap_or("").contains("short title"))
        .map(|r| r.get("tools").is_some())
        .collect();
    // Refused once with tools, then never offered them again.
    assert_eq!(offered, [true, false, false], "{offered:?}");
}
