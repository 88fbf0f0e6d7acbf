//! `huoti models …` and `huoti testdata …`.

use std::path::{Path, PathBuf};

use huoti_assets::{AssetState, FetchSource, Manifest};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::AssetCommand;
use crate::exit::Exit;

pub fn models(cmd: AssetCommand) -> Exit {
    run(cmd, &huoti_assets::models(), "HUOTI_MODEL_DIR", "models")
}

pub fn testdata(cmd: AssetCommand) -> Exit {
    run(cmd, &huoti_assets::testdata(), "HUOTI_DATA_DIR", "testdata/cache")
}

fn resolve(dir: Option<PathBuf>, env: &str, default: &str) -> PathBuf {
    dir.or_else(|| std::env::var_os(env).map(PathBuf::from)).unwrap_or_else(|| PathBuf::from(default))
}

fn run(cmd: AssetCommand, manifest: &Manifest, dir_env: &str, default: &str) -> Exit {
    match cmd {
        AssetCommand::List { place, json } => list(manifest, &resolve(place.dir, dir_env, default), json),
        AssetCommand::Fetch { place, mirror } => {
            let mirror = mirror.or_else(|| std::env::var_os(&manifest.mirror_env).map(PathBuf::from));
            fetch(manifest, &resolve(place.dir, dir_env, default), mirror.as_deref())
        }
    }
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
                serde_json::json!({
                    "name": a.name, "path": a.path, "state": state_word(s), "sha256": a.sha256,
                    "licence": a.licence, "role": a.role, "origin": a.origin, "url": a.url, "optional": a.optional,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "dir": dir, "files": rows }));
    } else {
        println!("{}", dir.display());
        let width = states.iter().map(|(a, _)| a.path.len()).max().unwrap_or(4);
        println!("  {:<9} {:<width$}  {:<12} role", "state", "file", "licence");
        for (a, s) in &states {
            let optional = if a.optional { " [optional]" } else { "" };
            println!("  {:<9} {:<width$}  {:<12} {}{optional}", state_word(s), a.path, a.licence, a.role);
        }
        if !all_ok {
            println!("\nFix: `{} --mirror DIR` (or set {}), or run it with internet access.", manifest.fetch_command, manifest.mirror_env);
        }
    }
    if all_ok { Exit::Ok } else { Exit::Setup }
}

fn fetch(manifest: &Manifest, dir: &Path, mirror: Option<&Path>) -> Exit {
    let bar = ProgressBar::new(manifest.assets.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template"));
    let result = manifest.fetch(dir, mirror, |event| {
        let how = match &event.source {
            FetchSource::AlreadyPresent => "already verified".to_string(),
            FetchSource::Mirror(p) => format!("copied from {}", p.display()),
            FetchSource::Upstream(u) => format!("downloaded from {u}"),
        };
        bar.println(format!("  ok  {}  ({how})", event.asset.path));
        bar.inc(1);
    });
    bar.finish_and_clear();
    match result {
        Ok(sources) => {
            println!("{} file(s) verified in {}", sources.len(), dir.display());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Setup
        }
    }
}
