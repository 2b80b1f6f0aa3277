//! A tenant's members: list, add (superadmins), remove, suspend, set roles.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::members::{self, Member};
use tome_domain::{TenantId, UserId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, CurrentUser};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query};
use crate::routes::auth::UserResponse;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, add_member))
        .routes(routes!(update_member, remove_member))
        .routes(routes!(set_member_roles))
}

#[derive(Serialize, ToSchema)]
pub struct MemberResponse {
    pub user: UserResponse,
    pub roles: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: OffsetDateTime,
    /// When the membership was suspended (null: it is not).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub suspended_at: Option<OffsetDateTime>,
}

impl From<Member> for MemberResponse {
    fn from(member: Member) -> Self {
        Self {
            user: member.user.into(),
            roles: member.roles.into_iter().map(|r| r.name).collect(),
            joined_at: member.membership.created_at,
            suspended_at: member.membership.suspended_at,
        }
    }
}

/// The tenant's members and their roles (permission `members.manage`).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/members", tag = "tenants", security(("bearer" = ["members.manage"])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = PageResponse<MemberResponse>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_members(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Path(id): Path<Uuid>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<MemberResponse>>> {
    let page = members::list_members(state.store.as_ref(), &principal, TenantId(id), query.request()?).await?;
    Ok(Json(PageResponse::from_page(page, MemberResponse::from)))
}

#[derive(Deserialize, ToSchema)]
pub struct AddMemberRequest {
    /// The account's id, email or username.
    #[schema(max_length = 254)]
    pub user: String,
    /// Role names; `member` when absent.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

/// Add an existing account to the tenant directly: superadmins only (a platform action).
/// Tenant administrators invite instead (`POST /api/v1/tenants/{id}/invitations`).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/members", tag = "tenants", security(("bearer" = ["superadmin"])),
    params(("id" = Uuid, Path)), request_body = AddMemberRequest,
    responses((status = 201, body = MemberResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<AddMemberRequest>,
) -> ApiResult<Response> {
    let roles = body.roles.unwrap_or_else(|| vec![tome_domain::authority::MEMBER.into()]);
    let member =
        members::add_member(state.store.as_ref(), &principal, TenantId(id), &body.user, &roles, &client).await?;
    Ok((StatusCode::CREATED, Json(MemberResponse::from(member))).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateMemberRequest {
    /// Suspend (`true`) or restore (`false`) the membership. A suspended member cannot act in
    /// this tenant; the account, its sessions and its other tenants are untouched.
    pub suspended: bool,
}

/// Suspend or restore a membership (permission `members.manage`; not an owner unless you are
/// one, never someone holding permissions you lack, never the last owner).
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/members/{user_id}", tag = "tenants", security(("bearer" = ["members.manage"])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = UpdateMemberRequest,
    responses((status = 200, body = MemberResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_member(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path((id, user_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateMemberRequest>,
) -> ApiResult<Json<MemberResponse>> {
    let store = state.store.as_ref();
    let member =
        members::suspend_member(store, &principal, TenantId(id), UserId(user_id), body.suspended, &client).await?;
    Ok(Json(member.into()))
}

/// Remove a member (never the last owner, never someone with more authority than you); a
/// member may remove themselves (leave).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/members/{user_id}", tag = "tenants", security(("bearer" = ["members.manage"])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path((id, user_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    members::remove_member(state.store.as_ref(), &principal, TenantId(id), UserId(user_id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct SetRolesRequest {
    #[schema(max_items = 32)]
    pub roles: Vec<String>,
}

/// Replace a member's roles: the last owner keeps `owner`, only owners make or unmake
/// owners, and nobody grants or withdraws a role carrying a permission they lack.
#[utoipa::path(put, path = "/api/v1/tenants/{id}/members/{user_id}/roles", tag = "tenants", security(("bearer" = ["members.manage"])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = SetRolesRequest,
    responses((status = 200, body = MemberResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn set_member_roles(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path((id, user_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SetRolesRequest>,
) -> ApiResult<Json<MemberResponse>> {
    let store = state.store.as_ref();
    let member =
        members::set_member_roles(store, &principal, TenantId(id), UserId(user_id), &body.roles, &client).await?;
    Ok(Json(member.into()))
}
