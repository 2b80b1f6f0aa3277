//! Objects the assistant produced (OpenSCAD sources), with a `.scad` download.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::ObjectId;
use tome_domain::chat::{ObjectPatch, StoredObject};
use tome_domain::objects;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_objects, create_object))
        .routes(routes!(get_object, update_object, delete_object))
        .routes(routes!(download_object))
}

#[derive(Serialize, ToSchema)]
pub struct ObjectResponse {
    pub id: Uuid,
    /// `openscad`.
    pub kind: String,
    pub name: String,
    pub source: String,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<StoredObject> for ObjectResponse {
    fn from(o: StoredObject) -> Self {
        Self {
            id: o.id.0,
            kind: o.kind.as_str().to_owned(),
            name: o.name,
            source: o.source,
            created_by: o.created_by.map(|u| u.0),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// An object, or changes to one (fields left out stay).
#[derive(Deserialize, ToSchema)]
pub struct ObjectRequest {
    pub name: Option<String>,
    /// OpenSCAD source (at most 1 MiB).
    pub source: Option<String>,
}

/// The tenant's objects, newest first (permission `chat.use`).
#[utoipa::path(get, path = "/api/v1/objects", tag = "chat", security(("bearer" = ["chat.use"])), params(PageQuery),
    responses((status = 200, body = PageResponse<ObjectResponse>)))]
async fn list_objects(
    request: Require<perm::ChatUse>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<ObjectResponse>>> {
    let list = objects::list(request.store.as_ref(), &request.access, query.request()?).await?;
    Ok(Json(PageResponse::from_page(list, ObjectResponse::from)))
}

/// Store an OpenSCAD object (permission `chat.use`).
#[utoipa::path(post, path = "/api/v1/objects", tag = "chat", security(("bearer" = ["chat.use"])),
    request_body = ObjectRequest, responses((status = 201, body = ObjectResponse), (status = 422, body = ErrorBody)))]
async fn create_object(request: Require<perm::ChatUse>, Json(body): Json<ObjectRequest>) -> ApiResult<Response> {
    let name = body.name.unwrap_or_default();
    let source = body.source.unwrap_or_default();
    let object = objects::create(request.store.as_ref(), &request.access, &name, &source).await?;
    Ok((StatusCode::CREATED, Json(ObjectResponse::from(object))).into_response())
}

/// One object.
#[utoipa::path(get, path = "/api/v1/objects/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ObjectResponse), (status = 404, body = ErrorBody)))]
async fn get_object(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<Json<ObjectResponse>> {
    Ok(Json(objects::get(request.store.as_ref(), &request.access, ObjectId(id)).await?.into()))
}

/// Rename an object or replace its source (its creator, or `documents.manage`).
#[utoipa::path(patch, path = "/api/v1/objects/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), request_body = ObjectRequest,
    responses((status = 200, body = ObjectResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_object(
    request: Require<perm::ChatUse>,
    Path(id): Path<Uuid>,
    Json(body): Json<ObjectRequest>,
) -> ApiResult<Json<ObjectResponse>> {
    let patch = ObjectPatch { name: body.name, source: body.source };
    Ok(Json(objects::update(request.store.as_ref(), &request.access, ObjectId(id), patch).await?.into()))
}

/// Delete an object (its creator, or `documents.manage`).
#[utoipa::path(delete, path = "/api/v1/objects/{id}", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_object(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    objects::delete(request.store.as_ref(), &request.access, ObjectId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The source as a `.scad` file.
#[utoipa::path(get, path = "/api/v1/objects/{id}/download", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/x-openscad", body = String), (status = 404, body = ErrorBody)))]
async fn download_object(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<Response> {
    let object = objects::get(request.store.as_ref(), &request.access, ObjectId(id)).await?;
    let stem: String = object
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let disposition = format!("attachment; filename=\"{}.scad\"", stem.trim_end_matches(".scad"));
    let headers = [
        (header::CONTENT_TYPE, "application/x-openscad; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((headers, object.source).into_response())
}
