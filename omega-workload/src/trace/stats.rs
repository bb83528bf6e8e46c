//! Summary statistics of a loaded trace: what `cargo xtask trace-stats` prints.
//!
//! Counts and totals are exact integers. Per class (and for `all`), the mean, median and 99th
//! percentile of tasks per job (one value per job) and of task duration and requests (one
//! value per task) are given. Percentiles use the nearest-rank rule: the p-th percentile is
//! the smallest value with at least p% of the values at or below it (so it is always a value
//! that occurs). Means are rounded to three decimals. Prefill jobs are included and also
//! counted apart.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use omega_core::{Job, Machine};
use serde::Serialize;

use super::{Trace, TraceError, TraceFormat, TraceStream};

/// Mean, median and 99th percentile of a set of values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Arithmetic mean, rounded to three decimals (0 for no values).
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: u64,
    /// 99th percentile (nearest rank).
    pub p99: u64,
}

impl Summary {
    /// The summary of `(value, weight)` pairs: each value counts `weight` times.
    ///
    /// ```
    /// use omega_workload::trace::Summary;
    /// let s = Summary::of_weighted(vec![(10, 1), (20, 1), (30, 98)]);
    /// assert_eq!((s.p50, s.p99), (30, 30));
    /// assert_eq!(s.mean, 29.7);
    /// assert_eq!(Summary::of_weighted(vec![(1, 1), (2, 1), (3, 1), (4, 1)]).p50, 2);
    /// ```
    pub fn of_weighted(mut values: Vec<(u64, u64)>) -> Summary {
        values.retain(|&(_, w)| w > 0);
        values.sort_unstable();
        let total: u128 = values.iter().map(|&(_, w)| u128::from(w)).sum();
        if total == 0 {
            return Summary {
                mean: 0.0,
                p50: 0,
                p99: 0,
            };
        }
        let sum: u128 = values
            .iter()
            .map(|&(v, w)| u128::from(v) * u128::from(w))
            .sum();
        let rank = |p: u128| -> u64 {
            let needed = (total * p).div_ceil(100).max(1);
            let mut seen = 0u128;
            for &(v, w) in &values {
                seen += u128::from(w);
                if seen >= needed {
                    return v;
                }
            }
            values.last().map_or(0, |&(v, _)| v)
        };
        Summary {
            mean: ((sum as f64 / total as f64) * 1000.0).round() / 1000.0,
            p50: rank(50),
            p99: rank(99),
        }
    }
}

/// Resource totals in the model's units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ResourceTotals {
    /// Millicores.
    pub cpu_milli: u64,
    /// Milli-GPUs.
    pub gpu_milli: u64,
    /// MiB.
    pub mem_mib: u64,
}

/// The cluster a trace defines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MachineTotals {
    /// Number of machines.
    pub machines: u64,
    /// Their total capacity.
    pub capacity: ResourceTotals,
    /// Machines per type name.
    pub types: BTreeMap<String, u64>,
}

/// One class's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassStats {
    /// The class (`all` for every job).
    pub class: String,
    /// Jobs (prefill included).
    pub jobs: u64,
    /// Tasks (prefill included).
    pub tasks: u64,
    /// Tasks per job.
    pub tasks_per_job: Summary,
    /// Task durations in µs.
    pub duration_us: Summary,
    /// Per-task CPU requests in millicores.
    pub cpu_milli: Summary,
    /// Per-task memory requests in MiB.
    pub mem_mib: Summary,
    /// Per-task GPU requests in milli-GPUs.
    pub gpu_milli: Summary,
}

