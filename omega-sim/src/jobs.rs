//! The job table and a job's life: arrival, dependencies, queueing, retries, abandonment,
//! cancellation and the end.
//!
//! A job arrives from the stream (`arrive`), waits for its dependencies, is queued at the
//! scheduler its class is routed to (`enqueue`), is tried (`attempts.rs`), waits out the
//! retry delay while tasks are still unplaced (`after_attempt`), and leaves the table when
//! nothing of it is pending or running (`maybe_finish`). A job that fits no machine is
//! unschedulable at arrival; one that keeps failing is abandoned; the dependants of a job
//! that did not finish are cancelled.

use omega_core::{Job, JobId, TaskId};

use crate::architecture::Architecture;
use crate::arrived::ArrivedIds;
use crate::attempts;
use crate::events::Event;
use crate::extras::Pool;
use crate::recorder::{Fact, Recorder};
use crate::world::World;

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobState {
    /// Waiting for jobs it depends on to finish.
    WaitingForDependencies,
    /// In its scheduler's queue.
    Queued,
    /// Its scheduler is deciding on it.
    Deciding,
    /// Waiting out the retry delay.
    WaitingToRetry,
    /// Every task is placed; some still run.
    AllPlaced,
    /// Given up; tasks placed before may still run to their end.
    Abandoned,
}

/// A job in the table.
pub(crate) struct JobEntry {
    pub(crate) job: Job,
    /// Task indexes not running, ascending.
    pub(crate) pending: Vec<u32>,
    /// Tasks running now, extra MapReduce workers included.
    pub(crate) running: u32,
    /// Extra MapReduce workers running (included in `running`).
    pub(crate) extras_running: u32,
    pub(crate) attempts: u32,
    pub(crate) attempts_without_progress: u32,
    /// Set once every task was placed at the same time (reported once).
    pub(crate) fully_scheduled: bool,
    pub(crate) state: JobState,
    /// Dependencies that have not finished yet.
    pub(crate) deps_left: u32,
    pub(crate) dependants: Vec<JobId>,
    pub(crate) scheduler: usize,
    pub(crate) policy: usize,
    /// Prefill: how long every task still runs (instead of the job's durations).
    pub(crate) duration_override_us: Option<u64>,
    /// Grants whose workers still run (see `extras.rs`).
    pub(crate) pools: Vec<Pool>,
}

impl JobEntry {
    /// A job with nothing placed yet, routed to `scheduler` and `policy`.
    pub(crate) fn new(
        job: Job,
        pending: Vec<u32>,
        state: JobState,
        scheduler: usize,
        policy: usize,
    ) -> Self {
        Self {
            job,
            pending,
            running: 0,
            extras_running: 0,
            attempts: 0,
            attempts_without_progress: 0,
            fully_scheduled: false,
            state,
            deps_left: 0,
            dependants: Vec::new(),
            scheduler,
            policy,
            duration_override_us: None,
            pools: Vec::new(),
        }
    }
}

impl JobEntry {
    /// One of the job's running tasks stopped (ended or evicted); true if it was an extra
    /// MapReduce worker.
    pub(crate) fn task_stopped(&mut self, task: TaskId) -> bool {
        let extra = task.index >= self.job.tasks;
        self.running = self.running.saturating_sub(1);
        if extra {
            self.extras_running = self.extras_running.saturating_sub(1);
        }
        extra
    }
}

/// The live jobs, and what is remembered of those that left.
#[derive(Default)]
pub(crate) struct JobTable {
    pub(crate) live: rustc_hash::FxHashMap<JobId, JobEntry>,
    /// Jobs that ended without finishing (abandoned, unschedulable, cancelled): a later
    /// dependant is cancelled. Finished jobs are not kept; `arrived` tells them from jobs
    /// that never came. Memory: O(failed jobs) here, O(id ranges) there.
    pub(crate) failed: rustc_hash::FxHashSet<JobId>,
    pub(crate) arrived: ArrivedIds,
}

/// The next job of the stream is submitted.
pub(crate) fn arrive<R: Recorder>(w: &mut World<'_, R>, arch: &mut dyn Architecture<R>) {
    let Some(job) = w.next_job.take() else {
        return;
    };
    w.pull_next_job();
    let id = job.id;
    w.jobs.arrived.insert(id);
    w.tally.submitted += u64::from(job.tasks);
    w.record(&submitted(&job, job.tasks, false));
    let route = w.routes.route(&job);
    let Some((scheduler, policy)) = route.filter(|_| w.fit.fits(&job)) else {
        w.tally.unschedulable += u64::from(job.tasks);
        w.jobs.failed.insert(id);
        w.record(&Fact::JobUnschedulable { job: id });
        return;
    };
    let Some(deps_left) = wait_for_dependencies(w, &job) else {
        cancel(w, job.id, job.tasks);
        return;
    };
    let pending = (0..job.tasks).collect();
    let mut entry = JobEntry::new(
        job,
        pending,
        JobState::WaitingForDependencies,
        scheduler,
        policy,
    );
    entry.deps_left = deps_left;
    w.jobs.live.insert(id, entry);
    if deps_left == 0 {
        enqueue(w, arch, id);
    }
}

/// The fact that `job` was submitted with `tasks` of its tasks (a prefill job: those that
/// were placed at time 0).
pub(crate) fn submitted(job: &Job, tasks: u32, prefill: bool) -> Fact {
    Fact::JobSubmitted {
        job: job.id,
        class: job.class.clone(),
        user: job.user,
        tasks,
        task_resources: job.task_resources,
        prefill,
    }
}

