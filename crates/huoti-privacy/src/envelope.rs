//! Envelope encryption, key rotation and crypto-shredding (S2, C4, L3).
//!
//! ## The model
//!
//! * Every subject has one **data key** ([`DataKey`], AES-256-GCM, 32 random bytes) per
//!   **key domain** ([`KeyDomain::Biometric`] for face frames and reference images,
//!   [`KeyDomain::Identity`] for names, ID numbers, phone numbers). Blobs are sealed with
//!   [`seal`] under a fresh random 96-bit nonce; the associated data binds the blob id, the
//!   subject, the purpose and the key domain ([`BlobContext`]), so a sealed blob cannot be
//!   moved to another subject, another blob id or another purpose and still open.
//! * The data key is stored only **wrapped** ([`WrappedKey`]) by a key-encryption key (KEK)
//!   from a [`KeyProvider`]: [`LocalKeyFile`] by default, a KMS or Vault in production. The
//!   wrapping's associated data binds the subject, the key domain and the KEK id, so an
//!   identity key can never be unwrapped as (or used as) a biometric key (L3).
//! * **Rotation**: [`LocalKeyFile::rotate`] adds a new KEK and makes it current; [`rewrap`]
//!   moves a wrapped key under the current KEK. Blobs are not touched: the data key inside
//!   does not change.
//! * **Crypto-shredding** (C4, S5): the subject's wrapped data key is the *only* way to open
//!   their blobs. Deleting it (the server deletes the row, and lets backups of that table
//!   expire) makes every blob of that subject undecryptable everywhere, backups included. No
//!   other key — another subject's, a KEK, a fresh key — opens them; the test
//!   `c4_shredded_subject_blobs_never_open` shows it.
//!
//! ## Errors
//!
//! Every failure to authenticate — wrong key, tampered ciphertext, tampered nonce, wrong
//! associated data, wrong key domain, wrong subject, tampered wrapped key — is the same
//! opaque [`CryptoError`], so no caller can learn *why* a blob did not open. Problems with the
//! key store itself (I/O, permissions, unknown KEK id) are [`KeyError`]; a malformed stored
//! blob is [`BlobFormatError`].
//!
//! ## Binary format of a sealed blob (version 1)
//!
//! ```text
//! byte 0       : 0x01 (format version)
//! bytes 1..13  : 96-bit nonce
//! bytes 13..   : AES-256-GCM ciphertext followed by its 16-byte tag
//! ```
//!
//! The associated data (not stored; recomputed from the [`BlobContext`]) is
//! `"huoti-blob-v1\0"`, the format version byte, the key-domain byte, then the blob id, the
//! subject id and the purpose, each as a 4-byte big-endian length followed by its UTF-8 bytes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::{CryptoRng, CryptoRngCore, RngCore};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::SubjectId;

/// Version byte of the sealed-blob binary format.
pub const BLOB_FORMAT_VERSION: u8 = 1;
/// Version byte of a wrapped key produced by [`LocalKeyFile`].
const WRAP_FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// The one error for every failure to authenticate or decrypt.
///
/// It deliberately carries no detail: a wrong key, a flipped bit, a wrong subject or a wrong
/// key domain are indistinguishable to the caller (no decryption oracle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("decryption failed")]
pub struct CryptoError;

/// A stored sealed blob could not be parsed (before any cryptography is attempted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobFormatError {
    /// Shorter than version byte + nonce + tag.
    #[error("sealed blob truncated: {len} bytes")]
    Truncated {
        /// The length that was given.
        len: usize,
    },
    /// A format version this build does not know.
    #[error("unknown sealed blob format version {0}")]
    UnknownVersion(u8),
}

/// Errors of key management: wrapping, unwrapping and the key store.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Unwrapping failed to authenticate (opaque, see [`CryptoError`]).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The wrapped key names a key-encryption key the provider does not hold.
    #[error("unknown key-encryption key {0:?}")]
    UnknownKek(String),
    /// Reading or writing the key store failed.
    #[error("key store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The key file is readable or writable by others than its owner; it is not used.
    #[error("key file {path} has mode {mode:o}; refusing to use it (must be 0600 or stricter)")]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not a valid key file.
    #[error("key file {path} is malformed: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong (never contains key material).
        reason: String,
    },
}

/// Separate key domains keep biometric data apart from identity data (L3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyDomain {
    /// Face frames, reference images, face-derived features.
    Biometric,
    /// Name, ID number, phone number, bank card and other identity data.
    Identity,
}

