//! Extra MapReduce workers in the engine: how long the workers of a grant run, and what
//! happens to the others when one leaves early.
//!
//! The MapReduce policy proposes extra workers when it places a whole job at once
//! (`omega_schedulers::MapReducePolicy`). What runs is what the commit accepted: the
//! accepted requested workers (`own`) and extras (`extra`) form a *pool* that shares the
//! accepted requested workers' work in lockstep,
//!
//! ```text
//! duration = ceil(own × share_us × 100 / (own × 100 + extra × efficiency_percent))
//! ```
//!
//! where `share_us` is one requested worker's work (the job's task duration) and an extra
//! is worth `efficiency_percent` of a requested worker. A requested worker not accepted is
//! placed later and runs its own share alone.
//!
//! When a pool member stops early (preemption, machine failure), its effort leaves the
//! pool. A requested worker takes its share of the remaining work with it (it is placed
//! again and redoes its share), so the others' end does not move. An extra worker carries
//! no share: the others take over its part, and their end moves out by
//! `effort_before / effort_after`.

use omega_core::{Claim, Job, TaskId};

/// The workers of one grant, running in lockstep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pool {
    /// When they all end.
    pub(crate) end_us: u64,
    /// The members still running.
    pub(crate) members: Vec<TaskId>,
    /// Their effort in centi-workers: 100 a requested worker, `extra_centi` an extra.
    effort_centi: u64,
    /// One extra worker's effort (the policy's `efficiency_percent`).
    extra_centi: u64,
}

/// How a grant's workers run: their common duration and the pool they form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    /// Requested workers accepted.
    pub(crate) own: u32,
    /// Extra workers accepted.
    pub(crate) extra: u32,
    /// What every accepted worker runs for.
    pub(crate) duration_us: u64,
    /// The pool, ending at `now + duration_us`.
    pub(crate) pool: Pool,
}

/// The grant of a commit that accepted `claims` of `job` at `now_us`, if it accepted extra
/// workers (task index `>= job.tasks`); `efficiency_percent` is the policy's (1..=100).
///
/// A commit that accepted extras but none of the job's own workers gives them nothing to
/// do: they end at once (1 µs).
pub(crate) fn grant(
    job: &Job,
    efficiency_percent: u32,
    claims: &[Claim],
    now_us: u64,
) -> Option<Grant> {
    let extra = claims.iter().filter(|c| c.task.index >= job.tasks).count() as u64;
    if extra == 0 {
        return None;
    }
    let own = claims.len() as u64 - extra;
    let extra_centi = u64::from(efficiency_percent.clamp(1, 100));
    let effort_centi = own * 100 + extra * extra_centi;
    let work_centi = u128::from(own) * u128::from(job.task_duration_us) * 100;
    let duration = work_centi.div_ceil(u128::from(effort_centi)).max(1);
    let duration_us = u64::try_from(duration).unwrap_or(u64::MAX);
    Some(Grant {
        own: own as u32,
        extra: extra as u32,
        duration_us,
        pool: Pool {
            end_us: now_us.saturating_add(duration_us),
            members: claims.iter().map(|c| c.task).collect(),
            effort_centi,
            extra_centi,
        },
    })
}

/// Member `task` (an extra worker if `extra`) of one of `pools` stopped early at `now_us`.
/// If the others' end moves, returns `(old end, new end, the others)`.
pub(crate) fn leave(
    pools: &mut Vec<Pool>,
    task: TaskId,
    extra: bool,
    now_us: u64,
) -> Option<(u64, u64, Vec<TaskId>)> {
    let k = pools.iter().position(|p| p.members.contains(&task))?;
    let pool = &mut pools[k];
    pool.members.retain(|t| *t != task);
    let before = pool.effort_centi;
    let after = before.saturating_sub(if extra { pool.extra_centi } else { 100 });
    pool.effort_centi = after;
    if pool.members.is_empty() || after == 0 {
        pools.swap_remove(k);
        return None;
    }
    if !extra || pool.end_us <= now_us {
        return None;
    }
    let old_end = pool.end_us;
    let remaining = u128::from(old_end - now_us);
    let stretched = (remaining * u128::from(before)).div_ceil(u128::from(after));
    let new_end = now_us.saturating_add(u64::try_from(stretched).unwrap_or(u64::MAX));
    pool.end_us = new_end;
    Some((old_end, new_end, pool.members.clone()))
}

