//! What an experiment's input is built from, and a description of it: the trace keys of
//! `[workload]` and their checks, the input of a trace replay (the trace's own cell or the
//! experiment's, `arrival_scale`), and [`InputDescription`], which says what cell was
//! built and what the trace held, for summaries and reports.
//!
//! A trace's jobs are streamed into the simulation ([`omega_workload::trace::open`]):
//! the replay holds the jobs alive, not the trace. The loader checks every line before
//! the run starts, so a bad line is an error from [`super::build`]; a read failure in the
//! stream's second pass (the file changed or became unreadable during the run) ends the
//! stream and is kept in [`InputErrors`], which the runner checks after the run, failing
//! it with the file and line ([`InputErrors::check`]).

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use omega_core::{Job, Resources};
use omega_workload::ClusterSpec;
use omega_workload::trace::{MachineSize, TraceError, TraceFormat, TraceStream};

use super::{Experiment, WorkloadConfig};
use crate::SimError;
use crate::engine::SimInput;

/// The smallest `arrival_scale` (a thousand times slower).
pub const MIN_ARRIVAL_SCALE: f64 = 1e-3;
/// The largest `arrival_scale` (a thousand times faster).
pub const MAX_ARRIVAL_SCALE: f64 = 1e3;

/// An experiment's input and what it was built from.
#[derive(Debug)]
pub struct BuiltInput {
    /// The cell, prefill and jobs, ready for [`crate::Simulation::new`].
    pub input: SimInput,
    /// What was built.
    pub description: InputDescription,
    /// Where a trace stream puts a read error met during the run: check it after the run.
    pub errors: InputErrors,
}

/// A read error a trace stream met during the run (shared by the stream and the runner):
/// the stream ends there, and [`check`](InputErrors::check) turns it into the run's error.
/// Always empty for a generated workload.
#[derive(Clone, Debug, Default)]
pub struct InputErrors(Arc<Mutex<Option<TraceError>>>);

impl InputErrors {
    /// `Err` naming the trace's file and line if the stream stopped at a read error: the
    /// run saw only the jobs before it, so its results must not be used.
    pub fn check(&self) -> Result<(), SimError> {
        let slot = match self.0.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        match &*slot {
            None => Ok(()),
            Some(e) => Err(config_error(
                "workload.path",
                format!("the trace could not be read to the end during the run: {e}"),
            )),
        }
    }

    /// Keeps the first error.
    fn record(&self, error: TraceError) {
        let mut slot = match self.0.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        slot.get_or_insert(error);
    }
}

/// A trace's jobs as the simulation pulls them: arrivals scaled, a read error kept in
/// `errors` (and the stream ended there).
struct ReplayJobs {
    stream: TraceStream,
    /// `arrival_scale` × 10⁶, rounded.
    scale_per_million: u128,
    errors: InputErrors,
}

impl Iterator for ReplayJobs {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        match self.stream.next()? {
            Ok(mut job) => {
                job.submit_at_us = scaled_arrival(job.submit_at_us, self.scale_per_million);
                Some(job)
            }
            Err(e) => {
                self.errors.record(e);
                None
            }
        }
    }
}

/// Machines of one type and size, as [`InputDescription`] groups them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineKind {
    /// The machine type's name.
    pub type_name: String,
    /// How many machines of it.
    pub count: u64,
    /// One machine's capacity.
    pub capacity: Resources,
}

/// What a trace held besides its jobs: the counts a replay must report, not lose.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceCounts {
    /// The format read.
    pub format: TraceFormat,
    /// Jobs submitted during the replay (prefill not included).
    pub jobs: u64,
    /// Their tasks.
    pub tasks: u64,
    /// Google: the machine size the normalised requests were scaled to; SWF: the node
    /// size given by `options.machine_size` (else `None`: the header's).
    pub machine_size: Option<MachineSize>,
    /// The `arrival_scale` applied (1 when not given).
    pub arrival_scale: f64,
    /// Malformed lines skipped (lenient mode).
    pub skipped_lines: u64,
    /// Well-formed records that could not become jobs.
    pub dropped_jobs: u64,
    /// Tasks running at the trace's start, whose durations are lower bounds.
    pub censored_tasks: u64,
    /// Tasks replayed with duration 0.
    pub zero_duration_tasks: u64,
}

/// What [`super::build`] made: the cell and where it came from, the prefill, and a
/// trace's counts. `Display` writes it as a few lines for a run's summary.
#[derive(Clone, Debug, PartialEq)]
pub struct InputDescription {
    /// Where the cell came from, e.g. `"the experiment's [cluster]"` or
    /// `"the trace's SWF header"`.
    pub cell_source: String,
    /// Machines in the cell.
    pub machines: u64,
    /// The machines grouped by type and size, in order of first appearance.
    pub kinds: Vec<MachineKind>,
    /// The cell's total capacity (saturating).
    pub capacity: Resources,
    /// Jobs placed before time 0 (running at the start).
    pub prefill_jobs: u64,
    /// Their tasks.
    pub prefill_tasks: u64,
    /// What those tasks ask for together (saturating): set against `capacity`, it says
    /// whether the prefill can fit at all.
    pub prefill_requested: Resources,
    /// The trace's counts, for a replay.
    pub trace: Option<TraceCounts>,
}

