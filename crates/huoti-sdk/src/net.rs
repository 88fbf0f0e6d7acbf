//! The network: HTTPS to the huoti server (ureq + rustls), timeouts, and retries with
//! exponential backoff inside a time budget.
//!
//! Time is a parameter ([`Clock`]): the retry arithmetic is tested exactly, without sleeping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use huoti_api as wire;

use crate::Error;

/// Which server certificates are trusted.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// The Mozilla root store compiled into the SDK (`webpki-roots`): works the same on every
    /// platform, needs no system files.
    #[default]
    WebPkiRoots,
    /// The operating system's certificate store and verifier (`rustls-platform-verifier`;
    /// feature `platform-verifier`).
    #[cfg(feature = "platform-verifier")]
    Platform,
    /// Only these PEM certificates (one or more): a pinned server certificate or a private
    /// CA, e.g. the self-signed `~/.local/share/huoti/server/tls/cert.pem` of a development server.
    Pem(Vec<u8>),
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::WebPkiRoots => f.write_str("WebPkiRoots"),
            #[cfg(feature = "platform-verifier")]
            Trust::Platform => f.write_str("Platform"),
            Trust::Pem(b) => write!(f, "Pem({} bytes)", b.len()),
        }
    }
}

impl Trust {
    /// Reads a PEM file to pin.
    pub fn pem_file(path: impl AsRef<std::path::Path>) -> Result<Trust, Error> {
        let path = path.as_ref();
        std::fs::read(path).map(Trust::Pem).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }
}

/// Retries with exponential backoff, bounded by a number of attempts and a time budget.
///
/// The wait before retry `n` (1-based) is `initial_backoff × multiplier^(n-1)`, capped at
/// `max_backoff`. A retry is not started when its wait would end after `budget` (counted from
/// the first attempt), so a failing request gives up within `budget` plus one request
/// timeout. No random jitter: one client uploads one session, there is no herd to spread.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Most attempts per request, first included (≥ 1).
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Growth factor of the wait (≥ 1).
    pub multiplier: f64,
    /// Longest single wait.
    pub max_backoff: Duration,
    /// Time allowed for one request, all attempts and waits together.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, 200 ms doubling up to 3 s, 20 s budget.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(200),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(3),
            budget: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 = the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(retry.saturating_sub(1).min(64) as i32);
        let wait = self.initial_backoff.as_secs_f64() * factor;
        if !wait.is_finite() || wait >= self.max_backoff.as_secs_f64() {
            self.max_backoff
        } else {
            Duration::from_secs_f64(wait)
        }
    }

    /// Whether to retry after `attempts` failed attempts, `elapsed` since the first one,
    /// given the wait the retry needs: `Some(wait)` to retry, `None` to give up.
    pub fn next_wait(&self, attempts: u32, elapsed: Duration, wanted: Duration) -> Option<Duration> {
        if attempts >= self.max_attempts.max(1) || elapsed + wanted > self.budget {
            None
        } else {
            Some(wanted)
        }
    }
}

/// Time, as the SDK sees it: a monotonic clock and a way to wait. The real one is
/// [`SystemClock`]; tests pass a fake whose `sleep` only advances `now`.
pub trait Clock: Send + Sync {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    /// Waits `d`.
    fn sleep(&self, d: Duration);
}

/// The wall clock (`Instant`, `thread::sleep`).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock { origin: Instant::now() }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Network settings.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Certificates trusted.
    pub trust: Trust,
    /// TCP + TLS connection timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout of a frame upload (one attempt).
    pub request_timeout: Duration,
    /// Whole-request timeout of `complete` (the server analyses the session before answering).
    pub complete_timeout: Duration,
    /// Retries of frame uploads and `complete`.
    pub retry: RetryPolicy,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            trust: Trust::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            complete_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
        }
    }
}

/// A bearer secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct ClientToken(String);

