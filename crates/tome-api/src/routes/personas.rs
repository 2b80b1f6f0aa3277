//! Personas: the tenant's (read-only without `personas.manage`) and the caller's own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::PersonaId;
use tome_domain::chat::{Persona, PersonaPatch};
use tome_domain::personas::{self, PersonaInput};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query, nullable};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_personas, create_persona)).routes(routes!(
        get_persona,
        update_persona,
        delete_persona
    ))
}

#[derive(Serialize, ToSchema)]
pub struct PersonaResponse {
    pub id: Uuid,
    /// None: the tenant's persona; else its owner.
    pub owner_id: Option<Uuid>,
    /// What `model` names in the OpenAI-compatible API.
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub system_prompt: String,
    pub model: Option<String>,
    pub default_temperature: f64,
    pub max_tokens: i32,
    pub is_active: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Persona> for PersonaResponse {
    fn from(p: Persona) -> Self {
        Self {
            id: p.id.0,
            owner_id: p.owner_id.map(|u| u.0),
            name: p.name,
            display_name: p.display_name,
            description: p.description,
            system_prompt: p.system_prompt,
            model: p.model,
            default_temperature: p.default_temperature,
            max_tokens: p.max_tokens,
            is_active: p.is_active,
            updated_at: p.updated_at,
        }
    }
}

/// A new persona.
#[derive(Deserialize, ToSchema)]
pub struct PersonaRequest {
    /// 1–64 characters of a-z, 0-9, `.`, `_`, `-`; unique in the tenant.
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub system_prompt: String,
    /// One of the models of `GET /v1/models`.
    pub model: Option<String>,
    /// 0–2 (default 0.7).
    pub default_temperature: Option<f64>,
    /// 1 to what the model can write (default 1,024 or the model's limit).
    pub max_tokens: Option<i32>,
    /// The tenant's persona rather than the caller's own (needs `personas.manage`).
    #[serde(default)]
    pub shared: bool,
}

/// Changes to a persona: fields left out stay; `null` clears.
#[derive(Deserialize, ToSchema)]
pub struct PersonaPatchRequest {
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub system_prompt: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub model: Option<Option<String>>,
    pub default_temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub is_active: Option<bool>,
}

/// The tenant's personas and the caller's own (permission `chat.use`).
#[utoipa::path(get, path = "/api/v1/personas", tag = "chat", security(("bearer" = ["chat.use"])), params(PageQuery),
    responses((status = 200, body = PageResponse<PersonaResponse>)))]
async fn list_personas(
    request: Require<perm::ChatUse>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<PersonaResponse>>> {
    let list = personas::list(request.store.as_ref(), &request.access, query.request()?).await?;
    Ok(Json(PageResponse::from_page(list, PersonaResponse::from)))
}

/// Create a persona: one's own, or the tenant's with `shared` (permission `personas.manage`).
#[utoipa::path(post, path = "/api/v1/personas", tag = "chat", security(("bearer" = ["chat.use"])),
    request_body = PersonaRequest,
    responses((status = 201, body = PersonaResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_persona(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Json(body): Json<PersonaRequest>,
) -> ApiResult<Response> {
    let input = PersonaInput {
        name: body.name,
        display_name: body.display_name,
        description: body.description,
        system_prompt: body.system_prompt,
        model: body.model,
        default_temperature: body.default_temperature,
        max_tokens: body.max_tokens,
        shared: body.shared,
    };
    let catalog = state.assistant.catalog();
    let persona = personas::create(request.store.as_ref(), &request.access, input, &catalog).await?;
    Ok((StatusCode::CREATED, Json(PersonaResponse::from(persona))).into_response())
}

/// One persona the caller may read.
#[utoipa::path(get, path = "/api/v1/personas/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 200, body = PersonaResponse), (status = 404, body = ErrorBody)))]
async fn get_persona(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<Json<PersonaResponse>> {
    Ok(Json(personas::get(request.store.as_ref(), &request.access, PersonaId(id)).await?.into()))
}

/// Change a persona (one's own; the tenant's with `personas.manage`).
#[utoipa::path(patch, path = "/api/v1/personas/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), request_body = PersonaPatchRequest,
    responses((status = 200, body = PersonaResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_persona(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Path(id): Path<Uuid>,
    Json(body): Json<PersonaPatchRequest>,
) -> ApiResult<Json<PersonaResponse>> {
    let patch = PersonaPatch {
        display_name: body.display_name,
        description: body.description,
        system_prompt: body.system_prompt,
        model: body.model,
        default_temperature: body.default_temperature,
        max_tokens: body.max_tokens,
        is_active: body.is_active,
    };
    let catalog = state.assistant.catalog();
    let persona = personas::update(request.store.as_ref(), &request.access, PersonaId(id), patch, &catalog).await?;
    Ok(Json(persona.into()))
}

/// Delete a persona (one's own; the tenant's with `personas.manage`).
#[utoipa::path(delete, path = "/api/v1/personas/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_persona(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    personas::delete(request.store.as_ref(), &request.access, PersonaId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
