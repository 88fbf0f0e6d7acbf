//! Sealed blobs in an S3-compatible bucket (AWS S3, Aliyun OSS, Tencent COS, Ceph RGW, MinIO…),
//! through the `object_store` crate: huoti does not write its own distributed store. The store
//! sees only ciphertext (sealing stays in [`super::FrameVault`]).
//!
//! * **Credentials** never come from the configuration text: `HUOTI_S3_ACCESS_KEY_ID` /
//!   `HUOTI_S3_SECRET_ACCESS_KEY` (and `HUOTI_S3_SESSION_TOKEN`), else `AWS_ACCESS_KEY_ID` /
//!   `AWS_SECRET_ACCESS_KEY` (`AWS_SESSION_TOKEN`), else `blobs.credentials_file` — a file
//!   readable by its owner only, like the KEK file.
//! * **Start-up** lists the prefix once (a wrong bucket, endpoint or credential stops the
//!   server with a clear error instead of failing the first upload) and asks the bucket for its
//!   region: an answer naming another region than `blobs.region`, or one outside
//!   `data_region`, stops the server (S1).
//! * **Deletion by prefix** lists page by page and deletes through S3's multi-object delete
//!   (1000 keys a request), so erasing an owner costs two requests per thousand blobs.
//! * **Retries**: a few quick ones inside each request (connection errors, 5xx); a deletion
//!   that still fails is retried later by the job (see [`super::FrameVault::erase_biometric`]).

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::blobs::{BlobStore, safe};
use crate::config::BlobsConfig;
use crate::config::blobs::names_region;
use crate::error::ServerError;

/// How long one request may take before it is retried or fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Retries inside one request: quick, so an upload fails in seconds, not minutes, when the
/// store is down (the client retries the upload; the job retries deletions).
const RETRIES: usize = 3;
/// The longest a request keeps retrying.
const RETRY_BUDGET: Duration = Duration::from_secs(15);

/// Credentials of the bucket (never logged, never in the configuration).
pub struct S3Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
    /// A session token, with temporary credentials.
    pub session_token: Option<SecretString>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// The form of `blobs.credentials_file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    session_token: Option<String>,
}

/// The bucket's credentials: from `env` (pass `std::env::var`), `HUOTI_S3_*` first, then
/// `AWS_*`; else from `blobs.credentials_file`, which must not be readable by group or others.
pub fn credentials(cfg: &BlobsConfig, env: impl Fn(&str) -> Option<String>) -> Result<S3Credentials, ServerError> {
    for (id, secret, token) in [
        ("HUOTI_S3_ACCESS_KEY_ID", "HUOTI_S3_SECRET_ACCESS_KEY", "HUOTI_S3_SESSION_TOKEN"),
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
    ] {
        if let (Some(id), Some(secret)) = (env(id).filter(|v| !v.is_empty()), env(secret).filter(|v| !v.is_empty())) {
            let session_token = env(token).filter(|v| !v.is_empty()).map(SecretString::from);
            return Ok(S3Credentials { access_key_id: id, secret_access_key: SecretString::from(secret), session_token });
        }
    }
    let missing = "S3 credentials: set HUOTI_S3_ACCESS_KEY_ID and HUOTI_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and \
                   AWS_SECRET_ACCESS_KEY), or name a file in blobs.credentials_file";
    if cfg.credentials_file.is_empty() {
        return Err(ServerError::Config(missing.into()));
    }
    let path = std::path::Path::new(&cfg.credentials_file);
    let mode = std::fs::metadata(path).map_err(ServerError::io(format!("reading {}", path.display())))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(ServerError::Config(format!(
            "blobs.credentials_file {}: readable by others (mode {:o}); allow its owner only (chmod 600)",
            path.display(),
            mode & 0o777
        )));
    }
    let text = std::fs::read_to_string(path).map_err(ServerError::io(format!("reading {}", path.display())))?;
    // The parse error is not shown: it could quote the secret.
    let file: CredentialsFile = toml::from_str(&text).map_err(|_| {
        ServerError::Config(format!("blobs.credentials_file {}: expected access_key_id = \"…\" and secret_access_key = \"…\"", path.display()))
    })?;
    Ok(S3Credentials {
        access_key_id: file.access_key_id,
        secret_access_key: SecretString::from(file.secret_access_key),
        session_token: file.session_token.map(SecretString::from),
    })
}

