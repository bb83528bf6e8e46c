//! Time-weighted accumulation at a fixed step: [`StepSignal`] (a piecewise-constant value,
//! such as a utilisation sample that holds until the next) and [`StepTotals`] (busy
//! intervals split across step boundaries), plus [`default_step_us`], the step that keeps a
//! run's series under about 2,000 points.
//!
//! Memory is one slot a step, so it follows the run's length, never its number of events.

use crate::SeriesPoint;

/// Series never have more than about this many points with the default step.
pub const TARGET_POINTS: u64 = 2_000;

/// Round steps, in seconds, from which [`default_step_us`] picks.
const NICE_STEPS_S: [u64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400, 172_800, 604_800,
];

/// The smallest round step (1 s, 2 s, 5 s, …, 1 min, 2 min, 5 min, 10 min, …, 1 day, 1 week)
/// that gives a run of `horizon_us` at most [`TARGET_POINTS`] points: 1 minute for a day,
/// 10 minutes for a week.
///
/// ```
/// use omega_metrics::default_step_us;
/// assert_eq!(default_step_us(86_400_000_000), 60_000_000);
/// assert_eq!(default_step_us(7 * 86_400_000_000), 600_000_000);
/// assert_eq!(default_step_us(0), 1_000_000);
/// ```
pub fn default_step_us(horizon_us: u64) -> u64 {
    let least_us = horizon_us.div_ceil(TARGET_POINTS);
    NICE_STEPS_S
        .iter()
        .map(|s| s * 1_000_000)
        .find(|&step| step >= least_us)
        .unwrap_or_else(|| least_us.div_ceil(604_800_000_000) * 604_800_000_000)
}

/// A piecewise-constant signal integrated over fixed steps: each value holds from the time
/// it is set until the next [`StepSignal::set`] (or the end); `None` means "undefined" (the
/// time does not count, e.g. a GPU share when the cell has no GPU up).
#[derive(Clone, Debug)]
pub(crate) struct StepSignal {
    step_us: u64,
    /// ∫ value dt per step (value × µs).
    sums: Vec<f64>,
    /// Defined µs per step.
    covered_us: Vec<u64>,
    since_us: u64,
    value: Option<f64>,
}

impl StepSignal {
    /// An undefined signal at time 0.
    pub(crate) fn new(step_us: u64) -> Self {
        assert!(step_us > 0, "a series step must be positive");
        Self {
            step_us,
            sums: Vec::new(),
            covered_us: Vec::new(),
            since_us: 0,
            value: None,
        }
    }

    /// From `at_us` on, the signal is `value`.
    pub(crate) fn set(&mut self, at_us: u64, value: Option<f64>) {
        self.advance(at_us);
        self.value = value;
    }

    /// Integrates the current value up to `to_us`.
    pub(crate) fn advance(&mut self, to_us: u64) {
        if to_us <= self.since_us {
            return;
        }
        if let Some(v) = self.value {
            let mut from = self.since_us;
            while from < to_us {
                let k = (from / self.step_us) as usize;
                let step_end = (k as u64 + 1) * self.step_us;
                let until = step_end.min(to_us);
                if self.sums.len() <= k {
                    self.sums.resize(k + 1, 0.0);
                    self.covered_us.resize(k + 1, 0);
                }
                self.sums[k] += v * (until - from) as f64;
                self.covered_us[k] += until - from;
                from = until;
            }
        }
        self.since_us = to_us;
    }

    /// The time-weighted mean over all defined time, or `None` if never defined.
    pub(crate) fn mean(&self) -> Option<f64> {
        let covered: u64 = self.covered_us.iter().sum();
        (covered > 0).then(|| self.sums.iter().sum::<f64>() / covered as f64)
    }

    /// One point per step with defined time.
    pub(crate) fn points(&self) -> Vec<SeriesPoint> {
        self.sums
            .iter()
            .zip(&self.covered_us)
            .enumerate()
            .filter(|(_, (_, covered))| **covered > 0)
            .map(|(k, (sum, covered))| SeriesPoint {
                at_us: k as u64 * self.step_us,
                value: sum / *covered as f64,
            })
            .collect()
    }
}

/// Durations (busy intervals) summed per fixed bin, an interval split at bin boundaries.
#[derive(Clone, Debug)]
pub(crate) struct StepTotals {
    bin_us: u64,
    totals_us: Vec<u64>,
}

impl StepTotals {
    /// Empty bins of `bin_us`.
    pub(crate) fn new(bin_us: u64) -> Self {
        assert!(bin_us > 0, "a bin must be positive");
        Self {
            bin_us,
            totals_us: Vec::new(),
        }
    }

    /// Adds the interval `[start_us, end_us)`.
    pub(crate) fn add(&mut self, start_us: u64, end_us: u64) {
        let mut from = start_us;
        while from < end_us {
            let k = (from / self.bin_us) as usize;
            let until = ((k as u64 + 1) * self.bin_us).min(end_us);
            if self.totals_us.len() <= k {
                self.totals_us.resize(k + 1, 0);
            }
            self.totals_us[k] += until - from;
            from = until;
        }
    }

    /// The total of bin `k`.
    pub(crate) fn total_us(&self, k: usize) -> u64 {
        self.totals_us.get(k).copied().unwrap_or(0)
    }

    /// Each bin's share of its length within `[0, end_us)`: one point per bin, empty bins
    /// included (as 0).
    pub(crate) fn shares(&self, end_us: u64) -> Vec<SeriesPoint> {
        let bins = end_us.div_ceil(self.bin_us);
        (0..bins)
            .map(|k| {
                let start = k * self.bin_us;
                let len = ((k + 1) * self.bin_us).min(end_us) - start;
                SeriesPoint {
                    at_us: start,
                    value: self.total_us(k as usize) as f64 / len as f64,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_value_is_weighted_by_time() {
        // 0.2 for 30 s, then 0.8 for 10 s, then undefined for 20 s, then 0.5 for 60 s.
        let mut s = StepSignal::new(60_000_000);
        s.set(0, Some(0.2));
        s.set(30_000_000, Some(0.8));
        s.set(40_000_000, None);
        s.set(60_000_000, Some(0.5));
        s.advance(120_000_000);
        let first = (0.2 * 30.0 + 0.8 * 10.0) / 40.0;
        let points = s.points();
        assert_eq!(points.len(), 2);
        assert!((points[0].value - first).abs() < 1e-12);
        assert_eq!(points[1].at_us, 60_000_000);
        assert!((points[1].value - 0.5).abs() < 1e-12);
        let mean = (0.2 * 30.0 + 0.8 * 10.0 + 0.5 * 60.0) / 100.0;
        assert!((s.mean().unwrap_or(0.0) - mean).abs() < 1e-12);
    }

    #[test]
    fn intervals_split_at_bin_boundaries() {
        let mut t = StepTotals::new(100);
        t.add(50, 250);
        t.add(260, 270);
        assert_eq!((t.total_us(0), t.total_us(1), t.total_us(2)), (50, 100, 60));
        let shares = t.shares(280);
        assert_eq!(shares.len(), 3);
        assert!(
            (shares[2].value - 60.0 / 80.0).abs() < 1e-12,
            "last bin is 80 µs"
        );
    }

    #[test]
    fn default_step_keeps_series_short() {
        for horizon in [
            1,
            1_800_000_000,
            86_400_000_000,
            604_800_000_000,
            u64::MAX / 2,
        ] {
            let step = default_step_us(horizon);
            assert!(horizon.div_ceil(step) <= TARGET_POINTS, "{horizon}: {step}");
        }
        assert_eq!(default_step_us(1_800_000_000), 1_000_000);
    }
}
