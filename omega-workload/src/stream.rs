//! The lazy job stream: each class's arrivals, merged in submit-time order.
//!
//! Memory is O(classes) (plus the dependency windows): a class holds only its next arrival
//! time and its random streams; a job is drawn when it is emitted. Picking the next class
//! is a scan over the classes, so a job costs O(classes). Ties in submit time go to the
//! class listed first. Ids are dense, from the first id (0 unless prefill comes first).

use std::collections::VecDeque;

use omega_core::{Job, JobId, Priority, UserId};
use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use crate::generate::{CompiledClass, ShapeRngs, rng};
use crate::spec::MAX_DURATION_US;
use crate::{Calibration, ClusterSpec, WorkloadError, WorkloadSpec, to_units};

#[derive(Clone, Debug)]
struct ClassState {
    class: CompiledClass,
    next_at_us: u64,
    us_per_s: f64,
    arrivals: Pcg64Mcg,
    shape: ShapeRngs,
    users: Pcg64Mcg,
    deps: Pcg64Mcg,
}

impl ClassState {
    fn advance(&mut self) {
        let gap = to_units(
            self.class.gap_s.sample(&mut self.arrivals),
            self.us_per_s,
            self.class.gap_floor_us,
            MAX_DURATION_US,
        );
        self.next_at_us = self.next_at_us.saturating_add(gap);
    }
}

/// An iterator of jobs in submit-time order, up to a horizon; see the module docs.
///
/// Built by [`WorkloadSpec::stream`]. Two streams from the same spec, cluster and seed
/// yield identical jobs.
#[derive(Clone, Debug)]
pub struct JobStream {
    classes: Vec<ClassState>,
    /// Recent job ids of each class that some class depends on.
    recent: Vec<Option<VecDeque<u64>>>,
    /// The length of each class's window in `recent`.
    windows: Vec<usize>,
    next_id: u64,
    horizon_us: u64,
    racks: u32,
    calibration: Calibration,
}

impl JobStream {
    /// The calibration the stream's arrival rates come from.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The stream with ids starting at `first` (e.g. after the prefill jobs' ids).
    pub fn with_first_id(mut self, first: u64) -> Self {
        self.next_id = first;
        self
    }

    /// Jobs are submitted strictly before this time.
    pub fn horizon_us(&self) -> u64 {
        self.horizon_us
    }
}

impl Iterator for JobStream {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        let mut best = 0;
        let mut best_at = u64::MAX;
        for (i, c) in self.classes.iter().enumerate() {
            if c.next_at_us < best_at {
                best_at = c.next_at_us;
                best = i;
            }
        }
        if best_at >= self.horizon_us {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let cs = &mut self.classes[best];
        let shape = cs.class.shape(&mut cs.shape);
        let user = cs.class.user(&mut cs.users);
        let depends_on = match &cs.class.deps {
            Some(d) => match &self.recent[d.on_class] {
                Some(ring) if cs.deps.random::<f64>() < d.probability && !ring.is_empty() => {
                    let k = (cs.deps.random_range(1..=d.max_jobs) as usize).min(ring.len());
                    let mut picked = Vec::with_capacity(k);
                    while picked.len() < k {
                        let pick = JobId(ring[cs.deps.random_range(0..ring.len())]);
                        if !picked.contains(&pick) {
                            picked.push(pick);
                        }
                    }
                    picked.sort_unstable();
                    picked
                }
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let job = Job {
            id: JobId(id),
            class: cs.class.name.clone(),
            user: UserId(user),
            priority: Priority(cs.class.priority),
            submit_at_us: best_at,
            tasks: shape.tasks,
            task_resources: shape.resources,
            task_duration_us: shape.duration_us,
            task_durations_us: Vec::new(),
            constraints: cs.class.constraints(shape.tasks, self.racks),
            gang: cs.class.gang,
            depends_on,
            mapreduce: shape.mapreduce,
        };
        cs.advance();
        if let Some(ring) = &mut self.recent[best] {
            if ring.len() >= self.windows[best] {
                ring.pop_front();
            }
            ring.push_back(id);
        }
        Some(job)
    }
}

impl WorkloadSpec {
    /// The calibration of this workload on `cluster` (validates both first).
    pub fn calibrate(&self, cluster: &ClusterSpec) -> Result<Calibration, WorkloadError> {
        Ok(self.compile_and_calibrate(cluster)?.1)
    }

    /// Validates the cluster, compiles every class and calibrates them: the work that
    /// [`Self::stream`], [`Self::prefill`] and [`Self::generate`] share.
    pub(crate) fn compile_and_calibrate(
        &self,
        cluster: &ClusterSpec,
    ) -> Result<(Vec<crate::generate::CompiledClass>, Calibration), WorkloadError> {
        cluster.validate()?;
        let classes = crate::generate::compile(self, cluster)?;
        let calibration = Calibration::new(
            &classes,
            cluster.machine_count()?,
            cluster.capacity()?,
            self.load,
        );
        Ok((classes, calibration))
    }

    /// The jobs submitted in `[0, horizon_us)` on `cluster` under experiment seed `seed`,
    /// ids from 0, arrival rates scaled by the `load` calibration.
    pub fn stream(
        &self,
        cluster: &ClusterSpec,
        seed: u64,
        horizon_us: u64,
    ) -> Result<JobStream, WorkloadError> {
        let (compiled, calibration) = self.compile_and_calibrate(cluster)?;
        Self::stream_from(compiled, calibration, cluster, seed, horizon_us)
    }

    /// The stream of already compiled and calibrated classes.
    pub(crate) fn stream_from(
        compiled: Vec<crate::generate::CompiledClass>,
        calibration: Calibration,
        cluster: &ClusterSpec,
        seed: u64,
        horizon_us: u64,
    ) -> Result<JobStream, WorkloadError> {
        let us_per_s = 1e6 / calibration.scale;
        // The window of each class that some class depends on (0: not tracked).
        let windows: Vec<usize> = (0..compiled.len())
            .map(|i| {
                compiled
                    .iter()
                    .filter_map(|c| c.deps.as_ref())
                    .filter(|d| d.on_class == i)
                    .map(|d| d.window)
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let classes = compiled
            .into_iter()
            .map(|class| {
                let name = class.name.clone();
                let mut s = ClassState {
                    next_at_us: 0,
                    us_per_s,
                    arrivals: rng(seed, &name, "arrivals"),
                    shape: ShapeRngs::new(seed, &name, ""),
                    users: rng(seed, &name, "users"),
                    deps: rng(seed, &name, "deps"),
                    class,
                };
                s.advance();
                s
            })
            .collect();
        let recent = windows
            .iter()
            .map(|&w| (w > 0).then(|| VecDeque::with_capacity(w)))
            .collect();
        Ok(JobStream {
            classes,
            recent,
            windows,
            next_id: 0,
            horizon_us,
            racks: cluster.rack_count()?,
            calibration,
        })
    }
}