impl KeyDomain {
    fn tag(self) -> u8 {
        match self {
            KeyDomain::Biometric => 1,
            KeyDomain::Identity => 2,
        }
    }
}

/// A subject's AES-256-GCM data key in one [`KeyDomain`].
///
/// The key bytes live in a [`SecretBox`] and are zeroized on drop; `Debug` never prints them.
/// Not `Clone`: there is one copy in memory per unwrap.
pub struct DataKey {
    domain: KeyDomain,
    bytes: SecretBox<[u8; KEY_LEN]>,
}

impl DataKey {
    /// Draws a fresh 32-byte key from `rng`.
    pub fn generate(domain: KeyDomain, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self {
            domain,
            bytes: SecretBox::init_with_mut(|b: &mut [u8; KEY_LEN]| rng.fill_bytes(b)),
        }
    }

    /// Builds a key from raw bytes (for a [`KeyProvider`] backed by a KMS, and for test
    /// vectors). The caller's array is zeroized.
    pub fn from_bytes(domain: KeyDomain, bytes: &mut [u8; KEY_LEN]) -> Self {
        let key = Self {
            domain,
            bytes: SecretBox::init_with_mut(|b: &mut [u8; KEY_LEN]| b.copy_from_slice(bytes)),
        };
        bytes.zeroize();
        key
    }

    /// The key domain this key belongs to.
    pub fn domain(&self) -> KeyDomain {
        self.domain
    }

    /// The raw key bytes, for a [`KeyProvider`] implementation that wraps them elsewhere.
    pub fn expose_secret_bytes(&self) -> &[u8; KEY_LEN] {
        self.bytes.expose_secret()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.bytes.expose_secret().into())
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({:?}, [REDACTED])", self.domain)
    }
}

/// What a blob is, bound into its associated data so it cannot be moved or repurposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobContext {
    /// The blob's id in the blob store.
    pub blob_id: String,
    /// Whose data it is.
    pub subject_id: SubjectId,
    /// Why it is kept (e.g. `liveness-frame`, `training`).
    pub purpose: String,
}

impl BlobContext {
    /// Builds a context.
    pub fn new(
        blob_id: impl Into<String>,
        subject_id: SubjectId,
        purpose: impl Into<String>,
    ) -> Self {
        Self {
            blob_id: blob_id.into(),
            subject_id,
            purpose: purpose.into(),
        }
    }

    fn aad(&self, domain: KeyDomain) -> Vec<u8> {
        let mut aad = b"huoti-blob-v1\0".to_vec();
        aad.push(BLOB_FORMAT_VERSION);
        aad.push(domain.tag());
        push_field(&mut aad, self.blob_id.as_bytes());
        push_field(&mut aad, self.subject_id.as_str().as_bytes());
        push_field(&mut aad, self.purpose.as_bytes());
        aad
    }
}

fn push_field(buf: &mut Vec<u8>, field: &[u8]) {
    let len = u32::try_from(field.len()).expect("field longer than 4 GiB");
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(field);
}

/// An encrypted blob: nonce plus AES-256-GCM ciphertext and tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlob {
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedBlob {
    /// The stable binary form: version byte, nonce, ciphertext‖tag.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + NONCE_LEN + self.ciphertext.len());
        out.push(BLOB_FORMAT_VERSION);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses the binary form. Authenticity is checked only by [`open`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlobFormatError> {
        if bytes.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(BlobFormatError::Truncated { len: bytes.len() });
        }
        if bytes[0] != BLOB_FORMAT_VERSION {
            return Err(BlobFormatError::UnknownVersion(bytes[0]));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[1..1 + NONCE_LEN]);
        Ok(Self {
            nonce,
            ciphertext: bytes[1 + NONCE_LEN..].to_vec(),
        })
    }

    /// The 96-bit nonce.
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// Ciphertext followed by the 16-byte tag.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }
}

/// Seals `plaintext` under `key` with a fresh random nonce from `rng`, binding `ctx` and the
/// key's domain as associated data.
///
/// # Errors
///
/// [`CryptoError`] only for a plaintext beyond AES-GCM's limit (64 GiB).
pub fn seal(
    key: &DataKey,
    plaintext: &[u8],
    ctx: &BlobContext,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<SealedBlob, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    seal_with_nonce(key, plaintext, ctx, nonce)
}

fn seal_with_nonce(
    key: &DataKey,
    plaintext: &[u8],
    ctx: &BlobContext,
    nonce: [u8; NONCE_LEN],
) -> Result<SealedBlob, CryptoError> {
    let aad = ctx.aad(key.domain);
    let ciphertext = key
        .cipher()
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError)?;
    Ok(SealedBlob { nonce, ciphertext })
}

