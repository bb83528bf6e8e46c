//! `Architecture`: what differs between monolithic, two-level and shared-state (Omega)
//! scheduling, behind one small trait, and how each lays out its schedulers.
//!
//! The engine runs the same job lifecycle for all three (`jobs.rs`, `attempts.rs`). An
//! architecture decides when a scheduler may start an attempt, what view of the cell it
//! decides on, what happens around its commit, and what it does periodically. Monolithic
//! and Omega schedulers all see the whole cell and commit to it directly, so they keep
//! every default; they differ in how classes are routed to schedulers ([`Layout`]).
//! Two-level (`two_level.rs`) overrides most hooks with its allocator and offers.

use std::collections::VecDeque;
use std::sync::Arc;

use omega_core::{CellState, Claim, MachineId, Resources, Transaction, derive_seed};
use omega_schedulers::PolicyRng;
use rand::SeedableRng;

use crate::config::{ArchitectureKind, SimConfig};
use crate::recorder::Recorder;
use crate::world::{Routes, SchedulerSlot, World};
use crate::{SchedulerSummary, monolithic, omega, two_level};

/// The hooks an architecture gives the engine. The defaults are shared-state scheduling:
/// every scheduler may always start, sees the whole cell, and commits to it unchanged.
pub(crate) trait Architecture<R: Recorder> {
    /// May scheduler `s` start an attempt now? (Two-level: only inside an offer with
    /// room; a used-up offer is returned here.)
    fn may_start(&mut self, _w: &mut World<'_, R>, _s: usize) -> bool {
        true
    }

    /// Scheduler `s` may start but its queue is empty.
    fn queue_drained(&mut self, _w: &mut World<'_, R>, _s: usize) {}

    /// The state scheduler `s` decides its attempt on, starting now.
    fn view<'a>(&'a mut self, _s: usize, cell: &'a CellState) -> &'a CellState {
        cell
    }

    /// Just before scheduler `s`'s transaction is committed.
    fn before_commit(&mut self, _w: &World<'_, R>, _s: usize, _txn: &mut Transaction) {}

    /// After scheduler `s`'s commit accepted `accepted`.
    fn after_commit(&mut self, _w: &mut World<'_, R>, _s: usize, _accepted: &[Claim]) {}

    /// How often [`Architecture::tick`] runs, if at all.
    fn tick_interval_us(&self) -> Option<u64> {
        None
    }

    /// Periodic work (two-level: an allocation round).
    fn tick(&mut self, _w: &mut World<'_, R>) {}

    /// Resources held back from use now (two-level: locked in offers).
    fn locked(&self) -> Resources {
        Resources::ZERO
    }

    /// The failure of machine `m` was detected (its tasks are gone from the cell).
    fn machine_lost(&mut self, _w: &mut World<'_, R>, _m: MachineId) {}
}

/// The schedulers an architecture runs and which of them takes each class.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Scheduler names, in scheduler-index order.
    pub(crate) names: Vec<String>,
    pub(crate) routes: Routes,
}

impl Layout {
    /// Adds route `(first scheduler, copies, policy)` for every class of configured
    /// scheduler `i` (the first scheduler naming a class takes it), and as the default
    /// route if it names no classes and no default exists yet.
    pub(crate) fn route_classes(&mut self, cfg: &SimConfig, i: usize, route: (usize, u32, usize)) {
        let spec = &cfg.architecture.schedulers[i];
        if spec.classes.is_empty() && self.routes.default.is_none() {
            self.routes.default = Some(route);
        }
        for c in &spec.classes {
            self.routes
                .by_class
                .entry(Arc::from(c.as_str()))
                .or_insert(route);
        }
    }

    /// The scheduler slots of this layout, each with its random stream.
    pub(crate) fn slots(&self, seed: u64) -> Vec<SchedulerSlot> {
        self.names
            .iter()
            .map(|name| SchedulerSlot {
                queue: VecDeque::new(),
                deciding: false,
                rng: PolicyRng::seed_from_u64(derive_seed(seed, &format!("placement/{name}"))),
                summary: SchedulerSummary {
                    name: name.clone(),
                    ..SchedulerSummary::default()
                },
                running_resources: Resources::ZERO,
            })
            .collect()
    }
}

/// The architecture `cfg` asks for, and its layout.
pub(crate) fn build<R: Recorder>(cfg: &SimConfig) -> (Box<dyn Architecture<R>>, Layout) {
    match cfg.architecture.kind {
        ArchitectureKind::MonolithicSinglePath => monolithic::build(cfg, false),
        ArchitectureKind::MonolithicMultiPath => monolithic::build(cfg, true),
        ArchitectureKind::Omega => omega::build(cfg),
        ArchitectureKind::TwoLevel => two_level::build(cfg),
    }
}
