//! `huoti models …` and `huoti testdata …`, and the fetch-with-progress that `serve`, `check`
//! and `eval` run when models are missing.

use std::path::{Path, PathBuf};

use huoti_assets::{AssetError, AssetState, FetchEvent, FetchOptions, FetchSource, Manifest};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::AssetCommand;
use crate::exit::Exit;

pub fn models(cmd: AssetCommand) -> Exit {
    run(cmd, &huoti_assets::models(), huoti_assets::MODEL_DIR_ENV, "models")
}

pub fn testdata(cmd: AssetCommand) -> Exit {
    run(cmd, &huoti_assets::testdata(), "HUOTI_DATA_DIR", "testdata")
}

fn run(cmd: AssetCommand, manifest: &Manifest, dir_env: &str, sub: &str) -> Exit {
    let (place, mirror) = match cmd {
        AssetCommand::List { tsv: true, .. } => {
            print!("{}", eval_manifest(manifest));
            return Exit::Ok;
        }
        AssetCommand::List { place, json, .. } => {
            return match crate::places::resolve(place.dir, dir_env, sub) {
                Ok(dir) => list(manifest, &dir, json),
                Err(e) => setup_error(e),
            };
        }
        AssetCommand::Fetch { place, mirror } => (place, mirror),
    };
    let dir = match crate::places::resolve(place.dir, dir_env, sub) {
        Ok(dir) => dir,
        Err(e) => return setup_error(e),
    };
    let mut options = fetch_options(manifest);
    if mirror.is_some() {
        options.mirror = mirror;
    }
    match fetch_with_progress(manifest, &dir, &options) {
        Ok(sources) => {
            println!("{} file(s) verified in {}", sources.len(), dir.display());
            Exit::Ok
        }
        Err(e) => setup_error(e),
    }
}

fn setup_error(e: impl std::fmt::Display) -> Exit {
    eprintln!("error: {e}");
    Exit::Setup
}

/// `path<TAB>kind`, one line per file, as `huoti eval` reads a manifest.
fn eval_manifest(manifest: &Manifest) -> String {
    let mut out = String::from("path\tkind\n");
    for a in &manifest.assets {
        out.push_str(&format!("{}\t{}\n", a.path, a.kind.as_deref().unwrap_or("")));
    }
    out
}

fn state_word(state: &AssetState) -> &'static str {
    match state {
        AssetState::Verified => "verified",
        AssetState::Missing => "missing",
        AssetState::Corrupt { .. } => "CORRUPT",
    }
}

fn list(manifest: &Manifest, dir: &Path, json: bool) -> Exit {
    let states = manifest.state(dir);
    // A missing optional file (face match) is listed, but is no setup failure.
    let all_ok = states.iter().all(|(a, s)| *s == AssetState::Verified || (a.optional && *s == AssetState::Missing));
    if json {
        let rows: Vec<_> = states
            .iter()
            .map(|(a, s)| {
                let sources: Vec<_> = a.sources.iter().map(|s| serde_json::json!({ "url": s.url, "sha256": s.sha256, "note": s.note })).collect();
                serde_json::json!({
                    "name": a.name, "path": a.path, "state": state_word(s), "sha256": a.sha256,
                    "licence": a.licence, "role": a.role, "origin": a.origin, "sources": sources, "optional": a.optional,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "dir": dir, "files": rows }));
    } else {
        println!("{}", dir.display());
        let width = states.iter().map(|(a, _)| a.path.len()).max().unwrap_or(4);
        println!("  {:<9} {:<width$}  {:<12} {:<8} role", "state", "file", "licence", "sources");
        for (a, s) in &states {
            let optional = if a.optional { " [optional]" } else { "" };
            println!("  {:<9} {:<width$}  {:<12} {:<8} {}{optional}", state_word(s), a.path, a.licence, a.sources.len(), a.role);
        }
        if !all_ok {
            println!("\nFix: `{}` (downloads from the sources; `--mirror DIR` or {} to copy from a local folder first).", manifest.fetch_command, manifest.mirror_env);
        }
    }
    if all_ok { Exit::Ok } else { Exit::Setup }
}

/// The mirror and test override from the environment, with a warning when the override is on.
pub fn fetch_options(manifest: &Manifest) -> FetchOptions {
    let options = FetchOptions::from_env(manifest);
    if let Some(base) = &options.source_base {
        eprintln!("warning: {} is set: downloads go to {base} instead of upstream (tests only)", huoti_assets::SOURCE_BASE_ENV);
    }
    options
}

/// Makes `dir` hold every required model and the optional ones named in `also` (SFace for
/// face match), fetching what is missing (mirror first, then each source) with a progress bar
/// on stderr. Does nothing when they are all there and verified. An optional model nobody
/// asked for is not fetched here, so its download failing never stops `serve` or `check`.
pub fn ensure_models(dir: &Path, also: &[&str]) -> Result<(), AssetError> {
    let all = huoti_assets::models();
    let assets = all.assets.iter().filter(|a| !a.optional || also.contains(&a.name.as_str())).cloned().collect();
    let needed = Manifest { assets, ..all };
    let names: Vec<&str> = needed.assets.iter().map(|a| a.name.as_str()).collect();
    if needed.require_named(dir, &names).is_ok() {
        return Ok(());
    }
    eprintln!("models missing in {}: fetching them (once; mirror first if set, then upstream) …", dir.display());
    fetch_with_progress(&needed, dir, &fetch_options(&needed)).map(|_| ())
}

/// The model directory `check`, `eval` and `match` use (`--models`, `HUOTI_MODEL_DIR`, else
/// the per-user one), with every required model in it and the optional ones named in `also`
/// (fetched first when missing).
pub fn ready_models(flag: Option<PathBuf>, also: &[&str]) -> Result<PathBuf, String> {
    let dir = crate::places::models_dir(flag)?;
    ensure_models(&dir, also).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Fetches with one byte-progress bar per file on stderr (hidden when stderr is not a
/// terminal) and one line per file and per failed place.
pub fn fetch_with_progress(manifest: &Manifest, dir: &Path, options: &FetchOptions) -> Result<Vec<FetchSource>, AssetError> {
    let style = ProgressStyle::with_template("  {prefix:<36} {bar:30} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12}").expect("valid template");
    let mut bar: Option<ProgressBar> = None;
    let line = |bar: &Option<ProgressBar>, text: String| match bar {
        Some(b) => b.suspend(|| eprintln!("{text}")),
        None => eprintln!("{text}"),
    };
    manifest.fetch(dir, options, |event| match event {
        FetchEvent::Start { asset, length, resumed_from, .. } => {
            let b = match length {
                Some(n) => ProgressBar::new(n).with_style(style.clone()),
                None => ProgressBar::new_spinner(),
            };
            b.set_prefix(asset.path.clone());
            b.set_position(resumed_from);
            if let Some(old) = bar.replace(b) {
                old.finish_and_clear();
            }
        }
        FetchEvent::Bytes { done, .. } => {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        }
        FetchEvent::Failed { asset, from, why } => {
            line(&bar, format!("  --  {}: {from}: {why}; trying the next place", asset.path));
        }
        FetchEvent::Done { asset, index, total, source } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            let how = match &source {
                FetchSource::AlreadyPresent => "already verified".to_string(),
                FetchSource::Mirror(p) => format!("copied from {}", p.display()),
                FetchSource::Upstream(u) => format!("downloaded from {u}"),
            };
            line(&None, format!("  ok  {} ({}/{total}, {how})", asset.path, index + 1));
        }
    })
}

