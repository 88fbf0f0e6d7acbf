use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::download::{self, Downloaded, Progress};
use crate::manifest::sha256_file;
use crate::{Asset, AssetError, AssetState, Manifest, Source};

/// Where a fetched file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchSource {
    /// It was already present and verified.
    AlreadyPresent,
    /// Copied from the mirror directory.
    Mirror(PathBuf),
    /// Downloaded from this URL (as requested, after any test override of the base).
    Upstream(String),
}

/// Where [`Manifest::fetch`] looks, besides the sources in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// A directory holding the files under their manifest paths; tried first.
    pub mirror: Option<PathBuf>,
    /// **Tests only**: sends every download to this base instead of the Internet;
    /// `https://github.com/a/b` is requested as `<base>/github.com/a/b`. Lets a test stand a
    /// local HTTP server in for upstream (see [`SOURCE_BASE_ENV`](crate::SOURCE_BASE_ENV)).
    pub source_base: Option<String>,
}

impl FetchOptions {
    /// A mirror only.
    pub fn mirror(dir: impl Into<PathBuf>) -> Self {
        FetchOptions { mirror: Some(dir.into()), source_base: None }
    }

    /// The mirror named by the manifest's environment variable (`HUOTI_MODEL_MIRROR`,
    /// `HUOTI_DATA_MIRROR`) and the test override of the source base, when set.
    pub fn from_env(manifest: &Manifest) -> Self {
        let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        FetchOptions {
            mirror: set(&manifest.mirror_env).map(PathBuf::from),
            source_base: set(crate::SOURCE_BASE_ENV).map(|v| v.to_string_lossy().trim_end_matches('/').to_owned()),
        }
    }

    /// The URL actually requested for a source URL.
    pub fn effective_url(&self, url: &str) -> String {
        match &self.source_base {
            Some(base) => {
                let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
                format!("{}/{rest}", base.trim_end_matches('/'))
            }
            None => url.to_owned(),
        }
    }
}

/// Progress reported by [`Manifest::fetch`], so a command line can draw a bar.
#[derive(Debug, Clone)]
pub enum FetchEvent<'a> {
    /// Taking `asset` from `from` (a mirror path or a URL) starts; `length` in bytes when known,
    /// `resumed_from` bytes already held from an interrupted download.
    Start {
        /// The file.
        asset: &'a Asset,
        /// Where from.
        from: String,
        /// Its length, when known.
        length: Option<u64>,
        /// Bytes already held.
        resumed_from: u64,
    },
    /// `done` bytes of the current file are written.
    Bytes {
        /// The file.
        asset: &'a Asset,
        /// Bytes written so far.
        done: u64,
    },
    /// One place failed; the next is tried.
    Failed {
        /// The file.
        asset: &'a Asset,
        /// Where from.
        from: String,
        /// Why (HTTP status, a refused sha256, an interrupted transfer…).
        why: String,
    },
    /// The file is in place and verified.
    Done {
        /// The file.
        asset: &'a Asset,
        /// Its index in the manifest.
        index: usize,
        /// Number of files in the manifest.
        total: usize,
        /// Where it came from.
        source: FetchSource,
    },
}

impl Manifest {
    /// Makes `dir` hold every asset, verified: keeps good files, replaces corrupt ones, takes
    /// missing ones from the mirror, else from each source in order (each checked against its
    /// own sha256). Stops at the first file no place can supply; the error lists why each
    /// place failed.
    pub fn fetch(
        &self,
        dir: &Path,
        options: &FetchOptions,
        mut on_event: impl FnMut(FetchEvent<'_>),
    ) -> Result<Vec<FetchSource>, AssetError> {
        let total = self.assets.len();
        let mut sources = Vec::with_capacity(total);
        for (index, asset) in self.assets.iter().enumerate() {
            let source = fetch_one(self, asset, dir, options, &mut on_event)?;
            on_event(FetchEvent::Done { asset, index, total, source: source.clone() });
            sources.push(source);
        }
        Ok(sources)
    }
}

/// Forwards a download's progress as [`FetchEvent`]s.
struct Reporter<'e, 'a> {
    asset: &'a Asset,
    from: String,
    on_event: &'e mut dyn FnMut(FetchEvent<'a>),
}

impl Progress for Reporter<'_, '_> {
    fn start(&mut self, length: Option<u64>, resumed_from: u64) {
        (self.on_event)(FetchEvent::Start { asset: self.asset, from: self.from.clone(), length, resumed_from });
    }
    fn bytes(&mut self, done: u64) {
        (self.on_event)(FetchEvent::Bytes { asset: self.asset, done });
    }
}

