//! The task clock and the ways a running task stops: it reaches its end, or it is evicted
//! (preempted, or lost with its machine) and goes back to its job's pending list.
//!
//! The clock maps every running task that makes progress to its end time. A task end event
//! lists tasks due then; a task that stopped early or was moved (`stretch`) is no longer
//! due at that time, so the event skips it. Tasks on a machine that failed unnoticed have
//! no end: they make no progress until the failure is detected and they are evicted.

use omega_core::{Placement, TaskId};

use crate::architecture::Architecture;
use crate::events::Event;
use crate::extras;
use crate::jobs::{self, JobState};
use crate::recorder::{EvictReason, Fact, Recorder};
use crate::world::World;

/// When each running task ends.
#[derive(Default)]
pub(crate) struct TaskClock {
    end_us: rustc_hash::FxHashMap<TaskId, u64>,
}

impl TaskClock {
    /// Task `task` ends at `end_us`.
    pub(crate) fn set_end(&mut self, task: TaskId, end_us: u64) {
        self.end_us.insert(task, end_us);
    }

    /// Task `task` makes no progress any more (stopped, or its machine failed).
    pub(crate) fn clear(&mut self, task: TaskId) {
        self.end_us.remove(&task);
    }

    /// True if `task` is due to end at `at_us`.
    fn due(&self, task: TaskId, at_us: u64) -> bool {
        self.end_us.get(&task) == Some(&at_us)
    }

    /// Moves the end of `task` from `old_us` to `new_us` if it is due at `old_us`.
    fn moved(&mut self, task: TaskId, old_us: u64, new_us: u64) -> bool {
        match self.end_us.get_mut(&task) {
            Some(end) if *end == old_us => {
                *end = new_us;
                true
            }
            _ => false,
        }
    }
}

/// Tasks reach their end time: those still due now end together.
pub(crate) fn tasks_end<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    tasks: Vec<TaskId>,
) {
    let now = w.now_us();
    let due: Vec<TaskId> = tasks.into_iter().filter(|t| w.clock.due(*t, now)).collect();
    if due.is_empty() {
        return;
    }
    // Every task with an end time is running: the clock loses a task whenever it stops
    // (eviction, failure), so a failed release is an engine bug, never input.
    let released = match w.cell.release_all_in_place(due.iter().copied()) {
        Ok(released) => released,
        Err(e) => panic!(
            "tasks ending at {now} µs are not all running ({e}): the engine's end times \
             {due:?} disagree with the cell"
        ),
    };
    let mut jobs_touched = Vec::new();
    for (task, p) in released {
        w.clock.clear(task);
        let extra = finished_in_job(w, task, &p);
        if extra {
            w.tally.extra_finished += 1;
            w.record(&Fact::ExtraWorkerFinished {
                task,
                machine: p.machine,
            });
        } else {
            w.tally.finished += 1;
            w.record(&Fact::TaskFinished {
                task,
                machine: p.machine,
            });
        }
        if jobs_touched.last() != Some(&task.job) {
            jobs_touched.push(task.job);
        }
    }
    for j in jobs_touched {
        jobs::maybe_finish(w, arch, j);
    }
}

/// Books the end of `task` (placed as `p`) in its job; true if it was an extra worker.
fn finished_in_job<R: Recorder>(w: &mut World<'_, R>, task: TaskId, p: &Placement) -> bool {
    let Some(e) = w.jobs.live.get_mut(&task.job) else {
        return false;
    };
    let extra = e.task_stopped(task);
    extras::finished(&mut e.pools, task);
    w.schedulers[e.scheduler].resources_freed(&p.resources);
    extra
}

/// A task stopped early (already taken out of the cell): it goes back to its job's pending
/// list and queue; an extra MapReduce worker is not placed again.
pub(crate) fn evict<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    task: TaskId,
    p: Placement,
    reason: EvictReason,
) {
    w.clock.clear(task);
    let now = w.now_us();
    // Every running task's job is live: it leaves only with nothing running.
    let Some(e) = w.jobs.live.get_mut(&task.job) else {
        panic!("evicted task {task} belongs to no live job");
    };
    let extra = e.task_stopped(task);
    w.schedulers[e.scheduler].resources_freed(&p.resources);
    if let Some((old_end, new_end, others)) = extras::leave(&mut e.pools, task, extra, now) {
        stretch(w, &others, old_end, new_end);
    }
    let machine = p.machine;
    if extra {
        w.tally.extra_evicted += 1;
        w.record(&Fact::ExtraWorkerEvicted {
            task,
            machine,
            reason,
        });
        jobs::maybe_finish(w, arch, task.job);
        return;
    }
    w.record(&Fact::TaskEvicted {
        task,
        machine,
        reason,
    });
    let Some(e) = w.jobs.live.get_mut(&task.job) else {
        return;
    };
    if e.state == JobState::Abandoned {
        w.tally.abandoned += 1;
        jobs::maybe_finish(w, arch, task.job);
        return;
    }
    if let Err(at) = e.pending.binary_search(&task.index) {
        e.pending.insert(at, task.index);
    }
    if e.state == JobState::AllPlaced {
        jobs::enqueue(w, arch, task.job);
    }
}

/// The running `tasks` that were to end at `old_end_us` end at `new_end_us` instead (a pool
/// lost an extra worker). Their old end event finds them no longer due and skips them.
fn stretch<R: Recorder>(w: &mut World<'_, R>, tasks: &[TaskId], old_end_us: u64, new_end_us: u64) {
    let moved: Vec<TaskId> = tasks
        .iter()
        .copied()
        .filter(|t| w.clock.moved(*t, old_end_us, new_end_us))
        .collect();
    if !moved.is_empty() {
        w.push(new_end_us, Event::TasksEnd(moved));
    }
}
