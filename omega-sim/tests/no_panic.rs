//! Bad input never panics: experiment TOMLs with values replaced, lines dropped or repeated
//! and unknown keys added either fail with an error or build and run (for a short while)
//! with every task accounted for.
//!
//! Three base experiments together hold every key an experiment has: a preset workload on
//! an explicit cell with failures, heartbeats, recovery and timing ([`BASE`]); classes of
//! one's own with every class key, MapReduce and two-level ([`CLASSES`]); a trace replay
//! with every trace option ([`trace_base`]). The property test counts how many mutated
//! cases reached the engine and ran, and asserts that at least a third did (a test whose
//! cases all end as parse errors would test nothing): with its fixed seed, 100 of its 256
//! cases run a simulation (155 are TOML or config errors, 1 fails to build). The counts
//! are printed on the terminal.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::sync::atomic::{AtomicU64, Ordering};

use omega_sim::{CountingRecorder, Experiment, Simulation, build_input};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// A preset workload on explicit machine types, Omega with copies, every timing and
/// failure key.
const BASE: &str = r#"seed = 7
horizon_us = 600_000_000
[cluster]
preset = "seed"
machines = 60
machines_per_rack = 20
versions = "claims"
[[cluster.types]]
name = "A"
cpu_cores = 8
mem_gib = 16
fraction = 0.7
[[cluster.types]]
name = "G"
cpu_cores = 16
mem_gib = 64
gpus = 2
gpu_model = "T4"
labels = ["ssd"]
count = 6
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
policy = { kind = "batch", t_job_us = 10_000, t_task_us = 500, placement = "power-of-choices", choices = 2, conflicts = "fine", commit = "incremental" }
[[architecture.schedulers]]
name = "service"
classes = ["service"]
policy = { kind = "service", t_job_us = 100_000, t_task_us = 5_000, candidate_limit = 20, candidate_percent = 10, device_choice = "best-fit", fragmentation_sizes_milli = [500, 1000], preemption = true, weights = { fit = 1, balance = 1, spread = 1, gpu_keep_free = 1, gpu_fragmentation = 1 }, conflicts = "coarse", commit = "gang" }
[timing]
retry_delay_us = 1_000_000
max_attempts_without_progress = 50
max_attempts = 100
sample_interval_us = 60_000_000
[failures]
machine_mtbf_us = 3_600_000_000
rack_probability = 0.1
heartbeat_interval_us = 1_000_000
heartbeat_timeout_us = 10_000_000
recovery_min_us = 60_000_000
recovery_max_us = 600_000_000
scripted = [{ at_us = 60_000_000, machine = 3 }, { at_us = 120_000_000, rack = 1 }]
"#;

/// Classes of one's own with every class key (GPUs, constraints, dependencies, users,
/// prefill, MapReduce, shares of a total rate), on the uniform preset, two-level.
const CLASSES: &str = r#"seed = 3
horizon_us = 600_000_000
[cluster]
preset = "uniform"
machines = 40
versions = "claims-and-releases"
[workload]
preset = "uniform"
load = 0.5
total_mean_interarrival_s = 5
prefill = true
[[workload.classes]]
name = "batch"
arrivals = { share = { share = 0.8 } }
tasks = { lognormal = { mean = 4, std = 8 } }
duration_s = { exponential = { mean = 120 } }
cpu_cores = { normal = { mean = 1, std = 0.5, min = 0.1, max = 4 } }
mem_gib = { uniform = { min = 0.5, max = 4 } }
gpu = { probability = 0.0, per_task = { constant = 1 } }
priority = 1
gang = false
constraints = { one_task_per_machine = true, spread_over_domains = 2, required_labels = [], required_any_labels = [] }
dependencies = { probability = 0.2, on_class = "batch", max_jobs = 2, window = 10 }
users = { count = 10, zipf_s = 1.0, first = 0 }
prefill = false
[[workload.classes]]
name = "mr"
arrivals = { share = { share = 0.2 } }
tasks = { choice = { values = [5, 11], weights = [1, 1] } }
cpu_cores = { constant = 1 }
mem_gib = { empirical = { points = [[1, 0.5], [2, 1.0]] } }
mapreduce = { total_work_s = { constant = 600 } }
prefill = true
prefill_window_s = 3600
[[workload.classes]]
name = "service"
arrivals = { constant = { interval_s = 120 } }
tasks = { constant = 2 }
duration_s = { constant = 3600 }
cpu_cores = { constant = 2 }
mem_gib = { constant = 4 }
priority = 100
[architecture]
kind = "two-level"
allocation_interval_us = 1_000_000
[[architecture.schedulers]]
name = "batch"
classes = ["batch", "service"]
policy = { kind = "batch" }
[[architecture.schedulers]]
name = "mr"
classes = ["mr"]
policy = { kind = "mapreduce", t_job_us = 10_000, t_task_us = 500, policy = "global-cap", global_cap_percent = 60, max_worker_factor = 4, efficiency_percent = 90, min_work_per_worker_us = 1_000_000, conflicts = "fine", commit = "incremental" }
"#;

