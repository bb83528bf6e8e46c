//! Jobs as plain data: what a workload generator produces and a scheduler consumes.
//!
//! A [`Job`] has identical tasks (one resource request, one duration unless the trace gives
//! each task its own), a priority, placement constraints, a gang flag and dependencies on
//! other jobs. Neither generators nor schedulers need to know about each other.

use std::sync::Arc;

use std::collections::BTreeSet;

use crate::{JobId, Machine, Resources, TaskId, UserId};

/// A job's priority: higher values are more important and may preempt lower ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Priority(pub u32);

/// Where a job's tasks may run.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Constraints {
    /// Labels a machine must carry (all of them).
    pub required_labels: Vec<String>,
    /// Groups of alternatives: a machine must carry at least one label of every group.
    /// A trace's "any of these GPU models" is one group, e.g.
    /// `[["gpu=V100M16", "gpu=V100M32"]]`. An empty group can never be met.
    pub required_any_labels: Vec<Vec<String>>,
    /// At most one task of the job on any machine.
    pub one_task_per_machine: bool,
    /// At most this many tasks of the job in any one failure domain.
    pub max_tasks_per_domain: Option<u32>,
}

impl Constraints {
    /// True if the job has no constraint at all.
    pub fn is_empty(&self) -> bool {
        !self.has_labels() && !self.one_task_per_machine && self.max_tasks_per_domain.is_none()
    }

    /// True if the constraints name any label (required or among alternatives).
    pub fn has_labels(&self) -> bool {
        !self.required_labels.is_empty() || !self.required_any_labels.is_empty()
    }

    /// True if a machine carrying `labels` meets the label constraints: it has every
    /// required label and at least one label of every group of alternatives.
    ///
    /// ```
    /// use omega_core::{Constraints, FailureDomain, Machine};
    /// let c = Constraints {
    ///     required_labels: vec!["ssd".into()],
    ///     required_any_labels: vec![vec!["gpu=V100M16".into(), "gpu=V100M32".into()]],
    ///     ..Constraints::default()
    /// };
    /// let v100 = Machine::new("C", 8_000, 32_768, FailureDomain(0))
    ///     .with_gpus(2, "V100M32")
    ///     .with_label("ssd");
    /// assert!(c.labels_allow(&v100.labels));
    /// let t4 = Machine::new("C", 8_000, 32_768, FailureDomain(0)).with_gpus(2, "T4").with_label("ssd");
    /// assert!(!c.labels_allow(&t4.labels));
    /// ```
    #[inline]
    pub fn labels_allow(&self, labels: &BTreeSet<String>) -> bool {
        self.required_labels
            .iter()
            .all(|l| labels.contains(l.as_str()))
            && self
                .required_any_labels
                .iter()
                .all(|group| group.iter().any(|l| labels.contains(l.as_str())))
    }

    /// [`labels_allow`](Self::labels_allow) for machine `machine`.
    #[inline]
    pub fn allow(&self, machine: &Machine) -> bool {
        self.labels_allow(&machine.labels)
    }
}

/// The MapReduce part of a job: how many workers it asks for, how much work it brings, and
/// how many workers it can use at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MapReduceWork {
    /// Workers the job asks for (its task count when nothing extra is granted).
    pub requested_workers: u32,
    /// Total work in worker-microseconds: one worker would need this long.
    pub total_work_us: u64,
    /// The most workers the job can use (requested and extra together; e.g. one per map
    /// shard): a scheduler never grows it beyond this. `u32::MAX` for no limit of its own.
    pub max_workers: u32,
}

/// A job: `tasks` identical tasks that each need `task_resources` for `task_duration_us`.
///
/// ```
/// use omega_core::{Job, JobId, Resources, TaskId};
/// let job = Job::new(JobId(1), "batch", 3, Resources::new(2_000, 0, 4_096), 300_000_000);
/// assert_eq!(job.task_ids().collect::<Vec<_>>()[2], TaskId::new(JobId(1), 2));
/// assert_eq!(job.total_resources(), Some(Resources::new(6_000, 0, 12_288)));
/// assert_eq!(job.duration_of(1), 300_000_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// Its class (e.g. `"batch"`, `"service"`, `"mapreduce"`); shared, so cheap to clone.
    pub class: Arc<str>,
    /// The user who submitted it.
    pub user: UserId,
    /// Its priority.
    pub priority: Priority,
    /// When it was submitted, in microseconds of simulated time.
    pub submit_at_us: u64,
    /// Number of tasks (at least 1).
    pub tasks: u32,
    /// What each task asks for.
    pub task_resources: Resources,
    /// How long each task runs once placed, in microseconds.
    pub task_duration_us: u64,
    /// Per-task durations when tasks differ (traces); empty means all are `task_duration_us`.
    pub task_durations_us: Vec<u64>,
    /// Placement constraints.
    pub constraints: Constraints,
    /// All-or-nothing: the whole job is placed in one gang transaction or not at all.
    pub gang: bool,
    /// Jobs that must finish before this one may be scheduled.
    pub depends_on: Vec<JobId>,
    /// The MapReduce part, for jobs a MapReduce scheduler may grow.
    pub mapreduce: Option<MapReduceWork>,
}

impl Job {
    /// A job with no constraints, dependencies or MapReduce part, priority 0, user 0,
    /// submitted at time 0.
    pub fn new(
        id: JobId,
        class: &str,
        tasks: u32,
        task_resources: Resources,
        task_duration_us: u64,
    ) -> Self {
        Self {
            id,
            class: Arc::from(class),
            user: UserId(0),
            priority: Priority(0),
            submit_at_us: 0,
            tasks,
            task_resources,
            task_duration_us,
            task_durations_us: Vec::new(),
            constraints: Constraints::default(),
            gang: false,
            depends_on: Vec::new(),
            mapreduce: None,
        }
    }

    /// The ids of the job's tasks, in index order.
    pub fn task_ids(&self) -> impl Iterator<Item = TaskId> + '_ {
        (0..self.tasks).map(|i| TaskId::new(self.id, i))
    }

    /// How long task `index` runs.
    pub fn duration_of(&self, index: u32) -> u64 {
        self.task_durations_us
            .get(index as usize)
            .copied()
            .unwrap_or(self.task_duration_us)
    }

    /// Resources of all tasks together, or `None` on overflow.
    pub fn total_resources(&self) -> Option<Resources> {
        self.task_resources.checked_mul(u64::from(self.tasks))
    }
}
