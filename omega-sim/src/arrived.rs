//! The job ids that have arrived so far, kept as disjoint ranges, so the engine can tell a
//! dependency on a job that already ended from one on a job that never arrived.
//!
//! Generated streams and traces number jobs densely, so a whole run is a handful of ranges
//! however many jobs it has: memory stays O(ranges), not O(jobs).

use std::collections::BTreeMap;

use omega_core::JobId;

/// A set of job ids as disjoint, non-adjacent half-open ranges `[start, end)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ArrivedIds {
    /// `start → end` (exclusive); no two ranges touch or overlap.
    ranges: BTreeMap<u64, u64>,
}

impl ArrivedIds {
    /// Adds `id`, merging it with the ranges it touches.
    pub(crate) fn insert(&mut self, id: JobId) {
        let id = id.0;
        if self.contains(JobId(id)) {
            return;
        }
        let mut start = id;
        let mut end = id.saturating_add(1);
        if let Some((&s, &e)) = self.ranges.range(..=id).next_back()
            && e == id
        {
            start = s;
            self.ranges.remove(&s);
        }
        if let Some(e) = self.ranges.remove(&end) {
            end = e;
        }
        self.ranges.insert(start, end);
    }

    /// True if `id` has arrived.
    pub(crate) fn contains(&self, id: JobId) -> bool {
        self.ranges
            .range(..=id.0)
            .next_back()
            .is_some_and(|(_, &end)| id.0 < end)
    }

    /// How many ranges hold the ids (the set's memory).
    #[cfg(test)]
    pub(crate) fn ranges(&self) -> usize {
        self.ranges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dense_ids_are_one_range() {
        let mut a = ArrivedIds::default();
        for id in (0..1_000).rev() {
            a.insert(JobId(id));
        }
        assert_eq!(a.ranges(), 1);
        assert!(a.contains(JobId(0)) && a.contains(JobId(999)));
        assert!(!a.contains(JobId(1_000)));
    }

    proptest! {
        #[test]
        fn agrees_with_a_set(ids in proptest::collection::vec(0u64..64, 0..100), probe in 0u64..70) {
            let mut a = ArrivedIds::default();
            let mut oracle = std::collections::BTreeSet::new();
            for id in ids {
                a.insert(JobId(id));
                oracle.insert(id);
            }
            prop_assert_eq!(a.contains(JobId(probe)), oracle.contains(&probe));
            // Ranges are maximal: one per run of consecutive ids.
            let runs = oracle.iter().filter(|&&i| i == 0 || !oracle.contains(&(i - 1))).count();
            prop_assert_eq!(a.ranges(), runs);
        }
    }
}
