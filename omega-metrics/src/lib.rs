//! Metrics for omega experiments: recorders, summaries, CSV/JSON writers, plots and reports.
//!
//! This crate will turn what the simulator records into the numbers the Omega paper reports
//! (wait time, busyness, conflict fraction, utilisation, DRF fairness) and into an HTML report.
