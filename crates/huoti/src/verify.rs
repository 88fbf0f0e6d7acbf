//! `huoti verify`: a command-line client that runs one whole liveness session against a
//! server. It plays both roles: the integrator's backend (create the session with the API key;
//! afterwards fetch the signed result and verify its signature against `/v1/keys`) and the
//! capturing client, which is the Rust SDK (`huoti-sdk`): the same driver, permissions,
//! uploads with retries and guaranteed source release that an app uses.
//!
//! Frames come from a video (through ffmpeg: `--start`, `--duration`, `--fps`, `--width`) or
//! from a directory of images (in name order, `--fps` apart). A recorded clip cannot follow a
//! random challenge: `--challenge-file` sends an explicit challenge, which only a server in
//! test mode accepts. Capture stops when the challenge ends, as in an app. The SDK follows
//! the challenge's capture profile (issue 15): frames are thinned to its rates and scaled
//! down to its width at its JPEG quality, so `--fps` and `--width` shape the source, not what
//! is sent; the output says how many frames and bytes were sent.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgGroup, Args};
use huoti_api as wire;
use huoti_media::FfmpegOptions;
use huoti_sdk::{ActionHint, CancelToken, Driver, FrameSource, ImageDir, Lang, Ticket, Trust, Ui, VideoFile, hint_text};
use serde::Serialize;

use crate::exit::Exit;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["video", "frames"])))]
pub struct VerifyArgs {
    /// Server base URL, e.g. https://127.0.0.1:8443.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// Integrator API key.
    #[arg(long, env = "HUOTI_API_KEY", hide_env_values = true, value_name = "KEY")]
    pub api_key: String,
    /// A video file (any format ffmpeg reads).
    #[arg(long, value_name = "FILE")]
    pub video: Option<PathBuf>,
    /// A directory of JPEG frames, sent in name order.
    #[arg(long, value_name = "DIR")]
    pub frames: Option<PathBuf>,
    /// Explicit challenge, JSON `{"actions":[{"action":"open_mouth","start_ms":…,"end_ms":…}],
    /// "flashes":[]}` (the server must run in test mode).
    #[arg(long, value_name = "FILE")]
    pub challenge_file: Option<PathBuf>,
    /// Ask for a challenge without colour flashes.
    #[arg(long)]
    pub reduced_flash: bool,
    /// Trust this PEM certificate (e.g. the server's self-signed ~/.local/share/huoti/server/tls/cert.pem).
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Frames per second sent (video: resampled; directory: timestamp spacing).
    #[arg(long, default_value_t = 15.0)]
    pub fps: f64,
    /// Video: start at this second.
    #[arg(long, value_name = "SECONDS")]
    pub start: Option<f64>,
    /// Video: this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Video: scale to this width (the SDK then scales down to the challenge's capture width).
    #[arg(long, default_value_t = 480)]
    pub width: u32,
    /// Opaque device/account id for the abuse lock.
    #[arg(long)]
    pub correlation_id: Option<String>,
    /// Device model to send (only if the person allowed device info, P2).
    #[arg(long)]
    pub device_model: Option<String>,
    /// OS type to send (P2).
    #[arg(long)]
    pub os_type: Option<String>,
    /// OS version to send (P2).
    #[arg(long)]
    pub os_version: Option<String>,
    /// The person being verified has read and accepts the server's privacy policy (the
    /// version in force, `GET /v1/policy`): consent to face capture and upload, and to device
    /// info when --device-model/--os-type/--os-version are given, is recorded with channel
    /// `cli`. Without this flag the policy is shown and the question asked on the terminal;
    /// without a terminal, verify refuses to run (nothing is captured or sent).
    #[arg(long)]
    pub consent: bool,
    /// The integrator's pseudonymous reference for the person (consents and rights attach to
    /// it).
    #[arg(long, value_name = "REF")]
    pub subject_ref: Option<String>,
    /// Face match (本人核验): compare the live face with the person's reference (needs
    /// --subject-ref; with --consent the person also accepts `face_comparison`). The verdict
    /// then carries `face_match`.
    #[arg(long, requires = "subject_ref")]
    pub face_match: bool,
    /// Make this session's best frame the person's face reference when it is live (needs
    /// --subject-ref and the `face_comparison` consent, as --face-match).
    #[arg(long, requires = "subject_ref")]
    pub enrol_reference: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Language of the prompts printed while capturing (`en` or `zh-CN`).
    #[arg(long, default_value = "en", value_parser = ["en", "zh-CN"])]
    pub lang: String,
}

