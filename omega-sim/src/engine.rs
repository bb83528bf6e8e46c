//! The discrete-event engine: one single-threaded simulation, fully determined by its inputs.
//!
//! Events are ordered by `(at_us, seq)`, `seq` counting insertions, so equal-time events run
//! in the order they were scheduled. Jobs are pulled lazily from the stream. Tasks of one
//! commit that end at the same time end in one event. A scheduler decides on the cell as it
//! is when its attempt starts (its snapshot) and commits when its think time has passed.
//!
//! The three architectures share this engine: monolithic is one worker with one queue;
//! Omega is one worker per scheduler copy; two-level adds the allocator and offers
//! (`offers.rs`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use omega_core::{
    CellState, Claim, Job, JobId, MachineId, Placement, Resources, TaskId, derive_seed,
};
use omega_schedulers::{Decision, Policy, PolicyConfig, PolicyRng};
use omega_workload::FitCheck;
use rand::{Rng, SeedableRng};

use crate::arrived::ArrivedIds;
use crate::config::{ArchitectureKind, SimConfig};
use crate::offers::{Offer, is_lock};
use crate::recorder::{ConflictCounts, EvictReason, Fact, Recorder};
use crate::{InputTally, SchedulerSummary, SimError, SimSummary, TaskTally};

/// What a simulation runs on: the initial cell, jobs already running at time 0, and the
/// stream of jobs in submit order.
pub struct SimInput {
    /// The cell at time 0 (before prefill).
    pub cell: CellState,
    /// Jobs running at time 0, with how long their tasks still run: `Some(us)` for every
    /// task (a synthetic prefill job's residual lifetime), or `None` when the job's own task
    /// durations ([`Job::duration_of`]) are what remains (a trace's running jobs, whose tasks
    /// end at different times).
    pub prefill: Vec<(Job, Option<u64>)>,
    /// Jobs in submit-time order.
    pub jobs: Box<dyn Iterator<Item = Job> + Send>,
}

impl std::fmt::Debug for SimInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimInput")
            .field("machines", &self.cell.machine_count())
            .field("prefill", &self.prefill.len())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for dependencies.
    Blocked,
    /// In its scheduler's queue.
    Queued,
    /// A scheduler is deciding on it.
    InFlight,
    /// Waiting out the retry delay.
    RetryWait,
    /// Nothing to place (all tasks running).
    Idle,
    /// Given up; running tasks may still finish.
    Abandoned,
}

struct JobEntry {
    job: Job,
    pending: Vec<u32>,
    running: u32,
    attempts: u32,
    attempts_without_progress: u32,
    fully_scheduled: bool,
    phase: Phase,
    deps_left: u32,
    dependants: Vec<JobId>,
    worker: usize,
    policy: usize,
    /// Prefill: how long every task still runs (instead of the job's durations).
    duration_override_us: Option<u64>,
    /// Extra MapReduce workers running (included in `running`).
    extras_running: u32,
    /// Grants whose workers still run (see `extras.rs`).
    pools: Vec<crate::extras::Pool>,
}

impl JobEntry {
    /// A job with nothing placed yet, routed to `worker` and `policy`.
    fn new(job: Job, pending: Vec<u32>, phase: Phase, worker: usize, policy: usize) -> Self {
        Self {
            job,
            pending,
            running: 0,
            attempts: 0,
            attempts_without_progress: 0,
            fully_scheduled: false,
            phase,
            deps_left: 0,
            dependants: Vec::new(),
            worker,
            policy,
            duration_override_us: None,
            extras_running: 0,
            pools: Vec::new(),
        }
    }
}

pub(crate) struct Worker {
    pub(crate) queue: VecDeque<JobId>,
    pub(crate) busy: bool,
    rng: PolicyRng,
    pub(crate) summary: SchedulerSummary,
    pub(crate) offer: Option<Offer>,
    /// Resources held by this worker's running tasks (DRF input, two-level).
    pub(crate) allocated: Resources,
    /// Two-level: since when the framework has had queued jobs but no offer.
    pub(crate) wants_offer_since_us: Option<u64>,
}

#[derive(Debug)]
pub(crate) enum Event {
    Arrival,
    Ready(JobId),
    Decided {
        worker: usize,
        job: JobId,
        decision: Box<Decision>,
    },
    TasksEnd(Vec<TaskId>),
    RandomFailure,
    Fail {
        machine: Option<MachineId>,
        rack: Option<u32>,
    },
    Detect(MachineId),
    Recover(MachineId),
    Sample,
    AllocatorTick,
}

struct Scheduled {
    at_us: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at_us, self.seq) == (other.at_us, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_us, self.seq).cmp(&(other.at_us, other.seq))
    }
}

