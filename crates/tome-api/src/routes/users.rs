//! Accounts as administrators see them: read, activate, deactivate.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tome_domain::identity::UserFilter;
use tome_domain::{UserId, accounts, members, passwords};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, CurrentUser, Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query};
use crate::routes::auth::UserResponse;
use crate::routes::members::{MemberResponse, SetRolesRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .routes(routes!(activate_user))
        .routes(routes!(deactivate_user))
        .routes(routes!(get_user_roles, set_user_roles))
        .routes(routes!(create_reset_link))
}

#[derive(Serialize, ToSchema)]
pub struct ResetLinkResponse {
    /// Single use: send it with a new password to `POST /api/v1/auth/password/reset`.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: time::OffsetDateTime,
}

/// Make a single-use password reset token for an account (superadmins, logged in): how a
/// password is reset where no mail goes out. The token is shown once and never logged.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-link", tag = "users", security(("bearer" = ["superadmin"])),
    params(("id" = Uuid, Path)),
    responses((status = 201, body = ResetLinkResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_reset_link(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<ResetLinkResponse>)> {
    let store = state.store.as_ref();
    let (token, expires_at) = passwords::admin_reset_token(store, Some(&principal), UserId(id), &client).await?;
    Ok((StatusCode::CREATED, Json(ResetLinkResponse { token, expires_at })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Substring of the email, username or name.
    pub q: Option<String>,
    /// Only active (`true`) or only inactive (`false`) accounts, e.g. those awaiting approval.
    pub is_active: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The users of the request's tenant, newest first (permission `users.manage`).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = ["users.manage"])), params(UserQuery),
    responses((status = 200, body = PageResponse<UserResponse>), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    admin: Require<perm::UsersManage>,
    Query(query): Query<UserQuery>,
) -> ApiResult<Json<PageResponse<UserResponse>>> {
    let page = PageQuery { limit: query.limit, cursor: query.cursor }.request()?;
    let filter = UserFilter { is_active: query.is_active, query: query.q, tenant_id: None };
    let users = accounts::list_users(state.store.as_ref(), &admin.access, filter, page).await?;
    Ok(Json(PageResponse::from_page(users, UserResponse::from)))
}

/// One user of the request's tenant.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = ["users.manage"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    admin: Require<perm::UsersManage>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UserResponse>> {
    let user = accounts::administered(state.store.as_ref(), &admin.principal, &admin.access, UserId(id)).await?;
    Ok(Json(user.into()))
}

/// Let the user log in. Superadmins activate any account; a tenant administrator
/// (`users.manage`) approves a pending sign-up among the tenant's members (an inactive
/// account that never logged in).
#[utoipa::path(post, path = "/api/v1/users/{id}/activate", tag = "users", security(("bearer" = ["users.manage"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn activate_user(
    State(state): State<AppState>,
    admin: Require<perm::UsersManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UserResponse>> {
    let store = state.store.as_ref();
    Ok(Json(accounts::set_active(store, &admin.principal, &admin.access, UserId(id), true, &client).await?.into()))
}

/// Stop the account platform-wide (superadmins only): every session ends and every API key
/// is revoked at once; their data stays. Tenant administrators suspend a membership instead
/// (`PATCH /api/v1/tenants/{id}/members/{user_id}`).
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", security(("bearer" = ["superadmin"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn deactivate_user(
    State(state): State<AppState>,
    admin: Require<perm::UsersManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UserResponse>> {
    let store = state.store.as_ref();
    Ok(Json(accounts::set_active(store, &admin.principal, &admin.access, UserId(id), false, &client).await?.into()))
}

/// The user's roles in the request's tenant (permission `members.manage`).
#[utoipa::path(get, path = "/api/v1/users/{id}/roles", tag = "users", security(("bearer" = ["members.manage"])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = MemberResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_user_roles(
    State(state): State<AppState>,
    request: Require<perm::MembersManage>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<MemberResponse>> {
    let member =
        members::get_member(state.store.as_ref(), &request.principal, request.access.tenant_id, UserId(id)).await?;
    Ok(Json(member.into()))
}

/// Replace the user's roles in the request's tenant; the last owner keeps `owner`
/// (permission `members.manage`).
#[utoipa::path(put, path = "/api/v1/users/{id}/roles", tag = "users", security(("bearer" = ["members.manage"])),
    params(("id" = Uuid, Path)), request_body = SetRolesRequest,
    responses((status = 200, body = MemberResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_user_roles(
    State(state): State<AppState>,
    request: Require<perm::MembersManage>,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<SetRolesRequest>,
) -> ApiResult<Json<MemberResponse>> {
    let tenant = request.access.tenant_id;
    let member =
        members::set_member_roles(state.store.as_ref(), &request.principal, tenant, UserId(id), &body.roles, &client)
            .await?;
    Ok(Json(member.into()))
}
