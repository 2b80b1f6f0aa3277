//! API keys of the request's tenant: create (secret shown once), list, revoke.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::ApiKeyId;
use tome_domain::api_keys::create_api_key;
use tome_domain::identity::ApiKey;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::TenantAccess;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_key, list_keys)).routes(routes!(revoke_key))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateKeyRequest {
    pub name: String,
    /// A subset of your permissions in this tenant; all of them when absent.
    pub permissions: Option<Vec<String>>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyResponse {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// The public part, as it appears at the start of the key.
    pub prefix: String,
    pub permissions: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<ApiKey> for KeyResponse {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id.0,
            tenant_id: key.tenant_id.0,
            name: key.name,
            prefix: key.prefix,
            permissions: serde_json::from_value(key.permissions).unwrap_or_default(),
            last_used_at: key.last_used_at,
            expires_at: key.expires_at,
            revoked_at: key.revoked_at,
            created_at: key.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKeyResponse {
    /// The whole key. It is shown this once: only its hash is kept.
    pub key: String,
    #[serde(flatten)]
    pub details: KeyResponse,
}

/// Create a key for the request's tenant, with a subset of your permissions there.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "auth", security(("bearer" = [])), request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedKeyResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_key(
    State(state): State<AppState>,
    TenantAccess { principal, access, .. }: TenantAccess,
    Json(body): Json<CreateKeyRequest>,
) -> ApiResult<Response> {
    let created =
        create_api_key(state.store.as_ref(), &access, &principal.user, &body.name, body.permissions, body.expires_at)
            .await?;
    let body = CreatedKeyResponse { key: created.secret, details: created.key.into() };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Your keys in the request's tenant, newest first.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "auth", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = PageResponse<KeyResponse>), (status = 401, body = ErrorBody)))]
async fn list_keys(
    State(state): State<AppState>,
    TenantAccess { principal, access, .. }: TenantAccess,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<KeyResponse>>> {
    let page = state.store.list_api_keys(access.tenant_id, Some(principal.user.id), query.request()?).await?;
    Ok(Json(PageResponse::from_page(page, KeyResponse::from)))
}

/// Revoke one of your keys; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "auth", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(state): State<AppState>,
    TenantAccess { principal, access, .. }: TenantAccess,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let key = state.store.get_api_key(access.tenant_id, ApiKeyId(id)).await?;
    if key.user_id != principal.user.id {
        return Err(tome_domain::DomainError::NotFound("API key").into());
    }
    state.store.revoke_api_key(access.tenant_id, ApiKeyId(id), tome_domain::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
