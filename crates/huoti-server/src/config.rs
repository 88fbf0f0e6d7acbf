//! Server configuration: a TOML file, then `HUOTI_*` environment overrides, then command-line
//! flags (applied by the caller). Every key has a default; `huoti serve` runs with none.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use huoti_liveness::ChallengeConfig;
use serde::{Deserialize, Serialize};

use crate::ServerError;

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
    /// `iss` of signed verdicts (`HUOTI_ISSUER`).
    pub issuer: String,
    /// Accept explicit (fixed) challenges in session requests (`HUOTI_TEST_MODE`). Never in
    /// production: a fixed challenge can be rehearsed.
    pub test_mode: bool,
    /// Tell the capturing client the decision, score and reasons, not only pass/fail
    /// (`HUOTI_EXPOSE_VERDICT_TO_CLIENT`).
    pub expose_verdict_to_client: bool,
    /// TLS.
    pub tls: TlsConfig,
    /// Session limits.
    pub session: SessionConfig,
    /// Abuse lock.
    pub abuse: AbuseConfig,
    /// Analysis.
    pub analysis: AnalysisConfig,
    /// How random challenges are drawn (see `huoti_liveness::ChallengeConfig`).
    pub challenge: ChallengeConfig,
    /// Cross-origin access to the API, for `<huoti-liveness>` on an integrator's own page.
    pub cors: CorsConfig,
    /// The region the data stays in (`HUOTI_DATA_REGION`, default `cn`; S1).
    pub data_region: String,
    /// Regions of the storage locations (S1).
    pub residency: crate::ops_config::ResidencyConfig,
    /// Retention per data category (S1, S5, L2).
    pub retention: crate::ops_config::RetentionConfig,
    /// Incident notices (S3).
    pub incidents: crate::ops_config::IncidentsConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8443".parse().expect("valid address"),
            data_dir: PathBuf::from("huoti-data"),
            model_dir: PathBuf::from("models"),
            database_url: String::new(),
            issuer: "huoti".into(),
            test_mode: false,
            expose_verdict_to_client: false,
            tls: TlsConfig::default(),
            session: SessionConfig::default(),
            abuse: AbuseConfig::default(),
            analysis: AnalysisConfig::default(),
            challenge: ChallengeConfig::default(),
            cors: CorsConfig::default(),
            data_region: "cn".into(),
            residency: Default::default(),
            retention: Default::default(),
            incidents: Default::default(),
        }
    }
}

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

/// TLS settings.
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

/// Session limits.
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

/// Analysis settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Frames scored by the passive anti-spoof models per session (default 3).
    pub passive_frames: usize,
    /// How long frame hashes are kept to catch replays across sessions, seconds (default 3600).
    pub seen_ttl_s: u64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig { passive_frames: 3, seen_ttl_s: 3600 }
    }
}

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ServerError> {
    value.parse().map_err(|_| ServerError::Config(format!("{key}={value:?} is not valid")))
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ServerError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ServerError::Config(format!("{key}={value:?} is not a boolean"))),
    }
}

