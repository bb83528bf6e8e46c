//! The transaction log written as JSON and read back replays to the same state.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use omega_core::*;

#[test]
fn log_round_trips_through_json_and_replays() {
    let initial = CellState::new([
        Machine::new("A", 8_000, 16_384, FailureDomain(0)),
        Machine::new("C", 8_000, 32_768, FailureDomain(1))
            .with_gpus(2, "T4")
            .with_label("ssd"),
    ])
    .unwrap();
    let mut j = Journal::new(initial.clone());
    let mut txn = Transaction::new(JobId(1)).with_commit(CommitMode::Gang);
    txn.push(
        Claim::new(
            TaskId::new(JobId(1), 0),
            MachineId(1),
            Resources::new(1_000, 460, 2_048),
            0,
        )
        .with_gpus(GpuDevices::one(1)),
    );
    txn.push(Claim::new(
        TaskId::new(JobId(1), 1),
        MachineId(0),
        Resources::new(1_000, 0, 2_048),
        0,
    ));
    j.commit(&txn);
    let mut bad = Transaction::new(JobId(2)).with_conflicts(ConflictMode::Coarse);
    bad.push(Claim::new(
        TaskId::new(JobId(2), 0),
        MachineId(0),
        Resources::new(1_000, 0, 1),
        0,
    ));
    assert_eq!(j.commit(&bad).rejected[0].reason, Conflict::VersionChanged);
    j.release(&[TaskId::new(JobId(1), 1)]).unwrap();
    j.fail_machine(MachineId(1)).unwrap();
    j.recover_machine(MachineId(1)).unwrap();
    j.add_machine(Machine::new("B", 16_000, 32_768, FailureDomain(2)))
        .unwrap();
    j.remove_machine(MachineId(0)).unwrap();

    let json = serde_json::to_string(j.log()).unwrap();
    let back: Vec<LogRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, j.log());
    let replayed = replay(&initial, &back).unwrap();
    assert_eq!(replayed.seq(), j.state().seq());
    for id in 0..3 {
        assert_eq!(
            replayed.state(MachineId(id)),
            j.state().state(MachineId(id))
        );
    }

    // A log replayed onto another initial state diverges and says where.
    let other = CellState::new([Machine::new("A", 1_000, 1_024, FailureDomain(0))]).unwrap();
    assert_eq!(
        replay(&other, &back).unwrap_err(),
        ReplayError::Diverged { record: 0 }
    );
}
