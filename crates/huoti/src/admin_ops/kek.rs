//! `huoti admin kek rotate [--retire-old]`.

use clap::Subcommand;

use super::{StoreArgs, print};

#[derive(Debug, Subcommand)]
pub enum KekCommand {
    /// Make a new key-encryption key current and re-wrap every data key under it (blobs are
    /// not rewritten). Servers may keep running: they reload the key file when it changes
    /// (several nodes must share the one key file). With `HUOTI_KEK` (keys from the
    /// environment), add the new KEK there first: this then re-wraps every data key under the
    /// set's current KEK.
    Rotate {
        /// Then remove the old KEKs from the key file (nothing needs them any more).
        #[arg(long)]
        retire_old: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(cmd: KekCommand) -> Result<(), String> {
    let KekCommand::Rotate { retire_old, store } = cmd;
    let config = store.config().map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let report = rt.block_on(async {
        let db = huoti_server::store::Db::connect(&config.database_url()).await.map_err(|e| e.to_string())?;
        let source = huoti_server::vault::KekSource::configured(&config.kek_path());
        huoti_server::vault::sealing::rotate_source(&source, &db, retire_old).await.map_err(|e| e.to_string())
    })?;
    print(store.json, &report, |r| {
        format!("new KEK {}; {} data keys re-wrapped; retired: {}", r.new_kek, r.rewrapped, if r.retired.is_empty() { "none".into() } else { r.retired.join(", ") })
    });
    Ok(())
}
