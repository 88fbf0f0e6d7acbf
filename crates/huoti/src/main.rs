//! `huoti`: the command line of the huoti liveness system.
#![forbid(unsafe_code)]

mod admin;
mod admin_ops;
mod assets_cmd;
mod check;
mod cli;
mod eval;
mod eval_match;
mod exit;
mod match_cmd;
mod places;
mod serve;
mod verify;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match cli.command {
        cli::Command::Models(cmd) => assets_cmd::models(cmd),
        cli::Command::Testdata(cmd) => assets_cmd::testdata(cmd),
        cli::Command::Check(args) => check::run(args),
        cli::Command::Match(args) => match_cmd::run(args),
        cli::Command::Serve(args) => serve::run(args),
        cli::Command::Verify(args) => verify::run(args),
        cli::Command::Eval(args) => eval::run(args),
        cli::Command::Admin(cmd) => admin::run(cmd),
    };
    std::process::exit(code as i32);
}
