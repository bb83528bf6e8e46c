//! Two-level (Mesos-style) scheduling: the allocator, offers and what they hold.
//!
//! Every allocation interval the allocator takes the frameworks with queued work and no
//! offer, in DRF order (lowest dominant share first), and offers each all the free
//! resources no other offer holds. A framework decides on its offer alone (its view: the
//! cell as it was when the offer was made, without what other offers held then, updated by
//! its own placements), one queued job after another; when it has tried every job that was
//! queued when the offer came, it returns what is left. Jobs that did not fit wait for the
//! next offer.
//!
//! What an offer holds is its view's free room: it got all of that room when it was made,
//! its own placements are the only ones that can use it, and resources freed later on its
//! machines are not added to it (they stay free for the next round) — so nothing is locked
//! in the cell and nothing has to be unlocked on return. An offer keeps the total it holds;
//! a machine whose failure is detected leaves every offer. Another framework's offer is
//! made only if the cell has free room beyond what offers hold (checked on totals), and its
//! view hides the room other offers hold.
//!
//! Pessimistic locking: a framework owns its offer, so its claims are committed with the
//! machines' current versions and never conflict, whichever conflict detection its policy
//! asks for. It sees no other framework's tasks, so it preempts none: the service policy
//! runs without preemption in two-level, and the allocator revokes nothing (revocation is
//! not modelled).

use omega_core::{
    CellState, Claim, GPU_MILLI_PER_DEVICE, GpuDevices, JobId, MachineId, MachineView, Priority,
    Resources, TaskId, Transaction,
};
use omega_schedulers::{FrameworkShare, drf_order};

use crate::architecture::{Architecture, Layout};
use crate::attempts;
use crate::config::SimConfig;
use crate::recorder::{Fact, Recorder};
use crate::world::World;

/// Placeholder tasks that stand for room other offers hold, in a framework's view:
/// `HELD_JOB_BASE + framework`.
const HELD_JOB_BASE: u64 = u64::MAX - (1 << 20);

/// An outstanding offer.
#[derive(Debug)]
struct Offer {
    /// The framework's view; its free room on machines not in `lost` is what the offer holds.
    view: CellState,
    /// Jobs the framework may still try inside this offer.
    jobs_left: usize,
    /// The total the offer holds now.
    held: Resources,
    /// Machines whose failure was detected since the offer was made (it holds nothing
    /// there), sorted.
    lost: Vec<MachineId>,
    made_at_us: u64,
    tasks_placed: u32,
}

impl Offer {
    /// What the offer holds on machine `m`: (CPU and memory with whole free devices, the
    /// free milli-GPUs of each partly free device).
    fn held_on(&self, m: MachineId) -> Option<Held> {
        if self.lost.binary_search(&m).is_ok() {
            return None;
        }
        Held::on(self.view.machine(m).filter(|v| v.is_up())?)
    }

    /// Every machine the offer holds room on, with that room, in id order.
    fn holdings(&self) -> impl Iterator<Item = (MachineId, Held)> + '_ {
        self.view
            .up_machines()
            .filter(|v| self.lost.binary_search(&v.id).is_err())
            .filter_map(|v| Some((v.id, Held::on(v)?)))
    }
}

/// Free room on one machine, device by device.
struct Held {
    cpu_milli: u64,
    mem_mib: u64,
    gpu_free_milli: Vec<u16>,
}

impl Held {
    /// The free room of machine `v`, unless it has none.
    fn on(v: MachineView<'_>) -> Option<Self> {
        let free = v.free();
        let held = Self {
            cpu_milli: free.cpu_milli,
            mem_mib: free.mem_mib,
            gpu_free_milli: v.gpu_free_milli().to_vec(),
        };
        let empty =
            held.cpu_milli == 0 && held.mem_mib == 0 && held.gpu_free_milli.iter().all(|&g| g == 0);
        (!empty).then_some(held)
    }

    fn total(&self) -> Resources {
        let gpu: u64 = self.gpu_free_milli.iter().map(|&g| u64::from(g)).sum();
        Resources::new(self.cpu_milli, gpu, self.mem_mib)
    }
}