/// A replay of the SWF fixture with every trace option, monolithic multi-path.
fn trace_base() -> String {
    let swf = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../omega-workload/tests/data/small.swf");
    format!(
        r#"seed = 5
horizon_us = 600_000_000
[workload]
trace = "swf"
path = {path:?}
arrival_scale = 1.5
prefill = true
[workload.options]
lenient = false
horizon_us = 500_000_000
machine_size = {{ cpu_milli = 4_000, mem_mib = 8_192 }}
node_count = 4
service_min_priority = 9
service_min_scheduling_class = 2
[architecture]
kind = "monolithic-multi-path"
[[architecture.schedulers]]
name = "all"
policy = {{ kind = "batch" }}
"#,
        path = swf.display().to_string()
    )
}

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
    /// Replace a number on line `line` with a nearby one of the same type (0, 1, half,
    /// double, ten times): mostly valid, so the case reaches the engine with odd values.
    Nudge {
        line: usize,
        how: usize,
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
            Mutation::Nudge { line, how } => {
                let i = line % n;
                if let Some((key, value)) = lines[i].split_once(" = ") {
                    if let Some(v) = nudge(value, how) {
                        lines[i] = format!("{key} = {v}");
                    }
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

/// A number near `value` (an integer stays an integer), or `None` if it is not a number.
fn nudge(value: &str, how: usize) -> Option<String> {
    let plain = value.replace('_', "");
    if let Ok(v) = plain.parse::<u64>() {
        let options = [0, 1, v / 2, v.saturating_mul(2), v.saturating_mul(10)];
        return Some(options[how % options.len()].to_string());
    }
    let v = plain.parse::<f64>().ok()?;
    let options = [0.0, 1.0, v / 2.0, v * 2.0, v * 10.0];
    Some(format!("{:?}", options[how % options.len()]))
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), any::<usize>()).prop_map(|(line, value)| Mutation::Value { line, value }),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(line, how)| Mutation::Nudge { line, how }),
        1 => any::<usize>().prop_map(Mutation::Drop),
        1 => any::<usize>().prop_map(Mutation::Repeat),
        1 => any::<usize>().prop_map(Mutation::Unknown),
    ]
}

fn bases() -> [String; 3] {
    [BASE.to_owned(), CLASSES.to_owned(), trace_base()]
}

/// Events a mutated run may take: a value such as `sample_interval_us = 1` or a machine
/// failing every few microseconds is valid but makes billions of events.
const EVENT_BUDGET: u64 = 200_000;

/// Runs an experiment for up to 600 simulated seconds, in 100 ms steps, stopping once
/// it has taken [`EVENT_BUDGET`] events; then checks that every task is accounted for.
fn run_briefly(e: &Experiment, input: omega_sim::SimInput) -> Option<Result<(), String>> {
    let mut rec = CountingRecorder::default();
    let mut sim = Simulation::new(e.sim_config(), input, &mut rec).ok()?;
    let until_us = e.horizon_us.min(600_000_000);
    let mut at_us = 0;
    while at_us < until_us && sim.summary().events < EVENT_BUDGET {
        at_us = (at_us + 100_000).min(until_us);
        sim.run_until(at_us);
    }
    Some(sim.check_conservation().map_err(|e| format!("{e:?}")))
}

/// Each base experiment parses, builds and runs, with tasks finished and running.
#[test]
fn the_base_experiments_run() {
    for text in bases() {
        let e = Experiment::from_toml(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
        let mut rec = CountingRecorder::default();
        let input = build_input(&e).unwrap_or_else(|err| panic!("{err}\n{text}"));
        let mut sim = Simulation::new(e.sim_config(), input, &mut rec).unwrap();
        sim.run_until(600_000_000);
        sim.check_conservation().unwrap();
        let tasks = sim.summary().tasks;
        assert!(tasks.finished + tasks.running > 0, "{tasks:?}\n{text}");
    }
}

/// Where the mutated cases ended.
#[derive(Default)]
struct Outcomes {
    parse_errors: AtomicU64,
    build_errors: AtomicU64,
    ran: AtomicU64,
}

#[test]
fn mutated_experiments_are_errors_or_runs() {
    const CASES: u32 = 256;
    let bases = bases();
    let outcomes = Outcomes::default();
    // A fixed seed: the same cases every run, so the share that ran is a stable figure.
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let config = Config {
        failure_persistence: None,
        ..Config::with_cases(CASES)
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = (0..bases.len(), prop::collection::vec(mutation(), 1..3));
    let result = runner.run(&strategy, |(base, mutations)| {
        let text = mutate(&bases[base], &mutations);
        let Ok(e) = Experiment::from_toml(&text) else {
            outcomes.parse_errors.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        // Big cells are valid but slow to build: the point here is the small ones.
        if e.cluster.spec().machines.is_some_and(|m| m > 2_000) {
            outcomes.build_errors.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let ran = build_input(&e)
            .ok()
            .and_then(|input| run_briefly(&e, input));
        match ran {
            None => outcomes.build_errors.fetch_add(1, Ordering::Relaxed),
            Some(conserved) => {
                prop_assert_eq!(conserved, Ok(()), "{}", text);
                outcomes.ran.fetch_add(1, Ordering::Relaxed)
            }
        };
        Ok(())
    });
    result.unwrap();
    let (parse, build, ran) = (
        outcomes.parse_errors.into_inner(),
        outcomes.build_errors.into_inner(),
        outcomes.ran.into_inner(),
    );
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "no_panic: {ran} of {} mutated experiments ran a simulation \
             ({parse} were TOML or config errors, {build} failed to build or were too big)",
            parse + build + ran
        );
    }
    assert_eq!(parse + build + ran, u64::from(CASES));
    assert!(
        ran * 3 >= u64::from(CASES),
        "only {ran} of {CASES} cases reached the engine: the mutations mostly test the parser"
    );
}
