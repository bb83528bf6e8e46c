//! Cluster specs, workload specs and deterministic job streams for omega experiments.
//!
//! - [`ClusterSpec`]: machine types (capacity, labels) with a count or a fraction of the
//!   cell, racks, total size — or an explicit machine list; builds an `omega-core`
//!   [`CellState`](omega_core::CellState). Presets [`ClusterSpec::seed`] (the seed's types
//!   A/B/C in the mix 50/30/20) and [`ClusterSpec::uniform`].
//! - [`WorkloadSpec`]: job classes ([`ClassSpec`]) with their arrival processes and
//!   distributions ([`Dist`]), GPUs, priority, gang, constraints, dependencies, users,
//!   MapReduce work; read from TOML ([`WorkloadConfig`]) with every field checked.
//! - [`JobStream`]: a lazy iterator of [`Job`](omega_core::Job)s in submit-time order,
//!   memory O(classes), deterministic for a seed.
//! - [`Calibration`]: the `load` setting, offered load per resource and the scale factor.
//! - [`PrefillJob`]: long-running jobs already running at time 0, with residual lifetimes.
//! - [`FitCheck`]: whether a job could ever run on a cluster (else it is unschedulable).
//!
//! # The seed preset
//! `configs/seed.toml` (embedded as [`SEED_TOML`]) is section 6 of the seed: batch jobs
//! (tasks log-normal mean 10 std 50; duration log-normal mean 5 min std 10 min; Poisson
//! arrivals every 10 s on average; CPU 2±1 cores; RAM 4±2 GiB; 10% of jobs need 1 GPU a
//! task) and service jobs (tasks log-normal 5/10; duration log-normal 24 h/12 h; arrivals
//! every 60 s; CPU 4±2; RAM 8±4 GiB; 5% need 1 or 2 GPUs a task).
//!
//! *Reading of the seed's mix.* The seed says both "batch 80% / service 20%" and "arrivals
//! every 10 s / 60 s", which give 6 and 1 jobs a minute: 86/14. The preset keeps the arrival
//! means (they are the concrete parameters), so batch is 6/7 ≈ 85.7% of jobs. The 80/20
//! reading is one edit away: give both classes `arrivals = { share = { share = 0.8 } }` /
//! `0.2` and set `total_mean_interarrival_s` (the file shows how, commented out).
//!
//! *Heavy tails.* "Mean 10, std 50" cannot be a normal law for a positive count; the
//! preset reads every "mean ± std" of sizes and durations as a log-normal law with that
//! mean and std, and CPU and RAM "x ± y" as normal laws truncated below (0.1 core,
//! 0.25 GiB).
//!
//! # Randomness
//! Each class and purpose has its own [`rand_pcg::Pcg64Mcg`] stream, seeded by
//! [`omega_core::derive_seed`]`(seed, "<class>/<purpose>")` (purposes: `arrivals`, `tasks`,
//! `duration`, `cpu`, `mem`, `gpu`, `users`, `deps`). Adding a class or changing one
//! distribution leaves the other streams' draws as they were. Sampling uses `f64`
//! internally; every value is rounded to integer units by [`to_units`], and arrival
//! times add up rounded integer gaps, so float error never accumulates. Portability caveat:
//! `exp`/`ln` (ours and `rand_distr`'s) come from the platform's libm, which may differ in
//! the last bit between platforms; that changes an integer output only when a sample lies
//! within one ulp of a rounding boundary (about 1e-12 per sample).
//!
//! # Example
//! ```
//! use omega_workload::{ClusterSpec, WorkloadSpec};
//! let cluster = ClusterSpec::seed(500);
//! let mut spec = WorkloadSpec::seed_preset();
//! spec.load = Some(0.7);
//! let run = spec.generate(&cluster, 42, 24 * 3_600_000_000)?; // one day
//! println!("{}", run.calibration); // offered load per resource and scale factor
//! assert!(run.calibration.scale < 1.0); // the seed's rates overload 500 machines
//! let first_id = run.prefill.len() as u64; // service jobs running at time 0
//! let fit = cluster.fit_check()?;
//! let jobs: Vec<_> = run.stream.collect();
//! assert_eq!(jobs[0].id.0, first_id);
//! let unschedulable = jobs.iter().filter(|j| !fit.fits(j)).count();
//! assert!(unschedulable * 100 < jobs.len());
//! # Ok::<(), omega_workload::WorkloadError>(())
//! ```

#![deny(missing_docs)]

mod calibrate;
mod cluster;
mod dist;
mod error;
mod forms;
mod generate;
mod prefill;
mod spec;
mod stream;

pub use calibrate::{CALIBRATION_SAMPLES, Calibration, ClassLoad, ResourceShares};
pub use cluster::{
    ClusterSpec, DEFAULT_MACHINES_PER_RACK, FitCheck, MAX_MACHINES, MachineType, SEED_MIX,
};
pub use dist::{Dist, NORMAL_REJECTION_TRIES, Sampler, to_units};
pub use error::WorkloadError;
pub use forms::{ARRIVAL_FORMS, DIST_FORMS};
pub use prefill::{DEFAULT_PREFILL_WINDOW_DURATIONS, MAX_PREFILL_ARRIVALS, PrefillJob, Workload};
pub use spec::{
    Arrivals, ClassSpec, ConstraintSpec, DependencySpec, GpuSpec, MAX_DURATION_US,
    MAX_TASKS_PER_JOB, MIN_CPU_MILLI, MIN_MEM_MIB, MapReduceSpec, SEED_TOML, UNIFORM_TOML,
    UserSpec, WorkloadConfig, WorkloadSpec,
};
pub use stream::JobStream;

pub mod trace;