impl ClientToken {
    /// Wraps the token the integrator's backend handed over.
    pub fn new(token: impl Into<String>) -> ClientToken {
        ClientToken(token.into())
    }
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientToken(<redacted>)")
    }
}

/// One try's outcome, as the retry loop sees it.
#[derive(Debug)]
pub(crate) enum Attempt<T> {
    /// Done.
    Done(T),
    /// Worth retrying after the policy's backoff (transport error, 5xx).
    Retry(String),
    /// Worth retrying after exactly this wait (429 with `retry_after_s`).
    RetryAfter(Duration, String),
    /// Final.
    Fail(Error),
}

/// Runs `op` until it succeeds, fails for good, is cancelled, or the policy gives up.
/// `op` gets the attempt number (0 = first).
pub(crate) fn with_retries<T>(
    policy: &RetryPolicy,
    clock: &dyn Clock,
    what: &str,
    cancelled: &dyn Fn() -> bool,
    mut op: impl FnMut(u32) -> Attempt<T>,
) -> Result<T, Error> {
    let start = clock.now();
    let mut attempts = 0u32;
    loop {
        if cancelled() {
            return Err(Error::Cancelled);
        }
        let outcome = op(attempts);
        attempts += 1;
        let (wanted, reason) = match outcome {
            Attempt::Done(v) => return Ok(v),
            Attempt::Fail(e) => return Err(e),
            Attempt::Retry(reason) => (policy.backoff(attempts), reason),
            Attempt::RetryAfter(wait, reason) => (wait, reason),
        };
        let elapsed = clock.now().saturating_sub(start);
        match policy.next_wait(attempts, elapsed, wanted) {
            Some(wait) => clock.sleep(wait),
            None => return Err(Error::Network { after: elapsed, attempts, what: what.to_owned(), reason }),
        }
    }
}

/// The HTTPS client of one session.
pub(crate) struct Client {
    agent: ureq::Agent,
    complete_agent: ureq::Agent,
    base: String,
    session_id: String,
    token: ClientToken,
}

/// True when `host` (from a URL) is a loopback name or address.
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks the server URL: `https://…`, or `http://` to a loopback address only (S2: no face
/// data over the network unencrypted). Returns it without a trailing slash.
pub fn check_server_url(url: &str) -> Result<String, Error> {
    let base = url.trim().trim_end_matches('/');
    let (scheme, rest) = base.split_once("://").ok_or_else(|| Error::Config(format!("not a URL: {base:?}")))?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() => h,
        _ => authority,
    };
    if host.is_empty() {
        return Err(Error::Config(format!("no host in {base:?}")));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(base.to_owned()),
        "http" if is_loopback(host) => Ok(base.to_owned()),
        "http" => Err(Error::Config("plain http:// is allowed only to a loopback address; use https:// (policy S2)".into())),
        other => Err(Error::Config(format!("unsupported scheme {other:?}"))),
    }
}

fn agent(config: &NetConfig, timeout: Duration) -> Result<ureq::Agent, Error> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
    let roots = match &config.trust {
        Trust::WebPkiRoots => RootCerts::WebPki,
        #[cfg(feature = "platform-verifier")]
        Trust::Platform => RootCerts::PlatformVerifier,
        Trust::Pem(pem) => {
            let certs = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c.to_owned())),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<Certificate<'static>>, _>>()
                .map_err(|e| Error::Config(format!("pinned certificate: {e}")))?;
            if certs.is_empty() {
                return Err(Error::Config("pinned certificate: no CERTIFICATE block in the PEM".into()));
            }
            RootCerts::Specific(Arc::new(certs))
        }
    };
    let tls = TlsConfig::builder().provider(TlsProvider::Rustls).root_certs(roots).build();
    Ok(ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(config.connect_timeout))
        .timeout_global(Some(timeout))
        .user_agent(concat!("huoti-sdk/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .into())
}

/// A transport error, described without the URL (its query holds the nonce; never a token).
fn transport_reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::Io(io) => format!("connection: {}", io.kind()),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::Tls(m) => format!("TLS: {m}"),
        ureq::Error::Rustls(r) => format!("TLS: {r}"),
        other => other.to_string(),
    }
}

