//! Shared cell state for Omega-style schedulers: machines, jobs, persistent snapshots and
//! optimistic, versioned transactions.
//!
//! A [`CellState`] holds heterogeneous machines (CPU, GPU devices, memory, a failure domain,
//! labels, a version and up/down status) and the tasks running on them. Cloning it is O(1)
//! whatever the cell size, so every scheduler can take its own snapshot, decide in private,
//! and submit a [`Transaction`] of [`Claim`]s. [`CellState::commit`] checks each claim in
//! the Omega paper's order — the machine exists and is up, then (coarse mode) its version is
//! the one the scheduler saw, then the resources are still free — and accepts the claims
//! that pass ([`CommitMode::Incremental`]) or all or none ([`CommitMode::Gang`]). Every
//! rejected claim names its [`Conflict`].
//!
//! Which changes move a machine's version is the cell's [`VersionPolicy`]: by default every
//! change does; [`VersionPolicy::Claims`] is the Omega paper's simulator, where a task that
//! ends leaves its machine's version alone ([`CellState::with_version_policy`]).
//!
//! The crate is pure: no I/O, no clock, no randomness. Every operation either returns a new
//! state or, in its `_in_place` form ([`CellState::commit_in_place`] and friends), changes
//! the state its owner holds, copying only what a snapshot still shares: snapshots never
//! change either way.
//!
//! # Example: two schedulers race for one machine
//!
//! A cell of the seed's three machine types (A: 8 CPU, 0 GPU, 16 GB; B: 16/0/32; C: 8/2/32).
//! Two schedulers snapshot it, and both claim 4 cores on the same C machine.
//!
//! ```
//! use omega_core::*;
//!
//! let gib = 1024;
//! let cell = CellState::new([
//!     Machine::new("A", 8_000, 16 * gib, FailureDomain(0)),
//!     Machine::new("B", 16_000, 32 * gib, FailureDomain(0)),
//!     Machine::new("C", 8_000, 32 * gib, FailureDomain(1)).with_gpus(2, "T4"),
//! ])?;
//! let c = MachineId(2);
//!
//! // Both schedulers take a snapshot (an O(1) clone) and see version 0 of machine C.
//! let (batch_view, service_view) = (cell.clone(), cell.clone());
//! let claim = |job: u64, view: &CellState| {
//!     let seen = view.machine(c).unwrap().version();
//!     Claim::new(TaskId::new(JobId(job), 0), c, Resources::new(4_000, 0, 8 * gib), seen)
//! };
//! let mut first = Transaction::new(JobId(1)).with_conflicts(ConflictMode::Coarse);
//! first.push(claim(1, &batch_view));
//! let mut second = Transaction::new(JobId(2)).with_conflicts(ConflictMode::Coarse);
//! second.push(claim(2, &service_view));
//!
//! // The batch scheduler commits first and wins; machine C's version moves to 1.
//! let won = cell.commit(&first);
//! assert_eq!(won.accepted, vec![0]);
//!
//! // Coarse-grained: the service scheduler saw version 0, so its claim conflicts.
//! let lost = won.state.commit(&second);
//! assert_eq!(lost.rejected[0].reason, Conflict::VersionChanged);
//!
//! // Fine-grained: only resources matter, and 4 of C's 8 cores are still free.
//! let fine = won.state.commit(&second.clone().with_conflicts(ConflictMode::Fine));
//! assert_eq!(fine.accepted, vec![0]);
//! assert_eq!(fine.state.free(c), Some(Resources::new(0, 2_000, 16 * gib)));
//! # Ok::<(), CoreError>(())
//! ```
//!
//! # Modules
//! - [`ids`](crate::MachineId): machine, job, task, user and failure-domain ids;
//! - resources: [`Resources`], GPU requests and [`GpuDevices`];
//! - machines: [`Machine`] (fixed) and [`MachineState`] (changing);
//! - jobs: [`Job`], [`Constraints`], [`Priority`];
//! - transactions: [`Transaction`], [`Claim`], [`Commit`], [`Applied`], [`Conflict`];
//! - the cell: [`CellState`], and [`VersionPolicy`], which changes bump a machine's version;
//! - the log: [`Journal`], [`LogRecord`], [`replay`].

#![deny(missing_docs)]

mod cell;
mod draft;
mod error;
mod ids;
mod job;
mod log;
mod machine;
mod resources;
mod seed;
mod slots;
mod transaction;
mod versions;

pub use cell::{CellState, Placement};
pub use error::CoreError;
pub use ids::{FailureDomain, JobId, MachineId, TaskId, UserId};
pub use job::{Constraints, Job, MapReduceWork, Priority};
pub use log::{Journal, LogRecord, ReplayError, replay};
pub use machine::{GpuDevice, Machine, MachineState, MachineStatus, MachineView};
pub use resources::{
    GPU_MILLI_PER_DEVICE, GpuDevices, GpuRequest, MAX_GPUS_PER_MACHINE, Resources,
};
pub use seed::{derive_seed, splitmix64};
pub use transaction::{
    Applied, Claim, Commit, CommitMode, Conflict, ConflictMode, INLINE_CLAIMS, InvalidClaim,
    Outcome, Rejection, Transaction,
};
pub use versions::VersionPolicy;

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