/// Opens a sealed blob.
///
/// # Errors
///
/// Any mismatch — key, key domain, context, nonce, ciphertext, tag — is the same
/// [`CryptoError`].
pub fn open(key: &DataKey, blob: &SealedBlob, ctx: &BlobContext) -> Result<Vec<u8>, CryptoError> {
    let aad = ctx.aad(key.domain);
    key.cipher()
        .decrypt(
            Nonce::from_slice(&blob.nonce),
            Payload {
                msg: &blob.ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError)
}

/// A data key wrapped by a key-encryption key; what the server stores per subject and domain.
///
/// Deleting it is crypto-shredding: see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The key-encryption key that wrapped it.
    pub kek_id: String,
    /// The wrapped key, in the provider's format.
    #[serde(with = "hex")]
    pub bytes: Vec<u8>,
}

/// A holder of key-encryption keys: a local key file, or a KMS / Vault.
///
/// Implementations receive ready-made associated data (binding subject, key domain and KEK
/// id) and must authenticate it; every authentication failure must be
/// [`KeyError::Crypto`].
pub trait KeyProvider {
    /// The KEK new wraps use.
    fn current_kek_id(&self) -> String;
    /// Every KEK this provider can unwrap with, oldest first.
    fn kek_ids(&self) -> Vec<String>;
    /// Wraps `key` under KEK `kek_id`, authenticating `aad`.
    fn wrap_key(
        &self,
        kek_id: &str,
        key: &DataKey,
        aad: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<u8>, KeyError>;
    /// Unwraps bytes made by [`wrap_key`](Self::wrap_key) into a key of `domain`.
    fn unwrap_key(
        &self,
        kek_id: &str,
        wrapped: &[u8],
        aad: &[u8],
        domain: KeyDomain,
    ) -> Result<DataKey, KeyError>;
}

fn wrap_aad(domain: KeyDomain, subject: &SubjectId, kek_id: &str) -> Vec<u8> {
    let mut aad = b"huoti-wrap-v1\0".to_vec();
    aad.push(domain.tag());
    push_field(&mut aad, subject.as_str().as_bytes());
    push_field(&mut aad, kek_id.as_bytes());
    aad
}

/// Wraps `subject`'s data key under the provider's current KEK.
///
/// # Errors
///
/// Whatever the provider reports ([`KeyError`]).
pub fn wrap(
    provider: &(impl KeyProvider + ?Sized),
    key: &DataKey,
    subject: &SubjectId,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<WrappedKey, KeyError> {
    let kek_id = provider.current_kek_id();
    let aad = wrap_aad(key.domain, subject, &kek_id);
    let bytes = provider.wrap_key(&kek_id, key, &aad, rng)?;
    Ok(WrappedKey { kek_id, bytes })
}

/// Unwraps `subject`'s data key of `domain`. The domain and subject come from where the
/// caller read the wrapped key (its table and row), never from the wrapped key itself.
///
/// # Errors
///
/// [`KeyError::Crypto`] if the wrapped key is tampered with or was made for another subject
/// or domain; [`KeyError::UnknownKek`] if the provider lacks its KEK.
pub fn unwrap(
    provider: &(impl KeyProvider + ?Sized),
    wrapped: &WrappedKey,
    domain: KeyDomain,
    subject: &SubjectId,
) -> Result<DataKey, KeyError> {
    let aad = wrap_aad(domain, subject, &wrapped.kek_id);
    provider.unwrap_key(&wrapped.kek_id, &wrapped.bytes, &aad, domain)
}

/// Key rotation: re-wraps a data key under the provider's current KEK. The data key, and so
/// every blob sealed with it, is unchanged.
///
/// # Errors
///
/// As [`unwrap`] and [`wrap`].
pub fn rewrap(
    provider: &(impl KeyProvider + ?Sized),
    wrapped: &WrappedKey,
    domain: KeyDomain,
    subject: &SubjectId,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<WrappedKey, KeyError> {
    let key = unwrap(provider, wrapped, domain, subject)?;
    wrap(provider, &key, subject, rng)
}

/// The on-disk form of the key file. Zeroized on drop.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct KeyFileJson {
    format: u32,
    current: String,
    keks: Vec<KekJson>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct KekJson {
    id: String,
    key_hex: String,
}

/// The default [`KeyProvider`]: key-encryption keys in a local JSON file.
///
/// * Created on first use by [`open_or_create`](Self::open_or_create), with mode `0600` on
///   Unix, holding one random KEK.
/// * Refuses to open a file that group or others may read or write
///   ([`KeyError::InsecurePermissions`]). (On non-Unix systems permissions are not checked.)
/// * Holds several KEKs so [`rotate`](Self::rotate) can add one while old wraps still open.
///
/// Keys are zeroized on drop; `Debug` shows only the path and KEK ids.
///
/// The same key set can also come from elsewhere than a file in the data directory — an
/// environment variable filled by a secrets manager, say — with
/// [`from_json`](Self::from_json): the text of a key file. Such a set is read-only:
/// [`rotate`](Self::rotate) and [`retire`](Self::retire) are refused, the KEKs change at their
/// source.
pub struct LocalKeyFile {
    path: PathBuf,
    /// False for a set read from text ([`from_json`](Self::from_json)): nothing is saved.
    persistent: bool,
    current: String,
    keks: Vec<(String, SecretBox<[u8; KEY_LEN]>)>,
}

impl fmt::Debug for LocalKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyFile")
            .field("path", &self.path)
            .field("current", &self.current)
            .field("kek_ids", &self.kek_ids())
            .finish()
    }
}

impl LocalKeyFile {
    /// Opens the key file at `path`, creating it (mode `0600`, one fresh KEK) if absent.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), and I/O errors while creating the file.
    pub fn open_or_create(
        path: impl AsRef<Path>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let mut first = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(first.as_mut());
        let file = KeyFileJson {
            format: 1,
            current: "kek-1".into(),
            keks: vec![KekJson {
                id: "kek-1".into(),
                key_hex: hex::encode(first.as_ref()),
            }],
        };
        match write_new_private(path, &file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        Self::open(path)
    }

    /// Opens an existing key file, checking its permissions first.
    ///
    /// # Errors
    ///
    /// [`KeyError::InsecurePermissions`] if group or others have any access (Unix),
    /// [`KeyError::Malformed`] if it is not a valid key file, [`KeyError::Io`] otherwise.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref().to_path_buf();
        check_private(&path)?;
        let text = Zeroizing::new(std::fs::read_to_string(&path)?);
        Self::parse(path, &text, true)
    }

