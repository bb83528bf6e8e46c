//! `CellState`: the shared cell state, persistent so that a snapshot is an O(1) clone.
//!
//! Layout (see the performance notes in ARCHITECTURE.md):
//! - the fixed machine descriptions sit in one shared, immutable table (`Arc`), copied only
//!   when machines are added or removed;
//! - each machine's changing state is a small `Copy` value, kept with the sorted list of the
//!   tasks running on it and their placements (a shared `Arc<[..]>`, copied on write) in a
//!   persistent 16-way vector that stores these slots inline (`SlotVec`, see `slots.rs`);
//! - running tasks are indexed by task in an `imbl::OrdMap`;
//! - a working copy that [`CellState::assume`]s claims keeps the machines it changed in a
//!   small write buffer of its own (`Draft`, see `draft.rs`) instead of copying vector paths.
//!
//! Every operation returns a new state and leaves `self` untouched.

use std::collections::BTreeMap;
use std::sync::Arc;

use imbl::OrdMap;
use smallvec::SmallVec;

use crate::draft::Draft;
use crate::slots::SlotVec;
use crate::{
    Claim, Commit, CommitMode, Conflict, ConflictMode, CoreError, FailureDomain,
    GPU_MILLI_PER_DEVICE, GpuDevices, GpuRequest, InvalidClaim, Machine, MachineId, MachineState,
    MachineStatus, MachineView, Priority, Rejection, Resources, TaskId, Transaction, VersionPolicy,
};

/// Where a running task is and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Placement {
    /// The machine it runs on.
    pub machine: MachineId,
    /// The resources it holds.
    pub resources: Resources,
    /// The GPU devices it uses.
    pub gpus: GpuDevices,
    /// Its priority.
    pub priority: Priority,
}

/// The fixed part of the cell, shared by every snapshot.
#[derive(Clone, Debug, Default)]
struct MachineTable {
    machines: Vec<Arc<Machine>>,
    domains: BTreeMap<FailureDomain, Vec<MachineId>>,
}

/// The shared state of a cell: machines, their allocations and versions, running tasks.
///
/// Cloning is O(1) whatever the cell size: that clone is a scheduler's snapshot. Every
/// change returns a new `CellState`; old snapshots never change.
///
/// ```
/// use omega_core::*;
/// let cell = CellState::new([
///     Machine::new("A", 8_000, 16_384, FailureDomain(0)),
///     Machine::new("C", 8_000, 32_768, FailureDomain(1)).with_gpus(2, "T4"),
/// ])?;
/// let mut txn = Transaction::new(JobId(1));
/// txn.push(Claim::new(TaskId::new(JobId(1), 0), MachineId(1), Resources::new(2_000, 1_000, 4_096), 0)
///     .with_gpus(GpuDevices::one(1)));
/// let commit = cell.commit(&txn);
/// assert_eq!(commit.accepted, vec![0]);
/// let m = commit.state.machine(MachineId(1)).unwrap();
/// assert_eq!(m.free(), Resources::new(6_000, 1_000, 28_672));
/// assert_eq!(m.gpu_free_milli(), &[1000, 0]);
/// assert_eq!(m.version(), 1);
/// assert_eq!(cell.machine(MachineId(1)).unwrap().version(), 0); // the old snapshot is unchanged
/// # Ok::<(), CoreError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CellState {
    table: Arc<MachineTable>,
    states: SlotVec,
    placements: OrdMap<TaskId, Placement>,
    capacity_up: Resources,
    allocated: Resources,
    seq: u64,
    /// Which changes bump a machine's version; carried by every state made from this one.
    version_policy: VersionPolicy,
    /// Slots changed by `assume` and not yet written into `states`; `None` in every state
    /// made by a commit or another change.
    pub(crate) draft: Option<Arc<Draft>>,
}

/// One machine's changing state and the tasks running on it with their placements, sorted
/// by task (kept inline so "tasks on machine m" needs no map lookups).
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) state: MachineState,
    tasks: Arc<[(TaskId, Placement)]>,
}

impl Slot {
    /// A slot in `state` with no tasks.
    pub(crate) fn empty(state: MachineState) -> Self {
        Self {
            state,
            tasks: Arc::from([]),
        }
    }
}

