//! Cluster specs: machine types, their mix, racks, and the cell they build; and
//! [`FitCheck`], which tells whether a job could ever run on a cluster.
//!
//! # Layout rule
//! [`ClusterSpec::machines`] hands out machine ids type by type in an interleaved order
//! (each position goes to the type furthest behind its share, ties to the earlier type), so
//! every rack holds a mix of types in proportion to the cell. Machine `i` is in rack
//! `i / machines_per_rack`. Every machine carries the label `type=<name>`, `gpu=<model>`
//! when it has GPUs, and its type's labels.
//!
//! # Counts and fractions
//! A type has either a `count` or a `fraction`. Counted types get exactly their count; the
//! machines left over (`machines − Σ counts`) are split among the fraction types in
//! proportion to their fractions by the largest-remainder method (ties to the earlier type).

use std::collections::BTreeSet;
use std::sync::Arc;

use omega_core::{
    CellState, Constraints, FailureDomain, GPU_MILLI_PER_DEVICE, GpuRequest, Job,
    MAX_GPUS_PER_MACHINE, Machine, Resources,
};
use serde::{Deserialize, Serialize};

use crate::WorkloadError;

/// The largest cell a spec may describe: a million machines. The simulator is measured up
/// to 100,000 (ARCHITECTURE.md); a cell of a million holds about 720 MB before the run
/// starts, ten million would take 7 GB. [`ClusterSpec::validate`] checks the bound before
/// any machine is built.
pub const MAX_MACHINES: u64 = 1_000_000;

/// Machines per rack when a spec does not say.
pub const DEFAULT_MACHINES_PER_RACK: u32 = 40;

/// The seed's default machine mix: A 50%, B 30%, C 20% (section 5 of the seed).
pub const SEED_MIX: [(&str, f64); 3] = [("A", 0.5), ("B", 0.3), ("C", 0.2)];

fn default_rack() -> u32 {
    DEFAULT_MACHINES_PER_RACK
}

fn default_gpu_model() -> String {
    "T4".to_owned()
}

fn is_default_gpu_model(m: &String) -> bool {
    m == "T4"
}

/// One machine type: capacity, labels, and how many of the cell's machines are of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineType {
    /// The type's name, e.g. `"A"`.
    pub name: String,
    /// CPU cores (converted to millicores, rounded).
    pub cpu_cores: f64,
    /// Memory in GiB (converted to MiB, rounded).
    pub mem_gib: f64,
    /// Whole GPU devices (at most 8).
    #[serde(default)]
    pub gpus: u8,
    /// GPU model name, used for the `gpu=<model>` label.
    #[serde(
        default = "default_gpu_model",
        skip_serializing_if = "is_default_gpu_model"
    )]
    pub gpu_model: String,
    /// Extra labels that placement constraints may require.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Exactly this many machines of the type …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// … or this share of the machines not given by counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
}

impl MachineType {
    /// A type with `fraction` of the cell and no labels.
    pub fn with_fraction(
        name: &str,
        cpu_cores: f64,
        gpus: u8,
        mem_gib: f64,
        fraction: f64,
    ) -> Self {
        Self {
            name: name.to_owned(),
            cpu_cores,
            mem_gib,
            gpus,
            gpu_model: default_gpu_model(),
            labels: Vec::new(),
            count: None,
            fraction: Some(fraction),
        }
    }

    /// The type's capacity in base units (no validation).
    pub fn capacity(&self) -> Resources {
        Resources::new(
            crate::to_units(self.cpu_cores, 1000.0, 0, u64::MAX),
            u64::from(self.gpus) * GPU_MILLI_PER_DEVICE,
            crate::to_units(self.mem_gib, 1024.0, 0, u64::MAX),
        )
    }

    fn machine(&self, domain: FailureDomain) -> Machine {
        let cap = self.capacity();
        let mut m = Machine::new(self.name.clone(), cap.cpu_milli, cap.mem_mib, domain)
            .with_label(format!("type={}", self.name));
        if self.gpus > 0 {
            m = m.with_gpus(self.gpus, &self.gpu_model);
        }
        for l in &self.labels {
            m = m.with_label(l.clone());
        }
        m
    }

