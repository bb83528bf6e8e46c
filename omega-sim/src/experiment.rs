//! An experiment as one TOML file: cluster, workload, architecture, schedulers, timing,
//! failures, horizon and seed; and the functions that turn it into a run.
//!
//! ```toml
//! seed = 42
//! horizon_us = 86_400_000_000          # one simulated day
//!
//! [cluster]                            # a preset and a size ...
//! preset = "seed"                      # "seed" (A/B/C 50/30/20) or "uniform"
//! machines = 1_000
//! # ... or explicit machine types (see omega-workload's ClusterSpec):
//! # machines_per_rack = 40
//! # [[cluster.types]]  name = "A"  cpu_cores = 8  mem_gib = 16  fraction = 1.0
//! versions = "every-change"            # what bumps a machine's version (coarse conflicts):
//!                                      # "claims" (the paper's), "claims-and-releases",
//!                                      # "every-change" (default)
//!
//! [workload]
//! preset = "seed"                      # "seed" or "uniform", or give `classes` yourself
//! load = 0.7                           # scale arrival rates to this bottleneck utilisation
//! prefill = true                       # start with long-running jobs in place (default)
//! # ... or replay a trace (then `load`, `classes` and `total_mean_interarrival_s` are errors):
//! # trace = "swf"                      # "google-2011", "alibaba-gpu-2023" or "swf"
//! # path = "../shared/traces/swf"      # its file or folder
//! # arrival_scale = 2.0                # inter-arrival times divided by 2 (twice the rate)
//!
//! [architecture]
//! kind = "omega"                       # or "monolithic-single-path", "monolithic-multi-path", "two-level"
//! [[architecture.schedulers]]
//! name = "batch"
//! classes = ["batch"]
//! policy = { kind = "batch" }
//!
//! [timing]                             # defaults: the Omega paper's
//! retry_delay_us = 1_000_000
//!
//! [failures]
//! machine_mtbf_us = 2_592_000_000_000  # 30 days per machine
//! ```
//!
//! Unknown keys are errors that name the key and its line. Values are checked before
//! anything is built: the schedulers' classes against the workload's (a class no job has,
//! a job class no scheduler takes, a class two schedulers take are errors), `count` only
//! with Omega, the cell's size (at most [`omega_workload::MAX_MACHINES`]) and the horizon
//! (at most [`crate::MAX_HORIZON_US`]).
//!
//! *Presets and your own classes.* `[workload] preset` gives the classes, `load` and
//! `total_mean_interarrival_s` of `configs/<preset>.toml`. Classes of your own replace the
//! preset's workload whole: the preset's `load` and `total_mean_interarrival_s` do not
//! carry over, so your classes arrive as written unless you set `load` (or
//! `total_mean_interarrival_s`) yourself.

use omega_core::VersionPolicy;
use omega_workload::trace::{TraceFormat, TraceOptions};
use omega_workload::{ClassSpec, ClusterSpec, MachineType, WorkloadSpec};
use serde::{Deserialize, Serialize};

use crate::config::{ArchitectureConfig, FailureConfig, SimConfig, TimingConfig};
use crate::engine::{SimInput, Simulation};
use crate::recorder::Recorder;
use crate::{SimError, SimSummary};

mod input;

pub use input::{
    BuiltInput, InputDescription, InputErrors, MAX_ARRIVAL_SCALE, MIN_ARRIVAL_SCALE, MachineKind,
    TraceCounts,
};

/// Which built-in preset a cluster or workload starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The seed's (`configs/seed.toml`).
    #[default]
    Seed,
    /// `configs/uniform.toml`.
    Uniform,
}

impl Preset {
    /// The preset's cluster and workload, from the embedded `configs/*.toml`.
    fn config(self) -> omega_workload::WorkloadConfig {
        match self {
            Preset::Seed => omega_workload::WorkloadConfig::seed(),
            Preset::Uniform => omega_workload::WorkloadConfig::uniform(),
        }
    }
}

