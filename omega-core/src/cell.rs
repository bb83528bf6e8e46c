//! `CellState`: the shared cell state, persistent so that a snapshot is an O(1) clone.
//!
//! Layout (see the performance notes in ARCHITECTURE.md):
//! - the fixed machine descriptions sit in one shared, immutable table (`Arc`), copied only
//!   when machines are added or removed;
//! - each machine's changing state is a small `Copy` value, kept with the sorted list of the
//!   tasks running on it and their placements (a shared `Arc<Vec<..>>`, copied on write when
//!   shared, changed in place when not) in a persistent 16-way vector that stores these
//!   slots inline (`SlotVec`, see `slots.rs`);
//! - running tasks are indexed by task in an `imbl::OrdMap`;
//! - a working copy that [`CellState::assume`]s claims keeps the machines it changed in a
//!   small write buffer of its own (`Draft`, see `draft.rs`) instead of copying vector paths.
//!
//! Two ways to change a state, one implementation:
//! - `commit`, `release_all`, `fail_machine`, `recover_machine` (and the resizes) take
//!   `&self`, leave it untouched and return a new state;
//! - `commit_in_place`, `release_all_in_place`, `fail_machine_in_place` and
//!   `recover_machine_in_place` take `&mut self` and change it, for the one owner of the
//!   current state (a simulator, a journal). They write like `Arc::make_mut`, as a
//!   transient: a vector node, a task list or a placement-index node that no other state
//!   shares is changed where it is, and one a snapshot still shares is copied first, so
//!   snapshots never change. The `&self` forms are an O(1) clone followed by the in-place
//!   form (where everything is shared, so every write copies: the classic path copy).
//!
//! Operations that cannot finish leave the state as it was: a gang commit that aborts is
//! undone claim by claim, newest first, and a release naming a task that does not run puts
//! back the tasks it took out (versions and the sequence number move only at the end).

use std::collections::BTreeMap;
use std::sync::Arc;

use imbl::OrdMap;
use smallvec::SmallVec;

use crate::draft::Draft;
use crate::slots::SlotVec;
use crate::{
    Applied, Claim, Commit, CommitMode, Conflict, ConflictMode, CoreError, FailureDomain,
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
/// Cloning is O(1) whatever the cell size: that clone is a scheduler's snapshot. A change
/// either returns a new `CellState` (`commit`, `release_all`, ...) or is made in place by
/// the state's owner (`commit_in_place`, `release_all_in_place`, ...); either way, old
/// snapshots never change.
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
    tasks: TaskList,
}

impl Slot {
    /// A slot in `state` with no tasks.
    pub(crate) fn empty(state: MachineState) -> Self {
        Self {
            state,
            tasks: Arc::default(),
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
        if let Some(draft) = &self.draft
            && let Some(p) = draft.placement(task)
        {
            return Some(p);
        }
        self.placements.get(&task)
    }

    /// Number of running tasks.
    pub fn task_count(&self) -> usize {
        self.placements.len() + self.draft.as_ref().map_or(0, |d| d.placed().len())
    }

    /// Every running task and its placement, in task order.
    pub fn running_tasks(&self) -> impl Iterator<Item = (TaskId, Placement)> + '_ {
        let indexed = self.placements.iter().map(|(t, p)| (*t, *p)).peekable();
        let drafted = self
            .draft
            .iter()
            .flat_map(|d| d.placed().iter().copied())
            .peekable();
        MergeByTask { indexed, drafted }
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
        for &(task, p) in draft.placed() {
            self.placements.insert(task, p);
        }
    }

    /// Machine `idx`'s slot, to change in place: in the draft if this state has one (a
    /// working copy; the slot is copied into the draft first), else in the persistent
    /// vector, whose path to it is copied only where another state shares it.
    fn slot_mut(&mut self, idx: usize) -> Option<&mut Slot> {
        match &mut self.draft {
            Some(draft) => {
                let draft = Arc::make_mut(draft);
                if draft.get(idx as u32).is_none() {
                    draft.put(idx as u32, self.states.get(idx)?.clone());
                }
                draft.get_mut(idx as u32)
            }
            None => self.states.get_mut(idx),
        }
    }

    // ----- commits -------------------------------------------------------------------

