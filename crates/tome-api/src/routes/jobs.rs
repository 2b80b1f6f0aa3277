//! The background job queue, for superadmins: what is queued, running, done or failed, and
//! why a job failed.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tome_domain::jobs::{self, Job, JobStatus};
use tome_domain::{DomainError, PageRequest};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageResponse, Query};
use axum::extract::State;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_jobs))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JobResponse {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    /// e.g. `document.ingest`, `document.embed`, `document.purge`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The worker holding it while it runs.
    pub locked_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub run_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Job> for JobResponse {
    fn from(j: Job) -> Self {
        Self {
            id: j.id.0,
            tenant_id: j.tenant_id.map(|t| t.0),
            kind: j.kind,
            payload: j.payload,
            status: j.status.to_string(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            locked_by: j.locked_by,
            run_at: j.run_at,
            finished_at: j.finished_at,
            created_at: j.created_at,
        }
    }
}

/// The job queue, newest first (superadmins only).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = ["superadmin"])), params(JobQuery),
    responses((status = 200, body = PageResponse<JobResponse>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_jobs(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Query(query): Query<JobQuery>,
) -> ApiResult<Json<PageResponse<JobResponse>>> {
    let status = match query.status.as_deref() {
        Some(text) => Some(
            text.parse::<JobStatus>()
                .map_err(|_| DomainError::invalid("status", "must be one of queued, running, succeeded, failed"))?,
        ),
        None => None,
    };
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let found = jobs::list(state.store.as_ref(), &principal, status, page).await?;
    Ok(Json(PageResponse::from_page(found, JobResponse::from)))
}
