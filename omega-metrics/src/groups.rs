//! The counters kept per (scheduler, class) group ([`GroupStats`]) and the [`Grid`] that
//! holds one per group, including the "all schedulers" and "all classes" totals.

use omega_sim::ConflictCounts;

use crate::quantile::Histogram;

/// Conflict reasons as metric suffixes (`conflicts.version_changed`), in the order of
/// [`GroupStats::conflicts`].
pub(crate) const CONFLICT_REASONS: [&str; 6] = [
    "machine_missing",
    "machine_down",
    "version_changed",
    "insufficient_resources",
    "victim_gone",
    "invalid",
];

/// Everything counted for one (scheduler, class) group. Field meanings are the metrics of
/// the same name in `METRICS.md`.
#[derive(Clone, Debug, Default)]
pub(crate) struct GroupStats {
    /// Something was counted here (untouched groups produce no rows).
    pub(crate) touched: bool,
    pub(crate) jobs_submitted: u64,
    pub(crate) prefill_jobs: u64,
    pub(crate) jobs_finished: u64,
    pub(crate) tasks_finished: u64,
    pub(crate) prefill_tasks_finished: u64,
    pub(crate) extra_tasks: u64,
    pub(crate) extra_tasks_finished: u64,
    pub(crate) jobs_abandoned: u64,
    pub(crate) jobs_unschedulable: u64,
    pub(crate) jobs_cancelled: u64,
    pub(crate) censored_first_attempt: u64,
    pub(crate) censored_fully_scheduled: u64,
    pub(crate) tasks_preempted: u64,
    pub(crate) tasks_lost: u64,
    pub(crate) tasks_lost_censored: u64,
    pub(crate) attempts: u64,
    pub(crate) successful_attempts: u64,
    pub(crate) conflicted_attempts: u64,
    /// Rejected claims by reason, in the order of [`CONFLICT_REASONS`].
    pub(crate) conflicts: [u64; 6],
    pub(crate) busy_us: u64,
    pub(crate) wasted_us: u64,
    pub(crate) wait_first: Histogram,
    pub(crate) wait_full: Histogram,
    pub(crate) reschedule: Histogram,
}

impl GroupStats {
    /// Adds one commit's rejected claims.
    pub(crate) fn add_conflicts(&mut self, c: &ConflictCounts) {
        let counts = [
            c.machine_missing,
            c.machine_down,
            c.version_changed,
            c.insufficient_resources,
            c.victim_gone,
            c.invalid,
        ];
        for (slot, n) in self.conflicts.iter_mut().zip(counts) {
            *slot += u64::from(n);
        }
    }
}

/// One [`GroupStats`] per (scheduler slot, class slot); slot 0 is "all", slot `i + 1` is
/// scheduler (or class) `i`.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    cells: Vec<Vec<GroupStats>>,
}

impl Grid {
    fn cell(&mut self, s_slot: usize, c_slot: usize) -> &mut GroupStats {
        if self.cells.len() <= s_slot {
            self.cells.resize_with(s_slot + 1, Vec::new);
        }
        let row = &mut self.cells[s_slot];
        if row.len() <= c_slot {
            row.resize_with(c_slot + 1, GroupStats::default);
        }
        let g = &mut row[c_slot];
        g.touched = true;
        g
    }

    /// Applies `f` to every group the event belongs to: the whole run, its class (if
    /// known), its scheduler (if known), and its scheduler and class.
    pub(crate) fn apply(
        &mut self,
        scheduler: Option<usize>,
        class: Option<usize>,
        mut f: impl FnMut(&mut GroupStats),
    ) {
        f(self.cell(0, 0));
        if let Some(c) = class {
            f(self.cell(0, c + 1));
        }
        if let Some(s) = scheduler {
            self.apply_scheduler_only(s, class, f);
        }
    }

    /// Applies `f` to the scheduler's groups only: all its classes, and `class`.
    pub(crate) fn apply_scheduler_only(
        &mut self,
        scheduler: usize,
        class: Option<usize>,
        mut f: impl FnMut(&mut GroupStats),
    ) {
        f(self.cell(scheduler + 1, 0));
        if let Some(c) = class {
            f(self.cell(scheduler + 1, c + 1));
        }
    }

    /// Marks a group as present, so it gets rows even with nothing counted.
    pub(crate) fn touch(&mut self, scheduler: Option<usize>, class: Option<usize>) {
        self.cell(scheduler.map_or(0, |s| s + 1), class.map_or(0, |c| c + 1));
    }

    /// Every touched group as (scheduler, class, stats).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Option<usize>, Option<usize>, &GroupStats)> {
        self.cells.iter().enumerate().flat_map(|(s_slot, row)| {
            row.iter()
                .enumerate()
                .filter(|(_, g)| g.touched)
                .map(move |(c_slot, g)| (s_slot.checked_sub(1), c_slot.checked_sub(1), g))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_counts_in_its_four_groups() {
        let mut grid = Grid::default();
        grid.apply(Some(1), Some(0), |g| g.attempts += 1);
        grid.apply(None, Some(2), |g| g.attempts += 1);
        let seen: Vec<_> = grid.iter().map(|(s, c, g)| (s, c, g.attempts)).collect();
        assert_eq!(
            seen,
            vec![
                (None, None, 2),
                (None, Some(0), 1),
                (None, Some(2), 1),
                (Some(1), None, 1),
                (Some(1), Some(0), 1),
            ]
        );
    }
}
