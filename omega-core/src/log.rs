//! The transaction log: every state change as an append-only record, and its replay.
//!
//! A [`Journal`] pairs a [`CellState`] with the [`LogRecord`]s that produced it from an
//! initial state; [`replay`] applies a log to the initial state again and checks that every
//! commit has the outcome the log recorded, so a replayed state is exactly the original.

use crate::{
    CellState, Commit, CoreError, Machine, MachineId, Outcome, Placement, TaskId, Transaction,
};

/// One state change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LogRecord {
    /// A transaction was committed with this outcome.
    Commit {
        /// The transaction as submitted (boxed: it is far larger than the other records).
        transaction: Box<Transaction>,
        /// What the commit answered.
        outcome: Outcome,
    },
    /// Tasks ended together.
    Release {
        /// The tasks.
        tasks: Vec<TaskId>,
    },
    /// A machine failed.
    FailMachine {
        /// The machine.
        machine: MachineId,
    },
    /// A machine recovered.
    RecoverMachine {
        /// The machine.
        machine: MachineId,
    },
    /// A machine was added and got id `machine`.
    AddMachine {
        /// Its description.
        spec: Machine,
        /// The id it got.
        machine: MachineId,
    },
    /// A machine was removed.
    RemoveMachine {
        /// The machine.
        machine: MachineId,
    },
}

/// Why a log could not be replayed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// A direct change failed where it had succeeded.
    #[error("record {record}: {source}")]
    Core {
        /// Index of the record.
        record: usize,
        /// The error.
        source: CoreError,
    },
    /// A commit had another outcome than the one recorded: the log does not belong to
    /// this initial state.
    #[error("record {record}: the commit's outcome differs from the logged one")]
    Diverged {
        /// Index of the record.
        record: usize,
    },
}

/// Applies `log` to `initial` and returns the final state.
///
/// ```
/// use omega_core::*;
/// let cell = CellState::new([Machine::new("A", 8_000, 16_384, FailureDomain(0))])?;
/// let mut journal = Journal::new(cell.clone());
/// let mut txn = Transaction::new(JobId(1));
/// txn.push(Claim::new(TaskId::new(JobId(1), 0), MachineId(0), Resources::new(1_000, 0, 512), 0));
/// journal.commit(&txn);
/// journal.fail_machine(MachineId(0))?;
/// let replayed = replay(&cell, journal.log()).unwrap();
/// assert_eq!(replayed.machine(MachineId(0)).unwrap().version(), 2);
/// assert_eq!(replayed.seq(), journal.state().seq());
/// # Ok::<(), CoreError>(())
/// ```
pub fn replay(initial: &CellState, log: &[LogRecord]) -> Result<CellState, ReplayError> {
    // The replayed state is the only owner of what it changes: commits go in place.
    let mut state = initial.clone();
    for (record, entry) in log.iter().enumerate() {
        let core = |source| ReplayError::Core { record, source };
        match entry {
            LogRecord::Commit {
                transaction,
                outcome,
            } => {
                if state.commit_in_place(transaction).outcome() != *outcome {
                    return Err(ReplayError::Diverged { record });
                }
            }
            LogRecord::Release { tasks } => {
                state
                    .release_all_in_place(tasks.iter().copied())
                    .map_err(core)?;
            }
            LogRecord::FailMachine { machine } => {
                state.fail_machine_in_place(*machine).map_err(core)?;
            }
            LogRecord::RecoverMachine { machine } => {
                state.recover_machine_in_place(*machine).map_err(core)?;
            }
            LogRecord::AddMachine { spec, machine } => {
                let (next, id) = state.add_machine(spec.clone()).map_err(core)?;
                if id != *machine {
                    return Err(ReplayError::Diverged { record });
                }
                state = next;
            }
            LogRecord::RemoveMachine { machine } => {
                state = state.remove_machine(*machine).map_err(core)?.0;
            }
        }
    }
    Ok(state)
}

/// A cell state together with the log of every change made through it.
#[derive(Clone, Debug)]
pub struct Journal {
    state: CellState,
    log: Vec<LogRecord>,
}

impl Journal {
    /// A journal starting at `initial` with an empty log.
    pub fn new(initial: CellState) -> Self {
        Self {
            state: initial,
            log: Vec::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> &CellState {
        &self.state
    }

    /// The records so far, oldest first.
    pub fn log(&self) -> &[LogRecord] {
        &self.log
    }

    /// Commits `txn`, logs it with its outcome, and returns the commit (whose state is an
    /// O(1) clone of the journal's). The journal owns its state, so it commits in place
    /// ([`CellState::commit_in_place`]).
    pub fn commit(&mut self, txn: &Transaction) -> Commit {
        let applied = self.state.commit_in_place(txn);
        self.log.push(LogRecord::Commit {
            transaction: Box::new(txn.clone()),
            outcome: applied.outcome(),
        });
        applied.with_state(self.state.clone())
    }

    /// Releases tasks that ended together (see [`CellState::release_all_in_place`]).
    pub fn release(&mut self, tasks: &[TaskId]) -> Result<Vec<(TaskId, Placement)>, CoreError> {
        let released = self.state.release_all_in_place(tasks.iter().copied())?;
        self.log.push(LogRecord::Release {
            tasks: tasks.to_vec(),
        });
        Ok(released)
    }

    /// Fails a machine (see [`CellState::fail_machine_in_place`]).
    pub fn fail_machine(
        &mut self,
        machine: MachineId,
    ) -> Result<Vec<(TaskId, Placement)>, CoreError> {
        let evicted = self.state.fail_machine_in_place(machine)?;
        self.log.push(LogRecord::FailMachine { machine });
        Ok(evicted)
    }

    /// Recovers a machine (see [`CellState::recover_machine_in_place`]).
    pub fn recover_machine(&mut self, machine: MachineId) -> Result<(), CoreError> {
        self.state.recover_machine_in_place(machine)?;
        self.log.push(LogRecord::RecoverMachine { machine });
        Ok(())
    }

    /// Adds a machine (see [`CellState::add_machine`]).
    pub fn add_machine(&mut self, spec: Machine) -> Result<MachineId, CoreError> {
        let (next, machine) = self.state.add_machine(spec.clone())?;
        self.state = next;
        self.log.push(LogRecord::AddMachine { spec, machine });
        Ok(machine)
    }

    /// Removes a machine (see [`CellState::remove_machine`]).
    pub fn remove_machine(
        &mut self,
        machine: MachineId,
    ) -> Result<Vec<(TaskId, Placement)>, CoreError> {
        let (next, evicted) = self.state.remove_machine(machine)?;
        self.state = next;
        self.log.push(LogRecord::RemoveMachine { machine });
        Ok(evicted)
    }
}