/// S1: the region a bucket reported (S3's `x-amz-bucket-region`), checked against the
/// configured one and the data region. `None` (the store does not say): the configured region,
/// already checked with the configuration, stands.
pub fn check_reported_region(reported: Option<&str>, configured: &str, data_region: &str) -> Result<(), ServerError> {
    let Some(reported) = reported.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(()) };
    if !reported.eq_ignore_ascii_case(configured) || !names_region(reported, data_region) {
        return Err(ServerError::Config(format!(
            "data residency (S1): the bucket reports region {reported:?}, but blobs.region is {configured:?} and data_region is \
             {data_region:?}; refusing to store data there"
        )));
    }
    Ok(())
}

/// Blobs in an S3-compatible bucket, under `blobs.prefix`.
#[derive(Debug)]
pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    prefix: String,
}

/// An `object_store` error as an I/O error the vault understands (not-found stays not-found).
fn io(e: object_store::Error) -> std::io::Error {
    match e {
        object_store::Error::NotFound { .. } => std::io::Error::new(std::io::ErrorKind::NotFound, "no such blob"),
        other => std::io::Error::other(other.to_string()),
    }
}

impl S3BlobStore {
    /// Connects to the bucket of `cfg` with `creds` (no request yet; see [`S3BlobStore::open`]).
    pub fn connect(cfg: &BlobsConfig, creds: &S3Credentials) -> Result<S3BlobStore, ServerError> {
        // reqwest is built without a bundled crypto provider; the server's TLS uses ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut options = ClientOptions::new().with_timeout(REQUEST_TIMEOUT).with_connect_timeout(Duration::from_secs(5));
        if !cfg.ca_file.is_empty() {
            let pem = std::fs::read(&cfg.ca_file).map_err(ServerError::io(format!("reading {}", cfg.ca_file)))?;
            let certs = object_store::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ServerError::Config(format!("blobs.ca_file {}: {e}", cfg.ca_file)))?;
            for c in certs {
                options = options.with_root_certificate(c);
            }
        }
        let retry = RetryConfig {
            backoff: BackoffConfig { init_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(2), base: 2.0 },
            max_retries: RETRIES,
            retry_timeout: RETRY_BUDGET,
        };
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_access_key_id(&creds.access_key_id)
            .with_secret_access_key(creds.secret_access_key.expose_secret())
            .with_virtual_hosted_style_request(!cfg.path_style)
            .with_client_options(options)
            .with_retry(retry);
        if let Some(t) = &creds.session_token {
            b = b.with_token(t.expose_secret());
        }
        if !cfg.endpoint.is_empty() {
            // Plain HTTP was allowed by the configuration check only to this machine.
            b = b.with_endpoint(cfg.endpoint.trim_end_matches('/')).with_allow_http(cfg.endpoint.starts_with("http://"));
        }
        let store = b.build().map_err(|e| ServerError::Config(format!("blobs: {e}")))?;
        Ok(S3BlobStore { store: Arc::new(store), prefix: cfg.prefix.trim_matches('/').to_owned() })
    }

    /// [`connect`](S3BlobStore::connect), then checks the bucket answers (one listing) and
    /// the region it reports (S1).
    pub async fn open(cfg: &BlobsConfig, creds: &S3Credentials, data_region: &str) -> Result<S3BlobStore, ServerError> {
        let s = S3BlobStore::connect(cfg, creds)?;
        let root = (!s.prefix.is_empty()).then(|| ObjectPath::from(s.prefix.as_str()));
        s.store.list_with_delimiter(root.as_ref()).await.map_err(|e| {
            ServerError::Config(format!("blobs: bucket {:?} at {:?} does not answer a listing: {e}", cfg.bucket, endpoint_label(cfg)))
        })?;
        let reported = reported_region(cfg).await;
        check_reported_region(reported.as_deref(), &cfg.region, data_region)?;
        Ok(s)
    }

    /// The object path of a blob key.
    fn path(&self, key: &str) -> std::io::Result<ObjectPath> {
        let key = safe(key)?;
        Ok(if self.prefix.is_empty() { ObjectPath::from(key) } else { ObjectPath::from(format!("{}/{key}", self.prefix)) })
    }

    /// A blob key of an object path (the path without the prefix).
    fn key_of(&self, path: &ObjectPath) -> String {
        let p = path.as_ref();
        if self.prefix.is_empty() { p.to_owned() } else { p.strip_prefix(&format!("{}/", self.prefix)).unwrap_or(p).to_owned() }
    }

    /// The directory-like prefix of an owner (`None`: everything under the store's prefix).
    fn dir(&self, prefix: &str) -> std::io::Result<Option<ObjectPath>> {
        if prefix.is_empty() {
            return Ok((!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str())));
        }
        self.path(prefix).map(Some)
    }
}