impl InputDescription {
    /// Describes `input`, whose cell came from `cell_source`.
    pub fn of(input: &SimInput, cell_source: &str, trace: Option<TraceCounts>) -> Self {
        let mut kinds: Vec<MachineKind> = Vec::new();
        let mut capacity = Resources::ZERO;
        for m in input.cell.machines() {
            let spec = &m.spec;
            capacity = capacity.checked_add(&spec.capacity).unwrap_or(capacity);
            let same =
                |k: &MachineKind| k.type_name == spec.type_name && k.capacity == spec.capacity;
            match kinds.iter_mut().find(|k| same(k)) {
                Some(kind) => kind.count += 1,
                None => kinds.push(MachineKind {
                    type_name: spec.type_name.clone(),
                    count: 1,
                    capacity: spec.capacity,
                }),
            }
        }
        let prefill_requested = input.prefill.iter().fold(Resources::ZERO, |acc, (j, _)| {
            let job = j
                .task_resources
                .checked_mul(u64::from(j.tasks))
                .unwrap_or(acc);
            acc.checked_add(&job).unwrap_or(acc)
        });
        Self {
            cell_source: cell_source.to_owned(),
            machines: input.cell.machine_count() as u64,
            kinds,
            capacity,
            prefill_jobs: input.prefill.len() as u64,
            prefill_tasks: input.prefill.iter().map(|(j, _)| u64::from(j.tasks)).sum(),
            prefill_requested,
            trace,
        }
    }
}

fn resources(r: &Resources) -> String {
    format!(
        "{} cpu_milli, {} gpu_milli, {} mem_mib",
        r.cpu_milli, r.gpu_milli, r.mem_mib
    )
}

impl fmt::Display for InputDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|k| format!("{} × {} ({})", k.count, k.type_name, resources(&k.capacity)))
            .collect();
        writeln!(
            f,
            "cell: {} machines from {}: {}; total {}",
            self.machines,
            self.cell_source,
            kinds.join(", "),
            resources(&self.capacity)
        )?;
        let percent = |asked: u64, have: u64| asked as f64 * 100.0 / have.max(1) as f64;
        writeln!(
            f,
            "prefill: {} jobs, {} tasks, asking {} ({:.1}% of the cell's CPU, {:.1}% of its \
             memory)",
            self.prefill_jobs,
            self.prefill_tasks,
            resources(&self.prefill_requested),
            percent(self.prefill_requested.cpu_milli, self.capacity.cpu_milli),
            percent(self.prefill_requested.mem_mib, self.capacity.mem_mib)
        )?;
        if let Some(t) = &self.trace {
            let size = t
                .machine_size
                .map(|m| {
                    format!(
                        ", machine size {} cpu_milli, {} mem_mib",
                        m.cpu_milli, m.mem_mib
                    )
                })
                .unwrap_or_default();
            writeln!(
                f,
                "trace: {}, {} jobs ({} tasks), arrival scale {}{size}; {} lines skipped, \
                 {} records dropped, {} tasks censored (running at the start: durations are \
                 lower bounds), {} tasks of duration 0",
                t.format,
                t.jobs,
                t.tasks,
                t.arrival_scale,
                t.skipped_lines,
                t.dropped_jobs,
                t.censored_tasks,
                t.zero_duration_tasks
            )?;
        }
        Ok(())
    }
}

