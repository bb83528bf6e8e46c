//! [`ValuesBuilder`], which keeps a run's [`MetricValue`] rows unique and sorted while they
//! are collected, and [`RunMetrics::series`], a lookup by metric and key.

use std::collections::BTreeMap;

use crate::quantile::Histogram;
use crate::{MetricValue, RunMetrics, Series};

impl RunMetrics {
    /// The series of `metric` for `key`, if recorded.
    pub fn series(&self, metric: &str, key: &str) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.metric == metric && s.key == key)
    }
}

/// Collects rows keyed by (scheduler, class, metric); a later row for the same key replaces
/// the earlier one.
#[derive(Debug, Default)]
pub(crate) struct ValuesBuilder {
    rows: BTreeMap<(String, String, String), f64>,
}

impl ValuesBuilder {
    /// One row. Panics on a non-finite value: that is a bug in this crate, never a property
    /// of the input (every ratio here has a guarded denominator).
    pub(crate) fn put(&mut self, scheduler: &str, class: &str, metric: &str, value: f64) {
        assert!(
            value.is_finite(),
            "metric {metric} ({scheduler}/{class}) is {value}: a ratio lost its guard"
        );
        self.rows.insert(
            (scheduler.to_owned(), class.to_owned(), metric.to_owned()),
            value,
        );
    }

    /// A count.
    pub(crate) fn count(&mut self, scheduler: &str, class: &str, metric: &str, n: u64) {
        self.put(scheduler, class, metric, n as f64);
    }

    /// A distribution of µs values, in seconds: `NAME.count` always; `NAME.mean`, `.p50`,
    /// `.p90`, `.p99` and `.max` only when something was recorded.
    pub(crate) fn distribution(&mut self, scheduler: &str, class: &str, name: &str, h: &Histogram) {
        self.count(scheduler, class, &format!("{name}.count"), h.count());
        let s = |us: u64| us as f64 / 1e6;
        if let (Some(mean), Some(max)) = (h.mean(), h.max()) {
            self.put(scheduler, class, &format!("{name}.mean"), mean / 1e6);
            self.put(scheduler, class, &format!("{name}.max"), s(max));
        }
        for (p, label) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
            if let Some(q) = h.quantile(p) {
                self.put(scheduler, class, &format!("{name}.{label}"), s(q));
            }
        }
    }

    /// The rows, sorted.
    pub(crate) fn into_values(self) -> Vec<MetricValue> {
        self.rows
            .into_iter()
            .map(|((scheduler, class, metric), value)| MetricValue {
                scheduler,
                class,
                metric,
                value,
            })
            .collect()
    }
}
