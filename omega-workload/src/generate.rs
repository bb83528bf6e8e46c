//! A workload compiled for sampling: checked parameters, precomputed samplers, and the
//! named random streams (one per class and purpose) that every generator here draws from.
//!
//! Stream names are `"<class>/<purpose>"` (`"batch/arrivals"`, `"batch/tasks"`, …) under
//! the experiment seed, via [`omega_core::derive_seed`]; prefill uses
//! `"<class>/prefill/<purpose>"` and calibration `"<class>/calibration/<purpose>"` under
//! seed 0. Each distribution has its own stream, so changing one class or one
//! distribution, or adding a class, leaves every other stream's draws unchanged.

use std::sync::Arc;

use omega_core::{Constraints, GPU_MILLI_PER_DEVICE, MapReduceWork, Resources, derive_seed};
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Zipf};
use rand_pcg::Pcg64Mcg;

use crate::spec::{MAX_DURATION_US, MAX_TASKS_PER_JOB, MIN_CPU_MILLI, MIN_MEM_MIB};
use crate::{Arrivals, ClusterSpec, Sampler, WorkloadError, WorkloadSpec, to_units};

/// Largest resource request of one task, in base units (2^40).
const MAX_RESOURCE: u64 = 1 << 40;

/// A random stream for `"<class>/<purpose>"` under `seed`.
pub(crate) fn rng(seed: u64, class: &str, purpose: &str) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(derive_seed(seed, &format!("{class}/{purpose}")))
}

/// Dependencies of a class, compiled.
#[derive(Clone, Debug)]
pub(crate) struct CompiledDeps {
    pub probability: f64,
    pub on_class: usize,
    pub max_jobs: u32,
    pub window: usize,
}

/// The MapReduce part of a class, compiled.
#[derive(Clone, Debug)]
pub(crate) struct CompiledMapReduce {
    /// Share of the class's jobs that are MapReduce jobs (1: all, no coin is drawn).
    share: f64,
    workers: Option<Sampler>,
    work_s: Option<Sampler>,
    shards_per_worker: Option<Sampler>,
}

/// One class, ready to sample.
#[derive(Clone, Debug)]
pub(crate) struct CompiledClass {
    pub name: Arc<str>,
    pub gap_s: Sampler,
    /// Constant arrivals must advance by at least 1 µs.
    pub gap_floor_us: u64,
    pub mean_gap_s: f64,
    tasks: Sampler,
    duration_s: Option<Sampler>,
    mapreduce: Option<CompiledMapReduce>,
    cpu_cores: Sampler,
    mem_gib: Sampler,
    gpu: Option<(f64, Sampler)>,
    pub priority: u32,
    pub gang: bool,
    required_labels: Vec<String>,
    required_any_labels: Vec<Vec<String>>,
    one_task_per_machine: bool,
    spread: Option<u32>,
    pub deps: Option<CompiledDeps>,
    user_first: u32,
    user_count: u32,
    zipf: Option<Zipf<f64>>,
    pub prefill: bool,
    pub prefill_window_s: Option<f64>,
}

/// The shape of one job: everything but id, user, submit time and dependencies.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Shape {
    pub tasks: u32,
    pub resources: Resources,
    pub duration_us: u64,
    pub mapreduce: Option<MapReduceWork>,
}

/// The streams a job's shape is drawn from.
#[derive(Clone, Debug)]
pub(crate) struct ShapeRngs {
    tasks: Pcg64Mcg,
    duration: Pcg64Mcg,
    cpu: Pcg64Mcg,
    mem: Pcg64Mcg,
    gpu: Pcg64Mcg,
    /// Which jobs are MapReduce, their workers and shards.
    mapreduce: Pcg64Mcg,
}

