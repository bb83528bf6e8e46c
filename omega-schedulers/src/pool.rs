//! `CandidatePool`: the machines the paper's randomized first fit may still draw for a job.
//!
//! The Omega paper's simulator keeps an array of every machine id; a machine drawn that the
//! task does not fit on is swapped with the last candidate and the range shrinks by one.
//! Copying every id for every job would cost O(machines) per decision, so the pool starts as
//! the identity (position `i` holds machine `i`) and stores only the positions a removal has
//! changed: a few pairs inline while they are few, and one flat array of the remaining ids
//! once they are not. A job whose tasks fit where they are drawn allocates nothing.

use omega_core::MachineId;
use rand::RngExt;
use smallvec::SmallVec;

use crate::PolicyRng;

/// How many changed positions are kept as pairs before the pool becomes a flat array.
const SPARSE_LIMIT: usize = 32;

/// The candidate machines of one job's randomized first fit, drawn uniformly.
#[derive(Clone, Debug)]
pub(crate) struct CandidatePool {
    /// Candidates left: positions `0..len`.
    len: u32,
    /// (position, machine) for positions that no longer hold their own id, while sparse.
    moved: SmallVec<[(u32, u32); SPARSE_LIMIT]>,
    /// Every remaining candidate by position, once `moved` outgrew its limit.
    dense: Option<Vec<u32>>,
}

impl CandidatePool {
    /// A pool of machines `0..slots` (the cell's machine ids; down or removed machines are
    /// drawn and dropped like full ones).
    pub(crate) fn new(slots: u32) -> Self {
        Self {
            len: slots,
            moved: SmallVec::new(),
            dense: None,
        }
    }

    /// A uniformly random candidate: its position (for [`remove`](Self::remove)) and id.
    /// `None` if the pool is empty.
    pub(crate) fn draw(&self, rng: &mut PolicyRng) -> Option<(u32, MachineId)> {
        if self.len == 0 {
            return None;
        }
        let at = rng.random_range(0..self.len);
        Some((at, MachineId(self.at(at))))
    }

    /// The machine at position `at` (below `len`).
    fn at(&self, at: u32) -> u32 {
        if let Some(dense) = &self.dense {
            return dense[at as usize];
        }
        self.moved
            .iter()
            .find(|(p, _)| *p == at)
            .map_or(at, |&(_, m)| m)
    }

    /// Takes the candidate at position `at` out of the pool: the last candidate moves into
    /// its place (the simulator's swap-remove).
    pub(crate) fn remove(&mut self, at: u32) {
        assert!(
            at < self.len,
            "position {at} outside a pool of {}",
            self.len
        );
        let last = self.len - 1;
        self.len = last;
        if let Some(dense) = &mut self.dense {
            dense.swap_remove(at as usize);
            return;
        }
        let moved_in = self.at(last);
        self.moved.retain(|(p, _)| *p != last);
        if at == last {
            return;
        }
        if let Some(entry) = self.moved.iter_mut().find(|(p, _)| *p == at) {
            entry.1 = moved_in;
        } else if self.moved.len() < SPARSE_LIMIT {
            self.moved.push((at, moved_in));
        } else {
            // The identity with the moved positions written over it: O(len), no searches.
            let mut dense: Vec<u32> = (0..self.len).collect();
            for &(p, m) in &self.moved {
                dense[p as usize] = m;
            }
            dense[at as usize] = moved_in;
            self.moved.clear();
            self.dense = Some(dense);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    proptest! {
        /// The pool behaves exactly as the simulator's array of every id with swap-remove,
        /// through the switch from pairs to a flat array.
        #[test]
        fn pool_is_an_array_with_swap_remove(
            slots in 0u32..200,
            picks in prop::collection::vec(any::<u32>(), 0..250),
        ) {
            let mut pool = CandidatePool::new(slots);
            let mut array: Vec<u32> = (0..slots).collect();
            for pick in picks {
                prop_assert_eq!(pool.len as usize, array.len());
                if array.is_empty() {
                    break;
                }
                let at = pick % array.len() as u32;
                prop_assert_eq!(pool.at(at), array[at as usize]);
                pool.remove(at);
                array.swap_remove(at as usize);
                for (p, &m) in array.iter().enumerate() {
                    prop_assert_eq!(pool.at(p as u32), m);
                }
            }
        }
    }

    #[test]
    fn draws_are_uniform_over_the_candidates_left() {
        // 10 machines, 4 removed: each of the 6 left drawn 1/6 of 60,000 times, within 5%
        // (about 7 standard deviations of a binomial count of 10,000).
        let mut pool = CandidatePool::new(10);
        for at in [0, 3, 3, 6] {
            pool.remove(at);
        }
        let mut rng = PolicyRng::seed_from_u64(11);
        let mut counts = [0u32; 10];
        for _ in 0..60_000 {
            let (at, m) = pool.draw(&mut rng).unwrap();
            assert_eq!(pool.at(at), m.0);
            counts[m.0 as usize] += 1;
        }
        let drawn: Vec<usize> = (0..10).filter(|&m| counts[m] > 0).collect();
        assert_eq!(drawn.len(), 6, "{counts:?}");
        for m in drawn {
            assert!(counts[m].abs_diff(10_000) <= 500, "{counts:?}");
        }
        let mut empty = CandidatePool::new(0);
        assert!(empty.draw(&mut rng).is_none());
        empty = CandidatePool::new(1);
        empty.remove(0);
        assert!(empty.draw(&mut rng).is_none());
    }
}
