//! The batch policy: fast and simple. Three ways to pick a machine for each task:
//! - randomized first fit, the Omega paper simulator's rule (the default): draw machines
//!   uniformly from a pool of candidates, dropping those the task does not fit on (see
//!   `pool.rs`), so a job's tasks land on machines spread over the whole cell;
//! - a scan in id order from a random start (`random-start-scan`, this policy's rule before
//!   the paper's was built): it takes the first machine with room after the start, so a
//!   machine behind a long run of full ones is taken far more often than others, and
//!   schedulers collide there;
//! - power-of-k-choices sampling (Sparrow, Nomad).
//!
//! All skip machines that are down, put GPU tasks only where devices are free, and honour
//! the job's required labels and spread constraints (cheap checks; a batch job without
//! constraints pays nothing for them).

use omega_core::{CellState, CommitMode, ConflictMode, GpuRequest, Job, MachineId, Resources};
use rand::RngExt;
use smallvec::SmallVec;

use crate::fit::{DeviceChoice, choose_devices, fits_now, free_of, permille};
use crate::placer::{Found, Placer, Tracking, valid_pending};
use crate::pool::CandidatePool;
use crate::{ConfigError, Decision, Policy, PolicyRng, ThinkTime};

/// How the batch policy picks a machine for each task.
///
/// TOML spellings (`placement = "..."`): `"random-first-fit"` (the default),
/// `"random-start-scan"`, `"power-of-choices"`. Before the paper's rule was built,
/// `"random-first-fit"` named the scan; it now names the paper's rule, and the scan is
/// `"random-start-scan"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum BatchPlacement {
    /// The Omega paper simulator's randomized first fit. The job's candidates are every
    /// machine of the cell; for each task, draw one uniformly at random: if the task fits
    /// there, place it (the machine stays a candidate, so the next task draws afresh); if
    /// not, drop the machine from the candidates (swap-remove) and draw again, until the
    /// task is placed or no candidate is left. The default.
    #[default]
    RandomFirstFit,
    /// Start at a uniformly random machine and take the first, in id order (wrapping), on
    /// which the task fits. Not the paper's rule: a machine behind a long run of machines
    /// without room is taken far more often than one behind a short run, which raises
    /// fine-grained conflicts between schedulers.
    RandomStartScan,
    /// Find `choices` feasible machines, each by a scan from its own random start (as
    /// [`RandomStartScan`](Self::RandomStartScan)), and take the least loaded of them after
    /// placement (the largest of its CPU, memory and, for GPU tasks, GPU utilisation;
    /// ties: the first found).
    PowerOfChoices,
}

/// Configuration of the batch policy.
///
/// Defaults: `t_job_us` = 10 ms (the seed's figure), `t_task_us` = 0.5 ms (we keep the
/// paper's 20 : 1 ratio of `t_job` to `t_task`, so a typical 10-task batch job decides in
/// 15 ms), the paper's randomized first fit, 2 choices when sampling, fine-grained conflicts,
/// incremental commits (gang jobs always commit as a gang).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct BatchConfig {
    /// Per-attempt think time, in microseconds.
    pub t_job_us: u64,
    /// Per-task think time, in microseconds.
    pub t_task_us: u64,
    /// How a machine is picked.
    pub placement: BatchPlacement,
    /// `k` for [`BatchPlacement::PowerOfChoices`] (at least 1).
    pub choices: u32,
    /// Conflict detection the transactions ask for.
    #[cfg_attr(feature = "serde", serde(with = "crate::config::conflict_mode"))]
    pub conflicts: ConflictMode,
    /// Commit mode for jobs that are not gangs.
    #[cfg_attr(feature = "serde", serde(with = "crate::config::commit_mode"))]
    pub commit: CommitMode,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            t_job_us: 10_000,
            t_task_us: 500,
            placement: BatchPlacement::RandomFirstFit,
            choices: 2,
            conflicts: ConflictMode::Fine,
            commit: CommitMode::Incremental,
        }
    }
}