impl Default for CellState {
    fn default() -> Self {
        Self {
            table: Arc::default(),
            states: SlotVec::default(),
            placements: OrdMap::new(),
            capacity_up: Resources::ZERO,
            allocated: Resources::ZERO,
            seq: 0,
            version_policy: VersionPolicy::default(),
            draft: None,
        }
    }
}

impl CellState {
    /// A cell of the given machines, all up, with ids `0..n` in order, under the default
    /// [`VersionPolicy`] (every change bumps a version).
    pub fn new(machines: impl IntoIterator<Item = Machine>) -> Result<Self, CoreError> {
        let mut table = MachineTable::default();
        let mut states = SlotVec::default();
        let mut capacity = Resources::ZERO;
        for machine in machines {
            machine.validate()?;
            let id = MachineId(
                u32::try_from(table.machines.len()).map_err(|_| CoreError::TooManyMachines)?,
            );
            states.push(Slot::empty(MachineState::fresh(&machine)));
            capacity = capacity
                .checked_add(&machine.capacity)
                .ok_or(CoreError::TooManyMachines)?;
            table
                .domains
                .entry(machine.failure_domain)
                .or_default()
                .push(id);
            table.machines.push(Arc::new(machine));
        }
        Ok(Self {
            table: Arc::new(table),
            states,
            placements: OrdMap::new(),
            capacity_up: capacity,
            allocated: Resources::ZERO,
            seq: 0,
            version_policy: VersionPolicy::default(),
            draft: None,
        })
    }

    /// This state under version policy `policy`: which later changes bump a machine's
    /// version (versions already given are kept). Every state made from the result,
    /// snapshots and commits included, keeps the policy.
    ///
    /// ```
    /// use omega_core::*;
    /// let cell = CellState::new([Machine::new("A", 8_000, 16_384, FailureDomain(0))])?
    ///     .with_version_policy(VersionPolicy::Claims);
    /// let task = TaskId::new(JobId(1), 0);
    /// let mut txn = Transaction::new(JobId(1));
    /// txn.push(Claim::new(task, MachineId(0), Resources::new(1_000, 0, 1_024), 0));
    /// let placed = cell.commit(&txn).state;
    /// let (ended, _) = placed.release(task)?;
    /// assert_eq!(ended.version_policy(), VersionPolicy::Claims);
    /// assert_eq!(ended.machine(MachineId(0)).unwrap().version(), 1); // the claim, not the end
    /// # Ok::<(), CoreError>(())
    /// ```
    #[must_use]
    pub fn with_version_policy(mut self, policy: VersionPolicy) -> Self {
        self.version_policy = policy;
        self
    }

    /// The version policy: which changes bump a machine's version.
    pub fn version_policy(&self) -> VersionPolicy {
        self.version_policy
    }

    // ----- queries -------------------------------------------------------------------

    /// The global sequence number: how many changes this state has seen.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Number of machine ids handed out (removed machines included); ids are `0..slots`.
    pub fn slot_count(&self) -> u32 {
        self.table.machines.len() as u32
    }

    /// Number of machines in the cell (up or down, not removed).
    pub fn machine_count(&self) -> usize {
        self.slots()
            .filter(|s| s.state.status != MachineStatus::Removed)
            .count()
    }