/// A running simulation. Build it with [`Simulation::new`], then [`Simulation::run`] (or
/// [`Simulation::run_until`] in steps, checking [`Simulation::check_conservation`]).
pub struct Simulation<'r, R: Recorder> {
    pub(crate) cfg: SimConfig,
    pub(crate) now_us: u64,
    pub(crate) cell: CellState,
    heap: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    source: Box<dyn Iterator<Item = Job> + Send>,
    next_job: Option<Job>,
    jobs: HashMap<JobId, JobEntry>,
    /// Jobs that ended without finishing (abandoned, unschedulable, cancelled): a later
    /// dependant is cancelled. Finished jobs are not kept; `arrived` tells them from jobs
    /// that never came. Memory: O(failed jobs) here, O(id ranges) there.
    failed: HashSet<JobId>,
    arrived: ArrivedIds,
    task_end: HashMap<TaskId, u64>,
    pub(crate) workers: Vec<Worker>,
    policies: Vec<Box<dyn Policy + Send + Sync>>,
    /// For each job class, the (first worker, copies, policy) that takes it.
    routes: BTreeMap<Arc<str>, (usize, u32, usize)>,
    default_route: Option<(usize, u32, usize)>,
    failed_undetected: std::collections::BTreeSet<MachineId>,
    failure_rng: PolicyRng,
    fit: FitCheck,
    pub(crate) tally: TaskTally,
    input: InputTally,
    events: u64,
    pub(crate) recorder: &'r mut R,
}

impl<R: Recorder> std::fmt::Debug for Simulation<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("now_us", &self.now_us)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl<'r, R: Recorder> Simulation<'r, R> {
    /// Prepares a simulation: builds the policies, places the prefill at time 0 and
    /// schedules the first events.
    pub fn new(cfg: SimConfig, input: SimInput, recorder: &'r mut R) -> Result<Self, SimError> {
        cfg.validate()?;
        let arch = &cfg.architecture;
        let mut policies = Vec::new();
        for s in &arch.schedulers {
            policies.push(policy_for(arch.kind, &s.policy).build().map_err(|e| {
                SimError::Config {
                    field: format!("architecture.schedulers.{}", s.name),
                    reason: e.to_string(),
                }
            })?);
        }
        let copies = |i: usize| match arch.kind {
            ArchitectureKind::Omega => arch.schedulers[i].count,
            _ => 1,
        };
        let mut workers = Vec::new();
        let mut first_worker = Vec::new();
        let monolithic = matches!(
            arch.kind,
            ArchitectureKind::MonolithicSinglePath | ArchitectureKind::MonolithicMultiPath
        );
        for (i, s) in arch.schedulers.iter().enumerate() {
            first_worker.push(workers.len());
            if monolithic && i > 0 {
                continue;
            }
            for k in 0..copies(i) {
                let name = if copies(i) > 1 {
                    format!("{}-{k}", s.name)
                } else if monolithic {
                    "monolithic".to_owned()
                } else {
                    s.name.clone()
                };
                let purpose = format!("placement/{name}");
                workers.push(Worker {
                    summary: SchedulerSummary {
                        name: name.clone(),
                        ..SchedulerSummary::default()
                    },
                    queue: VecDeque::new(),
                    busy: false,
                    rng: PolicyRng::seed_from_u64(derive_seed(cfg.seed, &purpose)),
                    offer: None,
                    allocated: Resources::ZERO,
                    wants_offer_since_us: None,
                });
            }
        }
        let route_of = |i: usize| -> (usize, u32, usize) {
            match arch.kind {
                ArchitectureKind::MonolithicSinglePath => (0, 1, 0),
                ArchitectureKind::MonolithicMultiPath => (0, 1, i),
                _ => (first_worker[i], copies(i), i),
            }
        };
        let mut routes = BTreeMap::new();
        let mut default_route = None;
        for (i, s) in arch.schedulers.iter().enumerate() {
            if s.classes.is_empty() && default_route.is_none() {
                default_route = Some(route_of(i));
            }
            for c in &s.classes {
                routes.entry(Arc::from(c.as_str())).or_insert(route_of(i));
            }
        }
        let machines: Vec<omega_core::Machine> =
            input.cell.machines().map(|m| m.spec.clone()).collect();
        let failure_rng = PolicyRng::seed_from_u64(derive_seed(cfg.seed, "failures"));
        let mut sim = Simulation {
            now_us: 0,
            cell: input.cell,
            heap: BinaryHeap::new(),
            seq: 0,
            source: input.jobs,
            next_job: None,
            jobs: HashMap::new(),
            failed: HashSet::new(),
            arrived: ArrivedIds::default(),
            task_end: HashMap::new(),
            workers,
            policies,
            routes,
            default_route,
            failed_undetected: Default::default(),
            failure_rng,
            fit: FitCheck::new(&machines),
            tally: TaskTally::default(),
            input: InputTally::default(),
            events: 0,
            recorder,
            cfg,
        };
        for (job, remaining_us) in input.prefill {
            sim.place_prefill(job, remaining_us)?;
        }
        sim.pull_next_job();
        sim.push(0, Event::Sample);
        if sim.cfg.architecture.kind == ArchitectureKind::TwoLevel {
            sim.push(0, Event::AllocatorTick);
        }
        for f in sim.cfg.failures.scripted.clone() {
            sim.push(
                f.at_us,
                Event::Fail {
                    machine: f.machine.map(MachineId),
                    rack: f.rack,
                },
            );
        }
        sim.schedule_random_failure();
        Ok(sim)
    }

