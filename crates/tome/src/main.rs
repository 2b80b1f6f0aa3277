//! `tome`: the one binary. `serve` (API + in-process workers), `worker`, `migrate`,
//! `config`, `user create`, `ingest`, `models`, `reindex`, `audit verify`.

mod cli;
mod commands;
mod eval;
mod ingest;
mod keys;
mod models;
mod telemetry;
mod transcribe;

use std::process::ExitCode;

/// mimalloc instead of the system allocator: model inference allocates and frees tensors of
/// many megabytes per layer, which glibc's malloc serves with fresh zeroed pages from the
/// kernel each time; with mimalloc in-process embedding is about 1.5× faster
/// (`cargo run --release -p tome-models --example embed_bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The extraction child reads one file and exits: no runtime, no configuration, no logs.
    if let cli::Command::ExtractFile { kind, max_inflated_bytes, max_text_bytes, memory_bytes, cpu_secs, limited } =
        cli.command
    {
        let request = tome_rag::extract::isolate::ChildRequest {
            kind,
            max_inflated_bytes,
            max_text_bytes,
            memory_bytes,
            cpu_secs,
            limited,
        };
        return ExitCode::from(u8::try_from(tome_rag::extract::isolate::child_main(&request)).unwrap_or(1));
    }
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
