//! Metrics for omega experiments: recorders, summaries, CSV/JSON writers, plots and reports.
//!
//! An experiment runs in three steps: [`run_plan`] runs an [`omega_sim::ExperimentPlan`]'s
//! simulations (in parallel, results in plan order), each with a [`MetricsRecorder`];
//! [`write_outputs`] writes `summary.json`, `results.csv`, `series.csv`, `cost.json`, one SVG
//! chart per dashboard panel in `charts/` and a self-contained `report.html`.
//!
//! ```no_run
//! use omega_metrics::{NoProgress, ReportMeta, run_plan, write_outputs};
//! use omega_sim::{ExperimentPlan, PlanOptions};
//! let text = std::fs::read_to_string("configs/experiments/architectures.toml")?;
//! let options = PlanOptions { quick: true, ..PlanOptions::default() };
//! let plan = ExperimentPlan::from_toml("architectures", &text, &options)?;
//! let started = std::time::Instant::now();
//! let outcomes = run_plan(&plan, 2, &NoProgress)?;
//! let out = std::path::Path::new("target/experiments/architectures");
//! write_outputs(out, &plan, &outcomes, started.elapsed().as_secs_f64(), 2, &ReportMeta::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod charts;
pub mod dashboard;
pub mod files;
pub mod report;
mod run;
mod values;

// The streaming recorder and what it measures (METRICS.md).
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
pub use series::{TARGET_POINTS, default_step_us};

/// The definition of every metric (the crate's `METRICS.md`).
#[doc = include_str!("../METRICS.md")]
pub mod definitions {}
// End of the streaming recorder's block.

use std::path::{Path, PathBuf};

pub use files::{Cost, SUMMARY_SCHEMA, Summary};
pub use report::ReportMeta;
pub use run::{NoProgress, Progress, RunCost, RunOutcome, run_one, run_plan};
pub use values::{MetricValue, RunMetrics, Series, SeriesPoint};

/// Errors of running an experiment or writing its outputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A run could not be built or simulated.
    #[error("run `{run}`: {source}")]
    Run {
        /// The run's id.
        run: String,
        /// Why.
        source: omega_sim::SimError,
    },
    /// The thread pool could not be built.
    #[error("thread pool: {0}")]
    Threads(String),
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// JSON could not be written.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV could not be written.
    #[error("CSV: {0}")]
    Csv(String),
    /// A chart could not be drawn.
    #[error("chart: {0}")]
    Chart(String),
}

impl From<csv::Error> for MetricsError {
    fn from(e: csv::Error) -> Self {
        Self::Csv(e.to_string())
    }
}

/// The files [`write_outputs`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputPaths {
    /// The folder.
    pub dir: PathBuf,
    /// `report.html`.
    pub report: PathBuf,
    /// The charts, one per panel.
    pub charts: Vec<PathBuf>,
}

/// Writes every output of an experiment into `dir` (created if missing).
pub fn write_outputs(
    dir: &Path,
    plan: &omega_sim::ExperimentPlan,
    outcomes: &[RunOutcome],
    total_wall_s: f64,
    jobs: usize,
    meta: &ReportMeta,
) -> Result<OutputPaths, MetricsError> {
    let charts_dir = dir.join("charts");
    std::fs::create_dir_all(&charts_dir).map_err(|source| MetricsError::Io {
        path: charts_dir.clone(),
        source,
    })?;
    let summary = Summary::new(plan, outcomes);
    files::write_file(dir, "summary.json", &files::summary_json(&summary)?)?;
    files::write_file(
        dir,
        "results.csv",
        &files::results_csv(&plan.name, outcomes)?,
    )?;
    files::write_file(dir, "series.csv", &files::series_csv(&plan.name, outcomes)?)?;
    let cost = Cost::new(outcomes, total_wall_s, jobs);
    let mut cost_text = serde_json::to_string_pretty(&cost)?;
    cost_text.push('\n');
    files::write_file(dir, "cost.json", &cost_text)?;
    let panels = dashboard::panels(&plan.sweep_keys, outcomes);
    let mut charts = Vec::new();
    for p in &panels {
        let name = format!("{}.svg", p.id);
        files::write_file(&charts_dir, &name, &charts::render_panel(p)?)?;
        charts.push(charts_dir.join(name));
    }
    let html = report::report_html(plan, outcomes, &panels, &cost, meta)?;
    files::write_file(dir, "report.html", &html)?;
    Ok(OutputPaths {
        dir: dir.to_path_buf(),
        report: dir.join("report.html"),
        charts,
    })
}
