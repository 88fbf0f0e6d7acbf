//! Where huoti keeps its files when nothing says otherwise: one per-user data directory,
//! `$XDG_DATA_HOME/huoti`, else `~/.local/share/huoti` (the XDG base-directory rule), so an
//! installed binary works from any current directory:
//!
//! ```text
//! ~/.local/share/huoti/models/     the pinned ONNX models       (--models, HUOTI_MODEL_DIR)
//! ~/.local/share/huoti/server/     database, keys, certificate, (--data-dir, data_dir,
//!                                  sealed frames                  HUOTI_SERVER_DATA_DIR)
//! ~/.local/share/huoti/testdata/   the pinned public samples    (--dir, HUOTI_DATA_DIR)
//! ```
//!
//! A flag wins over the environment, which wins over a configuration file, which wins over
//! these defaults.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use huoti_server::{ServerConfig, ServerError};

/// The per-user data directory, or why there is none.
pub fn user_data_dir() -> Result<PathBuf, String> {
    user_data_dir_from(|name| std::env::var_os(name))
}

fn user_data_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf, String> {
    // The XDG rule: a relative XDG_DATA_HOME is invalid and ignored.
    if let Some(xdg) = var("XDG_DATA_HOME").map(PathBuf::from).filter(|p| p.is_absolute()) {
        return Ok(xdg.join("huoti"));
    }
    match var("HOME").map(PathBuf::from).filter(|p| p.is_absolute()) {
        Some(home) => Ok(home.join(".local/share/huoti")),
        None => Err("neither XDG_DATA_HOME nor HOME is set: give the directories explicitly (--models, --data-dir, --dir)".into()),
    }
}

/// The directory named by a flag, else by `env`, else `<per-user data dir>/<sub>`.
pub fn resolve(flag: Option<PathBuf>, env: &str, sub: &str) -> Result<PathBuf, String> {
    if let Some(dir) = flag.or_else(|| std::env::var_os(env).filter(|v| !v.is_empty()).map(PathBuf::from)) {
        return Ok(dir);
    }
    Ok(user_data_dir()?.join(sub))
}

/// The model directory: `--models`, `HUOTI_MODEL_DIR`, else the per-user one.
pub fn models_dir(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    resolve(flag, huoti_assets::MODEL_DIR_ENV, "models")
}

/// The server's configuration before its command-line flags: the file (if any), the per-user
/// directories for `data_dir` and `model_dir` where the file does not set them, then `HUOTI_*`
/// variables. Shared by `huoti serve` and `huoti admin …`, so both find the same data.
pub fn server_config(file: Option<&Path>) -> Result<ServerConfig, ServerError> {
    let (mut config, keys) = match file {
        Some(path) => (ServerConfig::from_file(path)?, top_level_keys(path)?),
        None => (ServerConfig::default(), HashSet::new()),
    };
    let env_sets = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let needs_user_dir = (!keys.contains("data_dir") && !env_sets("HUOTI_SERVER_DATA_DIR"))
        || (!keys.contains("model_dir") && !env_sets(huoti_assets::MODEL_DIR_ENV));
    if needs_user_dir {
        let user = user_data_dir().map_err(ServerError::Config)?;
        if !keys.contains("data_dir") {
            config.data_dir = user.join("server");
        }
        if !keys.contains("model_dir") {
            config.model_dir = user.join("models");
        }
    }
    config.apply_env(std::env::vars())?;
    Ok(config)
}

/// The keys a TOML file sets at its top level.
fn top_level_keys(path: &Path) -> Result<HashSet<String>, ServerError> {
    let text = std::fs::read_to_string(path).map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
    Ok(table.keys().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn the_per_user_directory_follows_the_xdg_rule() {
        assert_eq!(user_data_dir_from(vars(&[("XDG_DATA_HOME", "/x/data"), ("HOME", "/home/a")])).unwrap(), Path::new("/x/data/huoti"));
        assert_eq!(user_data_dir_from(vars(&[("HOME", "/home/a")])).unwrap(), Path::new("/home/a/.local/share/huoti"));
        // A relative XDG_DATA_HOME is invalid by the spec: ignored.
        assert_eq!(user_data_dir_from(vars(&[("XDG_DATA_HOME", "rel"), ("HOME", "/home/a")])).unwrap(), Path::new("/home/a/.local/share/huoti"));
        let none = user_data_dir_from(vars(&[])).unwrap_err();
        assert!(none.contains("--models"), "{none}");
    }
}