    /// Checks one type on its own: positive finite capacities, at most 8 GPUs, and either a
    /// count or a fraction within [0, 1].
    fn check(&self) -> Result<(), WorkloadError> {
        let f = format!("cluster.types[{}]", self.name);
        for (key, v) in [("cpu_cores", self.cpu_cores), ("mem_gib", self.mem_gib)] {
            if !v.is_finite() || v <= 0.0 || v > 1e9 {
                return Err(WorkloadError::invalid(
                    format!("{f}.{key}"),
                    format!("must be a finite number > 0 (and at most 1e9), got {v}"),
                ));
            }
        }
        if usize::from(self.gpus) > MAX_GPUS_PER_MACHINE {
            return Err(WorkloadError::invalid(
                format!("{f}.gpus"),
                format!(
                    "at most {MAX_GPUS_PER_MACHINE} GPUs a machine, got {}",
                    self.gpus
                ),
            ));
        }
        match (self.count, self.fraction) {
            (Some(_), Some(_)) => Err(WorkloadError::invalid(
                f,
                "give either count or fraction, not both",
            )),
            (None, None) => Err(WorkloadError::invalid(f, "give a count or a fraction")),
            (None, Some(x)) if !(0.0..=1.0).contains(&x) => Err(WorkloadError::invalid(
                format!("{f}.fraction"),
                format!("must be within [0, 1], got {x}"),
            )),
            _ => Ok(()),
        }
    }
}

/// A cell: machine types and their mix, total size and racks — or an explicit machine
/// list (trace clusters).
///
/// ```
/// use omega_workload::ClusterSpec;
/// let spec = ClusterSpec::seed(1_000);
/// let machines = spec.machines()?;
/// assert_eq!(machines.len(), 1_000);
/// assert_eq!(machines.iter().filter(|m| m.type_name == "C").count(), 200);
/// let cell = spec.build()?;
/// assert_eq!(cell.failure_domains().count(), 25); // 40 machines a rack
/// # Ok::<(), omega_workload::WorkloadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Total machines; may be left out when every type has a `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machines: Option<u32>,
    /// Machines per rack (failure domain).
    #[serde(default = "default_rack")]
    pub machines_per_rack: u32,
    /// The machine types.
    pub types: Vec<MachineType>,
    /// An explicit machine list; when set, `machines()` returns it as is.
    #[serde(skip)]
    explicit: Option<Arc<[Machine]>>,
}

impl ClusterSpec {
    /// The seed's three types (A: 8 cores, 0 GPU, 16 GiB; B: 16/0/32; C: 8/2 T4/32) in the
    /// default mix [`SEED_MIX`] (50/30/20), `machines` in all, 40 a rack.
    pub fn seed(machines: u32) -> Self {
        let shapes = [(8.0, 0, 16.0), (16.0, 0, 32.0), (8.0, 2, 32.0)];
        Self {
            machines: Some(machines),
            machines_per_rack: DEFAULT_MACHINES_PER_RACK,
            types: SEED_MIX
                .iter()
                .zip(shapes)
                .map(|(&(name, frac), (cpu, gpu, mem))| {
                    MachineType::with_fraction(name, cpu, gpu, mem, frac)
                })
                .collect(),
            explicit: None,
        }
    }

    /// `machines` identical machines of type `"U"` with `capacity` (GPU rounded down to
    /// whole devices), 40 a rack.
    pub fn uniform(machines: u32, capacity: Resources) -> Self {
        let gpus = (capacity.gpu_milli / GPU_MILLI_PER_DEVICE).min(u64::from(u8::MAX)) as u8;
        Self {
            machines: Some(machines),
            machines_per_rack: DEFAULT_MACHINES_PER_RACK,
            types: vec![MachineType::with_fraction(
                "U",
                capacity.cpu_milli as f64 / 1000.0,
                gpus,
                capacity.mem_mib as f64 / 1024.0,
                1.0,
            )],
            explicit: None,
        }
    }