/// Registers `job` with the live jobs it depends on; returns how many it waits for, or
/// `None` if one of them failed (the job is to be cancelled).
fn wait_for_dependencies<R: Recorder>(w: &mut World<'_, R>, job: &Job) -> Option<u32> {
    let mut deps_left = 0;
    let mut cancelled = false;
    for dep in &job.depends_on {
        if let Some(d) = w.jobs.live.get_mut(dep) {
            if d.state == JobState::Abandoned {
                cancelled = true;
            } else {
                d.dependants.push(job.id);
                deps_left += 1;
            }
        } else if w.jobs.failed.contains(dep) {
            cancelled = true;
        } else if !w.jobs.arrived.contains(*dep) {
            // Not arrived (yet): nothing to wait for in submit order. Counted, and the
            // job runs as if the dependency had finished.
            w.input.missing_dependencies += 1;
        }
    }
    (!cancelled).then_some(deps_left)
}

/// Cancels a job of `tasks` tasks that never ran.
fn cancel<R: Recorder>(w: &mut World<'_, R>, job: JobId, tasks: u32) {
    w.tally.cancelled += u64::from(tasks);
    w.jobs.failed.insert(job);
    w.record(&Fact::JobCancelled { job });
}

/// Puts job `id` in its scheduler's queue (or marks it all placed if nothing is pending)
/// and lets the scheduler start an attempt if it is idle.
pub(crate) fn enqueue<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    id: JobId,
) {
    let Some(e) = w.jobs.live.get_mut(&id) else {
        return;
    };
    if e.pending.is_empty() {
        e.state = JobState::AllPlaced;
        return;
    }
    e.state = JobState::Queued;
    let s = e.scheduler;
    w.schedulers[s].queue.push_back(id);
    attempts::try_start(w, arch, s);
}

/// A job's retry delay is over.
pub(crate) fn retry_due<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    id: JobId,
) {
    if w.jobs
        .live
        .get(&id)
        .is_some_and(|e| e.state == JobState::WaitingToRetry)
    {
        enqueue(w, arch, id);
    }
}

/// After a commit that placed `placed` tasks of job `id`: progress, full scheduling, retry
/// or abandonment.
pub(crate) fn after_attempt<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    id: JobId,
    placed: u32,
) {
    let timing = &w.cfg.timing;
    let (max_attempts, max_stuck, retry_delay_us) = (
        timing.max_attempts,
        timing.max_attempts_without_progress,
        timing.retry_delay_us,
    );
    let Some(e) = w.jobs.live.get_mut(&id) else {
        return;
    };
    if placed > 0 {
        e.attempts_without_progress = 0;
    } else {
        e.attempts_without_progress += 1;
    }
    if e.pending.is_empty() {
        e.state = JobState::AllPlaced;
        if !e.fully_scheduled {
            e.fully_scheduled = true;
            w.record(&Fact::JobFullyScheduled { job: id });
        }
        maybe_finish(w, arch, id);
        return;
    }
    if e.attempts >= max_attempts || e.attempts_without_progress >= max_stuck {
        abandon(w, arch, id);
        return;
    }
    e.state = JobState::WaitingToRetry;
    let at = w.now_us().saturating_add(retry_delay_us);
    w.push(at, Event::RetryDue(id));
}

/// Gives up on job `id`: its pending tasks are abandoned, its dependants cancelled.
fn abandon<R: Recorder>(w: &mut World<'_, R>, arch: &mut dyn Architecture<R>, id: JobId) {
    let Some(e) = w.jobs.live.get_mut(&id) else {
        return;
    };
    let pending = e.pending.len() as u32;
    w.tally.abandoned += u64::from(pending);
    e.pending.clear();
    e.state = JobState::Abandoned;
    let dependants = std::mem::take(&mut e.dependants);
    w.jobs.failed.insert(id);
    w.record(&Fact::JobAbandoned {
        job: id,
        pending_tasks: pending,
    });
    for d in dependants {
        cancel_dependant(w, d);
    }
    maybe_finish(w, arch, id);
}

/// A job whose dependency failed: cancelled with all its tasks (it never ran), and so are
/// its own dependants.
fn cancel_dependant<R: Recorder>(w: &mut World<'_, R>, id: JobId) {
    let Some(e) = w.jobs.live.remove(&id) else {
        return;
    };
    cancel(w, id, e.job.tasks);
    for d in e.dependants {
        cancel_dependant(w, d);
    }
}

/// Removes a job with nothing pending and nothing running; a finished job releases its
/// dependants.
pub(crate) fn maybe_finish<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    id: JobId,
) {
    let done = w
        .jobs
        .live
        .get(&id)
        .is_some_and(|e| e.running == 0 && e.pending.is_empty());
    if !done {
        return;
    }
    let Some(e) = w.jobs.live.remove(&id) else {
        return;
    };
    if e.state == JobState::Abandoned {
        return;
    }
    w.record(&Fact::JobFinished { job: id });
    for d in e.dependants {
        let ready = w.jobs.live.get_mut(&d).is_some_and(|de| {
            de.deps_left = de.deps_left.saturating_sub(1);
            de.deps_left == 0 && de.state == JobState::WaitingForDependencies
        });
        if ready {
            enqueue(w, arch, d);
        }
    }
}
