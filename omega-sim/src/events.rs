//! The event queue: what happens next, in simulated time.
//!
//! Events are ordered by `(at_us, seq)`, `seq` counting insertions, so events of equal time
//! run in the order they were scheduled (first scheduled, first run). Time never runs
//! backwards: scheduling an event before the current time is an engine bug and panics with
//! what was scheduled; an event after the horizon is dropped, since it could never run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use omega_core::{JobId, MachineId, TaskId};
use omega_schedulers::Decision;

/// Something that happens at one instant.
#[derive(Debug)]
pub(crate) enum Event {
    /// The next job of the input stream is submitted.
    Arrival,
    /// A job's retry delay is over: it goes back to its scheduler's queue.
    RetryDue(JobId),
    /// A scheduler's think time is over: its decision is committed.
    Decided {
        scheduler: usize,
        job: JobId,
        decision: Box<Decision>,
    },
    /// Tasks reach their end time (those still due then end; others were stopped or moved).
    TasksEnd(Vec<TaskId>),
    /// The next random machine (or rack) failure.
    RandomFailure,
    /// A scripted failure of a machine, a rack, or both.
    ScriptedFailure {
        machine: Option<MachineId>,
        rack: Option<u32>,
    },
    /// The heartbeat timeout of a failed machine expires: the failure is noticed.
    Detect(MachineId),
    /// A failed machine comes back, empty.
    Recover(MachineId),
    /// A utilisation sample is due.
    Sample,
    /// The architecture's periodic work (two-level: an allocation round).
    Tick,
}

struct Scheduled {
    at_us: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at_us, self.seq) == (other.at_us, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_us, self.seq).cmp(&(other.at_us, other.seq))
    }
}

/// The pending events and the clock.
pub(crate) struct EventQueue {
    heap: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    now_us: u64,
    horizon_us: u64,
    handled: u64,
}

impl EventQueue {
    /// An empty queue at time 0 that drops events after `horizon_us`.
    pub(crate) fn new(horizon_us: u64) -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
            now_us: 0,
            horizon_us,
            handled: 0,
        }
    }

    /// Simulated time now.
    pub(crate) fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Events taken from the queue so far.
    pub(crate) fn handled(&self) -> u64 {
        self.handled
    }

    /// Schedules `event` at `at_us`; events after the horizon are dropped.
    ///
    /// # Panics
    /// If `at_us` is before now: such an event is an arithmetic bug (an overflow or a wrong
    /// base time) in the code that computed it.
    pub(crate) fn push(&mut self, at_us: u64, event: Event) {
        assert!(
            at_us >= self.now_us,
            "event {event:?} scheduled at {at_us} µs, before now ({} µs): time must never run \
             backwards (an overflowing or mis-based time computation)",
            self.now_us
        );
        if at_us > self.horizon_us {
            return;
        }
        self.seq += 1;
        self.heap.push(Reverse(Scheduled {
            at_us,
            seq: self.seq,
            event,
        }));
    }

    /// Takes the next event at or before `until_us` and moves the clock to it.
    pub(crate) fn pop_until(&mut self, until_us: u64) -> Option<Event> {
        if self
            .heap
            .peek()
            .is_none_or(|Reverse(top)| top.at_us > until_us)
        {
            return None;
        }
        let Reverse(next) = self.heap.pop()?;
        debug_assert!(next.at_us >= self.now_us, "the heap returned a past event");
        self.now_us = next.at_us;
        self.handled += 1;
        Some(next.event)
    }

    /// Moves the clock to `at_us` (no event runs earlier: the caller drained them).
    pub(crate) fn advance_to(&mut self, at_us: u64) {
        self.now_us = self.now_us.max(at_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_run_in_scheduling_order_and_late_events_are_dropped() {
        let mut q = EventQueue::new(100);
        q.push(5, Event::Sample);
        q.push(5, Event::Tick);
        q.push(1, Event::Arrival);
        q.push(101, Event::RandomFailure);
        assert!(matches!(q.pop_until(100), Some(Event::Arrival)));
        assert!(matches!(q.pop_until(100), Some(Event::Sample)));
        assert_eq!(q.now_us(), 5);
        assert!(q.pop_until(4).is_none());
        assert!(matches!(q.pop_until(100), Some(Event::Tick)));
        assert!(
            q.pop_until(100).is_none(),
            "the event after the horizon was dropped"
        );
        assert_eq!(q.handled(), 3);
    }
}
