//! [`MetricsRecorder`]: the streaming recorder that turns a simulation's facts into
//! [`RunMetrics`] (every metric of `METRICS.md`).
//!
//! It keeps per-job state only while a job is alive (from its submission until it finished,
//! or was abandoned and its last task stopped, or was found unschedulable or cancelled), and
//! otherwise fixed-size accumulators: counters and histograms per (scheduler, class) group,
//! per-day and per-step totals, and one slot a step for each series. So its memory follows
//! the jobs alive at once and the run's length, never the number of events.

use std::collections::BTreeMap;
use std::sync::Arc;

use omega_core::{JobId, MachineId, Resources, TaskId, UserId};
use omega_sim::{EvictReason, Fact, Recorder, SimSummary};
use serde::{Deserialize, Serialize};

use crate::RunMetrics;
use crate::daily::DAY_US;
use crate::fairness::{dominant_share, jain_index};
use crate::groups::{Grid, GroupStats};
use crate::id_map::IdMap;
use crate::output;
use crate::quantile::Histogram;
use crate::series::{StepSignal, StepTotals, default_step_us};

/// How a [`MetricsRecorder`] measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsOptions {
    /// The run's horizon, in µs (chooses the default series step).
    pub horizon_us: u64,
    /// The series step, in µs; `None`: [`default_step_us`] of the horizon, so a series has
    /// at most about 2,000 points (1 minute for a day, 10 minutes for a week).
    pub series_step_us: Option<u64>,
}

/// What the recorder knows about one live job.
#[derive(Debug)]
pub(crate) struct JobState {
    pub(crate) submitted_at_us: u64,
    pub(crate) class: usize,
    user: usize,
    /// Task indexes below this are the job's own tasks; above are extra MapReduce workers.
    own_tasks: u32,
    task_resources: Resources,
    /// The scheduler of its attempts (a job is always routed to the same one).
    pub(crate) scheduler: Option<usize>,
    pending: u32,
    running: u32,
    pub(crate) prefill: bool,
    pub(crate) fully_scheduled: bool,
    /// Abandoned: nothing more will be placed; the state goes when its last task stops.
    pub(crate) abandoned: bool,
    /// Own tasks lost to a machine failure and not started again: (index, failed at).
    pub(crate) lost: Vec<(u32, u64)>,
}

/// Held resources and pending tasks of one class or user.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Share {
    pub(crate) held: Resources,
    pub(crate) pending: u64,
}

impl Share {
    fn hold(&mut self, r: &Resources) {
        self.held = self.held.checked_add(r).unwrap_or(self.held);
    }

    fn release(&mut self, r: &Resources) {
        self.held = self.held.saturating_sub(r);
    }
}

/// Per scheduler (by index): busy time by day and by step, and its offers (two-level).
#[derive(Debug)]
pub(crate) struct SchedulerTrack {
    pub(crate) busy_by_day: StepTotals,
    pub(crate) busy_by_step: StepTotals,
    pub(crate) offers_made: u64,
    pub(crate) offer_wait: Histogram,
    pub(crate) offer_held: Histogram,
    pub(crate) offer_tasks_placed: u64,
    /// Two-level: what its outstanding offer still locks (offered minus placed since).
    locked: Resources,
}

/// The cell-wide signals sampled from `Fact::Utilisation`.
#[derive(Debug)]
pub(crate) struct CellSignals {
    pub(crate) cpu: StepSignal,
    pub(crate) gpu: StepSignal,
    pub(crate) mem: StepSignal,
    pub(crate) locked: StepSignal,
    pub(crate) jain_classes: StepSignal,
    pub(crate) jain_users: StepSignal,
    pub(crate) class_shares: Vec<StepSignal>,
    /// Tasks pending per class, at the samples.
    pub(crate) class_pending: Vec<StepSignal>,
    pub(crate) samples: u64,
    /// Capacity of the up machines at the last sample.
    capacity: Resources,
}

/// Whole-run failure counts.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FailureCounts {
    pub(crate) machines_failed: u64,
    pub(crate) failures_detected: u64,
    pub(crate) machines_recovered: u64,
}