impl ShapeRngs {
    /// The shape streams of `class`, purposes prefixed by `prefix` (e.g. `"prefill/"`).
    pub fn new(seed: u64, class: &str, prefix: &str) -> Self {
        let r = |p: &str| rng(seed, class, &format!("{prefix}{p}"));
        Self {
            tasks: r("tasks"),
            duration: r("duration"),
            cpu: r("cpu"),
            mem: r("mem"),
            gpu: r("gpu"),
            mapreduce: r("mapreduce"),
        }
    }
}

impl CompiledClass {
    /// Draws a job's shape.
    #[inline]
    pub fn shape(&self, r: &mut ShapeRngs) -> Shape {
        // Every stream draws the same whether or not the job is MapReduce.
        let tasks = to_units(self.tasks.sample(&mut r.tasks), 1.0, 1, MAX_TASKS_PER_JOB) as u32;
        let duration_us = self
            .duration_s
            .as_ref()
            .map(|d| to_units(d.sample(&mut r.duration), 1e6, 1, MAX_DURATION_US));
        let (tasks, duration_us, mapreduce) = match self.mapreduce_part(&mut r.mapreduce) {
            Some(mr) => mr.job(tasks, duration_us, r),
            // compile() gives a duration to every class whose jobs are not all MapReduce.
            None => (tasks, duration_us.unwrap_or(1), None),
        };
        let cpu = to_units(
            self.cpu_cores.sample(&mut r.cpu),
            1000.0,
            MIN_CPU_MILLI,
            MAX_RESOURCE,
        );
        let mem = to_units(
            self.mem_gib.sample(&mut r.mem),
            1024.0,
            MIN_MEM_MIB,
            MAX_RESOURCE,
        );
        let gpu = match &self.gpu {
            Some((p, per_task)) if r.gpu.random::<f64>() < *p => {
                gpu_milli(per_task.sample(&mut r.gpu))
            }
            _ => 0,
        };
        Shape {
            tasks,
            resources: Resources::new(cpu, gpu, mem),
            duration_us,
            mapreduce,
        }
    }

    /// Draws a user.
    #[inline]
    pub fn user(&self, r: &mut Pcg64Mcg) -> u32 {
        match &self.zipf {
            Some(z) => {
                let k = z.sample(r) as u32; // in 1..=count
                self.user_first + k.clamp(1, self.user_count) - 1
            }
            None => self.user_first,
        }
    }

    /// The constraints of a job with `tasks` tasks in a cell with `racks` racks.
    #[inline]
    pub fn constraints(&self, tasks: u32, racks: u32) -> Constraints {
        Constraints {
            required_labels: self.required_labels.clone(),
            required_any_labels: self.required_any_labels.clone(),
            one_task_per_machine: self.one_task_per_machine,
            max_tasks_per_domain: self.spread.map(|d| tasks.div_ceil(d.min(racks).max(1))),
        }
    }

    /// True if some of the class's jobs are MapReduce jobs.
    pub fn is_mapreduce(&self) -> bool {
        self.mapreduce.as_ref().is_some_and(|m| m.share > 0.0)
    }

    /// The class's MapReduce part if the next job is a MapReduce job (a coin from `rng`
    /// when only a share of the jobs are).
    fn mapreduce_part(&self, rng: &mut Pcg64Mcg) -> Option<&CompiledMapReduce> {
        let mr = self.mapreduce.as_ref()?;
        (mr.share >= 1.0 || (mr.share > 0.0 && rng.random::<f64>() < mr.share)).then_some(mr)
    }
}

