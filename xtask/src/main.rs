//! `cargo xtask`: the single entry point for project chores.
//!
//! - `cargo xtask experiment [NAME]`: runs an experiment of `configs/experiments/` and writes
//!   its numbers, charts and HTML report (see `cargo xtask experiment --help`).
//! - `cargo xtask tidy`: formatting check, clippy with `-D warnings`, a check that every
//!   `.rs` file opens with a `//!` doc comment, and the rule that no non-test function is
//!   longer than 80 lines.
//! - `cargo xtask trace-stats PATH [--format F] [--json] [--lenient]`: a summary of a trace
//!   (Google 2011, Alibaba GPU 2023, SWF).
//! - `cargo xtask bench-sweep [--jobs N] [--against REV] [--filter SUBSTR] [--config-dir DIR]`:
//!   the paper-style sweep of `configs/bench/`, end to end, with wall time, events/s, task
//!   starts+ends per second and peak memory; with `--against REV`, ratios old/new.
//! - `cargo xtask trace-replay PATH [--collect]`: reads a trace as a replay does (streamed,
//!   or loaded whole) and prints its peak memory.

mod bench_sweep;
mod experiment;
mod fn_length;
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
    /// Check formatting, lints, module docs and function lengths (what CI checks first).
    Tidy,
    /// Print a summary of a trace (Google 2011, Alibaba GPU 2023, SWF).
    TraceStats(trace_stats::TraceStatsArgs),
    /// Run the benchmark sweep of configs/bench/ end to end (optionally against another
    /// revision) and print its cost.
    BenchSweep(bench_sweep::BenchSweepArgs),
    /// Internal: run a program and report its wall time and peak memory (bench-sweep's
    /// measuring wrapper).
    #[command(hide = true)]
    BenchSweepMeasure(bench_sweep::MeasureArgs),
    /// Read a trace as a replay does and print its peak memory (`--collect`: loaded whole).
    TraceReplay(trace_replay::TraceReplayArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Experiment(args) => experiment::run(args),
        Command::Tidy => tidy::run(),
        Command::TraceStats(args) => trace_stats::run(args),
        Command::BenchSweep(args) => bench_sweep::run(args),
        Command::BenchSweepMeasure(args) => bench_sweep::measure_wrapper(args),
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
