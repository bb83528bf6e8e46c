//! The MapReduce policy: opportunistic. It places a job's requested workers by a scan from a
//! random start (the batch policy's `random-start-scan`) and then may grant extra workers from the idle resources
//! of the snapshot, under one of the Omega paper's three growth policies (§5).
//!
//! # Speedup model
//!
//! A MapReduce job brings `total_work_us` worker-microseconds of work
//! ([`MapReduceWork`](omega_core::MapReduceWork)). With `n` requested workers and `x` extra
//! ones, every worker runs for
//!
//! ```text
//! duration = ceil(total_work_us / (n + x × efficiency))
//! ```
//!
//! where `efficiency` (`efficiency_percent / 100`) is how much of a full worker an extra
//! worker is worth (100%: the paper's linear speedup; less models stragglers and shuffle
//! overhead). The policy reports the duration in [`Decision::task_duration_us`] and the
//! extra count in [`Decision::extra_workers`]; extra worker `i` is task index `job.tasks + i`.
//! Both describe the decision as made: a simulator must recompute the duration from the
//! workers its commit actually accepted ([`MapReduceConfig::duration_us`]).
//!
//! # When extra workers are granted
//!
//! Only when the decision places the whole job at once (every task of the job is pending and
//! claimed here, so all its workers start together), never for gang jobs (extras are
//! opportunistic and must not endanger the gang), and only for jobs with a MapReduce part.
//! The number of workers is capped by the job's own limit
//! ([`MapReduceWork::max_workers`](omega_core::MapReduceWork), e.g. its map shards), by the
//! benefit limit (every worker keeps at least `min_work_per_worker_us` of work) and by the
//! growth policy:
//! - [`GrowthPolicy::MaxParallelism`]: as many as fit;
//! - [`GrowthPolicy::GlobalCap`]: stop before the cell's CPU or memory utilisation (in the
//!   local copy, after the claims so far) would exceed `global_cap_percent`;
//! - [`GrowthPolicy::RelativeJobSize`]: at most `max_worker_factor ×` the requested workers.

use omega_core::{CellState, CommitMode, ConflictMode, Job, Resources};

use crate::batch::{random_start_scan, tracking_for};
use crate::placer::{Placer, valid_pending};
use crate::{ConfigError, Decision, Policy, PolicyRng, ThinkTime};

/// Which of the Omega paper's policies decides how many extra workers a job gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum GrowthPolicy {
    /// Add workers while they fit and still bring benefit.
    #[default]
    MaxParallelism,
    /// Add workers until the cell reaches a target utilisation.
    GlobalCap,
    /// At most a fixed multiple of the requested workers.
    RelativeJobSize,
}

/// Configuration of the MapReduce policy.
///
/// Defaults: `t_job_us` 10 ms and `t_task_us` 0.5 ms (as the batch policy: the paper gives
/// no separate figure), max-parallelism, a global cap of 60% (the paper's), a relative size
/// of 4× (the paper's), 100% efficiency (linear speedup), at least 1 s of work per worker,
/// fine-grained conflicts, incremental commits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct MapReduceConfig {
    /// Per-attempt think time, in microseconds.
    pub t_job_us: u64,
    /// Per-task think time, in microseconds (extra workers cost nothing extra).
    pub t_task_us: u64,
    /// The growth policy.
    pub policy: GrowthPolicy,
    /// Target cell utilisation for [`GrowthPolicy::GlobalCap`], percent (0..=100).
    pub global_cap_percent: u32,
    /// Worker multiple for [`GrowthPolicy::RelativeJobSize`] (at least 1).
    pub max_worker_factor: u32,
    /// How much an extra worker is worth, percent of a requested one (1..=100).
    pub efficiency_percent: u32,
    /// No worker gets less work than this (0: no limit).
    pub min_work_per_worker_us: u64,
    /// Conflict detection the transactions ask for.
    #[cfg_attr(feature = "serde", serde(with = "crate::config::conflict_mode"))]
    pub conflicts: ConflictMode,
    /// Commit mode for jobs that are not gangs.
    #[cfg_attr(feature = "serde", serde(with = "crate::config::commit_mode"))]
    pub commit: CommitMode,
}

impl Default for MapReduceConfig {
    fn default() -> Self {
        Self {
            t_job_us: 10_000,
            t_task_us: 500,
            policy: GrowthPolicy::MaxParallelism,
            global_cap_percent: 60,
            max_worker_factor: 4,
            efficiency_percent: 100,
            min_work_per_worker_us: 1_000_000,
            conflicts: ConflictMode::Fine,
            commit: CommitMode::Incremental,
        }
    }
}

