use super::*;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn ctx(subject: &str) -> BlobContext {
    BlobContext::new("blob-0001", SubjectId::new(subject), "liveness-frame")
}

fn vector_key(domain: KeyDomain) -> DataKey {
    let mut raw = [0u8; 32];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = i as u8;
    }
    DataKey::from_bytes(domain, &mut raw)
}

const VECTOR_NONCE: [u8; 12] = [
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
];
const VECTOR_PLAINTEXT: &[u8] = b"huoti AES-256-GCM test vector";

// Vectors computed independently with Python `cryptography` (AESGCM), key 00..1f,
// nonce a0..ab, AAD built from the format described in the module docs.
#[test]
fn s2_test_vector_associated_data_layout() {
    assert_eq!(
        hex::encode(ctx("subj-0001").aad(KeyDomain::Biometric)),
        "68756f74692d626c6f622d763100010100000009626c6f622d30303031000000097375626a2d30303031\
         0000000e6c6976656e6573732d6672616d65"
    );
}

#[test]
fn s2_test_vector_biometric_blob() {
    let key = vector_key(KeyDomain::Biometric);
    let sealed = seal_with_nonce(&key, VECTOR_PLAINTEXT, &ctx("subj-0001"), VECTOR_NONCE).unwrap();
    assert_eq!(
        hex::encode(sealed.ciphertext()),
        "8e6d13592ceb43fa3148b5e63157879d3d8c2d75e1c3621af96d52e90dbbc57f928f64a5f9da61d83129c5d373"
    );
    assert_eq!(
        hex::encode(sealed.to_bytes()),
        "01a0a1a2a3a4a5a6a7a8a9aaab8e6d13592ceb43fa3148b5e63157879d3d8c2d75e1c3621af96d52e90dbbc57f928f64a5f9da61d83129c5d373"
    );
    assert_eq!(
        open(&key, &sealed, &ctx("subj-0001")).unwrap(),
        VECTOR_PLAINTEXT
    );
}

#[test]
fn l3_test_vector_identity_domain_changes_tag() {
    let key = vector_key(KeyDomain::Identity);
    let sealed = seal_with_nonce(&key, VECTOR_PLAINTEXT, &ctx("subj-0001"), VECTOR_NONCE).unwrap();
    assert_eq!(
        hex::encode(sealed.ciphertext()),
        "8e6d13592ceb43fa3148b5e63157879d3d8c2d75e1c3621af96d52e90d87085bde617f7c4a9c918a3d58d82d83"
    );
}

#[test]
fn s2_test_vector_empty_plaintext() {
    let key = vector_key(KeyDomain::Biometric);
    let sealed = seal_with_nonce(&key, b"", &ctx("subj-0001"), VECTOR_NONCE).unwrap();
    assert_eq!(
        hex::encode(sealed.ciphertext()),
        "106a3e33ed52755ffff6986f1377fc03"
    );
}

#[test]
fn s2_blob_sealed_under_subject_key_roundtrips() {
    let mut rng = rng(1);
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let c = ctx("subj-1");
    let sealed = seal(&key, b"frame", &c, &mut rng).unwrap();
    assert_ne!(sealed.ciphertext(), b"frame");
    let parsed = SealedBlob::from_bytes(&sealed.to_bytes()).unwrap();
    assert_eq!(parsed, sealed);
    assert_eq!(open(&key, &parsed, &c).unwrap(), b"frame");
}

#[test]
fn s2_fresh_nonce_per_seal() {
    let mut rng = rng(2);
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let a = seal(&key, b"same", &ctx("s"), &mut rng).unwrap();
    let b = seal(&key, b"same", &ctx("s"), &mut rng).unwrap();
    assert_ne!(a.nonce(), b.nonce());
    assert_ne!(a.ciphertext(), b.ciphertext());
}

#[test]
fn s2_blob_bound_to_subject_blob_id_and_purpose() {
    let mut rng = rng(3);
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let c = ctx("subj-1");
    let sealed = seal(&key, b"frame", &c, &mut rng).unwrap();
    let other_subject = BlobContext {
        subject_id: SubjectId::new("subj-2"),
        ..c.clone()
    };
    let other_blob = BlobContext {
        blob_id: "blob-0002".into(),
        ..c.clone()
    };
    let other_purpose = BlobContext {
        purpose: "training".into(),
        ..c.clone()
    };
    for wrong in [other_subject, other_blob, other_purpose] {
        assert_eq!(open(&key, &sealed, &wrong), Err(CryptoError));
    }
}

