//! A tenant's social links, under the tenant's path: members read them, `tenant.manage`
//! changes them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::access::Access;
use tome_domain::auth::Principal;
use tome_domain::organization::{SocialLink, SocialLinkPatch, SocialPlatform};
use tome_domain::repo::Store;
use tome_domain::{DomainError, SocialLinkId, TenantId, social_links, tenancy};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_links, create_link)).routes(routes!(update_link, delete_link))
}

#[derive(Serialize, ToSchema)]
pub struct SocialLinkResponse {
    pub id: Uuid,
    /// `twitter`, `facebook`, `linkedin`, `instagram` or `youtube`.
    pub platform: String,
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<SocialLink> for SocialLinkResponse {
    fn from(l: SocialLink) -> Self {
        Self {
            id: l.id.0,
            platform: l.platform.as_str().to_owned(),
            url: l.url,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

fn platform(raw: &str) -> Result<SocialPlatform, DomainError> {
    raw.parse().map_err(|_| {
        DomainError::invalid("platform", "must be one of: twitter, facebook, linkedin, instagram, youtube")
    })
}

/// The caller's access in the path's tenant (404 for non-members) and the store confined to it.
async fn in_tenant(
    state: &AppState,
    principal: &Principal,
    tenant: Uuid,
) -> Result<(Access, Arc<dyn Store>), ApiError> {
    let access = tenancy::access_in(state.store.as_ref(), principal, TenantId(tenant)).await?;
    let store = state.store.for_tenant(access.tenant_id);
    Ok((access, store))
}

/// The tenant's social links (members of the tenant).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/social-links", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = PageResponse<SocialLinkResponse>), (status = 404, body = ErrorBody)))]
async fn list_links(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Path(id): Path<Uuid>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<SocialLinkResponse>>> {
    let (access, store) = in_tenant(&state, &principal, id).await?;
    let store = store.as_ref();
    let links = social_links::list(store, &access, query.request()?).await?;
    Ok(Json(PageResponse::from_page(links, SocialLinkResponse::from)))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateLinkRequest {
    pub platform: String,
    /// An http(s) URL on the platform's site.
    pub url: String,
}

/// Add a social link (permission `tenant.manage`).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/social-links", tag = "tenants",
    security(("bearer" = ["tenant.manage"])), params(("id" = Uuid, Path)), request_body = CreateLinkRequest,
    responses((status = 201, body = SocialLinkResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_link(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<CreateLinkRequest>,
) -> ApiResult<Response> {
    let (access, store) = in_tenant(&state, &principal, id).await?;
    let store = store.as_ref();
    let link = social_links::create(store, &access, platform(&body.platform)?, &body.url, &client).await?;
    Ok((StatusCode::CREATED, Json(SocialLinkResponse::from(link))).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateLinkRequest {
    pub platform: Option<String>,
    pub url: Option<String>,
}

/// Change a social link (permission `tenant.manage`).
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/social-links/{link_id}", tag = "tenants",
    security(("bearer" = ["tenant.manage"])), params(("id" = Uuid, Path), ("link_id" = Uuid, Path)),
    request_body = UpdateLinkRequest,
    responses((status = 200, body = SocialLinkResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_link(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path((id, link_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateLinkRequest>,
) -> ApiResult<Json<SocialLinkResponse>> {
    let (access, store) = in_tenant(&state, &principal, id).await?;
    let store = store.as_ref();
    let patch = SocialLinkPatch { url: body.url, platform: body.platform.as_deref().map(platform).transpose()? };
    let link = social_links::update(store, &access, SocialLinkId(link_id), patch, &client).await?;
    Ok(Json(link.into()))
}

/// Remove a social link (permission `tenant.manage`).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/social-links/{link_id}", tag = "tenants",
    security(("bearer" = ["tenant.manage"])), params(("id" = Uuid, Path), ("link_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_link(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path((id, link_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (access, store) = in_tenant(&state, &principal, id).await?;
    let store = store.as_ref();
    social_links::delete(store, &access, SocialLinkId(link_id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
