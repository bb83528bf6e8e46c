//! Bad input never panics: experiment TOMLs with values replaced, lines dropped or repeated
//! and unknown keys added either fail with an error or build and run (for a short while)
//! with every task accounted for.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use omega_sim::{CountingRecorder, Experiment, Simulation, build_input};
use proptest::prelude::*;

/// A small experiment exercising every section.
const BASE: &str = r#"seed = 7
horizon_us = 600_000_000
[cluster]
preset = "seed"
machines = 60
machines_per_rack = 20
[workload]
preset = "seed"
load = 0.7
prefill = true
[architecture]
kind = "omega"
[[architecture.schedulers]]
name = "batch"
classes = ["batch"]
count = 2
policy = { kind = "batch", t_job_us = 10_000, t_task_us = 500, choices = 2 }
[[architecture.schedulers]]
name = "service"
classes = ["service"]
policy = { kind = "service", t_job_us = 100_000, t_task_us = 5_000, candidate_limit = 20 }
[timing]
retry_delay_us = 1_000_000
max_attempts = 100
[failures]
machine_mtbf_us = 3_600_000_000
rack_probability = 0.1
"#;

/// Values a user might type by mistake, of every TOML type.
const VALUES: [&str; 16] = [
    "0",
    "1",
    "-1",
    "0.0",
    "-0.5",
    "1e308",
    "18446744073709551615",
    "4294967296",
    "9_999_999_999",
    "\"x\"",
    "\"two-level\"",
    "\"monolithic-single-path\"",
    "nan",
    "[]",
    "{}",
    "true",
];

#[derive(Clone, Debug)]
enum Mutation {
    /// Replace the value of line `line` (if it has `key = value`) with `VALUES[value]`.
    Value {
        line: usize,
        value: usize,
    },
    Drop(usize),
    Repeat(usize),
    Unknown(usize),
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for m in mutations {
        let n = lines.len().max(1);
        match *m {
            Mutation::Value { line, value } => {
                let i = line % n;
                if let Some((key, _)) = lines[i].split_once(" = ") {
                    lines[i] = format!("{key} = {}", VALUES[value % VALUES.len()]);
                }
            }
            Mutation::Drop(line) if !lines.is_empty() => {
                lines.remove(line % n);
            }
            Mutation::Repeat(line) if !lines.is_empty() => {
                let l = lines[line % n].clone();
                lines.insert(line % n, l);
            }
            Mutation::Unknown(line) => lines.insert(line % (n + 1), "bogus_key = 1".to_owned()),
            _ => {}
        }
    }
    lines.join("\n")
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<usize>(), any::<usize>()).prop_map(|(line, value)| Mutation::Value { line, value }),
        1 => any::<usize>().prop_map(Mutation::Drop),
        1 => any::<usize>().prop_map(Mutation::Repeat),
        1 => any::<usize>().prop_map(Mutation::Unknown),
    ]
}

/// The base experiment parses and runs: the mutations start from something valid.
#[test]
fn the_base_experiment_runs() {
    let e = Experiment::from_toml(BASE).unwrap();
    let mut rec = CountingRecorder::default();
    let mut sim = Simulation::new(e.sim_config(), build_input(&e).unwrap(), &mut rec).unwrap();
    sim.run_until(600_000_000);
    sim.check_conservation().unwrap();
    let tasks = sim.summary().tasks;
    assert!(tasks.finished > 0 && tasks.running > 0, "{tasks:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_experiments_are_errors_or_runs(mutations in prop::collection::vec(mutation(), 1..4)) {
        let text = mutate(BASE, &mutations);
        let Ok(e) = Experiment::from_toml(&text) else {
            return Ok(());
        };
        // Big cells are valid but slow to build: the point here is the small ones.
        let small = e.cluster.spec().machines.is_none_or(|m| m <= 2_000);
        if !small {
            return Ok(());
        }
        let Ok(input) = build_input(&e) else {
            return Ok(());
        };
        let mut rec = CountingRecorder::default();
        let Ok(mut sim) = Simulation::new(e.sim_config(), input, &mut rec) else {
            return Ok(());
        };
        // A machine failing every few microseconds is valid but makes billions of events:
        // such runs get one simulated second.
        let frantic = e.failures.machine_mtbf_us.is_some_and(|m| m < 60_000_000);
        let until_us = if frantic { 1_000_000 } else { 600_000_000 };
        sim.run_until(e.horizon_us.min(until_us));
        prop_assert_eq!(sim.check_conservation(), Ok(()), "{}", text);
    }
}