#[test]
fn s2_crypto_errors_are_one_opaque_value() {
    let mut rng = rng(4);
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let other = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let c = ctx("subj-1");
    let sealed = seal(&key, b"frame", &c, &mut rng).unwrap();
    let mut tampered = sealed.clone();
    tampered.ciphertext[0] ^= 1;
    let wrong_key = open(&other, &sealed, &c).unwrap_err();
    let wrong_ct = open(&key, &tampered, &c).unwrap_err();
    let wrong_aad = open(&key, &sealed, &ctx("subj-9")).unwrap_err();
    assert_eq!(wrong_key, wrong_ct);
    assert_eq!(wrong_ct, wrong_aad);
    assert_eq!(wrong_key.to_string(), "decryption failed");
}

#[test]
fn sealed_blob_format_rejects_truncated_and_unknown_version() {
    assert_eq!(
        SealedBlob::from_bytes(&[1; 28]),
        Err(BlobFormatError::Truncated { len: 28 })
    );
    let mut bytes = vec![1u8; 29];
    assert!(SealedBlob::from_bytes(&bytes).is_ok());
    bytes[0] = 2;
    assert_eq!(
        SealedBlob::from_bytes(&bytes),
        Err(BlobFormatError::UnknownVersion(2))
    );
}

#[test]
fn s2_secrets_never_debug_printed() {
    let key = vector_key(KeyDomain::Biometric);
    let printed = format!("{key:?}");
    assert_eq!(printed, "DataKey(Biometric, [REDACTED])");
    let dir = tempfile::tempdir().unwrap();
    let kf = LocalKeyFile::open_or_create(dir.path().join("keys.json"), &mut rng(5)).unwrap();
    let kek_hex = hex::encode(kf.keks[0].1.expose_secret());
    let printed = format!("{kf:?}");
    assert!(printed.contains("kek-1"));
    assert!(!printed.contains(&kek_hex));
}

fn keyfile(seed: u64) -> (tempfile::TempDir, LocalKeyFile) {
    let dir = tempfile::tempdir().unwrap();
    let kf = LocalKeyFile::open_or_create(dir.path().join("keys.json"), &mut rng(seed)).unwrap();
    (dir, kf)
}

#[test]
fn s2_a_key_set_from_outside_the_data_directory_opens_what_the_file_wrapped_and_is_read_only() {
    // The KEK can live apart from the data (an environment variable, a secrets manager):
    // the same key file's text, loaded with `from_json`.
    let (_dir, kf) = keyfile(11);
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng(12));
    let subject = SubjectId::new("s_1");
    let wrapped = wrap(&kf, &key, &subject, &mut rng(13)).unwrap();
    let text = Zeroizing::new(std::fs::read_to_string(kf.path()).unwrap());
    let mut outside = LocalKeyFile::from_json("$HUOTI_KEK", &text).unwrap();
    assert!(!outside.is_persistent());
    let unwrapped = unwrap(&outside, &wrapped, KeyDomain::Biometric, &subject).unwrap();
    assert_eq!(unwrapped.expose_secret_bytes(), key.expose_secret_bytes());
    // Read-only: rotation happens at the source, and a refused rotation changes nothing.
    assert!(matches!(outside.rotate(&mut rng(14)), Err(KeyError::Io(_))));
    assert_eq!(outside.kek_ids(), vec!["kek-1".to_string()]);
    assert!(outside.retire("kek-1").is_err());
    for bad in ["", "{}", "not json", r#"{"format":1,"current":"kek-2","keks":[]}"#] {
        let err = LocalKeyFile::from_json("$HUOTI_KEK", bad).unwrap_err();
        assert!(matches!(err, KeyError::Malformed { .. }), "{bad}: {err}");
        assert!(err.to_string().contains("$HUOTI_KEK"), "{err}");
    }
    // Behind `dyn KeyProvider` (the seam a KMS plugs into) it works the same.
    let provider: &dyn KeyProvider = &outside;
    assert!(unwrap(provider, &wrapped, KeyDomain::Biometric, &subject).is_ok());
}

