//! `SlotVec`: the persistent vector of machine slots, 16-way, with the slots stored inline
//! in their leaves.
//!
//! `rpds::Vector` keeps every element behind its own shared pointer and every node's
//! children behind a `Vec`, so reading machine `m` follows about two pointers a level plus
//! one for the element, and a scan in id order jumps across the heap. Schedulers read
//! machine states far more often than commits write them (a service scheduler in a full
//! cell reads every machine on each attempt), so this vector keeps sixteen slots inline in
//! each leaf and sixteen children inline in each branch: one pointer a level, and a scan
//! reads leaves front to back. Writes copy the path from the root as before (copy on
//! write with `Arc::make_mut`), without allocating the element.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::cell::Slot;

/// Bits of the index each level consumes.
const BITS: u32 = 4;
/// Children per branch and slots per leaf.
const WIDTH: usize = 1 << BITS;
/// Mask of one level's bits.
const MASK: usize = WIDTH - 1;

/// A node below a branch.
#[derive(Clone, Debug)]
enum Child {
    Branch(Arc<Branch>),
    Leaf(Arc<Leaf>),
}

/// Up to sixteen children, filled from the left.
#[derive(Clone, Debug, Default)]
struct Branch {
    children: [Option<Child>; WIDTH],
}

/// Up to sixteen slots, filled from the left.
#[derive(Clone, Debug, Default)]
struct Leaf {
    slots: [Option<Slot>; WIDTH],
}

/// A persistent vector of slots: O(1) clone, O(log₁₆ n) get, set and push.
#[derive(Clone, Debug)]
pub(crate) struct SlotVec {
    root: Child,
    /// Levels of branches above the leaves (0: the root is a leaf).
    height: u32,
    len: usize,
}

impl Default for SlotVec {
    fn default() -> Self {
        Self {
            root: Child::Leaf(Arc::default()),
            height: 0,
            len: 0,
        }
    }
}

impl SlotVec {
    /// How many slots a tree of this height holds.
    fn capacity(&self) -> usize {
        1usize
            .checked_shl(BITS * (self.height + 1))
            .unwrap_or(usize::MAX)
    }

    /// Slot `idx`, if it exists.
    #[inline]
    pub(crate) fn get(&self, idx: usize) -> Option<&Slot> {
        if idx >= self.len {
            return None;
        }
        let mut node = &self.root;
        let mut shift = BITS * self.height;
        loop {
            let i = (idx >> shift) & MASK;
            match node {
                Child::Branch(b) => {
                    node = b.children[i].as_ref()?;
                    shift -= BITS;
                }
                Child::Leaf(l) => return l.slots[i].as_ref(),
            }
        }
    }

    /// Slot `idx`, to change in place, if it exists. Nodes on its path shared with other
    /// vectors are copied first (`Arc::make_mut`); nodes this vector owns alone are not.
    #[inline]
    pub(crate) fn get_mut(&mut self, idx: usize) -> Option<&mut Slot> {
        if idx >= self.len {
            return None;
        }
        self.slot_mut(idx).as_mut()
    }

    /// Replaces slot `idx`; false (and no change) if it does not exist. Nodes shared with
    /// other vectors are copied, nodes this vector owns alone are changed in place.
    pub(crate) fn set(&mut self, idx: usize, slot: Slot) -> bool {
        if idx >= self.len {
            return false;
        }
        *self.slot_mut(idx) = Some(slot);
        true
    }

    /// Appends a slot.
    pub(crate) fn push(&mut self, slot: Slot) {
        if self.len == self.capacity() {
            let old = std::mem::replace(&mut self.root, Child::Leaf(Arc::default()));
            let mut branch = Branch::default();
            branch.children[0] = Some(old);
            self.root = Child::Branch(Arc::new(branch));
            self.height += 1;
        }
        let idx = self.len;
        self.len += 1;
        *self.slot_mut(idx) = Some(slot);
    }

    /// The place of slot `idx` (below `len`), creating missing nodes on the way and
    /// copying shared ones.
    fn slot_mut(&mut self, idx: usize) -> &mut Option<Slot> {
        let mut node = &mut self.root;
        let mut level = self.height;
        loop {
            let i = (idx >> (BITS * level)) & MASK;
            match node {
                Child::Branch(b) => {
                    node = Arc::make_mut(b).children[i].get_or_insert_with(|| {
                        if level == 1 {
                            Child::Leaf(Arc::default())
                        } else {
                            Child::Branch(Arc::default())
                        }
                    });
                    level -= 1;
                }
                Child::Leaf(l) => return &mut Arc::make_mut(l).slots[i],
            }
        }
    }

