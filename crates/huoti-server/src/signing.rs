//! Signed verdicts: compact JWS (RFC 7515) with EdDSA / Ed25519 (RFC 8037), and the public
//! key set served at `/v1/keys`.
//!
//! The signing key is made on first run in the data directory (`signing-ed25519.key`, hex,
//! mode 0600) and never leaves it. The key id is the first 16 hex digits of the sha256 of
//! the public key.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use huoti_api::{Jwk, Jwks};
use rand_core::OsRng;
use sha2::{Digest, Sha256};

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

fn kid_of(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

impl Signer {
    /// Loads the key at `path`, creating it if absent.
    pub fn load_or_create(path: &Path) -> Result<Signer, ServerError> {
        if !path.exists() {
            let key = SigningKey::generate(&mut OsRng);
            write_private(path, hex::encode(key.to_bytes()).as_bytes())
                .map_err(ServerError::io(format!("writing {}", path.display())))?;
        }
        let text = std::fs::read_to_string(path).map_err(ServerError::io(format!("reading {}", path.display())))?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes)
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
