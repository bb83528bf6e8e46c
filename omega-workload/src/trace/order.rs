//! The submit-order buffer every trace stream emits through: jobs go in as they are
//! finished, in any order; they come out by `(submit_at_us, id)`, ties in the order they
//! went in (what a stable sort of the collected jobs gives), once the caller says no job
//! submitted earlier can still come.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use omega_core::Job;

/// A job with its sort key: `(submit_at_us, id, arrival number)`.
#[derive(Debug)]
struct Keyed {
    key: (u64, u64, u64),
    job: Job,
}

impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Keyed {}

impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Keyed {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// Jobs waiting for their turn in submit order (a min-heap), and the most held at once.
#[derive(Debug, Default)]
pub(crate) struct SubmitOrder {
    heap: BinaryHeap<Reverse<Keyed>>,
    pushed: u64,
    peak: usize,
}

impl SubmitOrder {
    /// Adds a finished job.
    pub(crate) fn push(&mut self, job: Job) {
        let key = (job.submit_at_us, job.id.0, self.pushed);
        self.pushed += 1;
        self.heap.push(Reverse(Keyed { key, job }));
        self.peak = self.peak.max(self.heap.len());
    }

    /// The earliest job if it was submitted before `bound_us` (every job still to come is
    /// submitted at `bound_us` or later), removed.
    pub(crate) fn pop_before(&mut self, bound_us: u64) -> Option<Job> {
        let Reverse(top) = self.heap.peek()?;
        if top.key.0 < bound_us {
            self.heap.pop().map(|Reverse(k)| k.job)
        } else {
            None
        }
    }

    /// The earliest job, whatever its time (the input is over).
    pub(crate) fn pop(&mut self) -> Option<Job> {
        self.heap.pop().map(|Reverse(k)| k.job)
    }

    /// Jobs held now.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The most jobs held at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }
}