impl BatchConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.choices == 0 {
            return Err(ConfigError::Invalid {
                field: "batch.choices",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// The batch policy (see the module docs).
///
/// ```
/// use omega_core::*;
/// use omega_schedulers::{BatchConfig, BatchPolicy, Policy, PolicyRng};
/// use rand::SeedableRng;
///
/// let cell = CellState::new((0..4).map(|i| Machine::new("A", 8_000, 16_384, FailureDomain(i))))?;
/// let job = Job::new(JobId(1), "batch", 3, Resources::new(2_000, 0, 4_096), 300_000_000);
/// let policy = BatchPolicy::new(BatchConfig::default()).unwrap();
/// let d = policy.schedule(&cell, &job, &[0, 1, 2], &mut PolicyRng::seed_from_u64(1));
/// assert_eq!(d.transaction.claims.len(), 3);
/// assert_eq!(d.think_time_us, 10_000 + 3 * 500);
/// assert_eq!(cell.commit(&d.transaction).accepted.len(), 3);
/// # Ok::<(), CoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchPolicy {
    config: BatchConfig,
}

impl BatchPolicy {
    /// A batch policy, if the configuration is valid.
    pub fn new(config: BatchConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// Its configuration.
    pub fn config(&self) -> &BatchConfig {
        &self.config
    }
}

impl Policy for BatchPolicy {
    fn name(&self) -> &str {
        "batch"
    }

    fn schedule(
        &self,
        snapshot: &CellState,
        job: &Job,
        pending: &[u32],
        rng: &mut PolicyRng,
    ) -> Decision {
        let c = &self.config;
        let think = ThinkTime::new(c.t_job_us, c.t_task_us).decision_us(pending.len());
        let mut placer = Placer::new(snapshot, job, tracking_for(job), c.conflicts, c.commit);
        let tasks = valid_pending(job, pending);
        // The paper's candidates: one pool for the whole job (tasks are identical, and the
        // local state only fills up, so a machine dropped for one task is no use to later ones).
        let mut pool = CandidatePool::new(snapshot.slot_count());
        for &index in &tasks {
            let found = match c.placement {
                BatchPlacement::RandomFirstFit => random_first_fit(&mut placer, &mut pool, rng),
                BatchPlacement::RandomStartScan => random_start_scan(&mut placer, rng),
                BatchPlacement::PowerOfChoices => power_of_choices(&mut placer, rng, c.choices),
            };
            let Some(found) = found else {
                // Tasks are identical and the local state only fills up: the rest fail too.
                break;
            };
            // Refused only if the task already runs (the caller listed it as pending by
            // mistake): skip it.
            placer.claim_found(index, found);
        }
        placer.finish(think, tasks.len())
    }
}

/// The per-job counts a job's constraints need.
pub(crate) fn tracking_for(job: &Job) -> Tracking {
    Tracking {
        machines: job.constraints.one_task_per_machine,
        domains: job.constraints.max_tasks_per_domain.is_some(),
    }
}

/// The paper's randomized first fit: uniform draws from `pool`, dropping each machine the
/// task does not fit on, until one fits or the pool is empty.
fn random_first_fit(
    placer: &mut Placer<'_>,
    pool: &mut CandidatePool,
    rng: &mut PolicyRng,
) -> Option<Found> {
    let request = placer.shape.gpu?;
    let spread = !placer.job.constraints.is_empty();
    while let Some((at, m)) = pool.draw(rng) {
        placer.stats.machines_examined += 1;
        if let Some(found) = fits_on(placer, m, request, spread) {
            return Some(found);
        }
        pool.remove(at);
    }
    None
}

/// A scan in id order from a uniformly random start (wrapping).
pub(crate) fn random_start_scan(placer: &mut Placer<'_>, rng: &mut PolicyRng) -> Option<Found> {
    let slots = placer.local.slot_count();
    if slots == 0 {
        return None;
    }
    let start = rng.random_range(0..slots);
    first_fit_from(placer, start)
}

/// The first machine, from `start` in id order (wrapping), on which the task fits now and
/// that the job's spread constraints allow; with the devices it would use (best fit).
pub(crate) fn first_fit_from(placer: &mut Placer<'_>, start: u32) -> Option<Found> {
    let slots = placer.local.slot_count();
    let request = placer.shape.gpu?;
    let spread = !placer.job.constraints.is_empty();
    let mut id = start;
    for _ in 0..slots {
        let m = MachineId(id);
        id += 1;
        if id == slots {
            id = 0;
        }
        placer.stats.machines_examined += 1;
        if let Some(found) = fits_on(placer, m, request, spread) {
            return Some(found);
        }
    }
    None
}

/// Machine `m` with the devices the task would use (best fit), if the task fits there now
/// and the job's spread constraints (checked only if `spread`) allow it.
#[inline]
fn fits_on(placer: &Placer<'_>, m: MachineId, request: GpuRequest, spread: bool) -> Option<Found> {
    let (Some(state), Some(spec)) = (placer.local.state(m), placer.local.spec(m)) else {
        return None;
    };
    if !fits_now(spec, &state, &placer.shape) {
        return None;
    }
    if spread && !placer.spread_allows(m, spec.failure_domain) {
        return None;
    }
    let free = &state.gpu_free_milli[..spec.gpus.len()];
    let gpus = choose_devices(free, request, DeviceChoice::BestFit, &[])?;
    Some(Found {
        machine: m,
        gpus,
        version: state.version,
    })
}

/// Power of `k` choices: up to `k` distinct feasible machines, each found by a scan from a
/// random start, and the least loaded of them after placement.
fn power_of_choices(placer: &mut Placer<'_>, rng: &mut PolicyRng, k: u32) -> Option<Found> {
    let mut best: Option<(u64, Found)> = None;
    let mut seen: SmallVec<[MachineId; 4]> = SmallVec::new();
    for _ in 0..k.max(1) {
        let found = random_start_scan(placer, rng)?;
        if seen.contains(&found.machine) {
            continue;
        }
        seen.push(found.machine);
        placer.stats.candidates_scored += 1;
        let load = load_after(&placer.local, found.machine, placer.shape.resources);
        if best.is_none_or(|b| load < b.0) {
            best = Some((load, found));
        }
    }
    best.map(|(_, found)| found)
}

/// A machine's load after placing `r`: the largest utilisation, in permille, of the
/// resources the machine has and the task asks for (CPU and memory always count).
fn load_after(local: &CellState, m: MachineId, r: Resources) -> u64 {
    let (Some(state), Some(spec)) = (local.state(m), local.spec(m)) else {
        return u64::MAX;
    };
    let cap = spec.capacity;
    let used = cap.saturating_sub(&free_of(spec, &state).saturating_sub(&r));
    let mut load = permille(used.cpu_milli, cap.cpu_milli).max(permille(used.mem_mib, cap.mem_mib));
    if r.gpu_milli > 0 {
        load = load.max(permille(used.gpu_milli, cap.gpu_milli));
    }
    load
}
