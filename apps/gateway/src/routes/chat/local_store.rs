//! # PUT /files/local/{key}, GET /files/local/{key}
//!
//! The local directory store's signed URLs, answered by the gateway itself with the same rules S3 applies to
//! presigned URLs: a valid, unexpired signature for exactly this key; for uploads exactly the signed content
//! type and size, streamed to disk (never buffered whole), and once only (`409` when the slot holds a file, is
//! attached, or is gone: what S3 does with the signed `If-None-Match: *`); downloads as attachments (inline
//! only for safe images) under a sandboxing CSP.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use epop_core::ErrorCode;
use epop_storage::object_store::{LocalStore, ObjectStore as _};
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

fn store(state: &AppState) -> Result<&LocalStore, ApiError> {
    state.local_store.as_ref().ok_or_else(ApiError::not_found)
}

fn denied(detail: &str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, detail)
}

fn used() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        "this upload URL was used already: each upload slot takes one upload; reserve a new one",
    )
}

/// Receives an upload for a signed URL.
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let store = store(&state)?;
    let key = key.into_inner();
    let grant = store
        .verify_put(&key, req.query_string())
        .map_err(|_| denied("the upload URL is invalid or expired"))?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type != Some(grant.content_type.as_str()) {
        return Err(denied("Content-Type must be the signed one"));
    }
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length != Some(grant.size) {
        return Err(denied("Content-Length must be the signed size"));
    }
    // Refused before the body is read (the connection then closes instead of reading it).
    if !state.chat.upload_slot_open(&key).await? || store.head(&key).await?.is_some() {
        return Err(used());
    }
    let path = store.path_of(&key);
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(ApiError::internal)?;
    }
    let partial = path.with_extension(format!("part-{}", uuid::Uuid::now_v7().simple()));
    let written = write_stream(&partial, &mut payload, grant.size).await;
    match written {
        // Of two uploads racing for one slot, exactly one is stored.
        Ok(size) if size == grant.size => match store.store_once(&partial, &key).await {
            Ok(true) => Ok(HttpResponse::Ok().finish()),
            Ok(false) => Err(used()),
            Err(error) => Err(ApiError::internal(error)),
        },
        Ok(_) => {
            let _ = tokio::fs::remove_file(&partial).await;
            Err(ApiError::new(
                ErrorCode::BadRequest,
                "the body is shorter than the signed size",
            ))
        }
        Err(error) => {
            let _ = tokio::fs::remove_file(&partial).await;
            Err(error)
        }
    }
}

async fn write_stream(
    path: &std::path::Path,
    payload: &mut web::Payload,
    limit: u64,
) -> Result<u64, ApiError> {
    let mut file = tokio::fs::File::create(path).await.map_err(ApiError::internal)?;
    let mut written: u64 = 0;
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("the upload broke off: {e}")))?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                "the body is longer than the signed size",
            ));
        }
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.sync_all().await.map_err(ApiError::internal)?;
    Ok(written)
}

/// Serves a download for a signed URL.
pub async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = store(&state)?;
    let key = key.into_inner();
    let options = store
        .verify_get(&key, req.query_string())
        .map_err(|_| denied("the download URL is invalid or expired"))?;
    let file = actix_files::NamedFile::open_async(store.path_of(&key))
        .await
        .map_err(|_| ApiError::not_found())?;
    let mut response = file.use_etag(true).use_last_modified(true).into_response(&req);
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&options.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(disposition) = HeaderValue::from_str(&options.content_disposition()) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}
