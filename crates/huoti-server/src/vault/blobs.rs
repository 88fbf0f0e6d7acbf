//! Where sealed blobs live: the async [`BlobStore`] trait, [`DirBlobStore`] (a local directory,
//! for one node) and the S3-compatible store ([`super::s3::S3BlobStore`], for several). Blobs
//! arrive here sealed; nothing in this module sees a key.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::error::ServerError;

/// Where sealed blobs live. Keys are `<owner>/<name>` (the owner of the data key: a session or a
/// person), made of `[A-Za-z0-9_.-]` only. Every method may wait on the network.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Writes a blob (replacing any).
    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()>;
    /// Reads a blob (`NotFound` when there is none).
    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    /// Deletes one blob (no error when it is gone).
    async fn delete(&self, key: &str) -> std::io::Result<()>;
    /// Deletes every blob under `prefix/` (no error when none); returns how many went. An
    /// object store lists the prefix page by page and deletes in batches, so an owner with
    /// any number of blobs is erased in a bounded number of requests per thousand.
    async fn delete_prefix(&self, prefix: &str) -> std::io::Result<u64>;
    /// The keys under `prefix/` (`""`: every key), for audits and tests: the crypto-shredding
    /// scan and "no object left behind".
    async fn list(&self, prefix: &str) -> std::io::Result<Vec<String>>;
    /// What kind of store this is (`dir`, `s3`), for metrics and logs.
    fn kind(&self) -> &'static str;
}

/// `key` if it is a relative path of plain names (no `..`, no absolute path), else an error.
pub(crate) fn safe(key: &str) -> std::io::Result<&str> {
    let ok = !key.is_empty()
        && !key.starts_with('.')
        && key.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b));
    if ok { Ok(key) } else { Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad blob key")) }
}

/// Blobs as files under a directory (one node; blocking file I/O runs on tokio's blocking pool).
#[derive(Debug, Clone)]
pub struct DirBlobStore {
    root: PathBuf,
}

impl DirBlobStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: &Path) -> Result<DirBlobStore, ServerError> {
        std::fs::create_dir_all(root).map_err(ServerError::io(format!("creating {}", root.display())))?;
        Ok(DirBlobStore { root: root.to_path_buf() })
    }

    /// Runs blocking file work off the async threads.
    async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> std::io::Result<T> {
        tokio::task::spawn_blocking(f).await.map_err(std::io::Error::other)?
    }
}

/// The regular files under `dir`, as keys relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        r => r?,
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

#[async_trait]
impl BlobStore for DirBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        let path = self.root.join(safe(key)?);
        Self::blocking(move || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = path.with_extension("tmp");
            // A write that fails half-way (disk full) or a rename that fails leaves face data in
            // a file no row names and no deletion would find: remove it at once.
            let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path));
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            written
        })
        .await
    }

    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let path = self.root.join(safe(key)?);
        Self::blocking(move || std::fs::read(path)).await
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        let path = self.root.join(safe(key)?);
        Self::blocking(move || match std::fs::remove_file(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        })
        .await
    }

    async fn delete_prefix(&self, prefix: &str) -> std::io::Result<u64> {
        let (root, dir) = (self.root.clone(), self.root.join(safe(prefix)?));
        Self::blocking(move || {
            let mut keys = Vec::new();
            walk(&root, &dir, &mut keys)?;
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
                Err(e) => Err(e),
                Ok(()) => Ok(keys.len() as u64),
            }
        })
        .await
    }

    async fn list(&self, prefix: &str) -> std::io::Result<Vec<String>> {
        let root = self.root.clone();
        let dir = if prefix.is_empty() { root.clone() } else { root.join(safe(prefix)?) };
        Self::blocking(move || {
            let mut keys = Vec::new();
            walk(&root, &dir, &mut keys)?;
            keys.retain(|k| !k.ends_with(".tmp"));
            keys.sort();
            Ok(keys)
        })
        .await
    }

    fn kind(&self) -> &'static str {
        "dir"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dir_store_refuses_path_tricks() {
        let dir = tempfile::tempdir().unwrap();
        let s = DirBlobStore::new(dir.path()).unwrap();
        s.put("a/1.sealed", b"x".to_vec()).await.unwrap();
        assert_eq!(s.get("a/1.sealed").await.unwrap(), b"x");
        assert_eq!(s.list("").await.unwrap(), vec!["a/1.sealed".to_owned()]);
        assert!(s.put("../x", b"x".to_vec()).await.is_err());
        assert!(s.put("/etc/x", b"x".to_vec()).await.is_err());
        assert_eq!(s.delete_prefix("a").await.unwrap(), 1);
        assert!(s.get("a/1.sealed").await.is_err());
        assert_eq!(s.delete_prefix("a").await.unwrap(), 0);
    }

    /// L2: a failed write leaves no temporary copy of the sealed bytes behind.
    #[tokio::test]
    async fn l2_a_failed_blob_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = DirBlobStore::new(dir.path()).unwrap();
        // A directory in the way makes the final rename fail after the bytes were written.
        std::fs::create_dir_all(dir.path().join("a/1.sealed/in-the-way")).unwrap();
        assert!(s.put("a/1.sealed", b"sealed bytes".to_vec()).await.is_err());
        assert!(!dir.path().join("a/1.tmp").exists(), "the temporary file must be removed at once");
        let mut left = Vec::new();
        walk(dir.path(), dir.path(), &mut left).unwrap();
        assert!(left.iter().all(|k| !k.ends_with(".tmp")), "{left:?}");
    }
}
