//! Identifiers of machines, jobs, tasks and users.
//!
//! Ids are small `Copy` integers so that they can live inside persistent maps cheaply.
//! A [`TaskId`] is a job plus the task's index within that job.

use core::fmt;

/// Identifies a machine of a cell. Ids are dense indexes handed out by
/// [`CellState::add_machine`](crate::CellState::add_machine) and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MachineId(pub u32);

/// Identifies a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JobId(pub u64);

/// Identifies one task: the job it belongs to and its index within the job (`0..tasks`).
///
/// ```
/// use omega_core::{JobId, TaskId};
/// let t = TaskId::new(JobId(7), 3);
/// assert_eq!(t.to_string(), "7.3");
/// assert!(TaskId::new(JobId(7), 3) < TaskId::new(JobId(8), 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TaskId {
    /// The job the task belongs to.
    pub job: JobId,
    /// The task's index within its job.
    pub index: u32,
}

impl TaskId {
    /// The task with index `index` of job `job`.
    pub const fn new(job: JobId, index: u32) -> Self {
        Self { job, index }
    }
}

/// Identifies the user who submitted a job (needed for per-user fairness).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UserId(pub u32);

/// A failure domain (a rack): machines that can fail together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FailureDomain(pub u32);

impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m{}", self.0)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.job.0, self.index)
    }
}

impl fmt::Display for FailureDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rack{}", self.0)
    }
}