    /// Every slot in index order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        let mut iter = Iter {
            stack: SmallVec::new(),
            leaf: None,
            left: self.len,
        };
        match &self.root {
            Child::Branch(b) => iter.stack.push((&**b, 0)),
            Child::Leaf(l) => iter.leaf = Some((&**l, 0)),
        }
        iter
    }
}

/// The slots of a [`SlotVec`] in index order: a walk down the tree with a stack of the
/// branches above the current leaf.
#[derive(Debug)]
pub(crate) struct Iter<'a> {
    /// Branches from the root down, each with the index of its next child.
    stack: SmallVec<[(&'a Branch, usize); 8]>,
    /// The current leaf and the index of its next slot.
    leaf: Option<(&'a Leaf, usize)>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Slot;

    fn next(&mut self) -> Option<&'a Slot> {
        if self.left == 0 {
            return None;
        }
        loop {
            if let Some((leaf, i)) = &mut self.leaf {
                if let Some(Some(slot)) = leaf.slots.get(*i) {
                    *i += 1;
                    self.left -= 1;
                    return Some(slot);
                }
                self.leaf = None;
            }
            let (branch, i) = self.stack.last_mut()?;
            let child = branch.children.get(*i).and_then(Option::as_ref);
            *i += 1;
            match child {
                None => {
                    self.stack.pop();
                }
                Some(Child::Branch(b)) => self.stack.push((&**b, 0)),
                Some(Child::Leaf(l)) => self.leaf = Some((&**l, 0)),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::SlotVec;
    use crate::cell::Slot;
    use crate::{FailureDomain, Machine, MachineState};

    fn slot(version: u64) -> Slot {
        let mut state = MachineState::fresh(&Machine::new("A", 1, 1, FailureDomain(0)));
        state.version = version;
        Slot::empty(state)
    }

    fn versions(v: &SlotVec) -> Vec<u64> {
        v.iter().map(|s| s.state.version).collect()
    }

    proptest::proptest! {
        /// Random pushes and writes, with clones kept along the way, against plain vectors:
        /// every vector reads back as its model, in `get` and in `iter`.
        #[test]
        fn agrees_with_a_plain_vector(ops in proptest::collection::vec((0u8..3, 0usize..600), 1..400)) {
            let mut v = SlotVec::default();
            let mut model: Vec<u64> = Vec::new();
            let mut kept: Vec<(SlotVec, Vec<u64>)> = Vec::new();
            for (step, (op, at)) in ops.into_iter().enumerate() {
                let version = step as u64;
                match op {
                    0 => {
                        v.push(slot(version));
                        model.push(version);
                    }
                    1 => {
                        let ok = v.set(at, slot(version));
                        proptest::prop_assert_eq!(ok, at < model.len());
                        if ok {
                            model[at] = version;
                        }
                    }
                    _ => kept.push((v.clone(), model.clone())),
                }
            }
            kept.push((v, model));
            for (v, model) in &kept {
                proptest::prop_assert_eq!(&versions(v), model);
                for (i, want) in model.iter().enumerate() {
                    proptest::prop_assert_eq!(v.get(i).map(|s| s.state.version), Some(*want));
                }
                proptest::prop_assert!(v.get(model.len()).is_none());
                proptest::prop_assert_eq!(v.iter().size_hint(), (model.len(), Some(model.len())));
            }
        }
    }

    /// Pushes across several heights, reads every slot back, and checks that writes to a
    /// clone leave the original alone (and the other way round).
    #[test]
    fn push_get_set_and_persistence() {
        let mut v = SlotVec::default();
        assert!(v.get(0).is_none() && v.iter().next().is_none());
        let n = 16 * 16 * 16 + 37; // four levels
        for i in 0..n {
            v.push(slot(i));
            assert_eq!(v.get(i as usize).map(|s| s.state.version), Some(i));
        }
        assert!(v.get(n as usize).is_none());
        assert_eq!(versions(&v), (0..n).collect::<Vec<_>>());
        let before = v.clone();
        let mut after = v.clone();
        for i in (0..n).step_by(7) {
            assert!(after.set(i as usize, slot(i + 1_000_000)));
        }
        assert!(!after.set(n as usize, slot(0)));
        after.push(slot(7));
        v.set(1, slot(42));
        for i in 0..n {
            let want = if i % 7 == 0 { i + 1_000_000 } else { i };
            assert_eq!(after.get(i as usize).map(|s| s.state.version), Some(want));
            let want = if i == 1 { 42 } else { i };
            assert_eq!(v.get(i as usize).map(|s| s.state.version), Some(want));
        }
        assert_eq!(versions(&before), (0..n).collect::<Vec<_>>());
        assert_eq!(after.iter().count(), n as usize + 1);
        assert_eq!(after.get(n as usize).map(|s| s.state.version), Some(7));
    }
}