#[cfg(unix)]
#[test]
fn s2_key_file_created_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, kf) = keyfile(6);
    let mode = std::fs::metadata(kf.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(kf.kek_ids(), vec!["kek-1".to_string()]);
    assert_eq!(kf.current_kek_id(), "kek-1");
}

#[cfg(unix)]
#[test]
fn s2_key_file_with_loose_permissions_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, kf) = keyfile(7);
    for mode in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(kf.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        match LocalKeyFile::open(kf.path()) {
            Err(KeyError::InsecurePermissions { mode: m, .. }) => assert_eq!(m, mode),
            other => panic!("mode {mode:o} accepted: {other:?}"),
        }
        assert!(matches!(
            LocalKeyFile::open_or_create(kf.path(), &mut rng(8)),
            Err(KeyError::InsecurePermissions { .. })
        ));
    }
    std::fs::set_permissions(kf.path(), std::fs::Permissions::from_mode(0o400)).unwrap();
    assert!(LocalKeyFile::open(kf.path()).is_ok());
}

#[test]
fn s2_key_file_reopened_keeps_same_keks() {
    let mut rng = rng(9);
    let (_dir, kf) = keyfile(10);
    let subject = SubjectId::new("subj-1");
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let wrapped = wrap(&kf, &key, &subject, &mut rng).unwrap();
    // A second open_or_create must not overwrite the existing file.
    let again = LocalKeyFile::open_or_create(kf.path(), &mut rng).unwrap();
    let back = unwrap(&again, &wrapped, KeyDomain::Biometric, &subject).unwrap();
    assert_eq!(back.expose_secret_bytes(), key.expose_secret_bytes());
}