impl MapReduceConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.into(),
            })
        };
        if self.global_cap_percent > 100 {
            return bad("mapreduce.global_cap_percent", "must be in 0..=100");
        }
        if self.max_worker_factor == 0 {
            return bad("mapreduce.max_worker_factor", "must be at least 1");
        }
        if self.efficiency_percent == 0 || self.efficiency_percent > 100 {
            return bad("mapreduce.efficiency_percent", "must be in 1..=100");
        }
        Ok(())
    }

    /// Per-worker duration for `requested` workers plus `extra`, by the speedup model in
    /// the module docs; `None` if there are no workers.
    ///
    /// ```
    /// use omega_schedulers::MapReduceConfig;
    /// let c = MapReduceConfig { efficiency_percent: 50, ..MapReduceConfig::default() };
    /// // 10 worker-seconds over 2 workers + 2 half-worth extras = 3 effective workers.
    /// assert_eq!(c.duration_us(10_000_000, 2, 2), Some(3_333_334));
    /// assert_eq!(c.duration_us(10_000_000, 0, 0), None);
    /// ```
    pub fn duration_us(&self, total_work_us: u64, requested: u32, extra: u32) -> Option<u64> {
        let effective_centi = u128::from(requested) * 100
            + u128::from(extra) * u128::from(self.efficiency_percent.clamp(1, 100));
        if effective_centi == 0 {
            return None;
        }
        let d = (u128::from(total_work_us) * 100).div_ceil(effective_centi);
        Some(u64::try_from(d).unwrap_or(u64::MAX))
    }

    /// The most workers (requested + extra) a job with `requested` workers, `total_work_us`
    /// of work and a limit of its own of `job_max_workers` may have, before checking what
    /// fits; never fewer than `requested`.
    ///
    /// ```
    /// use omega_schedulers::{GrowthPolicy, MapReduceConfig};
    /// let max = MapReduceConfig::default(); // max-parallelism, at least 1 s of work each
    /// assert_eq!(max.worker_cap(5, 3_600_000_000, u32::MAX), 3_600); // the benefit limit
    /// assert_eq!(max.worker_cap(5, 3_600_000_000, 20), 20); // the job's own limit
    /// let relative = MapReduceConfig { policy: GrowthPolicy::RelativeJobSize, ..max };
    /// assert_eq!(relative.worker_cap(5, 3_600_000_000, 1_000), 20); // 4 × 5
    /// assert_eq!(relative.worker_cap(5, 3_600_000_000, 2), 5); // never below requested
    /// ```
    pub fn worker_cap(&self, requested: u32, total_work_us: u64, job_max_workers: u32) -> u32 {
        let benefit = match total_work_us.checked_div(self.min_work_per_worker_us) {
            Some(w) => u32::try_from(w).unwrap_or(u32::MAX),
            None => u32::MAX,
        };
        let cap = match self.policy {
            GrowthPolicy::MaxParallelism | GrowthPolicy::GlobalCap => benefit,
            GrowthPolicy::RelativeJobSize => {
                benefit.min(requested.saturating_mul(self.max_worker_factor))
            }
        };
        cap.min(job_max_workers).max(requested)
    }
}

/// The MapReduce policy (see the module docs).
///
/// ```
/// use omega_core::*;
/// use omega_schedulers::{MapReduceConfig, MapReducePolicy, Policy, PolicyRng, GrowthPolicy};
/// use rand::SeedableRng;
///
/// let cell = CellState::new((0..4).map(|i| Machine::new("B", 16_000, 32_768, FailureDomain(i))))?;
/// let mut job = Job::new(JobId(9), "mapreduce", 2, Resources::new(4_000, 0, 4_096), 0);
/// job.mapreduce = Some(MapReduceWork {
///     requested_workers: 2,
///     total_work_us: 3_600_000_000,
///     max_workers: u32::MAX,
/// });
/// let config = MapReduceConfig { policy: GrowthPolicy::RelativeJobSize, ..Default::default() };
/// let d = MapReducePolicy::new(config).unwrap()
///     .schedule(&cell, &job, &[0, 1], &mut PolicyRng::seed_from_u64(3));
/// assert_eq!(d.extra_workers, 6); // 4x the 2 requested workers
/// assert_eq!(d.transaction.claims.len(), 8);
/// assert_eq!(d.transaction.claims[7].task, TaskId::new(JobId(9), 7)); // extra i = tasks + i
/// assert_eq!(d.task_duration_us, Some(450_000_000)); // one hour of work over 8 workers
/// # Ok::<(), CoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapReducePolicy {
    config: MapReduceConfig,
}

impl MapReducePolicy {
    /// A MapReduce policy, if the configuration is valid.
    pub fn new(config: MapReduceConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// Its configuration.
    pub fn config(&self) -> &MapReduceConfig {
        &self.config
    }

    /// True if one more worker of `r` keeps the local cell within the global cap.
    fn under_cap(&self, local: &CellState, r: Resources) -> bool {
        let cap = local.capacity();
        let after = local.allocated().checked_add(&r).unwrap_or(cap);
        let pct = u128::from(self.config.global_cap_percent);
        let within = |used: u64, total: u64| u128::from(used) * 100 <= u128::from(total) * pct;
        within(after.cpu_milli, cap.cpu_milli)
            && within(after.mem_mib, cap.mem_mib)
            && (r.gpu_milli == 0 || within(after.gpu_milli, cap.gpu_milli))
    }
}

impl Policy for MapReducePolicy {
    fn name(&self) -> &str {
        "mapreduce"
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
        for &index in &tasks {
            let Some(found) = random_start_scan(&mut placer, rng) else {
                break;
            };
            placer.claim_found(index, found);
        }
        // Extras only when the whole job starts now: all its workers then run in lockstep.
        let whole_job = tasks.len() == job.tasks as usize && placer.txn.claims.len() == tasks.len();
        let mut extra = 0u32;
        if let Some(work) = job.mapreduce.filter(|_| whole_job && !job.gang) {
            let cap = c.worker_cap(
                work.requested_workers.max(job.tasks),
                work.total_work_us,
                work.max_workers,
            );
            let wanted = cap.saturating_sub(job.tasks);
            let wanted = wanted.min(u32::MAX - job.tasks);
            while extra < wanted {
                if c.policy == GrowthPolicy::GlobalCap
                    && !self.under_cap(&placer.local, job.task_resources)
                {
                    break;
                }
                let Some(found) = random_start_scan(&mut placer, rng) else {
                    break;
                };
                if !placer.claim_found(job.tasks + extra, found) {
                    break;
                }
                extra += 1;
            }
        }
        let mut decision = placer.finish(think, tasks.len());
        decision.extra_workers = extra;
        if let Some(work) = job.mapreduce {
            decision.task_duration_us = c.duration_us(work.total_work_us, job.tasks, extra);
        }
        decision
    }
}
