//! The object store: where uploaded files live. Two implementations share one trait: S3 (MinIO, AWS, any
//! S3-compatible server, through rust-s3) and a local directory for single-machine installs.

use crate::{StorageError, StorageResult};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use s3::creds::Credentials;
use s3::{Bucket, BucketConfiguration, Region};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::path::PathBuf;
use std::time::Duration;

/// A presigned upload: the client sends `PUT url` with exactly `headers`.
#[derive(Debug, Clone, PartialEq)]
pub struct PresignedPut {
    /// Where to upload.
    pub url: String,
    /// Headers the client must send unchanged (the signature covers them).
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// How a download should present itself to the browser.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadOptions {
    /// The file name offered to the user.
    pub file_name: String,
    /// The content type to serve.
    pub content_type: String,
    /// Show inline (safe images) instead of as an attachment.
    pub inline: bool,
}

impl DownloadOptions {
    /// The `Content-Disposition` value for these options (RFC 6266, with an RFC 5987 UTF-8 name).
    pub fn content_disposition(&self) -> String {
        let kind = if self.inline { "inline" } else { "attachment" };
        let ascii: String = self
            .file_name
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded: String = form_urlencoded::byte_serialize(self.file_name.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

/// What the store knows of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    /// Its size in bytes.
    pub size: u64,
    /// Its entity tag, which changes whenever the object is written again (S3: the `ETag` header; the local
    /// store: derived from the file's size and modification time). `None` when the store gave none.
    pub etag: Option<String>,
}

/// The header that makes an upload single-use on S3: `If-None-Match: *` (a conditional write) asks the store
/// to refuse the `PUT` with `412` when the key holds an object already.
pub const IF_NONE_MATCH: &str = "If-None-Match";

/// Where files are kept. Implementations must be cheap to share (`Arc<dyn ObjectStore>`).
#[async_trait]
pub trait ObjectStore: Send + Sync + Debug {
    /// Checks that the store answers (used by `/health`).
    async fn check(&self) -> StorageResult<()>;

    /// Makes sure the store can hold objects (creates the bucket or directory when missing). Safe when several
    /// gateways race to do it.
    async fn ensure_ready(&self) -> StorageResult<()>;

    /// A URL that lets its holder upload exactly one object of `content_type` and `size` bytes at `key` until
    /// `ttl` has passed, once: an upload to a key that holds an object already is refused (the local store
    /// always; S3 through a signed `If-None-Match: *`, where the store honours conditional writes).
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> StorageResult<PresignedPut>;

    /// A URL that lets its holder download the object at `key` until `ttl` has passed.
    async fn presign_get(&self, key: &str, options: &DownloadOptions, ttl: Duration)
    -> StorageResult<String>;

    /// The object at `key`, if it exists.
    async fn head(&self, key: &str) -> StorageResult<Option<ObjectInfo>>;

    /// Removes the object at `key` (absent objects are fine).
    async fn delete(&self, key: &str) -> StorageResult<()>;
}

fn expires_at(ttl: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::minutes(15))
}

fn s3_error(error: s3::error::S3Error) -> StorageError {
    StorageError::Object(error.to_string())
}

/// Connection settings for an S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The endpoint the gateway talks to, e.g. `http://minio:9000`.
    pub endpoint: String,
    /// The endpoint browsers reach, used in presigned URLs.
    pub public_endpoint: String,
    /// The region name (`us-east-1` for MinIO).
    pub region: String,
    /// The bucket name.
    pub bucket: String,
    /// Signs every request and presigned URL with `secret_key` (`EPOP_S3_ACCESS_KEY`).
    pub access_key: String,
    /// Never logged or shown (`EPOP_S3_SECRET_KEY`).
    pub secret_key: SecretString,
    /// Path-style addressing (`endpoint/bucket/key`), needed by MinIO and most self-hosted servers.
    pub path_style: bool,
}

/// An S3-compatible bucket.
#[derive(Debug)]
pub struct S3Store {
    settings: S3Settings,
    /// Bucket handle for requests the gateway makes itself.
    bucket: Box<Bucket>,
    /// Bucket handle on the public endpoint, for presigning (the host is part of the signature).
    public: Box<Bucket>,
}

