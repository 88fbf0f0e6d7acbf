//! The privacy operations' sections: data residency (S1), retention per data category (S1,
//! S5, L2) and incident notices (S3).
//!
//! Each section is part of [`ServerConfig`](crate::ServerConfig) and has `HUOTI_*` overrides.

use lettre::message::Mailbox;
use huoti_privacy::RetentionPolicy;
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::error::ServerError;

/// Where data may be stored (S1: data collected in-country is stored in-country). Every
/// storage location is tagged with its region; start-up refuses a location tagged with a
/// region other than the configuration's `data_region`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResidencyConfig {
    /// Region of the database server (`HUOTI_DATABASE_REGION`); empty: the data region (a
    /// local SQLite file is always in it).
    pub database_region: String,
    /// Region of the blob store (`HUOTI_BLOB_REGION`); empty: the data region.
    pub blob_region: String,
    /// Object-store endpoint, when blobs live in one (`HUOTI_BLOB_ENDPOINT`); its host must
    /// name the data region (e.g. `oss-cn-beijing.aliyuncs.com`, `s3.cn-north-1.amazonaws.com.cn`).
    pub blob_endpoint: String,
}

impl ResidencyConfig {
    /// Refuses any storage location outside `data_region` (S1).
    pub fn check(&self, data_region: &str) -> Result<(), ServerError> {
        let region = data_region.trim().to_ascii_lowercase();
        if region.is_empty() {
            return Err(ServerError::Config("data_region must name the region the data stays in (S1), e.g. \"cn\"".into()));
        }
        for (what, tag) in [("database", &self.database_region), ("blob store", &self.blob_region)] {
            let tag = tag.trim().to_ascii_lowercase();
            if !tag.is_empty() && tag != region {
                return Err(ServerError::Config(format!(
                    "data residency (S1): the {what} is tagged region {tag:?} but data_region is {region:?}; \
                     data collected in {region:?} is stored only there"
                )));
            }
        }
        let endpoint = self.blob_endpoint.trim().to_ascii_lowercase();
        if !endpoint.is_empty() {
            let host = super::blobs::endpoint_host(&endpoint);
            if !super::blobs::names_region(host, &region) {
                return Err(ServerError::Config(format!(
                    "data residency (S1): the blob endpoint host {host:?} does not name region {region:?}; \
                     refusing to store data outside it"
                )));
            }
        }
        Ok(())
    }
}

/// The person's rights (R5, R9): the working-day calendar their deadlines are counted in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RightsConfig {
    /// A holiday calendar file (`HUOTI_RIGHTS_CALENDAR_FILE`; TSV `date<TAB>off|work<TAB>name`,
    /// see docs/API.md) that replaces the built-in 2025–2026 calendar, so the State Council's
    /// notice for the next year can be installed without a release. Checked at start (a bad
    /// file stops the server, naming the line) and every `calendar_check_s` while it runs: a
    /// changed file that parses replaces the calendar, one that does not is refused and the
    /// calendar in use stays. `huoti admin calendar check FILE` checks a file first.
    pub calendar_file: Option<std::path::PathBuf>,
    /// How often the calendar file is checked for changes, seconds
    /// (`HUOTI_RIGHTS_CALENDAR_CHECK_S`, default 60; 0: only at start).
    pub calendar_check_s: u64,
}

impl Default for RightsConfig {
    fn default() -> Self {
        RightsConfig { calendar_file: None, calendar_check_s: 60 }
    }
}

/// How long each data category lives (see `huoti_privacy::retention` for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Face frames whose verdict never came are deleted this long after capture
    /// (`HUOTI_RETENTION_PENDING_VERDICT_MAX_S`, default 3600).
    pub pending_verdict_max_s: u64,
    /// With retain-for-training consent, frames are kept at most this many days after the
    /// verdict (`HUOTI_RETENTION_TRAINING_MAX_DAYS`, default 90).
    pub training_max_days: u64,
    /// Device info is kept this many days (`HUOTI_RETENTION_DEVICE_INFO_DAYS`, default 30).
    pub device_info_days: u64,
    /// Legal minimum of verdict records, then anonymised (`HUOTI_RETENTION_VERDICT_MINIMUM_DAYS`,
    /// default 1096 = 3 years).
    pub verdict_minimum_days: u64,
    /// Legal minimum of identity data after deletion or closure
    /// (`HUOTI_RETENTION_IDENTITY_MINIMUM_DAYS`, default 1096).
    pub identity_minimum_days: u64,
    /// Audit log entries are kept this many days (`HUOTI_RETENTION_AUDIT_LOG_DAYS`, default
    /// 1096); less than 3 years is refused (L5).
    pub audit_log_days: u64,
    /// How often the server runs the retention job, seconds (`HUOTI_RETENTION_INTERVAL_S`,
    /// default 3600; 0: never — run `huoti admin retention run` from a scheduler instead).
    pub interval_s: u64,
    /// Rows claimed per batch (default 100).
    pub batch: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        let d = RetentionPolicy::default();
        RetentionConfig {
            pending_verdict_max_s: d.pending_verdict_max.whole_seconds() as u64,
            training_max_days: d.training_max.whole_days() as u64,
            device_info_days: d.device_info.whole_days() as u64,
            verdict_minimum_days: d.verdict_minimum.whole_days() as u64,
            identity_minimum_days: d.identity_minimum.whole_days() as u64,
            audit_log_days: d.audit_log.whole_days() as u64,
            interval_s: 3600,
            batch: 100,
        }
    }
}

