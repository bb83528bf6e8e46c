//! What a simulation reports: the [`Fact`]s a [`Recorder`] receives, a [`CountingRecorder`]
//! and a [`DigestRecorder`] (a hash of every fact, for determinism tests).
//!
//! Summaries, quantiles and plots live in `omega-metrics`; this module only says what
//! happened and when.

use std::sync::Arc;

use omega_core::{Conflict, JobId, MachineId, Resources, TaskId, UserId};

/// Conflicts of one commit, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConflictCounts {
    /// The machine was not in the cell.
    pub machine_missing: u32,
    /// The machine was down.
    pub machine_down: u32,
    /// Coarse mode: the machine's version had changed.
    pub version_changed: u32,
    /// The machine had no room left.
    pub insufficient_resources: u32,
    /// A preemption victim was gone.
    pub victim_gone: u32,
    /// A malformed claim (a policy bug).
    pub invalid: u32,
}

impl ConflictCounts {
    /// Adds one conflict.
    pub fn add(&mut self, reason: Conflict) {
        match reason {
            Conflict::MachineMissing => self.machine_missing += 1,
            Conflict::MachineDown => self.machine_down += 1,
            Conflict::VersionChanged => self.version_changed += 1,
            Conflict::InsufficientResources => self.insufficient_resources += 1,
            Conflict::VictimGone => self.victim_gone += 1,
            Conflict::Invalid(_) => self.invalid += 1,
        }
    }

    /// All conflicts together.
    pub fn total(&self) -> u32 {
        self.machine_missing
            + self.machine_down
            + self.version_changed
            + self.insufficient_resources
            + self.victim_gone
            + self.invalid
    }

    /// Adds another count to this one.
    pub fn merge(&mut self, other: &ConflictCounts) {
        self.machine_missing += other.machine_missing;
        self.machine_down += other.machine_down;
        self.version_changed += other.version_changed;
        self.insufficient_resources += other.insufficient_resources;
        self.victim_gone += other.victim_gone;
        self.invalid += other.invalid;
    }
}

/// Why a running task stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvictReason {
    /// Its machine failed (reported when the failure is detected).
    MachineFailed,
    /// A higher-priority task preempted it.
    Preempted,
}