/// The `[cluster]` table: a preset with a size, or explicit machine types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The preset to start from (default `seed`).
    #[serde(default)]
    pub preset: Preset,
    /// Total machines (default: the preset's).
    #[serde(default)]
    pub machines: Option<u32>,
    /// Machines per rack (default 40).
    #[serde(default)]
    pub machines_per_rack: Option<u32>,
    /// Machine types replacing the preset's.
    #[serde(default)]
    pub types: Option<Vec<MachineType>>,
    /// Which changes bump a machine's version, and so break a coarse-grained claim:
    /// `"claims"` (the Omega paper's simulator: a task that ends does not),
    /// `"claims-and-releases"` or `"every-change"` (the default). Applied to the cell the
    /// run builds, generated or a trace's.
    #[serde(default)]
    pub versions: VersionPolicy,
}

impl ClusterConfig {
    /// The cluster spec this table describes.
    pub fn spec(&self) -> ClusterSpec {
        let mut spec = self.preset.config().cluster;
        if let Some(types) = &self.types {
            spec.types = types.clone();
        }
        if self.machines.is_some() {
            spec.machines = self.machines;
        }
        if let Some(per_rack) = self.machines_per_rack {
            spec.machines_per_rack = per_rack;
        }
        spec
    }
}

/// The `[workload]` table: a preset or explicit classes, a load target, prefill — or a
/// trace to replay (`trace = "swf"`, `path = "..."`, optional `arrival_scale` and
/// `[workload.options]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Replay this trace format instead of generating jobs.
    #[serde(default)]
    pub trace: Option<TraceFormat>,
    /// The trace's file or folder (with `trace`).
    #[serde(default)]
    pub path: Option<std::path::PathBuf>,
    /// Trace loading options (with `trace`). SWF and Alibaba traces build their own cell
    /// (`options.machine_size` overrides an SWF node's size); a Google trace runs on the
    /// experiment's `[cluster]`, whose largest machine its normalised requests are
    /// scaled to unless `options.machine_size` says otherwise.
    #[serde(default)]
    pub options: Option<TraceOptions>,
    /// With `trace`: divides the trace's inter-arrival times (submit times, counted from
    /// the trace's start) by this factor, as the Omega paper scaled batch arrival rates:
    /// 2 submits the same jobs twice as fast, 0.5 half as fast. Durations, requests and
    /// the jobs running at the start are unchanged. Default 1; allowed
    /// [`MIN_ARRIVAL_SCALE`] to [`MAX_ARRIVAL_SCALE`], applied to 6 decimal places in
    /// integer arithmetic. (`load` is for generated workloads only.)
    #[serde(default)]
    pub arrival_scale: Option<f64>,
    /// The preset to start from (default `seed`).
    #[serde(default)]
    pub preset: Preset,
    /// Target utilisation of the bottleneck resource (see `omega_workload::Calibration`).
    #[serde(default)]
    pub load: Option<f64>,
    /// Start with long-running jobs already placed (default true).
    #[serde(default = "yes")]
    pub prefill: bool,
    /// Job classes replacing the preset's.
    #[serde(default)]
    pub classes: Option<Vec<ClassSpec>>,
    /// Mean time between jobs of all `share` classes together, in seconds.
    #[serde(default)]
    pub total_mean_interarrival_s: Option<f64>,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            trace: None,
            path: None,
            options: None,
            arrival_scale: None,
            preset: Preset::Seed,
            load: None,
            prefill: true,
            classes: None,
            total_mean_interarrival_s: None,
        }
    }
}

fn yes() -> bool {
    true
}

impl WorkloadConfig {
    /// The workload spec this table describes: the preset's, or — with `classes` — those
    /// classes alone, without the preset's `load` and `total_mean_interarrival_s`; then
    /// this table's `load` and `total_mean_interarrival_s` where given.
    pub fn spec(&self) -> WorkloadSpec {
        let mut spec = self.preset.config().workload;
        if let Some(classes) = &self.classes {
            spec = WorkloadSpec {
                load: None,
                total_mean_interarrival_s: None,
                classes: classes.clone(),
            };
        }
        if self.load.is_some() {
            spec.load = self.load;
        }
        if self.total_mean_interarrival_s.is_some() {
            spec.total_mean_interarrival_s = self.total_mean_interarrival_s;
        }
        spec
    }
}

