//! The key-encryption keys of a running server, kept in step with their file.
//!
//! `huoti admin kek rotate` writes a new current KEK into the key file and re-wraps every data
//! key under it. A running server must then wrap *new* data keys under the new KEK too, or a
//! later retirement of the old KEK would strand them. So [`KekRing`] checks the file before
//! each use — its inode, modification time and length: the key file is replaced by a rename on
//! every change, so the inode changes even within one tick of the file-system clock — and
//! reloads it when it changed: rotation and retirement need no restart. A reload that fails (a half-copied file, say) keeps the keys in memory and
//! is logged; the server never ends up with fewer keys than it had.

use std::path::{Path, PathBuf};
use std::os::unix::fs::MetadataExt;
use std::sync::RwLock;
use std::time::SystemTime;

use huoti_privacy::{KeyError, LocalKeyFile};
use rand_core::OsRng;

/// The KEKs of one key file, reloaded when the file changes.
pub struct KekRing {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

struct Loaded {
    keys: LocalKeyFile,
    version: Option<FileVersion>,
}

/// What tells one content of the key file from the next.
type FileVersion = (u64, SystemTime, u64);

impl std::fmt::Debug for KekRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KekRing").field("path", &self.path).finish_non_exhaustive()
    }
}

fn version(path: &Path) -> Option<FileVersion> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.modified().ok()?, m.len()))
}

impl KekRing {
    /// Opens the key file, making it (mode 0600) with a first KEK when there is none.
    pub fn open_or_create(path: &Path) -> Result<KekRing, KeyError> {
        let keys = LocalKeyFile::open_or_create(path, &mut OsRng)?;
        Ok(KekRing { path: path.to_path_buf(), loaded: RwLock::new(Loaded { keys, version: version(path) }) })
    }

    /// Runs `f` with the current keys, reloading them first when the file changed since they
    /// were loaded.
    pub fn with<T>(&self, f: impl FnOnce(&LocalKeyFile) -> T) -> T {
        let now = version(&self.path);
        let stale = self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner).version != now;
        if stale {
            match LocalKeyFile::open(&self.path) {
                Ok(keys) => {
                    let mut w = self.loaded.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                    *w = Loaded { keys, version: now };
                    tracing::info!(path = %self.path.display(), "key-encryption keys reloaded");
                }
                Err(e) => tracing::warn!(path = %self.path.display(), error = %e, "the key file changed but does not load; keeping the keys in memory"),
            }
        }
        f(&self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner).keys)
    }
}
