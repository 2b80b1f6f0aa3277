//! Accounts as administrators see them: read, activate, deactivate.

use axum::extract::State;
use tome_domain::accounts::set_active;
use tome_domain::{DomainError, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::routes::auth::UserResponse;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_user)).routes(routes!(activate_user)).routes(routes!(deactivate_user))
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

/// One user of the request's tenant.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
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
#[utoipa::path(post, path = "/api/v1/users/{id}/activate", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
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
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
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
