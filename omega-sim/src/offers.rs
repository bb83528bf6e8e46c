//! The two-level (Mesos-style) architecture: the allocator, offers and resource locks.
//!
//! Every allocation interval the allocator takes the frameworks with queued work and no
//! offer, in DRF order (lowest dominant share first), and offers each all the free resources
//! nobody else holds. Offered resources are locked in the cell by placeholder tasks of a
//! reserved job id, so no other framework can see or claim them. The framework decides on
//! its offer alone (its partial view: the cell as it was when the offer was made, updated by
//! its own placements), one queued job after another; when it has tried every job that was
//! queued when the offer came, it returns what is left. Jobs that did not fit wait for the
//! next offer.
//!
//! Pessimistic locking: a framework owns its offer, so its claims there are committed with
//! the machines' current versions and never conflict, whichever conflict detection its
//! policy asks for. It sees no other framework's tasks, so it preempts none: the service
//! policy runs without preemption in two-level, and the allocator revokes nothing
//! (revocation is not modelled).
//!
//! Simplification: resources freed on a machine while it is under offer are not added to
//! that offer (the framework's view does not see them) and stay free for the next round.

use omega_core::{
    Claim, GPU_MILLI_PER_DEVICE, GpuDevices, JobId, MachineId, Priority, Resources, TaskId,
    Transaction,
};
use omega_schedulers::{FrameworkShare, drf_order};

use crate::engine::Simulation;
use crate::recorder::{Fact, Recorder};

/// Placeholder jobs that hold locked resources: `LOCK_JOB_BASE + framework`.
const LOCK_JOB_BASE: u64 = u64::MAX - (1 << 20);

/// True if `task` is a placeholder that holds resources locked in an offer.
pub fn is_lock(task: TaskId) -> bool {
    task.job.0 >= LOCK_JOB_BASE
}

fn lock_job(framework: usize) -> JobId {
    JobId(LOCK_JOB_BASE + framework as u64)
}

/// An outstanding offer.
#[derive(Debug)]
pub(crate) struct Offer {
    /// The framework's view: the cell when the offer was made, plus its own placements.
    pub(crate) view: omega_core::CellState,
    /// Jobs the framework may still try inside this offer.
    pub(crate) jobs_left: usize,
    /// The machines the offer locked resources on, in id order (re-locks stay within them).
    machines: Vec<MachineId>,
    made_at_us: u64,
    tasks_placed: u32,
}

/// What is free on one machine, device by device.
struct FreeSlice {
    cpu_milli: u64,
    mem_mib: u64,
    gpu_free_milli: Vec<u16>,
}

