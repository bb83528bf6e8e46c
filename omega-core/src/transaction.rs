//! Transactions a scheduler submits, and what a commit answers.
//!
//! A [`Transaction`] holds one [`Claim`] per task to place. The cell checks each claim in
//! the seed's order (machine exists and is up → version, in coarse mode → victims → resources)
//! and answers with a [`Commit`]: the new state, the accepted claims and each rejected claim's
//! [`Conflict`]; a commit into the state itself answers with an [`Applied`], the same without
//! the state.

use smallvec::SmallVec;

use crate::{CellState, GpuDevices, JobId, MachineId, Placement, Priority, Resources, TaskId};

/// How many claims a transaction keeps inline before it allocates.
pub const INLINE_CLAIMS: usize = 8;

/// Which claims a commit accepts when some of them conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CommitMode {
    /// Accept the claims that pass and reject the rest (the default).
    #[default]
    Incremental,
    /// All or nothing: any conflict rejects every claim and leaves the state unchanged.
    Gang,
}

/// What counts as a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ConflictMode {
    /// Reject a claim only when its machine no longer has room (the default).
    #[default]
    Fine,
    /// Reject a claim whenever its machine changed since the snapshot (version mismatch).
    Coarse,
}

/// One task placed on one machine, as a scheduler proposes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Claim {
    /// The task to place.
    pub task: TaskId,
    /// Where to place it.
    pub machine: MachineId,
    /// What it needs; `gpu_milli` must match `gpus` (one device for a fraction, `n` devices
    /// for `n` whole GPUs).
    pub resources: Resources,
    /// The GPU devices it uses on the machine.
    pub gpus: GpuDevices,
    /// The machine's version in the scheduler's snapshot (checked in coarse mode).
    pub seen_version: u64,
    /// The task's priority; victims must be strictly lower.
    pub priority: Priority,
    /// Running tasks on the same machine to evict so this claim fits.
    pub preempts: SmallVec<[TaskId; 2]>,
}

impl Claim {
    /// A claim without GPUs or preemption, recording `seen_version`.
    pub fn new(task: TaskId, machine: MachineId, resources: Resources, seen_version: u64) -> Self {
        Self {
            task,
            machine,
            resources,
            gpus: GpuDevices::NONE,
            seen_version,
            priority: Priority(0),
            preempts: SmallVec::new(),
        }
    }

    /// This claim using GPU devices `gpus`.
    pub fn with_gpus(mut self, gpus: GpuDevices) -> Self {
        self.gpus = gpus;
        self
    }

    /// This claim at priority `priority`.
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// This claim evicting `victims` (running on the same machine, lower priority).
    pub fn preempting(mut self, victims: impl IntoIterator<Item = TaskId>) -> Self {
        self.preempts = victims.into_iter().collect();
        self
    }
}

/// A scheduler's proposal: claims for some tasks of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Transaction {
    /// The job whose tasks are claimed.
    pub job: JobId,
    /// Incremental or gang.
    pub commit: CommitMode,
    /// Fine or coarse conflict detection.
    pub conflicts: ConflictMode,
    /// The claims, one per task.
    pub claims: SmallVec<[Claim; INLINE_CLAIMS]>,
}

impl Transaction {
    /// An empty incremental, fine-grained transaction for `job`.
    pub fn new(job: JobId) -> Self {
        Self {
            job,
            commit: CommitMode::Incremental,
            conflicts: ConflictMode::Fine,
            claims: SmallVec::new(),
        }
    }

    /// This transaction with commit mode `commit`.
    pub fn with_commit(mut self, commit: CommitMode) -> Self {
        self.commit = commit;
        self
    }

    /// This transaction with conflict mode `conflicts`.
    pub fn with_conflicts(mut self, conflicts: ConflictMode) -> Self {
        self.conflicts = conflicts;
        self
    }

    /// Adds a claim.
    pub fn push(&mut self, claim: Claim) {
        self.claims.push(claim);
    }
}

/// Why a claim was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Conflict {
    /// The machine is not in the cell (never was, or was removed).
    MachineMissing,
    /// The machine is down.
    MachineDown,
    /// Coarse mode: the machine changed since the scheduler's snapshot.
    VersionChanged,
    /// The machine does not have the CPU, memory or named GPU capacity left.
    InsufficientResources,
    /// A victim named in `preempts` no longer runs on that machine at a lower priority.
    VictimGone,
    /// The claim itself is malformed (see [`InvalidClaim`]); a scheduler bug, not a race.
    Invalid(InvalidClaim),
}