/// The CLI's permission answers: camera yes (the operator chose the input), device info when
/// given, and consent from `--consent` or the terminal (A1, L1).
struct CliPermissions {
    device_info: bool,
    consent: bool,
    /// Face match asked for (--face-match / --enrol-reference): `face_comparison` is part of
    /// what the person accepts.
    face_comparison: bool,
}

impl huoti_sdk::Permissions for CliPermissions {
    fn camera(&mut self) -> huoti_sdk::Answer {
        huoti_sdk::Answer::Granted
    }
    fn device_info(&mut self) -> huoti_sdk::Answer {
        self.device_info.into()
    }
    fn consent(&mut self, policy: &wire::PolicyInfo) -> huoti_sdk::Answer {
        use std::io::{BufRead, IsTerminal, Write};
        if self.consent {
            return huoti_sdk::Answer::Granted;
        }
        if !std::io::stdin().is_terminal() {
            eprintln!("error: the person's consent is required: pass --consent once they accepted privacy policy {} ({})", policy.version, policy.url);
            return huoti_sdk::Answer::Denied;
        }
        eprintln!("Privacy policy {} ({}; {}). The person agrees to:", policy.version, policy.digest, policy.url);
        let asked = |s: &wire::PolicyScope| s.required || (self.device_info && s.id == "device_info") || (self.face_comparison && s.id == "face_comparison");
        for s in policy.scopes.iter().filter(|s| asked(s)) {
            eprintln!("  - {}: {}", s.id, s.description_en);
        }
        eprint!("Does the person accept? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        matches!(line.trim(), "y" | "Y" | "yes" | "Yes").into()
    }
    fn face_comparison(&mut self, _policy: &wire::PolicyInfo) -> huoti_sdk::Answer {
        // Asked together with the policy above (listed there when face match was asked for).
        self.face_comparison.into()
    }
}

#[derive(Debug)]
enum Failure {
    Setup(String),
    Input(String),
    Api { status: u16, problem: Option<wire::Problem> },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Setup(m) | Failure::Input(m) => f.write_str(m),
            Failure::Api { status, problem: Some(p) } => {
                write!(f, "server answered {status} [{}]: {}", p.code, p.detail.as_deref().unwrap_or(&p.title))
            }
            Failure::Api { status, problem: None } => write!(f, "server answered {status}"),
        }
    }
}

fn agent(args: &VerifyArgs) -> Result<ureq::Agent, Failure> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(pem) = &args.ca_cert {
        let bytes = std::fs::read(pem).map_err(|e| Failure::Setup(format!("{}: {e}", pem.display())))?;
        let cert = ureq::tls::Certificate::from_pem(&bytes)
            .map_err(|e| Failure::Setup(format!("{}: {e}", pem.display())))?
            .to_owned();
        tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])));
    }
    Ok(ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .tls_config(tls.build())
        .build()
        .into())
}

fn read<T: serde::de::DeserializeOwned>(mut res: ureq::http::Response<ureq::Body>) -> Result<T, Failure> {
    let status = res.status().as_u16();
    if (200..300).contains(&status) {
        res.body_mut().read_json().map_err(|e| Failure::Setup(format!("bad answer from the server: {e}")))
    } else {
        Err(Failure::Api { status, problem: res.body_mut().read_json().ok() })
    }
}