/// A [`Recorder`] that measures everything `METRICS.md` defines, in one pass and bounded
/// memory; [`MetricsRecorder::finish`] turns it into [`RunMetrics`].
///
/// ```
/// use omega_metrics::{MetricsOptions, MetricsRecorder};
/// use omega_sim::{Experiment, run_experiment};
/// let experiment = Experiment::from_toml(r#"
///     seed = 3
///     horizon_us = 300_000_000
///     [cluster]
///     preset = "seed"
///     machines = 20
///     [workload]
///     preset = "seed"
///     [architecture]
///     kind = "omega"
///     [[architecture.schedulers]]
///     name = "batch"
///     classes = ["batch"]
///     policy = { kind = "batch" }
///     [[architecture.schedulers]]
///     name = "service"
///     classes = ["service"]
///     policy = { kind = "service" }
/// "#)?;
/// let mut recorder = MetricsRecorder::new(MetricsOptions {
///     horizon_us: experiment.horizon_us,
///     series_step_us: None,
/// });
/// let summary = run_experiment(&experiment, &mut recorder)?;
/// let metrics = recorder.finish(&summary);
/// let busy = metrics.get("batch", "", "busyness").unwrap_or(-1.0);
/// assert!((0.0..=1.0).contains(&busy));
/// # Ok::<(), omega_sim::SimError>(())
/// ```
#[derive(Debug)]
pub struct MetricsRecorder {
    pub(crate) step_us: u64,
    pub(crate) classes: Vec<Arc<str>>,
    class_index: BTreeMap<Arc<str>, usize>,
    pub(crate) class_shares: Vec<Share>,
    user_index: IdMap<UserId, usize>,
    user_shares: Vec<Share>,
    pub(crate) jobs: IdMap<JobId, JobState>,
    pub(crate) grid: Grid,
    pub(crate) schedulers: Vec<SchedulerTrack>,
    pub(crate) cell: CellSignals,
    /// Machines failed and not yet detected: when they failed.
    failed_at: BTreeMap<MachineId, u64>,
    pub(crate) failures: FailureCounts,
}

impl MetricsRecorder {
    /// A recorder for a run of `options.horizon_us`.
    pub fn new(options: MetricsOptions) -> Self {
        let step_us = options
            .series_step_us
            .filter(|&s| s > 0)
            .unwrap_or_else(|| default_step_us(options.horizon_us));
        Self {
            step_us,
            classes: Vec::new(),
            class_index: BTreeMap::new(),
            class_shares: Vec::new(),
            user_index: IdMap::default(),
            user_shares: Vec::new(),
            jobs: IdMap::default(),
            grid: Grid::default(),
            schedulers: Vec::new(),
            cell: CellSignals {
                cpu: StepSignal::new(step_us),
                gpu: StepSignal::new(step_us),
                mem: StepSignal::new(step_us),
                locked: StepSignal::new(step_us),
                jain_classes: StepSignal::new(step_us),
                jain_users: StepSignal::new(step_us),
                class_shares: Vec::new(),
                class_pending: Vec::new(),
                samples: 0,
                capacity: Resources::ZERO,
            },
            failed_at: BTreeMap::new(),
            failures: FailureCounts::default(),
        }
    }

    /// The series step in use, in µs.
    pub fn step_us(&self) -> u64 {
        self.step_us
    }

    /// Jobs whose state the recorder holds now (the live ones).
    pub fn live_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Everything measured, given the run's summary: scheduler names are
    /// `summary.schedulers[i].name`, the run ends at `summary.end_us`, and the conservation
    /// counts (`tally.*`) are the summary's. Jobs still alive at the end are counted as
    /// censored (`jobs_censored.*`).
    pub fn finish(self, summary: &SimSummary) -> RunMetrics {
        output::build(self, summary)
    }

    fn class_of(&mut self, class: &Arc<str>) -> usize {
        if let Some(&c) = self.class_index.get(class) {
            return c;
        }
        let c = self.classes.len();
        self.classes.push(class.clone());
        self.class_index.insert(class.clone(), c);
        self.class_shares.push(Share::default());
        self.cell.class_shares.push(StepSignal::new(self.step_us));
        self.cell.class_pending.push(StepSignal::new(self.step_us));
        c
    }

    fn user_of(&mut self, user: UserId) -> usize {
        let next = self.user_shares.len();
        let u = *self.user_index.entry(user).or_insert(next);
        if u == next {
            self.user_shares.push(Share::default());
        }
        u
    }

    pub(crate) fn ensure_scheduler(&mut self, s: usize) -> &mut SchedulerTrack {
        while self.schedulers.len() <= s {
            self.schedulers.push(SchedulerTrack {
                busy_by_day: StepTotals::new(DAY_US),
                busy_by_step: StepTotals::new(self.step_us),
                offers_made: 0,
                offer_wait: Histogram::default(),
                offer_held: Histogram::default(),
                offer_tasks_placed: 0,
                locked: Resources::ZERO,
            });
        }
        &mut self.schedulers[s]
    }

