//! The request's tenant's folders: a tree; moving a folder carries its subtree along.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::FolderId;
use tome_domain::organization::{Folder, FolderPatch};
use tome_domain::workspace;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, TenantAccess, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query, nullable};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_folders, create_folder)).routes(routes!(
        get_folder,
        update_folder,
        delete_folder
    ))
}

#[derive(Serialize, ToSchema)]
pub struct FolderResponse {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    /// Names from the root, e.g. `/Reports/2026`.
    pub path: String,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Folder> for FolderResponse {
    fn from(f: Folder) -> Self {
        Self {
            id: f.id.0,
            parent_id: f.parent_id.map(|p| p.0),
            name: f.name,
            path: f.path,
            created_by: f.created_by.map(|u| u.0),
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FolderQuery {
    /// Children of this folder (default: the root folders).
    pub parent_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Folders under a parent (root folders by default), newest first.
#[utoipa::path(get, path = "/api/v1/folders", tag = "organization", security(("bearer" = [])), params(FolderQuery),
    responses((status = 200, body = PageResponse<FolderResponse>), (status = 401, body = ErrorBody)))]
async fn list_folders(
    request: TenantAccess,
    Query(query): Query<FolderQuery>,
) -> ApiResult<Json<PageResponse<FolderResponse>>> {
    let page = PageQuery { limit: query.limit, cursor: query.cursor }.request()?;
    let parent = query.parent_id.map(FolderId);
    let folders = workspace::list_folders(request.store.as_ref(), &request.access, parent, page).await?;
    Ok(Json(PageResponse::from_page(folders, FolderResponse::from)))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateFolderRequest {
    pub name: String,
    /// The parent folder (default: the root).
    pub parent_id: Option<Uuid>,
}

/// Create a folder (permission `projects.manage`).
#[utoipa::path(post, path = "/api/v1/folders", tag = "organization", security(("bearer" = ["projects.manage"])),
    request_body = CreateFolderRequest,
    responses((status = 201, body = FolderResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_folder(
    request: Require<perm::ProjectsManage>,
    Client(client): Client,
    Json(body): Json<CreateFolderRequest>,
) -> ApiResult<Response> {
    let parent = body.parent_id.map(FolderId);
    let folder = workspace::create_folder(request.store.as_ref(), &request.access, parent, &body.name, &client).await?;
    Ok((StatusCode::CREATED, Json(FolderResponse::from(folder))).into_response())
}

/// One folder.
#[utoipa::path(get, path = "/api/v1/folders/{id}", tag = "organization", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = FolderResponse), (status = 404, body = ErrorBody)))]
async fn get_folder(request: TenantAccess, Path(id): Path<Uuid>) -> ApiResult<Json<FolderResponse>> {
    Ok(Json(workspace::get_folder(request.store.as_ref(), &request.access, FolderId(id)).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateFolderRequest {
    pub name: Option<String>,
    /// Move under this folder; `null` moves to the root. A folder cannot move into itself
    /// or below itself.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
}

/// Rename or move a folder (permission `projects.manage`).
#[utoipa::path(patch, path = "/api/v1/folders/{id}", tag = "organization", security(("bearer" = ["projects.manage"])),
    params(("id" = Uuid, Path)), request_body = UpdateFolderRequest,
    responses((status = 200, body = FolderResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_folder(
    request: Require<perm::ProjectsManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateFolderRequest>,
) -> ApiResult<Json<FolderResponse>> {
    let patch = FolderPatch { name: body.name, parent_id: body.parent_id.map(|p| p.map(FolderId)) };
    let folder =
        workspace::update_folder(request.store.as_ref(), &request.access, FolderId(id), patch, &client).await?;
    Ok(Json(folder.into()))
}

/// Delete a folder and its subfolders; their projects stay, without a folder
/// (permission `projects.manage`).
#[utoipa::path(delete, path = "/api/v1/folders/{id}", tag = "organization", security(("bearer" = ["projects.manage"])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_folder(
    request: Require<perm::ProjectsManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    workspace::delete_folder(request.store.as_ref(), &request.access, FolderId(id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