/// The allocator and the frameworks' offers.
#[derive(Debug)]
pub(crate) struct TwoLevel {
    interval_us: u64,
    offers: Vec<Option<Offer>>,
    /// Per framework: since when it has had queued jobs but no offer.
    wants_offer_since_us: Vec<Option<u64>>,
}

/// One framework per configured scheduler.
pub(crate) fn build<R: Recorder>(cfg: &SimConfig) -> (Box<dyn Architecture<R>>, Layout) {
    let mut layout = Layout::default();
    for (i, spec) in cfg.architecture.schedulers.iter().enumerate() {
        layout.names.push(spec.name.clone());
        layout.route_classes(cfg, i, (i, 1, i));
    }
    let n = layout.names.len();
    let arch = TwoLevel {
        interval_us: cfg.architecture.allocation_interval_us,
        offers: (0..n).map(|_| None).collect(),
        wants_offer_since_us: vec![None; n],
    };
    (Box::new(arch), layout)
}

impl<R: Recorder> Architecture<R> for TwoLevel {
    fn may_start(&mut self, w: &mut World<'_, R>, s: usize) -> bool {
        if self.offers[s].as_ref().is_some_and(|o| o.jobs_left > 0) {
            return true;
        }
        // A used-up offer goes back to the allocator.
        self.return_offer(w, s);
        if !w.schedulers[s].queue.is_empty() {
            self.wants_offer_since_us[s].get_or_insert(w.now_us());
        }
        false
    }

    fn queue_drained(&mut self, w: &mut World<'_, R>, s: usize) {
        self.return_offer(w, s);
    }

    fn view<'a>(&'a mut self, s: usize, cell: &'a CellState) -> &'a CellState {
        match self.offers[s].as_mut() {
            Some(offer) => {
                offer.jobs_left = offer.jobs_left.saturating_sub(1);
                &offer.view
            }
            None => cell,
        }
    }

    /// The framework owns its offer: its claims carry the machines' versions now, so no
    /// version change (a task ending elsewhere on the machine) can reject them.
    fn before_commit(&mut self, w: &World<'_, R>, s: usize, txn: &mut Transaction) {
        if self.offers[s].is_none() {
            return;
        }
        for claim in &mut txn.claims {
            if let Some(state) = w.cell.state(claim.machine) {
                claim.seen_version = state.version;
            }
        }
    }

    /// The view takes the placements, which use room the offer held.
    fn after_commit(&mut self, _w: &mut World<'_, R>, s: usize, accepted: &[Claim]) {
        let Some(offer) = self.offers[s].as_mut() else {
            return;
        };
        for c in accepted {
            let placed = offer.view.assume(c);
            debug_assert!(
                placed.is_ok() || offer.lost.binary_search(&c.machine).is_ok(),
                "framework {s} placed {c:?} beyond what its offer held: {placed:?}"
            );
            offer.held = offer.held.saturating_sub(&c.resources);
        }
        offer.tasks_placed += accepted.len() as u32;
    }

    fn tick_interval_us(&self) -> Option<u64> {
        Some(self.interval_us)
    }

    /// One allocation round: offers in DRF order, each framework starting at once.
    fn tick(&mut self, w: &mut World<'_, R>) {
        let shares: Vec<FrameworkShare> = w
            .schedulers
            .iter()
            .enumerate()
            .map(|(s, slot)| FrameworkShare {
                allocated: slot.running_resources,
                weight: 1,
                demand: if self.offers[s].is_none() && !slot.deciding && !slot.queue.is_empty() {
                    Resources::new(1, 0, 0)
                } else {
                    Resources::ZERO
                },
            })
            .collect();
        for s in drf_order(&shares, w.cell.capacity()) {
            if self.make_offer(w, s) {
                attempts::try_start(w, self, s);
            }
        }
    }

    fn locked(&self) -> Resources {
        self.held_by_offers()
    }

    fn machine_lost(&mut self, _w: &mut World<'_, R>, m: MachineId) {
        for offer in self.offers.iter_mut().flatten() {
            if let Some(held) = offer.held_on(m) {
                offer.held = offer.held.saturating_sub(&held.total());
            }
            if let Err(at) = offer.lost.binary_search(&m) {
                offer.lost.insert(at, m);
            }
        }
    }
}