/// Member `task` of one of `pools` ran to its end.
pub(crate) fn finished(pools: &mut Vec<Pool>, task: TaskId) {
    if let Some(k) = pools.iter().position(|p| p.members.contains(&task)) {
        pools[k].members.retain(|t| *t != task);
        if pools[k].members.is_empty() {
            pools.swap_remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omega_core::{JobId, MachineId, Resources};

    fn job() -> Job {
        // 4 requested workers, 400 s each.
        Job::new(
            JobId(1),
            "batch",
            4,
            Resources::new(1_000, 0, 1_024),
            400_000_000,
        )
    }

    fn claims(indexes: &[u32]) -> Vec<Claim> {
        indexes
            .iter()
            .map(|&i| {
                Claim::new(
                    TaskId::new(JobId(1), i),
                    MachineId(i),
                    job().task_resources,
                    0,
                )
            })
            .collect()
    }

    #[test]
    fn the_duration_comes_from_what_was_accepted() {
        // All 4 and 4 extras at full worth: twice the workers, half the time.
        let g = grant(&job(), 100, &claims(&[0, 1, 2, 3, 4, 5, 6, 7]), 0).unwrap();
        assert_eq!((g.own, g.extra, g.duration_us), (4, 4, 200_000_000));
        // Only 2 of the 4 extras accepted: 4 workers' work over 6.
        let g = grant(&job(), 100, &claims(&[0, 1, 2, 3, 4, 6]), 0).unwrap();
        assert_eq!(g.duration_us, 266_666_667);
        // Two requested workers rejected: the pool shares the 2 accepted ones' work only.
        let g = grant(&job(), 100, &claims(&[0, 1, 4, 5]), 10).unwrap();
        assert_eq!((g.duration_us, g.pool.end_us), (200_000_000, 200_000_010));
        // Half-worth extras.
        let g = grant(&job(), 50, &claims(&[0, 1, 2, 3, 4, 5, 6, 7]), 0).unwrap();
        assert_eq!(g.duration_us, 266_666_667);
        // No extras: no grant (the job's own durations); no own workers: nothing to do.
        assert!(grant(&job(), 100, &claims(&[0, 1, 2, 3]), 0).is_none());
        assert_eq!(
            grant(&job(), 100, &claims(&[4, 5]), 0).unwrap().duration_us,
            1
        );
    }

    #[test]
    fn survivors_take_over_an_evicted_extras_work_but_not_a_requested_workers() {
        let g = grant(&job(), 100, &claims(&[0, 1, 2, 3, 4, 5, 6, 7]), 0).unwrap();
        let mut pools = vec![g.pool];
        // Half-way (100 s left of 200 s) an extra goes: 8 workers' remaining work over 7.
        let moved = leave(&mut pools, TaskId::new(JobId(1), 7), true, 100_000_000).unwrap();
        assert_eq!((moved.0, moved.1), (200_000_000, 100_000_000 + 114_285_715));
        assert_eq!(moved.2.len(), 7);
        // A requested worker goes with its share: the others' end stays.
        assert_eq!(
            leave(&mut pools, TaskId::new(JobId(1), 0), false, 150_000_000),
            None
        );
        assert_eq!(pools[0].end_us, 214_285_715);
        // The rest finish; the pool is gone.
        for i in 1..7 {
            finished(&mut pools, TaskId::new(JobId(1), i));
        }
        assert!(pools.is_empty());
    }
}
