//! The caller's avatar: a JPEG sent as the raw request body, served back as `image/jpeg`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tome_domain::avatar;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_avatar, put_avatar, delete_avatar))
}

/// Your avatar image (404 until you set one).
#[utoipa::path(get, path = "/api/v1/me/avatar", tag = "users", security(("bearer" = [])),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)))]
async fn get_avatar(State(state): State<AppState>, CurrentUser(principal): CurrentUser) -> ApiResult<Response> {
    let image = avatar::get(state.store.as_ref(), principal.user.id).await?;
    let headers = [
        (header::CONTENT_TYPE, image.mime_type),
        (header::CACHE_CONTROL, "private, no-cache".to_owned()),
        // Served like any upload: a download that runs nothing, whatever trails the JPEG.
        (header::CONTENT_DISPOSITION, "attachment; filename=\"avatar.jpg\"".to_owned()),
    ];
    Ok((headers, image.bytes).into_response())
}

/// Set your avatar: the JPEG itself as the request body, at most 512 KiB and 4096 pixels a
/// side. Anything that does not decode as a JPEG is refused whatever its content type says.
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "users", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 204), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn put_avatar(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    body: Bytes,
) -> ApiResult<StatusCode> {
    avatar::set(state.store.as_ref(), principal.user.id, body.to_vec()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove your avatar.
#[utoipa::path(delete, path = "/api/v1/me/avatar", tag = "users", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_avatar(State(state): State<AppState>, CurrentUser(principal): CurrentUser) -> ApiResult<StatusCode> {
    avatar::remove(state.store.as_ref(), principal.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