impl CompiledMapReduce {
    /// A MapReduce job's (workers, per-worker duration, work) from the class's task count
    /// and duration draws (see [`crate::MapReduceSpec`]).
    fn job(
        &self,
        tasks: u32,
        duration_us: Option<u64>,
        r: &mut ShapeRngs,
    ) -> (u32, u64, Option<MapReduceWork>) {
        let workers = match &self.workers {
            Some(w) => to_units(w.sample(&mut r.mapreduce), 1.0, 1, MAX_TASKS_PER_JOB) as u32,
            None => tasks,
        };
        let total = match (&self.work_s, duration_us) {
            (Some(work), _) => to_units(work.sample(&mut r.duration), 1e6, 1, MAX_DURATION_US),
            (None, Some(d)) => d.saturating_mul(u64::from(workers)),
            // compile() requires one of the two.
            (None, None) => u64::from(workers),
        };
        let max_workers = match &self.shards_per_worker {
            Some(s) => {
                let shards = to_units(s.sample(&mut r.mapreduce), 1.0, 1, MAX_TASKS_PER_JOB);
                u32::try_from(shards.saturating_mul(u64::from(workers))).unwrap_or(u32::MAX)
            }
            None => u32::MAX,
        };
        let work = MapReduceWork {
            requested_workers: workers,
            total_work_us: total,
            max_workers,
        };
        (
            workers,
            total.div_ceil(u64::from(workers)).max(1),
            Some(work),
        )
    }
}

/// GPU rule: below one device, a share in milli (at least 1); from one up, whole devices.
fn gpu_milli(devices: f64) -> u64 {
    let milli = to_units(devices, 1000.0, 1, MAX_RESOURCE);
    if milli < GPU_MILLI_PER_DEVICE {
        milli
    } else {
        (milli + GPU_MILLI_PER_DEVICE / 2) / GPU_MILLI_PER_DEVICE * GPU_MILLI_PER_DEVICE
    }
}

fn probability(field: String, p: f64) -> Result<f64, WorkloadError> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(WorkloadError::invalid(
            field,
            format!("is a probability and must be within [0, 1], got {p}"),
        ))
    }
}

fn positive_seconds(field: String, s: f64) -> Result<f64, WorkloadError> {
    if s.is_finite() && s >= 1e-6 {
        Ok(s)
    } else {
        Err(WorkloadError::invalid(
            field,
            format!("must be a finite time of at least 1 µs (1e-6 s), got {s}"),
        ))
    }
}

/// Checks `spec` against `cluster` and compiles every class.
pub(crate) fn compile(
    spec: &WorkloadSpec,
    cluster: &ClusterSpec,
) -> Result<Vec<CompiledClass>, WorkloadError> {
    let totals = check_totals(spec, cluster)?;
    let mut out: Vec<CompiledClass> = Vec::with_capacity(spec.classes.len());
    for (i, c) in spec.classes.iter().enumerate() {
        out.push(compile_class(spec, cluster, &totals, i, c)?);
    }
    Ok(out)
}

/// What the workload-wide checks leave for every class: the cell's capacity and the total
/// mean gap that classes arriving by share divide.
struct Totals {
    capacity: Resources,
    total_gap_s: Option<f64>,
}

/// The workload-wide checks, in order: classes present, `load`, the cell's capacity,
/// `total_mean_interarrival_s`, and the arrival shares' sum.
fn check_totals(spec: &WorkloadSpec, cluster: &ClusterSpec) -> Result<Totals, WorkloadError> {
    if spec.classes.is_empty() {
        return Err(WorkloadError::invalid(
            "workload.classes",
            "the workload is empty: list at least one job class",
        ));
    }
    let bad_load = spec.load.filter(|l| !(l.is_finite() && *l > 0.0));
    if let Some(load) = bad_load {
        return Err(WorkloadError::invalid(
            "workload.load",
            format!("must be a finite utilisation > 0 (e.g. 0.7), got {load}"),
        ));
    }
    let capacity = cluster.capacity()?;
    let share_sum: f64 = spec
        .classes
        .iter()
        .filter_map(|c| match c.arrivals {
            Arrivals::Share { share } => Some(share),
            _ => None,
        })
        .sum();
    let total_gap_s = match spec.total_mean_interarrival_s {
        Some(t) => Some(positive_seconds(
            "workload.total_mean_interarrival_s".into(),
            t,
        )?),
        None => None,
    };
    if share_sum > 1.0 + 1e-9 {
        return Err(WorkloadError::invalid(
            "workload.classes",
            format!("arrival shares add up to {share_sum}, more than 1"),
        ));
    }
    Ok(Totals {
        capacity,
        total_gap_s,
    })
}

