//! Incident notices by e-mail (S3 names push, e-mail and SMS): [`SmtpSender`] hands each
//! notice to a mail relay over TLS, as a readable `text/plain` part in the notice's own words
//! plus the notice as `notice.json` for the gateway's software.
//!
//! Transport is encrypted (S2): STARTTLS or implicit TLS, the relay's certificate verified
//! against the web PKI roots and any `ca_file`; plain text only to a relay on this machine.
//! The mail carries what the outbox row carries — the notice id, the kind, the pseudonymous
//! recipient id and the notice text — never face data or identity values.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use secrecy::{ExposeSecret, SecretString};

use super::{Notice, NoticeSender};
use crate::config::privacy::mailbox;
use crate::config::{SmtpConfig, check_smtp as check};

/// How long one delivery may take before it counts as failed (the notice stays queued).
const TIMEOUT: Duration = Duration::from_secs(20);

/// Delivers notices through an SMTP relay.
pub struct SmtpSender {
    transport: SmtpTransport,
    from: Mailbox,
    to: Mailbox,
    regulator_to: Mailbox,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No transport internals: they hold the credentials.
        f.debug_struct("SmtpSender").field("from", &self.from).field("to", &self.to).finish_non_exhaustive()
    }
}

fn password(c: &SmtpConfig) -> Result<Option<SecretString>, String> {
    if let Ok(p) = std::env::var("HUOTI_SMTP_PASSWORD") {
        return Ok(Some(SecretString::from(p)));
    }
    if c.password_file.is_empty() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&c.password_file).map_err(|e| format!("incidents.smtp.password_file: {e}"))?;
    Ok(Some(SecretString::from(text.trim_end_matches(['\r', '\n']).to_owned())))
}

impl SmtpSender {
    /// Builds the sender; no connection is made until the first notice.
    pub fn new(c: &SmtpConfig) -> Result<Self, String> {
        check(c)?;
        let mut tls = TlsParameters::builder(c.host.clone());
        if !c.ca_file.is_empty() {
            let pem = std::fs::read(&c.ca_file).map_err(|e| format!("incidents.smtp.ca_file: {e}"))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| format!("incidents.smtp.ca_file: {e}"))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls.build_rustls().map_err(|e| format!("incidents.smtp: TLS setup: {e}"))?;
        let mode = match c.tls.as_str() {
            "tls" => Tls::Wrapper(tls),
            "none" => Tls::None,
            // A relay that does not offer STARTTLS is refused, never spoken to in plain text.
            _ => Tls::Required(tls),
        };
        let mut b = SmtpTransport::builder_dangerous(c.host.as_str()).port(c.port).tls(mode).timeout(Some(TIMEOUT));
        if !c.username.is_empty() {
            let pw = password(c)?.ok_or("incidents.smtp.username needs a password: HUOTI_SMTP_PASSWORD or incidents.smtp.password_file")?;
            b = b.credentials(Credentials::new(c.username.clone(), pw.expose_secret().to_owned()));
        }
        let to = mailbox("to", &c.to)?;
        let regulator_to = if c.regulator_to.is_empty() { to.clone() } else { mailbox("regulator_to", &c.regulator_to)? };
        Ok(Self { transport: b.build(), from: mailbox("from", &c.from)?, to, regulator_to })
    }

    /// The e-mail for one notice.
    pub fn message(&self, notice: &Notice) -> Result<Message, String> {
        let to = if notice.kind == "regulator" { &self.regulator_to } else { &self.to };
        let header = |name: &'static str, v: &str| HeaderValue::new(HeaderName::new_from_ascii_str(name), v.to_owned());
        let json = serde_json::to_string_pretty(notice).map_err(|e| e.to_string())?;
        Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(subject(&notice.kind))
            .raw_header(header("X-Huoti-Notice", &notice.id))
            .raw_header(header("X-Huoti-Kind", &notice.kind))
            .raw_header(header("X-Huoti-Recipient", &notice.recipient))
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text(notice)))
                    .singlepart(Attachment::new("notice.json".into()).body(json, ContentType::parse("application/json").map_err(|e| e.to_string())?)),
            )
            .map_err(|e| format!("building the notice e-mail: {e}"))
    }
}

