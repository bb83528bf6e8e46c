//! The files of an experiment's output folder: `summary.json`, `results.csv`, `series.csv`
//! (all three byte-identical for the same config and seed) and `cost.json` (the simulator's
//! cost, which varies from run to run).
//!
//! `summary.json` schema (`"schema": "omega-experiment-summary/1"`):
//!
//! ```text
//! { "schema", "experiment", "description", "sweep_keys": [key],
//!   "runs": [{ "index", "run", "variant", "architecture", "machines", "seed",
//!              "point": {key: value}, "end_us", "events",
//!              "tasks": {submitted, finished, running, pending, abandoned, unschedulable, cancelled,
//!                        extra_started, extra_finished, extra_evicted, extra_running},
//!              "schedulers": [name],
//!              "metrics": [{ "scheduler", "class", "metric", "value" }] }],
//!   "aggregates": [{ "variant", "point", "scheduler", "class", "metric",
//!                    "seeds", "mean", "stddev", "min", "max" }] }
//! ```
//!
//! `aggregates` join the runs that differ only in their seed (`stddev` is the sample
//! standard deviation, 0 for one seed). `results.csv` has one number a row, with the columns
//! `experiment, run, architecture, machines, scheduler, class, metric, value`; `series.csv`
//! has `experiment, run, architecture, machines, metric, key, at_s, value`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::{MetricsError, RunOutcome};

/// The version of the `summary.json` schema.
pub const SUMMARY_SCHEMA: &str = "omega-experiment-summary/1";

/// The columns of `results.csv`.
pub const RESULTS_COLUMNS: [&str; 8] = [
    "experiment",
    "run",
    "architecture",
    "machines",
    "scheduler",
    "class",
    "metric",
    "value",
];

/// `summary.json`, as data.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// [`SUMMARY_SCHEMA`].
    pub schema: &'static str,
    /// The experiment's name.
    pub experiment: String,
    /// Its description line.
    pub description: String,
    /// The keys that vary across runs.
    pub sweep_keys: Vec<String>,
    /// Every run, in plan order.
    pub runs: Vec<RunRecord>,
    /// Runs that differ only in their seed, joined.
    pub aggregates: Vec<Aggregate>,
}

/// One run in `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// Its place in the plan.
    pub index: usize,
    /// Its id.
    pub run: String,
    /// Its variant.
    pub variant: String,
    /// Its architecture.
    pub architecture: String,
    /// Machines in its cell.
    pub machines: u32,
    /// Its seed.
    pub seed: u64,
    /// Its sweep point.
    pub point: BTreeMap<String, toml::Value>,
    /// Simulated time at the end, in µs.
    pub end_us: u64,
    /// Events processed.
    pub events: u64,
    /// Where every submitted task is.
    pub tasks: omega_sim::TaskTally,
    /// Its schedulers' names, by index.
    pub schedulers: Vec<String>,
    /// What it measured.
    pub metrics: Vec<crate::MetricValue>,
}

