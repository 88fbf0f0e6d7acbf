//! Server configuration: a TOML file, then `HUOTI_*` environment overrides ([`env`]), then
//! command-line flags (applied by the caller). Every key has a default; `huoti serve` runs with
//! none. (Leaf module: it names no feature.)
//!
//! One [`ServerConfig`] with a section per concern:
//!
//! * the service ([`service`]): `[tls]`, `[session]`, `[limits]`, `[abuse]`, `[analysis]`, `[cors]`, and
//!   `[challenge]` (huoti-liveness's `ChallengeConfig`);
//! * storage ([`blobs`]): `[blobs]`, a local directory or an S3-compatible bucket;
//! * the privacy operations ([`privacy`]): `[residency]` (S1), `[retention]` (S1, S5, L2),
//!   `[incidents]` with `[incidents.smtp]` (S3), `[rights]` (the R5/R9 working-day calendar);
//! * face match ([`face_match`]): `[face_match]`, the threshold and how long a reference lives.

pub mod blobs;
mod env;
pub mod face_match;
pub mod privacy;
pub mod service;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use huoti_liveness::{CaptureConfig, ChallengeConfig};
use serde::{Deserialize, Serialize};

pub use blobs::BlobsConfig;
pub use face_match::FaceMatchConfig;
pub use privacy::{IncidentsConfig, ResidencyConfig, RetentionConfig, RightsConfig, SmtpConfig, check_smtp};
pub use service::{AbuseConfig, AnalysisConfig, CorsConfig, LimitsConfig, SessionConfig, TlsConfig};

use crate::error::ServerError;

/// The most a decoded upload holds in pixels: 4 megapixels of RGB (the frame decode limit).
pub const FRAME_PIXEL_BYTES: u64 = 4_194_304 * 3;

/// Everything the server can be told. See `config/huoti.example.toml` for a commented file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (`HUOTI_LISTEN`). Default `127.0.0.1:8443`.
    pub listen: SocketAddr,
    /// Where the database, keys, certificate and frame blobs live (`HUOTI_SERVER_DATA_DIR`; not `HUOTI_DATA_DIR`, which names the test-data directory).
    pub data_dir: PathBuf,
    /// Model directory (`HUOTI_MODEL_DIR`); the pinned models must be there (`huoti models fetch`).
    pub model_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (`HUOTI_DATABASE_URL`). Empty: `<data_dir>/huoti.db`.
    pub database_url: String,
    /// The key-encryption key file (`HUOTI_KEK_FILE`). Unset: `<data_dir>/kek.json`. A backup
    /// holding the database and this file together opens every sealed frame: keep it out of
    /// the data directory's backups, or here, elsewhere. `HUOTI_KEK` (the key set itself, in
    /// the environment) replaces the file altogether (see `vault::kek`).
    pub kek_file: Option<PathBuf>,
    /// `iss` of signed verdicts (`HUOTI_ISSUER`).
    pub issuer: String,
    /// Accept explicit (fixed) challenges in session requests (`HUOTI_TEST_MODE`). Never in
    /// production: a fixed challenge can be rehearsed.
    pub test_mode: bool,
    /// Tell the capturing client the decision, score and reasons, not only pass/fail
    /// (`HUOTI_EXPOSE_VERDICT_TO_CLIENT`).
    pub expose_verdict_to_client: bool,
    /// HTTPS: on by default, with a configured or a self-signed certificate.
    pub tls: TlsConfig,
    /// How long a session lives and how many frames, how large, how fast it takes.
    pub session: SessionConfig,
    /// How much memory one node gives frame uploads, and how slow a body may be.
    pub limits: LimitsConfig,
    /// When a correlation id is locked out after failed sessions.
    pub abuse: AbuseConfig,
    /// How much of the analysis runs per session, and how long replays are remembered.
    pub analysis: AnalysisConfig,
    /// How random challenges are drawn (see `huoti_liveness::ChallengeConfig`).
    pub challenge: ChallengeConfig,
    /// The capture profile stated in each challenge: frame width, JPEG quality and the frame
    /// rate of each part (see `huoti_liveness::CaptureConfig`; issue 15).
    pub capture: CaptureConfig,
    /// Cross-origin access to the API, for `<huoti-liveness>` on an integrator's own page.
    pub cors: CorsConfig,
    /// The region the data stays in (`HUOTI_DATA_REGION`, default `cn`; S1).
    pub data_region: String,
    /// Regions of the storage locations (S1).
    pub residency: ResidencyConfig,
    /// Where sealed blobs live: a directory or an S3-compatible bucket.
    pub blobs: BlobsConfig,
    /// Retention per data category (S1, S5, L2).
    pub retention: RetentionConfig,
    /// Incident notices (S3).
    pub incidents: IncidentsConfig,
    /// The person's rights: the working-day calendar of R5/R9 deadlines.
    pub rights: RightsConfig,
    /// Face match against a person's reference: threshold, how long a reference is kept.
    pub face_match: FaceMatchConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8443".parse().expect("valid address"),
            data_dir: PathBuf::from("huoti-data"),
            model_dir: PathBuf::from("models"),
            database_url: String::new(),
            kek_file: None,
            issuer: "huoti".into(),
            test_mode: false,
            expose_verdict_to_client: false,
            tls: TlsConfig::default(),
            session: SessionConfig::default(),
            limits: LimitsConfig::default(),
            abuse: AbuseConfig::default(),
            analysis: AnalysisConfig::default(),
            challenge: ChallengeConfig::default(),
            capture: CaptureConfig::default(),
            cors: CorsConfig::default(),
            data_region: "cn".into(),
            residency: Default::default(),
            blobs: Default::default(),
            retention: Default::default(),
            incidents: Default::default(),
            rights: Default::default(),
            face_match: Default::default(),
        }
    }
}

