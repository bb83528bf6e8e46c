//! What one run measured: [`RunMetrics`], its tidy [`MetricValue`] rows and its [`Series`],
//! and [`ValuesBuilder`], which keeps rows unique and sorted while they are collected.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::quantile::Histogram;
use crate::series::SeriesPoint;

/// One number of a run. `scheduler` is empty for the whole run (not per scheduler),
/// `class` is empty for all classes together; `metric` is a name of `METRICS.md`, with a
/// `.stat` suffix for a statistic (`wait_first_attempt_s.p90`). Never NaN or infinite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// Scheduler (or framework) name, or "" for the whole run.
    pub scheduler: String,
    /// Job class, or "" for all classes.
    pub class: String,
    /// Metric name.
    pub metric: String,
    /// The value.
    pub value: f64,
}

/// A metric over time, one point per step (see [`SeriesPoint`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Metric name (`utilisation_cpu`, `dominant_share`, …).
    pub metric: String,
    /// What it is of: a class, a scheduler, or "" for the whole cell.
    pub key: String,
    /// The step, in µs.
    pub step_us: u64,
    /// Points in time order; a step in which the metric is undefined has no point.
    pub points: Vec<SeriesPoint>,
}

/// Everything a [`crate::MetricsRecorder`] measured in one run. Both vectors are sorted
/// (values by scheduler, class, metric; series by metric, key), so the same run gives the
/// same bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Scalar metrics, one row each.
    pub values: Vec<MetricValue>,
    /// Metrics over time.
    pub series: Vec<Series>,
}

impl RunMetrics {
    /// The value of `metric` for `scheduler` and `class` ("" for all), if measured.
    ///
    /// ```
    /// use omega_metrics::{MetricValue, RunMetrics};
    /// let run = RunMetrics {
    ///     values: vec![MetricValue {
    ///         scheduler: "batch".into(),
    ///         class: String::new(),
    ///         metric: "attempts".into(),
    ///         value: 3.0,
    ///     }],
    ///     series: Vec::new(),
    /// };
    /// assert_eq!(run.get("batch", "", "attempts"), Some(3.0));
    /// assert_eq!(run.get("", "", "attempts"), None);
    /// ```
    pub fn get(&self, scheduler: &str, class: &str, metric: &str) -> Option<f64> {
        self.values
            .binary_search_by(|v| {
                (v.scheduler.as_str(), v.class.as_str(), v.metric.as_str())
                    .cmp(&(scheduler, class, metric))
            })
            .ok()
            .map(|i| self.values[i].value)
    }

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