    /// A spec for a given machine list (e.g. a trace's). `types` is derived from it (one
    /// per distinct type name, capacity and labels, with its count) so calibration works
    /// as for generated cells; `machines()` returns the list unchanged.
    pub fn from_machines(machines: Vec<Machine>) -> Self {
        let mut types: Vec<MachineType> = Vec::new();
        for m in &machines {
            let labels: Vec<String> = m
                .labels
                .iter()
                .filter(|l| !l.starts_with("type=") && !l.starts_with("gpu="))
                .cloned()
                .collect();
            let model = m
                .gpus
                .first()
                .map_or_else(default_gpu_model, |g| g.model.clone());
            let cpu = m.capacity.cpu_milli as f64 / 1000.0;
            let mem = m.capacity.mem_mib as f64 / 1024.0;
            let gpus = m.gpus.len().min(usize::from(u8::MAX)) as u8;
            let found = types.iter_mut().find(|t| {
                t.cpu_cores == cpu
                    && t.mem_gib == mem
                    && t.gpus == gpus
                    && t.gpu_model == model
                    && t.labels == labels
                    && (t.name == m.type_name || t.name.starts_with(&format!("{}#", m.type_name)))
            });
            match found {
                Some(t) => t.count = Some(t.count.unwrap_or(0).saturating_add(1)),
                None => {
                    let same_name = types
                        .iter()
                        .filter(|t| {
                            t.name == m.type_name
                                || t.name.starts_with(&format!("{}#", m.type_name))
                        })
                        .count();
                    let name = if same_name == 0 {
                        m.type_name.clone()
                    } else {
                        format!("{}#{}", m.type_name, same_name + 1)
                    };
                    types.push(MachineType {
                        name,
                        cpu_cores: cpu,
                        mem_gib: mem,
                        gpus,
                        gpu_model: model,
                        labels,
                        count: Some(1),
                        fraction: None,
                    });
                }
            }
        }
        Self {
            machines: Some(machines.len().min(u32::MAX as usize) as u32),
            machines_per_rack: DEFAULT_MACHINES_PER_RACK,
            types,
            explicit: Some(machines.into()),
        }
    }

    /// The explicit machine list, if the spec was made by [`ClusterSpec::from_machines`].
    pub fn explicit_machines(&self) -> Option<&[Machine]> {
        self.explicit.as_deref()
    }

