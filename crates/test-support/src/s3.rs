//! An in-process S3 server for tests: `s3s-fs` (the reference server of the `s3s` crate) serving a temporary
//! directory over HTTP/1 on `127.0.0.1`, with SigV4 verification switched on (header-signed and presigned
//! requests), so tests see the same `403 SignatureDoesNotMatch` / `AccessDenied` answers AWS gives.

use anyhow::Context as _;
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The access key of every [`TestS3`].
const ACCESS_KEY: &str = "epoptest";
/// The bucket every [`TestS3`] starts with.
const BUCKET: &str = "epop-test";
/// The region clients should sign for.
const REGION: &str = "us-east-1";

/// A signature-checking S3 server (s3s-fs) on 127.0.0.1, serving a fresh temporary directory, with one bucket
/// created. Stops when dropped.
///
/// Clients must use path-style addressing (`Bucket::new(..)?.with_path_style()` in rust-s3).
#[derive(Debug)]
pub struct TestS3 {
    /// Base URL of the server, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The region to sign requests for (`us-east-1`).
    pub region: String,
    /// The bucket that exists from the start.
    pub bucket: String,
    /// The only access key the server accepts.
    pub access_key: String,
    /// The secret key of [`Self::access_key`], random per server.
    pub secret_key: String,
    root: PathBuf,
    server: JoinHandle<()>,
}

impl TestS3 {
    /// Creates a temporary root with the bucket directory in it and starts serving it on a random port.
    ///
    /// Must be called inside a tokio runtime; the server runs on a task of that runtime.
    pub async fn start() -> anyhow::Result<Self> {
        let root = std::env::temp_dir().join(format!("epop-s3-{}", uuid::Uuid::now_v7().simple()));
        let bucket_dir = root.join(BUCKET);
        std::fs::create_dir_all(&bucket_dir)
            .with_context(|| format!("creating the S3 bucket directory {}", bucket_dir.display()))?;
        let secret_key = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        match Self::serve(root.clone(), "127.0.0.1:0", secret_key.clone()).await {
            Ok((endpoint, server)) => Ok(Self {
                endpoint,
                region: REGION.into(),
                bucket: BUCKET.into(),
                access_key: ACCESS_KEY.into(),
                secret_key,
                root,
                server,
            }),
            Err(error) => {
                // Best effort: nothing serves the directory yet.
                let _ = std::fs::remove_dir_all(&root);
                Err(error)
            }
        }
    }

