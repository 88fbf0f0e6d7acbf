//! `huoti verify`: a command-line client that runs one whole liveness session against a
//! server — create (integrator key), upload every frame, complete, fetch the signed result,
//! verify its signature against `/v1/keys` — and prints the verdict.
//!
//! Frames come from a video (through ffmpeg: `--start`, `--duration`, `--fps`, `--width`) or
//! from a directory of JPEGs (sent as they are, in name order, `--fps` apart). A recorded
//! clip cannot follow a random challenge: `--challenge-file` sends an explicit challenge,
//! which only a server in test mode accepts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgGroup, Args};
use huoti_api as wire;
use huoti_media::FfmpegOptions;
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
    /// Accept any server certificate (development only).
    #[arg(long, conflicts_with = "ca_cert")]
    pub insecure: bool,
    /// Trust this PEM certificate (e.g. the server's self-signed huoti-data/tls/cert.pem).
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
    /// Video: scale to this width.
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
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
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
    if args.insecure {
        tls = tls.disable_verification(true);
    } else if let Some(pem) = &args.ca_cert {
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

/// Frames to send: (t_ms, JPEG bytes), produced lazily.
type FrameSource = Box<dyn Iterator<Item = Result<(u64, Vec<u8>), Failure>>>;

fn frames(args: &VerifyArgs) -> Result<FrameSource, Failure> {
    if let Some(dir) = &args.frames {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Failure::Input(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg")))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Failure::Input(format!("{}: no .jpg files", dir.display())));
        }
        let step = 1000.0 / args.fps;
        return Ok(Box::new(files.into_iter().enumerate().map(move |(i, p)| {
            let bytes = std::fs::read(&p).map_err(|e| Failure::Input(format!("{}: {e}", p.display())))?;
            Ok(((i as f64 * step).round() as u64, bytes))
        })));
    }
    let video = args.video.as_deref().expect("clap requires a source");
    let options = FfmpegOptions { start_s: args.start, duration_s: args.duration, fps: Some(args.fps), width: Some(args.width) };
    let source = huoti_media::open_video(video, &options).map_err(|e| match e {
        huoti_media::MediaError::FfmpegMissing(_) => Failure::Setup(e.to_string()),
        _ => Failure::Input(e.to_string()),
    })?;
    let mut first: Option<u64> = None;
    Ok(Box::new(source.map(move |f| {
        let f = f.map_err(|e| Failure::Input(e.to_string()))?;
        let t0 = *first.get_or_insert(f.t_ms);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&f.image)
            .map_err(|e| Failure::Input(format!("JPEG encoding: {e}")))?;
        Ok((f.t_ms - t0, jpeg))
    })))
}

#[derive(Debug, Serialize)]
struct Output {
    session_id: String,
    frames_sent: u32,
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
    let request = wire::CreateSessionRequest { correlation_id: args.correlation_id.clone(), reduced_flash: args.reduced_flash, fixed_challenge };
    let auth = format!("Bearer {}", args.api_key);
    let created: wire::CreateSessionResponse =
        read(agent.post(format!("{base}/v1/sessions")).header("authorization", &auth).send_json(&request).map_err(transport)?)?;
    let id = &created.session_id;
    let client_auth = format!("Bearer {}", created.client_token);
    let mut sent = 0u32;
    for (seq, frame) in frames(args)?.enumerate() {
        let (t_ms, jpeg) = frame?;
        let url = format!("{base}/v1/sessions/{id}/frames?seq={seq}&t_ms={t_ms}&nonce={}", created.challenge.nonce);
        for attempt in 0.. {
            let mut req = agent.post(&url).header("authorization", &client_auth).content_type(wire::FRAME_CONTENT_TYPE);
            for (name, value) in [
                (wire::HEADER_DEVICE_MODEL, &args.device_model),
                (wire::HEADER_OS_TYPE, &args.os_type),
                (wire::HEADER_OS_VERSION, &args.os_version),
            ] {
                if let Some(v) = value {
                    req = req.header(name, v);
                }
            }
            match read::<wire::FrameAccepted>(req.send(&jpeg[..]).map_err(transport)?) {
                Ok(_) => break,
                Err(Failure::Api { status: 429, problem }) if attempt < 20 => {
                    let wait = problem.and_then(|p| p.retry_after_s).unwrap_or(1);
                    std::thread::sleep(Duration::from_secs(wait));
                }
                Err(e) => return Err(e),
            }
        }
        sent += 1;
    }
    let done: wire::CompleteResponse = read(
        agent.post(format!("{base}/v1/sessions/{id}/complete")).header("authorization", &client_auth).send_empty().map_err(transport)?,
    )?;
    let result: wire::ResultResponse =
        read(agent.get(format!("{base}/v1/sessions/{id}/result")).header("authorization", &auth).call().map_err(transport)?)?;
    let jwks: wire::Jwks = read(agent.get(format!("{base}/v1/keys")).call().map_err(transport)?)?;
    let signature_verified = huoti_server::signing::verify_jws(&result.jws, &jwks)
        .ok()
        .and_then(|payload| serde_json::from_slice::<wire::SessionVerdict>(&payload).ok())
        .is_some_and(|v| v == result.verdict);
    Ok(Output { session_id: id.clone(), frames_sent: sent, passed: done.passed, signature_verified, verdict: result.verdict })
}

fn print(out: &Output) {
    let v = &out.verdict;
    println!("session   {}", out.session_id);
    println!("frames    {}", out.frames_sent);
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
                Exit::NotLive
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
