//! `Draft`: the write buffer of a working copy.
//!
//! A scheduler places a job on an O(1) clone of its snapshot and applies each claim to it
//! with [`CellState::assume`](crate::CellState::assume), so the next task sees the claim.
//! Written straight into the persistent machine vector, every such claim would copy the
//! vector's path to its machine (four nodes of sixteen at 10k machines) and free those
//! copies again when the working copy is dropped: three quarters of a batch decision's time.
//! `assume` writes the machine's new slot here instead, a flat sorted buffer owned by the
//! working copy, and every read looks here first. Operations that make a new state
//! (`commit`, `release_all`, failures, ...) write the buffer back first, so states that
//! come out of them never carry one.
//!
//! Reads that miss the buffer, the common case, cost one bit test: a 256-bit mask of the
//! machine ids it holds (id mod 256) answers "certainly not here" without a search.

use crate::TaskId;
use crate::cell::{Placement, Slot};

/// Machine slots changed by `assume` and not yet written into the persistent vector.
#[derive(Clone, Debug, Default)]
pub(crate) struct Draft {
    /// Bit `id % 256` is set if machine `id` may be in the buffer.
    mask: [u64; 4],
    /// (machine id, index into `slots`), sorted by id.
    index: Vec<(u32, u32)>,
    /// The new slots, in the order machines were first changed.
    slots: Vec<Slot>,
    /// Tasks placed by `assume` and not yet in the persistent task index, sorted by task:
    /// inserting them into a shared index would copy its path for every task, only for the
    /// working copy to be dropped.
    placed: Vec<(TaskId, Placement)>,
}

impl Draft {
    /// The buffer is written back once it holds this many machines, so a long-lived
    /// working copy keeps its lookups and its copy-on-clone cost bounded.
    pub(crate) const LIMIT: usize = 1024;

    /// Machine `id`'s slot, if the buffer holds it.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&Slot> {
        let bit = id & 255;
        if self.mask[(bit >> 6) as usize] & (1 << (bit & 63)) == 0 {
            return None;
        }
        let i = self.index.binary_search_by_key(&id, |e| e.0).ok()?;
        self.slots.get(self.index[i].1 as usize)
    }

    /// Machine `id`'s slot, to change in place, if the buffer holds it.
    pub(crate) fn get_mut(&mut self, id: u32) -> Option<&mut Slot> {
        let i = self.index.binary_search_by_key(&id, |e| e.0).ok()?;
        self.slots.get_mut(self.index[i].1 as usize)
    }

    /// Sets machine `id`'s slot.
    pub(crate) fn put(&mut self, id: u32, slot: Slot) {
        match self.index.binary_search_by_key(&id, |e| e.0) {
            Ok(i) => self.slots[self.index[i].1 as usize] = slot,
            Err(i) => {
                let bit = id & 255;
                self.mask[(bit >> 6) as usize] |= 1 << (bit & 63);
                self.index.insert(i, (id, self.slots.len() as u32));
                self.slots.push(slot);
            }
        }
    }

    /// Where task `task`, placed in this buffer, runs.
    pub(crate) fn placement(&self, task: TaskId) -> Option<&Placement> {
        let i = self.placed.binary_search_by_key(&task, |e| e.0).ok()?;
        Some(&self.placed[i].1)
    }

    /// Records task `task` as placed here; false if it already is.
    pub(crate) fn place(&mut self, task: TaskId, p: Placement) -> bool {
        // Tasks of one job are assumed in index order: the end is the common spot.
        if self.placed.last().is_none_or(|last| last.0 < task) {
            self.placed.push((task, p));
            return true;
        }
        match self.placed.binary_search_by_key(&task, |e| e.0) {
            Ok(_) => false,
            Err(i) => {
                self.placed.insert(i, (task, p));
                true
            }
        }
    }

    /// Takes task `task` out of the buffer's placed tasks, if it is there.
    pub(crate) fn unplace(&mut self, task: TaskId) -> Option<Placement> {
        let i = self.placed.binary_search_by_key(&task, |e| e.0).ok()?;
        Some(self.placed.remove(i).1)
    }

    /// The tasks placed here, sorted by task.
    pub(crate) fn placed(&self) -> &[(TaskId, Placement)] {
        &self.placed
    }

    /// Number of machines in the buffer.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The buffered slots with their machine ids, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Slot)> + '_ {
        self.index
            .iter()
            .map(|&(id, at)| (id, &self.slots[at as usize]))
    }
}

#[cfg(test)]
mod tests {
    use crate::{CellState, Claim, FailureDomain, JobId, Machine, MachineId, Resources, TaskId};
    use crate::{Transaction, draft::Draft};

    /// A working copy that touches more machines than the draft holds writes it back and
    /// goes on: every state it passes through equals the committed one (bar versions).
    #[test]
    fn a_long_working_copy_writes_its_draft_back() {
        let n = 2 * Draft::LIMIT as u32 + 300;
        let cell =
            CellState::new((0..n).map(|i| Machine::new("A", 8_000, 16_384, FailureDomain(i))))
                .unwrap();
        let mut local = cell.clone();
        let mut txn = Transaction::new(JobId(1));
        let mut largest_draft = 0;
        let mut halfway = None;
        for i in 0..n {
            // Machines in a scattered order, each twice, so drafts see repeats.
            let m = MachineId((i * 7919) % n);
            for k in 0..2 {
                let task = TaskId::new(JobId(1), 2 * i + k);
                let claim = Claim::new(task, m, Resources::new(1_000, 0, 1_024), 0);
                local.assume(&claim).unwrap();
                txn.push(claim);
                largest_draft = largest_draft.max(local.draft.as_ref().map_or(0, |d| d.len()));
            }
            if i == n / 2 {
                halfway = Some((local.clone(), txn.clone()));
            }
        }
        assert_eq!(largest_draft, Draft::LIMIT);
        let committed = cell.commit(&txn);
        assert_eq!(committed.accepted.len(), 2 * n as usize);
        let committed = committed.state;
        assert_eq!(local.task_count(), committed.task_count());
        assert_eq!(local.allocated(), committed.allocated());
        for m in 0..n {
            let id = MachineId(m);
            let (mine, theirs) = (local.state(id).unwrap(), committed.state(id).unwrap());
            assert_eq!(mine.allocated, theirs.allocated, "allocation of {id}");
            assert!(
                local.tasks_on(id).eq(committed.tasks_on(id)),
                "tasks on {id}"
            );
            assert_eq!((mine.version, theirs.version), (0, 1), "versions of {id}");
        }
        // The clone taken halfway saw only the first half; the snapshot saw nothing.
        let (half, half_txn) = halfway.unwrap();
        assert_eq!(half.task_count(), half_txn.claims.len());
        assert!(
            half_txn
                .claims
                .iter()
                .all(|c| half.placement(c.task).is_some())
        );
        assert_eq!(cell.task_count(), 0);
        assert!(cell.machines().all(|m| m.free() == m.spec.capacity));
    }
}
