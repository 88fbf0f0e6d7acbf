//! A stranger's machine: the binary copied into an empty directory (as `cargo install` would
//! put it), no mirror, no `models/` beside it, and a local HTTP server standing in for the
//! upstream model hosts. `huoti serve --dev` fetches the models it needs (refusing a corrupted download
//! and taking the next source), comes up and answers `/healthz`; `huoti check` works too; all
//! files land in the per-user data directory and nothing in the current one.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use huoti_assets::testing::{LocalUpstream, Route, data_file, free_port, model_source_file, tls_agent};

/// An empty world: a copy of the binary, an empty working directory and an empty home.
struct Stranger {
    _root: tempfile::TempDir,
    bin: PathBuf,
    work: PathBuf,
    home: PathBuf,
}

impl Stranger {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin/huoti");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_huoti"), &bin).unwrap();
        let (work, home) = (root.path().join("work"), root.path().join("home"));
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        Stranger { bin, work, home, _root: root }
    }

    /// The binary, run from the empty directory, with nothing of this checkout in its
    /// environment and `upstream` standing in for the model hosts.
    fn huoti(&self, upstream: &LocalUpstream) -> Command {
        let mut c = Command::new(&self.bin);
        c.current_dir(&self.work).env("HOME", &self.home).env(huoti_assets::SOURCE_BASE_ENV, upstream.base()).env("HUOTI_LOG", "warn");
        for var in ["XDG_DATA_HOME", "HUOTI_MODEL_MIRROR", "HUOTI_DATA_MIRROR", "HUOTI_MODEL_DIR", "HUOTI_DATA_DIR", "HUOTI_SERVER_DATA_DIR", "HUOTI_DATABASE_URL"] {
            c.env_remove(var);
        }
        c
    }

    fn user_dir(&self) -> PathBuf {
        self.home.join(".local/share/huoti")
    }

    fn work_is_empty(&self) -> bool {
        std::fs::read_dir(&self.work).unwrap().next().is_none()
    }
}

/// Waits until the server says it serves; returns its stdout lines so far.
fn wait_until_serving(child: &mut std::process::Child) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let serving = line.starts_with("huoti serving on https://");
                lines.push(line);
                if serving {
                    return lines;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                    panic!("huoti serve exited early ({status}): {err}");
                }
            }
            Err(_) => break,
        }
    }
    let _ = child.kill();
    panic!("huoti serve did not start within 300 s: {lines:?}");
}

#[test]
fn serve_dev_in_an_empty_directory_fetches_the_required_models_from_upstream_and_answers_healthz() {
    let upstream = LocalUpstream::serving_every_model();
    // The first MiniFASNetV2 source sends corrupted bytes: refused, then the second is used.
    let v2 = huoti_assets::models().get("minifasnet_v2").unwrap().clone();
    let mut corrupted = std::fs::read(model_source_file("minifasnet_v2", &v2.sha256)).unwrap();
    corrupted[1000] ^= 0xff;
    upstream.route(&v2.sources[0].url, Route::Bytes(corrupted));

    let stranger = Stranger::new();
    let port = free_port();
    let mut child = stranger
        .huoti(&upstream)
        .args(["serve", "--dev", "--listen", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = wait_until_serving(&mut child);
    let healthz = tls_agent(&stranger.user_dir().join("server/tls/cert.pem")).get(format!("https://127.0.0.1:{port}/healthz")).call();
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();

    assert_eq!(healthz.map(|r| r.status().as_u16()).ok(), Some(200), "{stderr}");
    assert!(lines.iter().any(|l| l.starts_with("HUOTI_DEV_API_KEY=hk_")), "the dev key is printed on stdout: {lines:?}");
    // Every model came from upstream into the per-user directory, verified.
    let models = stranger.user_dir().join("models");
    huoti_assets::models().require(&models).unwrap();
    for asset in huoti_assets::models().assets {
        let fetched = stderr.contains(&format!("ok  {} (", asset.path));
        // The optional face-match model is not needed to serve: not downloaded.
        assert_eq!(fetched, !asset.optional, "{}: {stderr}", asset.path);
        assert_eq!(models.join(&asset.path).exists(), !asset.optional, "{}", asset.path);
    }
    assert!(stderr.contains("downloaded from"), "{stderr}");
    // The corrupted download was refused and the next source used.
    assert!(stderr.contains("sha256 mismatch") && stderr.contains("trying the next place"), "{stderr}");
    let asked: Vec<String> = upstream.served().into_iter().map(|s| s.path).collect();
    assert!(asked.contains(&LocalUpstream::path_of(&v2.sources[0].url)) && asked.contains(&LocalUpstream::path_of(&v2.sources[1].url)), "{asked:?}");
    assert!(stranger.user_dir().join("server/huoti.db").is_file());
    assert!(stranger.work_is_empty(), "nothing is written to the current directory");
}

#[test]
fn the_copied_binary_runs_check_from_an_empty_directory_with_the_models_in_xdg_data_home() {
    let upstream = LocalUpstream::serving_every_model();
    let stranger = Stranger::new();
    let xdg = stranger.home.join("xdg-data");
    let image = data_file("silent-face-anti-spoofing/image_T1.jpg");
    let check = |stranger: &Stranger| {
        let out = stranger.huoti(&upstream).env("XDG_DATA_HOME", &xdg).args(["check", "--json"]).arg(&image).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["results"][0]["faces"].as_array().map(Vec::len), Some(1), "{doc}");
        assert!(doc["results"][0]["main"]["passive"]["real_probability"].as_f64().unwrap() > 0.5, "{doc}");
    };
    check(&stranger);
    huoti_assets::models().require(&xdg.join("huoti/models")).unwrap();
    assert!(!stranger.user_dir().exists(), "XDG_DATA_HOME wins over ~/.local/share");
    let asked = upstream.served().len();
    let required = huoti_assets::models().assets.iter().filter(|a| !a.optional).count();
    assert_eq!(asked, required, "one download per required model (SFace, optional, is fetched by `match`)");
    // Second run: the models are there, nothing is downloaded again.
    check(&stranger);
    assert_eq!(upstream.served().len(), asked);
    let list = stranger.huoti(&upstream).env("XDG_DATA_HOME", &xdg).args(["models", "list", "--json"]).output().unwrap();
    assert_eq!(list.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(Path::new(doc["dir"].as_str().unwrap()), xdg.join("huoti/models"));
    assert!(stranger.work_is_empty());
}