    /// Checks the spec: at least one machine and one type, counts and fractions that add
    /// up, positive finite capacities, at most 8 GPUs, a positive rack size.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        self.type_counts().map(|_| ())
    }

    /// How many machines of each type (in `types` order).
    pub fn type_counts(&self) -> Result<Vec<u32>, WorkloadError> {
        if self.types.is_empty() {
            return Err(WorkloadError::invalid(
                "cluster.types",
                "must list at least one machine type",
            ));
        }
        if self.machines_per_rack == 0 {
            return Err(WorkloadError::invalid(
                "cluster.machines_per_rack",
                "must be at least 1",
            ));
        }
        let mut names = BTreeSet::new();
        for t in &self.types {
            if !names.insert(t.name.as_str()) {
                return Err(WorkloadError::invalid(
                    format!("cluster.types[{}]", t.name),
                    "the name is used twice",
                ));
            }
            t.check()?;
        }
        let (rest, frac_sum) = self.machines_left_to_fractions()?;
        Ok(self.counts_with_fractions(rest, frac_sum))
    }

    /// The machine total checked against the counts: how many machines the types given by
    /// fraction share, and the sum of their fractions.
    fn machines_left_to_fractions(&self) -> Result<(u64, f64), WorkloadError> {
        let counted: u64 = self
            .types
            .iter()
            .filter_map(|t| t.count)
            .map(u64::from)
            .sum();
        let frac_sum: f64 = self.types.iter().filter_map(|t| t.fraction).sum();
        let has_fractions = self.types.iter().any(|t| t.fraction.is_some());
        let total = match self.machines {
            Some(n) => u64::from(n),
            None if has_fractions => {
                return Err(WorkloadError::invalid(
                    "cluster.machines",
                    "is needed when a type is given by fraction",
                ));
            }
            None => counted,
        };
        if total == 0 {
            return Err(WorkloadError::invalid(
                "cluster.machines",
                "the cell must have at least one machine",
            ));
        }
        if total > MAX_MACHINES {
            return Err(WorkloadError::invalid(
                "cluster.machines",
                format!(
                    "{total} machines is more than the {MAX_MACHINES} a cell may have \
                     (allowed: 1 to {MAX_MACHINES})"
                ),
            ));
        }
        if counted > total {
            return Err(WorkloadError::invalid(
                "cluster.types",
                format!("counts add up to {counted}, more than the {total} machines"),
            ));
        }
        let rest = total - counted;
        if rest > 0 && (!has_fractions || frac_sum <= 0.0) {
            return Err(WorkloadError::invalid(
                "cluster.types",
                format!(
                    "{rest} of the {total} machines are not given a type (counts add up to \
                     {counted} and no type has a positive fraction)"
                ),
            ));
        }
        Ok((rest, frac_sum))
    }

    /// Each type's count: its own, or its share of the `rest` machines by largest remainder
    /// over the fraction types (`frac_sum` is their fractions' sum).
    fn counts_with_fractions(&self, rest: u64, frac_sum: f64) -> Vec<u32> {
        let mut counts: Vec<u32> = Vec::with_capacity(self.types.len());
        let mut rems: Vec<(f64, usize)> = Vec::new();
        let mut given = 0u64;
        for (i, t) in self.types.iter().enumerate() {
            match (t.count, t.fraction) {
                (Some(c), _) => counts.push(c),
                (None, Some(fr)) if rest > 0 => {
                    let exact = rest as f64 * fr / frac_sum;
                    let base = exact.floor() as u64;
                    given += base;
                    counts.push(base as u32);
                    rems.push((exact - base as f64, i));
                }
                _ => counts.push(0),
            }
        }
        rems.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in rems.iter().take((rest.saturating_sub(given)) as usize) {
            counts[i] += 1;
        }
        counts
    }

    /// Total machine count.
    pub fn machine_count(&self) -> Result<u32, WorkloadError> {
        if let Some(list) = &self.explicit {
            return Ok(list.len().min(u32::MAX as usize) as u32);
        }
        Ok(self.type_counts()?.iter().sum())
    }

    /// Number of racks (failure domains).
    pub fn rack_count(&self) -> Result<u32, WorkloadError> {
        if let Some(list) = &self.explicit {
            let racks: BTreeSet<FailureDomain> = list.iter().map(|m| m.failure_domain).collect();
            return Ok(racks.len().max(1) as u32);
        }
        let n = self.machine_count()?;
        Ok(n.div_ceil(self.machines_per_rack).max(1))
    }

    /// Total capacity of the cell.
    pub fn capacity(&self) -> Result<Resources, WorkloadError> {
        if let Some(list) = &self.explicit {
            return Ok(list.iter().fold(Resources::ZERO, |acc, m| {
                acc.checked_add(&m.capacity).unwrap_or(acc)
            }));
        }
        let counts = self.type_counts()?;
        let mut total = Resources::ZERO;
        for (t, &c) in self.types.iter().zip(&counts) {
            let part = t.capacity().checked_mul(u64::from(c)).ok_or_else(|| {
                WorkloadError::invalid(format!("cluster.types[{}]", t.name), "capacity overflows")
            })?;
            total = total.checked_add(&part).ok_or_else(|| {
                WorkloadError::invalid("cluster.types", "total capacity overflows")
            })?;
        }
        Ok(total)
    }

    /// The machines in id order, laid out by the module's layout rule.
    pub fn machines(&self) -> Result<Vec<Machine>, WorkloadError> {
        if let Some(list) = &self.explicit {
            return Ok(list.to_vec());
        }
        let counts = self.type_counts()?;
        let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        let mut placed = vec![0u64; counts.len()];
        let mut out = Vec::with_capacity(total as usize);
        for j in 0..total {
            // The type furthest behind its share after j + 1 machines.
            let mut best = 0;
            let mut best_deficit = i128::MIN;
            for (i, &c) in counts.iter().enumerate() {
                if u64::from(c) == placed[i] {
                    continue;
                }
                // deficit = c × (j + 1) / total − placed, scaled by total.
                let d =
                    i128::from(c) * i128::from(j + 1) - i128::from(placed[i]) * i128::from(total);
                if d > best_deficit {
                    best_deficit = d;
                    best = i;
                }
            }
            placed[best] += 1;
            let rack = FailureDomain((j / u64::from(self.machines_per_rack)) as u32);
            out.push(self.types[best].machine(rack));
        }
        Ok(out)
    }

    /// The cell with every machine up and nothing running.
    pub fn build(&self) -> Result<CellState, WorkloadError> {
        Ok(CellState::new(self.machines()?)?)
    }

    /// A [`FitCheck`] for this cluster.
    pub fn fit_check(&self) -> Result<FitCheck, WorkloadError> {
        Ok(FitCheck::new(&self.machines()?))
    }

    /// True if some machine type has all of `labels` and one label of every group of `any`.
    pub(crate) fn has_type_allowing(
        &self,
        labels: &[String],
        any: &[Vec<String>],
    ) -> Result<bool, WorkloadError> {
        let constraints = Constraints {
            required_labels: labels.to_vec(),
            required_any_labels: any.to_vec(),
            ..Constraints::default()
        };
        let machines_have = |m: &Machine| constraints.allow(m);
        if let Some(list) = &self.explicit {
            return Ok(list.iter().any(machines_have));
        }
        let counts = self.type_counts()?;
        Ok(self
            .types
            .iter()
            .zip(counts)
            .any(|(t, c)| c > 0 && machines_have(&t.machine(FailureDomain(0)))))
    }
}

