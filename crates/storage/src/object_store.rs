//! The object store: where uploaded files live. Two implementations share one trait: S3 (MinIO, AWS, any
//! S3-compatible server, through rust-s3) and a local directory for single-machine installs.

use crate::{StorageError, StorageResult};
use async_trait::async_trait;
use s3::creds::Credentials;
use s3::{Bucket, BucketConfiguration, Region};
use secrecy::{ExposeSecret as _, SecretString};
use std::fmt::Debug;
use std::path::PathBuf;

/// Where files are kept. Implementations must be cheap to share (`Arc<dyn ObjectStore>`).
#[async_trait]
pub trait ObjectStore: Send + Sync + Debug {
    /// Checks that the store answers (used by `/health`).
    async fn check(&self) -> StorageResult<()>;

    /// Makes sure the store can hold objects (creates the bucket or directory when missing). Safe when several
    /// gateways race to do it.
    async fn ensure_ready(&self) -> StorageResult<()>;
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
    /// The access key id.
    pub access_key: String,
    /// The secret key.
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
}

impl S3Store {
    /// Builds the store from `settings`. Makes no request.
    pub fn new(settings: S3Settings) -> StorageResult<Self> {
        let bucket = Self::bucket_at(&settings, &settings.endpoint)?;
        Ok(Self { settings, bucket })
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
}

/// Files in a local directory; the gateway itself answers the signed upload and download URLs.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (created by [`ObjectStore::ensure_ready`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory the files live in.
    pub fn root(&self) -> &std::path::Path {
        &self.root
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
}
