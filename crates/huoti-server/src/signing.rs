//! Signed verdicts: compact JWS (RFC 7515) with EdDSA / Ed25519 (RFC 8037), and the public
//! key set served at `/v1/keys`.
//!
//! The signing key is made on first run in the data directory (`signing-ed25519.key`, hex,
//! mode 0600) and never leaves it; a key file that group or others may read is refused (as
//! the KEK file is), and the key's text and bytes are wiped from memory once loaded (the
//! `SigningKey` itself zeroizes on drop). The key id is the first 16 hex digits of the sha256
//! of the public key.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use huoti_api::{Jwk, Jwks};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::ServerError;

/// The server's signing key.
pub struct Signer {
    key: SigningKey,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer(kid {}, [REDACTED])", self.kid)
    }
}

/// Writes `bytes` to a new file readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Refuses a key file that group or others may read or write (Unix; mode `0600` expected).
#[cfg(unix)]
pub(crate) fn check_private(path: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(ServerError::io(format!("reading {}", path.display())))?;
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_file() || mode & 0o077 != 0 {
        return Err(ServerError::Keys(
            format!("{} must be a file only its owner can read (mode {mode:o}); run `chmod 600 {}`", path.display(), path.display()).into(),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_private(_path: &Path) -> Result<(), ServerError> {
    Ok(())
}

fn kid_of(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

impl Signer {
    /// Loads the key at `path`, creating it (mode 0600) if absent. A key file that group or
    /// others may access is refused: whoever reads it can sign verdicts.
    pub fn load_or_create(path: &Path) -> Result<Signer, ServerError> {
        if !path.exists() {
            let key = SigningKey::generate(&mut OsRng);
            let text = Zeroizing::new(hex::encode(Zeroizing::new(key.to_bytes()).as_slice()));
            write_private(path, text.as_bytes()).map_err(ServerError::io(format!("writing {}", path.display())))?;
        }
        check_private(path)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(ServerError::io(format!("reading {}", path.display())))?);
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), bytes.as_mut_slice())
            .map_err(|_| ServerError::Keys(format!("{} is not a hex Ed25519 key", path.display()).into()))?;
        Ok(Signer::from_bytes(&bytes))
    }

    /// A signer from raw key bytes (tests).
    pub fn from_bytes(bytes: &[u8; 32]) -> Signer {
        let key = SigningKey::from_bytes(bytes);
        let kid = kid_of(&key.verifying_key());
        Signer { key, kid }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `payload` (JSON bytes) as a compact JWS.
    pub fn sign(&self, payload: &[u8]) -> String {
        let header = serde_json::json!({ "alg": "EdDSA", "kid": self.kid, "typ": "JWT" });
        let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload));
        let sig = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(sig.to_bytes()))
    }

    /// The public keys.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: B64.encode(self.key.verifying_key().as_bytes()),
                kid: self.kid.clone(),
                alg: "EdDSA".into(),
                use_: "sig".into(),
            }],
        }
    }
}

/// Verifies a compact JWS against a key set and returns its payload bytes: what an integrator
/// does with a result (also used by `huoti verify` and the tests).
///
/// ```
/// let signer = huoti_server::signing::Signer::from_bytes(&[7; 32]);
/// let jws = signer.sign(br#"{"decision":"live"}"#);
/// let payload = huoti_server::signing::verify_jws(&jws, &signer.jwks()).unwrap();
/// assert_eq!(payload, br#"{"decision":"live"}"#);
/// let mut forged = jws.clone();
/// forged.insert(forged.find('.').unwrap() + 1, 'x');
/// assert!(huoti_server::signing::verify_jws(&forged, &signer.jwks()).is_err());
/// ```
pub fn verify_jws(jws: &str, jwks: &Jwks) -> Result<Vec<u8>, &'static str> {
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a compact JWS");
    };
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(h).map_err(|_| "bad header encoding")?).map_err(|_| "bad header")?;
    if header["alg"] != "EdDSA" {
        return Err("unexpected alg");
    }
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let jwk = jwks.keys.iter().find(|k| k.kid == kid && k.kty == "OKP" && k.crv == "Ed25519").ok_or("unknown kid")?;
    let x: [u8; 32] = B64.decode(&jwk.x).map_err(|_| "bad key")?.try_into().map_err(|_| "bad key length")?;
    let key = VerifyingKey::from_bytes(&x).map_err(|_| "bad key")?;
    let sig: [u8; 64] = B64.decode(s).map_err(|_| "bad signature encoding")?.try_into().map_err(|_| "bad signature length")?;
    key.verify(format!("{h}.{p}").as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| "signature does not verify")?;
    B64.decode(p).map_err(|_| "bad payload encoding")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn s2_a_signing_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-ed25519.key");
        let made = Signer::load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(Signer::load_or_create(&path).unwrap().kid(), made.kid(), "the same key loads again");
        for loose in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
            let err = Signer::load_or_create(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600") && err.contains(&format!("{loose:o}")), "{loose:o}: {err}");
        }
    }
}
