//! Any OpenAI-compatible `/v1/chat/completions` server (vLLM, llama.cpp server, Ollama,
//! OpenAI…), always streamed. Connection failures, 429 and 5xx are retried with doubling
//! backoff (or the server's `Retry-After`) until the answer starts; after the first token a
//! failure ends the stream with an error, since the text already shown cannot be taken back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::chat::{ChatError, ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, ToolCall, Usage};
use crate::retry::{error_text, pause, retry_after, retryable};
use crate::tokens::{EstimatedTokens, TokenCounter};

/// How to reach the server.
#[derive(Clone, Debug)]
pub struct RemoteChatSettings {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Tries before the first token, the first included.
    pub attempts: u32,
    /// First retry delay; doubled each time.
    pub backoff: Duration,
    pub connect_timeout: Duration,
    /// Longest silence between two parts of the answer (or before the first).
    pub idle_timeout: Duration,
    /// The model's context window, in tokens.
    pub context_tokens: usize,
    pub max_output_tokens: usize,
}

impl RemoteChatSettings {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            attempts: 3,
            backoff: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            context_tokens: 8192,
            max_output_tokens: 4096,
        }
    }
}

/// The remote chat model.
pub struct RemoteChatModel {
    settings: RemoteChatSettings,
    client: reqwest::Client,
    /// Cleared once the server refuses a request that offers tools (400): not every
    /// OpenAI-compatible server does function calling, and then Tome asks without them.
    tools: AtomicBool,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<ChunkUsage>,
}

#[derive(Deserialize)]
struct Choice {
    delta: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallDelta>,
}

/// A piece of a streamed tool call: the first names it, the rest add to its arguments.
#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: usize,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

/// A message as the OpenAI protocol writes it (tool calls as `function` objects).
fn wire_message(message: &ChatMessage) -> Value {
    let mut wire = json!({"role": message.role.as_str(), "content": message.content});
    if !message.tool_calls.is_empty() {
        wire["tool_calls"] = message
            .tool_calls
            .iter()
            .map(|call| {
                json!({"id": call.id, "type": "function",
                               "function": {"name": call.name, "arguments": call.arguments}})
            })
            .collect();
    }
    if let Some(id) = &message.tool_call_id {
        wire["tool_call_id"] = json!(id);
    }
    wire
}

#[derive(Deserialize)]
struct ChunkUsage {
    prompt_tokens: usize,
    completion_tokens: usize,
}

impl RemoteChatModel {
    pub fn new(settings: RemoteChatSettings) -> Result<Self, ChatError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.idle_timeout)
            .build()
            .map_err(|e| ChatError::Load(e.to_string()))?;
        Ok(Self { settings, client, tools: AtomicBool::new(true) })
    }

    fn url(&self) -> String {
        format!("{}/chat/completions", self.settings.base_url.trim_end_matches('/'))
    }

    /// The streaming response, after as many tries as the settings allow.
    async fn open(&self, request: &ChatRequest) -> Result<reqwest::Response, ChatError> {
        let mut body = json!({
            "model": self.settings.model,
            "messages": request.messages.iter().map(wire_message).collect::<Vec<_>>(),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        let mut offers_tools = !request.tools.is_empty() && self.tools.load(Ordering::Relaxed);
        if offers_tools {
            body["tools"] = request.tools.iter().map(|tool| json!({"type": "function", "function": tool})).collect();
        }
        let mut delay = self.settings.backoff;
        let mut attempt = 1;
        loop {
            let mut call = self.client.post(self.url()).json(&body);
            if let Some(key) = &self.settings.api_key {
                call = call.bearer_auth(key);
            }
            let server_wait = match call.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) if response.status() == reqwest::StatusCode::BAD_REQUEST && offers_tools => {
                    let refusal = error_text(response).await;
                    tracing::warn!(model = %self.settings.model, error = %refusal,
                        "the chat server refused a request offering tools: asking without them from now on");
                    self.tools.store(false, Ordering::Relaxed);
                    offers_tools = false;
                    if let Some(body) = body.as_object_mut() {
                        body.remove("tools");
                    }
                    continue;
                }
                Ok(response) if retryable(response.status()) && attempt < self.settings.attempts => {
                    retry_after(response.headers())
                }
                Ok(response) => {
                    return Err(ChatError::Remote(format!("{} (attempt {attempt})", error_text(response).await)));
                }
                Err(error) if attempt >= self.settings.attempts => {
                    return Err(ChatError::Remote(format!("{error} after {attempt} attempts")));
                }
                Err(_) => None,
            };
            tokio::time::sleep(pause(server_wait, delay)).await;
            delay = delay.saturating_mul(2);
            attempt += 1;
        }
    }
}

