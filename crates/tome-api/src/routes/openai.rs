//! The OpenAI-compatible API: `POST /v1/chat/completions` (streamed or not; `model` names a
//! model or a persona), `GET /v1/models`, `POST /v1/embeddings`. Answers come from the
//! caller's tenant knowledge; the passages cited travel in the extension field `citations`
//! (on the response, and on the first and last chunk of a stream).

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tome_domain::page::MAX_LIMIT;
use tome_domain::{DomainError, PageRequest, personas};
use tome_models::chat::{ChatMessage, ChatRole};
use tome_rag::chat::assistant::{Ask, TurnEvent};
use tome_rag::chat::citations::Citation;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, perm};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::rates::Action;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(chat_completions)).routes(routes!(list_models)).routes(routes!(embeddings))
}

/// An OpenAI chat completion request (other fields OpenAI defines are accepted and ignored).
#[derive(Deserialize, ToSchema)]
pub struct CompletionRequest {
    /// A model of `GET /v1/models`, or a persona's name.
    pub model: Option<String>,
    /// `{"role": "system" | "user" | "assistant", "content": "…"}`; the last is the question.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Value>,
    #[serde(default)]
    pub stream: bool,
    pub temperature: Option<f64>,
    pub max_tokens: Option<usize>,
    pub max_completion_tokens: Option<usize>,
    #[schema(value_type = Option<Object>)]
    pub stream_options: Option<Value>,
    /// Only 1 is supported.
    pub n: Option<u32>,
}

fn invalid(field: &str, reason: &str) -> ApiError {
    DomainError::invalid(field, reason).into()
}