    /// Changes the pending count of a job's class and user by `delta` tasks.
    fn pending_delta(&mut self, class: usize, user: usize, delta: i64) {
        for share in [&mut self.class_shares[class], &mut self.user_shares[user]] {
            share.pending = share.pending.saturating_add_signed(delta);
        }
    }

    fn submitted(&mut self, at_us: u64, fact: &Fact) {
        let Fact::JobSubmitted {
            job,
            class,
            user,
            tasks,
            task_resources,
            prefill,
        } = fact
        else {
            return;
        };
        let c = self.class_of(class);
        let u = self.user_of(*user);
        let pending = if *prefill { 0 } else { *tasks };
        let state = JobState {
            submitted_at_us: at_us,
            class: c,
            user: u,
            own_tasks: if *prefill { 0 } else { *tasks },
            task_resources: *task_resources,
            scheduler: None,
            pending,
            running: 0,
            prefill: *prefill,
            fully_scheduled: *prefill,
            abandoned: false,
            lost: Vec::new(),
        };
        self.pending_delta(c, u, i64::from(pending));
        self.grid.apply(None, Some(c), |g| {
            if *prefill {
                g.prefill_jobs += 1;
            } else {
                g.jobs_submitted += 1;
            }
        });
        self.jobs.insert(*job, state);
    }

    fn attempt_started(&mut self, at_us: u64, scheduler: usize, job: JobId) {
        let Some(state) = self.jobs.get_mut(&job) else {
            return;
        };
        if state.scheduler.is_some() {
            return;
        }
        state.scheduler = Some(scheduler);
        let (c, prefill, wait_us) = (
            state.class,
            state.prefill,
            at_us.saturating_sub(state.submitted_at_us),
        );
        self.grid.apply_scheduler_only(scheduler, Some(c), |g| {
            if prefill {
                g.prefill_jobs += 1;
            } else {
                g.jobs_submitted += 1;
            }
        });
        if !prefill {
            self.grid
                .apply(Some(scheduler), Some(c), |g| g.wait_first.record(wait_us));
        }
    }

    fn attempt_ended(&mut self, at_us: u64, fact: &Fact) {
        let Fact::AttemptEnded {
            scheduler,
            job,
            think_time_us,
            placed,
            conflicts,
            aborted,
            ..
        } = fact
        else {
            return;
        };
        let class = self.jobs.get(job).map(|j| j.class);
        let conflicted = conflicts.total() > 0 || *aborted;
        let think = *think_time_us;
        self.grid.apply(Some(*scheduler), class, |g| {
            g.attempts += 1;
            g.successful_attempts += u64::from(*placed > 0);
            g.add_conflicts(conflicts);
            g.busy_us += think;
            if conflicted {
                g.conflicted_attempts += 1;
                g.wasted_us += think;
            }
        });
        let track = self.ensure_scheduler(*scheduler);
        let start = at_us.saturating_sub(think);
        track.busy_by_day.add(start, at_us);
        track.busy_by_step.add(start, at_us);
    }

    fn task_started(&mut self, at_us: u64, task: TaskId) {
        let Some(state) = self.jobs.get_mut(&task.job) else {
            return;
        };
        let initial_prefill = state.prefill && at_us == 0 && state.scheduler.is_none();
        if initial_prefill {
            state.own_tasks = state.own_tasks.max(task.index.saturating_add(1));
        }
        let own = task.index < state.own_tasks;
        state.running += 1;
        let (c, u, s, res) = (
            state.class,
            state.user,
            state.scheduler,
            state.task_resources,
        );
        let mut restarted_after_us = None;
        if own && !initial_prefill {
            state.pending = state.pending.saturating_sub(1);
            if let Some(pos) = state.lost.iter().position(|(i, _)| *i == task.index) {
                let (_, lost_at_us) = state.lost.swap_remove(pos);
                restarted_after_us = Some(at_us.saturating_sub(lost_at_us));
            }
            self.pending_delta(c, u, -1);
        }
        self.class_shares[c].hold(&res);
        self.user_shares[u].hold(&res);
        if let Some(track) = s.and_then(|s| self.schedulers.get_mut(s)) {
            if !track.locked.is_zero() {
                // Two-level: a framework places only inside its offer.
                track.locked = track.locked.saturating_sub(&res);
                self.locked_changed(at_us);
            }
        }
        self.grid.apply(s, Some(c), |g| {
            if !own {
                g.extra_tasks += 1;
            }
            if let Some(us) = restarted_after_us {
                g.reschedule.record(us);
            }
        });
    }