fn fetch_one<'a>(
    manifest: &Manifest,
    asset: &'a Asset,
    dir: &Path,
    options: &FetchOptions,
    on_event: &mut dyn FnMut(FetchEvent<'a>),
) -> Result<FetchSource, AssetError> {
    let target = dir.join(&asset.path);
    if asset.state_in(dir) == AssetState::Verified {
        return Ok(FetchSource::AlreadyPresent);
    }
    let parent = target.parent().unwrap_or(dir).to_path_buf();
    fs::create_dir_all(&parent).map_err(AssetError::io(&parent))?;

    let mut failures = Vec::new();
    match &options.mirror {
        Some(mirror) => {
            let from = mirror.join(&asset.path);
            let mut reporter = Reporter { asset, from: from.display().to_string(), on_event };
            match copy_verified(asset, &from, &target, &mut reporter) {
                Ok(()) => return Ok(FetchSource::Mirror(from)),
                Err(why) => failed(asset, format!("mirror {}", from.display()), why, on_event, &mut failures),
            }
        }
        None => failures.push("no mirror given".into()),
    }
    for source in &asset.sources {
        let url = options.effective_url(&source.url);
        let mut reporter = Reporter { asset, from: url.clone(), on_event };
        match download::download(&url, &source.sha256, &target, &|| asset.state_in(dir) == AssetState::Verified, &mut reporter) {
            Ok(Downloaded::Installed) => return Ok(FetchSource::Upstream(url)),
            Ok(Downloaded::FoundInPlace) => return Ok(FetchSource::AlreadyPresent),
            Err(why) => failed(asset, url, why, on_event, &mut failures),
        }
    }
    if asset.sources.is_empty() {
        failures.push("no direct download (see its origin)".into());
    }
    Err(AssetError::Unavailable {
        name: asset.name.clone(),
        path: asset.path.clone(),
        dir: dir.to_path_buf(),
        why: failures.join("; "),
        origin: asset.origin.clone(),
        mirror_env: manifest.mirror_env.clone(),
        fetch_command: manifest.fetch_command.clone(),
    })
}

fn failed<'a>(asset: &'a Asset, from: String, why: String, on_event: &mut dyn FnMut(FetchEvent<'a>), failures: &mut Vec<String>) {
    failures.push(format!("{from}: {why}"));
    on_event(FetchEvent::Failed { asset, from, why });
}

impl Source {
    /// Downloads this source into `target` (resumable, verified against this source's
    /// sha256, atomic), unless `target` already holds exactly these bytes. For callers that
    /// want one particular source's bytes, such as a test comparing a model's alternates.
    pub fn download_to(&self, target: &Path, options: &FetchOptions) -> Result<(), AssetError> {
        let parent = target.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(AssetError::io(parent))?;
        let in_place = || sha256_file(target).is_ok_and(|h| h == self.sha256);
        if in_place() {
            return Ok(());
        }
        struct Quiet;
        impl Progress for Quiet {
            fn start(&mut self, _: Option<u64>, _: u64) {}
            fn bytes(&mut self, _: u64) {}
        }
        let url = options.effective_url(&self.url);
        download::download(&url, &self.sha256, target, &in_place, &mut Quiet)
            .map(|_| ())
            .map_err(|why| AssetError::Io { path: target.to_path_buf(), source: std::io::Error::other(format!("{url}: {why}")) })
    }
}