impl TwoLevel {
    /// What the outstanding offers hold, together.
    fn held_by_offers(&self) -> Resources {
        self.offers
            .iter()
            .flatten()
            .fold(Resources::ZERO, |sum, o| {
                sum.checked_add(&o.held).unwrap_or(sum)
            })
    }

    /// Offers framework `s` every free resource no other offer holds; false if there is
    /// none.
    fn make_offer<R: Recorder>(&mut self, w: &mut World<'_, R>, s: usize) -> bool {
        let free = w.cell.capacity().saturating_sub(&w.cell.allocated());
        // Framework `s` holds no offer: only frameworks without one have demand.
        let held_elsewhere = self.held_by_offers();
        let offered = free.saturating_sub(&held_elsewhere);
        if offered.is_zero() {
            return false;
        }
        let mut view = w.cell.clone();
        for (other, offer) in self.offers.iter().enumerate() {
            if let Some(offer) = offer {
                hide_held(&mut view, other, offer);
            }
        }
        debug_assert_eq!(
            free_room(&view),
            offered,
            "framework {s}'s offer: the totals (free in the cell minus what other offers hold) \
             disagree with its view's free room"
        );
        let since = self.wants_offer_since_us[s].take();
        let now = w.now_us();
        self.offers[s] = Some(Offer {
            view,
            jobs_left: w.schedulers[s].queue.len(),
            held: offered,
            lost: Vec::new(),
            made_at_us: now,
            tasks_placed: 0,
        });
        w.record(&Fact::OfferMade {
            framework: s,
            resources: offered,
            waited_us: since.map_or(0, |t| now - t),
        });
        true
    }

    /// Returns framework `s`'s offer, if it holds one: what is left is free again.
    fn return_offer<R: Recorder>(&mut self, w: &mut World<'_, R>, s: usize) {
        let Some(offer) = self.offers[s].take() else {
            return;
        };
        let now = w.now_us();
        w.record(&Fact::OfferReturned {
            framework: s,
            tasks_placed: offer.tasks_placed,
            held_us: now - offer.made_at_us,
        });
    }
}

/// Hides what `offer` (framework `holder`'s) holds from `view`: placeholder tasks take its
/// room, machine by machine (CPU, memory and whole devices in one, each partly free device
/// in its own).
fn hide_held(view: &mut CellState, holder: usize, offer: &Offer) {
    let job = JobId(HELD_JOB_BASE + holder as u64);
    for (m, held) in offer.holdings() {
        for claim in held_claims(job, m, &held) {
            let hidden = view.assume(&claim);
            debug_assert!(
                hidden.is_ok(),
                "room held by framework {holder} on {m} is not free: {hidden:?}"
            );
        }
    }
}

/// Placeholder claims of `job` for `held` on machine `m`.
fn held_claims(job: JobId, m: MachineId, held: &Held) -> Vec<Claim> {
    let base = m.0.saturating_mul(16);
    let mut claims = Vec::new();
    let mut whole = GpuDevices::NONE;
    for (d, &f) in held.gpu_free_milli.iter().enumerate() {
        if u64::from(f) == GPU_MILLI_PER_DEVICE {
            whole = whole.with(d as u8);
        } else if f > 0 {
            claims.push(
                Claim::new(
                    TaskId::new(job, base + 1 + d as u32),
                    m,
                    Resources::new(0, u64::from(f), 0),
                    0,
                )
                .with_gpus(GpuDevices::one(d as u8))
                .with_priority(Priority(u32::MAX)),
            );
        }
    }
    let main = Resources::new(
        held.cpu_milli,
        u64::from(whole.len()) * GPU_MILLI_PER_DEVICE,
        held.mem_mib,
    );
    if !main.is_zero() {
        claims.push(
            Claim::new(TaskId::new(job, base), m, main, 0)
                .with_gpus(whole)
                .with_priority(Priority(u32::MAX)),
        );
    }
    claims
}

/// The free room of `view`'s up machines, summed (what an offer made on it holds).
fn free_room(view: &CellState) -> Resources {
    view.up_machines()
        .filter_map(Held::on)
        .fold(Resources::ZERO, |sum, held| {
            sum.checked_add(&held.total()).unwrap_or(sum)
        })
}
