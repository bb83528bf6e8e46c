//! The service policy: careful placement as a chain of small links, in the spirit of
//! Nomad's feasibility/rank stack and kube-scheduler's Filter / Score plugins.
//!
//! For each task:
//! 1. **Source**: every machine once, in a random order (a random start and a random stride
//!    coprime to the number of machine slots).
//! 2. **Filters**, cheapest first: up; CPU, memory and GPU totals free; GPU devices
//!    (a fraction on one device, whole devices fully free); required labels (which is how a
//!    job asks for a GPU model: `gpu=<model>`) and groups of alternative labels (any of
//!    several models); at most one task of the job per machine when asked; at most N tasks of the job per failure domain when asked.
//! 3. **Limit**: stop after `candidate_limit` feasible machines (kube-scheduler's
//!    `percentageOfNodesToScore`; see [`ServiceConfig`]).
//! 4. **Scores**, each in `0..=1000`, weighted and summed (see [`ScoreBreakdown`]).
//! 5. **Pick** the highest total; ties go to the machine found first.
//! 6. **Preemption**, only when no machine is feasible: on each machine that passes the
//!    static filters, the fewest, lowest-priority running tasks of strictly lower priority
//!    whose eviction makes room; the machine with the fewest victims wins, then the lowest
//!    highest victim priority, then the lowest priority sum.
//!
//! The chosen machine and devices are claimed in the local copy of the snapshot, so the next
//! task sees them.

use std::cmp::Reverse;

use omega_core::{
    CellState, CommitMode, ConflictMode, GpuDevices, GpuRequest, Job, Machine, MachineId,
    MachineState, MachineStatus, Placement, Priority, TaskId,
};
use rand::RngExt;
use smallvec::SmallVec;

use crate::fit::{
    DEFAULT_FRAGMENTATION_SIZES_MILLI, DeviceChoice, choose_devices, fits_now, fragmentation_added,
    free_of, per_device_share, permille, statically_feasible,
};
use crate::placer::{Placer, Tracking, valid_pending};
use crate::{ConfigError, Decision, Policy, PolicyRng, ThinkTime};

/// Weights of the service policy's score terms (each term is in `0..=1000`).
///
/// Defaults: `balance` 1, `spread` 1, `gpu_keep_free` 1, `gpu_fragmentation` 1, `fit` 0 —
/// a service scheduler spreads load and replicas; set `fit` and clear `balance` for bin
/// packing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct ScoreWeights {
    /// Resource fit (most allocated: bin packing).
    pub fit: u32,
    /// Load balance (least allocated).
    pub balance: u32,
    /// Failure-domain spread of the job's tasks.
    pub spread: u32,
    /// Keeping GPU machines free for GPU work.
    pub gpu_keep_free: u32,
    /// Little added GPU fragmentation, for fractional-GPU tasks.
    pub gpu_fragmentation: u32,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        Self {
            fit: 0,
            balance: 1,
            spread: 1,
            gpu_keep_free: 1,
            gpu_fragmentation: 1,
        }
    }
}

/// Configuration of the service policy.
///
/// Defaults: the paper's `t_job_us` = 100 ms and `t_task_us` = 5 ms; [`ScoreWeights`]'
/// defaults; `candidate_limit` 100 and `candidate_percent` 0 (score at most 100 feasible
/// machines, kube-scheduler's minimum); device choice by least fragmentation against
/// [`DEFAULT_FRAGMENTATION_SIZES_MILLI`]; preemption on; fine-grained conflicts;
/// incremental commits (gang jobs always commit as a gang).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct ServiceConfig {
    /// Per-attempt think time, in microseconds.
    pub t_job_us: u64,
    /// Per-task think time, in microseconds.
    pub t_task_us: u64,
    /// Score weights.
    pub weights: ScoreWeights,
    /// Score at most `max(candidate_limit, ceil(machine slots × candidate_percent / 100))`
    /// feasible machines per task; both 0 means score every feasible machine.
    pub candidate_limit: u32,
    /// See `candidate_limit` (0..=100).
    pub candidate_percent: u32,
    /// How the GPU device of a fractional task is chosen on a machine.
    pub device_choice: DeviceChoice,
    /// Reference request sizes (milli-GPU, `1..=1000`) fragmentation is measured against.
    pub fragmentation_sizes_milli: Vec<u16>,
    /// Whether a task that fits nowhere may evict lower-priority tasks.
    pub preemption: bool,
    /// Conflict detection the transactions ask for.
    #[cfg_attr(feature = "serde", serde(with = "crate::config::conflict_mode"))]
    pub conflicts: ConflictMode,
    /// Commit mode for jobs that are not gangs.
    #[cfg_attr(feature = "serde", serde(with = "crate::config::commit_mode"))]
    pub commit: CommitMode,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            t_job_us: 100_000,
            t_task_us: 5_000,
            weights: ScoreWeights::default(),
            candidate_limit: 100,
            candidate_percent: 0,
            device_choice: DeviceChoice::LeastFragmentation,
            fragmentation_sizes_milli: DEFAULT_FRAGMENTATION_SIZES_MILLI.to_vec(),
            preemption: true,
            conflicts: ConflictMode::Fine,
            commit: CommitMode::Incremental,
        }
    }
}