/// One fact of a simulation. Times are passed beside it to [`Recorder::record`].
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    /// A job arrived (or, with `prefill`, was running at time 0).
    JobSubmitted {
        /// The job.
        job: JobId,
        /// Its class.
        class: Arc<str>,
        /// Its user.
        user: UserId,
        /// Its task count.
        tasks: u32,
        /// What each task asks for.
        task_resources: Resources,
        /// True for prefill jobs (placed before time 0; not part of wait-time metrics).
        prefill: bool,
    },
    /// A scheduler took a job from its queue and a snapshot.
    AttemptStarted {
        /// Index of the scheduler (see [`crate::SimSummary::schedulers`]).
        scheduler: usize,
        /// The job.
        job: JobId,
        /// Tasks it tries to place.
        pending_tasks: u32,
    },
    /// The scheduler's decision was committed.
    AttemptEnded {
        /// Index of the scheduler.
        scheduler: usize,
        /// The job.
        job: JobId,
        /// Simulated decision time of this attempt.
        think_time_us: u64,
        /// Claims in the transaction.
        claimed: u32,
        /// Claims accepted.
        placed: u32,
        /// Rejected claims by reason.
        conflicts: ConflictCounts,
        /// A gang transaction was rejected as a whole.
        aborted: bool,
    },
    /// A task started running.
    TaskStarted {
        /// The task.
        task: TaskId,
        /// Where.
        machine: MachineId,
        /// What it holds.
        resources: Resources,
        /// How long it will run.
        duration_us: u64,
    },
    /// A task finished.
    TaskFinished {
        /// The task.
        task: TaskId,
        /// Where it ran.
        machine: MachineId,
    },
    /// A task was stopped early and goes back to its scheduler.
    TaskEvicted {
        /// The task.
        task: TaskId,
        /// Where it ran.
        machine: MachineId,
        /// Why.
        reason: EvictReason,
    },
    /// A MapReduce commit accepted extra workers: they and the job's workers accepted with
    /// them run `duration_us` instead of `without_extras_us` (speedup = the ratio). Their
    /// `TaskStarted` / `ExtraWorkerStarted` facts follow.
    ExtraWorkersGranted {
        /// The job.
        job: JobId,
        /// The job's own (requested) workers accepted in the commit.
        workers: u32,
        /// Extra workers accepted.
        extra_workers: u32,
        /// What each of them runs.
        duration_us: u64,
        /// What each requested worker would run alone.
        without_extras_us: u64,
    },
    /// An extra MapReduce worker started (not one of its job's tasks: counted apart from
    /// [`Fact::TaskStarted`]).
    ExtraWorkerStarted {
        /// The worker (index `job.tasks + i`).
        task: TaskId,
        /// Where.
        machine: MachineId,
        /// What it holds.
        resources: Resources,
        /// How long it will run (unless a fellow extra worker is evicted).
        duration_us: u64,
    },
    /// An extra worker ran to its end.
    ExtraWorkerFinished {
        /// The worker.
        task: TaskId,
        /// Where it ran.
        machine: MachineId,
    },
    /// An extra worker stopped early; it is not placed again, and the workers of its grant
    /// take over its part of the work (they end later).
    ExtraWorkerEvicted {
        /// The worker.
        task: TaskId,
        /// Where it ran.
        machine: MachineId,
        /// Why.
        reason: EvictReason,
    },
    /// A machine failed (its tasks are lost; nobody knows yet).
    MachineFailed {
        /// The machine.
        machine: MachineId,
    },
    /// A failure was detected (heartbeat timeout): the machine is marked down.
    FailureDetected {
        /// The machine.
        machine: MachineId,
        /// Tasks lost with it.
        tasks_lost: u32,
        /// Its capacity, now missing from the cell.
        capacity: Resources,
    },
    /// A failed machine is back.
    MachineRecovered {
        /// The machine.
        machine: MachineId,
    },
    /// Two-level: the allocator offered (and locked) free resources to a framework.
    OfferMade {
        /// The framework (scheduler index).
        framework: usize,
        /// Resources offered (everything free that no other offer holds).
        resources: Resources,
        /// How long the framework had waited for it: since it last had queued jobs and no
        /// offer (0 if it never waited, e.g. its work arrived right at an allocation round).
        waited_us: u64,
    },
    /// Two-level: a framework returned what was left of its offer.
    OfferReturned {
        /// The framework.
        framework: usize,
        /// Tasks it placed inside the offer.
        tasks_placed: u32,
        /// How long it held the offer.
        held_us: u64,
    },
    /// Every task of a job has been placed at least once.
    JobFullyScheduled {
        /// The job.
        job: JobId,
    },
    /// Every task of a job finished.
    JobFinished {
        /// The job.
        job: JobId,
    },
    /// A job was given up after too many attempts.
    JobAbandoned {
        /// The job.
        job: JobId,
        /// Tasks it still had to place.
        pending_tasks: u32,
    },
    /// A job cannot run on any machine of the cell.
    JobUnschedulable {
        /// The job.
        job: JobId,
    },
    /// A job was cancelled because a job it depends on was abandoned or cancelled.
    JobCancelled {
        /// The job.
        job: JobId,
    },
    /// A periodic utilisation sample.
    Utilisation {
        /// Resources held by tasks.
        allocated: Resources,
        /// Resources locked in two-level offers (not used by tasks).
        locked: Resources,
        /// Capacity of the machines that are up.
        capacity: Resources,
    },
}

/// Receives every fact of a simulation, in order.
pub trait Recorder {
    /// One fact at simulated time `at_us`.
    fn record(&mut self, at_us: u64, fact: &Fact);
}

/// A recorder that keeps nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullRecorder;

impl Recorder for NullRecorder {
    fn record(&mut self, _at_us: u64, _fact: &Fact) {}
}

/// Counts facts by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountingRecorder {
    /// Jobs submitted (prefill included).
    pub jobs_submitted: u64,
    /// Scheduling attempts.
    pub attempts: u64,
    /// Attempts with at least one conflict.
    pub attempts_with_conflicts: u64,
    /// Attempts that placed at least one task (the paper's successful transactions).
    pub successful_attempts: u64,
    /// Conflicts by reason.
    pub conflicts: ConflictCounts,
    /// Tasks started.
    pub tasks_started: u64,
    /// Tasks finished.
    pub tasks_finished: u64,
    /// Tasks evicted by failures.
    pub tasks_lost: u64,
    /// Tasks preempted.
    pub tasks_preempted: u64,
    /// Grants of extra MapReduce workers.
    pub grants: u64,
    /// Extra MapReduce workers started (not in `tasks_started`).
    pub extra_workers_started: u64,
    /// Extra workers finished (not in `tasks_finished`).
    pub extra_workers_finished: u64,
    /// Extra workers evicted (not in `tasks_lost` or `tasks_preempted`).
    pub extra_workers_evicted: u64,
    /// Machine failures.
    pub machines_failed: u64,
    /// Failures detected.
    pub failures_detected: u64,
    /// Recoveries.
    pub machines_recovered: u64,
    /// Offers made.
    pub offers: u64,
    /// Jobs whose tasks were all placed.
    pub jobs_fully_scheduled: u64,
    /// Jobs finished.
    pub jobs_finished: u64,
    /// Jobs abandoned.
    pub jobs_abandoned: u64,
    /// Jobs unschedulable.
    pub jobs_unschedulable: u64,
    /// Jobs cancelled.
    pub jobs_cancelled: u64,
    /// Utilisation samples.
    pub samples: u64,
}

