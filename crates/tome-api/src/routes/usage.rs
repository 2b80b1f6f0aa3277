//! `GET /api/v1/usage`: the tenant's token usage summed by user, persona, model and/or day
//! (permission `usage.read`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::usage::{self, UsageGroup, UsageSum};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_usage))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Comma-separated: `user`, `persona`, `model`, `day` (default `day`).
    pub group_by: Option<String>,
    /// From (RFC 3339, inclusive).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub since: Option<OffsetDateTime>,
    /// To (RFC 3339, exclusive).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub until: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct UsageRow {
    pub user_id: Option<String>,
    pub persona_id: Option<String>,
    pub model: Option<String>,
    /// `YYYY-MM-DD` (UTC).
    pub day: Option<String>,
    /// Answers counted.
    pub messages: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl From<UsageSum> for UsageRow {
    fn from(s: UsageSum) -> Self {
        Self {
            user_id: s.user_id,
            persona_id: s.persona_id,
            model: s.model,
            day: s.day,
            messages: s.messages,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UsageResponse {
    pub group_by: Vec<String>,
    pub items: Vec<UsageRow>,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
}

/// Token usage of the tenant's answers, summed per group.
#[utoipa::path(get, path = "/api/v1/usage", tag = "chat", security(("bearer" = ["usage.read"])), params(UsageQuery),
    responses((status = 200, body = UsageResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_usage(
    request: Require<perm::UsageRead>,
    Query(query): Query<UsageQuery>,
) -> ApiResult<Json<UsageResponse>> {
    let groups = UsageGroup::parse_list(query.group_by.as_deref().unwrap_or("day"))?;
    let sums = usage::summarize(request.store.as_ref(), &request.access, &groups, query.since, query.until).await?;
    let names = groups
        .iter()
        .map(|g| match g {
            UsageGroup::User => "user",
            UsageGroup::Persona => "persona",
            UsageGroup::Model => "model",
            UsageGroup::Day => "day",
        })
        .map(str::to_owned)
        .collect();
    Ok(Json(UsageResponse {
        group_by: names,
        total_input_tokens: sums.iter().map(|s| s.input_tokens).sum(),
        total_output_tokens: sums.iter().map(|s| s.output_tokens).sum(),
        items: sums.into_iter().map(UsageRow::from).collect(),
    }))
}
