//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
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

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
async fn metrics(State(state): State<AppState>) -> Response {
    let (open, idle) = state.store.pool_state();
    let text = state.metrics.render(open, idle);
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
