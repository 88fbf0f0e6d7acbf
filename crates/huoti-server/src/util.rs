//! Small helpers every module may use: hashing and constant-time comparison of secrets, random
//! identifiers, and the time and day formats of the wire and the database. (Leaf module: it names no feature.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// The SHA-256 of `s`, hex: how tokens and key secrets are stored.
pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Equality in constant time, so that comparing a secret's hash does not tell by its timing
/// how much of it matched.
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// `n` random bytes, URL-safe base64 without padding (secrets: tokens, key secrets).
pub(crate) fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    B64.encode(b)
}

/// `n` random bytes, hex (identifiers and nonces).
pub(crate) fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// RFC 3339 UTC for a Unix-ms time.
pub(crate) fn rfc3339(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A Unix-ms time as an instant (the rules of `huoti-privacy` take `OffsetDateTime`).
pub(crate) fn instant(ms: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An instant as Unix ms (0 before the epoch, saturating far in the future).
pub(crate) fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000).clamp(0, i128::from(i64::MAX)) as i64
}

/// `YYYY-MM-DD`, the stored and wire form of a day (impact assessments, due dates).
pub fn parse_day(s: &str) -> Option<time::Date> {
    time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok()
}

/// The stored and wire form of a day.
pub fn format_day(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
