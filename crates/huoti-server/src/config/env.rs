//! `HUOTI_*` environment overrides of the configuration.

use std::path::PathBuf;

use super::ServerConfig;
use crate::error::ServerError;

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
                "HUOTI_KEK_FILE" => self.kek_file = Some(PathBuf::from(v)),
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
                "HUOTI_MEMORY_BUDGET_MIB" => self.limits.memory_budget_mib = parse(k, &v)?,
                "HUOTI_BODY_TIMEOUT_S" => self.limits.body_timeout_s = parse(k, &v)?,
                "HUOTI_SHUTDOWN_GRACE_S" => self.limits.shutdown_grace_s = parse(k, &v)?,
                "HUOTI_ABUSE_MAX_FAILURES" => self.abuse.max_failures = parse(k, &v)?,
                "HUOTI_ABUSE_WINDOW_S" => self.abuse.window_s = parse(k, &v)?,
                "HUOTI_ANALYSIS_LEASE_S" => self.analysis.lease_s = parse(k, &v)?,
                "HUOTI_CORS_ORIGINS" => {
                    self.cors.allowed_origins = v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect()
                }
                "HUOTI_DATA_REGION" => self.data_region = v,
                "HUOTI_DATABASE_REGION" => self.residency.database_region = v,
                "HUOTI_BLOB_REGION" => self.residency.blob_region = v,
                "HUOTI_BLOB_ENDPOINT" => self.residency.blob_endpoint = v,
                "HUOTI_BLOBS_KIND" => self.blobs.kind = v,
                "HUOTI_BLOBS_DIR" => self.blobs.dir = v,
                "HUOTI_BLOBS_BUCKET" => self.blobs.bucket = v,
                "HUOTI_BLOBS_PREFIX" => self.blobs.prefix = v,
                "HUOTI_BLOBS_ENDPOINT" => self.blobs.endpoint = v,
                "HUOTI_BLOBS_REGION" => self.blobs.region = v,
                "HUOTI_BLOBS_PATH_STYLE" => self.blobs.path_style = parse_bool(k, &v)?,
                "HUOTI_BLOBS_CREDENTIALS_FILE" => self.blobs.credentials_file = v,
                "HUOTI_BLOBS_CA_FILE" => self.blobs.ca_file = v,
                "HUOTI_RETENTION_PENDING_VERDICT_MAX_S" => self.retention.pending_verdict_max_s = parse(k, &v)?,
                "HUOTI_RETENTION_TRAINING_MAX_DAYS" => self.retention.training_max_days = parse(k, &v)?,
                "HUOTI_RETENTION_DEVICE_INFO_DAYS" => self.retention.device_info_days = parse(k, &v)?,
                "HUOTI_RETENTION_VERDICT_MINIMUM_DAYS" => self.retention.verdict_minimum_days = parse(k, &v)?,
                "HUOTI_RETENTION_IDENTITY_MINIMUM_DAYS" => self.retention.identity_minimum_days = parse(k, &v)?,
                "HUOTI_RETENTION_AUDIT_LOG_DAYS" => self.retention.audit_log_days = parse(k, &v)?,
                "HUOTI_RETENTION_INTERVAL_S" => self.retention.interval_s = parse(k, &v)?,
                "HUOTI_RIGHTS_CALENDAR_FILE" => self.rights.calendar_file = Some(PathBuf::from(v)),
                "HUOTI_RIGHTS_CALENDAR_CHECK_S" => self.rights.calendar_check_s = parse(k, &v)?,
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
}