/// Parses the server's events into deltas, then one `Done` with the usage (the server's,
/// or an estimate when it sent none).
fn events(
    response: reqwest::Response,
    prompt_estimate: usize,
) -> impl Stream<Item = Result<ChatEvent, ChatError>> + Send {
    struct State<S> {
        source: S,
        usage: Option<Usage>,
        written: String,
        prompt_estimate: usize,
        /// Tool calls being assembled, by their index.
        calls: Vec<ToolCall>,
        finished: bool,
    }
    let state = State {
        source: response.bytes_stream().eventsource(),
        usage: None,
        written: String::new(),
        prompt_estimate,
        calls: Vec::new(),
        finished: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if state.finished {
            return None;
        }
        loop {
            match state.source.next().await {
                Some(Ok(event)) if event.data.trim() == "[DONE]" => break,
                Some(Ok(event)) if event.data.trim().is_empty() => continue,
                Some(Ok(event)) => {
                    let chunk: Chunk = match serde_json::from_str(&event.data) {
                        Ok(chunk) => chunk,
                        Err(error) => {
                            state.finished = true;
                            return Some((Err(ChatError::Remote(format!("unreadable event: {error}"))), state));
                        }
                    };
                    if let Some(usage) = chunk.usage {
                        state.usage =
                            Some(Usage { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens });
                    }
                    let mut text = String::new();
                    for delta in chunk.choices.into_iter().filter_map(|choice| choice.delta) {
                        text.push_str(delta.content.as_deref().unwrap_or_default());
                        for piece in delta.tool_calls {
                            assemble(&mut state.calls, piece);
                        }
                    }
                    if !text.is_empty() {
                        state.written.push_str(&text);
                        return Some((Ok(ChatEvent::Delta(text)), state));
                    }
                }
                Some(Err(error)) => {
                    state.finished = true;
                    return Some((Err(ChatError::Remote(format!("the answer broke off: {error}"))), state));
                }
                None => break,
            }
        }
        if !state.calls.is_empty() {
            let calls = std::mem::take(&mut state.calls);
            return Some((Ok(ChatEvent::ToolCalls(calls)), state));
        }
        state.finished = true;
        let usage = state.usage.unwrap_or(Usage {
            input_tokens: state.prompt_estimate,
            output_tokens: EstimatedTokens.count(&state.written),
        });
        Some((Ok(ChatEvent::Done(usage)), state))
    })
}

/// Adds a streamed piece to the call at its index.
fn assemble(calls: &mut Vec<ToolCall>, piece: ToolCallDelta) {
    while calls.len() <= piece.index {
        calls.push(ToolCall { id: format!("call_{}", calls.len()), name: String::new(), arguments: String::new() });
    }
    let call = &mut calls[piece.index];
    if let Some(id) = piece.id {
        call.id = id;
    }
    if let Some(function) = piece.function {
        call.name.push_str(function.name.as_deref().unwrap_or_default());
        call.arguments.push_str(function.arguments.as_deref().unwrap_or_default());
    }
}

#[async_trait]
impl ChatModel for RemoteChatModel {
    fn name(&self) -> &str {
        &self.settings.model
    }

    fn context_tokens(&self) -> usize {
        self.settings.context_tokens
    }

    fn max_output_tokens(&self) -> usize {
        self.settings.max_output_tokens
    }

    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        Arc::new(EstimatedTokens)
    }

    fn supports_tools(&self) -> bool {
        self.tools.load(Ordering::Relaxed)
    }

    async fn generate(&self, request: ChatRequest) -> Result<ChatStream, ChatError> {
        let prompt_estimate = request
            .messages
            .iter()
            .map(|m| {
                EstimatedTokens.count(&m.content)
                    + m.tool_calls.iter().map(|c| EstimatedTokens.count(&c.arguments)).sum::<usize>()
                    + 4
            })
            .sum();
        let response = self.open(&request).await?;
        Ok(Box::pin(events(response, prompt_estimate)))
    }
}
