//! What one run measured, as plain data: named values ([`MetricValue`]) and time series
//! ([`Series`]). Writers, charts and the report read only these.

use serde::Serialize;

/// Everything one run measured. Both lists are sorted, so their order is deterministic.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunMetrics {
    /// Named values, sorted by (scheduler, class, metric).
    pub values: Vec<MetricValue>,
    /// Time series, sorted by (metric, key).
    pub series: Vec<Series>,
}

impl RunMetrics {
    /// The value of `metric` for `scheduler` and `class` (`""` = not per scheduler / all
    /// classes).
    pub fn get(&self, scheduler: &str, class: &str, metric: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|v| v.scheduler == scheduler && v.class == class && v.metric == metric)
            .map(|v| v.value)
    }
}

/// One measured number.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricValue {
    /// The scheduler it belongs to, or `""` for the whole run.
    pub scheduler: String,
    /// The job class it belongs to, or `""` for all classes.
    pub class: String,
    /// The metric's name (see METRICS.md), with a `.stat` suffix for statistics.
    pub metric: String,
    /// The value; never NaN or infinite.
    pub value: f64,
}

/// A metric over simulated time, at a fixed step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// The metric's name.
    pub metric: String,
    /// What it is of (a class, a user), or `""`.
    pub key: String,
    /// The step between points, in µs.
    pub step_us: u64,
    /// The points, in time order.
    pub points: Vec<SeriesPoint>,
}

/// One point of a [`Series`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// The start of the step, in simulated µs.
    pub at_us: u64,
    /// The value over the step.
    pub value: f64,
}