impl ServiceConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.candidate_percent > 100 {
            return Err(ConfigError::Invalid {
                field: "service.candidate_percent",
                reason: format!("{} is not in 0..=100", self.candidate_percent),
            });
        }
        if let Some(s) = self
            .fragmentation_sizes_milli
            .iter()
            .find(|&&s| s == 0 || s > 1000)
        {
            return Err(ConfigError::Invalid {
                field: "service.fragmentation_sizes_milli",
                reason: format!("{s} is not in 1..=1000"),
            });
        }
        Ok(())
    }

    /// How many feasible machines to score in a cell of `slots` machine slots.
    pub fn candidates_for(&self, slots: u32) -> u64 {
        if self.candidate_limit == 0 && self.candidate_percent == 0 {
            return u64::MAX;
        }
        let by_percent = (u64::from(slots) * u64::from(self.candidate_percent)).div_ceil(100);
        u64::from(self.candidate_limit).max(by_percent)
    }
}

/// One machine's score for one task, term by term (each `0..=1000`) and weighted total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ScoreBreakdown {
    /// Most allocated: mean of CPU and memory utilisation after placement, permille.
    pub fit: u32,
    /// Least allocated: `1000 − fit`.
    pub balance: u32,
    /// `1000 × (max − here) / max`, where `here` counts the job's tasks in the machine's
    /// failure domain and `max` is the largest such count over domains (1000 when no task
    /// of the job runs yet). 0 when the policy does not track domains (weight 0, no cap).
    pub spread: u32,
    /// For a task without GPU: 1000 on a machine without GPUs, 0 on a GPU machine. For a
    /// GPU task: 0 everywhere (not applicable).
    pub gpu_keep_free: u32,
    /// For a fractional-GPU task: `(1000 − Δ) / 2`, where Δ is the fragmentation the chosen
    /// device gains (see [`device_fragmentation_milli`](crate::device_fragmentation_milli));
    /// 500 is neutral. For other tasks: 0 everywhere (not applicable).
    pub gpu_fragmentation: u32,
    /// The weighted sum.
    pub total: u64,
}

/// A scored candidate, as [`ServicePolicy::explain`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoredMachine {
    /// The machine.
    pub machine: MachineId,
    /// The devices the task would use there.
    pub gpus: GpuDevices,
    /// Its score.
    pub score: ScoreBreakdown,
}

/// How one task was placed, as [`ServicePolicy::explain`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskExplanation {
    /// The task's index.
    pub task: u32,
    /// The machine chosen, if any.
    pub machine: Option<MachineId>,
    /// The devices chosen.
    pub gpus: GpuDevices,
    /// Tasks evicted to make room (empty unless preempting).
    pub preempts: Vec<TaskId>,
    /// Feasible machines scored.
    pub candidates_scored: u64,
    /// The best-scoring candidates, best first (ties in the order they were found).
    pub top: Vec<ScoredMachine>,
}

/// The service policy (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePolicy {
    config: ServiceConfig,
}

impl Policy for ServicePolicy {
    fn name(&self) -> &str {
        "service"
    }

    fn schedule(
        &self,
        snapshot: &CellState,
        job: &Job,
        pending: &[u32],
        rng: &mut PolicyRng,
    ) -> Decision {
        self.run(snapshot, job, pending, rng, None)
    }
}

