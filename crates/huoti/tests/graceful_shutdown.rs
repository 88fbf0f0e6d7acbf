//! Graceful shutdown of a real `huoti serve` (issue 19): SIGTERM — what `systemctl stop`,
//! Kubernetes and `docker stop` send — in the middle of a frame upload. The upload is served
//! (200, stored), then the process exits with status 0; before, SIGTERM killed it at once and
//! the client saw its connection reset. Needs the models (as every server test).

use std::io::Read;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use huoti_api as wire;
use serde_json::{Value, json};

/// A body that sends its first half, says so on `started`, waits, then sends the rest: an
/// upload in flight when the signal arrives.
struct SlowBody {
    bytes: Vec<u8>,
    sent: usize,
    started: Option<mpsc::Sender<()>>,
}

impl Read for SlowBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let half = self.bytes.len() / 2;
        if self.sent == half {
            if let Some(tx) = self.started.take() {
                let _ = tx.send(());
                std::thread::sleep(Duration::from_millis(1500));
            }
        }
        let end = if self.sent < half { half } else { self.bytes.len() };
        let n = (end - self.sent).min(buf.len());
        buf[..n].copy_from_slice(&self.bytes[self.sent..self.sent + n]);
        self.sent += n;
        Ok(n)
    }
}

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut out).encode_image(&img).unwrap();
    out
}

#[test]
fn a_sigterm_during_an_upload_finishes_it_then_the_server_exits_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let port = huoti_assets::testing::free_port();
    let (mut child, key) = huoti_assets::testing::spawn_serve(Path::new(env!("CARGO_BIN_EXE_huoti")), data.path(), port, &[], &[]);
    let key = key.expect("--dev prints the API key");
    let agent = huoti_assets::testing::tls_agent(&data.path().join("tls/cert.pem"));
    let base = format!("https://127.0.0.1:{port}");
    let post = |path: &str, token: &str, body: &Value| {
        let mut r = agent.post(format!("{base}{path}")).header("authorization", format!("Bearer {token}")).send_json(body).unwrap();
        (r.status().as_u16(), r.body_mut().read_json::<Value>().unwrap_or(Value::Null))
    };
    let (status, s) = post("/v1/sessions", &key, &json!({}));
    assert_eq!(status, 201, "{s}");
    let s: wire::CreateSessionResponse = serde_json::from_value(s).unwrap();
    let policy: wire::PolicyInfo = agent.get(format!("{base}/v1/policy")).call().unwrap().body_mut().read_json().unwrap();
    let consent = json!({"policy_version": policy.version, "scopes": ["face_capture_and_upload"], "channel": "cli"});
    assert_eq!(post(&format!("/v1/sessions/{}/consent", s.session_id), &s.client_token, &consent).0, 201);

    let (started, upload_started) = mpsc::channel();
    let url = format!("{base}/v1/sessions/{}/frames?seq=0&t_ms=0&nonce={}", s.session_id, s.challenge.nonce);
    let (uploader, token) = (agent.clone(), s.client_token.clone());
    let upload = std::thread::spawn(move || {
        let body = SlowBody { bytes: jpeg(), sent: 0, started: Some(started) };
        let mut r = uploader
            .post(&url)
            .header("authorization", format!("Bearer {token}"))
            .content_type("image/jpeg")
            .send(ureq::SendBody::from_owned_reader(body))
            .expect("an answer, not a reset connection");
        (r.status().as_u16(), r.body_mut().read_json::<Value>().unwrap_or(Value::Null))
    });
    upload_started.recv_timeout(Duration::from_secs(60)).expect("the upload started");
    let term = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let (status, accepted) = upload.join().unwrap();
    assert_eq!(status, 200, "the upload in flight was served: {accepted}");
    assert_eq!(accepted["frames_received"], 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "exits cleanly after finishing its requests: {exit}");
}