/// Copies a mirror file through a temporary name, hashing as it goes; renames it into place
/// only when the manifest accepts its bytes. Otherwise nothing is left behind.
fn copy_verified(asset: &Asset, from: &Path, target: &Path, progress: &mut dyn Progress) -> Result<(), String> {
    let mut reader = fs::File::open(from).map_err(|e| e.to_string())?;
    progress.start(reader.metadata().ok().map(|m| m.len()), 0);
    // A unique name per writer: parallel test processes may copy the same file at once.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = target.with_extension(format!("{}.{n}.copying", std::process::id()));
    let result = (|| {
        let mut out = fs::File::create(&temporary).map_err(|e| e.to_string())?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut done = 0;
        loop {
            let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| e.to_string())?;
            done += n as u64;
            progress.bytes(done);
        }
        out.sync_all().map_err(|e| e.to_string())?;
        let actual = hex::encode(hasher.finalize());
        if !asset.accepts(&actual) {
            return Err(format!("sha256 mismatch: got {actual}, expected {} (refused)", asset.sha256));
        }
        fs::rename(&temporary, target).map_err(|e| e.to_string())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// Verifies one file against a pin, for callers that hold a path rather than a manifest.
pub fn verify_file(path: &Path, expected_sha256: &str) -> Result<(), AssetError> {
    let actual = sha256_file(path).map_err(AssetError::io(path))?;
    if actual == expected_sha256 {
        Ok(())
    } else {
        Err(AssetError::Mismatch { path: path.to_path_buf(), actual, expected: expected_sha256.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn manifest(url: Option<&str>) -> Manifest {
        Manifest {
            mirror_env: "HUOTI_MODEL_MIRROR".into(),
            fetch_command: "huoti models fetch".into(),
            assets: vec![Asset {
                name: "hello".into(),
                path: "sub/hello.txt".into(),
                sha256: HELLO_SHA.into(),
                licence: "CC0".into(),
                role: "test".into(),
                origin: "hand".into(),
                sources: url.map(|u| Source { url: u.into(), sha256: HELLO_SHA.into(), note: None }).into_iter().collect(),
                kind: None,
                optional: false,
            }],
        }
    }

    fn mirror_with(text: &str) -> tempfile::TempDir {
        let mirror = tempfile::tempdir().unwrap();
        fs::create_dir_all(mirror.path().join("sub")).unwrap();
        fs::write(mirror.path().join("sub/hello.txt"), text).unwrap();
        mirror
    }

    #[test]
    fn copies_from_mirror_and_verifies() {
        let mirror = mirror_with("hello");
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(None);
        let got = m.fetch(dir.path(), &FetchOptions::mirror(mirror.path()), |_| {}).unwrap();
        assert!(matches!(got[0], FetchSource::Mirror(_)));
        assert!(m.require(dir.path()).is_ok());
        // second run keeps the verified file
        let again = m.fetch(dir.path(), &FetchOptions::mirror(mirror.path()), |_| {}).unwrap();
        assert_eq!(again[0], FetchSource::AlreadyPresent);
    }

    #[test]
    fn refuses_a_mirror_file_with_the_wrong_bytes_and_leaves_nothing() {
        let mirror = mirror_with("HELLO");
        let dir = tempfile::tempdir().unwrap();
        let err = manifest(None).fetch(dir.path(), &FetchOptions::mirror(mirror.path()), |_| {}).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("sha256 mismatch"), "{text}");
        assert!(text.contains("Fix:"), "{text}");
        assert!(!dir.path().join("sub/hello.txt").exists());
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn corrupt_file_is_reported_and_replaced() {
        let mirror = mirror_with("hello");
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/hello.txt"), "tampered").unwrap();
        let m = manifest(None);
        assert!(matches!(m.state(dir.path())[0].1, AssetState::Corrupt { .. }));
        assert!(matches!(m.require(dir.path()), Err(AssetError::Mismatch { .. })));
        m.fetch(dir.path(), &FetchOptions::mirror(mirror.path()), |_| {}).unwrap();
        assert_eq!(m.state(dir.path())[0].1, AssetState::Verified);
    }

    #[test]
    fn unfetchable_file_is_a_clear_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing listens on the discard port: fails fast without touching any real host.
        let m = manifest(Some("http://127.0.0.1:9/hello.txt"));
        let err = m.fetch(dir.path(), &FetchOptions::default(), |_| {}).unwrap_err().to_string();
        assert!(err.contains("hello") && err.contains("Fix:") && err.contains("127.0.0.1:9"), "{err}");
        let missing = m.require(dir.path()).unwrap_err().to_string();
        assert!(missing.contains("not fetched yet") && missing.contains("HUOTI_MODEL_MIRROR"));
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn the_test_override_moves_every_source_under_the_local_base() {
        let options = FetchOptions { mirror: None, source_base: Some("http://127.0.0.1:1234/".into()) };
        assert_eq!(options.effective_url("https://github.com/a/raw/b.onnx"), "http://127.0.0.1:1234/github.com/a/raw/b.onnx");
        assert_eq!(FetchOptions::default().effective_url("https://github.com/a"), "https://github.com/a");
    }

    #[test]
    fn verify_file_checks_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, "hello").unwrap();
        assert!(verify_file(&p, HELLO_SHA).is_ok());
        fs::write(&p, "hellO").unwrap();
        assert!(verify_file(&p, HELLO_SHA).is_err());
    }
}
