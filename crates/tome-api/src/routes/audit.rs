//! The request's tenant's audit log.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::knowledge::{AuditEntry, AuditFilter};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `member.add`.
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    /// e.g. `user`, `tenant`, `role`.
    pub target_type: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryResponse {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub summary: Option<String>,
    pub changes: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id.0,
            actor_id: e.actor_id.map(|a| a.0),
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            summary: e.summary,
            changes: e.changes,
            ip: e.ip,
            user_agent: e.user_agent,
            created_at: e.created_at,
        }
    }
}

/// What happened in the tenant, newest first (permission `audit.read`).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "access", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = PageResponse<AuditEntryResponse>), (status = 403, body = ErrorBody)))]
async fn list_audit_log(
    State(state): State<AppState>,
    request: Require<perm::AuditRead>,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<PageResponse<AuditEntryResponse>>> {
    let page = PageQuery { limit: query.limit, cursor: query.cursor }.request()?;
    let filter =
        AuditFilter { action: query.action, actor_id: query.actor_id.map(Into::into), target_type: query.target_type };
    let entries = state.store.list_audit(request.access.tenant_id, filter, page).await?;
    Ok(Json(PageResponse::from_page(entries, AuditEntryResponse::from)))
}
