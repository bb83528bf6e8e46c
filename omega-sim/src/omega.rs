//! Shared-state (Omega) scheduling: every scheduler decides on its own snapshot of the whole
//! cell and commits an optimistic transaction; conflicts are found at commit.
//!
//! A configured scheduler with `count = n` runs as `n` copies (`name-0` … `name-{n-1}`),
//! which share its classes' jobs by a hash of the job id. Conflict detection (fine or
//! coarse) and commit mode (incremental or gang) are the policy's, carried by its
//! transactions; the engine's defaults do the rest.

use crate::architecture::{Architecture, Layout};
use crate::config::SimConfig;
use crate::recorder::Recorder;

/// The shared-state architecture: every default of [`Architecture`].
#[derive(Debug)]
pub(crate) struct Omega;

impl<R: Recorder> Architecture<R> for Omega {}

/// One slot per scheduler copy.
pub(crate) fn build<R: Recorder>(cfg: &SimConfig) -> (Box<dyn Architecture<R>>, Layout) {
    let mut layout = Layout::default();
    for (i, spec) in cfg.architecture.schedulers.iter().enumerate() {
        let first = layout.names.len();
        let copies = spec.count;
        for k in 0..copies {
            layout.names.push(if copies > 1 {
                format!("{}-{k}", spec.name)
            } else {
                spec.name.clone()
            });
        }
        layout.route_classes(cfg, i, (first, copies, i));
    }
    (Box::new(Omega), layout)
}
