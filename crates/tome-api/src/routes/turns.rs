//! A running turn as HTTP: Server-Sent Events (`message`, `sources`, `delta`…, `done`,
//! `error` or `cancelled`, each with its sequence number as `id`) when the client asked to
//! stream, else one JSON body once the answer is stored. A streamed turn outlives its
//! connection (see `turn_hub`); a JSON one is cancelled when its client disconnects.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tome_domain::access::Access;
use tome_models::chat::Usage;
use tome_rag::chat::assistant::{Turn, TurnEvent};
use utoipa::ToSchema;

use crate::extract::Json;
use crate::routes::conversations::MessageResponse;
use crate::turn_hub::{TurnHub, TurnLog, Wire};

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

/// Streams the turn (driven by the hub, so that it outlives this connection), or waits for it
/// and answers 201 with the stored messages.
pub async fn respond(hub: &Arc<TurnHub>, turn: Turn, stream: bool, access: &Access) -> Response {
    if stream {
        return match hub.start(turn, access.tenant_id, access.user_id, wire).await {
            Some((_, log)) => replay(log, 0).into_response(),
            None => replay_nothing().into_response(),
        };
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

/// The events of a logged turn after the first `seen`, then the rest as they come, until it
/// ends. Each event's `id` is its sequence number (from 1), for `Last-Event-ID`.
pub fn replay(log: Arc<TurnLog>, seen: usize) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let batches = futures::stream::unfold((log, seen), |(log, seen)| async move {
        loop {
            let (batch, ended) = log.since(seen);
            if !batch.is_empty() {
                let events: Vec<Result<Event, Infallible>> = batch
                    .iter()
                    .enumerate()
                    .map(|(offset, event)| {
                        Ok(Event::default().event(event.0).id((seen + offset + 1).to_string()).data(event.1.as_str()))
                    })
                    .collect();
                let next = seen + batch.len();
                return Some((futures::stream::iter(events), (log, next)));
            }
            if ended {
                return None;
            }
            log.wait(seen).await;
        }
    });
    Sse::new(batches.flatten()).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn replay_nothing() -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    Sse::new(futures::stream::empty())
}

/// An event as the hub keeps it: its name and its JSON data.
fn wire(event: TurnEvent) -> Wire {
    let (name, value) = to_json(event);
    Arc::new((name, value.to_string()))
}

fn to_json(event: TurnEvent) -> (&'static str, Value) {
    match event {
        TurnEvent::Message(message) => ("message", json!(MessageResponse::from(*message))),
        TurnEvent::Sources(citations) => ("sources", json!({"sources": citations})),
        TurnEvent::Delta(text) => ("delta", json!({"text": text})),
        TurnEvent::Done { message, usage, model } => (
            "done",
            json!({"message": message.map(|m| MessageResponse::from(*m)), "usage": UsageResponse::from(usage),
                   "model": model}),
        ),
        TurnEvent::Failed { error, message } => (
            "error",
            json!({"error": {"code": "model_failed", "message": error},
                   "message": message.map(|m| MessageResponse::from(*m))}),
        ),
    }
}
