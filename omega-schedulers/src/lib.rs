//! Scheduling policies for omega: batch, service and MapReduce, and a DRF allocator.
//!
//! Every policy will be a pure function of a snapshot, a job's pending tasks and its own
//! random stream, returning a transaction and the simulated time it took to decide.
