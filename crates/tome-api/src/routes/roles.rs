//! The roles of the request's tenant (`X-Tenant`): built-in ones and the tenant's own.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tome_domain::RoleId;
use tome_domain::identity::RolePatch;
use tome_domain::roles::{self, RoleView};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, TenantAccess, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path, nullable};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_roles, create_role)).routes(routes!(get_role, update_role, delete_role))
}

#[derive(Serialize, ToSchema)]
pub struct RoleResponse {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Built-in roles (owner, admin, member, viewer) are the same in every tenant and read-only.
    pub builtin: bool,
    pub permissions: Vec<String>,
}

impl From<RoleView> for RoleResponse {
    fn from(view: RoleView) -> Self {
        Self {
            id: view.role.id.0,
            name: view.role.name,
            description: view.role.description,
            builtin: view.role.tenant_id.is_none(),
            permissions: view.permissions,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RoleList {
    pub items: Vec<RoleResponse>,
    pub next_cursor: Option<String>,
}

/// The tenant's own roles, then the built-in ones.
#[utoipa::path(get, path = "/api/v1/roles", tag = "access", security(("bearer" = [])),
    responses((status = 200, body = RoleList), (status = 401, body = ErrorBody)))]
async fn list_roles(request: TenantAccess) -> ApiResult<Json<RoleList>> {
    let items =
        roles::list_roles(request.store.as_ref(), &request.access).await?.into_iter().map(RoleResponse::from).collect();
    Ok(Json(RoleList { items, next_cursor: None }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateRoleRequest {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// Create a role of this tenant (permission `roles.manage`).
#[utoipa::path(post, path = "/api/v1/roles", tag = "access", security(("bearer" = ["roles.manage"])), request_body = CreateRoleRequest,
    responses((status = 201, body = RoleResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_role(
    request: Require<perm::RolesManage>,
    Client(client): Client,
    Json(body): Json<CreateRoleRequest>,
) -> ApiResult<Response> {
    let view = roles::create_role(
        request.store.as_ref(),
        &request.access,
        &body.name,
        body.description,
        &body.permissions,
        &client,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(RoleResponse::from(view))).into_response())
}

/// One role.
#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "access", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = RoleResponse), (status = 404, body = ErrorBody)))]
async fn get_role(request: TenantAccess, Path(id): Path<Uuid>) -> ApiResult<Json<RoleResponse>> {
    Ok(Json(roles::get_role(request.store.as_ref(), &request.access, RoleId(id)).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateRoleRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Replaces the role's permissions when present.
    pub permissions: Option<Vec<String>>,
}

/// Rename a role or change its permissions (built-in roles: 403).
#[utoipa::path(patch, path = "/api/v1/roles/{id}", tag = "access", security(("bearer" = ["roles.manage"])), params(("id" = Uuid, Path)),
    request_body = UpdateRoleRequest,
    responses((status = 200, body = RoleResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_role(
    request: Require<perm::RolesManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateRoleRequest>,
) -> ApiResult<Json<RoleResponse>> {
    let patch = RolePatch { name: body.name, description: body.description };
    let view =
        roles::update_role(request.store.as_ref(), &request.access, RoleId(id), patch, body.permissions, &client)
            .await?;
    Ok(Json(view.into()))
}

/// Delete a role that nobody holds (built-in roles: 403; in use: 409).
#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "access", security(("bearer" = ["roles.manage"])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_role(
    request: Require<perm::RolesManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    roles::delete_role(request.store.as_ref(), &request.access, RoleId(id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
