//! Errors of cell-state operations that name something that is not there or not allowed.
//!
//! Conflicts at commit time are not errors: they are part of a [`Commit`](crate::Commit)'s
//! outcome (see [`Conflict`](crate::Conflict)).

use crate::{MachineId, TaskId};

/// What went wrong with a direct cell-state operation (release, failure, recovery, resize).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// No machine has this id (or it was removed).
    #[error("machine {0} is not in the cell")]
    UnknownMachine(MachineId),
    /// The task is not running anywhere.
    #[error("task {0} is not running")]
    UnknownTask(TaskId),
    /// The machine is down already and cannot fail again.
    #[error("machine {0} is already down")]
    AlreadyDown(MachineId),
    /// The machine is up and cannot recover.
    #[error("machine {0} is up, so it cannot recover")]
    NotDown(MachineId),
    /// The machine description is inconsistent.
    #[error("invalid machine: {reason}")]
    InvalidMachine {
        /// What is inconsistent.
        reason: String,
    },
    /// The cell already has `u32::MAX` machine slots.
    #[error("the cell cannot hold more machines")]
    TooManyMachines,
}
