//! Prefill: the jobs of long-running classes (those with `prefill = true`) that are
//! already running when a run starts, with their remaining lifetimes.
//!
//! Method: for each such class, arrivals are walked backwards from time 0 over a window
//! `W` (the class's `prefill_window_s`, default 20 × its mean task duration) with the
//! class's own arrival process (scaled by the calibration, as the stream is); a job that
//! arrived `a` µs before 0 is still running at 0 if its duration `d` exceeds `a`, and then
//! has `d − a` left. This draws residual lives exactly as a steady-state system has them
//! (longer jobs are more likely to be running — the inspection paradox — and, for a
//! Poisson process, the number running is Poisson with mean `λ × E[d]`), except for jobs
//! longer than `W`, which are left out. It assumes each job started when it was submitted.
//!
//! Prefill draws from its own streams (`"<class>/prefill/…"`), so enabling it does not
//! change the job stream. Placing the jobs (e.g. first fit in machine order) is the
//! simulator's business; jobs that do not fit are the simulator's to drop or report.

use omega_core::{Job, JobId, Priority, UserId};

use crate::generate::{CompiledClass, Shape, ShapeRngs, rng};
use crate::spec::MAX_DURATION_US;
use crate::{
    Calibration, ClassLoad, ClusterSpec, JobStream, WorkloadError, WorkloadSpec, to_units,
};

/// Default prefill window, in mean task durations of the class.
pub const DEFAULT_PREFILL_WINDOW_DURATIONS: f64 = 20.0;

/// The most arrivals prefill walks through per class (λ × window); a longer window is an
/// error rather than a run that never starts.
pub const MAX_PREFILL_ARRIVALS: f64 = 5e7;

/// A job already running at time 0.
#[derive(Clone, Debug, PartialEq)]
pub struct PrefillJob {
    /// The job. `submit_at_us` is 0 and `task_duration_us` its full duration; it has no
    /// dependencies.
    pub job: Job,
    /// How long before time 0 it started.
    pub started_before_us: u64,
    /// How long its tasks still run after time 0 (`task_duration_us − started_before_us`).
    pub remaining_us: u64,
}

/// Everything a run needs: the calibration, the prefill, and the stream, with ids dense
/// from 0 over the prefill and then the stream.
#[derive(Debug)]
pub struct Workload {
    /// The load calibration.
    pub calibration: Calibration,
    /// Jobs running at time 0 (ids `0..prefill.len()`).
    pub prefill: Vec<PrefillJob>,
    /// Jobs submitted from time 0 on (ids from `prefill.len()`).
    pub stream: JobStream,
}

impl WorkloadSpec {
    /// The prefill jobs (see the module docs), ids from 0, ordered by start time (earliest
    /// first; ties to the class listed first).
    pub fn prefill(
        &self,
        cluster: &ClusterSpec,
        seed: u64,
    ) -> Result<Vec<PrefillJob>, WorkloadError> {
        let (classes, calibration) = self.compile_and_calibrate(cluster)?;
        Self::prefill_from(&classes, &calibration, cluster, seed)
    }

    /// The prefill of already compiled and calibrated classes.
    fn prefill_from(
        classes: &[CompiledClass],
        calibration: &Calibration,
        cluster: &ClusterSpec,
        seed: u64,
    ) -> Result<Vec<PrefillJob>, WorkloadError> {
        let racks = cluster.rack_count()?;
        // (started_before_us, class index, job)
        let mut found: Vec<(u64, usize, PrefillJob)> = Vec::new();
        for (ci, (class, load)) in classes.iter().zip(&calibration.classes).enumerate() {
            if !class.prefill {
                continue;
            }
            let window_us = prefill_window_us(class, load, calibration.scale)?;
            let walk = PrefillWalk {
                class,
                seed,
                window_us,
                us_per_s: 1e6 / calibration.scale,
                racks,
            };
            found.extend(
                walk.running_at_zero()
                    .map(|(age_us, job)| (age_us, ci, job)),
            );
        }
        // Earliest start first; within one class the walk is already in reverse order.
        found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(found
            .into_iter()
            .enumerate()
            .map(|(i, (_, _, mut p))| {
                p.job.id = JobId(i as u64);
                p
            })
            .collect())
    }