/// The summary of a trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceStats {
    /// The format's name.
    pub format: String,
    /// Jobs, prefill included.
    pub jobs: u64,
    /// Tasks, prefill included.
    pub tasks: u64,
    /// Jobs running at trace start.
    pub prefill_jobs: u64,
    /// Their tasks.
    pub prefill_tasks: u64,
    /// Earliest submit time of a non-prefill job, µs (0 if none).
    pub first_submit_us: u64,
    /// Latest submit time, µs (0 if none).
    pub last_submit_us: u64,
    /// The replay's end, µs.
    pub horizon_us: u64,
    /// Sum over all tasks of their requests (saturating).
    pub requested: ResourceTotals,
    /// The cluster, when the trace defines one.
    pub cluster: Option<MachineTotals>,
    /// Gang (all-or-nothing) jobs.
    pub gang_jobs: u64,
    /// Jobs with a placement constraint.
    pub constrained_jobs: u64,
    /// Jobs depending on another job.
    pub dependent_jobs: u64,
    /// Malformed lines skipped (lenient mode).
    pub skipped_lines: u64,
    /// Records that could not become jobs.
    pub dropped_jobs: u64,
    /// Tasks running at the trace's start, whose durations are lower bounds
    /// ([`Trace::censored_tasks`]).
    pub censored_tasks: u64,
    /// Tasks of duration 0 ([`Trace::zero_duration_tasks`]).
    pub zero_duration_tasks: u64,
    /// Per class: `all` first, then the classes by name.
    pub classes: Vec<ClassStats>,
}

/// Values collected for one class.
#[derive(Default)]
struct Acc {
    jobs: u64,
    tasks: u64,
    tasks_per_job: Vec<(u64, u64)>,
    durations: Vec<(u64, u64)>,
    cpu: Vec<(u64, u64)>,
    mem: Vec<(u64, u64)>,
    gpu: Vec<(u64, u64)>,
}

impl Acc {
    fn add(&mut self, job: &Job) {
        let tasks = u64::from(job.tasks);
        self.jobs += 1;
        self.tasks += tasks;
        self.tasks_per_job.push((tasks, 1));
        if job.task_durations_us.is_empty() {
            self.durations.push((job.task_duration_us, tasks));
        } else {
            let listed = job.task_durations_us.len().min(job.tasks as usize);
            self.durations
                .extend(job.task_durations_us[..listed].iter().map(|&d| (d, 1)));
            let rest = tasks - listed as u64;
            self.durations.push((job.task_duration_us, rest));
        }
        self.cpu.push((job.task_resources.cpu_milli, tasks));
        self.mem.push((job.task_resources.mem_mib, tasks));
        self.gpu.push((job.task_resources.gpu_milli, tasks));
    }

    fn finish(self, class: String) -> ClassStats {
        ClassStats {
            class,
            jobs: self.jobs,
            tasks: self.tasks,
            tasks_per_job: Summary::of_weighted(self.tasks_per_job),
            duration_us: Summary::of_weighted(self.durations),
            cpu_milli: Summary::of_weighted(self.cpu),
            mem_mib: Summary::of_weighted(self.mem),
            gpu_milli: Summary::of_weighted(self.gpu),
        }
    }
}

fn add_totals(totals: &mut ResourceTotals, job: &Job) {
    let tasks = u64::from(job.tasks);
    let r = job.task_resources;
    totals.cpu_milli = totals
        .cpu_milli
        .saturating_add(r.cpu_milli.saturating_mul(tasks));
    totals.gpu_milli = totals
        .gpu_milli
        .saturating_add(r.gpu_milli.saturating_mul(tasks));
    totals.mem_mib = totals
        .mem_mib
        .saturating_add(r.mem_mib.saturating_mul(tasks));
}

/// The job-by-job part of a summary.
#[derive(Default)]
struct JobsAcc {
    all: Acc,
    by_class: BTreeMap<String, Acc>,
    requested: ResourceTotals,
    gang: u64,
    constrained: u64,
    dependent: u64,
    first_submit_us: Option<u64>,
    last_submit_us: u64,
}

impl JobsAcc {
    fn add(&mut self, job: &Job) {
        self.all.add(job);
        match self.by_class.get_mut(&*job.class) {
            Some(acc) => acc.add(job),
            None => self
                .by_class
                .entry(job.class.to_string())
                .or_default()
                .add(job),
        }
        add_totals(&mut self.requested, job);
        self.gang += u64::from(job.gang);
        self.constrained += u64::from(!job.constraints.is_empty());
        self.dependent += u64::from(!job.depends_on.is_empty());
    }

