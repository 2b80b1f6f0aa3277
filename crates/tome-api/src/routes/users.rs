//! Accounts as administrators see them: read, activate, deactivate.

use axum::extract::State;
use serde::Deserialize;
use tome_domain::accounts::set_active;
use tome_domain::identity::UserFilter;
use tome_domain::{DomainError, UserId, tenancy};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query};
use crate::routes::auth::UserResponse;
use crate::routes::tenants::{MemberResponse, SetRolesRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .routes(routes!(activate_user))
        .routes(routes!(deactivate_user))
        .routes(routes!(get_user_roles, set_user_roles))
}

/// A user that the caller may administer: a member of the request's tenant (superadmins:
/// anyone). Others are `NotFound`, as if they did not exist.
async fn administered(state: &AppState, admin: &Require<perm::UsersManage>, id: Uuid) -> ApiResult<UserId> {
    let user = UserId(id);
    if !admin.access.is_superadmin {
        state.store.get_membership(admin.access.tenant_id, user).await.map_err(|_| DomainError::NotFound("user"))?;
    }
    Ok(user)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Substring of the email, username or name.
    pub q: Option<String>,
    /// Only active (`true`) or only inactive (`false`) accounts, e.g. those awaiting approval.
    pub is_active: Option<bool>,
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
    let filter = UserFilter { is_active: query.is_active, query: query.q, tenant_id: Some(admin.access.tenant_id) };
    let users = state.store.list_users(filter, page).await?;
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
    let user = administered(&state, &admin, id).await?;
    Ok(Json(state.store.get_user(user).await?.into()))
}

/// Let the user log in (accounts awaiting approval start inactive).
#[utoipa::path(post, path = "/api/v1/users/{id}/activate", tag = "users", security(("bearer" = ["users.manage"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn activate_user(
    State(state): State<AppState>,
    admin: Require<perm::UsersManage>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UserResponse>> {
    let user = administered(&state, &admin, id).await?;
    Ok(Json(set_active(state.store.as_ref(), user, true).await?.into()))
}

/// Stop the user: every session ends and every API key is revoked at once; their data stays.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", security(("bearer" = ["users.manage"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn deactivate_user(
    State(state): State<AppState>,
    admin: Require<perm::UsersManage>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UserResponse>> {
    let user = administered(&state, &admin, id).await?;
    if user == admin.principal.user.id {
        return Err(DomainError::invalid("id", "you cannot deactivate yourself").into());
    }
    Ok(Json(set_active(state.store.as_ref(), user, false).await?.into()))
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
        tenancy::get_member(state.store.as_ref(), &request.principal, request.access.tenant_id, UserId(id)).await?;
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
        tenancy::set_member_roles(state.store.as_ref(), &request.principal, tenant, UserId(id), &body.roles, &client)
            .await?;
    Ok(Json(member.into()))
}
