//! `huoti check` as a user runs it: the real binary, real models, real samples.

use std::path::Path;
use std::process::Command;

use huoti_assets::testing::{data_file, models_dir};

fn huoti() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_huoti"));
    c.env("HUOTI_MODEL_DIR", models_dir());
    c
}

fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = huoti().arg("check").arg("--json").args(args).output().unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), doc)
}

#[test]
fn c3_check_images_reports_faces_and_passive_scores_as_json() {
    let t1 = data_file("silent-face-anti-spoofing/image_T1.jpg");
    let f2 = data_file("silent-face-anti-spoofing/image_F2.jpg");
    let (code, doc) = run_json(&[t1.to_str().unwrap(), f2.to_str().unwrap()]);
    assert_eq!(code, 0);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["kind"], "image");
    assert_eq!(results[0]["faces"].as_array().unwrap().len(), 1);
    let real = |r: &serde_json::Value| r["main"]["passive"]["real_probability"].as_f64().unwrap();
    assert!(real(&results[0]) >= 0.5 && real(&results[1]) < 0.5);
    assert!(results[0]["timings"]["total_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn fail_on_spoof_exits_4_for_a_replay() {
    let f2 = data_file("silent-face-anti-spoofing/image_F2.jpg");
    let out = huoti().args(["check", "--fail-on-spoof"]).arg(&f2).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("SPOOF?"), "{table}");
}

#[test]
fn a_bad_file_among_good_ones_is_reported_with_a_code_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(data_file("scikit-image/astronaut.png"), dir.path().join("a.png")).unwrap();
    std::fs::write(dir.path().join("b.jpg"), b"not really a jpeg").unwrap();
    let (code, doc) = run_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "directory expanded, sorted");
    assert_eq!(results[0]["kind"], "image");
    assert_eq!(results[1]["kind"], "error");
    assert_eq!(results[1]["code"], "not_an_image");
}

#[test]
fn videos_are_read_natively_as_y4m_and_through_ffmpeg() {
    let clip = data_file("liveportrait/d18.mp4");
    let dir = tempfile::tempdir().unwrap();
    let y4m = dir.path().join("d18.y4m");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-t", "1", "-i"])
        .arg(&clip)
        .args(["-vf", "scale=240:-2,fps=10", "-pix_fmt", "yuv420p"])
        .arg(&y4m)
        .status()
        .expect("ffmpeg is installed");
    assert!(status.success());
    for input in [y4m.as_path(), clip.as_path()] {
        let (code, doc) = run_json(&["--fps", "5", "--max-seconds", "2", "--frames", input.to_str().unwrap()]);
        assert_eq!(code, 0, "{}", input.display());
        let r = &doc["results"][0];
        assert_eq!(r["kind"], "video", "{}", input.display());
        assert!(r["frames"].as_u64().unwrap() >= 5);
        assert_eq!(r["max_faces"], 1);
        assert!(r["per_frame"].as_array().unwrap().iter().all(|f| f["yaw_deg"].is_number()));
    }
}

#[test]
fn models_that_cannot_be_fetched_exit_3_with_the_fix_and_leave_nothing() {
    let empty = tempfile::tempdir().unwrap();
    let img = data_file("scikit-image/astronaut.png");
    // No mirror, and "upstream" answers 404 to everything.
    let dead = huoti_assets::testing::LocalUpstream::start();
    let out = huoti()
        .env("HUOTI_MODEL_DIR", empty.path())
        .env_remove(huoti_assets::MODEL_MIRROR_ENV)
        .env(huoti_assets::SOURCE_BASE_ENV, dead.base())
        .arg("check")
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("face_detection_yunet_2026may.onnx") && err.contains("HTTP 404") && err.contains("huoti models fetch"), "{err}");
    // Each source was tried once, in order.
    let yunet = &huoti_assets::models().assets[0];
    let asked: Vec<String> = dead.served().into_iter().map(|s| s.path).collect();
    let expected: Vec<String> = yunet.sources.iter().map(|s| huoti_assets::testing::LocalUpstream::path_of(&s.url)).collect();
    assert_eq!(asked, expected);
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0, "nothing half-written");
}

#[test]
fn models_list_shows_each_state_and_fetch_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let list = huoti().args(["models", "list", "--json", "--dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(list.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(doc["files"].as_array().unwrap().iter().all(|f| f["state"] == "missing"));
    let fetch = huoti().args(["models", "fetch", "--dir"]).arg(dir.path()).arg("--mirror").arg(models_dir()).output().unwrap();
    assert!(fetch.status.success(), "{}", String::from_utf8_lossy(&fetch.stderr));
    // a corrupt file is detected by its bytes, not its name
    std::fs::write(dir.path().join("face_landmark.onnx"), b"corrupt").unwrap();
    let list = huoti().args(["models", "list", "--json", "--dir"]).arg(dir.path()).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let states: Vec<_> = doc["files"].as_array().unwrap().iter().map(|f| f["state"].as_str().unwrap().to_string()).collect();
    assert_eq!(states.iter().filter(|s| *s == "CORRUPT").count(), 1, "{states:?}");
    assert!(Path::new(dir.path()).join("face_detection_yunet_2026may.onnx").exists());
}
