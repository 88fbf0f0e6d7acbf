//! Where sealed blobs live: the small [`BlobStore`] trait (a local directory by default, an
//! object store later) and [`DirBlobStore`]. Blobs arrive here sealed; nothing in this file
//! sees a key.

use std::path::{Path, PathBuf};

use crate::error::ServerError;

/// Where sealed blobs live. Keys are `<owner>/<name>` (the owner of the data key: a session or a
/// person), made of `[A-Za-z0-9_.-]` only.
pub trait BlobStore: Send + Sync + 'static {
    /// Writes a blob (replacing any).
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// Reads a blob.
    fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    /// Deletes every blob under `prefix/` (no error when none).
    fn delete_prefix(&self, prefix: &str) -> std::io::Result<()>;
    /// Deletes one blob (no error when it is gone).
    fn delete(&self, key: &str) -> std::io::Result<()>;
}

/// Blobs as files under a directory.
#[derive(Debug, Clone)]
pub struct DirBlobStore {
    root: PathBuf,
}

/// `key` if it is a relative path of plain names (no `..`, no absolute path), else an error.
fn safe(key: &str) -> std::io::Result<&str> {
    let ok = !key.is_empty()
        && !key.starts_with('.')
        && key.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b));
    if ok { Ok(key) } else { Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad blob key")) }
}

impl DirBlobStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: &Path) -> Result<DirBlobStore, ServerError> {
        std::fs::create_dir_all(root).map_err(ServerError::io(format!("creating {}", root.display())))?;
        Ok(DirBlobStore { root: root.to_path_buf() })
    }
}

impl BlobStore for DirBlobStore {
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.root.join(safe(key)?);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, path)
    }

    fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.root.join(safe(key)?))
    }

    fn delete(&self, key: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.root.join(safe(key)?)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    fn delete_prefix(&self, prefix: &str) -> std::io::Result<()> {
        match std::fs::remove_dir_all(self.root.join(safe(prefix)?)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_store_refuses_path_tricks() {
        let dir = tempfile::tempdir().unwrap();
        let s = DirBlobStore::new(dir.path()).unwrap();
        s.put("a/1.sealed", b"x").unwrap();
        assert_eq!(s.get("a/1.sealed").unwrap(), b"x");
        assert!(s.put("../x", b"x").is_err());
        assert!(s.put("/etc/x", b"x").is_err());
        s.delete_prefix("a").unwrap();
        assert!(s.get("a/1.sealed").is_err());
        s.delete_prefix("a").unwrap();
    }
}
