//! `huoti serve`: the verification server (see the `huoti-server` crate).
//!
//! Configuration, lowest precedence first: built-in defaults (files in the per-user data
//! directory, see [`crate::places`]), `--config FILE` (TOML), `HUOTI_*` environment variables,
//! then these flags. Missing models are fetched, with a progress bar, before the server listens.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use huoti_server::{ServeOptions, ServerConfig, ServerError};

use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (see config/huoti.example.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: database, keys, TLS certificate, sealed frames [default:
    /// ~/.local/share/huoti/server (or $XDG_DATA_HOME/huoti/server)].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8443].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Model directory; missing models are fetched into it first [default:
    /// ~/.local/share/huoti/models (or $XDG_DATA_HOME/huoti/models)].
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Create a demo integrator (once per data directory) and print its API key.
    #[arg(long)]
    pub dev: bool,
    /// Accept explicit (fixed) challenges, for recorded clips. Never in production.
    #[arg(long)]
    pub test_mode: bool,
    /// Serve plain HTTP (only behind a TLS-terminating proxy).
    #[arg(long)]
    pub no_tls: bool,
}

fn config(args: &ServeArgs) -> Result<ServerConfig, ServerError> {
    let mut config = crate::places::server_config(args.config.as_deref())?;
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(m) = &args.models {
        config.model_dir = m.clone();
    }
    config.test_mode |= args.test_mode;
    if args.no_tls {
        config.tls.enabled = false;
    }
    config.validate()?;
    Ok(config)
}

pub fn run(args: ServeArgs) -> Exit {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUOTI_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    // One command runs it: models missing on a fresh machine are fetched (mirror first, then
    // upstream) and verified before the server starts; a failure says how to fix it.
    if let Err(e) = crate::assets_cmd::ensure_models(&config.model_dir, &[]) {
        eprintln!("error: {e}");
        return Exit::Setup;
    }
    if config.test_mode {
        eprintln!("warning: test mode: explicit challenges are accepted; never run this in production");
    }
    eprintln!("data in {} (delete that directory to start afresh); stop with Ctrl-C", config.data_dir.display());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Setup;
        }
    };
    let listen = config.listen;
    match runtime.block_on(huoti_server::serve(config, ServeOptions { dev_key: args.dev })) {
        Ok(()) => Exit::Ok,
        Err(ServerError::Io { context, source }) if source.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "error: {context}: {source}.\n  Fix: another program (perhaps another `huoti serve`) holds {listen}; stop it, \
                 or listen elsewhere: `huoti serve --listen 127.0.0.1:{}`",
                listen.port().wrapping_add(1).max(1024)
            );
            Exit::Setup
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Setup
        }
    }
}
