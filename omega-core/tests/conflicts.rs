//! One test per conflict reason and per commit mode, on the seed's three machine types.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use omega_core::*;

const GIB: u64 = 1024;

/// Machine 0: A (8 cores, 16 GiB), 1: B (16 cores, 32 GiB), 2: C (8 cores, 2 GPUs, 32 GiB).
fn cell() -> CellState {
    CellState::new([
        Machine::new("A", 8_000, 16 * GIB, FailureDomain(0)),
        Machine::new("B", 16_000, 32 * GIB, FailureDomain(0)),
        Machine::new("C", 8_000, 32 * GIB, FailureDomain(1)).with_gpus(2, "T4"),
    ])
    .unwrap()
}

fn task(job: u64, index: u32) -> TaskId {
    TaskId::new(JobId(job), index)
}

fn claim(t: TaskId, m: u32, cpu_cores: u64, seen: u64) -> Claim {
    Claim::new(
        t,
        MachineId(m),
        Resources::new(cpu_cores * 1000, 0, GIB),
        seen,
    )
}

fn one(c: Claim, conflicts: ConflictMode) -> Transaction {
    let mut txn = Transaction::new(c.task.job).with_conflicts(conflicts);
    txn.push(c);
    txn
}

fn reason(state: &CellState, txn: &Transaction) -> Conflict {
    let commit = state.commit(txn);
    assert!(commit.accepted.is_empty(), "expected a conflict");
    assert_eq!(
        commit.state.seq(),
        state.seq(),
        "a rejected commit changes nothing"
    );
    commit.rejected[0].reason
}

#[test]
fn machine_missing() {
    let c = cell();
    assert_eq!(
        reason(&c, &one(claim(task(1, 0), 3, 1, 0), ConflictMode::Fine)),
        Conflict::MachineMissing
    );
    let (removed, _) = c.remove_machine(MachineId(0)).unwrap();
    assert_eq!(
        reason(
            &removed,
            &one(claim(task(1, 0), 0, 1, 0), ConflictMode::Fine)
        ),
        Conflict::MachineMissing
    );
}

#[test]
fn machine_down() {
    let (down, _) = cell().fail_machine(MachineId(1)).unwrap();
    // The check comes before the version check, so even a fresh version conflicts.
    let seen = down.machine(MachineId(1)).unwrap().version();
    assert_eq!(
        reason(
            &down,
            &one(claim(task(1, 0), 1, 1, seen), ConflictMode::Coarse)
        ),
        Conflict::MachineDown
    );
}

#[test]
fn version_changed_only_in_coarse_mode() {
    let c = cell();
    let first = c
        .commit(&one(claim(task(1, 0), 0, 1, 0), ConflictMode::Fine))
        .state;
    let stale = claim(task(2, 0), 0, 1, 0);
    assert_eq!(
        reason(&first, &one(stale.clone(), ConflictMode::Coarse)),
        Conflict::VersionChanged
    );
    assert_eq!(
        first.commit(&one(stale, ConflictMode::Fine)).accepted,
        vec![0]
    );
}

#[test]
fn insufficient_resources() {
    let c = cell();
    // 9 cores on an 8-core machine.
    assert_eq!(
        reason(&c, &one(claim(task(1, 0), 0, 9, 0), ConflictMode::Fine)),
        Conflict::InsufficientResources
    );
    // Two claims of one transaction see each other: 5 + 5 cores do not fit in 8.
    let mut txn = Transaction::new(JobId(1));
    txn.push(claim(task(1, 0), 0, 5, 0));
    txn.push(claim(task(1, 1), 0, 5, 0));
    let commit = c.commit(&txn);
    assert_eq!(commit.accepted, vec![0]);
    assert_eq!(commit.rejected[0].reason, Conflict::InsufficientResources);
}

