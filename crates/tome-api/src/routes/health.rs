//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::Json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct HealthResponse {
    /// Always `ok` while the process serves requests.
    pub status: &'static str,
    pub version: &'static str,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = HealthResponse)))]
async fn healthz() -> Json<HealthResponse> {
    Json(HealthResponse { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

#[derive(Serialize, ToSchema)]
pub struct ReadyResponse {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    pub database_reachable: bool,
    pub migrations_applied: bool,
    /// Newest applied migration version.
    pub migration: Option<i64>,
}

/// The database is reachable and every migration is applied; 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "system", responses(
    (status = 200, body = ReadyResponse), (status = 503, body = ReadyResponse)))]
async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = state.store.readiness().await;
    let ready = readiness.reachable && readiness.migrations_applied;
    let body = ReadyResponse {
        status: if ready { "ready" } else { "not_ready" },
        database: state.store.backend(),
        database_reachable: readiness.reachable,
        migrations_applied: readiness.migrations_applied,
        migration: readiness.latest_migration,
    };
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// Prometheus metrics (OpenMetrics text). With `TOME_METRICS_TOKEN` set, only with
/// `Authorization: Bearer <token>`; with `TOME_METRICS_BIND` set, only on that address.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.config.metrics_bind.is_some() {
        return crate::error::envelope(
            StatusCode::NOT_FOUND,
            "not_found",
            "metrics are served on their own address",
            None,
        );
    }
    metrics_answer(&state, &headers)
}

/// The router of `TOME_METRICS_BIND`: `/metrics` alone.
pub fn metrics_only(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(state): State<AppState>, headers: HeaderMap| async move {
                metrics_answer(&state, &headers)
            }),
        )
        .with_state(state)
}

fn metrics_answer(state: &AppState, headers: &HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !tome_domain::auth::constant_time_eq(presented, token.expose_secret()) {
            let message = "metrics need `Authorization: Bearer <TOME_METRICS_TOKEN>`";
            return crate::error::envelope(StatusCode::UNAUTHORIZED, "unauthorized", message, None);
        }
    }
    let (open, idle) = state.store.pool_state();
    let text = state.metrics.render(open, idle);
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