impl CountingRecorder {
    /// The Omega paper's conflict fraction: attempts that hit a conflict per successful
    /// transaction (one that placed something). It can exceed 1.
    pub fn conflict_fraction(&self) -> f64 {
        if self.successful_attempts == 0 {
            0.0
        } else {
            self.attempts_with_conflicts as f64 / self.successful_attempts as f64
        }
    }
}

impl Recorder for CountingRecorder {
    fn record(&mut self, _at_us: u64, fact: &Fact) {
        match fact {
            Fact::JobSubmitted { .. } => self.jobs_submitted += 1,
            Fact::AttemptStarted { .. } => {}
            Fact::AttemptEnded {
                conflicts, placed, ..
            } => {
                self.attempts += 1;
                if *placed > 0 {
                    self.successful_attempts += 1;
                }
                if conflicts.total() > 0 {
                    self.attempts_with_conflicts += 1;
                }
                self.conflicts.merge(conflicts);
            }
            Fact::TaskStarted { .. } => self.tasks_started += 1,
            Fact::TaskFinished { .. } => self.tasks_finished += 1,
            Fact::TaskEvicted { reason, .. } => match reason {
                EvictReason::MachineFailed => self.tasks_lost += 1,
                EvictReason::Preempted => self.tasks_preempted += 1,
            },
            Fact::ExtraWorkersGranted { .. } => self.grants += 1,
            Fact::ExtraWorkerStarted { .. } => self.extra_workers_started += 1,
            Fact::ExtraWorkerFinished { .. } => self.extra_workers_finished += 1,
            Fact::ExtraWorkerEvicted { .. } => self.extra_workers_evicted += 1,
            Fact::MachineFailed { .. } => self.machines_failed += 1,
            Fact::FailureDetected { .. } => self.failures_detected += 1,
            Fact::MachineRecovered { .. } => self.machines_recovered += 1,
            Fact::OfferMade { .. } => self.offers += 1,
            Fact::OfferReturned { .. } => {}
            Fact::JobFullyScheduled { .. } => self.jobs_fully_scheduled += 1,
            Fact::JobFinished { .. } => self.jobs_finished += 1,
            Fact::JobAbandoned { .. } => self.jobs_abandoned += 1,
            Fact::JobUnschedulable { .. } => self.jobs_unschedulable += 1,
            Fact::JobCancelled { .. } => self.jobs_cancelled += 1,
            Fact::Utilisation { .. } => self.samples += 1,
        }
    }
}

/// A 64-bit FNV-1a digest of every fact and its time: two runs with equal digests saw the
/// same events in the same order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestRecorder {
    /// The digest so far.
    pub digest: u64,
    /// Facts seen.
    pub facts: u64,
}

impl Default for DigestRecorder {
    fn default() -> Self {
        Self {
            digest: 0xcbf2_9ce4_8422_2325,
            facts: 0,
        }
    }
}

impl Recorder for DigestRecorder {
    fn record(&mut self, at_us: u64, fact: &Fact) {
        // `Debug` output of plain data is stable for a given build of the crate.
        let text = format!("{at_us} {fact:?}\n");
        for b in text.bytes() {
            self.digest ^= u64::from(b);
            self.digest = self.digest.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.facts += 1;
    }
}

/// Forwards every fact to two recorders.
#[derive(Debug)]
pub struct Tee<'a, A: Recorder, B: Recorder>(pub &'a mut A, pub &'a mut B);

impl<A: Recorder, B: Recorder> Recorder for Tee<'_, A, B> {
    fn record(&mut self, at_us: u64, fact: &Fact) {
        self.0.record(at_us, fact);
        self.1.record(at_us, fact);
    }
}
