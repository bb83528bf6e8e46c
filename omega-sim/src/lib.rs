//! The deterministic discrete-event simulator of monolithic, two-level and Omega scheduling.
//!
//! A [`Simulation`] runs one configuration ([`SimConfig`]) on one cell and job stream
//! ([`SimInput`]), single-threaded and fully determined by its inputs and seed. It reports
//! every fact through a [`Recorder`] and returns a [`SimSummary`]. An [`Experiment`] is the
//! TOML that names a cluster, a workload and the simulation settings together.
//!
//! ```
//! use omega_sim::{CountingRecorder, Experiment, run_experiment};
//! let experiment = Experiment::from_toml(r#"
//!     seed = 7
//!     horizon_us = 600_000_000           # ten minutes
//!     [cluster]
//!     preset = "seed"
//!     machines = 50
//!     [workload]
//!     preset = "seed"
//!     [architecture]
//!     kind = "omega"
//!     [[architecture.schedulers]]
//!     name = "batch"
//!     classes = ["batch"]
//!     policy = { kind = "batch" }
//!     [[architecture.schedulers]]
//!     name = "service"
//!     classes = ["service"]
//!     policy = { kind = "service" }
//! "#)?;
//! let mut counts = CountingRecorder::default();
//! let summary = run_experiment(&experiment, &mut counts)?;
//! assert!(counts.jobs_submitted > 0);
//! assert!(summary.tasks.is_conserved());
//! # Ok::<(), omega_sim::SimError>(())
//! ```

#![deny(missing_docs)]

mod architecture;
mod arrived;
mod attempts;
mod config;
mod engine;
mod events;
mod experiment;
mod extras;
mod failures;
mod jobs;
mod monolithic;
mod omega;
mod plan;
mod prefill;
mod recorder;
mod tasks;
mod two_level;
mod world;

pub use config::{
    ArchitectureConfig, ArchitectureKind, FailureConfig, MAX_HORIZON_US, SchedulerSpec,
    ScriptedFailure, SimConfig, TimingConfig,
};
pub use engine::{SimInput, Simulation};
pub use experiment::{
    BuiltInput, ClusterConfig, Experiment, InputDescription, InputErrors, MAX_ARRIVAL_SCALE,
    MIN_ARRIVAL_SCALE, MachineKind, Preset, TraceCounts, WorkloadConfig, build, build_input,
    run_experiment,
};
pub use plan::{ExperimentPlan, PlanOptions, PlannedRun, parse_seeds, parse_set};
pub use recorder::{
    ConflictCounts, CountingRecorder, DigestRecorder, EvictReason, Fact, NullRecorder, Recorder,
    Tee,
};

/// Where every submitted task is (the conservation tally), and, apart, the extra MapReduce
/// workers (which are not tasks a job brought: they are never pending, abandoned or placed
/// again).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskTally {
    /// Tasks submitted (prefill tasks placed at time 0 included; extra workers not).
    pub submitted: u64,
    /// Tasks that ran to their end.
    pub finished: u64,
    /// Tasks running now.
    pub running: u64,
    /// Tasks not placed yet (queued, waiting for a retry or for dependencies).
    pub pending: u64,
    /// Tasks of abandoned jobs that were never placed (or lost after the job was abandoned).
    pub abandoned: u64,
    /// Tasks of jobs that fit no machine of the cell.
    pub unschedulable: u64,
    /// Tasks of jobs cancelled because a dependency failed.
    pub cancelled: u64,
    /// Extra MapReduce workers started.
    pub extra_started: u64,
    /// Extra workers that ran to their end.
    pub extra_finished: u64,
    /// Extra workers stopped early (preempted, or lost with their machine).
    pub extra_evicted: u64,
    /// Extra workers running now.
    pub extra_running: u64,
}

impl TaskTally {
    /// True if submitted = finished + running + pending + abandoned + unschedulable +
    /// cancelled, and extra workers started = finished + evicted + running.
    pub fn is_conserved(&self) -> bool {
        self.submitted
            == self.finished
                + self.running
                + self.pending
                + self.abandoned
                + self.unschedulable
                + self.cancelled
            && self.extra_started == self.extra_finished + self.extra_evicted + self.extra_running
    }
}

/// Input the engine could not use as given: counted here, never dropped silently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputTally {
    /// Prefill jobs no scheduler takes (no scheduler names their class and none takes the
    /// rest); their tasks are in `prefill_tasks_dropped`.
    pub prefill_jobs_unrouted: u64,
    /// Prefill jobs of which no task fit the cell at time 0.
    pub prefill_jobs_unplaced: u64,
    /// Prefill tasks not placed at time 0 (unrouted, or no room): they are not submitted.
    pub prefill_tasks_dropped: u64,
    /// Dependencies on jobs that had not arrived when their dependant did (a job that never
    /// comes, or one submitted later): the dependant runs as if they had finished.
    pub missing_dependencies: u64,
}

/// One scheduler's (or framework's) totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulerSummary {
    /// Its name.
    pub name: String,
    /// Scheduling attempts.
    pub attempts: u64,
    /// Attempts with at least one conflict.
    pub conflicted_attempts: u64,
    /// Simulated time spent deciding.
    pub busy_us: u64,
    /// Of that, time spent on attempts that hit a conflict.
    pub wasted_us: u64,
    /// Tasks placed.
    pub tasks_placed: u64,
    /// Conflicts by reason.
    pub conflicts: ConflictCounts,
}

impl SchedulerSummary {
    /// Share of `elapsed_us` spent deciding (the paper's busyness).
    pub fn busyness(&self, elapsed_us: u64) -> f64 {
        if elapsed_us == 0 {
            0.0
        } else {
            self.busy_us as f64 / elapsed_us as f64
        }
    }
}

/// What a run did, in totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimSummary {
    /// Simulated time at the end.
    pub end_us: u64,
    /// Events processed.
    pub events: u64,
    /// Where every task is.
    pub tasks: TaskTally,
    /// Input that could not be used as given (dropped prefill, missing dependencies).
    pub input: InputTally,
    /// Per scheduler.
    pub schedulers: Vec<SchedulerSummary>,
}

/// Errors of configuring or building a simulation.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A value the simulator cannot use.
    #[error("invalid {field}: {reason}")]
    Config {
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The experiment TOML could not be read (the message names the key and line).
    #[error("experiment config: {0}")]
    Toml(#[from] toml::de::Error),
    /// The cluster or workload spec is invalid.
    #[error(transparent)]
    Workload(#[from] omega_workload::WorkloadError),
}