/// How a claim can be malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum InvalidClaim {
    /// `gpu_milli` is neither a fraction of one device nor a whole number of devices.
    GpuRequestShape,
    /// The named devices do not match the request, or do not exist on the machine.
    GpuDevices,
    /// The task is already running (perhaps claimed twice in this transaction).
    TaskAlreadyPlaced,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conflict::MachineMissing => "machine missing",
            Conflict::MachineDown => "machine down",
            Conflict::VersionChanged => "version changed",
            Conflict::InsufficientResources => "insufficient resources",
            Conflict::VictimGone => "victim gone",
            Conflict::Invalid(InvalidClaim::GpuRequestShape) => "invalid: GPU request shape",
            Conflict::Invalid(InvalidClaim::GpuDevices) => "invalid: GPU devices",
            Conflict::Invalid(InvalidClaim::TaskAlreadyPlaced) => "invalid: task already placed",
        })
    }
}

/// One rejected claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Rejection {
    /// Index of the claim in the transaction.
    pub claim: usize,
    /// The claim's task.
    pub task: TaskId,
    /// The claim's machine.
    pub machine: MachineId,
    /// Why it was rejected.
    pub reason: Conflict,
}

/// What a commit answers: the new state and the fate of every claim.
#[derive(Clone, Debug)]
pub struct Commit {
    /// The state after the commit (the old state, unchanged, if nothing was accepted).
    pub state: CellState,
    /// Indexes of the accepted claims, in transaction order.
    pub accepted: Vec<usize>,
    /// The claims that conflicted, in transaction order. In an aborted gang commit, the
    /// claims that would have passed are not listed here but are not accepted either.
    pub rejected: Vec<Rejection>,
    /// Tasks evicted by accepted claims' `preempts`, with where they ran.
    pub preempted: Vec<(TaskId, Placement)>,
    /// True if a gang transaction was rejected as a whole.
    pub aborted: bool,
}

impl Commit {
    /// The outcome without the state: what a transaction log records.
    pub fn outcome(&self) -> Outcome {
        outcome_of(
            &self.accepted,
            &self.rejected,
            &self.preempted,
            self.aborted,
        )
    }

    /// True if every claim was accepted.
    pub fn is_complete(&self, transaction: &Transaction) -> bool {
        self.accepted.len() == transaction.claims.len()
    }
}

/// The [`Outcome`] a log records for a commit with these results (shared by [`Commit`] and
/// [`Applied`]).
fn outcome_of(
    accepted: &[usize],
    rejected: &[Rejection],
    preempted: &[(TaskId, Placement)],
    aborted: bool,
) -> Outcome {
    Outcome {
        accepted: accepted.to_vec(),
        rejected: rejected.to_vec(),
        preempted: preempted.iter().map(|(t, _)| *t).collect(),
        aborted,
    }
}

/// What an in-place commit ([`CellState::commit_in_place`]) answers: the fate of every
/// claim; the new state is the one committed into. The fields mean what [`Commit`]'s do.
///
/// ```
/// use omega_core::*;
/// let mut cell = CellState::new([Machine::new("A", 8_000, 16_384, FailureDomain(0))])?;
/// let mut txn = Transaction::new(JobId(1)).with_commit(CommitMode::Gang);
/// txn.push(Claim::new(TaskId::new(JobId(1), 0), MachineId(0), Resources::new(4_000, 0, 1_024), 0));
/// txn.push(Claim::new(TaskId::new(JobId(1), 1), MachineId(9), Resources::new(4_000, 0, 1_024), 0));
/// let applied = cell.commit_in_place(&txn);
/// assert!(applied.aborted && applied.accepted.is_empty());
/// assert_eq!(applied.rejected[0].reason, Conflict::MachineMissing);
/// assert_eq!((cell.task_count(), cell.seq()), (0, 0)); // an aborted gang changes nothing
/// # Ok::<(), CoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Indexes of the accepted claims, in transaction order.
    pub accepted: Vec<usize>,
    /// The claims that conflicted, in transaction order (see [`Commit::rejected`]).
    pub rejected: Vec<Rejection>,
    /// Tasks evicted by accepted claims' `preempts`, with where they ran.
    pub preempted: Vec<(TaskId, Placement)>,
    /// True if a gang transaction was rejected as a whole.
    pub aborted: bool,
}

impl Applied {
    /// The outcome as a transaction log records it.
    pub fn outcome(&self) -> Outcome {
        outcome_of(
            &self.accepted,
            &self.rejected,
            &self.preempted,
            self.aborted,
        )
    }

    /// True if every claim was accepted.
    pub fn is_complete(&self, transaction: &Transaction) -> bool {
        self.accepted.len() == transaction.claims.len()
    }

    /// This outcome with the state it produced: a [`Commit`].
    pub fn with_state(self, state: CellState) -> Commit {
        Commit {
            state,
            accepted: self.accepted,
            rejected: self.rejected,
            preempted: self.preempted,
            aborted: self.aborted,
        }
    }
}

/// A commit's outcome without the state, as kept in the transaction log.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Outcome {
    /// Indexes of the accepted claims.
    pub accepted: Vec<usize>,
    /// The rejected claims and why.
    pub rejected: Vec<Rejection>,
    /// Tasks evicted by preemption.
    pub preempted: Vec<TaskId>,
    /// True if a gang transaction was rejected as a whole.
    pub aborted: bool,
}
