//! `World`: the state every part of the engine works on — the clock and event queue, the
//! cell, the job table, the task clock, the schedulers and their policies, the tallies and
//! the recorder. The engine loop (`engine.rs`) owns one; the job lifecycle (`jobs.rs`),
//! attempts (`attempts.rs`), task ends (`tasks.rs`), failures (`failures.rs`) and the
//! architectures change it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use omega_core::{CellState, Job, JobId, Resources};
use omega_schedulers::{Policy, PolicyRng};
use omega_workload::FitCheck;

use crate::config::SimConfig;
use crate::events::{Event, EventQueue};
use crate::failures::Failures;
use crate::jobs::JobTable;
use crate::recorder::{Fact, Recorder};
use crate::tasks::TaskClock;
use crate::{InputTally, SchedulerSummary, TaskTally};

/// One scheduler (an Omega scheduler copy, a two-level framework, the monolithic
/// scheduler): its queue, whether it is deciding, its random stream and its tallies.
pub(crate) struct SchedulerSlot {
    /// Jobs waiting for an attempt, in order.
    pub(crate) queue: VecDeque<JobId>,
    /// True while an attempt's think time runs.
    pub(crate) deciding: bool,
    /// The policy's random stream (derived from the seed and the scheduler's name).
    pub(crate) rng: PolicyRng,
    /// What it did.
    pub(crate) summary: SchedulerSummary,
    /// Resources held by its jobs' running tasks (the DRF input in two-level).
    pub(crate) running_resources: Resources,
}

impl SchedulerSlot {
    /// A task of this scheduler's jobs holding `resources` stopped running.
    pub(crate) fn resources_freed(&mut self, resources: &Resources) {
        self.running_resources = self.running_resources.saturating_sub(resources);
    }
}

/// Which scheduler and policy take a job of each class.
#[derive(Clone, Debug, Default)]
pub(crate) struct Routes {
    /// Per class: (first scheduler, copies, policy).
    pub(crate) by_class: BTreeMap<Arc<str>, (usize, u32, usize)>,
    /// For classes no scheduler names.
    pub(crate) default: Option<(usize, u32, usize)>,
}

impl Routes {
    /// The scheduler and policy for `job`; copies of one scheduler share a class's jobs by a
    /// hash of the job id.
    pub(crate) fn route(&self, job: &Job) -> Option<(usize, usize)> {
        let (first, copies, policy) = self.by_class.get(&job.class).copied().or(self.default)?;
        let scheduler = first + (omega_core::splitmix64(job.id.0) % u64::from(copies)) as usize;
        Some((scheduler, policy))
    }
}

/// Everything a running simulation holds but its architecture's own state.
pub(crate) struct World<'r, R: Recorder> {
    pub(crate) cfg: SimConfig,
    pub(crate) events: EventQueue,
    pub(crate) cell: CellState,
    pub(crate) jobs: JobTable,
    pub(crate) clock: TaskClock,
    pub(crate) failures: Failures,
    pub(crate) schedulers: Vec<SchedulerSlot>,
    pub(crate) policies: Vec<Box<dyn Policy + Send + Sync>>,
    pub(crate) routes: Routes,
    /// Which jobs fit some machine of the cell at all.
    pub(crate) fit: FitCheck,
    pub(crate) tally: TaskTally,
    pub(crate) input: InputTally,
    /// The job stream and its next job (pulled one ahead to schedule its arrival).
    pub(crate) source: Box<dyn Iterator<Item = Job> + Send>,
    pub(crate) next_job: Option<Job>,
    pub(crate) recorder: &'r mut R,
}

impl<R: Recorder> World<'_, R> {
    /// Simulated time now.
    pub(crate) fn now_us(&self) -> u64 {
        self.events.now_us()
    }

    /// Records `fact` at the current time.
    pub(crate) fn record(&mut self, fact: &Fact) {
        let now = self.events.now_us();
        self.recorder.record(now, fact);
    }

    /// Schedules `event` at `at_us` (see [`EventQueue::push`]).
    pub(crate) fn push(&mut self, at_us: u64, event: Event) {
        self.events.push(at_us, event);
    }

    /// Pulls the next job of the stream and schedules its arrival (never before now).
    pub(crate) fn pull_next_job(&mut self) {
        self.next_job = self.source.next();
        if let Some(job) = &self.next_job {
            let at = job.submit_at_us.max(self.now_us());
            self.push(at, Event::Arrival);
        }
    }
}