/// One metric over the seeds of one (variant, sweep point).
#[derive(Clone, Debug, Serialize)]
pub struct Aggregate {
    /// The variant.
    pub variant: String,
    /// The sweep point.
    pub point: BTreeMap<String, toml::Value>,
    /// The scheduler (`""`: whole run).
    pub scheduler: String,
    /// The class (`""`: all).
    pub class: String,
    /// The metric.
    pub metric: String,
    /// How many seeds had it.
    pub seeds: u32,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (0 for one seed).
    pub stddev: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Summary {
    /// The summary of an experiment's outcomes.
    pub fn new(plan: &omega_sim::ExperimentPlan, outcomes: &[RunOutcome]) -> Self {
        let runs: Vec<RunRecord> = outcomes.iter().map(run_record).collect();
        Self {
            schema: SUMMARY_SCHEMA,
            experiment: plan.name.clone(),
            description: plan.description.clone(),
            sweep_keys: plan.sweep_keys.clone(),
            aggregates: aggregates(&runs),
            runs,
        }
    }
}

fn run_record(o: &RunOutcome) -> RunRecord {
    RunRecord {
        index: o.run.index,
        run: o.run.id.clone(),
        variant: o.run.variant.clone(),
        architecture: o.architecture.clone(),
        machines: o.machines,
        seed: o.run.experiment.seed,
        point: o.run.point.iter().cloned().collect(),
        end_us: o.summary.end_us,
        events: o.summary.events,
        tasks: o.summary.tasks,
        schedulers: o
            .summary
            .schedulers
            .iter()
            .map(|s| s.name.clone())
            .collect(),
        metrics: o.metrics.values.clone(),
    }
}

type AggregateKey = (usize, String, String, String);

fn aggregates(runs: &[RunRecord]) -> Vec<Aggregate> {
    // Points in first-seen order, so aggregates follow the plan.
    let mut points: Vec<(String, BTreeMap<String, toml::Value>)> = Vec::new();
    let mut values: BTreeMap<AggregateKey, Vec<f64>> = BTreeMap::new();
    for r in runs {
        let key = (r.variant.clone(), r.point.clone());
        let p = match points.iter().position(|k| *k == key) {
            Some(p) => p,
            None => {
                points.push(key);
                points.len() - 1
            }
        };
        for m in &r.metrics {
            values
                .entry((p, m.scheduler.clone(), m.class.clone(), m.metric.clone()))
                .or_default()
                .push(m.value);
        }
    }
    values
        .into_iter()
        .map(|((p, scheduler, class, metric), v)| {
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let var = if v.len() > 1 {
                v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
            } else {
                0.0
            };
            Aggregate {
                variant: points[p].0.clone(),
                point: points[p].1.clone(),
                scheduler,
                class,
                metric,
                seeds: v.len() as u32,
                mean,
                stddev: var.sqrt(),
                min: v.iter().copied().fold(f64::INFINITY, f64::min),
                max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect()
}

/// `summary.json` text.
pub fn summary_json(summary: &Summary) -> Result<String, MetricsError> {
    let mut text = serde_json::to_string_pretty(summary)?;
    text.push('\n');
    Ok(text)
}

/// `results.csv` text: one number a row.
pub fn results_csv(experiment: &str, outcomes: &[RunOutcome]) -> Result<String, MetricsError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(RESULTS_COLUMNS)?;
    for o in outcomes {
        let machines = o.machines.to_string();
        for m in &o.metrics.values {
            w.write_record([
                experiment,
                &o.run.id,
                &o.architecture,
                &machines,
                &m.scheduler,
                &m.class,
                &m.metric,
                &m.value.to_string(),
            ])?;
        }
    }
    csv_text(w)
}

/// `series.csv` text: one point a row, time in simulated seconds.
pub fn series_csv(experiment: &str, outcomes: &[RunOutcome]) -> Result<String, MetricsError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "experiment",
        "run",
        "architecture",
        "machines",
        "metric",
        "key",
        "at_s",
        "value",
    ])?;
    for o in outcomes {
        let machines = o.machines.to_string();
        for s in &o.metrics.series {
            for p in &s.points {
                w.write_record([
                    experiment,
                    &o.run.id,
                    &o.architecture,
                    &machines,
                    &s.metric,
                    &s.key,
                    &(p.at_us as f64 / 1e6).to_string(),
                    &p.value.to_string(),
                ])?;
            }
        }
    }
    csv_text(w)
}

fn csv_text(w: csv::Writer<Vec<u8>>) -> Result<String, MetricsError> {
    let bytes = w
        .into_inner()
        .map_err(|e| MetricsError::Csv(e.error().to_string()))?;
    String::from_utf8(bytes).map_err(|e| MetricsError::Csv(e.to_string()))
}

/// `cost.json`: what the simulator cost, per run and in all.
#[derive(Clone, Debug, Serialize)]
pub struct Cost {
    /// `"omega-experiment-cost/1"`.
    pub schema: &'static str,
    /// Wall time of the whole experiment, in seconds.
    pub total_wall_s: f64,
    /// Threads used (`--jobs`).
    pub jobs: usize,
    /// The process's peak resident memory, in MiB, where the platform tells it.
    pub peak_rss_mib: Option<f64>,
    /// Per run, in plan order.
    pub runs: Vec<RunCostRecord>,
}

/// One run's cost.
#[derive(Clone, Debug, Serialize)]
pub struct RunCostRecord {
    /// The run's id.
    pub run: String,
    /// Its cost.
    #[serde(flatten)]
    pub cost: crate::RunCost,
}

impl Cost {
    /// The cost record of an experiment.
    pub fn new(outcomes: &[RunOutcome], total_wall_s: f64, jobs: usize) -> Self {
        Self {
            schema: "omega-experiment-cost/1",
            total_wall_s,
            jobs,
            peak_rss_mib: peak_rss_mib(),
            runs: outcomes
                .iter()
                .map(|o| RunCostRecord {
                    run: o.run.id.clone(),
                    cost: o.cost,
                })
                .collect(),
        }
    }
}

/// The process's peak resident set (`VmHWM` in `/proc/self/status`), in MiB; `None` where
/// the platform has no such file.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Writes `text` to `dir/name`, naming the path in the error.
pub fn write_file(dir: &Path, name: &str, text: &str) -> Result<(), MetricsError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| MetricsError::Io { path, source })
}
