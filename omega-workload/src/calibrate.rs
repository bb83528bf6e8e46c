//! Load calibration: the load each class offers to each resource of a cell, and the factor
//! by which arrival rates are scaled to reach the workload's `load` target.
//!
//! A class with arrival rate `λ` (jobs per second) offers, for resource `r`,
//! `λ × E[tasks × duration] × E[request_r] / capacity_r` of the cell in steady state
//! (Little's law; a job's request is drawn independently of its size and duration). The
//! means are estimated by sampling [`CALIBRATION_SAMPLES`] jobs of each class from fixed
//! streams (seed 0, `"<class>/calibration/…"`), so the calibration depends on the specs
//! only, never on the experiment seed. For heavy-tailed sizes the estimate's standard error
//! is a few percent (e.g. ±1.6% for the seed's batch task count).
//!
//! The scale factor is `load / max_r offered_r` (the bottleneck resource reaches `load`);
//! without a `load` target it is 1.

use core::fmt;

use omega_core::Resources;

use crate::generate::{CompiledClass, ShapeRngs};

/// Jobs sampled per class to estimate the means.
pub const CALIBRATION_SAMPLES: u32 = 1 << 16;

/// A share of each resource of the cell (1.0 = the whole cell).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ResourceShares {
    /// Share of the cell's CPU.
    pub cpu: f64,
    /// Share of the cell's GPUs (0 when the cell has none).
    pub gpu: f64,
    /// Share of the cell's memory.
    pub mem: f64,
}

impl ResourceShares {
    /// The largest share and the resource's name (`"cpu"`, `"gpu"` or `"mem"`).
    pub fn max(&self) -> (f64, &'static str) {
        let mut best = (self.cpu, "cpu");
        if self.gpu > best.0 {
            best = (self.gpu, "gpu");
        }
        if self.mem > best.0 {
            best = (self.mem, "mem");
        }
        best
    }

    fn add(&mut self, o: &ResourceShares) {
        self.cpu += o.cpu;
        self.gpu += o.gpu;
        self.mem += o.mem;
    }

    fn scaled(&self, k: f64) -> ResourceShares {
        ResourceShares {
            cpu: self.cpu * k,
            gpu: self.gpu * k,
            mem: self.mem * k,
        }
    }
}

/// What one class offers, at its arrival rate as written.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassLoad {
    /// The class name.
    pub name: String,
    /// Jobs per hour as written (before scaling).
    pub jobs_per_hour: f64,
    /// Mean tasks per job.
    pub mean_tasks: f64,
    /// Mean task duration in seconds.
    pub mean_task_duration_s: f64,
    /// Mean task-seconds per job, `E[tasks × duration]`.
    pub mean_task_seconds: f64,
    /// Mean request of one task.
    pub mean_cpu_cores: f64,
    /// Mean GPUs of one task (counting tasks without GPUs as 0).
    pub mean_gpus: f64,
    /// Mean memory of one task, in GiB.
    pub mean_mem_gib: f64,
    /// Offered load as a share of the cell, before scaling.
    pub offered: ResourceShares,
}

/// The calibration of a workload on a cell (see the module docs); print it with `{}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// Machines in the cell.
    pub machines: u32,
    /// The cell's total capacity.
    pub capacity: Resources,
    /// Per class, in class order.
    pub classes: Vec<ClassLoad>,
    /// All classes together, before scaling.
    pub offered: ResourceShares,
    /// The `load` target, if any.
    pub target_load: Option<f64>,
    /// The factor applied to every arrival rate (1 without a target).
    pub scale: f64,
    /// The resource with the largest offered load.
    pub bottleneck: &'static str,
}

impl Calibration {
    /// Offered load after scaling: what the stream actually offers.
    pub fn scaled_offered(&self) -> ResourceShares {
        self.offered.scaled(self.scale)
    }

