//! # POST /api/files/presign-upload, GET /api/files/{id}

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use actix_web::{get, post};
use epop_chat::UploadRequest;
use epop_core::AttachmentId;
use serde::Deserialize;
use uuid::Uuid;

/// A file the client wants to upload.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct PresignUploadRequest {
    /// The file's name, 1..=255 characters (shown to users; never part of the storage key).
    #[garde(required, length(chars, min = 1, max = 255))]
    #[schema(value_type = String, min_length = 1, max_length = 255)]
    pub file_name: Option<String>,
    /// Its MIME type, e.g. `image/png`.
    #[garde(
        required,
        length(max = 255),
        pattern(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
    )]
    #[schema(
        value_type = String,
        max_length = 255,
        pattern = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$"
    )]
    pub content_type: Option<String>,
    /// Its exact size in bytes (at most `EPOP_MAX_UPLOAD_BYTES`).
    #[garde(required)]
    #[schema(value_type = u64)]
    pub file_size: Option<u64>,
}

/// Reserves an upload: a presigned URL for exactly this object, valid for 15 minutes and for one upload (a
/// second `PUT` to it is refused: `409` from the local store, `412` from an S3 server that honours
/// `If-None-Match`). A user holds at most `EPOP_MAX_OPEN_UPLOADS` slots (default 50) and
/// `EPOP_MAX_UNATTACHED_BYTES` declared bytes (default 1 GiB) not yet attached to a message; past either,
/// `429` with `Retry-After` (the seconds until the oldest unattached upload expires; attaching frees a slot at
/// once). Unattached uploads expire after 24 hours.
#[utoipa::path(tag = "files", security(("bearer" = [])), request_body = PresignUploadRequest,
    responses(
        (status = 201, body = epop_chat::UploadSlot),
        (status = 401, body = Problem),
        (status = 413, description = "`file_size` over `EPOP_MAX_UPLOAD_BYTES` (or over `EPOP_MAX_UNATTACHED_BYTES`, so it could never fit)", body = Problem),
        (status = 422, body = Problem),
        (status = 429, description = "The caller holds `EPOP_MAX_OPEN_UPLOADS` unattached uploads, or this one would take their declared bytes over `EPOP_MAX_UNATTACHED_BYTES`; `Retry-After` says when the oldest expires", body = Problem),
    ))]
#[post("/files/presign-upload")]
pub(crate) async fn presign_upload(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<PresignUploadRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let request = UploadRequest {
        file_name: required(body.file_name, "file_name")?,
        content_type: required(body.content_type, "content_type")?.to_ascii_lowercase(),
        file_size: required(body.file_size, "file_size")?,
    };
    let slot = state.chat.presign_upload(user.id, &request).await?;
    Ok(HttpResponse::Created().json(slot))
}

/// Redirects to a 5-minute download URL, for the uploader or members of the conversation it was posted in.
/// The stored object is checked first: it must have the declared size and, once attached, the ETag recorded
/// when it was attached (a replacement is never served: `404`).
#[utoipa::path(tag = "files", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 302, description = "`Location` is the download URL"),
        (status = 401, body = Problem),
        (status = 404, description = "No such file, not visible to the caller, not uploaded yet, or its stored object is not the one uploaded and attached", body = Problem),
    ))]
#[get("/files/{id}")]
pub(crate) async fn download(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let url = state
        .chat
        .download(user.id, AttachmentId::from(id.into_inner()))
        .await?;
    Ok(HttpResponse::Found().insert_header((LOCATION, url)).finish())
}