fn endpoint_label(cfg: &BlobsConfig) -> &str {
    if cfg.endpoint.is_empty() { "AWS S3" } else { &cfg.endpoint }
}

/// The region the bucket names in an unsigned `HEAD` (S3 answers `x-amz-bucket-region` even
/// when it refuses the request); `None` when the store does not say or cannot be asked.
async fn reported_region(cfg: &BlobsConfig) -> Option<String> {
    let base = if cfg.endpoint.is_empty() { format!("https://s3.{}.amazonaws.com", cfg.region) } else { cfg.endpoint.trim_end_matches('/').to_owned() };
    let url = if cfg.path_style {
        format!("{base}/{}", cfg.bucket)
    } else {
        let (scheme, host) = base.split_once("://").unwrap_or(("https", &base));
        format!("{scheme}://{}.{host}", cfg.bucket)
    };
    let ca = (!cfg.ca_file.is_empty()).then(|| std::fs::read(&cfg.ca_file).ok()).flatten();
    tokio::task::spawn_blocking(move || {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(cert) = ca.as_deref().and_then(|pem| ureq::tls::Certificate::from_pem(pem).ok()) {
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert.to_owned()])));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .tls_config(tls.build())
            .build()
            .into();
        let r = agent.head(&url).call().ok()?;
        r.headers().get("x-amz-bucket-region").and_then(|v| v.to_str().ok()).map(str::to_owned)
    })
    .await
    .ok()
    .flatten()
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        self.store.put(&self.path(key)?, bytes.into()).await.map(drop).map_err(io)
    }

    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let got = self.store.get(&self.path(key)?).await.map_err(io)?;
        got.bytes().await.map(|b| b.to_vec()).map_err(io)
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        match self.store.delete(&self.path(key)?).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            r => r.map_err(io),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> std::io::Result<u64> {
        let dir = self.path(prefix)?;
        let locations = self.store.list(Some(&dir)).map_ok(|m| m.location).boxed();
        let mut deleted = self.store.delete_stream(locations);
        let mut n = 0;
        while let Some(r) = deleted.next().await {
            match r {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => n += 1,
                Err(e) => return Err(io(e)),
            }
        }
        Ok(n)
    }

    async fn list(&self, prefix: &str) -> std::io::Result<Vec<String>> {
        let dir = self.dir(prefix)?;
        let metas: Vec<_> = self.store.list(dir.as_ref()).try_collect().await.map_err(io)?;
        let mut keys: Vec<String> = metas.iter().map(|m| self.key_of(&m.location)).collect();
        keys.sort();
        Ok(keys)
    }

    fn kind(&self) -> &'static str {
        "s3"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn s2_credentials_come_from_the_environment_or_a_private_file() {
        let cfg = BlobsConfig::default();
        let c = credentials(&cfg, env(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b"), ("HUOTI_S3_ACCESS_KEY_ID", "h"), ("HUOTI_S3_SECRET_ACCESS_KEY", "s")])).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.secret_access_key.expose_secret()), ("h", "s"), "HUOTI_S3_* first");
        assert!(!format!("{c:?}").contains('s') || !format!("{c:?}").contains("\"s\""), "no secret in Debug");
        let err = credentials(&cfg, env(&[])).unwrap_err().to_string();
        assert!(err.contains("HUOTI_S3_ACCESS_KEY_ID"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s3.toml");
        std::fs::write(&file, "access_key_id = \"ak\"\nsecret_access_key = \"very-secret\"\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cfg = BlobsConfig { credentials_file: file.display().to_string(), ..Default::default() };
        let err = credentials(&cfg, env(&[])).unwrap_err().to_string();
        assert!(err.contains("readable by others"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = credentials(&cfg, env(&[])).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.secret_access_key.expose_secret()), ("ak", "very-secret"));
        std::fs::write(&file, "secret_access_key = very-secret-unquoted\n").unwrap();
        let err = credentials(&cfg, env(&[])).unwrap_err().to_string();
        assert!(!err.contains("very-secret"), "a parse error never quotes the secret: {err}");
    }

    #[test]
    fn s1_a_bucket_reporting_another_region_is_refused() {
        check_reported_region(None, "cn-north-1", "cn").unwrap();
        check_reported_region(Some("cn-north-1"), "cn-north-1", "cn").unwrap();
        let err = check_reported_region(Some("eu-west-1"), "cn-north-1", "cn").unwrap_err().to_string();
        assert!(err.contains("data residency (S1)") && err.contains("eu-west-1"), "{err}");
        assert!(check_reported_region(Some("us-east-1"), "us-east-1", "cn").is_err());
    }
}