impl ServerConfig {
    /// Reads a TOML file (unknown keys are errors).
    pub fn from_file(path: &Path) -> Result<ServerConfig, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))?;
        blobs::refuse_inline_credentials(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
    }

    /// Checks values that would make the server misbehave.
    pub fn validate(&self) -> Result<(), ServerError> {
        let bad = |m: &str| Err(ServerError::Config(m.to_owned()));
        if self.session.ttl_s == 0 {
            return bad("session.ttl_s must be > 0");
        }
        if self.session.max_frames == 0 || self.session.max_frame_bytes == 0 {
            return bad("session.max_frames and session.max_frame_bytes must be > 0");
        }
        if self.session.frame_rate_per_s == 0 || self.session.frame_burst == 0 {
            return bad("session.frame_rate_per_s and session.frame_burst must be > 0");
        }
        if self.analysis.lease_s == 0 {
            return bad("analysis.lease_s must be > 0");
        }
        if self.limits.memory_budget_mib < 16 || self.limits.memory_budget_mib > 1 << 22 {
            return bad("limits.memory_budget_mib must be between 16 and 4194304");
        }
        if self.limits.upload_budget_bytes() < self.session.max_frame_bytes.saturating_add(FRAME_PIXEL_BYTES) {
            return bad("limits.memory_budget_mib is too small for one frame of session.max_frame_bytes at 4 megapixels");
        }
        if self.limits.body_timeout_s == 0 {
            return bad("limits.body_timeout_s must be > 0");
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad("tls.cert and tls.key must be given together");
        }
        self.challenge.validate().map_err(|e| ServerError::Config(format!("challenge: {e}")))?;
        self.capture.validate().map_err(ServerError::Config)?;
        for o in &self.cors.allowed_origins {
            // An origin is scheme://host[:port], nothing more: a path or `*` would never match
            // what a browser sends, or match far too much.
            let valid = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.ends_with('/')
                && o.split_once("://").is_some_and(|(_, rest)| !rest.is_empty() && !rest.contains(['/', '*', ' ', '?', '#']));
            if !valid {
                return bad(&format!("cors.allowed_origins: {o:?} is not an origin like https://shop.example.com"));
            }
        }
        self.residency.check(&self.data_region)?;
        self.blobs.check(&self.data_region)?;
        if self.retention.batch == 0 {
            return bad("retention.batch must be > 0");
        }
        let audit_minimum = huoti_privacy::RetentionPolicy::AUDIT_LOG_MINIMUM.whole_days() as u64;
        if self.retention.audit_log_days < audit_minimum {
            return bad(&format!("retention.audit_log_days must be at least {audit_minimum} (L5: audit records are kept at least 3 years)"));
        }
        self.face_match.check().map_err(ServerError::Config)?;
        match self.incidents.sender.as_str() {
            "" | "file" => {}
            "webhook" if !self.incidents.webhook_url.is_empty() => {}
            "webhook" => return bad("incidents.sender = \"webhook\" needs incidents.webhook_url"),
            "smtp" => check_smtp(&self.incidents.smtp).map_err(ServerError::Config)?,
            other => return Err(ServerError::Config(format!("incidents.sender {other:?}: use \"file\", \"webhook\" or \"smtp\""))),
        }
        Ok(())
    }

    /// The key-encryption key file in use when `HUOTI_KEK` is not set.
    pub fn kek_path(&self) -> PathBuf {
        self.kek_file.clone().unwrap_or_else(|| self.data_dir.join("kek.json"))
    }

    /// The database URL in use.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("huoti.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_env_overrides() {
        let mut c = ServerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.session.ttl_s, 180);
        assert_eq!(c.abuse.max_failures, 5);
        c.apply_env([("HUOTI_TEST_MODE".into(), "true".into()), ("PATH".into(), "/bin".into())]).unwrap();
        assert!(c.test_mode);
        assert!(c.apply_env([("HUOTI_MAX_FRAMES".into(), "many".into())]).is_err());
    }

    #[test]
    fn toml_file_round_trip() {
        let c: ServerConfig = toml::from_str("test_mode = true\n[session]\nttl_s = 30\n").unwrap();
        assert!(c.test_mode);
        assert_eq!(c.session.ttl_s, 30);
        assert_eq!(c.session.max_frames, 300);
        assert!(toml::from_str::<ServerConfig>("nonsense = 1").is_err());
    }
}

#[cfg(test)]
mod example_file {
    #[test]
    fn the_example_config_parses_and_validates() {
        let c: super::ServerConfig = toml::from_str(include_str!("../../../../config/huoti.example.toml")).unwrap();
        c.validate().unwrap();
        assert_eq!(c, super::ServerConfig::default());
    }
}
