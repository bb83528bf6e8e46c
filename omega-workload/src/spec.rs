//! Workload specs: job classes and their distributions ([`WorkloadSpec`], [`ClassSpec`]),
//! the TOML file that holds a cluster and a workload ([`WorkloadConfig`]), the embedded
//! presets, and validation against a cluster.
//!
//! # TOML units
//! Human units, named in the key: times in seconds (`duration_s`, `mean_s`), CPU in cores
//! (`cpu_cores`), memory in GiB (`mem_gib`), GPUs in devices (`gpus`; below 1 means a
//! share of one device). Each is turned into integer base units (µs, millicores, MiB,
//! milli-GPUs) by the rounding rule of [`crate::to_units`], then held between a floor and
//! a ceiling:
//!
//! | field | base unit | floor | ceiling |
//! |---|---|---|---|
//! | `tasks` | tasks | 1 | [`MAX_TASKS_PER_JOB`] |
//! | `duration_s`, `total_work_s` | µs | 1 | [`MAX_DURATION_US`] |
//! | `cpu_cores` | millicores | [`MIN_CPU_MILLI`] | 2^40 |
//! | `mem_gib` | MiB | [`MIN_MEM_MIB`] | 2^40 |
//! | `gpus` | milli-GPUs | 1 | 2^40 |
//!
//! GPUs: a sample below one device is a fraction of a device (`round(x × 1000)` milli, at
//! least 1); from one device up it is rounded to whole devices (a multiple of 1000), as
//! `omega-core` allows only those two shapes. A request of more than 8 whole devices is
//! kept as drawn: no machine can hold it, and [`crate::FitCheck`] reports the job as
//! unschedulable.

use serde::{Deserialize, Serialize};

use crate::{ClusterSpec, Dist, WorkloadError};

/// The embedded copy of `configs/seed.toml` (a test checks they are the same).
pub const SEED_TOML: &str = include_str!("../presets/seed.toml");
/// The embedded copy of `configs/uniform.toml` (a test checks they are the same).
pub const UNIFORM_TOML: &str = include_str!("../presets/uniform.toml");

/// Most tasks one job may have; larger samples are clamped.
pub const MAX_TASKS_PER_JOB: u64 = 1_000_000;
/// Longest task duration (about 35 years); larger samples are clamped.
pub const MAX_DURATION_US: u64 = 1 << 50;
/// Smallest CPU request of a task, in millicores.
pub const MIN_CPU_MILLI: u64 = 1;
/// Smallest memory request of a task, in MiB.
pub const MIN_MEM_MIB: u64 = 1;

/// How a class's jobs arrive: in TOML a one-key table, `{ exponential = { mean_s = 30 } }`,
/// `{ constant = { interval_s = 60 } }` or `{ share = { share = 0.2 } }`; another shape is
/// an error listing these forms ([`ARRIVAL_FORMS`](crate::ARRIVAL_FORMS)).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// A Poisson process: exponential inter-arrival times with this mean.
    Exponential {
        /// Mean time between two jobs, in seconds.
        mean_s: f64,
    },
    /// One job every `interval_s` seconds exactly.
    Constant {
        /// Time between two jobs, in seconds.
        interval_s: f64,
    },
    /// A share of the workload's total rate (`total_mean_interarrival_s`): a Poisson
    /// process with mean inter-arrival time `total_mean_interarrival_s / share`.
    Share {
        /// The class's fraction of all jobs, in `(0, 1]`.
        share: f64,
    },
}

/// GPUs: how often a job needs them and how many each of its tasks asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuSpec {
    /// Probability that a job needs GPUs, in `[0, 1]`.
    pub probability: f64,
    /// GPUs per task when it does (devices; below 1 is a share of one device).
    pub per_task: Dist,
}

