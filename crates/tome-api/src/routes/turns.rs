//! A running turn as HTTP: Server-Sent Events (`message`, `sources`, `delta`…, `done` or
//! `error`) when the client asked to stream, else one JSON body once the answer is stored.
//! A client that disconnects drops the stream, which cancels the generation.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use tome_models::chat::Usage;
use tome_rag::chat::assistant::{Turn, TurnEvent};
use utoipa::ToSchema;

use crate::extract::Json;
use crate::routes::conversations::MessageResponse;

/// Tokens an answer used.
#[derive(Serialize, ToSchema)]
pub struct UsageResponse {
    pub input_tokens: usize,
    pub output_tokens: usize,
}

impl From<Usage> for UsageResponse {
    fn from(usage: Usage) -> Self {
        Self { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens }
    }
}

/// A finished turn: the question, the stored answer (with its citations in
/// `source_references`, and `error` set if the model failed).
#[derive(Serialize, ToSchema)]
pub struct TurnResponse {
    pub user_message: Option<MessageResponse>,
    pub assistant_message: Option<MessageResponse>,
    pub usage: Option<UsageResponse>,
    /// Why there is no complete answer, if there is none.
    pub error: Option<String>,
}

/// Streams the turn, or waits for it and answers 201 with the stored messages.
pub async fn respond(turn: Turn, stream: bool) -> Response {
    if stream {
        return sse(turn).into_response();
    }
    let mut turn = turn;
    let mut body = TurnResponse { user_message: None, assistant_message: None, usage: None, error: None };
    while let Some(event) = turn.next().await {
        match event {
            TurnEvent::Message(message) => body.user_message = Some((*message).into()),
            TurnEvent::Sources(_) | TurnEvent::Delta(_) => {}
            TurnEvent::Done { message, usage, .. } => {
                body.assistant_message = message.map(|m| (*m).into());
                body.usage = Some(usage.into());
            }
            TurnEvent::Failed { error, message } => {
                body.assistant_message = message.map(|m| (*m).into());
                body.error = Some(error);
            }
        }
    }
    (StatusCode::CREATED, Json(body)).into_response()
}

fn sse(turn: Turn) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let events = turn.into_stream().map(|event| Ok(to_event(event)));
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn data(name: &str, value: impl Serialize) -> Event {
    Event::default().event(name).json_data(value).unwrap_or_else(|_| Event::default().event(name).data("{}"))
}

fn to_event(event: TurnEvent) -> Event {
    match event {
        TurnEvent::Message(message) => data("message", MessageResponse::from(*message)),
        TurnEvent::Sources(citations) => data("sources", json!({"sources": citations})),
        TurnEvent::Delta(text) => data("delta", json!({"text": text})),
        TurnEvent::Done { message, usage, model } => data(
            "done",
            json!({"message": message.map(|m| MessageResponse::from(*m)), "usage": UsageResponse::from(usage),
                   "model": model}),
        ),
        TurnEvent::Failed { error, message } => data(
            "error",
            json!({"error": {"code": "model_failed", "message": error},
                   "message": message.map(|m| MessageResponse::from(*m))}),
        ),
    }
}