impl ServerConfig {
    /// Reads a TOML file (unknown keys are errors).
    pub fn from_file(path: &Path) -> Result<ServerConfig, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
    }

    /// Applies `HUOTI_*` overrides from `vars` (pass `std::env::vars()`); other variables are
    /// ignored.
    ///
    /// ```
    /// let mut c = huoti_server::ServerConfig::default();
    /// c.apply_env([("HUOTI_SESSION_TTL_S".to_string(), "60".to_string())]).unwrap();
    /// assert_eq!(c.session.ttl_s, 60);
    /// ```
    pub fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<(), ServerError> {
        for (k, v) in vars {
            let k = k.as_str();
            match k {
                "HUOTI_LISTEN" => self.listen = parse(k, &v)?,
                "HUOTI_SERVER_DATA_DIR" => self.data_dir = PathBuf::from(v),
                "HUOTI_MODEL_DIR" => self.model_dir = PathBuf::from(v),
                "HUOTI_DATABASE_URL" => self.database_url = v,
                "HUOTI_ISSUER" => self.issuer = v,
                "HUOTI_TEST_MODE" => self.test_mode = parse_bool(k, &v)?,
                "HUOTI_EXPOSE_VERDICT_TO_CLIENT" => self.expose_verdict_to_client = parse_bool(k, &v)?,
                "HUOTI_TLS" => self.tls.enabled = parse_bool(k, &v)?,
                "HUOTI_TLS_CERT" => self.tls.cert = Some(PathBuf::from(v)),
                "HUOTI_TLS_KEY" => self.tls.key = Some(PathBuf::from(v)),
                "HUOTI_SESSION_TTL_S" => self.session.ttl_s = parse(k, &v)?,
                "HUOTI_MAX_FRAMES" => self.session.max_frames = parse(k, &v)?,
                "HUOTI_MAX_FRAME_BYTES" => self.session.max_frame_bytes = parse(k, &v)?,
                "HUOTI_FRAME_RATE_PER_S" => self.session.frame_rate_per_s = parse(k, &v)?,
                "HUOTI_FRAME_BURST" => self.session.frame_burst = parse(k, &v)?,
                "HUOTI_ABUSE_MAX_FAILURES" => self.abuse.max_failures = parse(k, &v)?,
                "HUOTI_ABUSE_WINDOW_S" => self.abuse.window_s = parse(k, &v)?,
                "HUOTI_CORS_ORIGINS" => {
                    self.cors.allowed_origins = v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect()
                }
                "HUOTI_DATA_REGION" => self.data_region = v,
                "HUOTI_DATABASE_REGION" => self.residency.database_region = v,
                "HUOTI_BLOB_REGION" => self.residency.blob_region = v,
                "HUOTI_BLOB_ENDPOINT" => self.residency.blob_endpoint = v,
                "HUOTI_RETENTION_PENDING_VERDICT_MAX_S" => self.retention.pending_verdict_max_s = parse(k, &v)?,
                "HUOTI_RETENTION_TRAINING_MAX_DAYS" => self.retention.training_max_days = parse(k, &v)?,
                "HUOTI_RETENTION_DEVICE_INFO_DAYS" => self.retention.device_info_days = parse(k, &v)?,
                "HUOTI_RETENTION_VERDICT_MINIMUM_DAYS" => self.retention.verdict_minimum_days = parse(k, &v)?,
                "HUOTI_RETENTION_IDENTITY_MINIMUM_DAYS" => self.retention.identity_minimum_days = parse(k, &v)?,
                "HUOTI_RETENTION_AUDIT_LOG_DAYS" => self.retention.audit_log_days = parse(k, &v)?,
                "HUOTI_RETENTION_INTERVAL_S" => self.retention.interval_s = parse(k, &v)?,
                "HUOTI_NOTICE_SENDER" => self.incidents.sender = v,
                "HUOTI_OUTBOX_DIR" => self.incidents.outbox_dir = v,
                "HUOTI_NOTICE_WEBHOOK_URL" => self.incidents.webhook_url = v,
                "HUOTI_SMTP_HOST" => self.incidents.smtp.host = v,
                "HUOTI_SMTP_PORT" => self.incidents.smtp.port = parse(k, &v)?,
                "HUOTI_SMTP_TLS" => self.incidents.smtp.tls = v,
                "HUOTI_SMTP_CA_FILE" => self.incidents.smtp.ca_file = v,
                "HUOTI_SMTP_USERNAME" => self.incidents.smtp.username = v,
                "HUOTI_SMTP_FROM" => self.incidents.smtp.from = v,
                "HUOTI_SMTP_TO" => self.incidents.smtp.to = v,
                "HUOTI_SMTP_REGULATOR_TO" => self.incidents.smtp.regulator_to = v,
                _ => {}
            }
        }
        Ok(())
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
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad("tls.cert and tls.key must be given together");
        }
        self.challenge.validate().map_err(|e| ServerError::Config(format!("challenge: {e}")))?;
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
        if self.retention.batch == 0 {
            return bad("retention.batch must be > 0");
        }
        let audit_minimum = huoti_privacy::RetentionPolicy::AUDIT_LOG_MINIMUM.whole_days() as u64;
        if self.retention.audit_log_days < audit_minimum {
            return bad(&format!("retention.audit_log_days must be at least {audit_minimum} (L5: audit records are kept at least 3 years)"));
        }
        match self.incidents.sender.as_str() {
            "" | "file" => {}
            "webhook" if !self.incidents.webhook_url.is_empty() => {}
            "webhook" => return bad("incidents.sender = \"webhook\" needs incidents.webhook_url"),
            "smtp" => crate::incidents::smtp::check(&self.incidents.smtp).map_err(ServerError::Config)?,
            other => return Err(ServerError::Config(format!("incidents.sender {other:?}: use \"file\", \"webhook\" or \"smtp\""))),
        }
        Ok(())
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
        let c: super::ServerConfig = toml::from_str(include_str!("../../../config/huoti.example.toml")).unwrap();
        c.validate().unwrap();
        assert_eq!(c, super::ServerConfig::default());
    }
}