/// Placement constraints of a class's jobs.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintSpec {
    /// Labels a machine must carry (e.g. `"type=C"`, `"gpu=T4"`, `"ssd"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_labels: Vec<String>,
    /// Groups of alternatives: a machine must carry at least one label of every group
    /// (e.g. `[["gpu=T4", "gpu=A100"]]`: either GPU model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_any_labels: Vec<Vec<String>>,
    /// At most one task of a job on any machine.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_task_per_machine: bool,
    /// Spread each job over this many racks: a job with `t` tasks gets
    /// `max_tasks_per_domain = ceil(t / min(d, racks))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_over_domains: Option<u32>,
}

/// Dependencies: with `probability`, a job depends on 1..=`max_jobs` (uniform) distinct
/// jobs drawn from the last `window` submitted jobs of class `on_class`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependencySpec {
    /// Probability that a job has dependencies, in `[0, 1]`.
    pub probability: f64,
    /// The class of the jobs depended on (may be the class itself).
    pub on_class: String,
    /// Largest number of jobs depended on (>= 1).
    pub max_jobs: u32,
    /// How many recent jobs of `on_class` are candidates (>= 1).
    #[serde(default = "default_window")]
    pub window: u32,
}

fn default_window() -> u32 {
    100
}

/// Who submits a class's jobs: users `first..first + count`, drawn with a Zipf law of
/// exponent `zipf_s` (user `first` is the most active; `zipf_s = 0` is uniform).
///
/// User ids are global: the same id in two classes is the same user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Number of users (>= 1).
    pub count: u32,
    /// Zipf exponent (>= 0).
    #[serde(default)]
    pub zipf_s: f64,
    /// The first user id.
    #[serde(default)]
    pub first: u32,
}

impl Default for UserSpec {
    fn default() -> Self {
        Self {
            count: 1,
            zipf_s: 0.0,
            first: 0,
        }
    }
}

/// The MapReduce part of a class: how a MapReduce job's workers and work are drawn.
///
/// A MapReduce job asks for `workers` workers (default: the class's `tasks`; the Omega paper
/// reports common counts of 5, 11, 200 and 1,000) and brings `workers × duration_s` of work,
/// or `total_work_s` when given (one worker would need that long); a worker then runs
/// `ceil(work / workers)`. It can use at most `workers × shards_per_worker` workers (one per
/// map shard): an opportunistic scheduler never grows it beyond that. Without
/// `shards_per_worker` the job has no limit of its own.
///
/// Which of the class's jobs are MapReduce jobs is [`ClassSpec::mapreduce_share`].
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapReduceSpec {
    /// Total work of a job in worker-seconds; only for a class whose jobs are all MapReduce
    /// and that has no `duration_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_work_s: Option<Dist>,
    /// Requested workers of a MapReduce job (default: the class's `tasks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Dist>,
    /// Map shards per requested worker (at least 1, rounded): the job can use at most
    /// `workers × shards_per_worker` workers. Absent: no limit of the job's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards_per_worker: Option<Dist>,
}

/// One job class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    /// The class name (`Job.class`), e.g. `"batch"`; unique within a workload.
    pub name: String,
    /// How its jobs arrive.
    pub arrivals: Arrivals,
    /// Tasks per job (for MapReduce jobs: requested workers, unless `mapreduce.workers`).
    pub tasks: Dist,
    /// Task duration in seconds (may be absent for a class whose jobs are all MapReduce
    /// and which gives `mapreduce.total_work_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<Dist>,
    /// CPU per task, in cores.
    pub cpu_cores: Dist,
    /// Memory per task, in GiB.
    pub mem_gib: Dist,
    /// GPU needs, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuSpec>,
    /// Priority of every job of the class.
    #[serde(default)]
    pub priority: u32,
    /// All-or-nothing placement.
    #[serde(default)]
    pub gang: bool,
    /// Placement constraints.
    #[serde(default)]
    pub constraints: ConstraintSpec,
    /// Dependencies on earlier jobs, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<DependencySpec>,
    /// Who submits the jobs.
    #[serde(default)]
    pub users: UserSpec,
    /// Share of the class's jobs that are MapReduce jobs, in `[0, 1]` (the Omega paper:
    /// about 20% of batch jobs). Absent: all of them if `mapreduce` is given, else none.
    /// Which jobs are drawn from a stream of their own, so the class's other draws are the
    /// same whatever the share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapreduce_share: Option<f64>,
    /// How MapReduce jobs of the class are drawn (defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapreduce: Option<MapReduceSpec>,
    /// Start runs with this class's jobs already running at their steady-state level.
    #[serde(default)]
    pub prefill: bool,
    /// How far back prefill simulates arrivals, in seconds; default 20 × the class's mean
    /// task duration. Jobs longer than the window are missing from the prefill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_window_s: Option<f64>,
}