/// Running tasks chosen for eviction, with where they run.
type Victims = SmallVec<[(TaskId, Placement); 4]>;

/// What one task's search found.
struct Choice {
    machine: MachineId,
    gpus: GpuDevices,
    victims: SmallVec<[TaskId; 2]>,
}

/// A traversal of all machine slots in a random order: random start, random stride coprime
/// to the number of slots.
#[derive(Clone, Copy)]
struct Order {
    start: u64,
    stride: u64,
    slots: u64,
}

impl Order {
    fn random(slots: u32, rng: &mut PolicyRng) -> Self {
        let slots64 = u64::from(slots);
        if slots <= 2 {
            let start = if slots == 0 {
                0
            } else {
                u64::from(rng.random_range(0..slots))
            };
            return Self {
                start,
                stride: 1,
                slots: slots64,
            };
        }
        let start = u64::from(rng.random_range(0..slots));
        let mut stride = 1;
        for _ in 0..16 {
            let s = u64::from(rng.random_range(1..slots));
            if gcd(s, slots64) == 1 {
                stride = s;
                break;
            }
        }
        Self {
            start,
            stride,
            slots: slots64,
        }
    }

    fn iter(self) -> impl Iterator<Item = MachineId> {
        let mut id = self.start;
        (0..self.slots).map(move |_| {
            let m = MachineId(id as u32);
            id += self.stride;
            if id >= self.slots {
                id -= self.slots;
            }
            m
        })
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl ServicePolicy {
    /// A service policy, if the configuration is valid.
    pub fn new(config: ServiceConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// Its configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Like [`Policy::schedule`] (same decision for the same RNG state), and also how each
    /// task was placed with its `top` best-scoring candidates.
    pub fn explain(
        &self,
        snapshot: &CellState,
        job: &Job,
        pending: &[u32],
        rng: &mut PolicyRng,
        top: usize,
    ) -> (Decision, Vec<TaskExplanation>) {
        let mut out = Vec::new();
        let d = self.run(snapshot, job, pending, rng, Some((&mut out, top)));
        (d, out)
    }

    fn run(
        &self,
        snapshot: &CellState,
        job: &Job,
        pending: &[u32],
        rng: &mut PolicyRng,
        mut trace: Option<(&mut Vec<TaskExplanation>, usize)>,
    ) -> Decision {
        let c = &self.config;
        let think = ThinkTime::new(c.t_job_us, c.t_task_us).decision_us(pending.len());
        let tracking = Tracking {
            machines: job.constraints.one_task_per_machine,
            domains: job.constraints.max_tasks_per_domain.is_some() || c.weights.spread > 0,
        };
        let mut placer = Placer::new(snapshot, job, tracking, c.conflicts, c.commit);
        let tasks = valid_pending(job, pending);
        let limit = c.candidates_for(snapshot.slot_count());
        for &index in &tasks {
            let mut top: Vec<ScoredMachine> = Vec::new();
            let top_n = trace.as_ref().map_or(0, |t| t.1);
            let scored_before = placer.stats.candidates_scored;
            let choice = self.choose(&mut placer, rng, limit, &mut top, top_n);
            let placed = match &choice {
                Some(ch) => placer.claim(index, ch.machine, ch.gpus, ch.victims.clone()),
                None => false,
            };
            if let Some((out, _)) = trace.as_mut() {
                out.push(TaskExplanation {
                    task: index,
                    machine: choice.as_ref().filter(|_| placed).map(|ch| ch.machine),
                    gpus: choice
                        .as_ref()
                        .filter(|_| placed)
                        .map_or(GpuDevices::NONE, |ch| ch.gpus),
                    preempts: choice
                        .as_ref()
                        .filter(|_| placed)
                        .map_or_else(Vec::new, |ch| ch.victims.to_vec()),
                    candidates_scored: placer.stats.candidates_scored - scored_before,
                    top,
                });
            }
            if choice.is_none() {
                // Tasks are identical and the local state only fills up: the rest fail too.
                break;
            }
        }
        placer.finish(think, tasks.len())
    }

    /// Finds a machine for one task: feasible candidates scored, else preemption.
    fn choose(
        &self,
        placer: &mut Placer<'_>,
        rng: &mut PolicyRng,
        limit: u64,
        top: &mut Vec<ScoredMachine>,
        top_n: usize,
    ) -> Option<Choice> {
        let request = placer.shape.gpu?;
        let order = Order::random(placer.local.slot_count(), rng);
        let check_spread = !placer.job.constraints.is_empty();
        let mut best: Option<(u64, MachineId, GpuDevices)> = None;
        let mut scored = 0u64;
        for m in order.iter() {
            placer.stats.machines_examined += 1;
            let (Some(state), Some(spec)) = (placer.local.state(m), placer.local.spec(m)) else {
                continue;
            };
            if !fits_now(spec, &state, &placer.shape)
                || (check_spread && !placer.spread_allows(m, spec.failure_domain))
            {
                continue;
            }
            let free_dev = &state.gpu_free_milli[..spec.gpus.len()];
            let c = &self.config;
            let Some(gpus) = choose_devices(
                free_dev,
                request,
                c.device_choice,
                &c.fragmentation_sizes_milli,
            ) else {
                continue;
            };
            let score = self.score(placer, spec, &state, request, gpus);
            scored += 1;
            if best.is_none_or(|b| score.total > b.0) {
                best = Some((score.total, m, gpus));
            }
            if top_n > 0 {
                keep_top(
                    top,
                    top_n,
                    ScoredMachine {
                        machine: m,
                        gpus,
                        score,
                    },
                );
            }
            if scored >= limit {
                break;
            }
        }
        placer.stats.candidates_scored += scored;
        if let Some((_, machine, gpus)) = best {
            return Some(Choice {
                machine,
                gpus,
                victims: SmallVec::new(),
            });
        }
        if self.config.preemption {
            return self.preempt(placer, order, limit, request);
        }
        None
    }

    /// The score of placing the task on machine `m` with devices `gpus`.
    fn score(
        &self,
        placer: &Placer<'_>,
        spec: &Machine,
        state: &MachineState,
        request: GpuRequest,
        gpus: GpuDevices,
    ) -> ScoreBreakdown {
        let w = &self.config.weights;
        let r = placer.shape.resources;
        let cap = spec.capacity;
        let cpu = permille(
            state.allocated.cpu_milli.saturating_add(r.cpu_milli),
            cap.cpu_milli,
        );
        let mem = permille(
            state.allocated.mem_mib.saturating_add(r.mem_mib),
            cap.mem_mib,
        );
        let fit = ((cpu + mem) / 2) as u32;
        let balance = 1000 - fit;
        let spread = if w.spread == 0 && placer.job.constraints.max_tasks_per_domain.is_none() {
            0
        } else if placer.max_domain_count == 0 {
            1000
        } else {
            let max = u64::from(placer.max_domain_count);
            let here = u64::from(placer.tasks_in_domain(spec.failure_domain)).min(max);
            ((max - here) * 1000 / max) as u32
        };
        let gpu_keep_free = match request {
            GpuRequest::None if spec.gpus.is_empty() => 1000,
            _ => 0,
        };
        let gpu_fragmentation = match request {
            GpuRequest::Fraction(milli) => {
                let device = gpus.iter().next().map_or(0, usize::from);
                let free = state.gpu_free_milli[device & 7];
                let delta =
                    fragmentation_added(free, milli, &self.config.fragmentation_sizes_milli);
                ((1000 - delta).clamp(0, 2000) / 2) as u32
            }
            _ => 0,
        };
        let total = u64::from(w.fit) * u64::from(fit)
            + u64::from(w.balance) * u64::from(balance)
            + u64::from(w.spread) * u64::from(spread)
            + u64::from(w.gpu_keep_free) * u64::from(gpu_keep_free)
            + u64::from(w.gpu_fragmentation) * u64::from(gpu_fragmentation);
        ScoreBreakdown {
            fit,
            balance,
            spread,
            gpu_keep_free,
            gpu_fragmentation,
            total,
        }
    }

    /// Preemption: the machine, among up to `limit` where evicting lower-priority tasks
    /// makes room, with the fewest victims, then the lowest highest victim priority, then
    /// the lowest priority sum (ties: the first found).
    fn preempt(
        &self,
        placer: &mut Placer<'_>,
        order: Order,
        limit: u64,
        request: GpuRequest,
    ) -> Option<Choice> {
        let priority = placer.job.priority;
        if priority == Priority(0) {
            return None;
        }
        let check_spread = !placer.job.constraints.is_empty();
        let mut best: Option<((usize, Priority, u64), Choice)> = None;
        let mut found = 0u64;
        for m in order.iter() {
            placer.stats.machines_examined += 1;
            let (Some(state), Some(spec)) = (placer.local.state(m), placer.local.spec(m)) else {
                continue;
            };
            if state.status != MachineStatus::Up
                || !statically_feasible(spec, &placer.shape)
                || (check_spread && !placer.spread_allows(m, spec.failure_domain))
            {
                continue;
            }
            let Some((victims, gpus)) = self.victims_on(placer, spec, &state, m, request) else {
                continue;
            };
            found += 1;
            let max = victims
                .iter()
                .map(|v| v.1.priority)
                .max()
                .unwrap_or_default();
            let sum: u64 = victims.iter().map(|v| u64::from(v.1.priority.0)).sum();
            let key = (victims.len(), max, sum);
            if best.as_ref().is_none_or(|b| key < b.0) {
                let victims = victims.iter().map(|v| v.0).collect();
                best = Some((
                    key,
                    Choice {
                        machine: m,
                        gpus,
                        victims,
                    },
                ));
            }
            if found >= limit {
                break;
            }
        }
        best.map(|b| b.1)
    }

    /// The fewest, lowest-priority tasks on `m` of priority below the job's whose eviction
    /// lets the task fit, with the devices it would then use.
    fn victims_on(
        &self,
        placer: &Placer<'_>,
        spec: &Machine,
        state: &MachineState,
        m: MachineId,
        request: GpuRequest,
    ) -> Option<(Victims, GpuDevices)> {
        let priority = placer.job.priority;
        let need = placer.shape.resources;
        let free = free_of(spec, state);
        let lower = || {
            placer
                .local
                .tasks_on(m)
                .filter(move |(_, p)| p.priority < priority)
        };
        // Most machines of a full cell cannot make room: find that out before collecting.
        let mut any = false;
        let reclaimable = lower().try_fold(free, |acc, (_, p)| {
            any = true;
            acc.checked_add(&p.resources)
        })?;
        if !any || !need.fits(&reclaimable) {
            return None;
        }
        let mut candidates: SmallVec<[(TaskId, Placement); 8]> = lower().collect();
        // Lowest priority first; among equals, the biggest first (fewer victims): CPU, then
        // GPU, then memory.
        candidates.sort_by_key(|(t, p)| {
            let r = p.resources;
            (
                p.priority,
                Reverse((r.cpu_milli, r.gpu_milli, r.mem_mib)),
                *t,
            )
        });
        let c = &self.config;
        let fits = |victims: &[(TaskId, Placement)]| -> Option<GpuDevices> {
            let mut avail = free;
            let mut gpu_free = state.gpu_free_milli;
            for (_, p) in victims {
                avail = avail.checked_add(&p.resources)?;
                let share = per_device_share(p);
                for d in p.gpus.iter() {
                    let f = &mut gpu_free[usize::from(d) & 7];
                    *f = f.saturating_add(share).min(1000);
                }
            }
            if !need.fits(&avail) {
                return None;
            }
            choose_devices(
                &gpu_free[..spec.gpus.len()],
                request,
                c.device_choice,
                &c.fragmentation_sizes_milli,
            )
        };
        let mut chosen: Victims = SmallVec::new();
        for v in &candidates {
            if fits(&chosen).is_some() {
                break;
            }
            chosen.push(*v);
        }
        fits(&chosen)?;
        // Reprieve: give back every victim, highest priority first, that is not needed.
        let mut i = chosen.len();
        while i > 0 {
            i -= 1;
            let mut without = chosen.clone();
            without.remove(i);
            if fits(&without).is_some() {
                chosen = without;
            }
        }
        let gpus = fits(&chosen)?;
        Some((chosen, gpus))
    }
}

/// Keeps the `n` best candidates, best first; a later candidate must beat a kept one
/// strictly to displace it (ties keep the earlier one), the same rule as the pick.
fn keep_top(top: &mut Vec<ScoredMachine>, n: usize, candidate: ScoredMachine) {
    let at = top.partition_point(|s| s.score.total >= candidate.score.total);
    if at < n {
        top.insert(at, candidate);
        top.truncate(n);
    }
}
