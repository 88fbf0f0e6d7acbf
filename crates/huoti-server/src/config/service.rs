//! The service's own sections: TLS, session limits, the node's memory limits, the abuse lock,
//! analysis, CORS.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which other origins may call the API from a browser. The element runs on the integrator's
/// page, often another origin than this server; only the listed origins get CORS headers (no
/// wildcard: client tokens are bearer secrets, and a wildcard would let any site drive a session
/// whose token leaked to it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Exact origins, e.g. `https://shop.example.com` (`HUOTI_CORS_ORIGINS`, comma-separated).
    /// Empty (the default): same origin only.
    pub allowed_origins: Vec<String>,
}

/// TLS settings (`[tls]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// Serve HTTPS (`HUOTI_TLS`). Plain HTTP only for a TLS-terminating proxy in front.
    pub enabled: bool,
    /// PEM certificate chain (`HUOTI_TLS_CERT`). Unset: a self-signed certificate for
    /// `localhost`/`127.0.0.1` is made on first run in the data directory.
    pub cert: Option<PathBuf>,
    /// PEM private key (`HUOTI_TLS_KEY`).
    pub key: Option<PathBuf>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig { enabled: true, cert: None, key: None }
    }
}

/// Session limits (`[session]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Time to live of a session, seconds (`HUOTI_SESSION_TTL_S`, default 180).
    pub ttl_s: u64,
    /// Most frames per session (`HUOTI_MAX_FRAMES`, default 300).
    pub max_frames: u32,
    /// Largest frame, bytes (`HUOTI_MAX_FRAME_BYTES`, default 512 KiB).
    pub max_frame_bytes: u64,
    /// Sustained frame uploads per second per session (`HUOTI_FRAME_RATE_PER_S`, default 60).
    pub frame_rate_per_s: u32,
    /// Burst of frame uploads above the rate (`HUOTI_FRAME_BURST`, default 60).
    pub frame_burst: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { ttl_s: 180, max_frames: 300, max_frame_bytes: 512 * 1024, frame_rate_per_s: 60, frame_burst: 60 }
    }
}

/// What one node holds for frame uploads (`[limits]`): above these it answers
/// `503 server_busy` with `Retry-After`, or `408 request_timeout`, never a reset connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Memory for frames, MiB (`HUOTI_MEMORY_BUDGET_MIB`, default 256): three quarters for
    /// uploads in flight (each reserves its body, then its decoded pixels, before it holds
    /// them), a quarter for frames held back for reordering. Peak memory of a node is about its
    /// idle size plus this (docs/BENCHMARKS.md measures it under a flood).
    pub memory_budget_mib: u64,
    /// Longest time a frame body may take to arrive, seconds (`HUOTI_BODY_TIMEOUT_S`, default
    /// 30): a slow-loris upload holds its reservation no longer.
    pub body_timeout_s: u64,
    /// On SIGTERM, how long requests in flight may take to finish before the process exits
    /// anyway, seconds (`HUOTI_SHUTDOWN_GRACE_S`, default 30).
    pub shutdown_grace_s: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { memory_budget_mib: 256, body_timeout_s: 30, shutdown_grace_s: 30 }
    }
}

impl LimitsConfig {
    /// Bytes for uploads in flight.
    pub fn upload_budget_bytes(&self) -> u64 {
        self.memory_budget_mib.saturating_mul(1 << 20) / 4 * 3
    }

    /// Bytes for frames held back for reordering, across sessions.
    pub fn reorder_budget_bytes(&self) -> u64 {
        self.memory_budget_mib.saturating_mul(1 << 20) / 4
    }
}

/// The abuse lock: after `max_failures` sessions that did not end `live` for one correlation
/// id within `window_s`, new sessions for it are refused until the oldest of those failures
/// leaves the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AbuseConfig {
    /// `HUOTI_ABUSE_MAX_FAILURES`, default 5.
    pub max_failures: u32,
    /// `HUOTI_ABUSE_WINDOW_S`, default 180.
    pub window_s: u64,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        AbuseConfig { max_failures: 5, window_s: 180 }
    }
}

/// Analysis settings (`[analysis]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Frames scored by the passive anti-spoof models per session (default 3).
    pub passive_frames: usize,
    /// How long frame hashes are kept to catch replays across sessions, seconds (default 3600).
    pub seen_ttl_s: u64,
    /// The lease a node holds on a session it analyses, seconds (`HUOTI_ANALYSIS_LEASE_S`,
    /// default 30). The node renews it every third of it while it works; when the node dies
    /// mid-`complete`, the lease runs out and the janitor fails the session and erases its
    /// frames and key (L2) — within about `lease_s` plus one janitor round.
    pub lease_s: u64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig { passive_frames: 3, seen_ttl_s: 3600, lease_s: 30 }
    }
}
