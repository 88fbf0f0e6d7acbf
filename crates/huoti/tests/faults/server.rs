//! The harness of the fault tests: a real `huoti serve` on a data directory of its own (killed
//! with SIGKILL and started again on the same directory), `huoti admin` as a child process,
//! mounts for the blob-store failures, and a runtime for the database checks.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use huoti_server::store::Db;
use serde_json::{Value, json};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_huoti"))
}

/// Runs a future to completion on a runtime shared by the whole test binary.
pub fn block_on<F: Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()).block_on(f)
}

/// `sqlite` (a file in each test's own data directory, see [`own_url`]) and, when
/// `HUOTI_TEST_POSTGRES_URL` is set, a fresh PostgreSQL schema.
pub fn database_urls() -> Vec<String> {
    let mut urls = vec!["sqlite".to_owned()];
    match std::env::var("HUOTI_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => urls.push(block_on(huoti_server::testkit::fresh_postgres_schema(&base))),
        _ => eprintln!("HUOTI_TEST_POSTGRES_URL not set: PostgreSQL run skipped"),
    }
    urls
}

/// The database URL for a data directory: its own SQLite file, or the PostgreSQL URL as is.
pub fn own_url(url: &str, data: &Path) -> String {
    if url == "sqlite" { format!("sqlite://{}?mode=rwc", data.join("huoti.db").display()) } else { url.to_owned() }
}

/// `sqlite` or `postgres`, for the figures.
pub fn backend(url: &str) -> &'static str {
    if url.starts_with("postgres") { "postgres" } else { "sqlite" }
}

/// Polls `f` every 2 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    f()
}

/// `huoti admin ARGS --data-dir DATA` with the database `url`, started (stdout piped).
pub fn admin(args: &[&str], data: &Path, url: &str) -> Child {
    Command::new(bin())
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("HUOTI_DATABASE_URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("huoti admin starts")
}

/// A session as the capture client holds it.
#[derive(Debug, Clone)]
pub struct Session(Value);

impl Session {
    pub fn id(&self) -> &str {
        self.0["session_id"].as_str().unwrap()
    }
    fn token(&self) -> &str {
        self.0["client_token"].as_str().unwrap()
    }
    fn nonce(&self) -> &str {
        self.0["challenge"]["nonce"].as_str().unwrap()
    }
}

/// What a client of the server holds (cheap to clone into a thread).
#[derive(Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
    api_key: String,
}

impl Client {
    fn post(&self, path: &str, token: &str, body: Option<&Value>) -> Result<(u16, Value), ureq::Error> {
        let req = self.agent.post(format!("{}{path}", self.base)).header("authorization", format!("Bearer {token}"));
        let mut r = match body {
            Some(b) => req.content_type("application/json").send(b.to_string())?,
            None => req.send_empty()?,
        };
        Ok((r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)))
    }

    /// One upload of frame `seq` (captured `seq` × 67 ms in): its status, `None` when the
    /// connection broke.
    pub fn try_frame(&self, s: &Session, seq: u32, jpeg: &[u8]) -> Option<u16> {
        self.frame_once(s, seq, jpeg).ok().map(|(status, _)| status)
    }

    fn frame_once(&self, s: &Session, seq: u32, jpeg: &[u8]) -> Result<(u16, Value), ureq::Error> {
        let url = format!("{}/v1/sessions/{}/frames?seq={seq}&t_ms={}&nonce={}", self.base, s.id(), seq * 67, s.nonce());
        let mut r = self.agent.post(&url).header("authorization", format!("Bearer {}", s.token())).content_type("image/jpeg").send(jpeg)?;
        Ok((r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)))
    }

    /// Frame `seq`, waiting out rate limits.
    pub fn frame(&self, s: &Session, seq: u32, jpeg: &[u8]) -> (u16, Value) {
        loop {
            let (status, v) = self.frame_once(s, seq, jpeg).expect("the server answers");
            if status == 429 && v["code"] == "rate_limited" {
                std::thread::sleep(Duration::from_secs(v["retry_after_s"].as_u64().unwrap_or(1)));
                continue;
            }
            return (status, v);
        }
    }

    pub fn complete(&self, s: &Session) -> (u16, Value) {
        self.post(&format!("/v1/sessions/{}/complete", s.id()), s.token(), None).expect("the server answers")
    }

    /// `complete`, or `None` when the connection broke (the server was killed).
    pub fn try_complete(&self, s: &Session) -> Option<u16> {
        self.post(&format!("/v1/sessions/{}/complete", s.id()), s.token(), None).ok().map(|(status, _)| status)
    }

    pub fn result(&self, s: &Session) -> (u16, Value) {
        let mut r = self
            .agent
            .get(format!("{}/v1/sessions/{}/result", self.base, s.id()))
            .header("authorization", format!("Bearer {}", self.api_key))
            .call()
            .expect("the server answers");
        (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
    }
}

