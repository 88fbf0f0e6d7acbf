//! `huoti admin`: staff API keys with roles (S2) and the audit-log check (S2, C4), run on the
//! server's data directory (or `--config` / `HUOTI_DATABASE_URL`), without a running server.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::Exit;

mod keys;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// API keys: every key has one role (integrator, operator, privacy_officer, ml_engineer,
    /// auditor).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The hash-chained audit log of staff access to personal data.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Retention, key rotation, incidents, wind-down (see `crate::admin_ops`).
    #[command(flatten)]
    Ops(crate::admin_ops::AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key and print it once (`hk_<id>.<secret>`; only a hash is stored).
    Create {
        /// integrator, operator, privacy_officer, ml_engineer or auditor.
        #[arg(long)]
        role: String,
        /// A name for the key's holder (no personal data needed).
        #[arg(long)]
        name: String,
        /// Refuse the key after this many days (default: it does not expire).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        place: Place,
    },
    /// List every key: id, holder, role, created, expires, revoked (never a secret).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: Place,
    },
    /// Revoke a key: every server node refuses it from its next request (`api_key_revoked`).
    Revoke {
        /// The key id: the 16 hex digits after `hk_` (a whole key is accepted too; only its id
        /// is used).
        id: String,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the chain; on a break, name the first tampered entry and exit 1.
    Verify {
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Debug, Args)]
pub struct Place {
    /// TOML configuration file (as for `huoti serve`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The server's data directory [default: the configuration's, else
    /// ~/.local/share/huoti/server (or $XDG_DATA_HOME/huoti/server), as for `huoti serve`].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

async fn db(place: &Place) -> Result<huoti_server::store::Db, String> {
    let mut config = crate::places::server_config(place.config.as_deref()).map_err(|e| e.to_string())?;
    if let Some(d) = &place.data_dir {
        config.data_dir = d.clone();
    }
    if config.database_url.is_empty() && !config.data_dir.is_dir() {
        return Err(format!("no data directory at {}", config.data_dir.display()));
    }
    huoti_server::store::Db::connect(&config.database_url()).await.map_err(|e| e.to_string())
}

pub fn run(cmd: AdminCommand) -> Exit {
    let cmd = match cmd {
        AdminCommand::Ops(c) => return crate::admin_ops::run(c),
        other => other,
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    rt.block_on(async move {
        match cmd {
            AdminCommand::Keys(KeysCommand::Create { role, name, expires_in_days, place }) => {
                let Some(role) = huoti_server::http::auth::parse_role(&role) else {
                    eprintln!("error: --role: one of integrator, operator, privacy_officer, ml_engineer, auditor");
                    return Exit::BadInput;
                };
                let db = match db(&place).await {
                    Ok(db) => db,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return Exit::Setup;
                    }
                };
                let now = huoti_server::Clock::now_ms(&huoti_server::SystemClock);
                let expires = expires_in_days.map(|d| now + u64::from(d) * 86_400_000);
                match huoti_server::create_expiring_api_key(&db, &name, role, now, expires).await {
                    Ok(key) => {
                        println!("{key}");
                        let until = expires.map(|t| format!(", valid until {}", keys::when(Some(t as i64)))).unwrap_or_default();
                        eprintln!("created a {} key{until}; it is shown only this once", role.as_str());
                        Exit::Ok
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        Exit::Setup
                    }
                }
            }
            AdminCommand::Keys(KeysCommand::List { json, place }) => match db(&place).await {
                Ok(db) => keys::list(&db, json).await,
                Err(e) => {
                    eprintln!("error: {e}");
                    Exit::Setup
                }
            },
            AdminCommand::Keys(KeysCommand::Revoke { id, place }) => match db(&place).await {
                Ok(db) => keys::revoke(&db, &id).await,
                Err(e) => {
                    eprintln!("error: {e}");
                    Exit::Setup
                }
            },
            // Runs its own runtime: handled before this one starts.
            AdminCommand::Ops(_) => Exit::Setup,
            AdminCommand::Audit(AuditCommand::Verify { place }) => {
                let db = match db(&place).await {
                    Ok(db) => db,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return Exit::Setup;
                    }
                };
                match huoti_server::privacy::audit::verify(&db).await {
                    Ok(r) if r.ok => {
                        println!(
                            "audit log intact: {} entries{}{}",
                            r.entries,
                            r.pruned_through.map(|s| format!(" (entries up to seq {s} deleted after their 3-year retention, L5)")).unwrap_or_default(),
                            r.head_hash.map(|h| format!(", head {h}")).unwrap_or_default()
                        );
                        Exit::Ok
                    }
                    Ok(r) => {
                        println!("audit log TAMPERED: first bad entry is seq {}", r.first_bad_seq.unwrap_or_default());
                        Exit::BadInput
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        Exit::Setup
                    }
                }
            }
        }
    })
}
