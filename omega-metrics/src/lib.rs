//! Metrics for omega experiments: recorders, summaries, CSV/JSON writers, plots and reports.
//!
//! [`MetricsRecorder`] is a streaming [`omega_sim::Recorder`]: fed the facts of one run, it
//! measures what the Omega paper reports (wait time, scheduler busyness with its wasted part,
//! conflict fraction, utilisation) and more (throughput, censored and abandoned jobs,
//! failures, offers, DRF fairness), in memory that follows the jobs alive at once, never the
//! number of events. [`MetricsRecorder::finish`] returns [`RunMetrics`]: tidy rows and time
//! series, sorted, so the same run gives the same bytes. `METRICS.md` defines every metric.

// The streaming recorder and what it measures.
mod daily;
mod fairness;
mod groups;
mod id_map;
mod output;
mod quantile;
mod recorder;
mod run_metrics;
mod series;

pub use daily::{DAY_US, day_count, median, median_absolute_deviation};
pub use fairness::{dominant_share, jain_index};
pub use quantile::{Histogram, RELATIVE_ERROR};
pub use recorder::{MetricsOptions, MetricsRecorder};
pub use run_metrics::{MetricValue, RunMetrics, Series};
pub use series::{SeriesPoint, TARGET_POINTS, default_step_us};
// End of the streaming recorder's block.