impl NoticeSender for SmtpSender {
    fn send(&self, notice: &Notice) -> Result<(), String> {
        let mail = self.message(notice)?;
        // The relay's answer only: it never echoes the body.
        self.transport.send(&mail).map(|_| ()).map_err(|e| format!("smtp: {e}"))
    }
}

fn subject(kind: &str) -> &'static str {
    match kind {
        "regulator" => "Personal information security incident report / 个人信息安全事件报告",
        "wind_down" => "Service shutting down: what happens to your data / 服务终止通知",
        _ => "Security incident notice / 个人信息安全事件告知",
    }
}

/// The notice's members as labelled paragraphs, in the order they were written.
fn text(notice: &Notice) -> String {
    let mut out = String::new();
    match &notice.body {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let label: String = k.replace('_', " ");
                let value = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push_str(&format!("{}:\n{value}\n\n", capitalise(&label)));
            }
        }
        other => out.push_str(&other.to_string()),
    }
    out.push_str(&format!("Notice {} ({})\n", notice.id, notice.created_at));
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SmtpConfig {
        SmtpConfig { host: "mail.example.com".into(), from: "huoti <privacy@example.com>".into(), to: "notices@example.com".into(), ..SmtpConfig::default() }
    }

    #[test]
    fn s2_plain_text_smtp_is_refused_except_to_this_machine() {
        assert_eq!(check(&config()), Ok(()));
        let plain = SmtpConfig { tls: "none".into(), ..config() };
        assert!(check(&plain).unwrap_err().contains("S2"), "plain text to a remote relay is refused");
        for host in ["localhost", "127.0.0.1", "::1"] {
            assert_eq!(check(&SmtpConfig { host: host.into(), ..plain.clone() }), Ok(()), "{host}");
        }
        assert!(check(&SmtpConfig { tls: "ssl".into(), ..config() }).is_err());
    }

    #[test]
    fn s3_smtp_configuration_errors_name_the_field() {
        assert!(check(&SmtpConfig { host: String::new(), ..config() }).unwrap_err().contains("smtp.host"));
        assert!(check(&SmtpConfig { from: "not an address".into(), ..config() }).unwrap_err().contains("smtp.from"));
        assert!(check(&SmtpConfig { regulator_to: "@".into(), ..config() }).unwrap_err().contains("smtp.regulator_to"));
        assert!(check(&SmtpConfig { ca_file: "/nonexistent/ca.pem".into(), ..config() }).unwrap_err().contains("smtp.ca_file"));
        let e = SmtpSender::new(&SmtpConfig { username: "huoti".into(), ..config() });
        // Without HUOTI_SMTP_PASSWORD in this test's environment a login has no password.
        if std::env::var_os("HUOTI_SMTP_PASSWORD").is_none() {
            assert!(e.unwrap_err().contains("needs a password"));
        }
    }

    #[test]
    fn s3_notice_mail_carries_the_four_points_and_goes_to_the_right_mailbox() {
        let s = SmtpSender::new(&SmtpConfig { regulator_to: "cac@example.gov".into(), ..config() }).unwrap();
        let notice = Notice {
            id: "nt_1".into(),
            incident_id: Some("in_1".into()),
            kind: "subject".into(),
            recipient: "sub_7".into(),
            body: serde_json::json!({"what_happened": "a disk was lost", "likely_impact": "i", "what_we_did": "w", "what_you_can_do": "a", "remedy": "r"}),
            created_at: "2027-01-01T00:00:00Z".into(),
        };
        let raw = String::from_utf8(s.message(&notice).unwrap().formatted()).unwrap();
        assert!(raw.contains("To: notices@example.com"), "{raw}");
        assert!(raw.contains("X-Huoti-Recipient: sub_7") && raw.contains("X-Huoti-Notice: nt_1"), "{raw}");
        for label in ["What happened:", "Likely impact:", "What we did:", "What you can do:", "Remedy:"] {
            assert!(raw.contains(label), "{label} in {raw}");
        }
        let report = Notice { kind: "regulator".into(), recipient: "regulator".into(), ..notice };
        let raw = String::from_utf8(s.message(&report).unwrap().formatted()).unwrap();
        assert!(raw.contains("To: cac@example.gov"), "{raw}");
    }
}
