//! Cluster specs, workload specs and deterministic job streams for omega experiments.
//!
//! This crate will hold the machine-type and rack layout of a cell (`ClusterSpec`), the job
//! classes and their distributions (`WorkloadSpec`, read from TOML), lazy job streams driven
//! by a portable random generator, prefill, and loaders for real traces.