/// One distinct machine shape of a cluster, for [`FitCheck`].
#[derive(Clone, Debug)]
struct Shape {
    capacity: Resources,
    gpus: u32,
    labels: BTreeSet<String>,
    machines: u64,
    domains: BTreeSet<u32>,
}

/// Tells whether a job could ever be placed on an empty cell of a cluster: some machine
/// type holds one task (CPU, memory, and GPUs: a fraction needs one device, whole GPUs
/// need that many devices) and carries the required labels (and one of each group of
/// alternatives), there are enough such
/// machines for `one_task_per_machine`, and enough racks for `max_tasks_per_domain`.
///
/// These are necessary conditions only: a job that passes may still wait in a busy cell.
/// Simulators use it to report a job as unschedulable at once instead of retrying it
/// forever. Building it is O(machines); each check is O(machine shapes), plus O(racks)
/// for jobs with a per-rack limit.
///
/// ```
/// use omega_core::{Job, JobId, Resources};
/// use omega_workload::ClusterSpec;
/// let fit = ClusterSpec::seed(100).fit_check()?;
/// let small = Job::new(JobId(0), "batch", 1, Resources::new(2_000, 1_000, 4_096), 1);
/// let huge = Job::new(JobId(1), "batch", 1, Resources::new(64_000, 0, 4_096), 1);
/// assert!(fit.fits(&small) && !fit.fits(&huge));
/// # Ok::<(), omega_workload::WorkloadError>(())
/// ```
#[derive(Clone, Debug)]
pub struct FitCheck {
    shapes: Vec<Shape>,
}

impl FitCheck {
    /// The check for a machine list.
    pub fn new(machines: &[Machine]) -> Self {
        let mut shapes: Vec<Shape> = Vec::new();
        for m in machines {
            let gpus = m.gpus.len() as u32;
            let idx = shapes
                .iter()
                .position(|s| s.capacity == m.capacity && s.gpus == gpus && s.labels == m.labels);
            let i = match idx {
                Some(i) => i,
                None => {
                    shapes.push(Shape {
                        capacity: m.capacity,
                        gpus,
                        labels: m.labels.clone(),
                        machines: 0,
                        domains: BTreeSet::new(),
                    });
                    shapes.len() - 1
                }
            };
            shapes[i].machines += 1;
            shapes[i].domains.insert(m.failure_domain.0);
        }
        Self { shapes }
    }

    fn task_fits(shape: &Shape, job: &Job) -> bool {
        let r = &job.task_resources;
        if r.cpu_milli > shape.capacity.cpu_milli || r.mem_mib > shape.capacity.mem_mib {
            return false;
        }
        let gpu_ok = match r.gpu_request() {
            Some(GpuRequest::None) => true,
            Some(GpuRequest::Fraction(_)) => shape.gpus >= 1,
            Some(GpuRequest::Whole(n)) => u32::from(n) <= shape.gpus,
            None => false,
        };
        gpu_ok && job.constraints.labels_allow(&shape.labels)
    }

    /// True if the job passes every necessary condition (see the type's docs).
    pub fn fits(&self, job: &Job) -> bool {
        let eligible = || self.shapes.iter().filter(|s| Self::task_fits(s, job));
        let machines: u64 = eligible().map(|s| s.machines).sum();
        if machines == 0 {
            return false;
        }
        let tasks = u64::from(job.tasks);
        if job.constraints.one_task_per_machine && machines < tasks {
            return false;
        }
        if let Some(per) = job.constraints.max_tasks_per_domain {
            let domains: BTreeSet<u32> =
                eligible().flat_map(|s| s.domains.iter().copied()).collect();
            if u64::from(per).saturating_mul(domains.len() as u64) < tasks {
                return false;
            }
        }
        true
    }
}