/// Checks and compiles class `c`, the `i`-th of `spec`.
fn compile_class(
    spec: &WorkloadSpec,
    cluster: &ClusterSpec,
    totals: &Totals,
    i: usize,
    c: &crate::ClassSpec,
) -> Result<CompiledClass, WorkloadError> {
    let f = class_field(i, c);
    check_name(spec, i, c, &f)?;
    let (gap_s, gap_floor_us, mean_gap_s) = arrival_gap(&f, c, totals.total_gap_s)?;
    let gap_s = gap_s.compile(&format!("{f}.arrivals"))?;
    let tasks = c.tasks.compile(&format!("{f}.tasks"))?;
    let cpu_cores = c.cpu_cores.compile(&format!("{f}.cpu_cores"))?;
    let mem_gib = c.mem_gib.compile(&format!("{f}.mem_gib"))?;
    let mapreduce = compile_mapreduce(&f, c)?;
    let duration_s = match &c.duration_s {
        Some(d) => Some(d.compile(&format!("{f}.duration_s"))?),
        None => None,
    };
    let gpu = compile_gpu(&f, c, totals.capacity)?;
    check_constraints(&f, c, cluster)?;
    let deps = compile_deps(&f, spec, c)?;
    let u = &c.users;
    let zipf = compile_users(&f, u)?;
    let prefill_window_s = match c.prefill_window_s {
        Some(w) => Some(positive_seconds(format!("{f}.prefill_window_s"), w)?),
        None => None,
    };
    Ok(CompiledClass {
        name: Arc::from(c.name.as_str()),
        gap_s,
        gap_floor_us,
        mean_gap_s,
        tasks,
        duration_s,
        mapreduce,
        cpu_cores,
        mem_gib,
        gpu,
        priority: c.priority,
        gang: c.gang,
        required_labels: c.constraints.required_labels.clone(),
        required_any_labels: c.constraints.required_any_labels.clone(),
        one_task_per_machine: c.constraints.one_task_per_machine,
        spread: c.constraints.spread_over_domains,
        deps,
        user_first: u.first,
        user_count: u.count,
        zipf,
        prefill: c.prefill,
        prefill_window_s,
    })
}

/// The field prefix of class `c`, the `i`-th: `workload.classes[NAME]`, or its index when
/// the name is empty.
fn class_field(i: usize, c: &crate::ClassSpec) -> String {
    format!(
        "workload.classes[{}]",
        if c.name.is_empty() {
            i.to_string()
        } else {
            c.name.clone()
        }
    )
}

/// A class's name is not empty and not the name of an earlier class.
fn check_name(
    spec: &WorkloadSpec,
    i: usize,
    c: &crate::ClassSpec,
    f: &str,
) -> Result<(), WorkloadError> {
    if c.name.is_empty() {
        return Err(WorkloadError::invalid(
            format!("{f}.name"),
            "must not be empty",
        ));
    }
    if spec.classes[..i].iter().any(|o| o.name == c.name) {
        return Err(WorkloadError::invalid(
            format!("{f}.name"),
            "the name is used twice",
        ));
    }
    Ok(())
}

