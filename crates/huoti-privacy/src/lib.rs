//! # huoti-privacy — the privacy policy of huoti, as rules you can call
//!
//! huoti's privacy policy (`POLICY.md`, clauses `C1`…`L5`) is a list of promises about a
//! person's face data. This crate turns the promises that are *decisions* into pure functions,
//! so the server, the CLI and the tests all ask the same code the same question, and every
//! clause has a test named after it (`s2_…`, `r5_…`, `l3_…`).
//!
//! ## What it does
//!
//! | module | clauses | what you get |
//! |---|---|---|
//! | [`envelope`] | S2, C4, L3 | AES-256-GCM envelope encryption with one data key per subject and key domain, wrapped by a key-encryption key from a [`KeyProvider`] (a local `0600` key file by default); key rotation without touching blobs; crypto-shredding |
//! | [`mask`] | R1 | masking of ID numbers, phone numbers, bank cards, names, e-mail addresses; [`Redacted`] for logs |
//! | [`calendar`] | R5, R9 | the mainland-China working-day calendar from an operator-updatable TSV file, which refuses to guess past the years it covers |
//! | [`consent`] | A1, A3, C6, L1, L2, P2, R4, U2 | policy versions, consent scopes, a consent ledger that answers "may we capture / keep / share?" and says what a withdrawal obliges the server to do |
//! | [`retention`] | S1, S5, L2, R7 | how long each category of data lives, and whether it is then deleted or anonymised |
//! | [`rights`] | R1–R9, S4, C5, D1–D6 | data-subject requests and their due dates, refusals that must name a listed ground, disclosures that must name consent or a legal ground |
//! | [`audit`] | S2, C4 | an append-only, hash-chained audit log whose verifier names the first tampered entry; the staff-role permission matrix |
//! | [`sampling`] | C4 | the only way to look at training faces: a random sample, approved by a second person, that expires |
//! | [`assessment`] | L5 | a policy version that changes the processing is published only with an impact assessment completed before it binds |
//! | [`uses`] | U1, U2 | the closed list of uses of personal data; each is sealed into the records it covers, and anything else needs fresh consent |
//! | [`third_party`] | D2 | identity data from a third-party login is limited to the fields agreed with that party |
//!
//! ## What it deliberately does not do
//!
//! * **No I/O** except reading and writing the local key file of [`LocalKeyFile`]. It speaks no
//!   HTTP and no SQL: the server stores records, this crate decides.
//! * **No clock.** Every function that depends on time takes `now` (an
//!   [`OffsetDateTime`](time::OffsetDateTime)) as a parameter.
//! * **No hidden randomness.** Every function that needs randomness takes
//!   `&mut impl RngCore + CryptoRng`; pass `rand_core::OsRng` (feature `os-rng`) in production
//!   and a seeded generator in tests.
//! * **No oracle.** Every failure to authenticate or decrypt (wrong key, tampered ciphertext,
//!   tampered nonce, wrong associated data, wrong key domain) is the same opaque
//!   [`CryptoError`].
//! * **No secret in a log.** Keys live in `secrecy`/`zeroize` types and print as `[REDACTED]`;
//!   [`Redacted`] does the same for personal data.
//!
//! ## Example: seal a face frame under a subject's key, then shred it
//!
//! ```
//! use huoti_privacy::{BlobContext, DataKey, KeyDomain, SubjectId, envelope};
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//!
//! let mut rng = ChaCha20Rng::seed_from_u64(7); // production: rand_core::OsRng
//! let subject = SubjectId::new("subj-42");
//! let key = DataKey::generate(KeyDomain::Biometric, &mut rng);
//! let ctx = BlobContext::new("blob-1", subject.clone(), "liveness-frame");
//!
//! let sealed = envelope::seal(&key, b"jpeg bytes", &ctx, &mut rng).unwrap();
//! let stored = sealed.to_bytes(); // what goes to the blob store
//!
//! let reopened = envelope::SealedBlob::from_bytes(&stored).unwrap();
//! assert_eq!(envelope::open(&key, &reopened, &ctx).unwrap(), b"jpeg bytes");
//!
//! // Crypto-shredding: once the subject's (wrapped) data key is deleted, no other key opens it.
//! drop(key);
//! let other = DataKey::generate(KeyDomain::Biometric, &mut rng);
//! assert!(envelope::open(&other, &reopened, &ctx).is_err());
//! ```
//!
//! ## Time zone
//!
//! Deadlines in the policy are counted in mainland-China days: [`calendar::local_date`] turns an
//! instant into the date in China Standard Time (UTC+08:00), and due dates are inclusive (a
//! request due on a date is on time until the end of that date).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod assessment;
pub mod audit;
pub mod calendar;
pub mod consent;
pub mod envelope;
pub mod mask;
pub mod retention;
pub mod rights;
pub mod sampling;
pub mod third_party;
pub mod uses;

mod subject;

pub use audit::{AuditChain, AuditEntry, Permission, Role, Tampered};
pub use calendar::{CalendarError, Deadline, WorkCalendar};
pub use consent::{ConsentLedger, ConsentRecord, PolicyVersion, Scope};
pub use envelope::{
    BlobContext, CryptoError, DataKey, KeyDomain, KeyError, KeyProvider, LocalKeyFile, SealedBlob,
    WrappedKey,
};
pub use mask::Redacted;
pub use retention::{Action, DataCategory, RetentionPolicy, RetentionSubject};
pub use rights::{LegalGround, RefusalGround, RequestKind};
pub use subject::SubjectId;