fn config_error(field: &str, reason: impl Into<String>) -> SimError {
    SimError::Config {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A generated workload: the trace-only keys are errors.
pub(super) fn refuse_trace_keys(w: &WorkloadConfig) -> Result<(), SimError> {
    if w.arrival_scale.is_some() {
        return Err(config_error(
            "workload.arrival_scale",
            "is for trace replays (with `trace` and `path`); a generated workload's rate is \
             set with `load` or the classes' `arrivals`",
        ));
    }
    if w.options.is_some() {
        return Err(config_error(
            "workload.options",
            "are trace loading options: give them with `trace` and `path`",
        ));
    }
    Ok(())
}

/// A trace replay: the generator's keys are errors, `arrival_scale` is in range.
pub(super) fn validate_trace_keys(w: &WorkloadConfig) -> Result<(), SimError> {
    if w.load.is_some() {
        return Err(config_error(
            "workload.load",
            "is for generated workloads; a trace's jobs arrive at the trace's times: use \
             `arrival_scale` (e.g. 2.0 halves every inter-arrival time)",
        ));
    }
    if w.classes.is_some() {
        return Err(config_error(
            "workload.classes",
            "are for generated workloads; a trace brings its own jobs (remove `classes`, \
             or `trace` and `path`)",
        ));
    }
    if w.total_mean_interarrival_s.is_some() {
        return Err(config_error(
            "workload.total_mean_interarrival_s",
            "is for generated workloads; a trace's rate is changed with `arrival_scale`",
        ));
    }
    if let Some(scale) = w.arrival_scale {
        if !(MIN_ARRIVAL_SCALE..=MAX_ARRIVAL_SCALE).contains(&scale) {
            return Err(config_error(
                "workload.arrival_scale",
                format!(
                    "must be a number from {MIN_ARRIVAL_SCALE} to {MAX_ARRIVAL_SCALE} (2.0 \
                     submits the trace's jobs twice as fast), got {scale}"
                ),
            ));
        }
    }
    Ok(())
}

/// A submit time divided by `arrival_scale` (given × 10⁶, to 6 decimal places, in
/// integers), so every inter-arrival time is divided by it; the order is kept.
fn scaled_arrival(submit_at_us: u64, scale_per_million: u128) -> u64 {
    let scaled = u128::from(submit_at_us) * 1_000_000 / scale_per_million.max(1);
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

/// The job classes a trace can have: Google's two, or those its jobs carry.
fn trace_classes(format: TraceFormat, trace: &TraceStream) -> BTreeSet<String> {
    match format {
        TraceFormat::Google2011 => ["batch", "service"].map(str::to_owned).into(),
        _ => trace.classes.clone(),
    }
}

/// Builds the input of a trace replay: the trace's own cluster where it defines one (else
/// the experiment's), its running jobs as prefill, its jobs in submit order (scaled by
/// `arrival_scale`).
pub(super) fn trace_input(
    experiment: &Experiment,
    cluster: &ClusterSpec,
    format: TraceFormat,
    path: &Path,
) -> Result<super::BuiltInput, SimError> {
    let w = &experiment.workload;
    let mut options = w.options.clone().unwrap_or_default();
    let mut cluster_machines = None;
    if format == TraceFormat::Google2011 && options.machine_size.is_none() {
        // Normalised requests stand for the experiment's largest machine.
        let machines = cluster.machines()?;
        options.machine_size = MachineSize::largest_of(&machines);
        cluster_machines = Some(machines);
    }
    let mut trace =
        omega_workload::trace::open(path, format, &options).map_err(|e| SimError::Config {
            field: "workload.path".to_owned(),
            reason: e.to_string(),
        })?;
    let classes = trace_classes(format, &trace);
    experiment
        .sim_config()
        .validate_classes(classes.iter().map(String::as_str), "the trace's")?;
    let arrival_scale = w.arrival_scale.unwrap_or(1.0);
    let counts = TraceCounts {
        format,
        jobs: trace.job_count,
        tasks: trace.task_count,
        machine_size: options.machine_size,
        arrival_scale,
        skipped_lines: trace.skipped_lines,
        dropped_jobs: trace.dropped_jobs,
        censored_tasks: trace.censored_tasks,
        zero_duration_tasks: trace.zero_duration_tasks,
    };
    let (machines, source) = match trace.machines.take() {
        Some(machines) => {
            refuse_cluster_keys(experiment, format)?;
            (machines, trace_cell_source(format))
        }
        None => match cluster_machines {
            Some(machines) => (machines, "the experiment's [cluster]"),
            None => (cluster.machines()?, "the experiment's [cluster]"),
        },
    };
    let cell = omega_core::CellState::new(machines).map_err(|e| SimError::Config {
        field: "workload.trace".to_owned(),
        reason: format!("the trace's cluster: {e}"),
    })?;
    let prefill = if w.prefill {
        // A trace's running jobs carry each task's remaining time as its duration.
        std::mem::take(&mut trace.prefill)
            .into_iter()
            .map(|j| (j, None))
            .collect()
    } else {
        Vec::new()
    };
    let errors = InputErrors::default();
    let jobs = ReplayJobs {
        stream: trace,
        scale_per_million: (arrival_scale * 1e6).round() as u128,
        errors: errors.clone(),
    };
    let input = SimInput {
        cell,
        prefill,
        jobs: Box::new(jobs),
    };
    let description = InputDescription::of(&input, source, Some(counts));
    Ok(super::BuiltInput {
        input,
        description,
        errors,
    })
}

/// A trace that brings its own cell: `[cluster]` sizes would be ignored, so they are errors.
fn refuse_cluster_keys(experiment: &Experiment, format: TraceFormat) -> Result<(), SimError> {
    let c = &experiment.cluster;
    let key = [
        ("cluster.machines", c.machines.is_some()),
        ("cluster.machines_per_rack", c.machines_per_rack.is_some()),
        ("cluster.types", c.types.is_some()),
    ]
    .into_iter()
    .find_map(|(key, given)| given.then_some(key));
    match key {
        Some(key) => Err(config_error(
            key,
            format!(
                "this {format} trace brings its own cell ({}), which replaces [cluster]: remove \
                 it (an SWF node's size and count are `[workload.options] machine_size` and \
                 `node_count`)",
                trace_cell_source(format)
            ),
        )),
        None => Ok(()),
    }
}

/// Where a trace's own cell comes from.
fn trace_cell_source(format: TraceFormat) -> &'static str {
    match format {
        TraceFormat::Swf => "the trace's SWF header",
        TraceFormat::AlibabaGpu2023 => "the trace's node list",
        TraceFormat::Google2011 => "the trace's machine table",
    }
}