fn days(n: u64) -> Duration {
    Duration::days(n.min(100_000) as i64)
}

impl RetentionConfig {
    /// The pure policy these settings describe.
    pub fn policy(&self) -> RetentionPolicy {
        RetentionPolicy {
            pending_verdict_max: Duration::seconds(self.pending_verdict_max_s.min(1 << 40) as i64),
            training_max: days(self.training_max_days),
            device_info: days(self.device_info_days),
            verdict_minimum: days(self.verdict_minimum_days),
            identity_minimum: days(self.identity_minimum_days),
            audit_log: days(self.audit_log_days),
        }
    }
}

/// Where incident notices go (S3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentsConfig {
    /// `file` (default: one JSON file per notice in `outbox_dir`), `webhook` or `smtp`
    /// (`HUOTI_NOTICE_SENDER`).
    pub sender: String,
    /// The file outbox (`HUOTI_OUTBOX_DIR`); empty: `<data_dir>/outbox`.
    pub outbox_dir: String,
    /// The webhook that receives each notice as a JSON POST (`HUOTI_NOTICE_WEBHOOK_URL`), e.g.
    /// the integrator's push/SMS/e-mail gateway.
    pub webhook_url: String,
    /// The mail relay, for `sender = "smtp"`.
    pub smtp: SmtpConfig,
}

/// Incident notices by e-mail (`incidents.sender = "smtp"`). Every notice goes to `to` —
/// typically the integrator's notification gateway or notices desk, which maps the
/// `X-Huoti-Recipient` header (a pseudonymous subject id) to its user — and the regulator
/// report to `regulator_to`. The password is never in this file: it comes from
/// `HUOTI_SMTP_PASSWORD` or from `password_file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name (`HUOTI_SMTP_HOST`); the TLS certificate must name it.
    pub host: String,
    /// The port (`HUOTI_SMTP_PORT`): 587 (submission, STARTTLS) by default.
    pub port: u16,
    /// `starttls` (default), `tls` (implicit TLS, usually port 465) or `none` — plain text,
    /// allowed only to a relay on this machine (S2: transport is encrypted).
    pub tls: String,
    /// A PEM file of extra root certificates to trust, e.g. a private CA (`HUOTI_SMTP_CA_FILE`).
    pub ca_file: String,
    /// The login, if the relay wants one (`HUOTI_SMTP_USERNAME`).
    pub username: String,
    /// A file holding the password (mode 0600), unless `HUOTI_SMTP_PASSWORD` is set.
    pub password_file: String,
    /// The sender address (`HUOTI_SMTP_FROM`), e.g. `huoti <privacy@shop.example.com>`.
    pub from: String,
    /// Where notices to people and public notices go (`HUOTI_SMTP_TO`).
    pub to: String,
    /// Where the regulator report goes (`HUOTI_SMTP_REGULATOR_TO`); empty: `to`.
    pub regulator_to: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: "starttls".into(),
            ca_file: String::new(),
            username: String::new(),
            password_file: String::new(),
            from: String::new(),
            to: String::new(),
            regulator_to: String::new(),
        }
    }
}

/// An e-mail address of `incidents.smtp.<field>`, or an error naming the field.
pub(crate) fn mailbox(field: &str, v: &str) -> Result<Mailbox, String> {
    v.parse().map_err(|_| format!("incidents.smtp.{field}: {v:?} is not an e-mail address like \"huoti <privacy@shop.example.com>\""))
}

/// Checks an SMTP configuration without connecting (server start-up refuses a bad one).
pub fn check_smtp(c: &SmtpConfig) -> Result<(), String> {
    if c.host.is_empty() {
        return Err("incidents.sender = \"smtp\" needs incidents.smtp.host".into());
    }
    match c.tls.as_str() {
        "starttls" | "tls" => {}
        "none" if super::blobs::is_loopback(&c.host) => {}
        "none" => return Err(format!("incidents.smtp.tls = \"none\" is allowed only to a relay on this machine, not {:?} (S2: transport is encrypted)", c.host)),
        other => return Err(format!("incidents.smtp.tls {other:?}: use \"starttls\", \"tls\" or \"none\"")),
    }
    mailbox("from", &c.from)?;
    mailbox("to", &c.to)?;
    if !c.regulator_to.is_empty() {
        mailbox("regulator_to", &c.regulator_to)?;
    }
    if !c.ca_file.is_empty() && !std::path::Path::new(&c.ca_file).is_file() {
        return Err(format!("incidents.smtp.ca_file: no file at {:?}", c.ca_file));
    }
    Ok(())
}