    /// A task stopped (finished or evicted): its resources go back.
    fn task_stopped(&mut self, task: TaskId, evicted: Option<(EvictReason, MachineId, u64)>) {
        let Some(state) = self.jobs.get_mut(&task.job) else {
            return;
        };
        state.running = state.running.saturating_sub(1);
        let own = task.index < state.own_tasks;
        let (c, u, s, res, prefill) = (
            state.class,
            state.user,
            state.scheduler,
            state.task_resources,
            state.prefill,
        );
        let mut requeued = false;
        if let Some((reason, machine, now_us)) = evicted {
            if own && !state.abandoned {
                state.pending += 1;
                requeued = true;
                if reason == EvictReason::MachineFailed {
                    let failed_at = self.failed_at.get(&machine).copied().unwrap_or(now_us);
                    state.lost.push((task.index, failed_at));
                }
            }
        }
        let gone = state.abandoned && state.running == 0;
        if requeued {
            self.pending_delta(c, u, 1);
        }
        self.class_shares[c].release(&res);
        self.user_shares[u].release(&res);
        self.grid.apply(s, Some(c), |g| match evicted {
            Some((EvictReason::Preempted, ..)) => g.tasks_preempted += 1,
            Some((EvictReason::MachineFailed, ..)) => g.tasks_lost += 1,
            None if !own => g.extra_tasks_finished += 1,
            None if prefill => g.prefill_tasks_finished += 1,
            None => g.tasks_finished += 1,
        });
        if gone {
            self.remove_job(task.job);
        }
    }

    /// Forgets a job: what it still held or had pending leaves its class and user.
    fn remove_job(&mut self, job: JobId) -> Option<JobState> {
        let state = self.jobs.remove(&job)?;
        let held = state
            .task_resources
            .checked_mul(u64::from(state.running))
            .unwrap_or(Resources::ZERO);
        for share in [
            &mut self.class_shares[state.class],
            &mut self.user_shares[state.user],
        ] {
            share.release(&held);
            share.pending = share.pending.saturating_sub(u64::from(state.pending));
        }
        Some(state)
    }

    fn job_fully_scheduled(&mut self, at_us: u64, job: JobId) {
        let Some(state) = self.jobs.get_mut(&job) else {
            return;
        };
        if state.fully_scheduled {
            return;
        }
        state.fully_scheduled = true;
        let wait_us = at_us.saturating_sub(state.submitted_at_us);
        let (s, c) = (state.scheduler, state.class);
        self.grid.apply(s, Some(c), |g| g.wait_full.record(wait_us));
    }

    /// A job reached an end: finished, unschedulable or cancelled (abandoned is apart).
    fn job_ended(&mut self, job: JobId, count: fn(&mut GroupStats)) {
        let Some(state) = self.remove_job(job) else {
            return;
        };
        if !state.prefill {
            self.grid.apply(state.scheduler, Some(state.class), count);
        }
    }

    fn job_abandoned(&mut self, job: JobId) {
        let Some(state) = self.jobs.get_mut(&job) else {
            return;
        };
        state.abandoned = true;
        state.lost.clear();
        let (c, u, s, pending, running) = (
            state.class,
            state.user,
            state.scheduler,
            state.pending,
            state.running,
        );
        state.pending = 0;
        self.pending_delta(c, u, -i64::from(pending));
        self.grid.apply(s, Some(c), |g| g.jobs_abandoned += 1);
        if running == 0 {
            self.remove_job(job);
        }
    }

    /// Two-level: the share of the cell locked in offers changed (or the capacity did).
    fn locked_changed(&mut self, at_us: u64) {
        let locked = self.schedulers.iter().fold(Resources::ZERO, |sum, t| {
            sum.checked_add(&t.locked).unwrap_or(sum)
        });
        let capacity = self.cell.capacity;
        let share = (!capacity.is_zero()).then(|| dominant_share(&locked, &capacity));
        self.cell.locked.set(at_us, share);
    }