/// A running `huoti serve --dev` on a data directory of its own; killed on drop.
pub struct Server {
    child: Child,
    port: u16,
    url: String,
    client: Client,
    /// The data directory.
    pub data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::ops::Deref for Server {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Server {
    /// Starts on a fresh data directory with the database `url` (`sqlite` or PostgreSQL) and
    /// `env`; waits until it serves.
    pub fn start(url: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let url = own_url(url, dir.path());
        let port = huoti_assets::testing::free_port();
        let (child, api_key) = Server::spawn(dir.path(), port, &url, env);
        let ca = dir.path().join("tls/cert.pem");
        let client = Client { base: format!("https://127.0.0.1:{port}"), agent: huoti_assets::testing::tls_agent(&ca), api_key: api_key.expect("--dev prints the key") };
        Server { child, port, url, client, data: dir.path().to_path_buf(), _dir: dir }
    }

    fn spawn(data: &Path, port: u16, url: &str, env: &[(&str, &str)]) -> (Child, Option<String>) {
        let mut env = env.to_vec();
        env.push(("HUOTI_DATABASE_URL", url));
        huoti_assets::testing::spawn_serve(bin(), data, port, &[], &env)
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// A new process on the same data directory, database and port (after [`kill`](Self::kill)).
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let (child, _) = Server::spawn(&self.data, self.port, &self.url, env);
        self.child = child;
    }

    /// A handle for a thread.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The server's database (a connection of the test's own).
    pub fn db(&self) -> Db {
        block_on(Db::connect(&self.url)).unwrap()
    }

    pub fn backend(&self) -> &'static str {
        backend(&self.url)
    }

    /// A new session whose person consented to `scopes`.
    pub fn session(&self, body: &Value, scopes: &[&str]) -> Session {
        let (status, s) = self.post("/v1/sessions", &self.api_key, Some(body)).unwrap();
        assert_eq!(status, 201, "{s}");
        let mut r = self.agent.get(format!("{}/v1/policy", self.base)).call().unwrap();
        let policy: Value = r.body_mut().read_json().unwrap();
        let s = Session(s);
        let consent = json!({"policy_version": policy["version"], "scopes": scopes, "channel": "cli"});
        let (status, v) = self.post(&format!("/v1/sessions/{}/consent", s.id()), s.token(), Some(&consent)).unwrap();
        assert_eq!(status, 201, "{v}");
        s
    }
}

/// A mount over a directory for the duration of a test (root only); unmounted on drop.
pub struct Mount(PathBuf);

fn mount(args: &[&str], path: &Path) {
    let out = Command::new("mount").args(args).arg(path).output().expect("mount(8)");
    assert!(out.status.success(), "mount {args:?} {}: {} (this test needs root: run bench/faults.sh as root)", path.display(), String::from_utf8_lossy(&out.stderr));
}

impl Mount {
    /// `path` bound onto itself, read-only.
    pub fn read_only(path: &Path) -> Mount {
        let p = path.to_str().unwrap();
        mount(&["--bind", p], path);
        let m = Mount(path.to_path_buf());
        mount(&["-o", "remount,bind,ro"], path);
        m
    }

    /// A tmpfs of `size` (e.g. `1m`) over `path`.
    pub fn tmpfs(path: &Path, size: &str) -> Mount {
        mount(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"], path);
        Mount(path.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