    /// Simulated time now.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// The cell as it is now.
    pub fn cell(&self) -> &CellState {
        &self.cell
    }

    /// How many ended jobs the engine remembers for dependants that may still arrive: the
    /// failed ones (abandoned, unschedulable, cancelled), whose dependants are cancelled.
    /// Finished jobs cost nothing (arrived ids are kept as ranges).
    pub fn failed_jobs_remembered(&self) -> usize {
        self.failed.len()
    }

    /// Runs to the horizon and returns the summary.
    pub fn run(mut self) -> SimSummary {
        let horizon = self.cfg.horizon_us;
        self.run_until(horizon);
        self.summary()
    }

    /// Processes every event at or before `until_us` (capped at the horizon).
    pub fn run_until(&mut self, until_us: u64) {
        let until = until_us.min(self.cfg.horizon_us);
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.at_us > until {
                break;
            }
            let Some(Reverse(next)) = self.heap.pop() else {
                break;
            };
            self.now_us = next.at_us;
            self.events += 1;
            self.handle(next.event);
        }
        self.now_us = self.now_us.max(until);
    }

    /// What happened so far.
    pub fn summary(&self) -> SimSummary {
        let mut tally = self.tally;
        tally.running = self
            .jobs
            .values()
            .map(|e| u64::from(e.running - e.extras_running))
            .sum::<u64>();
        tally.extra_running = self
            .jobs
            .values()
            .map(|e| u64::from(e.extras_running))
            .sum::<u64>();
        tally.pending = self
            .jobs
            .values()
            .filter(|e| e.phase != Phase::Abandoned)
            .map(|e| e.pending.len() as u64)
            .sum::<u64>();
        SimSummary {
            end_us: self.now_us,
            events: self.events,
            tasks: tally,
            input: self.input,
            schedulers: self.workers.iter().map(|w| w.summary.clone()).collect(),
        }
    }

    /// Checks the conservation invariants now: every submitted task is finished, running,
    /// pending, abandoned, unschedulable or cancelled; the cell's allocation equals the sum
    /// of its running tasks' requests, and the engine's running tasks are the cell's.
    pub fn check_conservation(&self) -> Result<(), String> {
        let t = self.summary().tasks;
        let accounted =
            t.finished + t.running + t.pending + t.abandoned + t.unschedulable + t.cancelled;
        if accounted != t.submitted {
            return Err(format!(
                "tasks: submitted {} but accounted {accounted}: {t:?}",
                t.submitted
            ));
        }
        let mut sum = Resources::ZERO;
        let mut real = 0u64;
        for (task, p) in self.cell.running_tasks() {
            sum = sum.checked_add(&p.resources).ok_or("allocation overflow")?;
            if !is_lock(task) {
                real += 1;
            }
        }
        if sum != self.cell.allocated() {
            return Err(format!(
                "cell allocation {:?} != sum of tasks {sum:?}",
                self.cell.allocated()
            ));
        }
        for m in self.cell.machines() {
            if !m.state.allocated.fits(&m.spec.capacity) {
                return Err(format!("machine {} over capacity", m.id));
            }
        }
        if real != t.running + t.extra_running {
            return Err(format!(
                "cell runs {real} tasks, the engine counts {} and {} extra workers",
                t.running, t.extra_running
            ));
        }
        if t.extra_started != t.extra_finished + t.extra_evicted + t.extra_running {
            return Err(format!("extra workers: {t:?}"));
        }
        Ok(())
    }

    // ----- events --------------------------------------------------------------------

    /// Schedules `event` at `at_us`; events after the horizon are dropped (they could never
    /// run).
    ///
    /// # Panics
    /// If `at_us` is before now: time never runs backwards, so such an event is an
    /// arithmetic bug (an overflow or a wrong base time) in the code that computed it.
    pub(crate) fn push(&mut self, at_us: u64, event: Event) {
        assert!(
            at_us >= self.now_us,
            "event {event:?} scheduled at {at_us} µs, before now ({} µs): time must never run \
             backwards (an overflowing or mis-based time computation)",
            self.now_us
        );
        if at_us > self.cfg.horizon_us {
            return;
        }
        self.seq += 1;
        self.heap.push(Reverse(Scheduled {
            at_us,
            seq: self.seq,
            event,
        }));
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival => self.arrive(),
            Event::Ready(job) => {
                if self
                    .jobs
                    .get(&job)
                    .is_some_and(|e| e.phase == Phase::RetryWait)
                {
                    self.enqueue(job);
                }
            }
            Event::Decided {
                worker,
                job,
                decision,
            } => self.decided(worker, job, *decision),
            Event::TasksEnd(tasks) => self.tasks_end(tasks),
            Event::RandomFailure => self.random_failure(),
            Event::Fail { machine, rack } => {
                if let Some(m) = machine {
                    self.fail(m);
                }
                if let Some(r) = rack {
                    self.fail_rack(omega_core::FailureDomain(r));
                }
            }
            Event::Detect(m) => self.detect(m),
            Event::Recover(m) => {
                if let Ok(next) = self.cell.recover_machine(m) {
                    self.cell = next;
                    self.recorder
                        .record(self.now_us, &Fact::MachineRecovered { machine: m });
                }
            }
            Event::Sample => {
                let locked = self.locked_resources();
                let fact = Fact::Utilisation {
                    allocated: self.cell.allocated().saturating_sub(&locked),
                    locked,
                    capacity: self.cell.capacity(),
                };
                self.recorder.record(self.now_us, &fact);
                let next = self
                    .now_us
                    .saturating_add(self.cfg.timing.sample_interval_us);
                self.push(next, Event::Sample);
            }
            Event::AllocatorTick => {
                self.allocate();
                let next = self
                    .now_us
                    .saturating_add(self.cfg.architecture.allocation_interval_us);
                self.push(next, Event::AllocatorTick);
            }
        }
    }

    fn pull_next_job(&mut self) {
        self.next_job = self.source.next();
        if let Some(job) = &self.next_job {
            let at = job.submit_at_us.max(self.now_us);
            self.push(at, Event::Arrival);
        }
    }

    fn route(&self, job: &Job) -> Option<(usize, usize)> {
        let (first, copies, policy) = self
            .routes
            .get(&job.class)
            .copied()
            .or(self.default_route)?;
        let worker = first + (omega_core::splitmix64(job.id.0) % u64::from(copies)) as usize;
        Some((worker, policy))
    }

    fn arrive(&mut self) {
        let Some(job) = self.next_job.take() else {
            return;
        };
        self.pull_next_job();
        let id = job.id;
        self.arrived.insert(id);
        self.tally.submitted += u64::from(job.tasks);
        self.recorder.record(
            self.now_us,
            &Fact::JobSubmitted {
                job: id,
                class: job.class.clone(),
                user: job.user,
                tasks: job.tasks,
                task_resources: job.task_resources,
                prefill: false,
            },
        );
        let route = self.route(&job);
        let Some((worker, policy)) = route.filter(|_| self.fit.fits(&job)) else {
            self.tally.unschedulable += u64::from(job.tasks);
            self.failed.insert(id);
            self.recorder
                .record(self.now_us, &Fact::JobUnschedulable { job: id });
            return;
        };
        let mut deps_left = 0;
        let mut cancelled = false;
        for dep in &job.depends_on {
            if let Some(d) = self.jobs.get_mut(dep) {
                if d.phase == Phase::Abandoned {
                    cancelled = true;
                } else {
                    d.dependants.push(id);
                    deps_left += 1;
                }
            } else if self.failed.contains(dep) {
                cancelled = true;
            } else if !self.arrived.contains(*dep) {
                // Not arrived (yet): nothing to wait for in submit order. Counted, and the
                // job runs as if the dependency had finished.
                self.input.missing_dependencies += 1;
            }
        }
        if cancelled {
            self.cancel(job.id, job.tasks);
            return;
        }
        let pending = (0..job.tasks).collect();
        let mut entry = JobEntry::new(job, pending, Phase::Blocked, worker, policy);
        entry.deps_left = deps_left;
        self.jobs.insert(id, entry);
        if deps_left == 0 {
            self.enqueue(id);
        }
    }

    fn cancel(&mut self, job: JobId, tasks: u32) {
        self.tally.cancelled += u64::from(tasks);
        self.failed.insert(job);
        self.recorder
            .record(self.now_us, &Fact::JobCancelled { job });
    }

    fn enqueue(&mut self, id: JobId) {
        let Some(e) = self.jobs.get_mut(&id) else {
            return;
        };
        if e.pending.is_empty() {
            e.phase = Phase::Idle;
            return;
        }
        e.phase = Phase::Queued;
        let w = e.worker;
        self.workers[w].queue.push_back(id);
        self.try_start(w);
    }

    /// Starts the next attempt of worker `w` if it is idle and has work (and, in two-level,
    /// an offer).
    pub(crate) fn try_start(&mut self, w: usize) {
        let two_level = self.cfg.architecture.kind == ArchitectureKind::TwoLevel;
        while !self.workers[w].busy {
            if two_level && !self.offer_has_room(w) {
                // A used-up offer goes back to the allocator.
                self.return_offer(w);
                let worker = &mut self.workers[w];
                if !worker.queue.is_empty() {
                    worker.wants_offer_since_us.get_or_insert(self.now_us);
                }
                return;
            }
            let Some(id) = self.workers[w].queue.pop_front() else {
                if two_level {
                    self.return_offer(w);
                }
                return;
            };
            let Some(e) = self.jobs.get_mut(&id) else {
                continue;
            };
            if e.phase != Phase::Queued || e.pending.is_empty() {
                continue;
            }
            e.phase = Phase::InFlight;
            e.attempts += 1;
            let worker = &mut self.workers[w];
            let view = match worker.offer.as_mut() {
                Some(offer) => {
                    offer.jobs_left = offer.jobs_left.saturating_sub(1);
                    &offer.view
                }
                None => &self.cell,
            };
            let decision =
                self.policies[e.policy].schedule(view, &e.job, &e.pending, &mut worker.rng);
            worker.busy = true;
            let fact = Fact::AttemptStarted {
                scheduler: w,
                job: id,
                pending_tasks: e.pending.len() as u32,
            };
            self.recorder.record(self.now_us, &fact);
            let at = self.now_us.saturating_add(decision.think_time_us);
            self.push(
                at,
                Event::Decided {
                    worker: w,
                    job: id,
                    decision: Box::new(decision),
                },
            );
        }
    }

    fn decided(&mut self, w: usize, id: JobId, mut decision: Decision) {
        self.workers[w].busy = false;
        if self.workers[w].offer.is_some() {
            self.unlock_for(w, &mut decision.transaction);
        }
        let txn = &decision.transaction;
        let commit = self.cell.commit(txn);
        self.cell = commit.state.clone();
        let mut conflicts = ConflictCounts::default();
        for r in &commit.rejected {
            conflicts.add(r.reason);
        }
        let placed = commit.accepted.len() as u32;
        let think = decision.think_time_us;
        {
            let s = &mut self.workers[w].summary;
            s.attempts += 1;
            s.busy_us += think;
            s.tasks_placed += u64::from(placed);
            s.conflicts.merge(&conflicts);
            if conflicts.total() > 0 || commit.aborted {
                s.conflicted_attempts += 1;
                s.wasted_us += think;
            }
        }
        self.recorder.record(
            self.now_us,
            &Fact::AttemptEnded {
                scheduler: w,
                job: id,
                think_time_us: think,
                claimed: txn.claims.len() as u32,
                placed,
                conflicts,
                aborted: commit.aborted,
            },
        );
        for (victim, p) in &commit.preempted {
            self.evict(*victim, *p, EvictReason::Preempted);
        }
        let claims: Vec<Claim> = commit
            .accepted
            .iter()
            .map(|&i| txn.claims[i].clone())
            .collect();
        if self.workers[w].offer.is_some() {
            self.relock_after(w, &claims);
        }
        // The policy's `task_duration_us` assumed every extra it proposed; what runs is
        // what the commit accepted.
        let grant = self.grant_of(id, &claims);
        self.start_tasks(id, &claims, grant);
        self.after_attempt(id, placed);
        self.try_start(w);
    }

    /// The MapReduce grant of a commit that accepted `claims` of job `id`, if it accepted
    /// extra workers (`extras.rs`).
    fn grant_of(&self, id: JobId, claims: &[Claim]) -> Option<crate::extras::Grant> {
        let e = self.jobs.get(&id)?;
        let efficiency = match &self.cfg.architecture.schedulers[e.policy].policy {
            PolicyConfig::MapReduce(c) => c.efficiency_percent,
            // Only the MapReduce policy proposes extras; any other counts them at full worth.
            _ => 100,
        };
        crate::extras::grant(&e.job, efficiency, claims, self.now_us)
    }

    /// Starts accepted claims' tasks and schedules their ends, one event per end time. With
    /// a `grant`, every claim runs the grant's duration.
    fn start_tasks(&mut self, id: JobId, claims: &[Claim], grant: Option<crate::extras::Grant>) {
        let Some(e) = self.jobs.get_mut(&id) else {
            return;
        };
        let mut ends: BTreeMap<u64, Vec<TaskId>> = BTreeMap::new();
        let mut placed_indexes: Vec<u32> = Vec::with_capacity(claims.len());
        let mut facts = Vec::with_capacity(claims.len());
        let mut held = Resources::ZERO;
        for c in claims {
            let index = c.task.index;
            let extra = index >= e.job.tasks;
            e.running += 1;
            held = held.checked_add(&c.resources).unwrap_or(held);
            let duration = match (&grant, e.duration_override_us) {
                (Some(g), _) => g.duration_us,
                (None, Some(d)) => d,
                (None, None) => e.job.duration_of(index),
            };
            let end = self.now_us.saturating_add(duration);
            if !self.failed_undetected.contains(&c.machine) {
                self.task_end.insert(c.task, end);
                ends.entry(end).or_default().push(c.task);
            }
            let (task, machine, resources) = (c.task, c.machine, c.resources);
            if extra {
                // An extra MapReduce worker: not one of the job's tasks, counted apart.
                assert!(
                    grant.is_some(),
                    "extra worker {task} started outside a grant"
                );
                self.tally.extra_started += 1;
                e.extras_running += 1;
                facts.push(Fact::ExtraWorkerStarted {
                    task,
                    machine,
                    resources,
                    duration_us: duration,
                });
            } else {
                placed_indexes.push(index);
                facts.push(Fact::TaskStarted {
                    task,
                    machine,
                    resources,
                    duration_us: duration,
                });
            }
        }
        if let Some(g) = grant {
            facts.insert(
                0,
                Fact::ExtraWorkersGranted {
                    job: id,
                    workers: g.own,
                    extra_workers: g.extra,
                    duration_us: g.duration_us,
                    without_extras_us: e.job.task_duration_us,
                },
            );
            e.pools.push(g.pool);
        }
        placed_indexes.sort_unstable();
        e.pending
            .retain(|i| placed_indexes.binary_search(i).is_err());
        let w = e.worker;
        self.workers[w].allocated = self.workers[w].allocated.checked_add(&held).unwrap_or(held);
        for f in &facts {
            self.recorder.record(self.now_us, f);
        }
        for (end, tasks) in ends {
            self.push(end, Event::TasksEnd(tasks));
        }
    }

    /// After a commit: progress, full scheduling, retry or abandonment.
    fn after_attempt(&mut self, id: JobId, placed: u32) {
        let timing = self.cfg.timing.clone();
        let Some(e) = self.jobs.get_mut(&id) else {
            return;
        };
        if placed > 0 {
            e.attempts_without_progress = 0;
        } else {
            e.attempts_without_progress += 1;
        }
        if e.pending.is_empty() {
            e.phase = Phase::Idle;
            if !e.fully_scheduled {
                e.fully_scheduled = true;
                self.recorder
                    .record(self.now_us, &Fact::JobFullyScheduled { job: id });
            }
            self.maybe_finish(id);
            return;
        }
        if e.attempts >= timing.max_attempts
            || e.attempts_without_progress >= timing.max_attempts_without_progress
        {
            self.abandon(id);
            return;
        }
        e.phase = Phase::RetryWait;
        let at = self.now_us.saturating_add(timing.retry_delay_us);
        self.push(at, Event::Ready(id));
    }

    fn abandon(&mut self, id: JobId) {
        let Some(e) = self.jobs.get_mut(&id) else {
            return;
        };
        let pending = e.pending.len() as u32;
        self.tally.abandoned += u64::from(pending);
        e.pending.clear();
        e.phase = Phase::Abandoned;
        let dependants = std::mem::take(&mut e.dependants);
        self.failed.insert(id);
        self.recorder.record(
            self.now_us,
            &Fact::JobAbandoned {
                job: id,
                pending_tasks: pending,
            },
        );
        for d in dependants {
            self.cancel_dependant(d);
        }
        self.maybe_finish(id);
    }

    /// A job whose dependency failed: cancelled with all its tasks (it never ran), and so
    /// are its own dependants.
    fn cancel_dependant(&mut self, id: JobId) {
        let Some(e) = self.jobs.remove(&id) else {
            return;
        };
        self.cancel(id, e.job.tasks);
        for d in e.dependants {
            self.cancel_dependant(d);
        }
    }

    /// Removes a job with nothing pending and nothing running; a finished job releases its
    /// dependants.
    fn maybe_finish(&mut self, id: JobId) {
        let done = self
            .jobs
            .get(&id)
            .is_some_and(|e| e.running == 0 && e.pending.is_empty());
        if !done {
            return;
        }
        let Some(e) = self.jobs.remove(&id) else {
            return;
        };
        if e.phase == Phase::Abandoned {
            return;
        }
        self.recorder
            .record(self.now_us, &Fact::JobFinished { job: id });
        for d in e.dependants {
            let ready = self.jobs.get_mut(&d).is_some_and(|de| {
                de.deps_left = de.deps_left.saturating_sub(1);
                de.deps_left == 0 && de.phase == Phase::Blocked
            });
            if ready {
                self.enqueue(d);
            }
        }
    }

    fn tasks_end(&mut self, tasks: Vec<TaskId>) {
        let now = self.now_us;
        let valid: Vec<TaskId> = tasks
            .into_iter()
            .filter(|t| self.task_end.get(t) == Some(&now))
            .collect();
        if valid.is_empty() {
            return;
        }
        // Every task with an end time is running: `task_end` loses a task whenever it stops
        // (eviction, failure), so a failed release is an engine bug, never input.
        let (next, released) = match self.cell.release_all(valid.iter().copied()) {
            Ok(done) => done,
            Err(e) => panic!(
                "tasks ending at {now} µs are not all running ({e}): the engine's end times \
                 {valid:?} disagree with the cell"
            ),
        };
        self.cell = next;
        let mut jobs_touched = Vec::new();
        for (task, p) in released {
            self.task_end.remove(&task);
            let machine = p.machine;
            let mut extra = false;
            if let Some(e) = self.jobs.get_mut(&task.job) {
                extra = task.index >= e.job.tasks;
                e.running = e.running.saturating_sub(1);
                if extra {
                    e.extras_running = e.extras_running.saturating_sub(1);
                }
                crate::extras::finished(&mut e.pools, task);
                let w = e.worker;
                self.workers[w].allocated = self.workers[w].allocated.saturating_sub(&p.resources);
            }
            if extra {
                self.tally.extra_finished += 1;
                self.recorder
                    .record(now, &Fact::ExtraWorkerFinished { task, machine });
            } else {
                self.tally.finished += 1;
                self.recorder
                    .record(now, &Fact::TaskFinished { task, machine });
            }
            if jobs_touched.last() != Some(&task.job) {
                jobs_touched.push(task.job);
            }
        }
        for j in jobs_touched {
            self.maybe_finish(j);
        }
    }

    /// A task stopped early: it goes back to its job's pending list and queue.
    fn evict(&mut self, task: TaskId, p: Placement, reason: EvictReason) {
        self.task_end.remove(&task);
        let machine = p.machine;
        // Every running task's job is live: it leaves only with nothing running.
        let Some(e) = self.jobs.get_mut(&task.job) else {
            panic!("evicted task {task} belongs to no live job");
        };
        let extra = task.index >= e.job.tasks;
        e.running = e.running.saturating_sub(1);
        let w = e.worker;
        self.workers[w].allocated = self.workers[w].allocated.saturating_sub(&p.resources);
        let moved = crate::extras::leave(&mut e.pools, task, extra, self.now_us);
        if let Some((old_end, new_end, others)) = moved {
            self.stretch(&others, old_end, new_end);
        }
        if extra {
            // An extra MapReduce worker is not placed again: the job simply has fewer.
            self.tally.extra_evicted += 1;
            if let Some(e) = self.jobs.get_mut(&task.job) {
                e.extras_running = e.extras_running.saturating_sub(1);
            }
            self.recorder.record(
                self.now_us,
                &Fact::ExtraWorkerEvicted {
                    task,
                    machine,
                    reason,
                },
            );
            self.maybe_finish(task.job);
            return;
        }
        self.recorder.record(
            self.now_us,
            &Fact::TaskEvicted {
                task,
                machine,
                reason,
            },
        );
        let Some(e) = self.jobs.get_mut(&task.job) else {
            return;
        };
        if e.phase == Phase::Abandoned {
            self.tally.abandoned += 1;
            self.maybe_finish(task.job);
            return;
        }
        if let Err(at) = e.pending.binary_search(&task.index) {
            e.pending.insert(at, task.index);
        }
        if e.phase == Phase::Idle {
            self.enqueue(task.job);
        }
    }

    /// The running `tasks` that were to end at `old_end_us` end at `new_end_us` instead (a
    /// pool lost an extra worker). Their old end event finds them gone and skips them.
    fn stretch(&mut self, tasks: &[TaskId], old_end_us: u64, new_end_us: u64) {
        let mut moved = Vec::with_capacity(tasks.len());
        for t in tasks {
            if let Some(end) = self.task_end.get_mut(t)
                && *end == old_end_us
            {
                *end = new_end_us;
                moved.push(*t);
            }
        }
        if !moved.is_empty() {
            self.push(new_end_us, Event::TasksEnd(moved));
        }
    }

    // ----- failures ------------------------------------------------------------------

    fn schedule_random_failure(&mut self) {
        let Some(mtbf) = self.cfg.failures.machine_mtbf_us else {
            return;
        };
        let n = u64::from(self.cell.slot_count().max(1));
        // The superposition of n exponential per-machine clocks is exponential with mean
        // MTBF / n.
        let u: f64 = self.failure_rng.random::<f64>();
        let gap = (-(1.0 - u).ln() * mtbf as f64 / n as f64).max(1.0) as u64;
        let at = self.now_us.saturating_add(gap);
        self.push(at, Event::RandomFailure);
    }

    fn random_failure(&mut self) {
        let n = self.cell.slot_count();
        if n > 0 {
            let m = MachineId(self.failure_rng.random_range(0..n));
            let whole_rack = self.failure_rng.random::<f64>() < self.cfg.failures.rack_probability;
            match (whole_rack, self.cell.spec(m)) {
                (true, Some(spec)) => {
                    let rack = spec.failure_domain;
                    self.fail_rack(rack);
                }
                _ => self.fail(m),
            }
        }
        self.schedule_random_failure();
    }

    fn fail_rack(&mut self, rack: omega_core::FailureDomain) {
        let machines: Vec<MachineId> = self.cell.machines_in_domain(rack).collect();
        for m in machines {
            self.fail(m);
        }
    }

    /// A machine dies: its tasks stop making progress now, but nobody knows until the
    /// heartbeat timeout.
    fn fail(&mut self, m: MachineId) {
        if !self.cell.machine(m).is_some_and(|v| v.is_up()) || self.failed_undetected.contains(&m) {
            return;
        }
        self.failed_undetected.insert(m);
        let tasks: Vec<TaskId> = self.cell.tasks_on(m).map(|(t, _)| t).collect();
        for t in tasks {
            self.task_end.remove(&t);
        }
        self.recorder
            .record(self.now_us, &Fact::MachineFailed { machine: m });
        // Detected at the first heartbeat tick at or after now + timeout. `validate` keeps
        // horizon + timeout + interval within u64, and now <= horizon, so this cannot
        // overflow; if it did, the detection would lie beyond the horizon anyway.
        let f = &self.cfg.failures;
        let detect = self
            .now_us
            .checked_add(f.heartbeat_timeout_us)
            .and_then(|deadline| {
                deadline
                    .div_ceil(f.heartbeat_interval_us)
                    .checked_mul(f.heartbeat_interval_us)
            });
        if let Some(at) = detect {
            self.push(at, Event::Detect(m));
        }
    }

    fn detect(&mut self, m: MachineId) {
        if !self.failed_undetected.remove(&m) {
            return;
        }
        let Ok((next, evicted)) = self.cell.fail_machine(m) else {
            return;
        };
        self.cell = next;
        let capacity = self.cell.spec(m).map_or(Resources::ZERO, |s| s.capacity);
        let mut lost = 0;
        for (task, p) in evicted {
            if is_lock(task) {
                continue;
            }
            lost += 1;
            self.evict(task, p, EvictReason::MachineFailed);
        }
        self.recorder.record(
            self.now_us,
            &Fact::FailureDetected {
                machine: m,
                tasks_lost: lost,
                capacity,
            },
        );
        let f = &self.cfg.failures;
        let (lo, hi) = (f.recovery_min_us, f.recovery_max_us);
        let delay = if hi > lo {
            self.failure_rng.random_range(lo..=hi)
        } else {
            lo
        };
        let at = self.now_us.saturating_add(delay);
        self.push(at, Event::Recover(m));
    }

    // ----- prefill -------------------------------------------------------------------

    /// Places a job that was running before time 0 with its own policy, at no think time;
    /// tasks that do not fit are dropped (not submitted) and counted in [`InputTally`], and
    /// so are jobs no scheduler takes.
    fn place_prefill(&mut self, job: Job, remaining_us: Option<u64>) -> Result<(), SimError> {
        let Some((worker, policy)) = self.route(&job) else {
            self.input.prefill_jobs_unrouted += 1;
            self.input.prefill_tasks_dropped += u64::from(job.tasks);
            return Ok(());
        };
        let pending: Vec<u32> = (0..job.tasks).collect();
        let mut decision = self.policies[policy].schedule(
            &self.cell,
            &job,
            &pending,
            &mut self.workers[worker].rng,
        );
        // Prefill does not grow MapReduce jobs: only the job's own tasks are placed.
        decision
            .transaction
            .claims
            .retain(|c| c.task.index < job.tasks);
        let commit = self.cell.commit(&decision.transaction);
        let placed = commit.accepted.len() as u32;
        self.input.prefill_tasks_dropped += u64::from(job.tasks - placed);
        if placed == 0 {
            self.input.prefill_jobs_unplaced += 1;
            return Ok(());
        }
        self.cell = commit.state;
        let claims: Vec<Claim> = commit
            .accepted
            .iter()
            .map(|&i| decision.transaction.claims[i].clone())
            .collect();
        let id = job.id;
        self.arrived.insert(id);
        self.tally.submitted += u64::from(placed);
        self.recorder.record(
            0,
            &Fact::JobSubmitted {
                job: id,
                class: job.class.clone(),
                user: job.user,
                tasks: placed,
                task_resources: job.task_resources,
                prefill: true,
            },
        );
        let mut entry = JobEntry::new(job, Vec::new(), Phase::Idle, worker, policy);
        entry.fully_scheduled = true;
        entry.duration_override_us = remaining_us;
        self.jobs.insert(id, entry);
        self.start_tasks(id, &claims, None);
        Ok(())
    }
}

