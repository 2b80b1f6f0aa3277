//! `StubLlm`: a loopback server that speaks the OpenAI streaming chat protocol
//! (`POST /v1/chat/completions` with `stream: true` → `data: {chunk}` events, a usage chunk,
//! `data: [DONE]`), playing a script: the answer's pieces, a pause between them, failures.
//! It records every request, and whether a client left in the middle of an answer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// What the stub answers.
#[derive(Clone, Debug)]
pub struct Script {
    /// The answer, piece by piece.
    pub pieces: Vec<String>,
    /// Pause before each piece.
    pub delay: Duration,
    /// The first this-many requests answer 500.
    pub failures: usize,
    /// Every request answers 500.
    pub always_fail: bool,
    /// Usage reported in the last chunk: (prompt, completion) tokens.
    pub usage: (usize, usize),
    /// The answer to a title request (a system prompt asking for a title).
    pub title: String,
    /// Tools called (name, arguments) when a request offers tools and has no tool output
    /// yet; the answer follows once the outputs come.
    pub tool_calls: Vec<(String, Value)>,
    /// Requests that offer tools answer 400, as servers without function calling do.
    pub refuse_tools: bool,
}

impl Script {
    pub fn answer(pieces: &[&str]) -> Self {
        Self {
            pieces: pieces.iter().map(|p| (*p).to_owned()).collect(),
            delay: Duration::ZERO,
            failures: 0,
            always_fail: false,
            usage: (42, 7),
            title: "\"Rocket Fuel Basics\"".to_owned(),
            tool_calls: Vec::new(),
            refuse_tools: false,
        }
    }
}

struct Shared {
    script: Mutex<Script>,
    requests: Mutex<Vec<Value>>,
    attempts: AtomicUsize,
    /// A client went away before the answer ended.
    abandoned: Arc<AtomicBool>,
}

pub struct StubLlm {
    /// Base URL up to and including `/v1`.
    pub base_url: String,
    shared: Arc<Shared>,
}

impl StubLlm {
    pub async fn start(script: Script) -> Self {
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            requests: Mutex::new(Vec::new()),
            attempts: AtomicUsize::new(0),
            abandoned: Arc::new(AtomicBool::new(false)),
        });
        let app = Router::new().route("/v1/chat/completions", post(completions)).with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base_url: format!("http://{address}/v1"), shared }
    }

    /// The JSON bodies received, oldest first (failed attempts included).
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// Requests received.
    pub fn attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    /// Whether a client closed the connection before an answer's end.
    pub fn abandoned(&self) -> bool {
        self.shared.abandoned.load(Ordering::SeqCst)
    }

    pub fn set_script(&self, script: Script) {
        *self.shared.script.lock().expect("lock") = script;
    }

    /// A remote chat model pointed at this stub, retrying quickly.
    pub fn model(&self, name: &str) -> tome_models::openai_chat::RemoteChatModel {
        let mut settings = tome_models::openai_chat::RemoteChatSettings::new(self.base_url.clone(), name);
        settings.backoff = Duration::from_millis(10);
        settings.context_tokens = 4096;
        settings.max_output_tokens = 1024;
        tome_models::openai_chat::RemoteChatModel::new(settings).expect("remote chat model")
    }
}

/// Sets `abandoned` when the answer's stream is dropped before its end.
struct Watch {
    flag: Arc<AtomicBool>,
    finished: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.finished {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

async fn completions(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.requests.lock().expect("lock").push(request.clone());
    let attempt = shared.attempts.fetch_add(1, Ordering::SeqCst);
    let script = shared.script.lock().expect("lock").clone();
    if script.always_fail || attempt < script.failures {
        return (StatusCode::INTERNAL_SERVER_ERROR, "{\"error\":{\"message\":\"stub failure\"}}").into_response();
    }
    let offers_tools = request["tools"].as_array().is_some_and(|tools| !tools.is_empty());
    if offers_tools && script.refuse_tools {
        return (StatusCode::BAD_REQUEST, "{\"error\":{\"message\":\"tools are not supported\"}}").into_response();
    }
    let answered = request["messages"].as_array().is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
    if offers_tools && !answered && !script.tool_calls.is_empty() {
        return tool_calls(&request, &script.tool_calls);
    }
    let wants_title = request["messages"][0]["content"].as_str().is_some_and(|text| text.contains("short title"));
    let model = request["model"].as_str().unwrap_or("stub").to_owned();
    let pieces = if wants_title { vec![script.title.clone()] } else { script.pieces.clone() };
    let chunk = move |delta: Value, usage: Option<Value>| {
        let mut chunk = json!({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0,
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
        if let Some(usage) = usage {
            chunk["choices"] = json!([]);
            chunk["usage"] = usage;
        }
        format!("data: {chunk}\n\n")
    };
    let (prompt, completion) = script.usage;
    let watch = Watch { flag: shared.abandoned.clone(), finished: false };
    let delay = script.delay;
    let stream = futures::stream::unfold((pieces.into_iter(), watch, 0usize), move |(mut pieces, mut watch, step)| {
        let chunk = chunk.clone();
        async move {
            if step == 0 {
                let first = chunk(json!({"role": "assistant", "content": ""}), None);
                return Some((Ok::<_, std::io::Error>(first), (pieces, watch, 1)));
            }
            match pieces.next() {
                Some(piece) => {
                    tokio::time::sleep(delay).await;
                    Some((Ok(chunk(json!({"content": piece}), None)), (pieces, watch, step + 1)))
                }
                None if step < usize::MAX => {
                    watch.finished = true;
                    let usage = json!({"prompt_tokens": prompt, "completion_tokens": completion,
                        "total_tokens": prompt + completion});
                    let end = format!("{}data: [DONE]\n\n", chunk(json!({}), Some(usage)));
                    Some((Ok(end), (pieces, watch, usize::MAX)))
                }
                None => None,
            }
        }
    });
    Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(stream)).expect("response")
}

/// A stream that calls `calls`, the arguments in two pieces each (as servers stream them),
/// ending with `finish_reason: "tool_calls"` and a usage of (10, 5) tokens.
fn tool_calls(request: &Value, calls: &[(String, Value)]) -> Response {
    let model = request["model"].as_str().unwrap_or("stub");
    let chunk = |delta: Value, finish: Value| {
        let chunk = json!({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {chunk}\n\n")
    };
    let mut body = chunk(json!({"role": "assistant", "content": null}), Value::Null);
    for (index, (name, arguments)) in calls.iter().enumerate() {
        let text = arguments.to_string();
        let middle = (0..=text.len() / 2).rev().find(|at| text.is_char_boundary(*at)).unwrap_or(0);
        let (head, tail) = text.split_at(middle);
        body.push_str(&chunk(
            json!({"tool_calls": [{"index": index, "id": format!("call_{index}"), "type": "function",
                                   "function": {"name": name, "arguments": head}}]}),
            Value::Null,
        ));
        body.push_str(&chunk(json!({"tool_calls": [{"index": index, "function": {"arguments": tail}}]}), Value::Null));
    }
    body.push_str(&chunk(json!({}), json!("tool_calls")));
    let usage = json!({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}});
    body.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    Response::builder().header("content-type", "text/event-stream").body(Body::from(body)).expect("response")
}