/// The text of a message's `content`: a string, or an array of `{"type": "text"}` parts.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter(|part| part.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn messages(raw: &[Value]) -> Result<Vec<ChatMessage>, ApiError> {
    raw.iter()
        .map(|message| {
            let role = match message.get("role").and_then(Value::as_str) {
                Some("system" | "developer") => ChatRole::System,
                Some("user") => ChatRole::User,
                Some("assistant") => ChatRole::Assistant,
                _ => return Err(invalid("messages", "each role must be system, developer, user or assistant")),
            };
            let content = message
                .get("content")
                .and_then(content_text)
                .ok_or_else(|| invalid("messages", "each content must be a string or an array of text parts"))?;
            Ok(ChatMessage::new(role, content))
        })
        .collect()
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A chat completion answered from the caller's tenant knowledge (permission `chat.use`).
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", security(("bearer" = ["chat.use"])),
    request_body = CompletionRequest,
    responses((status = 200, body = Object, description = "chat.completion, or chat.completion.chunk events"),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn chat_completions(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Client(client): Client,
    Json(body): Json<CompletionRequest>,
) -> ApiResult<Response> {
    state.spend(Action::OpenAi, &client, Some(request.principal.user.id))?;
    if body.n.is_some_and(|n| n != 1) {
        return Err(invalid("n", "only 1 is supported"));
    }
    let ask = Ask {
        model: body.model.clone(),
        messages: messages(&body.messages)?,
        temperature: body.temperature,
        max_tokens: body.max_completion_tokens.or(body.max_tokens),
    };
    let mut turn = state.assistant.ask(request.store, request.access, ask).await?;
    let id = format!("chatcmpl-{}", Uuid::now_v7().simple());
    let model = body.model.unwrap_or_else(|| turn.model.clone());
    if body.stream {
        let include_usage = body
            .stream_options
            .as_ref()
            .and_then(|options| options.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        return Ok(stream(turn, id, model, include_usage).into_response());
    }
    let (mut text, mut citations, mut usage) = (String::new(), Vec::new(), None);
    while let Some(event) = turn.next().await {
        match event {
            TurnEvent::Sources(found) => citations = found,
            TurnEvent::Delta(delta) => text.push_str(&delta),
            TurnEvent::Done { usage: done, .. } => usage = Some(done),
            TurnEvent::Failed { error, .. } => {
                return Err(ApiError::Gateway(format!("the chat model failed: {error}")));
            }
            TurnEvent::Message(_) => {}
        }
    }
    let usage = usage.unwrap_or_default();
    Ok(Json(json!({
        "id": id, "object": "chat.completion", "created": unix_now(), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                  "total_tokens": usage.input_tokens + usage.output_tokens},
        "citations": cited_first(citations, &text),
    }))
    .into_response())
}

/// The citations with those the text cites marked.
fn cited_first(mut citations: Vec<Citation>, text: &str) -> Vec<Citation> {
    let cited = tome_rag::chat::citations::cited_numbers(text);
    for citation in &mut citations {
        citation.cited = cited.contains(&citation.number);
    }
    citations
}

fn chunk(id: &str, model: &str, delta: Value, finish: Option<&str>) -> Value {
    json!({"id": id, "object": "chat.completion.chunk", "created": unix_now(), "model": model,
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn stream(
    turn: tome_rag::chat::assistant::Turn,
    id: String,
    model: String,
    include_usage: bool,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let mut text = String::new();
    let mut citations = Vec::new();
    let mut started = false;
    let events = turn
        .into_stream()
        .flat_map(move |event| {
            let mut out = Vec::new();
            match event {
                TurnEvent::Message(_) => {}
                // Tools may find more passages: the finishing chunk carries them all.
                TurnEvent::Sources(found) if started => citations = found,
                TurnEvent::Sources(found) => {
                    started = true;
                    citations = found;
                    let mut first = chunk(&id, &model, json!({"role": "assistant", "content": ""}), None);
                    first["citations"] = json!(citations);
                    out.push(first);
                }
                TurnEvent::Delta(delta) => {
                    text.push_str(&delta);
                    out.push(chunk(&id, &model, json!({"content": delta}), None));
                }
                TurnEvent::Done { usage, .. } => {
                    let mut last = chunk(&id, &model, json!({}), Some("stop"));
                    last["citations"] = json!(cited_first(std::mem::take(&mut citations), &text));
                    out.push(last);
                    if include_usage {
                        let mut usage_chunk = chunk(&id, &model, json!({}), None);
                        usage_chunk["choices"] = json!([]);
                        usage_chunk["usage"] = json!({"prompt_tokens": usage.input_tokens,
                            "completion_tokens": usage.output_tokens,
                            "total_tokens": usage.input_tokens + usage.output_tokens});
                        out.push(usage_chunk);
                    }
                }
                TurnEvent::Failed { error, .. } => {
                    out.push(json!({"error": {"message": format!("the chat model failed: {error}"),
                                              "type": "model_failed", "code": "model_failed"}}));
                }
            }
            futures::stream::iter(out)
        })
        .map(|value| Ok(Event::default().data(value.to_string())))
        .chain(futures::stream::once(async { Ok(Event::default().data("[DONE]")) }));
    Sse::new(events)
}

/// The chat models offered and the personas the caller may use, as OpenAI models.
#[utoipa::path(get, path = "/v1/models", tag = "openai", security(("bearer" = ["chat.use"])),
    responses((status = 200, body = Object)))]
async fn list_models(State(state): State<AppState>, request: Require<perm::ChatUse>) -> ApiResult<Json<Value>> {
    let created = unix_now();
    let mut data: Vec<Value> = state
        .assistant
        .models()
        .iter()
        .map(|model| {
            json!({"id": model.name(), "object": "model", "created": created, "owned_by": "tome",
                            "context_window": model.context_tokens()})
        })
        .collect();
    let personas = personas::list(request.store.as_ref(), &request.access, PageRequest::first(MAX_LIMIT)).await?;
    data.extend(personas.items.into_iter().filter(|p| p.is_active).map(|persona| {
        json!({"id": persona.name, "object": "model", "created": persona.created_at.unix_timestamp(),
               "owned_by": "tome", "persona": {"id": persona.id, "display_name": persona.display_name,
               "model": persona.model}})
    }));
    Ok(Json(json!({"object": "list", "data": data})))
}

/// An OpenAI embeddings request.
#[derive(Deserialize, ToSchema)]
pub struct EmbeddingRequest {
    /// A string or an array of up to 256 strings.
    #[schema(value_type = Object)]
    pub input: Value,
    pub model: Option<String>,
    /// `float` (the default) or `base64` (little-endian f32s, as the OpenAI clients ask).
    pub encoding_format: Option<String>,
}

/// The most inputs of one embeddings request.
const MAX_INPUTS: usize = 256;

/// Vectors from the embedding model Tome indexes with (permission `chat.use`).
#[utoipa::path(post, path = "/v1/embeddings", tag = "openai", security(("bearer" = ["chat.use"])),
    request_body = EmbeddingRequest,
    responses((status = 200, body = Object), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn embeddings(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Client(client): Client,
    Json(body): Json<EmbeddingRequest>,
) -> ApiResult<Json<Value>> {
    state.spend(Action::OpenAi, &client, Some(request.principal.user.id))?;
    let embedder = state
        .retriever
        .embedder()
        .cloned()
        .ok_or_else(|| ApiError::from(DomainError::Unavailable("no embedding model is configured".into())))?;
    if let Some(model) = &body.model
        && model != embedder.model_name()
    {
        return Err(invalid("model", &format!("the embedding model offered is {}", embedder.model_name())));
    }
    let base64 = match body.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => return Err(invalid("encoding_format", "must be float or base64")),
    };
    let inputs: Vec<String> = match body.input {
        Value::String(text) => vec![text],
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(text),
                _ => Err(invalid("input", "must be a string or an array of strings")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid("input", "must be a string or an array of strings")),
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS || inputs.iter().any(|text| text.is_empty()) {
        return Err(invalid("input", &format!("must hold 1–{MAX_INPUTS} non-empty strings")));
    }
    let tokens: usize = inputs
        .iter()
        .map(|text| tome_models::tokens::TokenCounter::count(&tome_models::tokens::EstimatedTokens, text))
        .sum();
    let vectors =
        embedder.embed(inputs).await.map_err(|error| ApiError::from(DomainError::Unavailable(error.to_string())))?;
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = if base64 { json!(encode_vector(&vector)) } else { json!(vector) };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    Ok(Json(json!({"object": "list", "data": data, "model": embedder.model_name(),
                   "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})))
}

/// A vector as OpenAI's `base64` encoding: the little-endian bytes of its f32s.
fn encode_vector(vector: &[f32]) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = vector.iter().flat_map(|value| value.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
