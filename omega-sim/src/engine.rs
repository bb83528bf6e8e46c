//! The engine: one single-threaded event loop, fully determined by its inputs.
//!
//! [`Simulation::new`] builds the [`World`] (cell, schedulers, policies, routes) and the
//! architecture, places the prefill and schedules the first events; [`Simulation::run`]
//! then takes events in time order (`events.rs` documents the tie order) and hands each to
//! the part that owns it:
//!
//! | event | handled by |
//! |---|---|
//! | `Arrival`, `RetryDue` | `jobs.rs` (arrival, dependencies, queueing) |
//! | `Decided` | `attempts.rs` (commit, tasks start) |
//! | `TasksEnd` | `tasks.rs` (task ends, job ends) |
//! | `RandomFailure`, `ScriptedFailure`, `Detect`, `Recover` | `failures.rs` |
//! | `Tick` | the architecture (two-level: an allocation round) |
//! | `Sample` | here: a utilisation fact |
//!
//! Jobs are pulled lazily from the stream, one ahead. Every fact goes to the recorder.

use omega_core::{CellState, Job, Resources};
use omega_schedulers::PolicyConfig;
use omega_workload::FitCheck;

use crate::architecture::{self, Architecture};
use crate::config::{ArchitectureKind, SimConfig};
use crate::events::{Event, EventQueue};
use crate::failures::{self, Failures};
use crate::jobs::{self, JobState, JobTable};
use crate::recorder::{Fact, Recorder};
use crate::tasks::{self, TaskClock};
use crate::world::World;
use crate::{InputTally, SimError, SimSummary, TaskTally, attempts, prefill};

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

/// A running simulation. Build it with [`Simulation::new`], then [`Simulation::run`] (or
/// [`Simulation::run_until`] in steps, checking [`Simulation::check_conservation`]).
pub struct Simulation<'r, R: Recorder> {
    world: World<'r, R>,
    arch: Box<dyn Architecture<R>>,
}

impl<R: Recorder> std::fmt::Debug for Simulation<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("now_us", &self.world.now_us())
            .field("events", &self.world.events.handled())
            .finish_non_exhaustive()
    }
}

impl<'r, R: Recorder> Simulation<'r, R> {
    /// Prepares a simulation: builds the policies, places the prefill at time 0 and
    /// schedules the first events.
    pub fn new(cfg: SimConfig, input: SimInput, recorder: &'r mut R) -> Result<Self, SimError> {
        cfg.validate()?;
        let mut policies = Vec::new();
        for s in &cfg.architecture.schedulers {
            let policy = policy_for(cfg.architecture.kind, &s.policy);
            policies.push(policy.build().map_err(|e| SimError::Config {
                field: format!("architecture.schedulers.{}", s.name),
                reason: e.to_string(),
            })?);
        }
        let (arch, layout) = architecture::build::<R>(&cfg);
        let machines: Vec<omega_core::Machine> =
            input.cell.machines().map(|m| m.spec.clone()).collect();
        let mut world = World {
            events: EventQueue::new(cfg.horizon_us),
            cell: input.cell,
            jobs: JobTable::default(),
            clock: TaskClock::default(),
            failures: Failures::new(cfg.seed),
            schedulers: layout.slots(cfg.seed),
            policies,
            routes: layout.routes,
            fit: FitCheck::new(&machines),
            tally: TaskTally::default(),
            input: InputTally::default(),
            source: input.jobs,
            next_job: None,
            recorder,
            cfg,
        };
        for (job, remaining_us) in input.prefill {
            prefill::place(&mut world, job, remaining_us)?;
        }
        world.pull_next_job();
        world.push(0, Event::Sample);
        if arch.tick_interval_us().is_some() {
            world.push(0, Event::Tick);
        }
        failures::schedule_initial(&mut world);
        Ok(Self { world, arch })
    }

    /// Simulated time now.
    pub fn now_us(&self) -> u64 {
        self.world.now_us()
    }

    /// The cell as it is now.
    pub fn cell(&self) -> &CellState {
        &self.world.cell
    }

    /// How many ended jobs the engine remembers for dependants that may still arrive: the
    /// failed ones (abandoned, unschedulable, cancelled), whose dependants are cancelled.
    /// Finished jobs cost nothing (arrived ids are kept as ranges).
    pub fn failed_jobs_remembered(&self) -> usize {
        self.world.jobs.failed.len()
    }

