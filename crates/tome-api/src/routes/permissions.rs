//! The permission catalog.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Json, PageQuery, PageResponse, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_permissions))
}

#[derive(Serialize, ToSchema)]
pub struct PermissionResponse {
    pub id: uuid::Uuid,
    /// e.g. `documents.read`.
    pub name: String,
    pub description: String,
}

/// Every permission a role can grant, by name.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "access", params(PageQuery),
    responses((status = 200, body = PageResponse<PermissionResponse>), (status = 422, body = crate::error::ErrorBody)))]
async fn list_permissions(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<PermissionResponse>>> {
    let page = query.request()?;
    let catalog = state.store.list_permissions().await?;
    let page = tome_domain::Page::from_sorted(catalog, page, |p| p.id.0);
    Ok(Json(PageResponse::from_page(page, |p| PermissionResponse {
        id: p.id.0,
        name: p.name,
        description: p.description,
    })))
}
