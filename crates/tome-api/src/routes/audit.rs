//! The audit logs: the request's tenant's, and the platform's (superadmins).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::knowledge::{AuditEntry, AuditFilter};
use tome_domain::{PageRequest, audit};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{CurrentUser, Require, perm};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit_log))
        .routes(routes!(verify_audit_log))
        .routes(routes!(list_platform_audit_log))
        .routes(routes!(verify_platform_audit_log))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `member.add`.
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    /// e.g. `user`, `tenant`, `role`.
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Entries at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// Entries before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryResponse {
    pub id: Uuid,
    /// Position in the tenant's hash chain.
    pub seq: Option<i64>,
    /// sha256 of the previous entry's hash and this entry.
    pub hash: Option<String>,
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
            seq: e.seq,
            hash: e.hash,
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

impl AuditQuery {
    fn split(self) -> Result<(AuditFilter, PageRequest), ApiError> {
        let page = PageQuery { limit: self.limit, cursor: self.cursor }.request()?;
        let filter = AuditFilter {
            action: self.action,
            actor_id: self.actor_id.map(Into::into),
            target_type: self.target_type,
            target_id: self.target_id,
            since: self.since,
            until: self.until,
        };
        Ok((filter, page))
    }
}

/// What happened in the tenant, newest first (permission `audit.read`).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "access", security(("bearer" = ["audit.read"])), params(AuditQuery),
    responses((status = 200, body = PageResponse<AuditEntryResponse>), (status = 403, body = ErrorBody)))]
async fn list_audit_log(
    request: Require<perm::AuditRead>,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<PageResponse<AuditEntryResponse>>> {
    let (filter, page) = query.split()?;
    let entries = audit::list(request.store.as_ref(), &request.access, filter, page).await?;
    Ok(Json(PageResponse::from_page(entries, AuditEntryResponse::from)))
}

/// The platform's security events (logins, failed logins, registrations, account changes,
/// tenant deletions), newest first: superadmins, logged in.
#[utoipa::path(get, path = "/api/v1/audit-log/platform", tag = "access", security(("bearer" = ["superadmin"])), params(AuditQuery),
    responses((status = 200, body = PageResponse<AuditEntryResponse>), (status = 403, body = ErrorBody)))]
async fn list_platform_audit_log(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<PageResponse<AuditEntryResponse>>> {
    let (filter, page) = query.split()?;
    let entries = audit::list_platform(state.store.as_ref(), &principal, filter, page).await?;
    Ok(Json(PageResponse::from_page(entries, AuditEntryResponse::from)))
}

#[derive(Serialize, ToSchema)]
pub struct ChainResponse {
    /// Whether every entry matches its hash and links to the one before.
    pub valid: bool,
    /// Entries checked.
    pub entries: u64,
    /// The hash of the newest entry: keep it elsewhere to detect a truncated log later.
    pub head: Option<String>,
    /// The first entry that does not match.
    pub broken_entry: Option<AuditEntryResponse>,
    pub reason: Option<String>,
}

/// Recompute the tenant's audit hash chain (permission `audit.read`).
#[utoipa::path(get, path = "/api/v1/audit-log/verify", tag = "access", security(("bearer" = ["audit.read"])),
    responses((status = 200, body = ChainResponse), (status = 403, body = ErrorBody)))]
async fn verify_audit_log(request: Require<perm::AuditRead>) -> ApiResult<Json<ChainResponse>> {
    Ok(Json(audit::verify_tenant(request.store.as_ref(), &request.access).await?.into()))
}

/// Recompute the platform's audit hash chain: superadmins, logged in.
#[utoipa::path(get, path = "/api/v1/audit-log/platform/verify", tag = "access", security(("bearer" = ["superadmin"])),
    responses((status = 200, body = ChainResponse), (status = 403, body = ErrorBody)))]
async fn verify_platform_audit_log(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
) -> ApiResult<Json<ChainResponse>> {
    Ok(Json(audit::verify_platform(state.store.as_ref(), &principal).await?.into()))
}

impl From<audit::ChainReport> for ChainResponse {
    fn from(report: audit::ChainReport) -> Self {
        let valid = report.valid();
        let (broken_entry, reason) = match report.broken {
            Some((entry, reason)) => (Some(entry.into()), Some(reason)),
            None => (None, None),
        };
        Self { valid, entries: report.entries, head: report.head, broken_entry, reason }
    }
}
