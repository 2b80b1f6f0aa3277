//! Streamed answers outlive their connection: a client that leaves and comes back (a reload,
//! a lost connection) re-attaches by `Last-Event-ID` and gets the whole answer exactly once;
//! only an explicit cancel stops a generation, keeping the part written.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_testkit::TestApp;
use tome_testkit::llm::{Script, StubLlm};

use crate::chat::{conversation, events, thread, with_handbook};

mod an_answer_outlives_its_client_and_only_cancel_stops_it {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let (app, llm) = crate::chat::spawn(tome_testkit::TestDb::sqlite().await).await;
        super::an_answer_outlives_its_client_and_only_cancel_stops_it(app, llm).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = tome_testkit::TestDb::postgres().await else { return };
        let (app, llm) = crate::chat::spawn(db).await;
        super::an_answer_outlives_its_client_and_only_cancel_stops_it(app, llm).await;
    }
}

/// Reads a streamed answer until its first delta and leaves: returns the question's id, the
/// last event id seen, and the text received.
async fn leave_after_first_delta(
    app: &TestApp,
    token: &str,
    conversation: &str,
    question: &str,
) -> (String, u64, String) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{conversation}/messages")))
        .bearer_auth(token)
        .json(&json!({"content": question, "stream": true}))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: delta") {
        seen.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    drop(body);
    let complete = &seen[..seen.rfind("\n\n").unwrap()];
    let last_id = complete.lines().rev().find_map(|line| line.strip_prefix("id:")).unwrap().trim().parse().unwrap();
    let received = events(complete);
    let question_id = received[0].1["id"].as_str().unwrap().to_owned();
    (question_id, last_id, deltas(&received))
}

fn deltas(events: &[(String, Value)]) -> String {
    events.iter().filter(|(name, _)| name == "delta").map(|(_, data)| data["text"].as_str().unwrap()).collect()
}

async fn an_answer_outlives_its_client_and_only_cancel_stops_it(app: TestApp, llm: StubLlm) {
    let admin = with_handbook(&app).await;
    let pieces: Vec<String> = (0..20).map(|i| format!("word{i} ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    llm.set_script(Script { delay: Duration::from_millis(50), ..Script::answer(&pieces) });
    let id = conversation(&app, &admin, json!({"title": "Long"})).await;

    // Leave after the first piece, come back with Last-Event-ID: the rest, then done.
    let (question, last_id, first_part) = leave_after_first_delta(&app, &admin, &id, "Tell me about fuel").await;
    assert!(first_part.starts_with("word0") && !first_part.contains("word19"), "{first_part}");
    let events_path = format!("/api/v1/messages/{question}/events");
    let response = app
        .client
        .get(app.url(&events_path))
        .bearer_auth(&admin)
        .header("last-event-id", last_id.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let rest = events(&response.text().await.unwrap());
    assert_eq!(rest.last().unwrap().0, "done", "{rest:?}");
    assert!(rest.iter().all(|(name, _)| name != "message"), "nothing before Last-Event-ID again: {rest:?}");
    let whole = format!("{first_part}{}", deltas(&rest));
    assert_eq!(whole.trim(), pieces.concat().trim(), "every piece exactly once");
    let stored = thread(&app, &admin, &id).await;
    let answers: Vec<&Value> =
        stored["items"].as_array().unwrap().iter().filter(|m| m["role"] == "assistant").collect();
    assert_eq!(answers.len(), 1, "one stored answer");
    assert_eq!(answers[0]["content"].as_str().unwrap().trim(), whole.trim());
    assert_ne!(answers[0]["metadata"]["cancelled"], true);
    // From the start (a reload knows no event id): the whole turn again.
    let replay = app.client.get(app.url(&events_path)).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    let replay = events(&replay);
    assert_eq!(replay[0].0, "message");
    assert_eq!(deltas(&replay), whole);

    // Nobody else can read or stop it.
    let member = app.active_user(&admin, "mia").await;
    let (status, _) = app.call(&member, Method::GET, &events_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.call(&member, Method::POST, &format!("/api/v1/messages/{question}/cancel"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Cancel: the stream ends with `cancelled`, the part written is kept and marked.
    let (question, _, _) = leave_after_first_delta(&app, &admin, &id, "And the crew?").await;
    let events_path = format!("/api/v1/messages/{question}/events");
    let follower = app.client.get(app.url(&events_path)).bearer_auth(&admin).send().await.unwrap();
    let (status, _) = app.call(&admin, Method::POST, &format!("/api/v1/messages/{question}/cancel"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let followed = events(&follower.text().await.unwrap());
    assert_eq!(followed.last().unwrap().0, "cancelled", "{followed:?}");
    let mut answer = Value::Null;
    for _ in 0..100 {
        let items = thread(&app, &admin, &id).await["items"].clone();
        if let Some(found) = items.as_array().unwrap().iter().find(|m| m["parent_id"] == question.as_str()) {
            answer = found.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(answer["metadata"]["cancelled"], true, "{answer}");
    let text = answer["content"].as_str().unwrap();
    assert!(text.starts_with("word0") && !text.contains("word19"), "{text}");
    assert!(llm.abandoned(), "the model's stream was closed too");
}
