use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::sha256_file;
use crate::{Asset, AssetError, AssetState, Manifest};

/// Where a fetched file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchSource {
    /// It was already present and verified.
    AlreadyPresent,
    /// Copied from the mirror directory.
    Mirror(PathBuf),
    /// Downloaded from its upstream URL.
    Upstream(String),
}

/// Progress reported by [`Manifest::fetch`], one event per file, so a CLI can draw a bar.
#[derive(Debug, Clone)]
pub struct FetchEvent<'a> {
    /// The file.
    pub asset: &'a Asset,
    /// Its index in the manifest.
    pub index: usize,
    /// Number of files in the manifest.
    pub total: usize,
    /// Where it came from.
    pub source: FetchSource,
}

/// Upper bound on a download, so a wrong URL can't fill the disk.
const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;

impl Manifest {
    /// Makes `dir` hold every asset, verified: keeps good files, replaces corrupt ones, takes
    /// missing ones from `mirror` or upstream. Stops at the first file no source can supply.
    pub fn fetch(
        &self,
        dir: &Path,
        mirror: Option<&Path>,
        mut on_event: impl FnMut(FetchEvent<'_>),
    ) -> Result<Vec<FetchSource>, AssetError> {
        let total = self.assets.len();
        let mut sources = Vec::with_capacity(total);
        for (index, asset) in self.assets.iter().enumerate() {
            let source = fetch_one(self, asset, dir, mirror)?;
            on_event(FetchEvent { asset, index, total, source: source.clone() });
            sources.push(source);
        }
        Ok(sources)
    }
}

fn fetch_one(manifest: &Manifest, asset: &Asset, dir: &Path, mirror: Option<&Path>) -> Result<FetchSource, AssetError> {
    let target = dir.join(&asset.path);
    if asset.state_in(dir) == AssetState::Verified {
        return Ok(FetchSource::AlreadyPresent);
    }
    let parent = target.parent().unwrap_or(dir).to_path_buf();
    fs::create_dir_all(&parent).map_err(AssetError::io(&parent))?;

    let mut failures = Vec::new();
    if let Some(mirror) = mirror {
        let from = mirror.join(&asset.path);
        match install_from_reader(asset, &target, fs::File::open(&from)) {
            Ok(()) => return Ok(FetchSource::Mirror(from)),
            Err(why) => failures.push(format!("mirror {}: {why}", from.display())),
        }
    } else {
        failures.push("no mirror given".into());
    }
    match &asset.url {
        Some(url) => match download(url).and_then(|r| install_from_reader(asset, &target, Ok(r))) {
            Ok(()) => return Ok(FetchSource::Upstream(url.clone())),
            Err(why) => failures.push(format!("upstream {url}: {why}")),
        },
        None => failures.push("no direct upstream download (see origin)".into()),
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

fn download(url: &str) -> Result<Box<dyn Read + Send>, String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .new_agent();
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    Ok(Box::new(response.into_body().into_reader().take(MAX_DOWNLOAD_BYTES)))
}

/// Streams into `<target>.partial`, hashing as it goes; renames into place only when the
/// hash matches. A mismatch or error removes the partial file.
fn install_from_reader<R: Read>(
    asset: &Asset,
    target: &Path,
    reader: std::io::Result<R>,
) -> Result<(), String> {
    let mut reader = reader.map_err(|e| e.to_string())?;
    // A unique name per writer: parallel test processes may fetch the same file at once.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = target.with_extension(format!("{}.{n}.partial", std::process::id()));
    let result = (|| {
        let mut out = fs::File::create(&partial).map_err(|e| e.to_string())?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| e.to_string())?;
        }
        out.sync_all().map_err(|e| e.to_string())?;
        let actual = hex::encode(hasher.finalize());
        if actual != asset.sha256 {
            return Err(format!("sha256 mismatch: got {actual}, expected {}", asset.sha256));
        }
        fs::rename(&partial, target).map_err(|e| e.to_string())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&partial);
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
                url: url.map(Into::into),
                kind: None,
                optional: false,
            }],
        }
    }

    #[test]
    fn copies_from_mirror_and_verifies() {
        let mirror = tempfile::tempdir().unwrap();
        fs::create_dir_all(mirror.path().join("sub")).unwrap();
        fs::write(mirror.path().join("sub/hello.txt"), "hello").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(None);
        let got = m.fetch(dir.path(), Some(mirror.path()), |_| {}).unwrap();
        assert!(matches!(got[0], FetchSource::Mirror(_)));
        assert!(m.require(dir.path()).is_ok());
        // second run keeps the verified file
        let again = m.fetch(dir.path(), Some(mirror.path()), |_| {}).unwrap();
        assert_eq!(again[0], FetchSource::AlreadyPresent);
    }

    #[test]
    fn refuses_a_mirror_file_with_the_wrong_bytes_and_leaves_nothing() {
        let mirror = tempfile::tempdir().unwrap();
        fs::create_dir_all(mirror.path().join("sub")).unwrap();
        fs::write(mirror.path().join("sub/hello.txt"), "HELLO").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = manifest(None).fetch(dir.path(), Some(mirror.path()), |_| {}).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("sha256 mismatch"), "{text}");
        assert!(text.contains("Fix:"), "{text}");
        assert!(!dir.path().join("sub/hello.txt").exists());
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn corrupt_file_is_reported_and_replaced() {
        let mirror = tempfile::tempdir().unwrap();
        fs::create_dir_all(mirror.path().join("sub")).unwrap();
        fs::write(mirror.path().join("sub/hello.txt"), "hello").unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/hello.txt"), "tampered").unwrap();
        let m = manifest(None);
        assert!(matches!(m.state(dir.path())[0].1, AssetState::Corrupt { .. }));
        assert!(matches!(m.require(dir.path()), Err(AssetError::Mismatch { .. })));
        m.fetch(dir.path(), Some(mirror.path()), |_| {}).unwrap();
        assert_eq!(m.state(dir.path())[0].1, AssetState::Verified);
    }

    #[test]
    fn unfetchable_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        // An unroutable URL: fails fast without touching any real host.
        let m = manifest(Some("http://127.0.0.1:9/hello.txt"));
        let err = m.fetch(dir.path(), None, |_| {}).unwrap_err().to_string();
        assert!(err.contains("hello") && err.contains("Fix:") && err.contains("127.0.0.1:9"), "{err}");
        let missing = m.require(dir.path()).unwrap_err().to_string();
        assert!(missing.contains("not fetched yet") && missing.contains("HUOTI_MODEL_MIRROR"));
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
