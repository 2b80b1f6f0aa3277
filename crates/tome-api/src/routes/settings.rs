//! The caller's own settings.

use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tome_domain::identity::UserSettings;
use tome_domain::settings;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, replace_settings, merge_settings))
}

#[derive(Serialize, ToSchema)]
pub struct SettingsResponse {
    /// Free-form preferences (theme, language, default persona, …).
    pub settings: Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<UserSettings> for SettingsResponse {
    fn from(s: UserSettings) -> Self {
        Self { settings: s.settings, updated_at: s.updated_at }
    }
}

/// Your settings (an empty object until you set some).
#[utoipa::path(get, path = "/api/v1/me/settings", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = SettingsResponse), (status = 401, body = ErrorBody)))]
async fn get_settings(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
) -> ApiResult<Json<SettingsResponse>> {
    Ok(Json(state.store.get_settings(principal.user.id).await?.into()))
}

/// Replace your settings with this JSON object (at most 64 KiB).
#[utoipa::path(put, path = "/api/v1/me/settings", tag = "users", security(("bearer" = [])), request_body = std::collections::HashMap<String, Value>,
    responses((status = 200, body = SettingsResponse), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_settings(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Json(body): Json<Value>,
) -> ApiResult<Json<SettingsResponse>> {
    Ok(Json(settings::replace(state.store.as_ref(), principal.user.id, body).await?.into()))
}

/// Change your settings with a JSON merge patch (RFC 7396): `null` removes a member.
#[utoipa::path(patch, path = "/api/v1/me/settings", tag = "users", security(("bearer" = [])), request_body = std::collections::HashMap<String, Value>,
    responses((status = 200, body = SettingsResponse), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn merge_settings(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Json(body): Json<Value>,
) -> ApiResult<Json<SettingsResponse>> {
    Ok(Json(settings::merge(state.store.as_ref(), principal.user.id, body).await?.into()))
}
