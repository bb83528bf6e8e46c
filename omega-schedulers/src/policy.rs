//! The interface every policy implements: [`Policy`], what it returns ([`Decision`]), its
//! random stream ([`PolicyRng`]) and the Omega paper's think-time model ([`ThinkTime`]).

use omega_core::{CellState, Job, Transaction};

/// The random generator a policy draws from: a named, portable PCG generator, so the same
/// seed gives the same decisions on every platform. Seed it with
/// `rand::SeedableRng::seed_from_u64(omega_core::derive_seed(seed, "placement/<scheduler>"))`.
pub type PolicyRng = rand_pcg::Pcg64Mcg;

/// A [`PolicyRng`] seeded from `seed` (PCG's own seeding from a `u64`), so callers need not
/// depend on `rand` to create one.
///
/// ```
/// use omega_schedulers::policy_rng;
/// use rand::Rng;
/// assert_eq!(policy_rng(5).next_u64(), policy_rng(5).next_u64());
/// assert_ne!(policy_rng(5).next_u64(), policy_rng(6).next_u64());
/// ```
pub fn policy_rng(seed: u64) -> PolicyRng {
    <PolicyRng as rand::SeedableRng>::seed_from_u64(seed)
}

/// A scheduling policy: a pure function of a snapshot, a job's pending tasks, the policy's
/// own random stream and its configuration.
///
/// No globals, no clocks, no I/O: everything a policy knows comes in through the arguments,
/// and everything it decides goes out in the [`Decision`]. The same snapshot, job, pending
/// list and RNG state always give the same decision.
///
/// # Writing your own policy
///
/// A policy that places each pending task on the up machine with the most free CPU (a toy
/// "worst fit", ignoring GPUs and constraints for brevity):
///
/// ```
/// use omega_core::*;
/// use omega_schedulers::{Decision, DecisionStats, Policy, PolicyRng, ThinkTime};
/// use rand::SeedableRng;
///
/// #[derive(Debug)]
/// struct WorstFit { think: ThinkTime }
///
/// impl Policy for WorstFit {
///     fn name(&self) -> &str { "worst-fit" }
///     fn schedule(&self, snapshot: &CellState, job: &Job, pending: &[u32],
///                 _rng: &mut PolicyRng) -> Decision {
///         let mut local = snapshot.clone(); // O(1): the optimistic local copy
///         let mut txn = Transaction::new(job.id);
///         for &index in pending {
///             let best = local.up_machines()
///                 .filter(|m| job.task_resources.fits(&m.free()))
///                 .max_by_key(|m| (m.free().cpu_milli, std::cmp::Reverse(m.id)));
///             let Some(m) = best else { break };
///             let claim = Claim::new(TaskId::new(job.id, index), m.id, job.task_resources,
///                                    m.version()).with_priority(job.priority);
///             if local.assume(&claim).is_ok() {
///                 txn.push(claim);
///             }
///         }
///         Decision::new(txn, self.think.decision_us(pending.len()))
///     }
/// }
///
/// let cell = CellState::new([
///     Machine::new("A", 8_000, 16_384, FailureDomain(0)),
///     Machine::new("B", 16_000, 32_768, FailureDomain(1)),
/// ])?;
/// let job = Job::new(JobId(1), "batch", 2, Resources::new(6_000, 0, 1_024), 60_000_000);
/// let policy = WorstFit { think: ThinkTime::new(10_000, 500) };
/// let mut rng = PolicyRng::seed_from_u64(7);
/// let d = policy.schedule(&cell, &job, &[0, 1], &mut rng);
/// // B has the most free CPU for the first task; after it, B has 10 cores free, A 8.
/// let machines: Vec<_> = d.transaction.claims.iter().map(|c| c.machine).collect();
/// assert_eq!(machines, vec![MachineId(1), MachineId(1)]);
/// assert_eq!(d.think_time_us, 11_000);
/// // The transaction commits cleanly against the snapshot.
/// assert_eq!(cell.commit(&d.transaction).accepted, vec![0, 1]);
/// # Ok::<(), CoreError>(())
/// ```
pub trait Policy {
    /// A short name for logs and reports (e.g. `"batch"`).
    fn name(&self) -> &str;

    /// Decides where to place the tasks `pending` (task indexes of `job`, in `0..job.tasks`)
    /// given `snapshot`. A task that fits nowhere is simply not claimed; indexes out of range
    /// or repeated are ignored.
    fn schedule(
        &self,
        snapshot: &CellState,
        job: &Job,
        pending: &[u32],
        rng: &mut PolicyRng,
    ) -> Decision;
}

/// The Omega paper's decision-time model: one attempt takes `t_job + t_task × tasks` of
/// simulated time, where `tasks` counts the tasks the attempt tries to place.
///
/// ```
/// use omega_schedulers::ThinkTime;
/// let service = ThinkTime::new(100_000, 5_000); // the paper's defaults
/// assert_eq!(service.decision_us(10), 150_000);
/// assert_eq!(ThinkTime::new(u64::MAX, 1).decision_us(3), u64::MAX); // saturates
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ThinkTime {
    /// Per-attempt cost, in microseconds.
    pub t_job_us: u64,
    /// Per-task cost, in microseconds.
    pub t_task_us: u64,
}

impl ThinkTime {
    /// A think-time model with the given per-job and per-task costs.
    pub const fn new(t_job_us: u64, t_task_us: u64) -> Self {
        Self {
            t_job_us,
            t_task_us,
        }
    }

    /// `t_job + t_task × tasks`, saturating at `u64::MAX`.
    pub fn decision_us(&self, tasks: usize) -> u64 {
        self.t_task_us
            .saturating_mul(tasks as u64)
            .saturating_add(self.t_job_us)
    }
}

/// What a policy decided for one job: the transaction to commit, how long deciding took in
/// simulated time, and facts the simulator and metrics need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The claims to commit (possibly none). Gang jobs get [`omega_core::CommitMode::Gang`]
    /// and either every pending task or nothing.
    pub transaction: Transaction,
    /// Simulated decision time: `t_job + t_task ×` the number of pending tasks, however
    /// many were placed.
    pub think_time_us: u64,
    /// If set, the run time of every task claimed in this transaction (the MapReduce
    /// policy sets it from the granted worker count); `None` means the job's own durations.
    pub task_duration_us: Option<u64>,
    /// Extra workers granted beyond the job's tasks (MapReduce). Extra worker `i` is task
    /// index `job.tasks + i`.
    pub extra_workers: u32,
    /// Diagnostics.
    pub stats: DecisionStats,
}

impl Decision {
    /// A decision with no MapReduce part and empty diagnostics.
    pub fn new(transaction: Transaction, think_time_us: u64) -> Self {
        Self {
            transaction,
            think_time_us,
            task_duration_us: None,
            extra_workers: 0,
            stats: DecisionStats::default(),
        }
    }
}

/// Diagnostics of one decision: how much work it did and what it could not do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DecisionStats {
    /// Machines looked at (each visit of a machine in any scan counts once).
    pub machines_examined: u64,
    /// Feasible machines scored (service) or compared (power of k choices).
    pub candidates_scored: u64,
    /// Pending tasks not claimed (for an abandoned gang, every pending task).
    pub unplaced: u32,
    /// Running tasks the claims evict.
    pub preemptions: u32,
}