/// A workload: its job classes, and how fast they arrive.
///
/// ```
/// use omega_workload::{ClusterSpec, WorkloadSpec};
/// let spec = WorkloadSpec::seed_preset();
/// assert_eq!(spec.classes[0].name, "batch");
/// let cluster = ClusterSpec::seed(200);
/// let jobs: Vec<_> = spec.stream(&cluster, 42, 3_600_000_000)?.collect();
/// assert!(jobs.windows(2).all(|w| w[0].submit_at_us <= w[1].submit_at_us));
/// assert!(jobs.iter().enumerate().all(|(i, j)| j.id.0 == i as u64));
/// # Ok::<(), omega_workload::WorkloadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Target steady-state utilisation of the bottleneck resource, in `(0, 1]`: arrival
    /// rates are scaled so the offered load reaches it (see [`crate::Calibration`]).
    /// Absent: arrival rates are used as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<f64>,
    /// Mean time between two jobs of all `share` classes together, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_mean_interarrival_s: Option<f64>,
    /// The classes, in a fixed order (ties in submit time go to the earlier class).
    pub classes: Vec<ClassSpec>,
}

/// A TOML file: a cluster and a workload (`[cluster]` and `[workload]` tables).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// The cell.
    pub cluster: ClusterSpec,
    /// The jobs.
    pub workload: WorkloadSpec,
}

fn toml_error(e: toml::de::Error) -> WorkloadError {
    WorkloadError::Toml(e.to_string().trim_end().to_owned())
}

impl WorkloadConfig {
    /// Parses a config; unknown keys are errors naming the key and its line. The result
    /// is validated (cluster and workload together).
    pub fn from_toml(text: &str) -> Result<Self, WorkloadError> {
        let config: WorkloadConfig = toml::from_str(text).map_err(toml_error)?;
        config.workload.validate(&config.cluster)?;
        Ok(config)
    }

    /// The config as TOML text.
    pub fn to_toml(&self) -> Result<String, WorkloadError> {
        toml::to_string(self).map_err(|e| WorkloadError::TomlWrite(e.to_string()))
    }

    /// The seed preset: `configs/seed.toml`.
    pub fn seed() -> Self {
        Self::embedded(SEED_TOML)
    }

    /// The uniform preset: `configs/uniform.toml`.
    pub fn uniform() -> Self {
        Self::embedded(UNIFORM_TOML)
    }

    fn embedded(text: &str) -> Self {
        match Self::from_toml(text) {
            Ok(c) => c,
            // The embedded presets are checked by the crate's tests; this cannot happen
            // for a released build.
            Err(e) => panic!("embedded preset is invalid: {e}"),
        }
    }
}

impl WorkloadSpec {
    /// The seed's workload, from the embedded copy of `configs/seed.toml`.
    pub fn seed_preset() -> Self {
        WorkloadConfig::seed().workload
    }

    /// Parses a workload alone (the body of a `[workload]` table, without the header).
    /// It is not validated: call [`WorkloadSpec::validate`] with the cluster.
    pub fn from_toml(text: &str) -> Result<Self, WorkloadError> {
        toml::from_str(text).map_err(toml_error)
    }

    /// The class with this name, with its index.
    pub fn class(&self, name: &str) -> Option<(usize, &ClassSpec)> {
        self.classes
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }

    /// Checks every field, and that the cluster can host each class (labels it requires
    /// exist, GPUs it asks for exist). Errors name the field and say why.
    pub fn validate(&self, cluster: &ClusterSpec) -> Result<(), WorkloadError> {
        cluster.validate()?;
        crate::generate::compile(self, cluster).map(|_| ())
    }
}