    /// Adds a submitted (not prefill) job, in submit order.
    fn add_submitted(&mut self, job: &Job) {
        self.add(job);
        self.first_submit_us.get_or_insert(job.submit_at_us);
        self.last_submit_us = job.submit_at_us;
    }
}

fn cluster_totals(machines: &[Machine]) -> MachineTotals {
    let mut capacity = ResourceTotals::default();
    let mut types = BTreeMap::new();
    for m in machines {
        capacity.cpu_milli = capacity.cpu_milli.saturating_add(m.capacity.cpu_milli);
        capacity.gpu_milli = capacity.gpu_milli.saturating_add(m.capacity.gpu_milli);
        capacity.mem_mib = capacity.mem_mib.saturating_add(m.capacity.mem_mib);
        *types.entry(m.type_name.clone()).or_insert(0) += 1;
    }
    MachineTotals {
        machines: machines.len() as u64,
        capacity,
        types,
    }
}

/// What a summary says besides the jobs: a [`Trace`]'s or a [`TraceStream`]'s fields.
struct Meta<'a> {
    format: TraceFormat,
    machines: Option<&'a [Machine]>,
    prefill: &'a [Job],
    horizon_us: u64,
    skipped_lines: u64,
    dropped_jobs: u64,
    censored_tasks: u64,
    zero_duration_tasks: u64,
}

impl TraceStats {
    /// Summarises `trace`.
    pub fn of(trace: &Trace) -> TraceStats {
        let mut acc = JobsAcc::default();
        trace.prefill.iter().for_each(|j| acc.add(j));
        trace.jobs.iter().for_each(|j| acc.add_submitted(j));
        let meta = Meta {
            format: trace.format,
            machines: trace.machines.as_deref(),
            prefill: &trace.prefill,
            horizon_us: trace.horizon_us,
            skipped_lines: trace.skipped_lines,
            dropped_jobs: trace.dropped_jobs,
            censored_tasks: trace.censored_tasks,
            zero_duration_tasks: trace.zero_duration_tasks,
        };
        Self::build(acc, &meta)
    }

    /// Summarises a trace as it streams: the same summary as [`TraceStats::of`] of the
    /// loaded trace, without holding its jobs (what is kept per job is the few numbers
    /// the exact quantiles need). The first read error ends it.
    pub fn of_stream(mut stream: TraceStream) -> Result<TraceStats, TraceError> {
        let mut acc = JobsAcc::default();
        stream.prefill.iter().for_each(|j| acc.add(j));
        for job in &mut stream {
            acc.add_submitted(&job?);
        }
        let meta = Meta {
            format: stream.format,
            machines: stream.machines.as_deref(),
            prefill: &stream.prefill,
            horizon_us: stream.horizon_us,
            skipped_lines: stream.skipped_lines,
            dropped_jobs: stream.dropped_jobs,
            censored_tasks: stream.censored_tasks,
            zero_duration_tasks: stream.zero_duration_tasks,
        };
        Ok(Self::build(acc, &meta))
    }

    fn build(acc: JobsAcc, meta: &Meta<'_>) -> TraceStats {
        let mut classes = vec![acc.all.finish("all".to_owned())];
        classes.extend(acc.by_class.into_iter().map(|(name, acc)| acc.finish(name)));
        TraceStats {
            format: meta.format.name().to_owned(),
            jobs: classes[0].jobs,
            tasks: classes[0].tasks,
            prefill_jobs: meta.prefill.len() as u64,
            prefill_tasks: meta.prefill.iter().map(|j| u64::from(j.tasks)).sum(),
            first_submit_us: acc.first_submit_us.unwrap_or(0),
            last_submit_us: acc.last_submit_us,
            horizon_us: meta.horizon_us,
            requested: acc.requested,
            cluster: meta.machines.map(cluster_totals),
            gang_jobs: acc.gang,
            constrained_jobs: acc.constrained,
            dependent_jobs: acc.dependent,
            skipped_lines: meta.skipped_lines,
            dropped_jobs: meta.dropped_jobs,
            censored_tasks: meta.censored_tasks,
            zero_duration_tasks: meta.zero_duration_tasks,
            classes,
        }
    }