    fn utilisation(&mut self, at_us: u64, allocated: &Resources, capacity: &Resources) {
        let ratio = |used: u64, total: u64| (total > 0).then(|| used as f64 / total as f64);
        let cell = &mut self.cell;
        cell.samples += 1;
        cell.cpu
            .set(at_us, ratio(allocated.cpu_milli, capacity.cpu_milli));
        cell.gpu
            .set(at_us, ratio(allocated.gpu_milli, capacity.gpu_milli));
        cell.mem
            .set(at_us, ratio(allocated.mem_mib, capacity.mem_mib));
        cell.capacity = *capacity;
        let any_capacity = !capacity.is_zero();
        let mut starved = Vec::new();
        for (c, share) in self.class_shares.iter().enumerate() {
            let x = dominant_share(&share.held, capacity);
            cell.class_shares[c].set(at_us, any_capacity.then_some(x));
            cell.class_pending[c].set(at_us, Some(share.pending as f64));
            if share.pending > 0 {
                starved.push(x);
            }
        }
        cell.jain_classes
            .set(at_us, any_capacity.then(|| jain_index(&starved)));
        starved.clear();
        for share in self.user_shares.iter().filter(|s| s.pending > 0) {
            starved.push(dominant_share(&share.held, capacity));
        }
        cell.jain_users
            .set(at_us, any_capacity.then(|| jain_index(&starved)));
        self.locked_changed(at_us);
    }

    fn offer_made(&mut self, at_us: u64, framework: usize, offered: &Resources, waited_us: u64) {
        let track = self.ensure_scheduler(framework);
        track.offers_made += 1;
        track.offer_wait.record(waited_us);
        track.locked = *offered;
        self.locked_changed(at_us);
    }

    fn offer_returned(&mut self, at_us: u64, framework: usize, tasks_placed: u32, held_us: u64) {
        let track = self.ensure_scheduler(framework);
        track.offer_held.record(held_us);
        track.offer_tasks_placed += u64::from(tasks_placed);
        track.locked = Resources::ZERO;
        self.locked_changed(at_us);
    }
}

impl Recorder for MetricsRecorder {
    fn record(&mut self, at_us: u64, fact: &Fact) {
        match fact {
            Fact::JobSubmitted { .. } => self.submitted(at_us, fact),
            Fact::AttemptStarted { scheduler, job, .. } => {
                self.attempt_started(at_us, *scheduler, *job);
            }
            Fact::AttemptEnded { .. } => self.attempt_ended(at_us, fact),
            // Extra MapReduce workers have facts of their own; the handlers tell them from
            // the job's tasks by index, as they did when extras came as task facts.
            Fact::TaskStarted { task, .. } | Fact::ExtraWorkerStarted { task, .. } => {
                self.task_started(at_us, *task);
            }
            Fact::TaskFinished { task, .. } | Fact::ExtraWorkerFinished { task, .. } => {
                self.task_stopped(*task, None);
            }
            Fact::TaskEvicted {
                task,
                machine,
                reason,
            }
            | Fact::ExtraWorkerEvicted {
                task,
                machine,
                reason,
            } => self.task_stopped(*task, Some((*reason, *machine, at_us))),
            Fact::ExtraWorkersGranted { .. } => {}
            Fact::MachineFailed { machine } => {
                self.failures.machines_failed += 1;
                self.failed_at.insert(*machine, at_us);
            }
            Fact::FailureDetected { machine, .. } => {
                self.failures.failures_detected += 1;
                self.failed_at.remove(machine);
            }
            Fact::MachineRecovered { .. } => self.failures.machines_recovered += 1,
            Fact::OfferMade {
                framework,
                resources,
                waited_us,
                ..
            } => self.offer_made(at_us, *framework, resources, *waited_us),
            Fact::OfferReturned {
                framework,
                tasks_placed,
                held_us,
            } => self.offer_returned(at_us, *framework, *tasks_placed, *held_us),
            Fact::JobFullyScheduled { job } => self.job_fully_scheduled(at_us, *job),
            Fact::JobFinished { job } => self.job_ended(*job, |g| g.jobs_finished += 1),
            Fact::JobAbandoned { job, .. } => self.job_abandoned(*job),
            Fact::JobUnschedulable { job } => {
                self.job_ended(*job, |g| g.jobs_unschedulable += 1);
            }
            Fact::JobCancelled { job } => self.job_ended(*job, |g| g.jobs_cancelled += 1),
            // The locked share is followed offer by offer (a sample every minute rarely
            // catches an offer that lives a second), so the sample's `locked` is not used.
            Fact::Utilisation {
                allocated,
                capacity,
                ..
            } => self.utilisation(at_us, allocated, capacity),
        }
    }
}