fn transport(e: ureq::Error) -> Failure {
    Failure::Setup(format!("cannot reach the server: {e}"))
}

fn source(args: &VerifyArgs) -> Box<dyn FrameSource> {
    match (&args.video, &args.frames) {
        (Some(video), _) => Box::new(VideoFile::new(
            video,
            FfmpegOptions { start_s: args.start, duration_s: args.duration, fps: Some(args.fps), width: Some(args.width) },
        )),
        (None, Some(dir)) => Box::new(ImageDir::new(dir, args.fps)),
        (None, None) => unreachable!("clap requires a source"),
    }
}

fn sdk_failure(e: huoti_sdk::Error) -> Failure {
    use huoti_sdk::Error as E;
    match e {
        E::Network { .. } | E::Config(_) => Failure::Setup(e.to_string()),
        E::Source(huoti_sdk::SourceError::Media(huoti_media::MediaError::FfmpegMissing(_))) => Failure::Setup(e.to_string()),
        other => Failure::Input(other.to_string()),
    }
}

#[derive(Debug, Serialize)]
struct Output {
    session_id: String,
    frames_sent: u32,
    /// JPEG bytes uploaded (each frame once): what the check cost the person's data plan.
    bytes_sent: u64,
    passed: bool,
    signature_verified: bool,
    verdict: wire::SessionVerdict,
}

fn session(args: &VerifyArgs) -> Result<Output, Failure> {
    let agent = agent(args)?;
    let base = args.server.trim_end_matches('/');
    let fixed_challenge = match &args.challenge_file {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Failure::Input(format!("{}: {e}", p.display())))?;
            Some(serde_json::from_str::<wire::FixedChallenge>(&text).map_err(|e| Failure::Input(format!("{}: {e}", p.display())))?)
        }
        None => None,
    };
    let request = wire::CreateSessionRequest {
        correlation_id: args.correlation_id.clone(),
        reduced_flash: args.reduced_flash,
        fixed_challenge,
        subject_ref: args.subject_ref.clone(),
        face_match: args.face_match,
        enrol_reference: args.enrol_reference,
    };
    let auth = format!("Bearer {}", args.api_key);
    let created: wire::CreateSessionResponse =
        read(agent.post(format!("{base}/v1/sessions")).header("authorization", &auth).send_json(&request).map_err(transport)?)?;
    let id = created.session_id.clone();
    let trust = match &args.ca_cert {
        Some(pem) => Trust::pem_file(pem).map_err(sdk_failure)?,
        None => Trust::WebPkiRoots,
    };
    let device = wire::DeviceInfo { model: args.device_model.clone(), os_type: args.os_type.clone(), os_version: args.os_version.clone() };
    // P2: device info leaves only when given (the CLI's stand-in for the person's consent).
    let allowed = device.model.is_some() || device.os_type.is_some() || device.os_version.is_some();
    let driver = Driver::new(base).with_trust(trust).with_device_info(move || device.clone()).with_consent_channel("cli");
    let mut frames = source(args);
    let outcome = driver
        .run(&Ticket::from(created), &mut *frames, &mut CliPermissions { device_info: allowed, consent: args.consent, face_comparison: args.face_match || args.enrol_reference }, &mut prompts(args), &CancelToken::new())
        .map_err(sdk_failure)?;
    let result: wire::ResultResponse =
        read(agent.get(format!("{base}/v1/sessions/{id}/result")).header("authorization", &auth).call().map_err(transport)?)?;
    let jwks: wire::Jwks = read(agent.get(format!("{base}/v1/keys")).call().map_err(transport)?)?;
    let signature_verified = huoti_server::signing::verify_jws(&result.jws, &jwks)
        .ok()
        .and_then(|payload| serde_json::from_slice::<wire::SessionVerdict>(&payload).ok())
        .is_some_and(|v| v == result.verdict);
    Ok(Output { session_id: id, frames_sent: outcome.frames_sent, bytes_sent: outcome.bytes_sent, passed: outcome.passed, signature_verified, verdict: result.verdict })
}