/// The gap between a class's arrivals: its distribution in seconds, its floor in µs and
/// its mean in seconds. A class arriving by share gets `total_gap_s / share`.
fn arrival_gap(
    f: &str,
    c: &crate::ClassSpec,
    total_gap_s: Option<f64>,
) -> Result<(crate::Dist, u64, f64), WorkloadError> {
    Ok(match c.arrivals {
        Arrivals::Exponential { mean_s } => {
            let m = positive_seconds(format!("{f}.arrivals.exponential.mean_s"), mean_s)?;
            (crate::Dist::Exponential { mean: m }, 0, m)
        }
        Arrivals::Constant { interval_s } => {
            let m = positive_seconds(format!("{f}.arrivals.constant.interval_s"), interval_s)?;
            (crate::Dist::Constant(m), 1, m)
        }
        Arrivals::Share { share } => {
            if !(share > 0.0 && share <= 1.0) {
                return Err(WorkloadError::invalid(
                    format!("{f}.arrivals.share.share"),
                    format!("must be within (0, 1], got {share}"),
                ));
            }
            let Some(total) = total_gap_s else {
                return Err(WorkloadError::invalid(
                    "workload.total_mean_interarrival_s",
                    format!("is needed because class {} arrives by share", c.name),
                ));
            };
            let m = total / share;
            (crate::Dist::Exponential { mean: m }, 0, m)
        }
    })
}

/// A class's GPU part: the probability that a job needs GPUs and the per-task sampler; an
/// error when jobs need GPUs and the cell has none.
fn compile_gpu(
    f: &str,
    c: &crate::ClassSpec,
    capacity: Resources,
) -> Result<Option<(f64, Sampler)>, WorkloadError> {
    let Some(g) = &c.gpu else {
        return Ok(None);
    };
    let p = probability(format!("{f}.gpu.probability"), g.probability)?;
    let s = g.per_task.compile(&format!("{f}.gpu.per_task"))?;
    if p > 0.0 && capacity.gpu_milli == 0 {
        return Err(WorkloadError::invalid(
            format!("{f}.gpu"),
            format!(
                "{}% of the class's jobs need GPUs, but no machine of the cluster \
                 has one",
                p * 100.0
            ),
        ));
    }
    Ok(Some((p, s)))
}

/// A class's constraints can be met: some machine type has the required labels (and one
/// of each required-any set), and `spread_over_domains` is not 0.
fn check_constraints(
    f: &str,
    c: &crate::ClassSpec,
    cluster: &ClusterSpec,
) -> Result<(), WorkloadError> {
    let k = &c.constraints;
    if !k.required_labels.is_empty() && !cluster.has_type_allowing(&k.required_labels, &[])? {
        return Err(WorkloadError::invalid(
            format!("{f}.constraints.required_labels"),
            format!(
                "no machine type has all of {:?}, so no job of the class could run",
                k.required_labels
            ),
        ));
    }
    if !k.required_any_labels.is_empty()
        && !cluster.has_type_allowing(&k.required_labels, &k.required_any_labels)?
    {
        return Err(WorkloadError::invalid(
            format!("{f}.constraints.required_any_labels"),
            format!(
                "no machine type has all of {:?} and one of each of {:?}, so no job of the \
                 class could run",
                k.required_labels, k.required_any_labels
            ),
        ));
    }
    if k.spread_over_domains == Some(0) {
        return Err(WorkloadError::invalid(
            format!("{f}.constraints.spread_over_domains"),
            "must be at least 1",
        ));
    }
    Ok(())
}

/// A class's dependencies: a probability, a class of `spec` to depend on, and at least one
/// job and a window of at least one.
fn compile_deps(
    f: &str,
    spec: &WorkloadSpec,
    c: &crate::ClassSpec,
) -> Result<Option<CompiledDeps>, WorkloadError> {
    let Some(d) = &c.dependencies else {
        return Ok(None);
    };
    let p = probability(format!("{f}.dependencies.probability"), d.probability)?;
    let Some((on, _)) = spec.class(&d.on_class) else {
        return Err(WorkloadError::invalid(
            format!("{f}.dependencies.on_class"),
            format!("there is no class named {:?}", d.on_class),
        ));
    };
    if d.max_jobs == 0 {
        return Err(WorkloadError::invalid(
            format!("{f}.dependencies.max_jobs"),
            "must be at least 1",
        ));
    }
    if d.window == 0 {
        return Err(WorkloadError::invalid(
            format!("{f}.dependencies.window"),
            "must be at least 1",
        ));
    }
    Ok(Some(CompiledDeps {
        probability: p,
        on_class: on,
        max_jobs: d.max_jobs,
        window: d.window as usize,
    }))
}

