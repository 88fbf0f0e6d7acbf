//! `huoti admin calendar check` (R5, R9; issue 18): the years a holiday file covers, the dates
//! from which deadlines become provisional, and a malformed file refused naming its line.

use std::process::Command;

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_huoti")).args(["admin", "calendar", "check"]).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn r5_r9_calendar_check_reports_coverage_and_provisional_dates() {
    let (code, out, err) = check(&["--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["years"], serde_json::json!([2025, 2026]));
    assert_eq!(v["coverage_ends"], "2026-12-31");
    let from: Vec<(&str, &str)> =
        v["provisional_from"].as_array().unwrap().iter().map(|p| (p["clause"].as_str().unwrap(), p["received_from"].as_str().unwrap())).collect();
    assert_eq!(from, [("R5", "2026-12-11"), ("R9", "2026-12-29")]);

    // An operator's file with the next year's notice moves both dates a year on.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cn-2027.tsv");
    std::fs::write(&file, format!("{}2027-01-01\toff\t元旦\n", huoti_privacy::calendar::EMBEDDED_TSV)).unwrap();
    let (code, out, err) = check(&[file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("covers 2025, 2026, 2027 (through 2027-12-31)"), "{out}");
    assert!(out.contains("R5 account closure (15 working days): 2027-12-13"), "{out}");
}

#[test]
fn r5_calendar_check_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.tsv");
    std::fs::write(&file, "date\tday\tname\n2027-01-01\toff\t元旦\n2027-01-08\twork\tnot a weekend\n").unwrap();
    let (code, out, err) = check(&[file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("line 3") && err.contains("weekday"), "{err}");
    let (code, _, err) = check(&[dir.path().join("missing.tsv").to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    // Without FILE, the server's configured `[rights] calendar_file` is checked.
    let config = dir.path().join("huoti.toml");
    std::fs::write(&config, format!("[rights]\ncalendar_file = {:?}\n", file.to_str().unwrap())).unwrap();
    let (code, _, err) = check(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "the configured file is the one checked: {err}");
    assert!(err.contains("line 3"), "{err}");
}