/// TLS failures are configuration problems: retrying cannot fix them.
fn is_tls(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Tls(_) | ureq::Error::Rustls(_))
}

/// The problem of a non-2xx answer.
fn problem(res: &mut ureq::http::Response<ureq::Body>) -> (u16, Option<wire::Problem>) {
    let status = res.status().as_u16();
    let text = res.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).ok())
}

fn read_json<T: serde::de::DeserializeOwned>(res: &mut ureq::http::Response<ureq::Body>) -> Result<T, Error> {
    let text = res.body_mut().with_config().limit(1024 * 1024).read_to_string().map_err(|e| Error::Protocol(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| Error::Protocol(e.to_string()))
}

/// What one frame upload sends, besides the JPEG body: exactly this, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FrameUpload {
    /// Query: sequence number.
    pub seq: u32,
    /// Query: capture time, ms since the challenge started.
    pub t_ms: u64,
    /// Query: the challenge nonce.
    pub nonce: String,
    /// Headers `huoti-device-model`, `huoti-os-type`, `huoti-os-version`: present only when
    /// the person allowed device info (P2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<wire::DeviceInfo>,
}

impl FrameUpload {
    /// The request's headers other than `authorization` and `content-type`, as sent.
    pub fn device_headers(&self) -> Vec<(&'static str, String)> {
        let Some(d) = &self.device else { return Vec::new() };
        [(wire::HEADER_DEVICE_MODEL, &d.model), (wire::HEADER_OS_TYPE, &d.os_type), (wire::HEADER_OS_VERSION, &d.os_version)]
            .into_iter()
            .filter_map(|(name, v)| v.clone().map(|v| (name, v)))
            .collect()
    }

    /// Path and query, percent-encoding the nonce.
    fn path_and_query(&self, session_id: &str) -> String {
        let nonce: String = self
            .nonce
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        format!("/v1/sessions/{}/frames?seq={}&t_ms={}&nonce={nonce}", encode_segment(session_id), self.seq, self.t_ms)
    }
}