    /// Commits `txn` against this state (see the crate docs for the rules) and returns the
    /// new state with the outcome; `self` is left as it was.
    ///
    /// Each claim is checked in order — machine exists and is up, then (coarse mode) its
    /// version equals `seen_version`, then its victims still run there at lower priority,
    /// then it fits — against this state plus the claims of `txn` accepted before it. Every
    /// machine an accepted claim touched gets its version bumped once (under every
    /// [`VersionPolicy`]; the victims a claim preempts run on its machine, so they need no
    /// bump of their own), and the sequence number grows by one, if anything was accepted.
    ///
    /// This is [`CellState::commit_in_place`] on an O(1) clone: the new state shares
    /// everything it did not change with `self`, and copies what it changed.
    #[must_use = "the committed state lives only in the returned Commit: dropping it loses the commit"]
    pub fn commit(&self, txn: &Transaction) -> Commit {
        let mut next = self.clone();
        let applied = next.commit_in_place(txn);
        applied.with_state(next)
    }

    /// Commits `txn` into this state itself: the same rules, outcome and resulting state
    /// as [`CellState::commit`], without making a second state. A gang transaction that
    /// aborts, or one of which nothing is accepted, leaves `self` as it was.
    ///
    /// The writes go in place wherever this state is the only owner of what they change
    /// (vector nodes, a machine's task list, placement-index nodes, like `Arc::make_mut`),
    /// and copy only what a snapshot still shares: snapshots taken before never change.
    /// A simulator that holds the one current state commits this way.
    ///
    /// ```
    /// use omega_core::*;
    /// let mut cell = CellState::new([Machine::new("A", 8_000, 16_384, FailureDomain(0))])?;
    /// let snapshot = cell.clone();
    /// let mut txn = Transaction::new(JobId(1));
    /// txn.push(Claim::new(TaskId::new(JobId(1), 0), MachineId(0), Resources::new(2_000, 0, 1_024), 0));
    /// txn.push(Claim::new(TaskId::new(JobId(1), 1), MachineId(0), Resources::new(7_000, 0, 1_024), 0));
    /// let applied = cell.commit_in_place(&txn);
    /// assert_eq!(applied.accepted, vec![0]);
    /// assert_eq!(applied.rejected[0].reason, Conflict::InsufficientResources);
    /// assert_eq!(cell.free(MachineId(0)), Some(Resources::new(6_000, 0, 15_360)));
    /// assert_eq!((cell.machine(MachineId(0)).unwrap().version(), cell.seq()), (1, 1));
    /// // The snapshot taken before is untouched.
    /// assert_eq!(snapshot.free(MachineId(0)), Some(Resources::new(8_000, 0, 16_384)));
    /// # Ok::<(), CoreError>(())
    /// ```
    #[must_use = "the returned Applied is the only record of which claims were refused"]
    pub fn commit_in_place(&mut self, txn: &Transaction) -> Applied {
        self.write_back();
        let coarse = txn.conflicts == ConflictMode::Coarse;
        let mut applied = Applied {
            accepted: Vec::with_capacity(txn.claims.len()),
            rejected: Vec::new(),
            preempted: Vec::new(),
            aborted: false,
        };
        // Per accepted claim: where its victims start in `applied.preempted`.
        let mut victims_from: SmallVec<[usize; 16]> = SmallVec::new();
        for (index, claim) in txn.claims.iter().enumerate() {
            let from = applied.preempted.len();
            match self.apply_claim(claim, coarse, &mut applied.preempted) {
                Ok(()) => {
                    applied.accepted.push(index);
                    victims_from.push(from);
                }
                Err(reason) => applied.rejected.push(Rejection {
                    claim: index,
                    task: claim.task,
                    machine: claim.machine,
                    reason,
                }),
            }
        }
        if txn.commit == CommitMode::Gang && !applied.rejected.is_empty() {
            self.undo_claims(
                txn,
                &applied.accepted,
                &victims_from,
                &mut applied.preempted,
            );
            applied.accepted.clear();
            applied.aborted = true;
            return applied;
        }
        if applied.accepted.is_empty() {
            return applied;
        }
        let mut touched: SmallVec<[MachineId; 16]> = applied
            .accepted
            .iter()
            .map(|&i| txn.claims[i].machine)
            .collect();
        self.bump_each(&mut touched);
        self.seq += 1;
        applied
    }

