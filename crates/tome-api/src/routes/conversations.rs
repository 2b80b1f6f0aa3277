//! The caller's conversations and their message trees; posting a message answers it (JSON,
//! or Server-Sent Events with `"stream": true`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tome_domain::chat::{Conversation, Message};
use tome_domain::conversations::{self, ConversationChanges, ConversationInput};
use tome_domain::{ConversationId, MessageId, PersonaId, ProjectId};
use tome_rag::chat::assistant::PostInput;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query, nullable};
use crate::rates::Action;
use crate::routes::turns::{self, TurnResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(get_conversation, update_conversation, delete_conversation))
        .routes(routes!(list_messages, post_message))
}

#[derive(Serialize, ToSchema)]
pub struct ConversationResponse {
    pub id: Uuid,
    pub title: String,
    pub project_id: Option<Uuid>,
    pub persona_id: Option<Uuid>,
    pub model: Option<String>,
    /// `active` or `archived`.
    pub status: String,
    /// The leaf of the branch shown, when one was chosen.
    pub current_message_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last activity.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Conversation> for ConversationResponse {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id.0,
            title: c.title,
            project_id: c.project_id.map(|p| p.0),
            persona_id: c.persona_id.map(|p| p.0),
            model: c.model,
            status: c.status.as_str().to_owned(),
            current_message_id: c.current_message_id.map(|m| m.0),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageResponse {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub parent_id: Option<Uuid>,
    /// `user`, `assistant`, `system` or `tool`.
    pub role: String,
    pub content: String,
    /// Citations: `number` (the `[n]` in the text), document id and name, chunk id, page,
    /// heading, score, snippet, and whether the text cites it.
    #[schema(value_type = Vec<Object>)]
    pub source_references: Value,
    #[schema(value_type = Option<Object>)]
    pub tool_calls: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub tool_outputs: Option<Value>,
    pub object_id: Option<Uuid>,
    pub model: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub error: Option<String>,
    /// Timings (`latency_ms`, `retrieval_ms`, `first_token_ms`), `cancelled`, the persona.
    #[schema(value_type = Object)]
    pub metadata: Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Message> for MessageResponse {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.0,
            conversation_id: m.conversation_id.0,
            parent_id: m.parent_id.map(|p| p.0),
            role: m.role.as_str().to_owned(),
            content: m.content,
            source_references: m.source_references,
            tool_calls: m.tool_calls,
            tool_outputs: m.tool_outputs,
            object_id: m.object_id.map(|o| o.0),
            model: m.model,
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            error: m.error,
            metadata: m.metadata,
            created_at: m.created_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    /// `active` (default) or `archived`.
    pub status: Option<String>,
    /// Only titles containing this text (case-insensitive).
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The caller's conversations, most recent activity first (permission `chat.use`).
#[utoipa::path(get, path = "/api/v1/conversations", tag = "chat", security(("bearer" = ["chat.use"])),
    params(ConversationQuery),
    responses((status = 200, body = PageResponse<ConversationResponse>), (status = 422, body = ErrorBody)))]
async fn list_conversations(
    request: Require<perm::ChatUse>,
    Query(query): Query<ConversationQuery>,
) -> ApiResult<Json<PageResponse<ConversationResponse>>> {
    let page = PageQuery { limit: query.limit, cursor: query.cursor }.request()?;
    let archived = match query.status.as_deref() {
        None | Some("active") => false,
        Some("archived") => true,
        Some(_) => return Err(tome_domain::DomainError::invalid("status", "must be active or archived").into()),
    };
    let list = conversations::list(request.store.as_ref(), &request.access, archived, query.q, page).await?;
    Ok(Json(PageResponse::from_page(list, ConversationResponse::from)))
}

/// A new conversation; fields left out take the defaults.
#[derive(Deserialize, ToSchema)]
pub struct ConversationRequest {
    /// 1–255 characters; when left out, the first question names the conversation.
    pub title: Option<String>,
    pub persona_id: Option<Uuid>,
    /// Answers come from this project's documents only.
    pub project_id: Option<Uuid>,
    /// One of the models of `GET /v1/models`.
    pub model: Option<String>,
}

/// Start a conversation (permission `chat.use`).
#[utoipa::path(post, path = "/api/v1/conversations", tag = "chat", security(("bearer" = ["chat.use"])),
    request_body = ConversationRequest,
    responses((status = 201, body = ConversationResponse), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_conversation(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Json(body): Json<ConversationRequest>,
) -> ApiResult<Response> {
    let input = ConversationInput {
        title: body.title,
        persona_id: body.persona_id.map(PersonaId),
        project_id: body.project_id.map(ProjectId),
        model: body.model,
    };
    let catalog = state.assistant.catalog();
    let conversation = conversations::create(request.store.as_ref(), &request.access, input, &catalog).await?;
    Ok((StatusCode::CREATED, Json(ConversationResponse::from(conversation))).into_response())
}

/// One of the caller's conversations.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ConversationResponse), (status = 404, body = ErrorBody)))]
async fn get_conversation(
    request: Require<perm::ChatUse>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ConversationResponse>> {
    let conversation = conversations::get(request.store.as_ref(), &request.access, ConversationId(id)).await?;
    Ok(Json(conversation.into()))
}

/// Changes to a conversation: fields left out stay; `null` clears.
#[derive(Deserialize, ToSchema)]
pub struct ConversationPatchRequest {
    pub title: Option<String>,
    /// Archive (`true`) or bring back (`false`).
    pub archived: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub persona_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub project_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub model: Option<Option<String>>,
    /// Show the branch through this message.
    pub current_message_id: Option<Uuid>,
}

/// Rename, archive, switch branch, persona, project or model.
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), request_body = ConversationPatchRequest,
    responses((status = 200, body = ConversationResponse), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_conversation(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Path(id): Path<Uuid>,
    Json(body): Json<ConversationPatchRequest>,
) -> ApiResult<Json<ConversationResponse>> {
    let changes = ConversationChanges {
        title: body.title,
        archived: body.archived,
        persona_id: body.persona_id.map(|p| p.map(PersonaId)),
        project_id: body.project_id.map(|p| p.map(ProjectId)),
        model: body.model,
        current_message_id: body.current_message_id.map(MessageId),
    };
    let catalog = state.assistant.catalog();
    let conversation =
        conversations::update(request.store.as_ref(), &request.access, ConversationId(id), changes, &catalog).await?;
    Ok(Json(conversation.into()))
}

/// Delete a conversation: hidden at once, its messages removed in the background.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_conversation(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    conversations::delete(request.store.as_ref(), &request.access, ConversationId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A conversation's whole message tree, and the branch shown.
#[derive(Serialize, ToSchema)]
pub struct ThreadResponse {
    pub conversation: ConversationResponse,
    /// Every message, oldest first; `parent_id` links the tree.
    pub items: Vec<MessageResponse>,
    /// The branch shown, root to leaf.
    pub selected_path: Vec<Uuid>,
}

/// The message tree (permission `chat.use`).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ThreadResponse), (status = 404, body = ErrorBody)))]
async fn list_messages(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<Json<ThreadResponse>> {
    let thread = conversations::thread(request.store.as_ref(), &request.access, ConversationId(id)).await?;
    Ok(Json(ThreadResponse {
        conversation: thread.conversation.into(),
        items: thread.messages.into_iter().map(MessageResponse::from).collect(),
        selected_path: thread.selected_path.into_iter().map(|id| id.0).collect(),
    }))
}

/// A question.
#[derive(Deserialize, ToSchema)]
pub struct PostMessageRequest {
    /// 1–10,000 characters.
    pub content: String,
    /// Answer under this message (default: the end of the branch shown).
    pub parent_id: Option<Uuid>,
    /// Edit this earlier question: the new one starts a sibling branch.
    pub edit_of: Option<Uuid>,
    /// Answer with Server-Sent Events: `message`, `sources`, `delta`…, `done` or `error`.
    #[serde(default)]
    pub stream: bool,
}

/// Ask: the question is stored, answered from the documents the caller may read (within the
/// conversation's project, if any), and the answer stored with its citations. A model
/// failure still answers 201, with the stored answer's `error` set.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), request_body = PostMessageRequest,
    responses((status = 201, body = TurnResponse, description = "JSON, or text/event-stream when streaming"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn post_message(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<PostMessageRequest>,
) -> ApiResult<Response> {
    state.spend(Action::Chat, &client, Some(request.principal.user.id))?;
    let input = PostInput {
        content: body.content,
        parent_id: body.parent_id.map(MessageId),
        edit_of: body.edit_of.map(MessageId),
    };
    let access = request.access.clone();
    let turn = state.assistant.post(request.store, request.access, ConversationId(id), input).await?;
    Ok(turns::respond(&state.turns, turn, body.stream, &access).await)
}
