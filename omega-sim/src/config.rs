//! The simulation's configuration as plain data: architecture, schedulers, timing, failures.
//!
//! Every struct rejects unknown keys and documents its defaults, which are the Omega paper's
//! where it has one (retry delay 1 s, abandonment after 100 attempts without progress or
//! 1,000 in all, allocation interval 1 s).

use omega_schedulers::PolicyConfig;
use serde::{Deserialize, Serialize};

/// One scheduler (Omega), framework (two-level) or decision path (monolithic).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSpec {
    /// Its name, e.g. `"batch"`.
    pub name: String,
    /// The job classes it takes (e.g. `["batch"]`); empty means every class no other
    /// scheduler names. A class goes to one scheduler only, at most one scheduler may
    /// leave this empty, and every class named must be one the workload has.
    #[serde(default)]
    pub classes: Vec<String>,
    /// How many identical copies run in parallel (Omega only: any other architecture
    /// rejects a count other than 1); jobs are spread over them by job id. Default 1.
    #[serde(default = "one")]
    pub count: u32,
    /// The placement policy and its think-time model.
    pub policy: PolicyConfig,
}

fn one() -> u32 {
    1
}

/// Which architecture runs the schedulers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ArchitectureKind {
    /// One scheduler, one FIFO queue; every job gets the first scheduler's policy and think
    /// time (the paper's single-path).
    MonolithicSinglePath,
    /// One scheduler, one FIFO queue; each job gets its class's policy and think time
    /// (multi-path), but all wait in the same queue.
    MonolithicMultiPath,
    /// Mesos-style: a central allocator offers free resources to one framework at a time in
    /// DRF order; offered resources are locked until the framework returns them. A framework
    /// sees only its offer: its claims there are never rejected for a version change (in
    /// either conflict mode), and it cannot preempt other frameworks' tasks (the service
    /// policy's preemption is off; revocation by the allocator is not modelled).
    TwoLevel,
    /// Shared state: parallel schedulers with snapshots and optimistic commits.
    #[default]
    Omega,
}

impl ArchitectureKind {
    /// Its name as experiment files spell it (`"omega"`, `"two-level"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::MonolithicSinglePath => "monolithic-single-path",
            Self::MonolithicMultiPath => "monolithic-multi-path",
            Self::TwoLevel => "two-level",
            Self::Omega => "omega",
        }
    }
}

/// The architecture and its schedulers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchitectureConfig {
    /// Which architecture.
    #[serde(default)]
    pub kind: ArchitectureKind,
    /// Two-level: how often the allocator makes offers, in µs (default 1 s).
    #[serde(default = "default_allocation_interval_us")]
    pub allocation_interval_us: u64,
    /// The schedulers (frameworks, paths).
    pub schedulers: Vec<SchedulerSpec>,
}

fn default_allocation_interval_us() -> u64 {
    1_000_000
}

/// Retries, abandonment and sampling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimingConfig {
    /// Wait before a job with unplaced tasks is tried again, in µs (default 1 s).
    pub retry_delay_us: u64,
    /// Abandon a job after this many attempts in a row that placed nothing (default 100).
    pub max_attempts_without_progress: u32,
    /// Abandon a job after this many attempts in all (default 1,000).
    pub max_attempts: u32,
    /// Interval of utilisation samples, in µs (default 60 s).
    pub sample_interval_us: u64,
}

impl Default for TimingConfig {
    fn default() -> Self {
        Self {
            retry_delay_us: 1_000_000,
            max_attempts_without_progress: 100,
            max_attempts: 1_000,
            sample_interval_us: 60_000_000,
        }
    }
}

/// A failure at a scripted time: one machine or a whole rack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedFailure {
    /// When it fails, in µs.
    pub at_us: u64,
    /// The machine that fails.
    #[serde(default)]
    pub machine: Option<u32>,
    /// The rack (failure domain) whose machines all fail.
    #[serde(default)]
    pub rack: Option<u32>,
}

/// Machine failures (seed section 9).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailureConfig {
    /// Mean time between failures of one machine, in µs (exponential); `None` (default)
    /// means no random failures.
    pub machine_mtbf_us: Option<u64>,
    /// Probability that a random failure takes the machine's whole rack (correlated).
    pub rack_probability: f64,
    /// Failures at fixed times.
    pub scripted: Vec<ScriptedFailure>,
    /// Heartbeat interval, in µs (default 1 s).
    pub heartbeat_interval_us: u64,
    /// A machine is declared failed when no heartbeat came for this long, in µs (default 10 s).
    /// A timeout longer than the horizon means failures are never detected; `horizon_us +
    /// heartbeat_timeout_us + heartbeat_interval_us` must fit in a `u64` (checked by
    /// [`SimConfig::validate`]).
    pub heartbeat_timeout_us: u64,
    /// A failed machine recovers after Uniform(min, max) µs (default 1 to 10 minutes).
    pub recovery_min_us: u64,
    /// See `recovery_min_us`.
    pub recovery_max_us: u64,
}