impl S3Store {
    /// Builds the store from `settings`. Makes no request.
    pub fn new(settings: S3Settings) -> StorageResult<Self> {
        let bucket = Self::bucket_at(&settings, &settings.endpoint)?;
        let public = Self::bucket_at(&settings, &settings.public_endpoint)?;
        Ok(Self {
            settings,
            bucket,
            public,
        })
    }

    fn credentials(settings: &S3Settings) -> StorageResult<Credentials> {
        Credentials::new(
            Some(&settings.access_key),
            Some(settings.secret_key.expose_secret()),
            None,
            None,
            None,
        )
        .map_err(|e| StorageError::Object(e.to_string()))
    }

    fn region(settings: &S3Settings, endpoint: &str) -> Region {
        Region::Custom {
            region: settings.region.clone(),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
        }
    }

    fn bucket_at(settings: &S3Settings, endpoint: &str) -> StorageResult<Box<Bucket>> {
        let bucket = Bucket::new(
            &settings.bucket,
            Self::region(settings, endpoint),
            Self::credentials(settings)?,
        )
        .map_err(|e| StorageError::Object(e.to_string()))?;
        Ok(if settings.path_style {
            bucket.with_path_style()
        } else {
            bucket
        })
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn check(&self) -> StorageResult<()> {
        let (_, status) = self
            .bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
            .map_err(|e| StorageError::Object(e.to_string()))?;
        if status == 200 {
            Ok(())
        } else {
            Err(StorageError::Object(format!("bucket answered {status}")))
        }
    }

    async fn ensure_ready(&self) -> StorageResult<()> {
        if self.check().await.is_ok() {
            return Ok(());
        }
        let settings = &self.settings;
        let region = Self::region(settings, &settings.endpoint);
        let created = Bucket::create_with_path_style(
            &settings.bucket,
            region,
            Self::credentials(settings)?,
            BucketConfiguration::default(),
        )
        .await;
        if let Err(error) = created {
            // Another gateway may have created it between our check and our create: the check decides.
            tracing::debug!(%error, "creating the bucket failed; checking whether it exists now");
        }
        self.check().await
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> StorageResult<PresignedPut> {
        let mut signed = http::HeaderMap::new();
        let content_type_value =
            http::HeaderValue::from_str(content_type).map_err(|e| StorageError::Object(e.to_string()))?;
        signed.insert(http::header::CONTENT_TYPE, content_type_value);
        signed.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(size));
        // Signed, so the client cannot leave it out: a store that honours conditional writes (AWS S3, MinIO,
        // s3s) then refuses a second upload to the same key, and the URL is single-use. A store that ignores it
        // accepts the replacement; the ETag recorded at attach time keeps that from being served.
        signed.insert(http::header::IF_NONE_MATCH, http::HeaderValue::from_static("*"));
        let secs = u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX);
        let url = self
            .public
            .presign_put(key, secs, Some(signed), None)
            .await
            .map_err(s3_error)?;
        let headers = BTreeMap::from([
            ("Content-Type".to_owned(), content_type.to_owned()),
            ("Content-Length".to_owned(), size.to_string()),
            (IF_NONE_MATCH.to_owned(), "*".to_owned()),
        ]);
        Ok(PresignedPut {
            url,
            headers,
            expires_at: expires_at(ttl),
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        options: &DownloadOptions,
        ttl: Duration,
    ) -> StorageResult<String> {
        let queries = HashMap::from([
            (
                "response-content-disposition".to_owned(),
                options.content_disposition(),
            ),
            ("response-content-type".to_owned(), options.content_type.clone()),
        ]);
        let secs = u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX);
        self.public
            .presign_get(key, secs, Some(queries))
            .await
            .map_err(s3_error)
    }

    async fn head(&self, key: &str) -> StorageResult<Option<ObjectInfo>> {
        let (head, status) = self.bucket.head_object(key).await.map_err(s3_error)?;
        match status {
            200 => Ok(Some(ObjectInfo {
                size: head
                    .content_length
                    .and_then(|l| u64::try_from(l).ok())
                    .unwrap_or(0),
                etag: head.e_tag,
            })),
            404 => Ok(None),
            other => Err(StorageError::Object(format!("HEAD answered {other}"))),
        }
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        let response = self.bucket.delete_object(key).await.map_err(s3_error)?;
        match response.status_code() {
            200 | 204 | 404 => Ok(()),
            other => Err(StorageError::Object(format!("DELETE answered {other}"))),
        }
    }
}

/// Files in a local directory; the gateway itself answers the signed upload and download URLs.
///
/// Its URLs point at the gateway (`{public_url}/files/local/{key}`) and carry an HMAC-SHA256 signature over
/// the method, key, expiry and the constraints (content type and exact size for uploads; disposition for
/// downloads), so they behave like S3 presigned URLs: expiring, unforgeable, bound to one object.
#[derive(Clone)]
pub struct LocalStore {
    root: PathBuf,
    public_url: String,
    signing_key: SecretString,
}

impl Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.root)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// The path prefix the gateway serves local-store URLs under.
pub const LOCAL_ROUTE: &str = "/files/local/";