fn encode_segment(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Whether a refused request is worth retrying.
fn classify_status(status: u16, problem: Option<&wire::Problem>) -> Option<Duration> {
    match status {
        429 => Some(Duration::from_secs(problem.and_then(|p| p.retry_after_s).unwrap_or(1).max(1))),
        // A 503 that says when to come back (`storage_unavailable`): then, not sooner.
        503 => Some(problem.and_then(|p| p.retry_after_s).map_or(Duration::ZERO, Duration::from_secs)),
        500 | 502 | 504 => Some(Duration::ZERO),
        _ => None,
    }
}

fn server_error(what: &str, status: u16, p: Option<wire::Problem>) -> Error {
    let (code, detail) = match p {
        Some(p) => (p.code, p.detail.unwrap_or(p.title)),
        None => ("http_status".into(), format!("HTTP {status} without a problem document")),
    };
    Error::Server { what: what.to_owned(), status, code, detail }
}

impl Client {
    pub(crate) fn new(config: &NetConfig, server: &str, session_id: &str, token: ClientToken) -> Result<Client, Error> {
        Ok(Client {
            agent: agent(config, config.request_timeout)?,
            complete_agent: agent(config, config.complete_timeout)?,
            base: check_server_url(server)?,
            session_id: session_id.to_owned(),
            token,
        })
    }

    /// One attempt at uploading a frame.
    pub(crate) fn upload_frame(&self, upload: &FrameUpload, jpeg: &[u8], attempt: u32) -> Attempt<wire::FrameAccepted> {
        let url = format!("{}{}", self.base, upload.path_and_query(&self.session_id));
        let mut req = self.agent.post(&url).header("authorization", self.token.bearer()).content_type(wire::FRAME_CONTENT_TYPE);
        for (name, value) in upload.device_headers() {
            req = req.header(name, value);
        }
        let seq = upload.seq;
        // Idempotent by sequence number: a duplicate on a retry means an earlier attempt was
        // stored and only its answer was lost.
        Self::answer_with(&format!("frame {seq}"), attempt, req.send(jpeg), |p, _| {
            (attempt > 0 && p.code == wire::ErrorCode::DuplicateFrame.as_str()).then_some(Attempt::Done(wire::FrameAccepted { seq, frames_received: 0, hint: None }))
        })
    }

    /// One attempt at reading the policy in force (`GET /v1/policy`, public).
    pub(crate) fn policy(&self, attempt: u32) -> Attempt<wire::PolicyInfo> {
        let url = format!("{}/v1/policy", self.base);
        Self::answer("policy", attempt, self.agent.get(&url).call())
    }

    /// One attempt at recording the person's consent. Not idempotent on the server (each call
    /// is one act of consent), but a repeated act only records the same agreement twice.
    pub(crate) fn consent(&self, body: &wire::ConsentRequest, attempt: u32) -> Attempt<wire::ConsentRecorded> {
        let url = format!("{}/v1/sessions/{}/consent", self.base, encode_segment(&self.session_id));
        // Serialised here rather than with ureq's `json` feature, which this crate does not
        // enable (it builds alone, e.g. `cargo check -p huoti-sdk --features camera`).
        let json = serde_json::to_vec(body).unwrap_or_default();
        let req = self.agent.post(&url).header("authorization", self.token.bearer()).content_type("application/json");
        Self::answer("consent", attempt, req.send(&json[..]))
    }

    fn answer<T: serde::de::DeserializeOwned>(what: &str, attempt: u32, sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Attempt<T> {
        Self::answer_with(what, attempt, sent, |_, _| None)
    }

    /// One attempt's outcome: success → the JSON answer; a problem → what `special` makes of
    /// it (given the problem and the HTTP status), else a retry (transport faults, 5xx, rate
    /// limits) or a typed error.
    fn answer_with<T: serde::de::DeserializeOwned>(
        what: &str,
        attempt: u32,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        special: impl FnOnce(&wire::Problem, u16) -> Option<Attempt<T>>,
    ) -> Attempt<T> {
        match sent {
            Err(e) if is_tls(&e) => {
                Attempt::Fail(Error::Network { after: Duration::ZERO, attempts: attempt + 1, what: what.into(), reason: transport_reason(&e) })
            }
            Err(e) => Attempt::Retry(transport_reason(&e)),
            Ok(mut res) if res.status().is_success() => match read_json(&mut res) {
                Ok(v) => Attempt::Done(v),
                Err(e) => Attempt::Fail(e),
            },
            Ok(mut res) => {
                let (status, p) = problem(&mut res);
                if let Some(outcome) = p.as_ref().and_then(|p| special(p, status)) {
                    return outcome;
                }
                match classify_status(status, p.as_ref()) {
                    Some(wait) if wait.is_zero() => Attempt::Retry(format!("HTTP {status}")),
                    Some(wait) => Attempt::RetryAfter(wait, format!("HTTP {status} (asked to wait)")),
                    None => Attempt::Fail(server_error(what, status, p)),
                }
            }
        }
    }

    /// One attempt at `complete`.
    pub(crate) fn complete(&self, attempt: u32) -> Attempt<wire::CompleteResponse> {
        let url = format!("{}/v1/sessions/{}/complete", self.base, encode_segment(&self.session_id));
        let req = self.complete_agent.post(&url).header("authorization", self.token.bearer());
        Self::answer_with("complete", attempt, req.send_empty(), |p, status| {
            if attempt > 0 && p.code == wire::ErrorCode::SessionReused.as_str() {
                // An earlier attempt completed it and only its answer was lost.
                return Some(Attempt::Fail(Error::ResultUnknown));
            }
            // 503 analysis_unavailable is a server state, not a blip: do not hammer it.
            (p.code == wire::ErrorCode::AnalysisUnavailable.as_str()).then(|| Attempt::Fail(server_error("complete", status, Some(p.clone()))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A clock whose `sleep` only moves time on, and remembers every wait.
    #[derive(Default)]
    struct FakeClock {
        now: Mutex<Duration>,
        sleeps: Mutex<Vec<Duration>>,
    }
    impl Clock for FakeClock {
        fn now(&self) -> Duration {
            *self.now.lock().unwrap()
        }
        fn sleep(&self, d: Duration) {
            *self.now.lock().unwrap() += d;
            self.sleeps.lock().unwrap().push(d);
        }
    }
    impl FakeClock {
        fn advance(&self, d: Duration) {
            *self.now.lock().unwrap() += d;
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy { max_attempts: 10, initial_backoff: ms(100), multiplier: 2.0, max_backoff: ms(1000), budget: ms(60_000) };
        let waits: Vec<_> = (1..=6).map(|n| p.backoff(n)).collect();
        assert_eq!(waits, vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        assert_eq!(p.backoff(u32::MAX), ms(1000));
        let flat = RetryPolicy { multiplier: 0.5, ..p };
        assert_eq!(flat.backoff(5), ms(100), "a multiplier below 1 counts as 1");
    }

    #[test]
    fn gives_up_after_max_attempts_with_exact_waits() {
        let clock = FakeClock::default();
        let p = RetryPolicy { max_attempts: 4, initial_backoff: ms(100), multiplier: 2.0, max_backoff: ms(10_000), budget: ms(60_000) };
        let mut calls = Vec::new();
        let err = with_retries(&p, &clock, "frame 3", &|| false, |n| {
            calls.push(n);
            clock.advance(ms(10)); // each attempt takes 10 ms
            Attempt::<()>::Retry("connection: ConnectionRefused".into())
        })
        .unwrap_err();
        assert_eq!(calls, vec![0, 1, 2, 3]);
        assert_eq!(*clock.sleeps.lock().unwrap(), vec![ms(100), ms(200), ms(400)]);
        match err {
            Error::Network { after, attempts, what, reason } => {
                assert_eq!(after, ms(4 * 10 + 700));
                assert_eq!(attempts, 4);
                assert_eq!(what, "frame 3");
                assert!(reason.contains("ConnectionRefused"));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn gives_up_when_the_next_wait_would_pass_the_budget() {
        let clock = FakeClock::default();
        let p = RetryPolicy { max_attempts: 100, initial_backoff: ms(100), multiplier: 2.0, max_backoff: ms(10_000), budget: ms(1000) };
        let err = with_retries(&p, &clock, "complete", &|| false, |_| Attempt::<()>::Retry("timed out".into())).unwrap_err();
        // waits 100, 200, 400 (total 700); the next (800) would end at 1500 > 1000: give up.
        assert_eq!(*clock.sleeps.lock().unwrap(), vec![ms(100), ms(200), ms(400)]);
        assert!(matches!(err, Error::Network { after, attempts: 4, .. } if after == ms(700) && after <= p.budget));
    }

    #[test]
    fn rate_limit_waits_what_the_server_asks_and_success_ends_the_loop() {
        let clock = FakeClock::default();
        let p = RetryPolicy::default();
        let got = with_retries(&p, &clock, "frame 0", &|| false, |n| match n {
            0 => Attempt::RetryAfter(Duration::from_secs(2), "HTTP 429".into()),
            1 => Attempt::Retry("HTTP 503".into()),
            _ => Attempt::Done(42),
        })
        .unwrap();
        assert_eq!(got, 42);
        assert_eq!(*clock.sleeps.lock().unwrap(), vec![Duration::from_secs(2), p.backoff(2)]);
    }

    #[test]
    fn final_errors_and_cancel_are_not_retried() {
        let clock = FakeClock::default();
        let p = RetryPolicy::default();
        let mut n = 0;
        let err = with_retries(&p, &clock, "frame 0", &|| false, |_| {
            n += 1;
            Attempt::<()>::Fail(Error::ResultUnknown)
        })
        .unwrap_err();
        assert!(matches!(err, Error::ResultUnknown));
        assert_eq!(n, 1);
        let err = with_retries(&p, &clock, "frame 0", &|| true, |_| Attempt::Done(())).unwrap_err();
        assert!(matches!(err, Error::Cancelled));
        assert!(clock.sleeps.lock().unwrap().is_empty());
    }

    #[test]
    fn statuses_worth_retrying() {
        let rl = wire::Problem { retry_after_s: Some(3), ..wire::Problem::new(wire::ErrorCode::RateLimited, "slow down") };
        assert_eq!(classify_status(429, Some(&rl)), Some(Duration::from_secs(3)));
        assert_eq!(classify_status(429, None), Some(Duration::from_secs(1)));
        assert_eq!(classify_status(503, None), Some(Duration::ZERO));
        for s in [400, 401, 404, 409, 410, 413, 415, 422] {
            assert_eq!(classify_status(s, None), None, "{s}");
        }
    }

    #[test]
    fn s2_urls_must_be_https_except_loopback() {
        assert_eq!(check_server_url("https://verify.example.com/").unwrap(), "https://verify.example.com");
        assert!(check_server_url("http://127.0.0.1:8443").is_ok());
        assert!(check_server_url("http://[::1]:8443").is_ok());
        assert!(check_server_url("http://localhost").is_ok());
        assert!(matches!(check_server_url("http://verify.example.com"), Err(Error::Config(_))));
        assert!(matches!(check_server_url("ftp://127.0.0.1"), Err(Error::Config(_))));
        assert!(matches!(check_server_url("127.0.0.1:8443"), Err(Error::Config(_))));
    }

    #[test]
    fn tokens_never_show_in_debug() {
        let t = ClientToken::new("ct_supersecret");
        assert!(!format!("{t:?}").contains("supersecret"));
        assert_eq!(t.bearer(), "Bearer ct_supersecret");
        assert!(!format!("{:?}", Trust::Pem(b"-----BEGIN CERTIFICATE-----".to_vec())).contains("BEGIN"));
    }

    #[test]
    fn pinned_pem_without_certificate_is_a_config_error() {
        let cfg = NetConfig { trust: Trust::Pem(b"not a pem".to_vec()), ..NetConfig::default() };
        assert!(matches!(agent(&cfg, ms(100)), Err(Error::Config(_))));
    }

    #[test]
    fn c1_p2_exactly_three_device_fields_leave_the_device() {
        let device = wire::DeviceInfo { model: Some("Pixel 8".into()), os_type: Some("android".into()), os_version: Some("15".into()) };
        let up = FrameUpload { seq: 7, t_ms: 466, nonce: "ab12".into(), device: Some(device) };
        let json = serde_json::to_value(&up).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["device", "nonce", "seq", "t_ms"]);
        let mut dev: Vec<_> = json["device"].as_object().unwrap().keys().cloned().collect();
        dev.sort();
        assert_eq!(dev, ["model", "os_type", "os_version"]);
        let names: Vec<_> = up.device_headers().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["huoti-device-model", "huoti-os-type", "huoti-os-version"]);
        assert_eq!(up.path_and_query("s_1"), "/v1/sessions/s_1/frames?seq=7&t_ms=466&nonce=ab12");

        let refused = FrameUpload { device: None, ..up };
        let json = serde_json::to_value(&refused).unwrap();
        assert!(json.get("device").is_none());
        assert!(refused.device_headers().is_empty());
    }
}