#[test]
fn two_half_free_gpus_do_not_make_one_free_gpu() {
    let c = cell();
    let frac = |t, d| {
        Claim::new(t, MachineId(2), Resources::new(100, 500, 100), 0).with_gpus(GpuDevices::one(d))
    };
    let mut txn = Transaction::new(JobId(1));
    txn.push(frac(task(1, 0), 0));
    txn.push(frac(task(1, 1), 1));
    let half = c.commit(&txn).state;
    assert_eq!(half.free(MachineId(2)).unwrap().gpu_milli, 1_000);
    let whole = Claim::new(task(2, 0), MachineId(2), Resources::new(100, 1_000, 100), 1)
        .with_gpus(GpuDevices::one(0));
    assert_eq!(
        reason(&half, &one(whole, ConflictMode::Fine)),
        Conflict::InsufficientResources
    );
    // A fraction still fits on one half-free device.
    assert_eq!(
        half.commit(&one(frac(task(3, 0), 1), ConflictMode::Fine))
            .accepted,
        vec![0]
    );
}

#[test]
fn malformed_claims_are_invalid() {
    let c = cell();
    let bad_shape = Claim::new(task(1, 0), MachineId(2), Resources::new(1, 1_500, 1), 0)
        .with_gpus(GpuDevices::one(0).with(1));
    assert_eq!(
        reason(&c, &one(bad_shape, ConflictMode::Fine)),
        Conflict::Invalid(InvalidClaim::GpuRequestShape)
    );
    let no_device = Claim::new(task(1, 0), MachineId(0), Resources::new(1, 1_000, 1), 0)
        .with_gpus(GpuDevices::one(0));
    assert_eq!(
        reason(&c, &one(no_device, ConflictMode::Fine)),
        Conflict::Invalid(InvalidClaim::GpuDevices)
    );
    let placed = c
        .commit(&one(claim(task(1, 0), 1, 1, 0), ConflictMode::Fine))
        .state;
    assert_eq!(
        reason(
            &placed,
            &one(claim(task(1, 0), 0, 1, 0), ConflictMode::Fine)
        ),
        Conflict::Invalid(InvalidClaim::TaskAlreadyPlaced)
    );
}

#[test]
fn preemption_evicts_lower_priority_victims() {
    let c = cell();
    let low = claim(task(1, 0), 0, 6, 0).with_priority(Priority(1));
    let loaded = c.commit(&one(low, ConflictMode::Fine)).state;
    let high = claim(task(2, 0), 0, 4, 1)
        .with_priority(Priority(5))
        .preempting([task(1, 0)]);
    let commit = loaded.commit(&one(high, ConflictMode::Coarse));
    assert_eq!(commit.accepted, vec![0]);
    assert_eq!(commit.preempted.len(), 1);
    assert_eq!(commit.preempted[0].0, task(1, 0));
    assert!(commit.state.placement(task(1, 0)).is_none());
    assert_eq!(commit.state.free(MachineId(0)).unwrap().cpu_milli, 4_000);
}

#[test]
fn victim_gone() {
    let c = cell();
    let low = claim(task(1, 0), 0, 6, 0).with_priority(Priority(1));
    let loaded = c.commit(&one(low, ConflictMode::Fine)).state;
    // Not lower priority.
    let equal = claim(task(2, 0), 0, 4, 1)
        .with_priority(Priority(1))
        .preempting([task(1, 0)]);
    assert_eq!(
        reason(&loaded, &one(equal, ConflictMode::Fine)),
        Conflict::VictimGone
    );
    // On another machine.
    let elsewhere = claim(task(2, 0), 1, 4, 0)
        .with_priority(Priority(9))
        .preempting([task(1, 0)]);
    assert_eq!(
        reason(&loaded, &one(elsewhere, ConflictMode::Fine)),
        Conflict::VictimGone
    );
    // Already finished.
    let (released, _) = loaded.release(task(1, 0)).unwrap();
    let late = claim(task(2, 0), 0, 4, 2)
        .with_priority(Priority(9))
        .preempting([task(1, 0)]);
    assert_eq!(
        reason(&released, &one(late, ConflictMode::Fine)),
        Conflict::VictimGone
    );
}

