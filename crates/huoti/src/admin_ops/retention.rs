//! `huoti admin retention run [--dry-run] [--json]`.

use clap::Subcommand;

use super::{StoreArgs, print};

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Run the retention job once and print its report (per category: checked, due, deleted,
    /// anonymised). Safe while servers run: rows are claimed.
    Run {
        /// Report what is due without changing anything.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(cmd: RetentionCommand) -> Result<(), String> {
    let RetentionCommand::Run { dry_run, store } = cmd;
    let report = store.with_state(async |st| huoti_server::retention::run(&st, dry_run).await.map_err(|e| e.to_string()))?;
    print(store.json, &report, |r| {
        let mut out = format!("retention {}at {}\n", if r.dry_run { "(dry run) " } else { "" }, r.at);
        out.push_str("category        checked  due  deleted  anonymised\n");
        for (c, n) in &r.categories {
            out.push_str(&format!("{c:<15} {:>7} {:>4} {:>8} {:>11}\n", n.checked, n.due, n.deleted, n.anonymised));
        }
        if r.failed > 0 {
            out.push_str(&format!("{} sessions failed and will be retried\n", r.failed));
        }
        out.trim_end().to_owned()
    });
    Ok(())
}
