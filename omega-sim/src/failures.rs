//! The failure model: random machine and rack failures, scripted ones, detection after the
//! heartbeat timeout, and recovery.
//!
//! A machine that fails stops its tasks' progress at once (they lose their end times), but
//! the cell only learns of it when the failure is detected: at the first heartbeat tick at
//! or after `failure + timeout`. Then its tasks are evicted and go back to their jobs, and
//! after a uniformly drawn recovery delay the machine comes back empty.
//!
//! Random failures: the superposition of one exponential clock per machine (mean MTBF) is
//! one exponential clock of mean MTBF / machines; each failure takes its whole rack with
//! the configured probability.

use std::collections::BTreeSet;

use omega_core::{FailureDomain, MachineId, Resources, TaskId, derive_seed};
use omega_schedulers::PolicyRng;
use rand::{RngExt, SeedableRng};

use crate::architecture::Architecture;
use crate::config::FailureConfig;
use crate::events::Event;
use crate::recorder::{EvictReason, Fact, Recorder};
use crate::tasks;
use crate::world::World;

/// The failure model's state: its random stream and the machines that failed unnoticed.
pub(crate) struct Failures {
    rng: PolicyRng,
    unnoticed: BTreeSet<MachineId>,
}

impl Failures {
    /// The failure model of a simulation seeded `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: PolicyRng::seed_from_u64(derive_seed(seed, "failures")),
            unnoticed: BTreeSet::new(),
        }
    }

    /// True if machine `m` has failed and nobody noticed yet.
    pub(crate) fn is_failed_unnoticed(&self, m: MachineId) -> bool {
        self.unnoticed.contains(&m)
    }
}

/// Schedules the first failures: the scripted ones and the first random one.
pub(crate) fn schedule_initial<R: Recorder>(w: &mut World<'_, R>) {
    for f in w.cfg.failures.scripted.clone() {
        w.push(
            f.at_us,
            Event::ScriptedFailure {
                machine: f.machine.map(MachineId),
                rack: f.rack,
            },
        );
    }
    schedule_random(w);
}

fn schedule_random<R: Recorder>(w: &mut World<'_, R>) {
    let Some(mtbf) = w.cfg.failures.machine_mtbf_us else {
        return;
    };
    let n = u64::from(w.cell.slot_count().max(1));
    let u: f64 = w.failures.rng.random::<f64>();
    let gap = (-(1.0 - u).ln() * mtbf as f64 / n as f64).max(1.0) as u64;
    let at = w.now_us().saturating_add(gap);
    w.push(at, Event::RandomFailure);
}

/// The next random failure: a machine drawn uniformly, or its whole rack.
pub(crate) fn random_failure<R: Recorder>(w: &mut World<'_, R>) {
    let n = w.cell.slot_count();
    if n > 0 {
        let m = MachineId(w.failures.rng.random_range(0..n));
        let whole_rack = w.failures.rng.random::<f64>() < w.cfg.failures.rack_probability;
        match (whole_rack, w.cell.spec(m)) {
            (true, Some(spec)) => {
                let rack = spec.failure_domain;
                fail_rack(w, rack);
            }
            _ => fail(w, m),
        }
    }
    schedule_random(w);
}

/// A scripted failure of a machine, a rack, or both.
pub(crate) fn scripted<R: Recorder>(
    w: &mut World<'_, R>,
    machine: Option<MachineId>,
    rack: Option<u32>,
) {
    if let Some(m) = machine {
        fail(w, m);
    }
    if let Some(r) = rack {
        fail_rack(w, FailureDomain(r));
    }
}

fn fail_rack<R: Recorder>(w: &mut World<'_, R>, rack: FailureDomain) {
    let machines: Vec<MachineId> = w.cell.machines_in_domain(rack).collect();
    for m in machines {
        fail(w, m);
    }
}

/// Machine `m` dies: its tasks stop making progress now, but nobody knows until the
/// heartbeat timeout.
fn fail<R: Recorder>(w: &mut World<'_, R>, m: MachineId) {
    if !w.cell.machine(m).is_some_and(|v| v.is_up()) || w.failures.unnoticed.contains(&m) {
        return;
    }
    w.failures.unnoticed.insert(m);
    let stopped: Vec<TaskId> = w.cell.tasks_on(m).map(|(t, _)| t).collect();
    for t in stopped {
        w.clock.clear(t);
    }
    w.record(&Fact::MachineFailed { machine: m });
    if let Some(at) = detection_time_us(&w.cfg.failures, w.now_us()) {
        w.push(at, Event::Detect(m));
    }
}

/// When a failure at `now_us` is detected: the first heartbeat tick at or after now +
/// timeout. `SimConfig::validate` keeps horizon + timeout + interval within u64 and now <=
/// horizon, so this cannot overflow; if it did, the detection would lie beyond the horizon.
fn detection_time_us(f: &FailureConfig, now_us: u64) -> Option<u64> {
    now_us
        .checked_add(f.heartbeat_timeout_us)
        .and_then(|deadline| {
            deadline
                .div_ceil(f.heartbeat_interval_us)
                .checked_mul(f.heartbeat_interval_us)
        })
}

/// The failure of machine `m` is noticed: its tasks are evicted, the architecture forgets
/// what it held there, and the machine's recovery is scheduled.
pub(crate) fn detect<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    m: MachineId,
) {
    if !w.failures.unnoticed.remove(&m) {
        return;
    }
    let Ok(evicted) = w.cell.fail_machine_in_place(m) else {
        return;
    };
    arch.machine_lost(w, m);
    let capacity = w.cell.spec(m).map_or(Resources::ZERO, |s| s.capacity);
    let tasks_lost = evicted.len() as u32;
    for (task, p) in evicted {
        tasks::evict(w, arch, task, p, EvictReason::MachineFailed);
    }
    w.record(&Fact::FailureDetected {
        machine: m,
        tasks_lost,
        capacity,
    });
    let (lo, hi) = (
        w.cfg.failures.recovery_min_us,
        w.cfg.failures.recovery_max_us,
    );
    let delay = if hi > lo {
        w.failures.rng.random_range(lo..=hi)
    } else {
        lo
    };
    let at = w.now_us().saturating_add(delay);
    w.push(at, Event::Recover(m));
}

/// Machine `m` comes back, empty.
pub(crate) fn recover<R: Recorder>(w: &mut World<'_, R>, m: MachineId) {
    if w.cell.recover_machine_in_place(m).is_ok() {
        w.record(&Fact::MachineRecovered { machine: m });
    }
}