/// One experiment: everything a run needs, as read from TOML.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// The seed of every random stream (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Simulated time to run, in µs (at most [`crate::MAX_HORIZON_US`]).
    pub horizon_us: u64,
    /// The cell.
    #[serde(default)]
    pub cluster: ClusterConfig,
    /// The jobs.
    #[serde(default)]
    pub workload: WorkloadConfig,
    /// The architecture and its schedulers.
    pub architecture: ArchitectureConfig,
    /// Retries, abandonment, sampling.
    #[serde(default)]
    pub timing: TimingConfig,
    /// Machine failures.
    #[serde(default)]
    pub failures: FailureConfig,
}

impl Experiment {
    /// Parses and checks an experiment. Errors name the key and line (TOML) or the field
    /// and why (values).
    pub fn from_toml(text: &str) -> Result<Self, SimError> {
        let experiment: Experiment = toml::from_str(text)?;
        experiment.validate()?;
        Ok(experiment)
    }

    /// Checks everything that can be checked without building the cell or reading a
    /// trace ([`Experiment::from_toml`] calls it; call it again after editing fields).
    pub fn validate(&self) -> Result<(), SimError> {
        let sim = self.sim_config();
        sim.validate()?;
        let cluster = self.cluster.spec();
        cluster.validate()?;
        let w = &self.workload;
        match (&w.trace, &w.path) {
            (None, None) => {
                input::refuse_trace_keys(w)?;
                let spec = w.spec();
                spec.validate(&cluster)?;
                sim.validate_classes(
                    spec.classes.iter().map(|c| c.name.as_str()),
                    "the workload's",
                )
            }
            (Some(_), Some(_)) => input::validate_trace_keys(w),
            _ => Err(SimError::Config {
                field: "workload.trace".to_owned(),
                reason: "a trace needs both `trace` (its format) and `path`".to_owned(),
            }),
        }
    }

    /// The engine's part of the experiment.
    pub fn sim_config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            horizon_us: self.horizon_us,
            architecture: self.architecture.clone(),
            timing: self.timing.clone(),
            failures: self.failures.clone(),
        }
    }
}

/// Builds the cell (under the `[cluster]` table's version policy), prefill and job stream
/// of an experiment ([`build`] without the description). A trace's stream ends at a read
/// error met during the run; to learn of it, use [`build`] and check
/// [`BuiltInput::errors`] after the run, as [`run_experiment`] does.
pub fn build_input(experiment: &Experiment) -> Result<SimInput, SimError> {
    build(experiment).map(|built| built.input)
}

/// Builds the cell, prefill and job stream of an experiment, with a description of what
/// was built (the cell and where it came from, a trace's counts).
pub fn build(experiment: &Experiment) -> Result<BuiltInput, SimError> {
    experiment.validate()?;
    let cluster = experiment.cluster.spec();
    let versions = experiment.cluster.versions;
    if let (Some(format), Some(path)) = (experiment.workload.trace, &experiment.workload.path) {
        let mut built = input::trace_input(experiment, &cluster, format, path)?;
        built.input.cell = built.input.cell.with_version_policy(versions);
        return Ok(built);
    }
    let spec = experiment.workload.spec();
    let cell = cluster.build()?.with_version_policy(versions);
    let workload = spec.generate(&cluster, experiment.seed, experiment.horizon_us)?;
    let prefill = if experiment.workload.prefill {
        workload
            .prefill
            .into_iter()
            .map(|p| (p.job, Some(p.remaining_us)))
            .collect()
    } else {
        Vec::new()
    };
    let input = SimInput {
        cell,
        prefill,
        jobs: Box::new(workload.stream),
    };
    let description = InputDescription::of(&input, "the experiment's [cluster]", None);
    Ok(BuiltInput {
        input,
        description,
        errors: InputErrors::default(),
    })
}

/// Runs an experiment to its horizon, reporting to `recorder`; a trace that could not be
/// read to the end during the run is an error ([`InputErrors::check`]).
pub fn run_experiment<R: Recorder>(
    experiment: &Experiment,
    recorder: &mut R,
) -> Result<SimSummary, SimError> {
    let built = build(experiment)?;
    let sim = Simulation::new(experiment.sim_config(), built.input, recorder)?;
    let summary = sim.run();
    built.errors.check()?;
    Ok(summary)
}
