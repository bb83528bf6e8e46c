//! Scheduling attempts: a scheduler takes the next job of its queue, decides on its view of
//! the cell (its snapshot when the attempt starts), and commits when its think time has
//! passed; accepted claims start tasks.
//!
//! The architecture says when a scheduler may start and what it sees (`Architecture`):
//! the whole cell for monolithic and Omega schedulers, the offer for a two-level framework.

use std::collections::BTreeMap;

use omega_core::{Claim, JobId, Resources, TaskId, Transaction};
use omega_schedulers::{Decision, PolicyConfig};

use crate::architecture::Architecture;
use crate::events::Event;
use crate::extras::{self, Grant};
use crate::jobs::{self, JobState};
use crate::recorder::{ConflictCounts, EvictReason, Fact, Recorder};
use crate::tasks;
use crate::world::World;

/// Starts the next attempt of scheduler `s` if it is idle, has work, and its architecture
/// lets it (a two-level framework needs an offer with room).
pub(crate) fn try_start<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    s: usize,
) {
    while !w.schedulers[s].deciding {
        if !arch.may_start(w, s) {
            return;
        }
        let Some(id) = w.schedulers[s].queue.pop_front() else {
            arch.queue_drained(w, s);
            return;
        };
        let Some(e) = w.jobs.live.get_mut(&id) else {
            continue;
        };
        if e.state != JobState::Queued || e.pending.is_empty() {
            continue;
        }
        e.state = JobState::Deciding;
        e.attempts += 1;
        let pending_tasks = e.pending.len() as u32;
        let view = arch.view(s, &w.cell);
        let slot = &mut w.schedulers[s];
        let decision = w.policies[e.policy].schedule(view, &e.job, &e.pending, &mut slot.rng);
        slot.deciding = true;
        w.record(&Fact::AttemptStarted {
            scheduler: s,
            job: id,
            pending_tasks,
        });
        let at = w.now_us().saturating_add(decision.think_time_us);
        w.push(
            at,
            Event::Decided {
                scheduler: s,
                job: id,
                decision: Box::new(decision),
            },
        );
    }
}

/// Scheduler `s`'s think time on job `id` is over: its transaction is committed.
pub(crate) fn decided<R: Recorder>(
    w: &mut World<'_, R>,
    arch: &mut dyn Architecture<R>,
    s: usize,
    id: JobId,
    mut decision: Decision,
) {
    w.schedulers[s].deciding = false;
    arch.before_commit(w, s, &mut decision.transaction);
    let txn = &decision.transaction;
    let commit = w.cell.commit_in_place(txn);
    let mut conflicts = ConflictCounts::default();
    for r in &commit.rejected {
        conflicts.add(r.reason);
    }
    let placed = commit.accepted.len() as u32;
    let think_us = decision.think_time_us;
    let summary = &mut w.schedulers[s].summary;
    summary.attempts += 1;
    summary.busy_us += think_us;
    summary.tasks_placed += u64::from(placed);
    summary.conflicts.merge(&conflicts);
    if conflicts.total() > 0 || commit.aborted {
        summary.conflicted_attempts += 1;
        summary.wasted_us += think_us;
    }
    w.record(&Fact::AttemptEnded {
        scheduler: s,
        job: id,
        think_time_us: think_us,
        claimed: txn.claims.len() as u32,
        placed,
        conflicts,
        aborted: commit.aborted,
    });
    for (victim, p) in &commit.preempted {
        tasks::evict(w, arch, *victim, *p, EvictReason::Preempted);
    }
    let claims = accepted_claims(txn, &commit.accepted);
    arch.after_commit(w, s, &claims);
    // The policy's `task_duration_us` assumed every extra it proposed; what runs is what
    // the commit accepted.
    let grant = grant_of(w, id, &claims);
    start_tasks(w, id, &claims, grant);
    jobs::after_attempt(w, arch, id, placed);
    try_start(w, arch, s);
}

/// The claims of `txn` a commit accepted (`accepted`: their indexes), in order.
pub(crate) fn accepted_claims(txn: &Transaction, accepted: &[usize]) -> Vec<Claim> {
    accepted.iter().map(|&i| txn.claims[i].clone()).collect()
}

/// The MapReduce grant of a commit that accepted `claims` of job `id`, if it accepted extra
/// workers (`extras.rs`).
fn grant_of<R: Recorder>(w: &World<'_, R>, id: JobId, claims: &[Claim]) -> Option<Grant> {
    let e = w.jobs.live.get(&id)?;
    let efficiency = match &w.cfg.architecture.schedulers[e.policy].policy {
        PolicyConfig::MapReduce(c) => c.efficiency_percent,
        // Only the MapReduce policy proposes extras; any other counts them at full worth.
        _ => 100,
    };
    extras::grant(&e.job, efficiency, claims, w.now_us())
}

/// Starts accepted claims' tasks of job `id` and schedules their ends, one event per end
/// time. With a `grant`, every claim runs the grant's duration.
pub(crate) fn start_tasks<R: Recorder>(
    w: &mut World<'_, R>,
    id: JobId,
    claims: &[Claim],
    grant: Option<Grant>,
) {
    let now = w.now_us();
    let Some(e) = w.jobs.live.get_mut(&id) else {
        return;
    };
    let mut ends: BTreeMap<u64, Vec<TaskId>> = BTreeMap::new();
    let mut placed_indexes: Vec<u32> = Vec::with_capacity(claims.len());
    let mut facts = Vec::with_capacity(claims.len() + 1);
    let mut held = Resources::ZERO;
    for c in claims {
        let index = c.task.index;
        let extra = index >= e.job.tasks;
        e.running += 1;
        held = held.checked_add(&c.resources).unwrap_or(held);
        let duration_us = match (&grant, e.duration_override_us) {
            (Some(g), _) => g.duration_us,
            (None, Some(d)) => d,
            (None, None) => e.job.duration_of(index),
        };
        let end_us = now.saturating_add(duration_us);
        // A task placed on a machine that failed unnoticed makes no progress: no end.
        if !w.failures.is_failed_unnoticed(c.machine) {
            w.clock.set_end(c.task, end_us);
            ends.entry(end_us).or_default().push(c.task);
        }
        let (task, machine, resources) = (c.task, c.machine, c.resources);
        if extra {
            // An extra MapReduce worker: not one of the job's tasks, counted apart.
            assert!(
                grant.is_some(),
                "extra worker {task} started outside a grant"
            );
            w.tally.extra_started += 1;
            e.extras_running += 1;
            facts.push(Fact::ExtraWorkerStarted {
                task,
                machine,
                resources,
                duration_us,
            });
        } else {
            placed_indexes.push(index);
            facts.push(Fact::TaskStarted {
                task,
                machine,
                resources,
                duration_us,
            });
        }
    }
    if let Some(g) = grant {
        facts.insert(
            0,
            Fact::ExtraWorkersGranted {
                job: id,
                workers: g.own,
                extra_workers: g.extra,
                duration_us: g.duration_us,
                without_extras_us: e.job.task_duration_us,
            },
        );
        e.pools.push(g.pool);
    }
    placed_indexes.sort_unstable();
    e.pending
        .retain(|i| placed_indexes.binary_search(i).is_err());
    let slot = &mut w.schedulers[e.scheduler];
    slot.running_resources = slot.running_resources.checked_add(&held).unwrap_or(held);
    for f in &facts {
        w.record(f);
    }
    for (end_us, tasks) in ends {
        w.push(end_us, Event::TasksEnd(tasks));
    }
}
