use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::AssetError;

/// One pinned file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Short stable name (`yunet`, `facemesh`, …).
    pub name: String,
    /// Path relative to the asset directory and to the mirror.
    pub path: String,
    /// Lower-case hex sha256 of the exact bytes.
    pub sha256: String,
    /// Licence of the file.
    pub licence: String,
    /// What the file is for.
    pub role: String,
    /// Where the file comes from, in words (repository, commit, path; or package and recipe).
    pub origin: String,
    /// A direct download URL, when the upstream publishes the exact bytes.
    #[serde(default)]
    pub url: Option<String>,
    /// Extra facts (kind of sample, size, notes).
    #[serde(default)]
    pub kind: Option<String>,
    /// Needed only by an optional feature (face match): fetched with the others, but
    /// [`Manifest::require`] does not demand it, so what does not use it starts without it.
    #[serde(default)]
    pub optional: bool,
}

/// The state of one asset in a directory, always computed from the bytes on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetState {
    /// Present and its sha256 matches the pin.
    Verified,
    /// Not present.
    Missing,
    /// Present but the bytes differ from the pin.
    Corrupt {
        /// What the bytes hash to.
        actual: String,
    },
}

/// A list of pinned files.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Environment variable that names a mirror directory for these files.
    pub mirror_env: String,
    /// The CLI command that fetches these files (quoted in error messages).
    pub fetch_command: String,
    /// The files.
    #[serde(rename = "asset")]
    pub assets: Vec<Asset>,
}

impl Manifest {
    /// Parses a manifest and checks its pins are well formed and its names and paths unique.
    pub fn parse(text: &str) -> Result<Self, AssetError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| AssetError::Manifest(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for asset in &manifest.assets {
            let ok_hash = asset.sha256.len() == 64
                && asset.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !ok_hash {
                return Err(AssetError::Manifest(format!(
                    "{}: sha256 must be 64 lower-case hex digits",
                    asset.name
                )));
            }
            if asset.path.contains("..") || asset.path.starts_with('/') {
                return Err(AssetError::Manifest(format!(
                    "{}: path must be relative and stay inside the directory",
                    asset.name
                )));
            }
            if !seen.insert(asset.name.clone()) || !seen.insert(format!("path:{}", asset.path)) {
                return Err(AssetError::Manifest(format!("{}: duplicate name or path", asset.name)));
            }
        }
        Ok(manifest)
    }

    /// The asset with this name.
    pub fn get(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name)
    }

    /// The state of every asset in `dir`.
    pub fn state(&self, dir: &Path) -> Vec<(&Asset, AssetState)> {
        self.assets.iter().map(|a| (a, a.state_in(dir))).collect()
    }

    /// Succeeds only when every asset that is not [`optional`](Asset::optional) is present in
    /// `dir` and verified; otherwise the error names the first bad file and the fix.
    pub fn require(&self, dir: &Path) -> Result<(), AssetError> {
        self.require_each(dir, self.assets.iter().filter(|a| !a.optional))
    }

    /// Like [`require`](Self::require), for the named assets only (optional or not): what one
    /// feature needs, e.g. `["yunet", "sface"]` for face match. An unknown name is an error.
    pub fn require_named(&self, dir: &Path, names: &[&str]) -> Result<(), AssetError> {
        let assets = names
            .iter()
            .map(|n| self.get(n).ok_or_else(|| AssetError::Manifest(format!("no asset named `{n}` in this manifest"))))
            .collect::<Result<Vec<_>, _>>()?;
        self.require_each(dir, assets.into_iter())
    }

    fn require_each<'a>(&self, dir: &Path, assets: impl Iterator<Item = &'a Asset>) -> Result<(), AssetError> {
        for asset in assets {
            match asset.state_in(dir) {
                AssetState::Verified => {}
                AssetState::Missing => {
                    return Err(AssetError::Unavailable {
                        name: asset.name.clone(),
                        path: asset.path.clone(),
                        dir: dir.to_path_buf(),
                        why: "not fetched yet".into(),
                        origin: asset.origin.clone(),
                        mirror_env: self.mirror_env.clone(),
                        fetch_command: self.fetch_command.clone(),
                    });
                }
                AssetState::Corrupt { actual } => {
                    return Err(AssetError::Mismatch {
                        path: dir.join(&asset.path),
                        actual,
                        expected: asset.sha256.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl Asset {
    /// The state of this asset in `dir`.
    pub fn state_in(&self, dir: &Path) -> AssetState {
        match sha256_file(&dir.join(&self.path)) {
            Ok(actual) if actual == self.sha256 => AssetState::Verified,
            Ok(actual) => AssetState::Corrupt { actual },
            Err(_) => AssetState::Missing,
        }
    }
}

/// Hex sha256 of a file, streamed (model files are megabytes; never load them twice).
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_manifests_parse() {
        let models = crate::models();
        assert_eq!(models.assets.len(), 6);
        // Face match is optional: only SFace may be missing where liveness runs.
        let optional: Vec<&str> = models.assets.iter().filter(|a| a.optional).map(|a| a.name.as_str()).collect();
        assert_eq!(optional, ["sface"]);
        assert!(crate::testdata().assets.len() >= 17);
    }

    #[test]
    fn optional_assets_are_not_required_unless_named() {
        let text = r#"mirror_env = "M"
fetch_command = "f"
[[asset]]
name = "core"
path = "core.txt"
sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
licence = "MIT"
role = "r"
origin = "o"
[[asset]]
name = "extra"
path = "extra.txt"
sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
licence = "MIT"
role = "r"
origin = "o"
optional = true"#;
        let m = Manifest::parse(text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("core.txt"), "hello").unwrap();
        assert!(m.require(dir.path()).is_ok(), "the optional file may be missing");
        assert!(m.require_named(dir.path(), &["core"]).is_ok());
        let missing = m.require_named(dir.path(), &["core", "extra"]).unwrap_err();
        assert!(matches!(&missing, AssetError::Unavailable { name, .. } if name == "extra"), "{missing}");
        std::fs::write(dir.path().join("extra.txt"), "tampered").unwrap();
        assert!(matches!(m.require_named(dir.path(), &["extra"]), Err(AssetError::Mismatch { .. })));
        assert!(matches!(m.require_named(dir.path(), &["nope"]), Err(AssetError::Manifest(_))));
    }

    #[test]
    fn rejects_bad_pins() {
        let bad = r#"mirror_env = "M"
fetch_command = "f"
[[asset]]
name = "x"
path = "../x"
sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
licence = "MIT"
role = "r"
origin = "o""#;
        assert!(matches!(Manifest::parse(bad), Err(AssetError::Manifest(m)) if m.contains("relative")));
        let short = bad.replace("../x", "x").replace("2cf24d", "2cf2");
        assert!(matches!(Manifest::parse(&short), Err(AssetError::Manifest(m)) if m.contains("64")));
        let unknown = format!("{bad}\nsurprise = 1").replace("../x", "x");
        assert!(Manifest::parse(&unknown).is_err());
    }
}