impl<R: Recorder> Simulation<'_, R> {
    /// One allocation round.
    pub(crate) fn allocate(&mut self) {
        let shares: Vec<FrameworkShare> = self
            .workers
            .iter()
            .map(|w| FrameworkShare {
                allocated: w.allocated,
                weight: 1,
                demand: if w.offer.is_none() && !w.busy && !w.queue.is_empty() {
                    Resources::new(1, 0, 0)
                } else {
                    Resources::ZERO
                },
            })
            .collect();
        for w in drf_order(&shares, self.cell.capacity()) {
            self.make_offer(w);
        }
    }

    /// Offers every free, unlocked resource to framework `w` and locks it.
    fn make_offer(&mut self, w: usize) {
        let view = self.cell.clone();
        let mut txn = Transaction::new(lock_job(w));
        let mut machines = Vec::new();
        let mut offered = Resources::ZERO;
        let ids: Vec<MachineId> = view.up_machines().map(|m| m.id).collect();
        for m in ids {
            let Some(free) = free_slice(&view, m) else {
                continue;
            };
            let before = txn.claims.len();
            lock_claims(&mut txn, w, m, &free, &view);
            if txn.claims.len() > before {
                machines.push(m);
                for c in &txn.claims[before..] {
                    offered = offered.checked_add(&c.resources).unwrap_or(offered);
                }
            }
        }
        if txn.claims.is_empty() {
            return;
        }
        let commit = self.cell.commit(&txn);
        self.cell = commit.state;
        let jobs_left = self.workers[w].queue.len();
        let since = self.workers[w].wants_offer_since_us.take();
        let fact = Fact::OfferMade {
            framework: w,
            machines: machines.len() as u32,
            resources: offered,
            waited_us: since.map_or(0, |t| self.now_us - t),
        };
        self.workers[w].offer = Some(Offer {
            view,
            jobs_left,
            machines,
            made_at_us: self.now_us,
            tasks_placed: 0,
        });
        self.recorder.record(self.now_us, &fact);
        self.try_start(w);
    }

    /// True if framework `w` holds an offer it may still use.
    pub(crate) fn offer_has_room(&self, w: usize) -> bool {
        self.workers[w]
            .offer
            .as_ref()
            .is_some_and(|o| o.jobs_left > 0)
    }

    /// Returns framework `w`'s offer: its locks are released.
    pub(crate) fn return_offer(&mut self, w: usize) {
        let Some(offer) = self.workers[w].offer.take() else {
            return;
        };
        let locks = self.locks_on(w, &offer.machines);
        self.release_locks(w, locks);
        self.recorder.record(
            self.now_us,
            &Fact::OfferReturned {
                framework: w,
                tasks_placed: offer.tasks_placed,
                held_us: self.now_us - offer.made_at_us,
            },
        );
    }

    /// Before framework `w` commits `txn`: release its locks on the machines it claims, and
    /// stamp its claims on offered machines with those machines' versions now.
    ///
    /// Under pessimistic locking the framework owns its offer: what it claims there is its
    /// own, so no version change (its own lock and unlock, a task ending elsewhere on the
    /// machine) may reject the claim, whichever conflict detection the policy asks for.
    pub(crate) fn unlock_for(&mut self, w: usize, txn: &mut Transaction) {
        let mut machines: Vec<MachineId> = txn.claims.iter().map(|c| c.machine).collect();
        machines.sort_unstable();
        machines.dedup();
        let locks = self.locks_on(w, &machines);
        self.release_locks(w, locks);
        let Some(offer) = self.workers[w].offer.as_ref() else {
            return;
        };
        for claim in &mut txn.claims {
            if offer.machines.binary_search(&claim.machine).is_ok()
                && let Some(state) = self.cell.state(claim.machine)
            {
                claim.seen_version = state.version;
            }
        }
    }

    /// Releases framework `w`'s lock placeholders `locks`, which must all be in the cell.
    ///
    /// # Panics
    /// If one is not: [`Self::locks_on`] found them in the cell just before, so a failed
    /// release means the engine lost track of its own locks.
    fn release_locks(&mut self, w: usize, locks: Vec<TaskId>) {
        if locks.is_empty() {
            return;
        }
        match self.cell.release_all(locks) {
            Ok((next, _)) => self.cell = next,
            Err(e) => panic!("framework {w}: releasing its offer's locks failed: {e}"),
        }
    }

    /// After framework `w` committed `accepted`: its view takes the placements, and what
    /// the offer still holds on those machines is locked again.
    pub(crate) fn relock_after(&mut self, w: usize, accepted: &[Claim]) {
        let Some(offer) = self.workers[w].offer.as_mut() else {
            return;
        };
        for c in accepted {
            // The view may have lost the machine's room to nothing else: only this
            // framework places there. A failure is the only way this can fail.
            let _ = offer.view.assume(c);
        }
        offer.tasks_placed += accepted.len() as u32;
        let mut machines: Vec<MachineId> = accepted.iter().map(|c| c.machine).collect();
        machines.sort_unstable();
        machines.dedup();
        let mut txn = Transaction::new(lock_job(w));
        for m in machines {
            // Lock what the offer still holds there, but never more than is really free.
            let (Some(offered), Some(real)) =
                (free_slice(&offer.view, m), free_slice(&self.cell, m))
            else {
                continue;
            };
            let both = FreeSlice {
                cpu_milli: offered.cpu_milli.min(real.cpu_milli),
                mem_mib: offered.mem_mib.min(real.mem_mib),
                gpu_free_milli: offered
                    .gpu_free_milli
                    .iter()
                    .zip(&real.gpu_free_milli)
                    .map(|(a, b)| (*a).min(*b))
                    .collect(),
            };
            lock_claims(&mut txn, w, m, &both, &self.cell);
        }
        if !txn.claims.is_empty() {
            self.cell = self.cell.commit(&txn).state;
        }
    }

    /// Framework `w`'s lock placeholders on `machines`.
    fn locks_on(&self, w: usize, machines: &[MachineId]) -> Vec<TaskId> {
        machines
            .iter()
            .flat_map(|&m| self.cell.tasks_on(m))
            .filter(|(t, _)| t.job == lock_job(w))
            .map(|(t, _)| t)
            .collect()
    }

    /// Resources held by locks now.
    pub(crate) fn locked_resources(&self) -> Resources {
        let mut locked = Resources::ZERO;
        for (w, worker) in self.workers.iter().enumerate() {
            let Some(offer) = &worker.offer else {
                continue;
            };
            for task in self.locks_on(w, &offer.machines) {
                if let Some(p) = self.cell.placement(task) {
                    locked = locked.checked_add(&p.resources).unwrap_or(locked);
                }
            }
        }
        locked
    }
}

fn free_slice(cell: &omega_core::CellState, m: MachineId) -> Option<FreeSlice> {
    let v = cell.machine(m).filter(|v| v.is_up())?;
    let free = v.free();
    Some(FreeSlice {
        cpu_milli: free.cpu_milli,
        mem_mib: free.mem_mib,
        gpu_free_milli: v.gpu_free_milli().to_vec(),
    })
}

/// Placeholder claims that lock `free` on machine `m` for framework `w`: one for CPU,
/// memory and the wholly free devices, one per partly free device.
fn lock_claims(
    txn: &mut Transaction,
    w: usize,
    m: MachineId,
    free: &FreeSlice,
    cell: &omega_core::CellState,
) {
    let seen = cell.state(m).map_or(0, |s| s.version);
    let job = lock_job(w);
    let base = m.0.saturating_mul(16);
    let mut whole = GpuDevices::NONE;
    for (d, &f) in free.gpu_free_milli.iter().enumerate() {
        if u64::from(f) == GPU_MILLI_PER_DEVICE {
            whole = whole.with(d as u8);
        } else if f > 0 {
            txn.push(
                Claim::new(
                    TaskId::new(job, base + 1 + d as u32),
                    m,
                    Resources::new(0, u64::from(f), 0),
                    seen,
                )
                .with_gpus(GpuDevices::one(d as u8))
                .with_priority(Priority(u32::MAX)),
            );
        }
    }
    let main = Resources::new(
        free.cpu_milli,
        u64::from(whole.len()) * GPU_MILLI_PER_DEVICE,
        free.mem_mib,
    );
    if !main.is_zero() {
        txn.push(
            Claim::new(TaskId::new(job, base), m, main, seen)
                .with_gpus(whole)
                .with_priority(Priority(u32::MAX)),
        );
    }
}