#[test]
fn incremental_accepts_the_claims_that_pass() {
    let c = cell();
    let mut txn = Transaction::new(JobId(1));
    txn.push(claim(task(1, 0), 0, 2, 0));
    txn.push(claim(task(1, 1), 7, 2, 0));
    txn.push(claim(task(1, 2), 1, 2, 0));
    let commit = c.commit(&txn);
    assert_eq!(commit.accepted, vec![0, 2]);
    assert_eq!(commit.rejected.len(), 1);
    assert_eq!(commit.rejected[0].claim, 1);
    assert!(!commit.aborted);
    assert_eq!(commit.state.task_count(), 2);
    assert_eq!(commit.state.seq(), 1);
}

#[test]
fn gang_accepts_all_or_nothing() {
    let c = cell();
    let mut txn = Transaction::new(JobId(1)).with_commit(CommitMode::Gang);
    txn.push(claim(task(1, 0), 0, 2, 0));
    txn.push(claim(task(1, 1), 7, 2, 0));
    txn.push(claim(task(1, 2), 1, 2, 0));
    let commit = c.commit(&txn);
    assert!(commit.aborted);
    assert!(commit.accepted.is_empty());
    assert_eq!(
        commit.rejected.len(),
        1,
        "only the conflicting claim is named"
    );
    assert_eq!(commit.state.task_count(), 0);
    assert_eq!(commit.state.machine(MachineId(0)).unwrap().version(), 0);
    txn.claims.remove(1);
    let commit = c.commit(&txn);
    assert_eq!(commit.accepted, vec![0, 1]);
}

#[test]
fn failure_and_recovery_bump_versions_and_totals() {
    let c = cell();
    let loaded = c
        .commit(&one(claim(task(1, 0), 1, 3, 0), ConflictMode::Fine))
        .state;
    let (down, evicted) = loaded.fail_machine(MachineId(1)).unwrap();
    assert_eq!(
        evicted.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![task(1, 0)]
    );
    assert_eq!(down.machine(MachineId(1)).unwrap().version(), 2);
    assert_eq!(down.capacity().cpu_milli, 16_000);
    assert_eq!(down.allocated(), Resources::ZERO);
    assert_eq!(
        down.fail_machine(MachineId(1)).unwrap_err(),
        CoreError::AlreadyDown(MachineId(1))
    );
    let up = down.recover_machine(MachineId(1)).unwrap();
    assert_eq!(up.machine(MachineId(1)).unwrap().version(), 3);
    assert_eq!(up.capacity().cpu_milli, 32_000);
    assert_eq!(
        up.recover_machine(MachineId(1)).unwrap_err(),
        CoreError::NotDown(MachineId(1))
    );
    assert_eq!(
        up.release(task(1, 0)).unwrap_err(),
        CoreError::UnknownTask(task(1, 0))
    );
}

#[test]
fn queries_by_machine_and_domain() {
    let c = cell();
    let mut txn = Transaction::new(JobId(1));
    for i in 0..3 {
        txn.push(claim(task(1, i), 1, 1, 0));
    }
    txn.push(claim(task(2, 0), 0, 1, 0));
    let s = c.commit(&txn).state;
    let on_b: Vec<TaskId> = s.tasks_on(MachineId(1)).map(|(t, _)| t).collect();
    assert_eq!(on_b, vec![task(1, 0), task(1, 1), task(1, 2)]);
    assert_eq!(s.placement(task(2, 0)).unwrap().machine, MachineId(0));
    assert_eq!(
        s.machines_in_domain(FailureDomain(0)).collect::<Vec<_>>(),
        vec![MachineId(0), MachineId(1)]
    );
    assert_eq!(s.failure_domains().count(), 2);
    assert_eq!(s.up_machines().count(), 3);
    assert_eq!(s.allocated().cpu_milli, 4_000);
    assert_eq!(s.capacity(), Resources::new(32_000, 2_000, 80 * GIB));
}

#[test]
fn inconsistent_machines_are_rejected() {
    let mut m = Machine::new("X", 1_000, 1_024, FailureDomain(0));
    m.capacity.gpu_milli = 500;
    assert!(matches!(
        CellState::new([m]),
        Err(CoreError::InvalidMachine { .. })
    ));
    let nine = Machine::new("Y", 1_000, 1_024, FailureDomain(0)).with_gpus(9, "X");
    assert!(matches!(
        cell().add_machine(nine),
        Err(CoreError::InvalidMachine { .. })
    ));
}
