//! `tome`: the one binary. `serve` (API + in-process workers), `worker`, `migrate`,
//! `config`, `user create`, `models`, `reindex`, `audit verify`.

mod cli;
mod commands;
mod models;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, the whole cause chain, no backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
