//! The per-decision working copy every policy shares: the local cell state (the seed's
//! "update local state (optimistic)"), the transaction being built, and the job's spread
//! counts.
//!
//! The local copy is the persistent [`CellState`] itself, cloned in O(1) from the snapshot.
//! Each claim is applied to it with [`CellState::assume`], which does not bump versions, so
//! every claim records the version its machine had in the snapshot.

use omega_core::{
    CellState, Claim, CommitMode, ConflictMode, FailureDomain, GpuDevices, Job, MachineId, TaskId,
    Transaction,
};
use smallvec::SmallVec;

use crate::fit::Shape;
use crate::{Decision, DecisionStats};

/// A machine a task fits on in the local state, with the devices it would use and the
/// machine's version there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    pub machine: MachineId,
    pub gpus: GpuDevices,
    pub version: u64,
}

/// Which per-job counts a policy needs while it places a job.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tracking {
    /// Tasks of the job per machine (for "one task per machine").
    pub machines: bool,
    /// Tasks of the job per failure domain (for the domain cap and the spread score).
    pub domains: bool,
}

/// The working copy of one decision.
#[derive(Debug)]
pub(crate) struct Placer<'j> {
    pub local: CellState,
    pub job: &'j Job,
    pub shape: Shape<'j>,
    pub txn: Transaction,
    pub stats: DecisionStats,
    /// Sorted (machine, tasks of this job there); kept only if tracked.
    machine_counts: Vec<(MachineId, u32)>,
    /// Sorted (domain, tasks of this job there); kept only if tracked.
    domain_counts: Vec<(FailureDomain, u32)>,
    /// The largest count in `domain_counts`.
    pub max_domain_count: u32,
    tracking: Tracking,
}

impl<'j> Placer<'j> {
    /// A working copy of `snapshot` for `job`, counting the job's tasks that already run.
    pub fn new(
        snapshot: &CellState,
        job: &'j Job,
        tracking: Tracking,
        conflicts: ConflictMode,
        commit: CommitMode,
    ) -> Self {
        let commit = if job.gang { CommitMode::Gang } else { commit };
        let mut placer = Self {
            local: snapshot.clone(),
            job,
            shape: Shape::new(job.task_resources, &job.constraints),
            txn: Transaction::new(job.id)
                .with_conflicts(conflicts)
                .with_commit(commit),
            stats: DecisionStats::default(),
            machine_counts: Vec::new(),
            domain_counts: Vec::new(),
            max_domain_count: 0,
            tracking,
        };
        if tracking.machines || tracking.domains {
            // Tasks still pending are not running, so looking up every index is enough.
            for index in 0..job.tasks {
                if let Some(p) = snapshot.placement(TaskId::new(job.id, index)) {
                    placer.count(p.machine);
                }
            }
        }
        placer
    }

    /// Tasks of the job on machine `m` (0 unless machines are tracked).
    pub fn tasks_on_machine(&self, m: MachineId) -> u32 {
        match self.machine_counts.binary_search_by_key(&m, |e| e.0) {
            Ok(i) => self.machine_counts[i].1,
            Err(_) => 0,
        }
    }

    /// Tasks of the job in domain `d` (0 unless domains are tracked).
    pub fn tasks_in_domain(&self, d: FailureDomain) -> u32 {
        match self.domain_counts.binary_search_by_key(&d, |e| e.0) {
            Ok(i) => self.domain_counts[i].1,
            Err(_) => 0,
        }
    }

    /// True if the job's spread constraints allow one more task on `m` in domain `d`.
    #[inline]
    pub fn spread_allows(&self, m: MachineId, d: FailureDomain) -> bool {
        let c = &self.job.constraints;
        (!c.one_task_per_machine || self.tasks_on_machine(m) == 0)
            && c.max_tasks_per_domain
                .is_none_or(|cap| self.tasks_in_domain(d) < cap)
    }

    fn count(&mut self, m: MachineId) {
        if self.tracking.machines {
            bump(&mut self.machine_counts, m);
        }
        if self.tracking.domains {
            let d = self
                .local
                .spec(m)
                .map(|s| s.failure_domain)
                .unwrap_or_default();
            let n = bump(&mut self.domain_counts, d);
            self.max_domain_count = self.max_domain_count.max(n);
        }
    }

    /// Claims task `index` on machine `m` with devices `gpus`, evicting `victims`, in the
    /// local state and the transaction. False if the local state refuses it (the task is
    /// already placed, or the claim does not fit), in which case nothing changes.
    pub fn claim(
        &mut self,
        index: u32,
        m: MachineId,
        gpus: GpuDevices,
        victims: SmallVec<[TaskId; 2]>,
    ) -> bool {
        let seen = self.local.state(m).map_or(0, |s| s.version);
        self.claim_seen(index, m, seen, gpus, victims)
    }

    /// [`claim`](Self::claim) without victims on a machine a search has just read (its
    /// version comes with it: one lookup less in the hot loop).
    pub fn claim_found(&mut self, index: u32, found: Found) -> bool {
        self.claim_seen(
            index,
            found.machine,
            found.version,
            found.gpus,
            SmallVec::new(),
        )
    }

    fn claim_seen(
        &mut self,
        index: u32,
        m: MachineId,
        seen: u64,
        gpus: GpuDevices,
        victims: SmallVec<[TaskId; 2]>,
    ) -> bool {
        let preempting = !victims.is_empty();
        let mut claim = Claim::new(
            TaskId::new(self.job.id, index),
            m,
            self.job.task_resources,
            seen,
        )
        .with_gpus(gpus)
        .with_priority(self.job.priority);
        claim.preempts = victims;
        if self.local.assume(&claim).is_err() {
            return false;
        }
        if preempting {
            self.stats.preemptions += claim.preempts.len() as u32;
        }
        self.txn.push(claim);
        if self.tracking.machines || self.tracking.domains {
            self.count(m);
        }
        true
    }

    /// The decision: for a gang job, all claims or none.
    pub fn finish(mut self, think_time_us: u64, pending: usize) -> Decision {
        let placed = self.txn.claims.len();
        self.stats.unplaced = pending.saturating_sub(placed) as u32;
        if self.txn.commit == CommitMode::Gang && placed < pending {
            self.txn.claims.clear();
            self.stats.unplaced = pending as u32;
            self.stats.preemptions = 0;
        }
        Decision {
            transaction: self.txn,
            think_time_us,
            task_duration_us: None,
            extra_workers: 0,
            stats: self.stats,
        }
    }
}

/// Adds one to `key`'s count in a sorted vector and returns the new count.
fn bump<K: Ord + Copy>(counts: &mut Vec<(K, u32)>, key: K) -> u32 {
    match counts.binary_search_by_key(&key, |e| e.0) {
        Ok(i) => {
            counts[i].1 += 1;
            counts[i].1
        }
        Err(i) => {
            counts.insert(i, (key, 1));
            1
        }
    }
}

/// Valid, distinct task indexes of `pending`, in the caller's order: indexes `>= job.tasks`
/// are dropped (a caller's mistake that must not panic) and repeated ones are kept once.
pub(crate) fn valid_pending(job: &Job, pending: &[u32]) -> Vec<u32> {
    let mut seen = vec![0u64; (job.tasks as usize).div_ceil(64)];
    let mut out = Vec::with_capacity(pending.len());
    for &i in pending {
        if i >= job.tasks {
            continue;
        }
        let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
        if seen[word] & bit == 0 {
            seen[word] |= bit;
            out.push(i);
        }
    }
    out
}