    pub(crate) fn new(
        classes: &[CompiledClass],
        machines: u32,
        capacity: Resources,
        target_load: Option<f64>,
    ) -> Self {
        let share = |demand: f64, cap: u64| if cap == 0 { 0.0 } else { demand / cap as f64 };
        let mut total = ResourceShares::default();
        let mut loads = Vec::with_capacity(classes.len());
        for c in classes {
            let mut rngs = ShapeRngs::new(0, &c.name, "calibration/");
            let n = f64::from(CALIBRATION_SAMPLES);
            let (mut tasks, mut dur, mut prod) = (0.0, 0.0, 0.0);
            let (mut cpu, mut gpu, mut mem) = (0.0, 0.0, 0.0);
            for _ in 0..CALIBRATION_SAMPLES {
                let s = c.shape(&mut rngs);
                let t = f64::from(s.tasks);
                let d = s.duration_us as f64 / 1e6;
                tasks += t;
                dur += d;
                prod += t * d;
                cpu += s.resources.cpu_milli as f64;
                gpu += s.resources.gpu_milli as f64;
                mem += s.resources.mem_mib as f64;
            }
            let (tasks, dur, prod) = (tasks / n, dur / n, prod / n);
            let (cpu, gpu, mem) = (cpu / n, gpu / n, mem / n);
            // Independent draws: E[tasks × duration] = E[tasks] × E[duration], which has a
            // far smaller sampling error than the mean of the products. MapReduce durations
            // depend on the worker count, so there the mean of the products is used.
            let task_seconds = if c.is_mapreduce() { prod } else { tasks * dur };
            let rate = 1.0 / c.mean_gap_s;
            let busy = rate * task_seconds;
            let offered = ResourceShares {
                cpu: share(busy * cpu, capacity.cpu_milli),
                gpu: share(busy * gpu, capacity.gpu_milli),
                mem: share(busy * mem, capacity.mem_mib),
            };
            total.add(&offered);
            loads.push(ClassLoad {
                name: c.name.to_string(),
                jobs_per_hour: rate * 3600.0,
                mean_tasks: tasks,
                mean_task_duration_s: dur,
                mean_task_seconds: task_seconds,
                mean_cpu_cores: cpu / 1000.0,
                mean_gpus: gpu / 1000.0,
                mean_mem_gib: mem / 1024.0,
                offered,
            });
        }
        let (peak, bottleneck) = total.max();
        let scale = match target_load {
            Some(l) if peak > 0.0 => l / peak,
            _ => 1.0,
        };
        Self {
            machines,
            capacity,
            classes: loads,
            offered: total,
            target_load,
            scale,
            bottleneck,
        }
    }
}

impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cell: {} machines, {:.0} cores, {} GPUs, {:.0} GiB",
            self.machines,
            self.capacity.cpu_milli as f64 / 1000.0,
            self.capacity.gpu_milli / 1000,
            self.capacity.mem_mib as f64 / 1024.0
        )?;
        writeln!(
            f,
            "{:<12} {:>9} {:>9} {:>11} {:>7} {:>7} {:>7}   offered load (share of cell), as written",
            "class", "jobs/h", "tasks/job", "task dur s", "cpu", "gpu", "mem"
        )?;
        for c in &self.classes {
            writeln!(
                f,
                "{:<12} {:>9.1} {:>9.2} {:>11.1} {:>7.3} {:>7.3} {:>7.3}",
                c.name,
                c.jobs_per_hour,
                c.mean_tasks,
                c.mean_task_duration_s,
                c.offered.cpu,
                c.offered.gpu,
                c.offered.mem
            )?;
        }
        let o = &self.offered;
        writeln!(
            f,
            "{:<12} {:>43.3} {:>7.3} {:>7.3}",
            "total", o.cpu, o.gpu, o.mem
        )?;
        let s = self.scaled_offered();
        match self.target_load {
            Some(l) => write!(
                f,
                "bottleneck {}; target load {l}; arrival rates scaled by {:.4}; \
                 offered after scaling: cpu {:.3}, gpu {:.3}, mem {:.3}",
                self.bottleneck, self.scale, s.cpu, s.gpu, s.mem
            ),
            None => write!(
                f,
                "bottleneck {}; no load target, arrival rates as written (scale 1)",
                self.bottleneck
            ),
        }
    }
}
