//! Runs the simulations of an [`ExperimentPlan`], in parallel with rayon, and returns their
//! results in plan order, so the outputs are the same for any number of threads.

use std::time::Instant;

use omega_sim::{ExperimentPlan, PlannedRun, SimSummary, Simulation, build};

use crate::{MetricsError, MetricsOptions, MetricsRecorder, RunMetrics};

/// How often a running simulation reports its simulated time, as a share of its horizon.
const PROGRESS_STEPS: u64 = 200;

/// One finished simulation.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// The run as planned (id, variant, sweep point, resolved experiment).
    pub run: PlannedRun,
    /// The architecture's name (`omega`, `two-level`, ...).
    pub architecture: String,
    /// Machines in the cell the run built.
    pub machines: u32,
    /// The engine's totals.
    pub summary: SimSummary,
    /// What the metrics recorder measured.
    pub metrics: RunMetrics,
    /// What the run cost (varies from run to run; never part of `summary.json`).
    pub cost: RunCost,
}

/// The simulator's cost of one run.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct RunCost {
    /// Wall time of building the input and simulating, in seconds.
    pub wall_s: f64,
    /// Events processed.
    pub events: u64,
    /// Events per second of wall time.
    pub events_per_s: f64,
}

/// Receives progress from running simulations (from several threads at once).
pub trait Progress: Sync {
    /// Run `index` has processed every event up to `now_us` of `horizon_us`.
    fn advanced(&self, index: usize, now_us: u64, horizon_us: u64);
    /// Run `index` finished.
    fn finished(&self, index: usize);
}

/// A [`Progress`] that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advanced(&self, _index: usize, _now_us: u64, _horizon_us: u64) {}
    fn finished(&self, _index: usize) {}
}

/// Runs every simulation of `plan` on `jobs` threads (at least 1) and returns the outcomes
/// in plan order. The first error (in plan order) is returned, naming its run.
pub fn run_plan(
    plan: &ExperimentPlan,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Vec<RunOutcome>, MetricsError> {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| MetricsError::Threads(e.to_string()))?;
    let outcomes: Vec<Result<RunOutcome, MetricsError>> = pool.install(|| {
        plan.runs
            .par_iter()
            .with_max_len(1)
            .map(|run| run_one(run, progress))
            .collect()
    });
    outcomes.into_iter().collect()
}

/// Runs one planned simulation with a [`MetricsRecorder`].
pub fn run_one(run: &PlannedRun, progress: &dyn Progress) -> Result<RunOutcome, MetricsError> {
    let started = Instant::now();
    let sim_error = |source| MetricsError::Run {
        run: run.id.clone(),
        source,
    };
    let experiment = &run.experiment;
    let built = build(experiment).map_err(sim_error)?;
    let input = built.input;
    let machines = u32::try_from(input.cell.machine_count()).unwrap_or(u32::MAX);
    let horizon_us = experiment.horizon_us;
    let mut recorder = MetricsRecorder::new(MetricsOptions {
        horizon_us,
        series_step_us: None,
    });
    let summary = {
        let mut sim =
            Simulation::new(experiment.sim_config(), input, &mut recorder).map_err(sim_error)?;
        let step_us = (horizon_us / PROGRESS_STEPS).max(1);
        let mut until_us = 0u64;
        while until_us < horizon_us {
            until_us = until_us.saturating_add(step_us).min(horizon_us);
            sim.run_until(until_us);
            progress.advanced(run.index, until_us, horizon_us);
        }
        sim.summary()
    };
    // A trace stream that stopped at a read error fails the run.
    built.errors.check().map_err(sim_error)?;
    let metrics = recorder.finish(&summary);
    let wall_s = started.elapsed().as_secs_f64();
    progress.finished(run.index);
    Ok(RunOutcome {
        architecture: experiment.architecture.kind.name().to_owned(),
        machines,
        cost: RunCost {
            wall_s,
            events: summary.events,
            events_per_s: if wall_s > 0.0 {
                summary.events as f64 / wall_s
            } else {
                0.0
            },
        },
        summary,
        metrics,
        run: run.clone(),
    })
}
