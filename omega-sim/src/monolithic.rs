//! Monolithic scheduling: one scheduler with one queue decides for every job, on the whole
//! cell.
//!
//! *Single path*: every job gets the first configured scheduler's policy (and so its think
//! time). *Multi path*: each class keeps its own scheduler's policy (a fast path for batch),
//! but all jobs still wait in the one queue (head-of-line blocking). The scheduler is called
//! `monolithic` in every output.

use crate::architecture::{Architecture, Layout};
use crate::config::SimConfig;
use crate::recorder::Recorder;

/// The monolithic architecture: shared-state defaults, one scheduler.
#[derive(Debug)]
pub(crate) struct Monolithic;

impl<R: Recorder> Architecture<R> for Monolithic {}

/// One scheduler slot; classes keep their own policy on the multi path.
pub(crate) fn build<R: Recorder>(
    cfg: &SimConfig,
    multi_path: bool,
) -> (Box<dyn Architecture<R>>, Layout) {
    let mut layout = Layout {
        names: vec!["monolithic".to_owned()],
        ..Layout::default()
    };
    for i in 0..cfg.architecture.schedulers.len() {
        let policy = if multi_path { i } else { 0 };
        layout.route_classes(cfg, i, (0, 1, policy));
    }
    (Box::new(Monolithic), layout)
}
