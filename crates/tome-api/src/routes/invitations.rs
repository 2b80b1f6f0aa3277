//! Invitations to a tenant: create (mailed; the token is shown once), list, withdraw, accept.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::identity::Invitation;
use tome_domain::invitations;
use tome_domain::{InvitationId, TenantId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, CurrentUser};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query};
use crate::routes::members::MemberResponse;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
}

#[derive(Serialize, ToSchema)]
pub struct InvitationResponse {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    pub invited_by: Option<Uuid>,
    /// `open`, `accepted`, `revoked` or `expired`.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub accepted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Invitation> for InvitationResponse {
    fn from(invitation: Invitation) -> Self {
        let status = if invitation.accepted_at.is_some() {
            "accepted"
        } else if invitation.revoked_at.is_some() {
            "revoked"
        } else if invitation.expires_at <= tome_domain::now() {
            "expired"
        } else {
            "open"
        };
        Self {
            id: invitation.id.0,
            tenant_id: invitation.tenant_id.0,
            email: invitation.email,
            roles: serde_json::from_value(invitation.roles).unwrap_or_default(),
            invited_by: invitation.invited_by.map(|id| id.0),
            status,
            expires_at: invitation.expires_at,
            accepted_at: invitation.accepted_at,
            created_at: invitation.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedInvitationResponse {
    #[serde(flatten)]
    pub invitation: InvitationResponse,
    /// What the invited person presents to accept (`POST /api/v1/invitations/{token}/accept`),
    /// logged in with the invited address. Shown once; it is also mailed to the address.
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateInvitationRequest {
    #[schema(max_length = 254)]
    pub email: String,
    /// Role names (only roles you may grant); `member` when absent.
    #[serde(default)]
    #[schema(max_items = 32)]
    pub roles: Option<Vec<String>>,
}

/// Invite an email address to the tenant (permission `members.manage`). The answer is the
/// same whether or not the address has an account.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/invitations", tag = "tenants", security(("bearer" = ["members.manage"])),
    params(("id" = Uuid, Path)), request_body = CreateInvitationRequest,
    responses((status = 201, body = CreatedInvitationResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_invitation(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<CreateInvitationRequest>,
) -> ApiResult<Response> {
    let roles = body.roles.unwrap_or_else(|| vec![tome_domain::authority::MEMBER.into()]);
    let issued = invitations::invite(
        state.store.as_ref(),
        state.mailer.as_ref(),
        &principal,
        TenantId(id),
        &body.email,
        &roles,
        &client,
    )
    .await?;
    let response = CreatedInvitationResponse { invitation: issued.invitation.into(), token: issued.token };
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// The tenant's invitations, newest first (permission `members.manage`).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/invitations", tag = "tenants", security(("bearer" = ["members.manage"])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = PageResponse<InvitationResponse>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_invitations(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Path(id): Path<Uuid>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<InvitationResponse>>> {
    let page = invitations::list(state.store.as_ref(), &principal, TenantId(id), query.request()?).await?;
    Ok(Json(PageResponse::from_page(page, InvitationResponse::from)))
}

/// Withdraw an open invitation (permission `members.manage`).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/invitations/{invitation_id}", tag = "tenants",
    security(("bearer" = ["members.manage"])), params(("id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_invitation(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path((id, invitation_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let store = state.store.as_ref();
    invitations::revoke(store, &principal, TenantId(id), InvitationId(invitation_id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an invitation: you join its tenant with its roles. You must be logged in with the
/// invited address; any other token is 404.
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "tenants", security(("bearer" = [])),
    params(("token" = String, Path, max_length = 100)),
    responses((status = 200, body = MemberResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn accept_invitation(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Path(token): Path<String>,
) -> ApiResult<Json<MemberResponse>> {
    let member = invitations::accept(state.store.as_ref(), &principal, &token, &client).await?;
    Ok(Json(member.into()))
}