    /// Calibration, prefill and stream together, ids dense over prefill then stream.
    pub fn generate(
        &self,
        cluster: &ClusterSpec,
        seed: u64,
        horizon_us: u64,
    ) -> Result<Workload, WorkloadError> {
        // Compile and calibrate once for both.
        let (classes, calibration) = self.compile_and_calibrate(cluster)?;
        let prefill = Self::prefill_from(&classes, &calibration, cluster, seed)?;
        let stream = Self::stream_from(classes, calibration, cluster, seed, horizon_us)?
            .with_first_id(prefill.len() as u64);
        Ok(Workload {
            calibration: stream.calibration().clone(),
            prefill,
            stream,
        })
    }
}

/// A class's prefill window in µs: its `prefill_window_s`, or
/// [`DEFAULT_PREFILL_WINDOW_DURATIONS`] mean task durations; an error when the window holds
/// more than [`MAX_PREFILL_ARRIVALS`] arrivals at the calibrated rate.
fn prefill_window_us(
    class: &CompiledClass,
    load: &ClassLoad,
    scale: f64,
) -> Result<u64, WorkloadError> {
    let window_s = class
        .prefill_window_s
        .unwrap_or(DEFAULT_PREFILL_WINDOW_DURATIONS * load.mean_task_duration_s);
    let arrivals_in_window = window_s * scale / class.mean_gap_s;
    if arrivals_in_window.is_nan() || arrivals_in_window > MAX_PREFILL_ARRIVALS {
        return Err(WorkloadError::invalid(
            format!("workload.classes[{}].prefill_window_s", class.name),
            format!(
                "a window of {window_s:.0} s holds about {arrivals_in_window:.3e} \
                 arrivals, more than the {MAX_PREFILL_ARRIVALS:.0e} prefill may draw"
            ),
        ));
    }
    Ok(to_units(window_s, 1e6, 1, MAX_DURATION_US))
}

/// One class's walk backwards from time 0 over its prefill window.
struct PrefillWalk<'a> {
    class: &'a CompiledClass,
    seed: u64,
    window_us: u64,
    /// Microseconds per second of the class's arrival process (scaled by the calibration).
    us_per_s: f64,
    racks: u32,
}

impl PrefillWalk<'_> {
    /// The jobs still running at time 0, each with how long before 0 it started, latest
    /// start first (the order of the walk).
    fn running_at_zero(&self) -> impl Iterator<Item = (u64, PrefillJob)> + '_ {
        let class = self.class;
        let mut arrivals = rng(self.seed, &class.name, "prefill/arrivals");
        let mut shapes = ShapeRngs::new(self.seed, &class.name, "prefill/");
        let mut users = rng(self.seed, &class.name, "prefill/users");
        let mut age_us: u64 = 0;
        std::iter::from_fn(move || {
            loop {
                let gap = to_units(
                    class.gap_s.sample(&mut arrivals),
                    self.us_per_s,
                    class.gap_floor_us,
                    MAX_DURATION_US,
                );
                age_us = age_us.saturating_add(gap);
                if age_us >= self.window_us {
                    return None;
                }
                let shape = class.shape(&mut shapes);
                let user = class.user(&mut users);
                if shape.duration_us > age_us {
                    return Some((age_us, self.job(shape, user, age_us)));
                }
            }
        })
    }

    /// The prefill job of `shape` and `user` that started `age_us` before time 0.
    fn job(&self, shape: Shape, user: u32, age_us: u64) -> PrefillJob {
        let class = self.class;
        let job = Job {
            id: JobId(0),
            class: class.name.clone(),
            user: UserId(user),
            priority: Priority(class.priority),
            submit_at_us: 0,
            tasks: shape.tasks,
            task_resources: shape.resources,
            task_duration_us: shape.duration_us,
            task_durations_us: Vec::new(),
            constraints: class.constraints(shape.tasks, self.racks),
            gang: class.gang,
            depends_on: Vec::new(),
            mapreduce: shape.mapreduce,
        };
        PrefillJob {
            remaining_us: shape.duration_us - age_us,
            started_before_us: age_us,
            job,
        }
    }
}