impl Default for FailureConfig {
    fn default() -> Self {
        Self {
            machine_mtbf_us: None,
            rack_probability: 0.0,
            scripted: Vec::new(),
            heartbeat_interval_us: 1_000_000,
            heartbeat_timeout_us: 10_000_000,
            recovery_min_us: 60_000_000,
            recovery_max_us: 600_000_000,
        }
    }
}

/// The longest run an experiment may ask for: 2^50 µs, about 35.7 years of simulated
/// time. Every time the engine adds to the clock (a duration, a delay, a timeout) then
/// stays far from `u64` overflow, and a run's length stays one a machine can finish.
pub const MAX_HORIZON_US: u64 = 1 << 50;

/// Everything the engine needs besides the cell and the jobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// The experiment seed; every random stream derives from it.
    #[serde(default)]
    pub seed: u64,
    /// Simulated time to run, in µs (at most [`MAX_HORIZON_US`]).
    pub horizon_us: u64,
    /// The architecture and its schedulers.
    pub architecture: ArchitectureConfig,
    /// Retries, abandonment, sampling.
    #[serde(default)]
    pub timing: TimingConfig,
    /// Machine failures.
    #[serde(default)]
    pub failures: FailureConfig,
}

/// A [`crate::SimError::Config`] for `field`.
fn config_error(field: impl Into<String>, reason: impl Into<String>) -> crate::SimError {
    crate::SimError::Config {
        field: field.into(),
        reason: reason.into(),
    }
}

impl SimConfig {
    /// The horizon is one the engine can reach: at most [`MAX_HORIZON_US`].
    fn validate_horizon(&self) -> Result<(), crate::SimError> {
        if self.horizon_us > MAX_HORIZON_US {
            return Err(config_error(
                "horizon_us",
                format!(
                    "{} µs is beyond the longest run allowed; give 0 to {MAX_HORIZON_US} µs \
                     (about 35.7 years; one day is 86_400_000_000)",
                    self.horizon_us
                ),
            ));
        }
        Ok(())
    }

    /// Routing: `count` only where copies exist (Omega), each class to one scheduler, at
    /// most one scheduler taking the classes no other names.
    fn validate_routing(&self) -> Result<(), crate::SimError> {
        let arch = &self.architecture;
        let mut owner: std::collections::BTreeMap<&str, &str> = Default::default();
        let mut catch_all: Option<&str> = None;
        for (i, s) in arch.schedulers.iter().enumerate() {
            if s.count != 1 && arch.kind != ArchitectureKind::Omega {
                return Err(config_error(
                    format!("architecture.schedulers[{i}].count"),
                    format!(
                        "only kind = \"omega\" runs copies of a scheduler; {:?} runs one of \
                         each (remove `count = {}`, or use kind = \"omega\")",
                        arch.kind.name(),
                        s.count
                    ),
                ));
            }
            for class in &s.classes {
                if let Some(first) = owner.insert(class, &s.name) {
                    return Err(config_error(
                        format!("architecture.schedulers[{i}].classes"),
                        format!(
                            "class {class:?} is already taken by scheduler {first:?}; a class \
                             goes to one scheduler (give {:?} other classes, or run copies \
                             with `count`)",
                            s.name
                        ),
                    ));
                }
            }
            if s.classes.is_empty() {
                if let Some(first) = catch_all {
                    return Err(config_error(
                        format!("architecture.schedulers[{i}].classes"),
                        format!(
                            "schedulers {first:?} and {:?} both leave `classes` empty (every \
                             class no other scheduler names); only the first would get jobs: \
                             name {:?}'s classes",
                            s.name, s.name
                        ),
                    ));
                }
                catch_all = Some(&s.name);
            }
        }
        Ok(())
    }