#[test]
fn malformed_key_file_is_reported_without_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let (_d, kf) = keyfile(11);
    std::fs::copy(kf.path(), &path).unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"current\": \"kek-1\"", "\"current\": \"kek-9\"");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    match LocalKeyFile::open(&path) {
        Err(KeyError::Malformed { reason, .. }) => assert!(reason.contains("current key id")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn s2_rotation_rewraps_without_touching_blobs() {
    let mut rng = rng(12);
    let (_dir, mut kf) = keyfile(13);
    let subject = SubjectId::new("subj-1");
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let c = ctx("subj-1");
    let blob = seal(&key, b"frame", &c, &mut rng).unwrap().to_bytes();
    let old = wrap(&kf, &key, &subject, &mut rng).unwrap();
    assert_eq!(old.kek_id, "kek-1");

    let new_id = kf.rotate(&mut rng).unwrap();
    assert_eq!(new_id, "kek-2");
    assert_eq!(kf.current_kek_id(), "kek-2");
    assert_eq!(kf.kek_ids(), vec!["kek-1".to_string(), "kek-2".to_string()]);
    // Rotation persisted, still private.
    let reopened = LocalKeyFile::open(kf.path()).unwrap();
    assert_eq!(reopened.current_kek_id(), "kek-2");

    let new = rewrap(&reopened, &old, KeyDomain::Biometric, &subject, &mut rng).unwrap();
    assert_eq!(new.kek_id, "kek-2");
    assert_ne!(new.bytes, old.bytes);
    let k2 = unwrap(&reopened, &new, KeyDomain::Biometric, &subject).unwrap();
    let blob = SealedBlob::from_bytes(&blob).unwrap();
    assert_eq!(open(&k2, &blob, &c).unwrap(), b"frame");
    // The old wrap still opens until it is replaced.
    assert!(unwrap(&reopened, &old, KeyDomain::Biometric, &subject).is_ok());
}

#[test]
fn s2_wrapped_key_naming_unknown_kek_is_reported() {
    let mut rng = rng(14);
    let (_dir, kf) = keyfile(15);
    let subject = SubjectId::new("subj-1");
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let mut wrapped = wrap(&kf, &key, &subject, &mut rng).unwrap();
    wrapped.kek_id = "kek-77".into();
    assert!(matches!(
        unwrap(&kf, &wrapped, KeyDomain::Biometric, &subject),
        Err(KeyError::UnknownKek(id)) if id == "kek-77"
    ));
}

#[test]
fn s2_wrapped_key_stored_as_json_with_hex() {
    let w = WrappedKey {
        kek_id: "kek-1".into(),
        bytes: vec![0xde, 0xad],
    };
    let json = serde_json::to_string(&w).unwrap();
    assert_eq!(json, r#"{"kek_id":"kek-1","bytes":"dead"}"#);
    assert_eq!(serde_json::from_str::<WrappedKey>(&json).unwrap(), w);
}

#[test]
fn l3_identity_key_cannot_open_biometric_blob() {
    let mut rng = rng(16);
    let (_dir, kf) = keyfile(17);
    let subject = SubjectId::new("subj-1");
    let bio = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let id = DataKey::generate(KeyDomain::Identity, &mut rng);
    let c = ctx("subj-1");
    let blob = seal(&bio, b"face", &c, &mut rng).unwrap();
    // The subject's identity key does not open their biometric blob.
    assert_eq!(open(&id, &blob, &c), Err(CryptoError));
    // Even the very same key bytes, taken as an identity key, do not open it.
    let mut same = *bio.expose_secret_bytes();
    let same_as_identity = DataKey::from_bytes(KeyDomain::Identity, &mut same);
    assert_eq!(open(&same_as_identity, &blob, &c), Err(CryptoError));
    // A biometric wrapped key cannot be unwrapped as an identity key.
    let wrapped_bio = wrap(&kf, &bio, &subject, &mut rng).unwrap();
    assert!(matches!(
        unwrap(&kf, &wrapped_bio, KeyDomain::Identity, &subject),
        Err(KeyError::Crypto(CryptoError))
    ));
    // And the identity wrapped key cannot be unwrapped as a biometric key.
    let wrapped_id = wrap(&kf, &id, &subject, &mut rng).unwrap();
    assert!(matches!(
        unwrap(&kf, &wrapped_id, KeyDomain::Biometric, &subject),
        Err(KeyError::Crypto(CryptoError))
    ));
}

#[test]
fn s2_wrapped_key_bound_to_subject() {
    let mut rng = rng(18);
    let (_dir, kf) = keyfile(19);
    let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let wrapped = wrap(&kf, &key, &SubjectId::new("alice"), &mut rng).unwrap();
    assert!(matches!(
        unwrap(&kf, &wrapped, KeyDomain::Biometric, &SubjectId::new("bob")),
        Err(KeyError::Crypto(CryptoError))
    ));
}

#[test]
fn c4_shredded_subject_blobs_never_open() {
    let mut rng = rng(20);
    let (_dir, mut kf) = keyfile(21);
    let alice = SubjectId::new("alice");
    let bob = SubjectId::new("bob");
    let alice_key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let bob_key = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let alice_wrapped = wrap(&kf, &alice_key, &alice, &mut rng).unwrap();
    let bob_wrapped = wrap(&kf, &bob_key, &bob, &mut rng).unwrap();
    let blobs: Vec<(BlobContext, Vec<u8>)> = (0..5)
        .map(|i| {
            let c = BlobContext::new(format!("blob-{i}"), alice.clone(), "liveness-frame");
            let b = seal(&alice_key, b"alice face", &c, &mut rng)
                .unwrap()
                .to_bytes();
            (c, b)
        })
        .collect();
    // Shred: the row holding alice's wrapped key is deleted; the in-memory key is dropped.
    drop(alice_wrapped);
    drop(alice_key);
    kf.rotate(&mut rng).unwrap();

    let bob_unwrapped = unwrap(&kf, &bob_wrapped, KeyDomain::Biometric, &bob).unwrap();
    let fresh = DataKey::generate(KeyDomain::Biometric, &mut rng);
    let identity = DataKey::generate(KeyDomain::Identity, &mut rng);
    let mut candidates = vec![bob_unwrapped, fresh, identity];
    // Every KEK in the key file, used directly as a data key, in both domains.
    for (_, kek) in &kf.keks {
        for domain in [KeyDomain::Biometric, KeyDomain::Identity] {
            let mut raw = *kek.expose_secret();
            candidates.push(DataKey::from_bytes(domain, &mut raw));
        }
    }
    for (c, bytes) in &blobs {
        let blob = SealedBlob::from_bytes(bytes).unwrap();
        for key in &candidates {
            assert_eq!(open(key, &blob, c), Err(CryptoError));
        }
        assert!(!bytes.windows(10).any(|w| w == b"alice face"));
    }
}

fn flip(bytes: &mut [u8], bit: usize) {
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn s2_prop_seal_open_roundtrip(
        seed in any::<u64>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
        blob_id in "[a-z0-9-]{0,24}",
        subject in "[a-z0-9-]{1,24}",
        purpose in "[a-z-]{0,16}",
    ) {
        let mut rng = rng(seed);
        let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
        let c = BlobContext::new(blob_id, SubjectId::new(subject), purpose);
        let sealed = seal(&key, &plaintext, &c, &mut rng).unwrap();
        prop_assert_eq!(sealed.ciphertext().len(), plaintext.len() + 16);
        let parsed = SealedBlob::from_bytes(&sealed.to_bytes()).unwrap();
        prop_assert_eq!(open(&key, &parsed, &c).unwrap(), plaintext);
    }

    #[test]
    fn s2_prop_any_bit_flip_in_stored_blob_rejected(
        seed in any::<u64>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..256),
        bit in any::<usize>(),
    ) {
        let mut rng = rng(seed);
        let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
        let c = ctx("subj-1");
        let mut bytes = seal(&key, &plaintext, &c, &mut rng).unwrap().to_bytes();
        // Flip a bit anywhere after the version byte: nonce, ciphertext or tag.
        let body = &mut bytes[1..];
        flip(body, bit);
        let blob = SealedBlob::from_bytes(&bytes).unwrap();
        prop_assert_eq!(open(&key, &blob, &c), Err(CryptoError));
    }

    #[test]
    fn s2_prop_any_bit_flip_in_nonce_rejected(
        seed in any::<u64>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..256),
        bit in 0usize..96,
    ) {
        let mut rng = rng(seed);
        let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
        let c = ctx("subj-1");
        let mut blob = seal(&key, &plaintext, &c, &mut rng).unwrap();
        flip(&mut blob.nonce, bit);
        prop_assert_eq!(open(&key, &blob, &c), Err(CryptoError));
    }

    #[test]
    fn s2_prop_any_bit_flip_in_associated_data_rejected(
        seed in any::<u64>(),
        field in 0usize..3,
        bit in any::<usize>(),
    ) {
        let mut rng = rng(seed);
        let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
        let c = ctx("subj-1");
        let blob = seal(&key, b"frame", &c, &mut rng).unwrap();
        let mut fields = [c.blob_id.clone().into_bytes(), c.subject_id.as_str().as_bytes().to_vec(), c.purpose.clone().into_bytes()];
        flip(&mut fields[field], bit);
        let s = |b: &Vec<u8>| String::from_utf8_lossy(b).into_owned();
        let wrong = BlobContext::new(s(&fields[0]), SubjectId::new(s(&fields[1])), s(&fields[2]));
        prop_assert_ne!(&wrong, &c);
        prop_assert_eq!(open(&key, &blob, &wrong), Err(CryptoError));
    }

    #[test]
    fn s2_prop_any_bit_flip_in_wrapped_key_rejected(
        seed in any::<u64>(),
        bit in any::<usize>(),
    ) {
        let mut rng = rng(seed);
        let dir = tempfile::tempdir().unwrap();
        let kf = LocalKeyFile::open_or_create(dir.path().join("k.json"), &mut rng).unwrap();
        let subject = SubjectId::new("subj-1");
        let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
        let mut wrapped = wrap(&kf, &key, &subject, &mut rng).unwrap();
        prop_assert!(unwrap(&kf, &wrapped, KeyDomain::Biometric, &subject).is_ok());
        flip(&mut wrapped.bytes, bit);
        prop_assert!(matches!(
            unwrap(&kf, &wrapped, KeyDomain::Biometric, &subject),
            Err(KeyError::Crypto(CryptoError))
        ));
    }
}
