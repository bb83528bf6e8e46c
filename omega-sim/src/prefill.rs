//! Prefill: jobs already running at time 0 are placed by their own scheduler's policy, at
//! no think time, before the first event.
//!
//! Tasks that do not fit are dropped (never submitted) and counted in [`crate::InputTally`], and
//! so are jobs no scheduler takes. Prefill places only free room: a claim that would
//! preempt another prefill task is dropped and counted (the cell at time 0 is one that
//! exists, not one a scheduler fought over), and prefill never grows MapReduce jobs.

use omega_core::Job;

use crate::SimError;
use crate::attempts;
use crate::jobs::{self, JobEntry, JobState};
use crate::recorder::Recorder;
use crate::world::World;

/// Places prefill job `job`; with `remaining_us`, every task runs that long from time 0,
/// otherwise the job's own durations remain.
pub(crate) fn place<R: Recorder>(
    w: &mut World<'_, R>,
    job: Job,
    remaining_us: Option<u64>,
) -> Result<(), SimError> {
    let Some((scheduler, policy)) = w.routes.route(&job) else {
        w.input.prefill_jobs_unrouted += 1;
        w.input.prefill_tasks_dropped += u64::from(job.tasks);
        return Ok(());
    };
    let pending: Vec<u32> = (0..job.tasks).collect();
    let slot = &mut w.schedulers[scheduler];
    let mut decision = w.policies[policy].schedule(&w.cell, &job, &pending, &mut slot.rng);
    decision
        .transaction
        .claims
        .retain(|c| c.task.index < job.tasks && c.preempts.is_empty());
    let commit = w.cell.commit_in_place(&decision.transaction);
    let placed = commit.accepted.len() as u32;
    w.input.prefill_tasks_dropped += u64::from(job.tasks - placed);
    if placed == 0 {
        w.input.prefill_jobs_unplaced += 1;
        return Ok(());
    }
    debug_assert!(
        commit.preempted.is_empty(),
        "a prefill claim preempted a task"
    );
    let claims = attempts::accepted_claims(&decision.transaction, &commit.accepted);
    let id = job.id;
    w.jobs.arrived.insert(id);
    w.tally.submitted += u64::from(placed);
    w.record(&jobs::submitted(&job, placed, true));
    let mut entry = JobEntry::new(job, Vec::new(), JobState::AllPlaced, scheduler, policy);
    entry.fully_scheduled = true;
    entry.duration_override_us = remaining_us;
    w.jobs.live.insert(id, entry);
    attempts::start_tasks(w, id, &claims, None);
    Ok(())
}