    /// Runs to the horizon and returns the summary.
    pub fn run(mut self) -> SimSummary {
        let horizon = self.world.cfg.horizon_us;
        self.run_until(horizon);
        self.summary()
    }

    /// Processes every event at or before `until_us` (capped at the horizon).
    pub fn run_until(&mut self, until_us: u64) {
        let until = until_us.min(self.world.cfg.horizon_us);
        while let Some(event) = self.world.events.pop_until(until) {
            self.handle(event);
        }
        self.world.events.advance_to(until);
    }

    /// What happened so far.
    pub fn summary(&self) -> SimSummary {
        let w = &self.world;
        let mut tally = w.tally;
        let live = w.jobs.live.values();
        tally.running = live
            .clone()
            .map(|e| u64::from(e.running - e.extras_running))
            .sum();
        tally.extra_running = live.clone().map(|e| u64::from(e.extras_running)).sum();
        tally.pending = live
            .filter(|e| e.state != JobState::Abandoned)
            .map(|e| e.pending.len() as u64)
            .sum();
        SimSummary {
            end_us: w.now_us(),
            events: w.events.handled(),
            tasks: tally,
            input: w.input,
            schedulers: w.schedulers.iter().map(|s| s.summary.clone()).collect(),
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
        let cell = &self.world.cell;
        let mut sum = Resources::ZERO;
        let mut running = 0u64;
        for (_, p) in cell.running_tasks() {
            sum = sum.checked_add(&p.resources).ok_or("allocation overflow")?;
            running += 1;
        }
        if sum != cell.allocated() {
            return Err(format!(
                "cell allocation {:?} != sum of tasks {sum:?}",
                cell.allocated()
            ));
        }
        if let Some(m) = cell
            .machines()
            .find(|m| !m.state.allocated.fits(&m.spec.capacity))
        {
            return Err(format!("machine {} over capacity", m.id));
        }
        if running != t.running + t.extra_running {
            return Err(format!(
                "cell runs {running} tasks, the engine counts {} and {} extra workers",
                t.running, t.extra_running
            ));
        }
        if t.extra_started != t.extra_finished + t.extra_evicted + t.extra_running {
            return Err(format!("extra workers: {t:?}"));
        }
        Ok(())
    }

    /// Hands `event` to the part of the engine that owns it.
    fn handle(&mut self, event: Event) {
        let (w, arch) = (&mut self.world, self.arch.as_mut());
        match event {
            Event::Arrival => jobs::arrive(w, arch),
            Event::RetryDue(job) => jobs::retry_due(w, arch, job),
            Event::Decided {
                scheduler,
                job,
                decision,
            } => attempts::decided(w, arch, scheduler, job, *decision),
            Event::TasksEnd(ending) => tasks::tasks_end(w, arch, ending),
            Event::RandomFailure => failures::random_failure(w),
            Event::ScriptedFailure { machine, rack } => failures::scripted(w, machine, rack),
            Event::Detect(m) => failures::detect(w, arch, m),
            Event::Recover(m) => failures::recover(w, m),
            Event::Sample => {
                w.record(&Fact::Utilisation {
                    allocated: w.cell.allocated(),
                    locked: arch.locked(),
                    capacity: w.cell.capacity(),
                });
                let next = w.now_us().saturating_add(w.cfg.timing.sample_interval_us);
                w.push(next, Event::Sample);
            }
            Event::Tick => {
                arch.tick(w);
                if let Some(interval_us) = arch.tick_interval_us() {
                    let next = w.now_us().saturating_add(interval_us);
                    w.push(next, Event::Tick);
                }
            }
        }
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
    use omega_core::{FailureDomain, JobId, Machine, TaskId};

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
        sim.world.clock.set_end(ghost, 5_000_000);
        sim.world.push(5_000_000, Event::TasksEnd(vec![ghost]));
        sim.run_until(10_000_000);
    }

    #[test]
    #[should_panic(expected = "time must never run backwards")]
    fn an_event_before_now_is_refused() {
        let mut rec = NullRecorder;
        let mut sim = idle_simulation(&mut rec);
        sim.run_until(10_000_000);
        sim.world.push(9_999_999, Event::Sample);
    }
}
