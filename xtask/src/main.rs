//! `cargo xtask`: the single entry point for project chores.
//!
//! - `cargo xtask experiment [NAME]`: runs an experiment of `configs/experiments/` and writes
//!   its numbers, charts and HTML report (see `cargo xtask experiment --help`).
//! - `cargo xtask tidy`: formatting check, clippy with `-D warnings`, and a check that
//!   every `.rs` file opens with a `//!` doc comment.
//! - `cargo xtask trace-stats PATH [--format F] [--json] [--lenient]`: a summary of a trace
//!   (Google 2011, Alibaba GPU 2023, SWF).
//! - `cargo xtask trace-replay PATH [--collect]`: reads a trace as a replay does (streamed,
//!   or loaded whole) and prints its peak memory.

mod experiment;
mod tidy;
mod trace_replay;
mod trace_stats;

use clap::{Parser, Subcommand};

/// Chores for the omega workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Chores for the omega workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an experiment (default: the architecture comparison) and write its report.
    Experiment(experiment::ExperimentArgs),
    /// Check formatting, lints and module docs (what CI checks first).
    Tidy,
    /// Print a summary of a trace (Google 2011, Alibaba GPU 2023, SWF).
    TraceStats(trace_stats::TraceStatsArgs),
    /// Read a trace as a replay does and print its peak memory (`--collect`: loaded whole).
    TraceReplay(trace_replay::TraceReplayArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Experiment(args) => experiment::run(args),
        Command::Tidy => tidy::run(),
        Command::TraceStats(args) => trace_stats::run(args),
        Command::TraceReplay(args) => trace_replay::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
