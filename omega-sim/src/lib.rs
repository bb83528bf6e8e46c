//! The deterministic discrete-event simulator of monolithic, two-level and Omega scheduling.
//!
//! This crate will hold the event engine, the three architectures, machine failures and the
//! `Recorder` trait through which a simulation reports what happened.