    /// The summary as pretty-printed JSON (stable field order).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The summary as a human-readable text table.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_totals(&mut out);
        let _ = writeln!(out);
        self.write_class_table(&mut out);
        let mut trimmed: String = out.lines().map(|l| format!("{}\n", l.trim_end())).collect();
        trimmed.shrink_to_fit();
        trimmed
    }

    /// The trace-wide lines of [`Self::to_text`]: counts, times, requests, cluster, losses.
    fn write_totals(&self, out: &mut String) {
        let secs = |us: u64| format!("{:.3} s", us as f64 / 1e6);
        let _ = writeln!(out, "format         {}", self.format);
        let _ = writeln!(
            out,
            "jobs           {} ({} prefill, {} gang, {} constrained, {} with dependencies)",
            self.jobs,
            self.prefill_jobs,
            self.gang_jobs,
            self.constrained_jobs,
            self.dependent_jobs
        );
        let _ = writeln!(
            out,
            "tasks          {} ({} prefill)",
            self.tasks, self.prefill_tasks
        );
        let _ = writeln!(
            out,
            "submits        {} .. {} (horizon {})",
            secs(self.first_submit_us),
            secs(self.last_submit_us),
            secs(self.horizon_us)
        );
        let r = &self.requested;
        let _ = writeln!(
            out,
            "requested      {} cpu_milli, {} gpu_milli, {} mem_mib (sum over tasks)",
            r.cpu_milli, r.gpu_milli, r.mem_mib
        );
        match &self.cluster {
            Some(c) => {
                let types: Vec<String> = c.types.iter().map(|(t, n)| format!("{t}×{n}")).collect();
                let _ = writeln!(
                    out,
                    "cluster        {} machines: {} cpu_milli, {} gpu_milli, {} mem_mib ({})",
                    c.machines,
                    c.capacity.cpu_milli,
                    c.capacity.gpu_milli,
                    c.capacity.mem_mib,
                    types.join(", ")
                );
            }
            None => {
                let _ = writeln!(out, "cluster        not in the trace");
            }
        }
        let _ = writeln!(
            out,
            "bad input      {} lines skipped, {} records dropped",
            self.skipped_lines, self.dropped_jobs
        );
        let _ = writeln!(
            out,
            "durations      {} tasks censored (running at the start: lower bounds), {} of 0 s",
            self.censored_tasks, self.zero_duration_tasks
        );
    }

    /// The per-class table of [`Self::to_text`].
    fn write_class_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{:<12} {:>8} {:>9}  {:<24} {:<30} {:<24} {:<24} {:<20}",
            "class",
            "jobs",
            "tasks",
            "tasks/job mean p50 p99",
            "duration s mean p50 p99",
            "cpu_milli mean p50 p99",
            "mem_mib mean p50 p99",
            "gpu_milli mean p50 p99"
        );
        for c in &self.classes {
            let int = |s: &Summary| format!("{:.1} {} {}", s.mean, s.p50, s.p99);
            let d = &c.duration_us;
            let dur = format!(
                "{:.1} {:.1} {:.1}",
                d.mean / 1e6,
                d.p50 as f64 / 1e6,
                d.p99 as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "{:<12} {:>8} {:>9}  {:<24} {:<30} {:<24} {:<24} {:<20}",
                c.class,
                c.jobs,
                c.tasks,
                int(&c.tasks_per_job),
                dur,
                int(&c.cpu_milli),
                int(&c.mem_mib),
                int(&c.gpu_milli)
            );
        }
    }
}
