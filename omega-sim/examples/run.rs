//! Runs one experiment TOML and prints its totals: `cargo run --release -p omega-sim
//! --example run -- path/to/experiment.toml`.

use std::process::ExitCode;
use std::time::Instant;

use omega_sim::{CountingRecorder, Experiment, run_experiment};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: run <experiment.toml>");
        return ExitCode::FAILURE;
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let experiment = match Experiment::from_toml(&text) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let mut counts = CountingRecorder::default();
    match run_experiment(&experiment, &mut counts) {
        Ok(summary) => {
            let wall = started.elapsed().as_secs_f64();
            println!("{:#?}\n{counts:#?}", summary.tasks);
            for s in &summary.schedulers {
                println!(
                    "{}: busyness {:.3}, wasted {:.3}, attempts {}",
                    s.name,
                    s.busyness(summary.end_us),
                    s.wasted_us as f64 / summary.end_us.max(1) as f64,
                    s.attempts
                );
            }
            println!(
                "{} events in {wall:.2} s wall: {:.0} events/s",
                summary.events,
                summary.events as f64 / wall
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}