    /// The machine `id`, unless it does not exist or was removed.
    pub fn machine(&self, id: MachineId) -> Option<MachineView<'_>> {
        let state = self.slot(id.0 as usize)?.state;
        if state.status == MachineStatus::Removed {
            return None;
        }
        Some(MachineView {
            id,
            spec: &self.table.machines[id.0 as usize],
            state,
        })
    }

    /// The changing state of machine `id` (also for removed machines), without the
    /// description: the cheapest lookup, for hot loops.
    pub fn state(&self, id: MachineId) -> Option<MachineState> {
        self.slot(id.0 as usize).map(|s| s.state)
    }

    /// The fixed description of machine `id` (also for removed machines).
    pub fn spec(&self, id: MachineId) -> Option<&Machine> {
        self.table.machines.get(id.0 as usize).map(|m| &**m)
    }

    /// Free resources of machine `id`, if it exists.
    pub fn free(&self, id: MachineId) -> Option<Resources> {
        self.machine(id).map(|m| m.free())
    }

    /// Every machine that is not removed, in id order.
    pub fn machines(&self) -> impl Iterator<Item = MachineView<'_>> + '_ {
        self.slots()
            .zip(self.table.machines.iter())
            .enumerate()
            .filter(|(_, (s, _))| s.state.status != MachineStatus::Removed)
            .map(|(i, (s, m))| MachineView {
                id: MachineId(i as u32),
                spec: m,
                state: s.state,
            })
    }

    /// Every machine that is up, in id order.
    pub fn up_machines(&self) -> impl Iterator<Item = MachineView<'_>> + '_ {
        self.machines().filter(|m| m.is_up())
    }

    /// The failure domains that have machines, in order.
    pub fn failure_domains(&self) -> impl Iterator<Item = FailureDomain> + '_ {
        self.table.domains.keys().copied()
    }

    /// The machines (not removed) of failure domain `domain`, in id order.
    pub fn machines_in_domain(
        &self,
        domain: FailureDomain,
    ) -> impl Iterator<Item = MachineId> + '_ {
        self.table
            .domains
            .get(&domain)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| {
                self.slot(id.0 as usize)
                    .is_some_and(|s| s.state.status != MachineStatus::Removed)
            })
    }

    /// Total capacity of the machines that are up.
    pub fn capacity(&self) -> Resources {
        self.capacity_up
    }

    /// Total resources held by running tasks.
    pub fn allocated(&self) -> Resources {
        self.allocated
    }

    /// Where task `task` runs, if it does.
    pub fn placement(&self, task: TaskId) -> Option<&Placement> {
        self.placements.get(&task)
    }

    /// Number of running tasks.
    pub fn task_count(&self) -> usize {
        self.placements.len()
    }

    /// Every running task and its placement, in task order.
    pub fn running_tasks(&self) -> impl Iterator<Item = (TaskId, Placement)> + '_ {
        self.placements.iter().map(|(t, p)| (*t, *p))
    }

    /// The tasks running on machine `id`, in task order.
    pub fn tasks_on(&self, id: MachineId) -> impl Iterator<Item = (TaskId, Placement)> + '_ {
        self.slot(id.0 as usize)
            .into_iter()
            .flat_map(|s| s.tasks.iter().copied())
    }

    /// Machine `idx`'s slot: from the draft if it changed there, else from the vector.
    #[inline]
    fn slot(&self, idx: usize) -> Option<&Slot> {
        if let Some(draft) = &self.draft
            && let Some(slot) = draft.get(idx as u32)
        {
            return Some(slot);
        }
        self.states.get(idx)
    }

    /// Every slot in id order, the draft's in place of the vector's.
    fn slots(&self) -> impl Iterator<Item = &Slot> + '_ {
        self.states.iter().enumerate().map(|(idx, slot)| {
            self.draft
                .as_ref()
                .and_then(|d| d.get(idx as u32))
                .unwrap_or(slot)
        })
    }

    /// Writes the draft, if any, back into the persistent vector.
    fn write_back(&mut self) {
        let Some(draft) = self.draft.take() else {
            return;
        };
        for (id, slot) in draft.iter() {
            self.states.set(id as usize, slot.clone());
        }
    }

    // ----- commits -------------------------------------------------------------------

    /// Commits `txn` against this state (see the crate docs for the rules).
    ///
    /// Each claim is checked in order — machine exists and is up, then (coarse mode) its
    /// version equals `seen_version`, then its victims still run there at lower priority,
    /// then it fits — against this state plus the claims of `txn` accepted before it. Every
    /// machine an accepted claim touched gets its version bumped once (under every
    /// [`VersionPolicy`]; the victims a claim preempts run on its machine, so they need no
    /// bump of their own), and the sequence number grows by one, if anything was accepted.
    pub fn commit(&self, txn: &Transaction) -> Commit {
        let mut next = self.clone();
        next.write_back();
        let mut accepted = Vec::with_capacity(txn.claims.len());
        let mut rejected = Vec::new();
        let mut preempted = Vec::new();
        let mut touched: SmallVec<[MachineId; 16]> = SmallVec::new();
        let seen = (txn.conflicts == ConflictMode::Coarse).then_some(self);
        for (index, claim) in txn.claims.iter().enumerate() {
            match next.apply_claim(claim, seen, &mut preempted) {
                Ok(()) => {
                    accepted.push(index);
                    if !touched.contains(&claim.machine) {
                        touched.push(claim.machine);
                    }
                }
                Err(reason) => rejected.push(Rejection {
                    claim: index,
                    task: claim.task,
                    machine: claim.machine,
                    reason,
                }),
            }
        }
        if txn.commit == CommitMode::Gang && !rejected.is_empty() {
            return Commit {
                state: self.clone(),
                accepted: Vec::new(),
                rejected,
                preempted: Vec::new(),
                aborted: true,
            };
        }
        if accepted.is_empty() {
            return Commit {
                state: self.clone(),
                accepted,
                rejected,
                preempted,
                aborted: false,
            };
        }
        for id in touched {
            next.bump(id);
        }
        next.seq += 1;
        Commit {
            state: next,
            accepted,
            rejected,
            preempted,
            aborted: false,
        }
    }

    /// Places `claim` in this state as a scheduler's local, optimistic copy does: checks
    /// existence, victims and resources (not versions) and applies the claim without
    /// bumping versions or the sequence number, so later claims still record the versions
    /// the scheduler saw. Victims are evicted from the local copy.
    ///
    /// ```
    /// use omega_core::*;
    /// let mut local = CellState::new([Machine::new("A", 8_000, 16_384, FailureDomain(0))])?;
    /// let task = |i| TaskId::new(JobId(1), i);
    /// let r = Resources::new(6_000, 0, 1_024);
    /// local.assume(&Claim::new(task(0), MachineId(0), r, 0)).unwrap();
    /// assert_eq!(local.assume(&Claim::new(task(1), MachineId(0), r, 0)),
    ///            Err(Conflict::InsufficientResources));
    /// assert_eq!(local.machine(MachineId(0)).unwrap().version(), 0);
    /// # Ok::<(), CoreError>(())
    /// ```
    pub fn assume(&mut self, claim: &Claim) -> Result<(), Conflict> {
        let mut evicted = Vec::new();
        if self.draft.as_ref().is_some_and(|d| d.len() >= Draft::LIMIT) {
            self.write_back();
        }
        if self.draft.is_none() {
            self.draft = Some(Arc::default());
        }
        self.apply_claim(claim, None, &mut evicted)
    }

    /// Checks one claim against `self` and applies it in place; `seen` is the state whose
    /// versions a coarse check compares with (`None` for fine checks).
    fn apply_claim(
        &mut self,
        claim: &Claim,
        seen: Option<&CellState>,
        evicted: &mut Vec<(TaskId, Placement)>,
    ) -> Result<(), Conflict> {
        let idx = claim.machine.0 as usize;
        let Some(slot) = self.slot(idx) else {
            return Err(Conflict::MachineMissing);
        };
        // Read once: the claim is written onto this copy unless victims change the slot.
        let mut slot = slot.clone();
        let state = slot.state;
        match state.status {
            MachineStatus::Removed => return Err(Conflict::MachineMissing),
            MachineStatus::Down => return Err(Conflict::MachineDown),
            MachineStatus::Up => {}
        }
        let per_device = gpu_use(
            claim.resources,
            claim.gpus,
            self.table.machines[idx].gpus.len(),
        )?;
        let placement = Placement {
            machine: claim.machine,
            resources: claim.resources,
            gpus: claim.gpus,
            priority: claim.priority,
        };
        // Index the task first: one descent of the map both finds a task already placed
        // and inserts it; a claim refused below takes the entry out again.
        if let Some(previous) = self.placements.insert(claim.task, placement) {
            self.placements.insert(claim.task, previous);
            return Err(Conflict::Invalid(InvalidClaim::TaskAlreadyPlaced));
        }
        if let Err(reason) = self.check_claim(claim, state, per_device, seen) {
            self.placements.remove(&claim.task);
            return Err(reason);
        }
        if !claim.preempts.is_empty() {
            for victim in &claim.preempts {
                if let Some(p) = self.remove_placement(*victim) {
                    evicted.push((*victim, p));
                }
            }
            if let Some(now) = self.slot(idx) {
                slot = now.clone();
            }
        }
        self.place(claim.task, placement, per_device, slot);
        Ok(())
    }

    /// The checks of a claim after existence and shape, in order: version (when `seen` is
    /// given), victims, resources. `state` is the machine's state in `self`.
    fn check_claim(
        &self,
        claim: &Claim,
        state: MachineState,
        per_device: u16,
        seen: Option<&CellState>,
    ) -> Result<(), Conflict> {
        let idx = claim.machine.0 as usize;
        if let Some(seen) = seen {
            let version = seen.slot(idx).map(|s| s.state.version);
            if version != Some(claim.seen_version) {
                return Err(Conflict::VersionChanged);
            }
        }
        // Victims: distinct, running on this machine, strictly lower priority (the claim's
        // own task, indexed already, has the claim's priority and so never qualifies).
        let mut freed = Resources::ZERO;
        let mut gpu_free = state.gpu_free_milli;
        for (i, victim) in claim.preempts.iter().enumerate() {
            let placement = self.placements.get(victim);
            let ok = claim.preempts[..i].iter().all(|v| v != victim)
                && placement
                    .is_some_and(|p| p.machine == claim.machine && p.priority < claim.priority);
            let Some(p) = placement.filter(|_| ok) else {
                return Err(Conflict::VictimGone);
            };
            freed = freed.checked_add(&p.resources).unwrap_or(freed);
            give_back(&mut gpu_free, p);
        }
        let capacity = self.table.machines[idx].capacity;
        let available = capacity
            .saturating_sub(&state.allocated)
            .checked_add(&freed)
            .unwrap_or(capacity);
        let fits_devices = claim
            .gpus
            .iter()
            .all(|d| gpu_free[usize::from(d)] >= per_device);
        if !claim.resources.fits(&available) || !fits_devices {
            return Err(Conflict::InsufficientResources);
        }
        Ok(())
    }

    /// Replaces machine `id`'s slot with `f` applied to a copy of it (see `write_slot`).
    fn update(&mut self, id: MachineId, f: impl FnOnce(&mut Slot)) {
        let idx = id.0 as usize;
        let Some(slot) = self.slot(idx) else {
            return;
        };
        let mut slot = slot.clone();
        f(&mut slot);
        self.write_slot(idx, slot);
    }

    /// Stores machine `idx`'s new slot: in the draft if this state has one (a working
    /// copy), else in the persistent vector.
    fn write_slot(&mut self, idx: usize, slot: Slot) {
        match &mut self.draft {
            Some(draft) => Arc::make_mut(draft).put(idx as u32, slot),
            None => {
                self.states.set(idx, slot);
            }
        }
    }

    /// Puts an indexed task on its machine, whose current slot is `s`: slot and totals
    /// (the caller indexed it in `placements`).
    fn place(&mut self, task: TaskId, p: Placement, per_device: u16, mut s: Slot) {
        let st = &mut s.state;
        st.allocated = st
            .allocated
            .checked_add(&p.resources)
            .unwrap_or(st.allocated);
        for d in p.gpus.iter() {
            let free = &mut st.gpu_free_milli[usize::from(d)];
            *free = free.saturating_sub(per_device);
        }
        let at = s.tasks.partition_point(|(t, _)| *t < task);
        // One exact-size allocation: slice iterators and `once` know their length.
        s.tasks = s.tasks[..at]
            .iter()
            .copied()
            .chain(std::iter::once((task, p)))
            .chain(s.tasks[at..].iter().copied())
            .collect();
        self.write_slot(p.machine.0 as usize, s);
        self.allocated = self
            .allocated
            .checked_add(&p.resources)
            .unwrap_or(self.allocated);
    }

    /// Removes a running task and gives its resources back; no version bump.
    fn remove_placement(&mut self, task: TaskId) -> Option<Placement> {
        let p = self.placements.remove(&task)?;
        self.update(p.machine, |s| {
            s.state.allocated = s.state.allocated.saturating_sub(&p.resources);
            give_back(&mut s.state.gpu_free_milli, &p);
            s.tasks = s
                .tasks
                .iter()
                .copied()
                .filter(|(t, _)| *t != task)
                .collect();
        });
        self.allocated = self.allocated.saturating_sub(&p.resources);
        Some(p)
    }

    fn bump(&mut self, id: MachineId) {
        self.update(id, |s| s.state.version += 1);
    }

    // ----- direct changes ------------------------------------------------------------

    /// Ends task `task` (finished or killed): its resources go back to its machine, whose
    /// version is bumped unless the [`VersionPolicy`] is [`VersionPolicy::Claims`].
    /// Returns the new state and where the task ran.
    pub fn release(&self, task: TaskId) -> Result<(CellState, Placement), CoreError> {
        let (next, mut released) = self.release_all([task])?;
        let (_, p) = released.pop().ok_or(CoreError::UnknownTask(task))?;
        Ok((next, p))
    }

    /// Ends several tasks at once (tasks that finish at the same instant): one sequence
    /// step, and one version bump per touched machine if the [`VersionPolicy`] bumps on
    /// releases. Fails, changing nothing, if any task
    /// is not running.
    pub fn release_all(
        &self,
        tasks: impl IntoIterator<Item = TaskId>,
    ) -> Result<(CellState, Vec<(TaskId, Placement)>), CoreError> {
        let mut next = self.clone();
        next.write_back();
        let mut released = Vec::new();
        let mut touched: SmallVec<[MachineId; 16]> = SmallVec::new();
        for task in tasks {
            let p = next
                .remove_placement(task)
                .ok_or(CoreError::UnknownTask(task))?;
            if !touched.contains(&p.machine) {
                touched.push(p.machine);
            }
            released.push((task, p));
        }
        if released.is_empty() {
            return Ok((next, released));
        }
        if self.version_policy.bumps_on_release() {
            for id in touched {
                next.bump(id);
            }
        }
        next.seq += 1;
        Ok((next, released))
    }

    /// Marks machine `id` failed: every task on it is evicted (and returned), its
    /// allocation drops to zero, its version is bumped and it rejects claims until it
    /// recovers.
    pub fn fail_machine(
        &self,
        id: MachineId,
    ) -> Result<(CellState, Vec<(TaskId, Placement)>), CoreError> {
        let state = self.live_state(id)?;
        if state.status == MachineStatus::Down {
            return Err(CoreError::AlreadyDown(id));
        }
        let (mut next, evicted) = self.evict_all(id);
        next.set_status(id, MachineStatus::Down);
        Ok((next, evicted))
    }

    /// Brings failed machine `id` back up, empty, with its version bumped.
    pub fn recover_machine(&self, id: MachineId) -> Result<CellState, CoreError> {
        let state = self.live_state(id)?;
        if state.status != MachineStatus::Down {
            return Err(CoreError::NotDown(id));
        }
        let mut next = self.clone();
        next.write_back();
        next.set_status(id, MachineStatus::Up);
        next.seq += 1;
        Ok(next)
    }

    /// Adds a machine (up, empty, version 0) and returns the new state and its id.
    ///
    /// The fixed machine table is shared by snapshots, so adding copies it: O(machines),
    /// meant for occasional resizes, not hot loops.
    pub fn add_machine(&self, machine: Machine) -> Result<(CellState, MachineId), CoreError> {
        machine.validate()?;
        let id = MachineId(
            u32::try_from(self.table.machines.len()).map_err(|_| CoreError::TooManyMachines)?,
        );
        let mut next = self.clone();
        next.write_back();
        let table = Arc::make_mut(&mut next.table);
        table
            .domains
            .entry(machine.failure_domain)
            .or_default()
            .push(id);
        next.states.push(Slot::empty(MachineState::fresh(&machine)));
        next.capacity_up = next
            .capacity_up
            .checked_add(&machine.capacity)
            .ok_or(CoreError::TooManyMachines)?;
        table.machines.push(Arc::new(machine));
        next.seq += 1;
        Ok((next, id))
    }

    /// Removes machine `id` for good: its tasks are evicted (and returned), its version is
    /// bumped, and claims on it get [`Conflict::MachineMissing`] from now on.
    pub fn remove_machine(
        &self,
        id: MachineId,
    ) -> Result<(CellState, Vec<(TaskId, Placement)>), CoreError> {
        self.live_state(id)?;
        let (mut next, evicted) = self.evict_all(id);
        next.set_status(id, MachineStatus::Removed);
        Ok((next, evicted))
    }

    /// The state of a machine that exists and is not removed.
    fn live_state(&self, id: MachineId) -> Result<MachineState, CoreError> {
        match self.slot(id.0 as usize) {
            Some(s) if s.state.status != MachineStatus::Removed => Ok(s.state),
            _ => Err(CoreError::UnknownMachine(id)),
        }
    }

    /// A copy with every task on `id` evicted and the sequence number stepped (no bump:
    /// the caller's status change bumps).
    fn evict_all(&self, id: MachineId) -> (CellState, Vec<(TaskId, Placement)>) {
        let mut next = self.clone();
        next.write_back();
        let tasks = next
            .slot(id.0 as usize)
            .map_or_else(|| Arc::from([]), |s| Arc::clone(&s.tasks));
        let mut evicted = Vec::with_capacity(tasks.len());
        for (t, _) in tasks.iter() {
            if let Some(p) = next.placements.remove(t) {
                next.allocated = next.allocated.saturating_sub(&p.resources);
                evicted.push((*t, p));
            }
        }
        next.update(id, |s| {
            s.tasks = Arc::from([]);
            s.state.allocated = Resources::ZERO;
            for (_, p) in &evicted {
                give_back(&mut s.state.gpu_free_milli, p);
            }
        });
        next.seq += 1;
        (next, evicted)
    }

    /// Sets a machine's status, keeping the up-capacity total in step, and bumps it (under
    /// every [`VersionPolicy`]: a status change always counts).
    fn set_status(&mut self, id: MachineId, status: MachineStatus) {
        let capacity = self.table.machines[id.0 as usize].capacity;
        let Some(was_up) = self
            .slot(id.0 as usize)
            .map(|s| s.state.status == MachineStatus::Up)
        else {
            return;
        };
        self.update(id, |s| {
            s.state.status = status;
            s.state.version += 1;
        });
        let is_up = status == MachineStatus::Up;
        if was_up && !is_up {
            self.capacity_up = self.capacity_up.saturating_sub(&capacity);
        } else if !was_up && is_up {
            self.capacity_up = self.capacity_up.checked_add(&capacity).unwrap_or(capacity);
        }
    }
}

