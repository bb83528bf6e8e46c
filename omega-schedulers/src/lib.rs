//! Scheduling policies for omega: batch, service and MapReduce as pure functions, and a
//! DRF allocator for the two-level architecture.
//!
//! A [`Policy`] takes a snapshot of the cell ([`omega_core::CellState`], an O(1) clone), a
//! job, the indexes of its tasks still to place and its own random stream ([`PolicyRng`]),
//! and returns a [`Decision`]: a [`Transaction`](omega_core::Transaction) of claims and the
//! simulated time the decision took (`t_job + t_task × tasks`, the Omega paper's model, see
//! [`ThinkTime`]). No globals, no clocks, no I/O. While a policy places one job it applies
//! each claim to a private copy of the snapshot with
//! [`CellState::assume`](omega_core::CellState::assume) (the seed's "update local state
//! (optimistic)"), so task 2 sees task 1's claim while every claim still records the version
//! its machine had in the snapshot.
//!
//! - [`BatchPolicy`]: the paper's randomized first fit, a scan from a random start, or
//!   power-of-k-choices; fast and simple.
//! - [`ServicePolicy`]: filter, limit, score, pick, and preempt when nothing fits; it also
//!   picks GPU devices (best fit or least fragmentation). [`ServicePolicy::explain`] shows
//!   the scores behind each pick.
//! - [`MapReducePolicy`]: batch-like placement plus extra workers from idle resources under
//!   the paper's three growth policies, with the resulting task duration.
//! - Gang jobs (`job.gang`) get one all-or-nothing transaction with every pending task, or
//!   an empty one; other jobs are incremental.
//! - [`drf_order`]: the order in which a Mesos-style allocator offers resources.
//! - [`PolicyConfig`]: serde-ready configuration of any of the three, with `build()`.
//!
//! # Example
//!
//! ```
//! use omega_core::*;
//! use omega_schedulers::{PolicyConfig, PolicyRng, ServiceConfig};
//! use rand::SeedableRng;
//!
//! let cell = CellState::new([
//!     Machine::new("A", 8_000, 16_384, FailureDomain(0)),
//!     Machine::new("B", 16_000, 32_768, FailureDomain(1)),
//!     Machine::new("C", 8_000, 32_768, FailureDomain(2)).with_gpus(2, "T4"),
//! ])?;
//! let mut job = Job::new(JobId(1), "service", 3, Resources::new(2_000, 0, 4_096), 3_600_000_000);
//! job.constraints.max_tasks_per_domain = Some(1);
//!
//! let policy = PolicyConfig::Service(ServiceConfig::default()).build().unwrap();
//! let mut rng = PolicyRng::seed_from_u64(derive_seed(42, "placement/service"));
//! let decision = policy.schedule(&cell, &job, &[0, 1, 2], &mut rng);
//!
//! // One task per rack, so one on each machine.
//! let mut machines: Vec<_> = decision.transaction.claims.iter().map(|c| c.machine.0).collect();
//! machines.sort();
//! assert_eq!(machines, vec![0, 1, 2]);
//! assert_eq!(decision.think_time_us, 100_000 + 3 * 5_000);
//! assert_eq!(cell.commit(&decision.transaction).accepted.len(), 3);
//! # Ok::<(), CoreError>(())
//! ```

#![deny(missing_docs)]

mod batch;
mod config;
mod drf;
mod fit;
mod mapreduce;
mod placer;
mod policy;
mod pool;
mod service;

pub use batch::{BatchConfig, BatchPlacement, BatchPolicy};
pub use config::{ConfigError, PolicyConfig};
pub use drf::{FrameworkShare, drf_order, weighted_dominant_share};
pub use fit::{DEFAULT_FRAGMENTATION_SIZES_MILLI, DeviceChoice, device_fragmentation_milli};
pub use mapreduce::{GrowthPolicy, MapReduceConfig, MapReducePolicy};
pub use policy::{Decision, DecisionStats, Policy, PolicyRng, ThinkTime, policy_rng};
pub use service::{
    ScoreBreakdown, ScoreWeights, ScoredMachine, ServiceConfig, ServicePolicy, TaskExplanation,
};
