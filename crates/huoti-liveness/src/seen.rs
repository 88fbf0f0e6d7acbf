//! A store of frame hashes from earlier sessions, to catch replayed frames.
//!
//! Pure and in memory: the caller decides when "now" is and when to expire, and may persist
//! the store (it is serde-serialisable: only the entries are written, the index is rebuilt).
//!
//! Lookups within 3 bits use a pigeonhole index: split the 64-bit hash into four 16-bit
//! chunks; two hashes within 3 bits of each other agree exactly on at least one chunk, so only
//! entries sharing a chunk are compared. Wider searches scan every entry.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Frame hashes seen in earlier sessions, with the time they were recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Stored", into = "Stored")]
pub struct SeenFrames {
    entries: Vec<SeenEntry>,
    /// For each 16-bit chunk position, chunk value → indexes into `entries` (ascending).
    index: [HashMap<u16, Vec<usize>>; CHUNKS],
}

const CHUNKS: usize = 4;

fn chunk(hash: u64, k: usize) -> u16 {
    (hash >> (16 * k)) as u16
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SeenEntry {
    session: String,
    hash: u64,
    at_ms: u64,
}

/// The serialised form: entries only.
#[derive(Serialize, Deserialize)]
struct Stored {
    entries: Vec<SeenEntry>,
}

impl From<Stored> for SeenFrames {
    fn from(stored: Stored) -> SeenFrames {
        let mut seen = SeenFrames {
            entries: stored.entries,
            index: Default::default(),
        };
        seen.reindex();
        seen
    }
}

impl From<SeenFrames> for Stored {
    fn from(seen: SeenFrames) -> Stored {
        Stored {
            entries: seen.entries,
        }
    }
}

impl SeenFrames {
    /// An empty store.
    pub fn new() -> SeenFrames {
        SeenFrames::default()
    }

    /// Records that `session_id` contained a frame with this hash, at time `now_ms` (any
    /// monotonic clock of the caller's choosing; only differences matter for [`expire`]).
    ///
    /// Call it *after* analysing the session, or the session's own frames would match
    /// themselves.
    ///
    /// [`expire`]: SeenFrames::expire
    pub fn insert(&mut self, session_id: &str, hash: u64, now_ms: u64) {
        let i = self.entries.len();
        self.entries.push(SeenEntry {
            session: session_id.to_owned(),
            hash,
            at_ms: now_ms,
        });
        for (k, map) in self.index.iter_mut().enumerate() {
            map.entry(chunk(hash, k)).or_default().push(i);
        }
    }

    /// Records every frame hash of a session (see [`insert`](SeenFrames::insert)).
    pub fn insert_session<'a>(
        &mut self,
        session_id: &str,
        hashes: impl IntoIterator<Item = &'a u64>,
        now_ms: u64,
    ) {
        for &h in hashes {
            self.insert(session_id, h, now_ms);
        }
    }

    /// The session of a recorded hash within `max_distance` bits (Hamming) of `hash`, if any.
    /// The earliest recorded match wins.
    pub fn matches(&self, hash: u64, max_distance: u32) -> Option<&str> {
        let close = |&i: &usize| hamming(self.entries[i].hash, hash) <= max_distance;
        let first = if max_distance < CHUNKS as u32 {
            self.index
                .iter()
                .enumerate()
                .filter_map(|(k, map)| map.get(&chunk(hash, k))?.iter().copied().find(close))
                .min()
        } else {
            (0..self.entries.len()).find(close)
        };
        first.map(|i| self.entries[i].session.as_str())
    }

    /// Forgets hashes recorded more than `ttl_ms` before `now_ms` (kept: `at_ms + ttl_ms >
    /// now_ms`). Frame hashes are derived from face images, so they are kept no longer than
    /// needed (policy S1).
    pub fn expire(&mut self, now_ms: u64, ttl_ms: u64) {
        let before = self.entries.len();
        self.entries
            .retain(|e| e.at_ms.saturating_add(ttl_ms) > now_ms);
        if self.entries.len() != before {
            self.reindex();
        }
    }

    /// Number of recorded hashes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no hash is recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn reindex(&mut self) {
        self.index = Default::default();
        for (i, e) in self.entries.iter().enumerate() {
            for (k, map) in self.index.iter_mut().enumerate() {
                map.entry(chunk(e.hash, k)).or_default().push(i);
            }
        }
    }
}

/// Hamming distance between two 64-bit hashes.
pub(crate) fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn indexed_lookup_agrees_with_a_linear_scan(
            stored in proptest::collection::vec((any::<u64>(), 0u8..4), 0..60),
            flips in proptest::collection::vec(0u32..64, 0..6),
            pick: prop::sample::Index,
            max_distance in 0u32..8,
        ) {
            let mut seen = SeenFrames::new();
            for (i, (h, s)) in stored.iter().enumerate() {
                seen.insert(&format!("s{s}"), *h, i as u64);
            }
            // A probe near a stored hash (or a random one when nothing is stored).
            let mut probe = if stored.is_empty() { 0 } else { stored[pick.index(stored.len())].0 };
            for b in flips {
                probe ^= 1 << b;
            }
            let linear = stored
                .iter()
                .find(|(h, _)| (h ^ probe).count_ones() <= max_distance)
                .map(|(_, s)| format!("s{s}"));
            prop_assert_eq!(seen.matches(probe, max_distance).map(str::to_owned), linear);
        }
    }

    #[test]
    fn store_round_trips_through_json_and_keeps_its_index() {
        let mut seen = SeenFrames::new();
        seen.insert("a", 0x1234_5678_9abc_def0, 5);
        let json = serde_json::to_string(&seen).unwrap();
        assert!(!json.contains("index"));
        let back: SeenFrames = serde_json::from_str(&json).unwrap();
        assert_eq!(back, seen);
        assert_eq!(back.matches(0x1234_5678_9abc_def1, 1), Some("a"));
    }

    #[test]
    fn matches_within_distance_only() {
        let mut seen = SeenFrames::new();
        seen.insert("s1", 0xFFFF_0000_FFFF_0000, 10);
        assert_eq!(seen.matches(0xFFFF_0000_FFFF_0000, 0), Some("s1"));
        assert_eq!(seen.matches(0xFFFF_0000_FFFF_0003, 2), Some("s1"));
        assert_eq!(seen.matches(0xFFFF_0000_FFFF_0007, 2), None);
        assert_eq!(seen.matches(!0xFFFF_0000_FFFF_0000, 10), None);
    }

    #[test]
    fn s1_expired_hashes_no_longer_match() {
        let mut seen = SeenFrames::new();
        seen.insert("old", 42, 1_000);
        seen.insert_session("new", &[7, 8], 5_000);
        seen.expire(4_999, 4_000);
        assert_eq!(seen.len(), 3, "nothing is older than the ttl yet");
        seen.expire(5_000, 4_000);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen.matches(42, 0), None);
        assert_eq!(seen.matches(8, 0), Some("new"));
        seen.expire(u64::MAX, 1);
        assert!(seen.is_empty());
    }
}
