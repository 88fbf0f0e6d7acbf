//! The key-encryption keys of a running server: where they come from ([`KekSource`]), kept in
//! step with their file.
//!
//! **Sources.** By default a key file `<data_dir>/kek.json` (mode 0600, made on first start).
//! A backup that holds both the database (with the wrapped data keys) and the key file holds
//! everything needed to read every sealed frame: keep them in separate backups, or take the KEK
//! out of the data directory — `kek_file` (`HUOTI_KEK_FILE`) puts the file elsewhere, and
//! `HUOTI_KEK` gives the key set itself (the key file's JSON) from the environment, as a
//! secrets manager or a `systemd` credential would. A KMS or Vault plugs in as any other
//! [`KeyProvider`] ([`KekRing::from_provider`]).
//!
//! **Reloading.** `huoti admin kek rotate` writes a new current KEK into the key file and
//! re-wraps every data key under it. A running server must then wrap *new* data keys under the
//! new KEK too, or a later retirement of the old KEK would strand them. So for a file source
//! [`KekRing`] checks the file before each use — its inode, modification time and length: the
//! key file is replaced by a rename on every change, so the inode changes even within one tick
//! of the file-system clock — and reloads it when it changed: rotation and retirement need no
//! restart. A reload that fails (a half-copied file, say) keeps the keys in memory and is
//! logged; the server never ends up with fewer keys than it had. Other sources are fixed for
//! the life of the process: they change at their source, and a restart picks them up.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use huoti_privacy::{KeyError, KeyProvider, LocalKeyFile};
use rand_core::OsRng;
use zeroize::Zeroizing;

/// The environment variable that, when set, holds the key set (a key file's JSON) and
/// replaces the key file.
pub const KEK_ENV: &str = "HUOTI_KEK";

/// Where the key-encryption keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekSource {
    /// A key file, made (mode 0600, one fresh KEK) when missing, reloaded when it changes.
    File(PathBuf),
    /// The key set in the environment variable [`KEK_ENV`]: read once, never written.
    Env,
}

impl KekSource {
    /// [`KekSource::Env`] when `HUOTI_KEK` is set (and not blank) in this process, else the
    /// key file `file`.
    pub fn configured(file: &Path) -> KekSource {
        match std::env::var_os(KEK_ENV) {
            Some(v) if !v.to_string_lossy().trim().is_empty() => KekSource::Env,
            _ => KekSource::File(file.to_path_buf()),
        }
    }
}

/// The key set in `$HUOTI_KEK` (the copy read is wiped once parsed; the process environment
/// itself cannot be cleared from here).
pub fn env_key_set() -> Result<LocalKeyFile, KeyError> {
    let text = Zeroizing::new(std::env::var(KEK_ENV).unwrap_or_default());
    LocalKeyFile::from_json(format!("${KEK_ENV}"), &text)
}

/// A provider the vault can share between threads.
pub type SharedProvider = Box<dyn KeyProvider + Send + Sync>;

/// The KEKs of one source, reloaded when their file changes.
pub struct KekRing {
    /// The key file, for a file source (reloaded on change).
    path: Option<PathBuf>,
    loaded: RwLock<Loaded>,
}

struct Loaded {
    keys: SharedProvider,
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
        Ok(KekRing { path: Some(path.to_path_buf()), loaded: RwLock::new(Loaded { keys: Box::new(keys), version: version(path) }) })
    }

    /// The keys of `source` (for [`KekSource::Env`]: [`env_key_set`]).
    pub fn open(source: &KekSource) -> Result<KekRing, KeyError> {
        match source {
            KekSource::File(path) => Self::open_or_create(path),
            KekSource::Env => Ok(Self::from_provider(Box::new(env_key_set()?))),
        }
    }

    /// A fixed provider: a key set from elsewhere, or a KMS / Vault client.
    pub fn from_provider(keys: SharedProvider) -> KekRing {
        KekRing { path: None, loaded: RwLock::new(Loaded { keys, version: None }) }
    }

    /// The key file, when the keys come from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` with the current keys, reloading them first when their file changed since
    /// they were loaded.
    pub fn with<T>(&self, f: impl FnOnce(&dyn KeyProvider) -> T) -> T {
        if let Some(path) = &self.path {
            let now = version(path);
            let stale = self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner).version != now;
            if stale {
                match LocalKeyFile::open(path) {
                    Ok(keys) => {
                        let mut w = self.loaded.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                        *w = Loaded { keys: Box::new(keys), version: now };
                        tracing::info!(path = %path.display(), "key-encryption keys reloaded");
                    }
                    Err(e) => tracing::warn!(path = %path.display(), error = %e, "the key file changed but does not load; keeping the keys in memory"),
                }
            }
        }
        f(self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner).keys.as_ref())
    }
}