/// How many milli-GPU each named device gives a request, or why the devices are wrong.
fn gpu_use(resources: Resources, gpus: GpuDevices, devices: usize) -> Result<u16, Conflict> {
    let request = resources
        .gpu_request()
        .ok_or(Conflict::Invalid(InvalidClaim::GpuRequestShape))?;
    let exists = gpus.iter().all(|d| usize::from(d) < devices);
    let (count, per_device) = match request {
        GpuRequest::None => (0, 0),
        GpuRequest::Fraction(milli) => (1, milli),
        GpuRequest::Whole(n) => (u32::from(n), GPU_MILLI_PER_DEVICE as u16),
    };
    if !exists || gpus.len() != count {
        return Err(Conflict::Invalid(InvalidClaim::GpuDevices));
    }
    Ok(per_device)
}

/// Gives a placement's GPU share back to the devices it used.
fn give_back(gpu_free: &mut [u16; crate::MAX_GPUS_PER_MACHINE], p: &Placement) {
    let per_device = match p.resources.gpu_request() {
        Some(GpuRequest::Fraction(m)) => m,
        Some(GpuRequest::Whole(_)) => GPU_MILLI_PER_DEVICE as u16,
        _ => 0,
    };
    for d in p.gpus.iter() {
        let free = &mut gpu_free[usize::from(d)];
        *free = free
            .saturating_add(per_device)
            .min(GPU_MILLI_PER_DEVICE as u16);
    }
}