    /// Takes back accepted claims of `txn` (an aborted gang), newest first: each claim's
    /// task leaves, and the victims it evicted (`evicted[victims_from[k]..]` for the
    /// `k`-th accepted claim) run again. Versions and the sequence number were not touched
    /// yet, so this leaves the state as it was before the transaction.
    fn undo_claims(
        &mut self,
        txn: &Transaction,
        accepted: &[usize],
        victims_from: &[usize],
        evicted: &mut Vec<(TaskId, Placement)>,
    ) {
        for (&index, &from) in accepted.iter().zip(victims_from).rev() {
            self.remove_placement(txn.claims[index].task);
            for (task, placement) in evicted.drain(from..).rev() {
                self.restore(task, placement);
            }
        }
    }

    /// Bumps the version of every machine in `machines` once (duplicates included once).
    fn bump_each(&mut self, machines: &mut [MachineId]) {
        // A few machines (a typical commit): a linear scan beats sorting them.
        if machines.len() <= 32 {
            for i in 0..machines.len() {
                if !machines[..i].contains(&machines[i]) {
                    self.bump(machines[i]);
                }
            }
            return;
        }
        machines.sort_unstable();
        let mut last = None;
        for &id in machines.iter() {
            if last != Some(id) {
                self.bump(id);
                last = Some(id);
            }
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
        self.apply_claim(claim, false, &mut evicted)
    }

    /// Checks one claim against `self` and applies it in place; `coarse` also compares
    /// the claim's seen version with the machine's (versions do not move while a
    /// transaction's claims are applied, so the machine's version is the one from before
    /// the transaction).
    fn apply_claim(
        &mut self,
        claim: &Claim,
        coarse: bool,
        evicted: &mut Vec<(TaskId, Placement)>,
    ) -> Result<(), Conflict> {
        let idx = claim.machine.0 as usize;
        let Some(slot) = self.slot(idx) else {
            return Err(Conflict::MachineMissing);
        };
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
        if self.draft.is_some() {
            return self.assume_claim(claim, state, per_device, placement, evicted);
        }
        // Index the task first: one descent of the map both finds a task already placed
        // and inserts it; a claim refused below takes the entry out again.
        if let Some(previous) = self.placements.insert(claim.task, placement) {
            self.placements.insert(claim.task, previous);
            return Err(Conflict::Invalid(InvalidClaim::TaskAlreadyPlaced));
        }
        if let Err(reason) = self.check_claim(claim, state, per_device, coarse) {
            self.placements.remove(&claim.task);
            return Err(reason);
        }
        for victim in &claim.preempts {
            if let Some(p) = self.remove_placement(*victim) {
                evicted.push((*victim, p));
            }
        }
        self.place(claim.task, placement, per_device);
        Ok(())
    }

    /// [`Self::apply_claim`] on a working copy: the task goes into the draft's placed
    /// tasks, not the shared index (the same checks, in the same order).
    fn assume_claim(
        &mut self,
        claim: &Claim,
        state: MachineState,
        per_device: u16,
        placement: Placement,
        evicted: &mut Vec<(TaskId, Placement)>,
    ) -> Result<(), Conflict> {
        if self.placement(claim.task).is_some() {
            return Err(Conflict::Invalid(InvalidClaim::TaskAlreadyPlaced));
        }
        self.check_claim(claim, state, per_device, false)?;
        for victim in &claim.preempts {
            if let Some(p) = self.remove_placement(*victim) {
                evicted.push((*victim, p));
            }
        }
        if let Some(draft) = self.draft.as_mut() {
            Arc::make_mut(draft).place(claim.task, placement);
        }
        self.place(claim.task, placement, per_device);
        Ok(())
    }

    /// The checks of a claim after existence and shape, in order: version (when `coarse`),
    /// victims, resources. `state` is the machine's state in `self`.
    fn check_claim(
        &self,
        claim: &Claim,
        state: MachineState,
        per_device: u16,
        coarse: bool,
    ) -> Result<(), Conflict> {
        if coarse && state.version != claim.seen_version {
            return Err(Conflict::VersionChanged);
        }
        // Victims: distinct, running on this machine, strictly lower priority (the claim's
        // own task, indexed already, has the claim's priority and so never qualifies).
        let mut freed = Resources::ZERO;
        let mut gpu_free = state.gpu_free_milli;
        for (i, victim) in claim.preempts.iter().enumerate() {
            let placement = self.placement(*victim);
            let ok = claim.preempts[..i].iter().all(|v| v != victim)
                && placement
                    .is_some_and(|p| p.machine == claim.machine && p.priority < claim.priority);
            let Some(p) = placement.filter(|_| ok) else {
                return Err(Conflict::VictimGone);
            };
            freed = freed.checked_add(&p.resources).unwrap_or(freed);
            give_back(&mut gpu_free, p);
        }
        let capacity = self.table.machines[claim.machine.0 as usize].capacity;
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

    /// Puts an indexed task on its machine: slot and totals (the caller indexed it in
    /// `placements`), written in place.
    fn place(&mut self, task: TaskId, p: Placement, per_device: u16) {
        let Some(s) = self.slot_mut(p.machine.0 as usize) else {
            return;
        };
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
        insert_task(&mut s.tasks, at, (task, p));
        self.allocated = self
            .allocated
            .checked_add(&p.resources)
            .unwrap_or(self.allocated);
    }

    /// Runs a task that was removed again, exactly as it ran (undoing an operation that
    /// cannot finish).
    fn restore(&mut self, task: TaskId, p: Placement) {
        match self.draft.as_mut() {
            Some(draft) => {
                Arc::make_mut(draft).place(task, p);
            }
            None => {
                self.placements.insert(task, p);
            }
        }
        self.place(task, p, per_device_milli(&p));
    }

    /// Removes a running task and gives its resources back; no version bump.
    fn remove_placement(&mut self, task: TaskId) -> Option<Placement> {
        let drafted = self
            .draft
            .as_mut()
            .filter(|d| d.placement(task).is_some())
            .and_then(|d| Arc::make_mut(d).unplace(task));
        let p = match drafted {
            Some(p) => p,
            None => self.placements.remove(&task)?,
        };
        if let Some(s) = self.slot_mut(p.machine.0 as usize) {
            s.state.allocated = s.state.allocated.saturating_sub(&p.resources);
            give_back(&mut s.state.gpu_free_milli, &p);
            remove_task(&mut s.tasks, task);
        }
        self.allocated = self.allocated.saturating_sub(&p.resources);
        Some(p)
    }

    fn bump(&mut self, id: MachineId) {
        if let Some(s) = self.slot_mut(id.0 as usize) {
            s.state.version += 1;
        }
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
    /// releases. Fails, changing nothing, if any task is not running (or is named twice).
    /// Returns the new state; `self` is left as it was ([`CellState::release_all_in_place`]
    /// on an O(1) clone).
    pub fn release_all(
        &self,
        tasks: impl IntoIterator<Item = TaskId>,
    ) -> Result<(CellState, Vec<(TaskId, Placement)>), CoreError> {
        let mut next = self.clone();
        let released = next.release_all_in_place(tasks)?;
        Ok((next, released))
    }

    /// Ends several tasks at once in this state itself, with the rules and result of
    /// [`CellState::release_all`]: written in place where nothing else shares what
    /// changes. On an error (a task not running, or named twice) `self` is left as it
    /// was. Returns each task with where it ran, in the order given.
    ///
    /// ```
    /// use omega_core::*;
    /// let mut cell = CellState::new([Machine::new("A", 8_000, 16_384, FailureDomain(0))])?;
    /// let task = |i| TaskId::new(JobId(1), i);
    /// let mut txn = Transaction::new(JobId(1));
    /// for i in 0..2 {
    ///     txn.push(Claim::new(task(i), MachineId(0), Resources::new(1_000, 0, 1_024), 0));
    /// }
    /// cell.commit_in_place(&txn);
    /// let snapshot = cell.clone();
    /// assert_eq!(cell.release_all_in_place([task(0), task(7)]),
    ///            Err(CoreError::UnknownTask(task(7))));
    /// assert_eq!(cell.task_count(), 2); // nothing changed
    /// let released = cell.release_all_in_place([task(1), task(0)])?;
    /// assert_eq!(released.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [task(1), task(0)]);
    /// assert_eq!((cell.task_count(), cell.seq()), (0, 2));
    /// assert_eq!(snapshot.task_count(), 2); // the snapshot still sees both
    /// # Ok::<(), CoreError>(())
    /// ```
    pub fn release_all_in_place(
        &mut self,
        tasks: impl IntoIterator<Item = TaskId>,
    ) -> Result<Vec<(TaskId, Placement)>, CoreError> {
        self.write_back();
        let mut released: Vec<(TaskId, Placement)> = Vec::new();
        for task in tasks {
            let Some(p) = self.remove_placement(task) else {
                for (task, p) in released.into_iter().rev() {
                    self.restore(task, p);
                }
                return Err(CoreError::UnknownTask(task));
            };
            released.push((task, p));
        }
        if released.is_empty() {
            return Ok(released);
        }
        if self.version_policy.bumps_on_release() {
            let mut touched: SmallVec<[MachineId; 16]> =
                released.iter().map(|(_, p)| p.machine).collect();
            self.bump_each(&mut touched);
        }
        self.seq += 1;
        Ok(released)
    }

    /// Marks machine `id` failed: every task on it is evicted (and returned), its
    /// allocation drops to zero, its version is bumped and it rejects claims until it
    /// recovers. Returns the new state; `self` is left as it was.
    pub fn fail_machine(
        &self,
        id: MachineId,
    ) -> Result<(CellState, Vec<(TaskId, Placement)>), CoreError> {
        let mut next = self.clone();
        let evicted = next.fail_machine_in_place(id)?;
        Ok((next, evicted))
    }

    /// [`CellState::fail_machine`] in this state itself, written in place where nothing
    /// else shares what changes; on an error `self` is left as it was.
    ///
    /// ```
    /// use omega_core::*;
    /// let mut cell = CellState::new([Machine::new("A", 8_000, 16_384, FailureDomain(0))])?;
    /// let mut txn = Transaction::new(JobId(1));
    /// txn.push(Claim::new(TaskId::new(JobId(1), 0), MachineId(0), Resources::new(1_000, 0, 1_024), 0));
    /// cell.commit_in_place(&txn);
    /// let evicted = cell.fail_machine_in_place(MachineId(0))?;
    /// assert_eq!(evicted.len(), 1);
    /// assert_eq!(cell.fail_machine_in_place(MachineId(0)), Err(CoreError::AlreadyDown(MachineId(0))));
    /// cell.recover_machine_in_place(MachineId(0))?;
    /// assert_eq!(cell.machine(MachineId(0)).unwrap().version(), 3); // claim, failure, recovery
    /// assert_eq!(cell.free(MachineId(0)), Some(Resources::new(8_000, 0, 16_384)));
    /// # Ok::<(), CoreError>(())
    /// ```
    pub fn fail_machine_in_place(
        &mut self,
        id: MachineId,
    ) -> Result<Vec<(TaskId, Placement)>, CoreError> {
        let state = self.live_state(id)?;
        if state.status == MachineStatus::Down {
            return Err(CoreError::AlreadyDown(id));
        }
        self.write_back();
        let evicted = self.evict_all(id);
        self.set_status(id, MachineStatus::Down);
        Ok(evicted)
    }

    /// Brings failed machine `id` back up, empty, with its version bumped. Returns the new
    /// state; `self` is left as it was.
    pub fn recover_machine(&self, id: MachineId) -> Result<CellState, CoreError> {
        let mut next = self.clone();
        next.recover_machine_in_place(id)?;
        Ok(next)
    }

    /// [`CellState::recover_machine`] in this state itself (see
    /// [`CellState::fail_machine_in_place`] for an example); on an error `self` is left as
    /// it was.
    pub fn recover_machine_in_place(&mut self, id: MachineId) -> Result<(), CoreError> {
        let state = self.live_state(id)?;
        if state.status != MachineStatus::Down {
            return Err(CoreError::NotDown(id));
        }
        self.write_back();
        self.set_status(id, MachineStatus::Up);
        self.seq += 1;
        Ok(())
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
        let mut next = self.clone();
        next.write_back();
        let evicted = next.evict_all(id);
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

    /// Evicts every task on `id`, in task order, and steps the sequence number (no bump:
    /// the caller's status change bumps). Returns the evicted tasks.
    fn evict_all(&mut self, id: MachineId) -> Vec<(TaskId, Placement)> {
        debug_assert!(
            self.draft.is_none(),
            "evict_all on a working copy with a draft"
        );
        let Some(slot) = self.slot_mut(id.0 as usize) else {
            return Vec::new();
        };
        let mut evicted = take_tasks(&mut slot.tasks);
        slot.state.allocated = Resources::ZERO;
        // The slot's list and the index hold the same tasks; the index is the authority.
        evicted.retain(|(t, _)| self.placements.remove(t).is_some());
        if let Some(slot) = self.slot_mut(id.0 as usize) {
            for (_, p) in &evicted {
                give_back(&mut slot.state.gpu_free_milli, p);
            }
        }
        for (_, p) in &evicted {
            self.allocated = self.allocated.saturating_sub(&p.resources);
        }
        self.seq += 1;
        evicted
    }

    /// Sets a machine's status, keeping the up-capacity total in step, and bumps it (under
    /// every [`VersionPolicy`]: a status change always counts).
    fn set_status(&mut self, id: MachineId, status: MachineStatus) {
        let capacity = self.table.machines[id.0 as usize].capacity;
        let Some(slot) = self.slot_mut(id.0 as usize) else {
            return;
        };
        let was_up = slot.state.status == MachineStatus::Up;
        slot.state.status = status;
        slot.state.version += 1;
        let is_up = status == MachineStatus::Up;
        if was_up && !is_up {
            self.capacity_up = self.capacity_up.saturating_sub(&capacity);
        } else if !was_up && is_up {
            self.capacity_up = self.capacity_up.checked_add(&capacity).unwrap_or(capacity);
        }
    }
}

/// A machine's running tasks with their placements, sorted by task; shared between states
/// until one of them changes it (then copied, or changed in place if not shared).
type TaskList = Arc<Vec<(TaskId, Placement)>>;

/// Inserts `entry` at `at` in a task list: in place if no other state shares the list,
/// else into one new list of exactly the new size (the shared one stays as it was).
fn insert_task(tasks: &mut TaskList, at: usize, entry: (TaskId, Placement)) {
    if let Some(list) = Arc::get_mut(tasks) {
        list.insert(at, entry);
        return;
    }
    let mut list = Vec::with_capacity(tasks.len() + 1);
    list.extend_from_slice(&tasks[..at]);
    list.push(entry);
    list.extend_from_slice(&tasks[at..]);
    *tasks = Arc::new(list);
}

/// Removes `task` from a task list, in place if no other state shares the list.
fn remove_task(tasks: &mut TaskList, task: TaskId) {
    let Ok(at) = tasks.binary_search_by_key(&task, |e| e.0) else {
        return;
    };
    if let Some(list) = Arc::get_mut(tasks) {
        list.remove(at);
        return;
    }
    let mut list = Vec::with_capacity(tasks.len() - 1);
    list.extend_from_slice(&tasks[..at]);
    list.extend_from_slice(&tasks[at + 1..]);
    *tasks = Arc::new(list);
}

/// Empties a task list and returns what it held (moved out if not shared, else copied).
fn take_tasks(tasks: &mut TaskList) -> Vec<(TaskId, Placement)> {
    match Arc::get_mut(tasks) {
        Some(list) => std::mem::take(list),
        None => {
            let list = tasks.to_vec();
            *tasks = Arc::default();
            list
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
    let per_device = per_device_milli(p);
    for d in p.gpus.iter() {
        let free = &mut gpu_free[usize::from(d)];
        *free = free
            .saturating_add(per_device)
            .min(GPU_MILLI_PER_DEVICE as u16);
    }
}

/// How many milli-GPU a placement holds on each of its devices.
fn per_device_milli(p: &Placement) -> u16 {
    match p.resources.gpu_request() {
        Some(GpuRequest::Fraction(m)) => m,
        Some(GpuRequest::Whole(_)) => GPU_MILLI_PER_DEVICE as u16,
        _ => 0,
    }
}

/// The running tasks of a working copy in task order: the shared index merged with the
/// tasks its draft placed (no task is in both).
struct MergeByTask<A: Iterator<Item = (TaskId, Placement)>, B: Iterator<Item = (TaskId, Placement)>>
{
    indexed: std::iter::Peekable<A>,
    drafted: std::iter::Peekable<B>,
}

impl<A, B> Iterator for MergeByTask<A, B>
where
    A: Iterator<Item = (TaskId, Placement)>,
    B: Iterator<Item = (TaskId, Placement)>,
{
    type Item = (TaskId, Placement);

    fn next(&mut self) -> Option<Self::Item> {
        match (self.indexed.peek(), self.drafted.peek()) {
            (Some(a), Some(b)) if b.0 < a.0 => self.drafted.next(),
            (Some(_), _) => self.indexed.next(),
            (None, _) => self.drafted.next(),
        }
    }
}