    /// A read-only key set from the text of a key file (its JSON), e.g. the value of an
    /// environment variable; `origin` names where it came from in error messages (say
    /// `$HUOTI_KEK`). The caller should wipe its copy of the text (`Zeroizing`).
    ///
    /// # Errors
    ///
    /// [`KeyError::Malformed`] if it is not a valid key file.
    pub fn from_json(origin: impl Into<PathBuf>, text: &str) -> Result<Self, KeyError> {
        Self::parse(origin.into(), text, false)
    }

    fn parse(path: PathBuf, text: &str, persistent: bool) -> Result<Self, KeyError> {
        let malformed = |reason: &str| KeyError::Malformed {
            path: path.clone(),
            reason: reason.into(),
        };
        let json: KeyFileJson =
            serde_json::from_str(text).map_err(|_| malformed("not a huoti key file (JSON)"))?;
        if json.format != 1 {
            return Err(malformed("unknown format version"));
        }
        let mut keks = Vec::with_capacity(json.keks.len());
        for kek in &json.keks {
            let mut raw = Zeroizing::new([0u8; KEY_LEN]);
            hex::decode_to_slice(&kek.key_hex, raw.as_mut())
                .map_err(|_| malformed("a key is not 32 hex-encoded bytes"))?;
            if keks.iter().any(|(id, _)| id == &kek.id) {
                return Err(malformed("duplicate key id"));
            }
            keks.push((
                kek.id.clone(),
                SecretBox::init_with_mut(|b: &mut [u8; KEY_LEN]| b.copy_from_slice(raw.as_ref())),
            ));
        }
        if !keks.iter().any(|(id, _)| id == &json.current) {
            return Err(malformed("current key id is not in the file"));
        }
        Ok(Self {
            path,
            persistent,
            current: json.current.clone(),
            keks,
        })
    }

    /// Key rotation: adds a fresh KEK, makes it current, and saves the file (atomically, mode
    /// `0600`). Returns the new KEK id. Old KEKs stay so existing wraps still open; move them
    /// with [`rewrap`].
    ///
    /// # Errors
    ///
    /// [`KeyError::Io`] if the file cannot be saved; the in-memory state is then unchanged.
    pub fn rotate(&mut self, rng: &mut (impl RngCore + CryptoRng)) -> Result<String, KeyError> {
        let mut n = self.keks.len() + 1;
        while self.keks.iter().any(|(id, _)| *id == format!("kek-{n}")) {
            n += 1;
        }
        let id = format!("kek-{n}");
        let key = SecretBox::init_with_mut(|b: &mut [u8; KEY_LEN]| rng.fill_bytes(b));
        self.keks.push((id.clone(), key));
        let previous = std::mem::replace(&mut self.current, id.clone());
        if let Err(e) = self.save() {
            self.keks.pop();
            self.current = previous;
            return Err(e);
        }
        Ok(id)
    }

