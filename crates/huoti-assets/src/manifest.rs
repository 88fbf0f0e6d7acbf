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
    /// Lower-case hex sha256 of the pinned bytes: what a mirror holds.
    pub sha256: String,
    /// Licence of the file.
    pub licence: String,
    /// What the file is for.
    pub role: String,
    /// Where the file comes from, in words (repository, commit, path; or package and recipe).
    pub origin: String,
    /// Direct downloads, tried in this order after the mirror. Empty: mirror only.
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
    /// Extra facts (kind of sample, size, notes).
    #[serde(default)]
    pub kind: Option<String>,
    /// Needed only by an optional feature (face match): fetched with the others, but
    /// [`Manifest::require`] does not demand it, so what does not use it starts without it.
    #[serde(default)]
    pub optional: bool,
}

/// One place a file can be downloaded from, with the sha256 of what that place serves.
///
/// Most sources serve the pinned bytes (`sha256` equals the asset's). Some serve other bytes
/// that behave identically — FaceMesh and Iris are published upstream as another conversion of
/// the same weights, with the initialisers in another order — and then `note` must say why
/// those bytes are accepted (and a test must prove it). Each download is checked against its
/// own source's sha256, never against "any accepted hash": a source that starts serving
/// another source's bytes is still refused.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The direct download URL (redirects are followed).
    pub url: String,
    /// Lower-case hex sha256 of the bytes this URL serves.
    pub sha256: String,
    /// Why bytes other than the pinned ones are accepted (required when they differ).
    #[serde(default)]
    pub note: Option<String>,
}

/// The state of one asset in a directory, always computed from the bytes on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetState {
    /// Present, and its sha256 is the pinned one or one of its sources'.
    Verified,
    /// Not present.
    Missing,
    /// Present but the bytes are none of those the manifest accepts.
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

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Manifest {
    /// Parses a manifest and checks its pins are well formed, its names and paths unique, and
    /// that every source serving other bytes says why.
    pub fn parse(text: &str) -> Result<Self, AssetError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| AssetError::Manifest(e.to_string()))?;
        let bad = |asset: &Asset, why: &str| Err(AssetError::Manifest(format!("{}: {why}", asset.name)));
        let mut seen = std::collections::HashSet::new();
        for asset in &manifest.assets {
            if !is_sha256(&asset.sha256) {
                return bad(asset, "sha256 must be 64 lower-case hex digits");
            }
            if asset.path.contains("..") || asset.path.starts_with('/') {
                return bad(asset, "path must be relative and stay inside the directory");
            }
            if !seen.insert(asset.name.clone()) || !seen.insert(format!("path:{}", asset.path)) {
                return bad(asset, "duplicate name or path");
            }
            for source in &asset.sources {
                if !is_sha256(&source.sha256) {
                    return bad(asset, &format!("source {}: sha256 must be 64 lower-case hex digits", source.url));
                }
                if !(source.url.starts_with("https://") || source.url.starts_with("http://")) {
                    return bad(asset, &format!("source {}: not an http(s) URL", source.url));
                }
                if source.sha256 != asset.sha256 && source.note.as_deref().is_none_or(str::is_empty) {
                    return bad(asset, &format!("source {} serves other bytes than the pinned ones: its `note` must say why they are accepted", source.url));
                }
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
    /// Whether bytes hashing to `sha256` are acceptable here: the pinned bytes or one of the
    /// sources' own.
    pub fn accepts(&self, sha256: &str) -> bool {
        self.sha256 == sha256 || self.sources.iter().any(|s| s.sha256 == sha256)
    }

    /// The state of this asset in `dir`.
    pub fn state_in(&self, dir: &Path) -> AssetState {
        match sha256_file(&dir.join(&self.path)) {
            Ok(actual) if self.accepts(&actual) => AssetState::Verified,
            Ok(actual) => AssetState::Corrupt { actual },
            Err(_) => AssetState::Missing,
        }
    }
}

/// Hex sha256 of a file, streamed (model files are megabytes; never load them twice).
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    hash_into(&mut File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Feeds everything `reader` yields into `hasher`; returns the number of bytes.
pub(crate) fn hash_into(reader: &mut impl Read, hasher: &mut Sha256) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"mirror_env = "M"
fetch_command = "f"
[[asset]]
name = "x"
path = "x"
sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
licence = "MIT"
role = "r"
origin = "o""#;

    #[test]
    fn shipped_manifests_parse_and_every_model_has_a_direct_source() {
        let models = crate::models();
        let names: Vec<&str> = models.assets.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["yunet", "facemesh", "iris", "minifasnet_v2", "minifasnet_v1se", "sface"]);
        for asset in &models.assets {
            assert!(!asset.sources.is_empty(), "{}: no direct upstream source", asset.name);
            assert!(asset.sources.iter().all(|s| s.url.starts_with("https://")), "{}", asset.name);
        }
        // SFace is pinned under the file name huoti-vision loads.
        assert_eq!(models.get("sface").unwrap().path, "face_recognition_sface_2021dec_int8bq.onnx");
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
        let escape = HEAD.replace("path = \"x\"", "path = \"../x\"");
        assert!(matches!(Manifest::parse(&escape), Err(AssetError::Manifest(m)) if m.contains("relative")));
        let short = HEAD.replace("2cf24d", "2cf2");
        assert!(matches!(Manifest::parse(&short), Err(AssetError::Manifest(m)) if m.contains("64")));
        let unknown = format!("{HEAD}\nsurprise = 1");
        assert!(Manifest::parse(&unknown).is_err());
    }

    #[test]
    fn a_source_with_other_bytes_must_say_why_and_its_bytes_are_then_accepted() {
        let other = "a3050ae3e2b8d1e4ebfa559633ceec7a6365607e77b4589d397ae5e30b3bc2c9";
        let silent = format!("{HEAD}\n[[asset.source]]\nurl = \"https://example.org/x\"\nsha256 = \"{other}\"");
        assert!(matches!(Manifest::parse(&silent), Err(AssetError::Manifest(m)) if m.contains("note")));
        let explained = format!("{silent}\nnote = \"same weights, other initialiser order\"");
        let manifest = Manifest::parse(&explained).unwrap();
        let asset = &manifest.assets[0];
        assert!(asset.accepts(other) && asset.accepts(&asset.sha256));
        assert!(!asset.accepts(&"0".repeat(64)));
        let not_http = explained.replace("https://example.org/x", "file:///etc/passwd");
        assert!(matches!(Manifest::parse(&not_http), Err(AssetError::Manifest(m)) if m.contains("http")));
    }
}