    /// Checks that every class a scheduler names is one of `job_classes`, and that every
    /// job class has a scheduler (named, or the one with empty `classes`). `source` says
    /// where the classes come from, for the message (e.g. "the workload's").
    pub fn validate_classes<'a>(
        &self,
        job_classes: impl IntoIterator<Item = &'a str>,
        source: &str,
    ) -> Result<(), crate::SimError> {
        let known: std::collections::BTreeSet<&str> = job_classes.into_iter().collect();
        let list = known.iter().copied().collect::<Vec<_>>().join(", ");
        let schedulers = &self.architecture.schedulers;
        for (i, s) in schedulers.iter().enumerate() {
            if let Some(class) = s.classes.iter().find(|c| !known.contains(c.as_str())) {
                return Err(config_error(
                    format!("architecture.schedulers[{i}].classes"),
                    format!("no job class is named {class:?}; {source} classes are: {list}"),
                ));
            }
        }
        if schedulers.iter().any(|s| s.classes.is_empty()) {
            return Ok(());
        }
        let routed = |c: &str| schedulers.iter().any(|s| s.classes.iter().any(|x| x == c));
        if let Some(class) = known.iter().find(|c| !routed(c)) {
            return Err(config_error(
                "architecture.schedulers",
                format!(
                    "no scheduler takes job class {class:?} ({source} classes are: {list}); \
                     name it in a scheduler's `classes`, or leave one scheduler's `classes` \
                     empty to take every class no other names"
                ),
            ));
        }
        Ok(())
    }

    /// Checks values the engine cannot use, naming the field.
    pub fn validate(&self) -> Result<(), crate::SimError> {
        self.validate_horizon()?;
        self.validate_schedulers()?;
        self.validate_routing()?;
        let arch = &self.architecture;
        if arch.kind == ArchitectureKind::TwoLevel && arch.allocation_interval_us == 0 {
            return Err(config_error(
                "architecture.allocation_interval_us",
                "must be positive",
            ));
        }
        if self.timing.sample_interval_us == 0 {
            return Err(config_error(
                "timing.sample_interval_us",
                "must be positive",
            ));
        }
        if self.timing.max_attempts == 0 || self.timing.max_attempts_without_progress == 0 {
            return Err(config_error("timing.max_attempts", "must be at least 1"));
        }
        self.validate_failures()
    }

    /// At least one scheduler, each with a count and a valid policy.
    fn validate_schedulers(&self) -> Result<(), crate::SimError> {
        let arch = &self.architecture;
        if arch.schedulers.is_empty() {
            return Err(config_error(
                "architecture.schedulers",
                "at least one scheduler is needed",
            ));
        }
        for (i, s) in arch.schedulers.iter().enumerate() {
            if s.count == 0 {
                return Err(config_error(
                    format!("architecture.schedulers[{i}].count"),
                    "must be at least 1",
                ));
            }
            if let Err(e) = s.policy.validate() {
                return Err(config_error(
                    format!("architecture.schedulers[{i}].policy"),
                    e.to_string(),
                ));
            }
        }
        Ok(())
    }

    /// The failure model's values, and detection times the clock can hold.
    fn validate_failures(&self) -> Result<(), crate::SimError> {
        let f = &self.failures;
        if !(0.0..=1.0).contains(&f.rack_probability) {
            return Err(config_error(
                "failures.rack_probability",
                "must be within [0, 1]",
            ));
        }
        if f.machine_mtbf_us == Some(0) {
            return Err(config_error("failures.machine_mtbf_us", "must be positive"));
        }
        if f.heartbeat_interval_us == 0 {
            return Err(config_error(
                "failures.heartbeat_interval_us",
                "must be positive",
            ));
        }
        // A failure at the horizon is detected at the first heartbeat tick after
        // `horizon + timeout`: that instant must be a time the clock can hold.
        let last_detection = self
            .horizon_us
            .checked_add(f.heartbeat_timeout_us)
            .and_then(|t| t.checked_add(f.heartbeat_interval_us));
        if last_detection.is_none() {
            return Err(config_error(
                "failures.heartbeat_timeout_us",
                format!(
                    "horizon_us + heartbeat_timeout_us + heartbeat_interval_us must stay below \
                     2^64 µs; got {} + {} + {}. To never detect a failure, give a timeout \
                     longer than horizon_us, e.g. heartbeat_timeout_us = {}",
                    self.horizon_us,
                    f.heartbeat_timeout_us,
                    f.heartbeat_interval_us,
                    self.horizon_us.saturating_add(1),
                ),
            ));
        }
        if f.recovery_min_us > f.recovery_max_us {
            return Err(config_error(
                "failures.recovery_min_us",
                "must not exceed recovery_max_us",
            ));
        }
        for (i, s) in f.scripted.iter().enumerate() {
            if s.machine.is_some() == s.rack.is_some() {
                return Err(config_error(
                    format!("failures.scripted[{i}]"),
                    "give exactly one of `machine` and `rack`",
                ));
            }
        }
        Ok(())
    }
}