    /// Removes a KEK that no wrapped key uses any more (after every data key was moved with
    /// [`rewrap`]) and saves the file. The current KEK cannot be retired. Wraps made under the
    /// retired KEK no longer open — so retire only after re-wrapping everything.
    ///
    /// # Errors
    ///
    /// [`KeyError::UnknownKek`] for an unknown id or the current one; [`KeyError::Io`] if the
    /// file cannot be saved (the in-memory state is then unchanged).
    pub fn retire(&mut self, kek_id: &str) -> Result<(), KeyError> {
        if kek_id == self.current {
            return Err(KeyError::UnknownKek(format!(
                "{kek_id} (the current KEK cannot be retired)"
            )));
        }
        let Some(pos) = self.keks.iter().position(|(id, _)| id == kek_id) else {
            return Err(KeyError::UnknownKek(kek_id.to_string()));
        };
        let removed = self.keks.remove(pos);
        if let Err(e) = self.save() {
            self.keks.insert(pos, removed);
            return Err(e);
        }
        Ok(())
    }

    /// The key file's path (for a set read from text, the origin it was given).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether changes are saved to a file (false for a set read with
    /// [`from_json`](Self::from_json)).
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    fn save(&self) -> Result<(), KeyError> {
        if !self.persistent {
            return Err(KeyError::Io(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                format!("the key set from {} is read-only: change it at its source", self.path.display()),
            )));
        }
        let file = KeyFileJson {
            format: 1,
            current: self.current.clone(),
            keks: self
                .keks
                .iter()
                .map(|(id, k)| KekJson {
                    id: id.clone(),
                    key_hex: hex::encode(k.expose_secret()),
                })
                .collect(),
        };
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        write_new_private(&tmp, &file)?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    fn kek(&self, kek_id: &str) -> Result<Aes256Gcm, KeyError> {
        self.keks
            .iter()
            .find(|(id, _)| id == kek_id)
            .map(|(_, k)| Aes256Gcm::new(k.expose_secret().into()))
            .ok_or_else(|| KeyError::UnknownKek(kek_id.to_string()))
    }
}

/// Writes `file` to a new file at `path`, readable and writable by its owner only.
fn write_new_private(path: &Path, file: &KeyFileJson) -> std::io::Result<()> {
    use std::io::Write;
    let json = Zeroizing::new(serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(&json)?;
    f.sync_all()
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)?;
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_file() || mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

impl KeyProvider for LocalKeyFile {
    fn current_kek_id(&self) -> String {
        self.current.clone()
    }

    fn kek_ids(&self) -> Vec<String> {
        self.keks.iter().map(|(id, _)| id.clone()).collect()
    }

    /// Format: version byte, 96-bit nonce, AES-256-GCM(KEK, data key, aad)‖tag.
    fn wrap_key(
        &self,
        kek_id: &str,
        key: &DataKey,
        aad: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<u8>, KeyError> {
        let kek = self.kek(kek_id)?;
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ct = kek
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: key.expose_secret_bytes(),
                    aad,
                },
            )
            .map_err(|_| CryptoError)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(WRAP_FORMAT_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap_key(
        &self,
        kek_id: &str,
        wrapped: &[u8],
        aad: &[u8],
        domain: KeyDomain,
    ) -> Result<DataKey, KeyError> {
        let kek = self.kek(kek_id)?;
        if wrapped.len() != 1 + NONCE_LEN + KEY_LEN + TAG_LEN || wrapped[0] != WRAP_FORMAT_VERSION {
            return Err(CryptoError.into());
        }
        let plain = Zeroizing::new(
            kek.decrypt(
                Nonce::from_slice(&wrapped[1..1 + NONCE_LEN]),
                Payload {
                    msg: &wrapped[1 + NONCE_LEN..],
                    aad,
                },
            )
            .map_err(|_| CryptoError)?,
        );
        let mut raw = [0u8; KEY_LEN];
        raw.copy_from_slice(&plain);
        Ok(DataKey::from_bytes(domain, &mut raw))
    }
}

#[cfg(test)]
mod tests;