/// The terminal's "screen" while capturing: the server's prompts for the open action window
/// ("turn a little further"), one line each on stderr as they change (stdout keeps the result).
struct PromptPrinter<W: std::io::Write> {
    out: W,
    lang: Lang,
}

fn prompts(args: &VerifyArgs) -> PromptPrinter<std::io::Stderr> {
    PromptPrinter { out: std::io::stderr(), lang: if args.lang == "zh-CN" { Lang::ZhCn } else { Lang::En } }
}

impl<W: std::io::Write> Ui for PromptPrinter<W> {
    fn action_hint(&mut self, hint: Option<ActionHint>) {
        let Some(h) = hint else { return };
        let Some(text) = hint_text(h.code, self.lang) else { return };
        let progress = h.progress_percent.map(|p| format!(" ({p} %)")).unwrap_or_default();
        // A terminal that went away is no reason to stop the session.
        let _ = writeln!(self.out, "prompt    step {}: {text}{progress}", h.step + 1);
    }
}

fn print(out: &Output) {
    let v = &out.verdict;
    println!("session   {}", out.session_id);
    println!("frames    {}", out.frames_sent);
    println!("bytes     {}", out.bytes_sent);
    println!("decision  {:?} (score {}){}", v.decision, v.score, if out.signature_verified { ", signature verified" } else { ", SIGNATURE NOT VERIFIED" });
    for r in &v.reasons {
        println!("reason    {}: {}", r.code, r.message);
    }
    for c in &v.checks {
        let passed = match c.passed {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "n/a",
        };
        println!("check     {:<10} {:.2} {passed}", c.check, c.score);
    }
    if let Some(m) = &v.face_match {
        let similarity = m.similarity.map_or("—".to_owned(), |s| format!("{s:.3}"));
        println!("face match {:?} (similarity {similarity}, threshold {:.3}, {})", m.decision, m.threshold, m.model);
    }
    if let Some(enrolled) = v.face_reference_enrolled {
        println!("reference {}", if enrolled { "enrolled from this session" } else { "not enrolled (no frame made a good reference)" });
    }
}

pub fn run(args: VerifyArgs) -> Exit {
    match session(&args) {
        Ok(out) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&out).expect("serialisable"));
            } else {
                print(&out);
            }
            if !out.signature_verified {
                eprintln!("error: the result's signature does not verify against the server's keys");
                Exit::BadInput
            } else if out.verdict.decision == wire::Decision::Live {
                Exit::Ok
            } else {
                Exit::Rejected
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                Failure::Setup(_) => Exit::Setup,
                Failure::Input(_) | Failure::Api { .. } => Exit::BadInput,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(code: &str, progress: Option<u8>) -> Option<ActionHint> {
        serde_json::from_value(serde_json::json!({"step": 1, "action": "turn_left", "code": code, "progress_percent": progress})).unwrap()
    }

    #[test]
    fn the_terminal_prints_each_prompt_in_the_chosen_language_and_nothing_for_unknown_codes() {
        let mut en = PromptPrinter { out: Vec::new(), lang: Lang::En };
        en.action_hint(hint("turn_left", None));
        en.action_hint(hint("turn_further", Some(60)));
        en.action_hint(None);
        en.action_hint(hint("some_future_code", None));
        assert_eq!(String::from_utf8(en.out).unwrap(), "prompt    step 2: Turn your head to your left\nprompt    step 2: Turn a little further (60 %)\n");
        let mut zh = PromptPrinter { out: Vec::new(), lang: Lang::ZhCn };
        zh.action_hint(hint("blink_once", None));
        assert_eq!(String::from_utf8(zh.out).unwrap(), "prompt    step 2: 请眨一次眼\n");
    }
}