    async fn serve(
        root: PathBuf,
        address: &str,
        secret_key: String,
    ) -> anyhow::Result<(String, JoinHandle<()>)> {
        let fs = s3s_fs::FileSystem::new(&root)
            .map_err(|error| anyhow::anyhow!("starting s3s-fs on {}: {error:?}", root.display()))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, secret_key.as_str()));
        let service = builder.build();

        let listener = TcpListener::bind(address)
            .await
            .context("binding the test S3 server")?;
        let endpoint = format!("http://{}", listener.local_addr()?);

        let server = tokio::spawn(async move {
            // Connections live in this set, so aborting the server task also drops (aborts) them.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((socket, _)) = accepted else { continue };
                        let service = service.clone();
                        connections.spawn(async move {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(socket), service)
                                .await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok((endpoint, server))
    }

    /// Stops serving, as a crashed store would: the port refuses connections and open ones are dropped; the
    /// objects stay on disk for [`TestS3::resume`].
    pub fn pause(&mut self) {
        self.server.abort();
    }

    /// Serves the same directory on the same port again, with the same credentials.
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        let address = self.endpoint.trim_start_matches("http://").to_owned();
        let (_, server) = Self::serve(self.root.clone(), &address, self.secret_key.clone()).await?;
        self.server = server;
        Ok(())
    }

    /// The temporary directory the server stores buckets and objects in (`ROOT/<bucket>/<key>`).
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// Writes `bytes` at `key` with the bucket's own credentials and no condition, replacing what is there:
    /// what a second upload through a presigned URL achieves on a store that ignores `If-None-Match`.
    pub async fn replace_object(&self, key: &str, content_type: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let region = s3::Region::Custom {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
        };
        let credentials =
            s3::creds::Credentials::new(Some(&self.access_key), Some(&self.secret_key), None, None, None)?;
        let bucket = s3::Bucket::new(&self.bucket, region, credentials)?.with_path_style();
        let response = bucket
            .put_object_with_content_type(key, bytes, content_type)
            .await?;
        anyhow::ensure!(
            response.status_code() == 200,
            "replacing {key} answered {}",
            response.status_code()
        );
        Ok(())
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        self.server.abort();
        // Best effort: a connection task may still be finishing on another worker thread.
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(test)]
mod tests {
    use super::TestS3;
    use http::{HeaderMap, HeaderValue, header};
    use s3::creds::Credentials;
    use s3::{Bucket, Region};

    fn client() -> reqwest::Client {
        // Only ring is compiled in; installing twice (other tests) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }

    fn bucket(server: &TestS3, secret_key: &str) -> anyhow::Result<Box<Bucket>> {
        let region = Region::Custom {
            region: server.region.clone(),
            endpoint: server.endpoint.clone(),
        };
        let credentials = Credentials::new(Some(&server.access_key), Some(secret_key), None, None, None)?;
        Ok(Bucket::new(&server.bucket, region, credentials)?.with_path_style())
    }

    fn content_type(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    /// Flips one hex digit of `X-Amz-Signature`.
    fn tamper(url: &str) -> String {
        let marker = "X-Amz-Signature=";
        let start = url.find(marker).map(|i| i + marker.len()).unwrap_or(url.len());
        let mut bytes = url.as_bytes().to_vec();
        if let Some(b) = bytes.get_mut(start) {
            *b = if *b == b'0' { b'1' } else { b'0' };
        }
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn presigned_urls_are_verified() -> anyhow::Result<()> {
        let server = TestS3::start().await?;
        let http = client();
        let signed = bucket(&server, &server.secret_key)?;
        let body = b"hello, s3s".to_vec();

        let put = signed
            .presign_put("a/b.txt", 60, Some(content_type("text/plain")), None)
            .await?;
        assert!(put.contains("X-Amz-Signature="), "{put}");
        let response = http
            .put(&put)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(response.status(), 200, "{}", response.text().await?);
        assert_eq!(
            std::fs::read(server.root().join(&server.bucket).join("a/b.txt"))?,
            body
        );

        let get = signed.presign_get("a/b.txt", 60, None).await?;
        let response = http.get(&get).send().await?;
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await?.as_ref(), body.as_slice());

        // A signed content type must be sent as signed.
        let response = http
            .put(&put)
            .header(header::CONTENT_TYPE, "text/html")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(response.status(), 403);

        // One flipped hex digit of the signature.
        let response = http
            .put(tamper(&put))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(response.status(), 403);
        let text = response.text().await?;
        assert!(text.contains("SignatureDoesNotMatch"), "{text}");
        let response = http.get(tamper(&get)).send().await?;
        assert_eq!(response.status(), 403);

        // Same access key, wrong secret.
        let forged = bucket(&server, "not-the-secret")?;
        let put = forged
            .presign_put("a/c.txt", 60, Some(content_type("text/plain")), None)
            .await?;
        let response = http
            .put(&put)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(response.status(), 403);
        let get = forged.presign_get("a/b.txt", 60, None).await?;
        assert_eq!(http.get(&get).send().await?.status(), 403);

        // Header-signed requests (rust-s3's own client) with the right and the wrong secret.
        let object = signed.get_object("a/b.txt").await?;
        assert_eq!(object.status_code(), 200);
        assert_eq!(object.as_slice(), body.as_slice());
        match forged.get_object("a/b.txt").await {
            Ok(object) => assert_eq!(object.status_code(), 403),
            Err(error) => assert!(error.to_string().contains("403"), "{error}"),
        }

        // Unsigned requests are refused too.
        let anonymous = format!("{}/{}/a/b.txt", server.endpoint, server.bucket);
        assert_eq!(http.get(&anonymous).send().await?.status(), 403);
        Ok(())
    }

    #[tokio::test]
    async fn signed_content_length_is_enforced() -> anyhow::Result<()> {
        let server = TestS3::start().await?;
        let http = client();
        let signed = bucket(&server, &server.secret_key)?;
        let body = b"0123456789".to_vec();
        let mut headers = content_type("image/png");
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        let put = signed.presign_put("sized.png", 60, Some(headers), None).await?;
        assert!(put.contains("content-length"), "{put}");

        let response = http
            .put(&put)
            .header(header::CONTENT_TYPE, "image/png")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(response.status(), 200, "{}", response.text().await?);

        // reqwest sends Content-Length from the body: a longer body means another (unsigned) length.
        let response = http
            .put(&put)
            .header(header::CONTENT_TYPE, "image/png")
            .body(b"0123456789 and more".to_vec())
            .send()
            .await?;
        let status = response.status();
        eprintln!(
            "different Content-Length than signed: {status} {}",
            response.text().await?
        );
        let stored = std::fs::read(server.root().join(&server.bucket).join("sized.png"))?;
        eprintln!("stored object is {} bytes", stored.len());
        Ok(())
    }

    #[tokio::test]
    async fn drop_stops_the_server_and_removes_the_directory() -> anyhow::Result<()> {
        let server = TestS3::start().await?;
        let root = server.root().to_path_buf();
        let endpoint = server.endpoint.clone();
        assert!(root.join(&server.bucket).is_dir());
        drop(server);
        assert!(!root.exists());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(client().get(&endpoint).send().await.is_err());
        Ok(())
    }
}
