//! Tenants and their members.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::TenantId;
use tome_domain::identity::Tenant;
use tome_domain::tenancy::{self, TenantInput, TenantPatchInput};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, CurrentUser};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query, nullable};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tenants, create_tenant)).routes(routes!(
        get_tenant,
        update_tenant,
        delete_tenant
    ))
}

#[derive(Serialize, ToSchema)]
pub struct TenantResponse {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_default: bool,
    pub require_two_factor: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Tenant> for TenantResponse {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.0,
            name: t.name,
            slug: t.slug,
            description: t.description,
            is_default: t.is_default,
            require_two_factor: t.require_two_factor,
            created_at: t.created_at,
        }
    }
}

/// Superadmins: every tenant; others: the tenants they belong to.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = PageResponse<TenantResponse>), (status = 401, body = ErrorBody)))]
async fn list_tenants(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<TenantResponse>>> {
    let page = tenancy::list_tenants(state.store.as_ref(), &principal, query.request()?).await?;
    Ok(Json(PageResponse::from_page(page, TenantResponse::from)))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTenantRequest {
    pub name: String,
    /// URL-safe; derived from the name when absent.
    pub slug: Option<String>,
    pub description: Option<String>,
}

/// Create a tenant (superadmins only). It starts with its default persona.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = ["superadmin"])), request_body = CreateTenantRequest,
    responses((status = 201, body = TenantResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tenant(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Json(body): Json<CreateTenantRequest>,
) -> ApiResult<Response> {
    let input = TenantInput { name: body.name, slug: body.slug, description: body.description };
    let tenant = tenancy::create_tenant(state.store.as_ref(), &principal, input, &client).await?;
    Ok((StatusCode::CREATED, Json(TenantResponse::from(tenant))).into_response())
}

/// One tenant the caller belongs to.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = TenantResponse), (status = 404, body = ErrorBody)))]
async fn get_tenant(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<TenantResponse>> {
    Ok(Json(tenancy::get_tenant(state.store.as_ref(), &principal, TenantId(id)).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateTenantRequest {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Members must turn on two-factor authentication before they can act in this tenant.
    pub require_two_factor: Option<bool>,
}

/// Rename or describe a tenant (permission `tenant.manage` there).
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants", security(("bearer" = ["tenant.manage"])), params(("id" = Uuid, Path)),
    request_body = UpdateTenantRequest,
    responses((status = 200, body = TenantResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_tenant(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateTenantRequest>,
) -> ApiResult<Json<TenantResponse>> {
    let input = TenantPatchInput {
        name: body.name,
        slug: body.slug,
        description: body.description,
        require_two_factor: body.require_two_factor,
    };
    Ok(Json(tenancy::update_tenant(state.store.as_ref(), &principal, TenantId(id), input, &client).await?.into()))
}

/// Delete a tenant and everything it owns (superadmins only; not the default tenant).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}", tag = "tenants", security(("bearer" = ["superadmin"])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_tenant(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    tenancy::delete_tenant(state.store.as_ref(), &principal, TenantId(id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
