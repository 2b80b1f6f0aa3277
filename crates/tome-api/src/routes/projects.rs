//! The request's tenant's projects: they group documents and conversations.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::organization::{Project, ProjectFilter};
use tome_domain::workspace::{self, ProjectInput};
use tome_domain::{FolderId, ProjectId};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, TenantAccess, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query, nullable};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_projects, create_project)).routes(routes!(
        get_project,
        update_project,
        delete_project
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ProjectResponse {
    pub id: Uuid,
    pub folder_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub created_by: Option<Uuid>,
    pub last_modified_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Project> for ProjectResponse {
    fn from(p: Project) -> Self {
        Self {
            id: p.id.0,
            folder_id: p.folder_id.map(|f| f.0),
            name: p.name,
            description: p.description,
            icon: p.icon,
            created_by: p.created_by.map(|u| u.0),
            last_modified_by: p.last_modified_by.map(|u| u.0),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// Only the projects in this folder.
    pub folder_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The tenant's projects, newest first.
#[utoipa::path(get, path = "/api/v1/projects", tag = "organization", security(("bearer" = [])), params(ProjectQuery),
    responses((status = 200, body = PageResponse<ProjectResponse>), (status = 401, body = ErrorBody)))]
async fn list_projects(
    request: TenantAccess,
    Query(query): Query<ProjectQuery>,
) -> ApiResult<Json<PageResponse<ProjectResponse>>> {
    let page = PageQuery { limit: query.limit, cursor: query.cursor }.request()?;
    let filter = ProjectFilter { folder_id: query.folder_id.map(FolderId) };
    let projects = workspace::list_projects(request.store.as_ref(), &request.access, filter, page).await?;
    Ok(Json(PageResponse::from_page(projects, ProjectResponse::from)))
}

/// A new project, or changes to one: fields left out stay as they are; `null` clears.
#[derive(Deserialize, ToSchema)]
pub struct ProjectRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub folder_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// An emoji or short icon name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub icon: Option<Option<String>>,
}

impl From<ProjectRequest> for ProjectInput {
    fn from(body: ProjectRequest) -> Self {
        Self {
            name: body.name,
            folder_id: body.folder_id.map(|f| f.map(FolderId)),
            description: body.description,
            icon: body.icon,
        }
    }
}

/// Create a project (permission `projects.manage`).
#[utoipa::path(post, path = "/api/v1/projects", tag = "organization", security(("bearer" = ["projects.manage"])),
    request_body = ProjectRequest,
    responses((status = 201, body = ProjectResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_project(
    request: Require<perm::ProjectsManage>,
    Client(client): Client,
    Json(body): Json<ProjectRequest>,
) -> ApiResult<Response> {
    let project = workspace::create_project(request.store.as_ref(), &request.access, body.into(), &client).await?;
    Ok((StatusCode::CREATED, Json(ProjectResponse::from(project))).into_response())
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "organization", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ProjectResponse), (status = 404, body = ErrorBody)))]
async fn get_project(request: TenantAccess, Path(id): Path<Uuid>) -> ApiResult<Json<ProjectResponse>> {
    Ok(Json(workspace::get_project(request.store.as_ref(), &request.access, ProjectId(id)).await?.into()))
}

/// Change a project (permission `projects.manage`); records who changed it last.
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "organization", security(("bearer" = ["projects.manage"])),
    params(("id" = Uuid, Path)), request_body = ProjectRequest,
    responses((status = 200, body = ProjectResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_project(
    request: Require<perm::ProjectsManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<ProjectRequest>,
) -> ApiResult<Json<ProjectResponse>> {
    let project =
        workspace::update_project(request.store.as_ref(), &request.access, ProjectId(id), body.into(), &client).await?;
    Ok(Json(project.into()))
}

/// Delete a project (permission `projects.manage`).
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "organization", security(("bearer" = ["projects.manage"])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_project(
    request: Require<perm::ProjectsManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    workspace::delete_project(request.store.as_ref(), &request.access, ProjectId(id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