/// The policy configuration a scheduler runs with under `kind`. A two-level framework sees
/// only its offer, never other frameworks' tasks, so it cannot preempt them: the service
/// policy's preemption is turned off there (revocation by the allocator is not modelled).
fn policy_for(kind: ArchitectureKind, policy: &PolicyConfig) -> PolicyConfig {
    match policy {
        PolicyConfig::Service(c) if kind == ArchitectureKind::TwoLevel => {
            PolicyConfig::Service(omega_schedulers::ServiceConfig {
                preemption: false,
                ..c.clone()
            })
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NullRecorder;
    use omega_core::{FailureDomain, Machine};

    fn idle_simulation(recorder: &mut NullRecorder) -> Simulation<'_, NullRecorder> {
        let cfg: SimConfig = toml::from_str(
            "horizon_us = 1_000_000_000\n[architecture]\n[[architecture.schedulers]]\n\
             name = \"all\"\npolicy = { kind = \"batch\" }",
        )
        .expect("a valid config");
        let cell =
            CellState::new((0..2).map(|i| Machine::new("U", 8_000, 8_192, FailureDomain(i))))
                .expect("a valid cell");
        let input = SimInput {
            cell,
            prefill: Vec::new(),
            jobs: Box::new(std::iter::empty()),
        };
        Simulation::new(cfg, input, recorder).expect("a valid simulation")
    }

    #[test]
    #[should_panic(expected = "are not all running")]
    fn an_end_time_for_a_task_that_is_not_running_is_an_engine_bug() {
        let mut rec = NullRecorder;
        let mut sim = idle_simulation(&mut rec);
        let ghost = TaskId::new(JobId(7), 0);
        sim.task_end.insert(ghost, 5_000_000);
        sim.push(5_000_000, Event::TasksEnd(vec![ghost]));
        sim.run_until(10_000_000);
    }

    #[test]
    #[should_panic(expected = "time must never run backwards")]
    fn an_event_before_now_is_refused() {
        let mut rec = NullRecorder;
        let mut sim = idle_simulation(&mut rec);
        sim.run_until(10_000_000);
        sim.push(9_999_999, Event::Sample);
    }
}