/// A verified permission to upload.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadGrant {
    /// The content type the upload must carry.
    pub content_type: String,
    /// The exact size the upload must have.
    pub size: u64,
}

/// A local-store URL that is expired, tampered with or malformed.
#[derive(Debug, thiserror::Error)]
#[error("the signed URL is not valid")]
pub struct BadSignature;

impl LocalStore {
    /// A store rooted at `root` (created by [`ObjectStore::ensure_ready`]) whose URLs start with `public_url`
    /// and are signed with `signing_key`.
    pub fn new(root: impl Into<PathBuf>, public_url: &str, signing_key: SecretString) -> Self {
        Self {
            root: root.into(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            signing_key,
        }
    }

    /// The directory the files live in.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// Removes the partial files (`<key>.part-<id>`) of uploads that stopped more than `age` ago: a crash
    /// between writing and renaming leaves them, and nothing else ever would. Runs off the async executor;
    /// returns how many were removed.
    pub async fn sweep_partial_uploads(&self, age: Duration) -> StorageResult<usize> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || sweep_partials(&root, age))
            .await
            .map_err(|e| StorageError::Object(e.to_string()))?
            .map_err(|e| StorageError::Object(e.to_string()))
    }

    /// Whether `key` is one this store could have made: ids and slashes only, no `..`.
    pub fn valid_key(key: &str) -> bool {
        !key.is_empty()
            && key.len() <= 200
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/' || b == b'_')
            && !key
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
    }

    /// Where the object at `key` lives on disk (the caller checked [`Self::valid_key`]).
    pub fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Stores a fully written upload, `partial`, as the object at `key` unless an object is stored there
    /// already: the store's uploads are single-use. Atomic (a hard link is made only when the name is free),
    /// so of two uploads racing for one key exactly one is stored. The partial file is removed either way;
    /// returns whether the upload was stored.
    pub async fn store_once(&self, partial: &std::path::Path, key: &str) -> StorageResult<bool> {
        let linked = tokio::fs::hard_link(partial, self.path_of(key)).await;
        // Best effort: a partial file left behind by a failure here is swept with the others.
        let _ = tokio::fs::remove_file(partial).await;
        match linked {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(StorageError::Object(error.to_string())),
        }
    }

    fn sign(&self, parts: &[&str]) -> String {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(self.signing_key.expose_secret().as_bytes()) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(b"epop-local-store-v1");
        for part in parts {
            mac.update(b"\n");
            mac.update(part.as_bytes());
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn verify(&self, parts: &[&str], signature: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.signing_key.expose_secret().as_bytes()) else {
            return false;
        };
        mac.update(b"epop-local-store-v1");
        for part in parts {
            mac.update(b"\n");
            mac.update(part.as_bytes());
        }
        mac.verify_slice(&given).is_ok()
    }

    fn query_of(query: &str) -> HashMap<String, String> {
        form_urlencoded::parse(query.as_bytes()).into_owned().collect()
    }

    fn fresh(query: &HashMap<String, String>) -> Option<String> {
        let expires = query.get("exp")?;
        let at: i64 = expires.parse().ok()?;
        (Utc::now().timestamp() <= at).then(|| expires.clone())
    }

    /// Checks an upload URL's query for `key`; returns what the upload must match.
    pub fn verify_put(&self, key: &str, query: &str) -> Result<UploadGrant, BadSignature> {
        let query = Self::query_of(query);
        let expires = Self::fresh(&query).ok_or(BadSignature)?;
        let (content_type, size) = (
            query.get("ct").ok_or(BadSignature)?,
            query.get("len").ok_or(BadSignature)?,
        );
        let signature = query.get("sig").ok_or(BadSignature)?;
        if !Self::valid_key(key) || !self.verify(&["PUT", key, &expires, content_type, size], signature) {
            return Err(BadSignature);
        }
        Ok(UploadGrant {
            content_type: content_type.clone(),
            size: size.parse().map_err(|_| BadSignature)?,
        })
    }

    /// Checks a download URL's query for `key`; returns how to serve it.
    pub fn verify_get(&self, key: &str, query: &str) -> Result<DownloadOptions, BadSignature> {
        let query = Self::query_of(query);
        let expires = Self::fresh(&query).ok_or(BadSignature)?;
        let (inline, name, content_type) = (
            query.get("inline").ok_or(BadSignature)?,
            query.get("name").ok_or(BadSignature)?,
            query.get("ct").ok_or(BadSignature)?,
        );
        let signature = query.get("sig").ok_or(BadSignature)?;
        if !Self::valid_key(key)
            || !self.verify(&["GET", key, &expires, inline, name, content_type], signature)
        {
            return Err(BadSignature);
        }
        Ok(DownloadOptions {
            file_name: name.clone(),
            content_type: content_type.clone(),
            inline: inline == "1",
        })
    }

    fn url(&self, key: &str, pairs: &[(&str, &str)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        format!("{}{LOCAL_ROUTE}{key}?{}", self.public_url, query.finish())
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn check(&self) -> StorageResult<()> {
        let metadata = tokio::fs::metadata(&self.root)
            .await
            .map_err(|e| StorageError::Object(e.to_string()))?;
        if !metadata.is_dir() {
            return Err(StorageError::Object("storage path is not a directory".into()));
        }
        // A directory we cannot write to is as bad as none.
        let probe = self.root.join(".epop-health");
        tokio::fs::write(&probe, b"ok")
            .await
            .map_err(|e| StorageError::Object(e.to_string()))?;
        Ok(())
    }

    async fn ensure_ready(&self) -> StorageResult<()> {
        tokio::fs::create_dir_all(&self.root)
            .await
            .map_err(|e| StorageError::Object(e.to_string()))?;
        self.check().await
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> StorageResult<PresignedPut> {
        let expires_at = expires_at(ttl);
        let expires = expires_at.timestamp().to_string();
        let size_text = size.to_string();
        let signature = self.sign(&["PUT", key, &expires, content_type, &size_text]);
        let url = self.url(
            key,
            &[
                ("exp", &expires),
                ("ct", content_type),
                ("len", &size_text),
                ("sig", &signature),
            ],
        );
        let headers = BTreeMap::from([
            ("Content-Type".to_owned(), content_type.to_owned()),
            ("Content-Length".to_owned(), size_text),
        ]);
        Ok(PresignedPut {
            url,
            headers,
            expires_at,
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        options: &DownloadOptions,
        ttl: Duration,
    ) -> StorageResult<String> {
        let expires = expires_at(ttl).timestamp().to_string();
        let inline = if options.inline { "1" } else { "0" };
        let signature = self.sign(&[
            "GET",
            key,
            &expires,
            inline,
            &options.file_name,
            &options.content_type,
        ]);
        Ok(self.url(
            key,
            &[
                ("exp", &expires),
                ("inline", inline),
                ("name", &options.file_name),
                ("ct", &options.content_type),
                ("sig", &signature),
            ],
        ))
    }

    async fn head(&self, key: &str) -> StorageResult<Option<ObjectInfo>> {
        if !Self::valid_key(key) {
            return Ok(None);
        }
        match tokio::fs::metadata(self.path_of(key)).await {
            Ok(metadata) if metadata.is_file() => Ok(Some(ObjectInfo {
                size: metadata.len(),
                etag: Some(local_etag(&metadata)),
            })),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StorageError::Object(error.to_string())),
        }
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        if !Self::valid_key(key) {
            return Ok(());
        }
        match tokio::fs::remove_file(self.path_of(key)).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StorageError::Object(error.to_string())),
        }
    }
}

/// The local store's entity tag of a file: its size and modification time, which a rewrite changes.
fn local_etag(metadata: &std::fs::Metadata) -> String {
    let modified = metadata
        .modified()
        .ok()
        .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    format!("\"{:x}-{modified:x}\"", metadata.len())
}

/// Walks `dir` and removes `*.part-*` files last modified more than `age` ago.
fn sweep_partials(dir: &std::path::Path, age: Duration) -> std::io::Result<usize> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            removed += sweep_partials(&path, age)?;
            continue;
        }
        let partial = path
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| ext.starts_with("part-"));
        let stale = entry
            .metadata()?
            .modified()
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|elapsed| elapsed > age);
        if partial && stale && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod partial_upload_tests {
    use super::sweep_partials;
    use std::time::{Duration, SystemTime};

    #[test]
    fn only_partial_files_of_stopped_uploads_are_removed() {
        let root = std::env::temp_dir().join(format!("epop-partials-{}", uuid::Uuid::now_v7().simple()));
        let dir = root.join("user/attachment");
        std::fs::create_dir_all(&dir).unwrap();
        let old = dir.join("file.part-0001");
        let fresh = dir.join("file.part-0002");
        let stored = dir.join("file");
        for path in [&old, &fresh, &stored] {
            std::fs::write(path, b"x").unwrap();
        }
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        for path in [&old, &stored] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        assert_eq!(sweep_partials(&root, Duration::from_secs(3600)).unwrap(), 1);
        assert!(!old.exists());
        assert!(fresh.exists(), "an upload in progress is kept");
        assert!(stored.exists(), "a stored file is never swept");
        assert_eq!(
            sweep_partials(&root.join("missing"), Duration::from_secs(1)).unwrap(),
            0
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LocalStore {
        LocalStore::new(
            "/tmp/x",
            "http://localhost:8080/",
            SecretString::from("k".repeat(32)),
        )
    }

    fn split(url: &str) -> (String, String) {
        let rest = url.strip_prefix("http://localhost:8080/files/local/").unwrap();
        let (key, query) = rest.split_once('?').unwrap();
        (key.to_owned(), query.to_owned())
    }

    #[tokio::test]
    async fn signed_upload_urls_verify_and_bind_their_constraints() {
        let store = store();
        let put = store
            .presign_put("uploads/a/b", "image/png", 42, Duration::from_secs(60))
            .await
            .unwrap();
        let (key, query) = split(&put.url);
        let grant = store.verify_put(&key, &query).unwrap();
        assert_eq!(
            grant,
            UploadGrant {
                content_type: "image/png".into(),
                size: 42
            }
        );
        assert!(
            store.verify_put("uploads/a/c", &query).is_err(),
            "bound to its key"
        );
        assert!(
            store
                .verify_put(&key, &query.replace("len=42", "len=43"))
                .is_err(),
            "bound to its size"
        );
        assert!(
            store
                .verify_put(&key, &query.replace("image%2Fpng", "text%2Fhtml"))
                .is_err(),
            "bound to its type"
        );
        let other = LocalStore::new(
            "/tmp/x",
            "http://localhost:8080",
            SecretString::from("z".repeat(32)),
        );
        assert!(other.verify_put(&key, &query).is_err(), "bound to the secret");
    }

    #[tokio::test]
    async fn expired_urls_are_refused() {
        let store = store();
        let options = DownloadOptions {
            file_name: "a b.txt".into(),
            content_type: "text/plain".into(),
            inline: false,
        };
        let url = store
            .presign_get("uploads/a/b", &options, Duration::from_secs(60))
            .await
            .unwrap();
        let (key, query) = split(&url);
        assert_eq!(store.verify_get(&key, &query).unwrap(), options);
        let past = (Utc::now().timestamp() - 1).to_string();
        let expired = query
            .split('&')
            .map(|pair| {
                if pair.starts_with("exp=") {
                    format!("exp={past}")
                } else {
                    pair.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        assert!(store.verify_get(&key, &expired).is_err());
    }

    #[test]
    fn keys_are_ids_and_slashes_only() {
        assert!(LocalStore::valid_key("uploads/0190-ab/0190-cd"));
        for bad in [
            "",
            "../etc/passwd",
            "uploads/../x",
            "/abs",
            "a//b",
            "a/b.txt",
            "a b",
        ] {
            assert!(!LocalStore::valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn content_disposition_keeps_names_safe() {
        let options = DownloadOptions {
            file_name: "报告 \"x\".pdf".into(),
            content_type: "application/pdf".into(),
            inline: false,
        };
        let value = options.content_disposition();
        assert!(
            value.starts_with("attachment; filename=\"__ _x_.pdf\"; filename*=UTF-8''"),
            "{value}"
        );
        assert!(!value[value.find("filename*").unwrap()..].contains('"'));
    }
}