/// A class's users: at least one, ids that fit in 32 bits, a Zipf exponent >= 0; the Zipf
/// sampler when there is more than one user.
fn compile_users(f: &str, u: &crate::UserSpec) -> Result<Option<Zipf<f64>>, WorkloadError> {
    if u.count == 0 {
        return Err(WorkloadError::invalid(
            format!("{f}.users.count"),
            "must be at least 1",
        ));
    }
    if u.first.checked_add(u.count - 1).is_none() {
        return Err(WorkloadError::invalid(
            format!("{f}.users"),
            "first + count overflows a 32-bit user id",
        ));
    }
    if !(u.zipf_s.is_finite() && u.zipf_s >= 0.0) {
        return Err(WorkloadError::invalid(
            format!("{f}.users.zipf_s"),
            format!("must be a finite number >= 0, got {}", u.zipf_s),
        ));
    }
    if u.count == 1 {
        return Ok(None);
    }
    Zipf::new(f64::from(u.count), u.zipf_s)
        .map(Some)
        .map_err(|e| WorkloadError::invalid(format!("{f}.users"), e.to_string()))
}

/// The MapReduce part of class `c` (field prefix `f`), and the duration rules around it:
/// `duration_s` xor `mapreduce.total_work_s`, the latter only when every job is MapReduce.
fn compile_mapreduce(
    f: &str,
    c: &crate::ClassSpec,
) -> Result<Option<CompiledMapReduce>, WorkloadError> {
    let share = match (c.mapreduce_share, &c.mapreduce) {
        (Some(p), _) => probability(format!("{f}.mapreduce_share"), p)?,
        (None, Some(_)) => 1.0,
        (None, None) => 0.0,
    };
    let spec = c.mapreduce.clone().unwrap_or_default();
    let work_s = spec.total_work_s.as_ref();
    match (&c.duration_s, work_s) {
        (Some(_), Some(_)) => {
            return Err(WorkloadError::invalid(
                f,
                "give duration_s or mapreduce.total_work_s, not both (a MapReduce task runs \
                 total_work / workers; with duration_s the work is workers × duration_s)",
            ));
        }
        (None, None) => {
            return Err(WorkloadError::invalid(
                format!("{f}.duration_s"),
                "is missing (or give mapreduce.total_work_s for a class of MapReduce jobs)",
            ));
        }
        (None, Some(_)) if share < 1.0 => {
            return Err(WorkloadError::invalid(
                format!("{f}.duration_s"),
                format!(
                    "is needed: only a share ({share}) of the class's jobs are MapReduce, and \
                     the others need a duration (mapreduce.total_work_s is for a class of \
                     MapReduce jobs only)"
                ),
            ));
        }
        _ => {}
    }
    if share == 0.0 && c.mapreduce.is_none() {
        return Ok(None);
    }
    let compile = |d: Option<&crate::Dist>, key: &str| match d {
        Some(d) => d.compile(&format!("{f}.mapreduce.{key}")).map(Some),
        None => Ok(None),
    };
    Ok(Some(CompiledMapReduce {
        share,
        workers: compile(spec.workers.as_ref(), "workers")?,
        work_s: compile(work_s, "total_work_s")?,
        shards_per_worker: compile(spec.shards_per_worker.as_ref(), "shards_per_worker")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::gpu_milli;

    #[test]
    fn gpu_rounding_rule() {
        assert_eq!(gpu_milli(0.25), 250);
        assert_eq!(gpu_milli(0.0001), 1);
        assert_eq!(gpu_milli(0.9996), 1000);
        assert_eq!(gpu_milli(1.0), 1000);
        assert_eq!(gpu_milli(1.4), 1000);
        assert_eq!(gpu_milli(1.5), 2000);
        assert_eq!(gpu_milli(2.0), 2000);
    }
}
