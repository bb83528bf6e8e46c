//! Inputs a caller may get wrong or that are degenerate: none may panic, and each has a
//! defined answer.

#![allow(clippy::unwrap_used)] // tests may unwrap (see clippy.toml)

use omega_core::*;
use omega_schedulers::*;

fn policies() -> Vec<Box<dyn Policy + Send + Sync>> {
    [
        PolicyConfig::Batch(BatchConfig::default()),
        PolicyConfig::Batch(BatchConfig {
            placement: BatchPlacement::PowerOfChoices,
            choices: 1,
            ..BatchConfig::default()
        }),
        PolicyConfig::Service(ServiceConfig::default()),
        PolicyConfig::Service(ServiceConfig {
            candidate_limit: 0,
            ..ServiceConfig::default()
        }),
        PolicyConfig::MapReduce(MapReduceConfig::default()),
    ]
    .iter()
    .map(|c| c.build().unwrap())
    .collect()
}

fn cell() -> CellState {
    CellState::new((0..6).map(|i| Machine::new("A", 8_000, 16_384, FailureDomain(i % 2)))).unwrap()
}

#[test]
fn out_of_range_and_repeated_pending_indexes_are_ignored() {
    let job = Job::new(JobId(1), "x", 3, Resources::new(1_000, 0, 1_024), 1);
    for p in policies() {
        let d = p.schedule(&cell(), &job, &[2, 7, 2, 0, u32::MAX], &mut policy_rng(1));
        let mut tasks: Vec<u32> = d.transaction.claims.iter().map(|c| c.task.index).collect();
        tasks.sort();
        assert_eq!(tasks, vec![0, 2], "{}", p.name());
        // Think time counts what the caller passed.
        assert!(d.think_time_us >= 5 * 500, "{}", p.name());
    }
}

#[test]
fn an_empty_cell_or_job_places_nothing() {
    let empty = CellState::new([]).unwrap();
    let job = Job::new(JobId(1), "x", 2, Resources::new(1_000, 0, 1_024), 1);
    let none = Job::new(JobId(2), "x", 0, Resources::new(1_000, 0, 1_024), 1);
    for p in policies() {
        let d = p.schedule(&empty, &job, &[0, 1], &mut policy_rng(1));
        assert!(d.transaction.claims.is_empty());
        assert_eq!(d.stats.unplaced, 2);
        let d = p.schedule(&cell(), &none, &[], &mut policy_rng(1));
        assert!(d.transaction.claims.is_empty());
    }
}

#[test]
fn a_malformed_gpu_request_fits_nowhere() {
    let cell =
        CellState::new([Machine::new("C", 8_000, 32_768, FailureDomain(0)).with_gpus(4, "T4")])
            .unwrap();
    let job = Job::new(JobId(1), "x", 1, Resources::new(1_000, 1_500, 1_024), 1);
    for p in policies() {
        let d = p.schedule(&cell, &job, &[0], &mut policy_rng(1));
        assert!(d.transaction.claims.is_empty(), "{}", p.name());
    }
}

#[test]
fn a_task_bigger_than_every_machine_stops_the_job_early() {
    let job = Job::new(JobId(1), "x", 50, Resources::new(9_000, 0, 1_024), 1);
    for p in policies() {
        let d = p.schedule(
            &cell(),
            &job,
            &(0..50).collect::<Vec<_>>(),
            &mut policy_rng(1),
        );
        assert!(d.transaction.claims.is_empty());
        assert_eq!(d.stats.unplaced, 50);
        // One full scan (two for the service policy: candidates, then preemption), not 50.
        assert!(
            d.stats.machines_examined <= 12,
            "{}: {}",
            p.name(),
            d.stats.machines_examined
        );
    }
}

#[test]
fn a_gang_that_only_partly_fits_claims_nothing() {
    let mut job = Job::new(JobId(1), "x", 7, Resources::new(8_000, 0, 1_024), 1);
    job.gang = true;
    for p in policies() {
        let d = p.schedule(
            &cell(),
            &job,
            &(0..7).collect::<Vec<_>>(),
            &mut policy_rng(1),
        );
        assert_eq!(d.transaction.commit, CommitMode::Gang);
        assert!(d.transaction.claims.is_empty(), "{}", p.name());
        assert_eq!(d.stats.unplaced, 7);
        job.tasks = 6;
        let d = p.schedule(
            &cell(),
            &job,
            &(0..6).collect::<Vec<_>>(),
            &mut policy_rng(1),
        );
        assert_eq!(d.transaction.claims.len(), 6, "{}", p.name());
        job.tasks = 7;
    }
}

#[test]
fn tasks_already_running_are_skipped() {
    let job = Job::new(JobId(1), "x", 2, Resources::new(1_000, 0, 1_024), 1);
    let mut txn = Transaction::new(JobId(1));
    txn.push(Claim::new(
        TaskId::new(JobId(1), 0),
        MachineId(0),
        job.task_resources,
        0,
    ));
    let cell = cell().commit(&txn).state;
    for p in policies() {
        let d = p.schedule(&cell, &job, &[0, 1], &mut policy_rng(1));
        let tasks: Vec<u32> = d.transaction.claims.iter().map(|c| c.task.index).collect();
        assert_eq!(tasks, vec![1], "{}", p.name());
    }
}

#[test]
fn service_spreads_without_constraints_when_weighted() {
    // Only the spread term: 6 tasks over 2 racks alternate racks 3 + 3.
    let job = Job::new(JobId(1), "x", 6, Resources::new(1_000, 0, 1_024), 1);
    let config = ServiceConfig {
        weights: ScoreWeights {
            fit: 0,
            balance: 0,
            spread: 1,
            gpu_keep_free: 0,
            gpu_fragmentation: 0,
        },
        ..ServiceConfig::default()
    };
    let d = ServicePolicy::new(config).unwrap().schedule(
        &cell(),
        &job,
        &(0..6).collect::<Vec<_>>(),
        &mut policy_rng(4),
    );
    let rack0 = d
        .transaction
        .claims
        .iter()
        .filter(|c| c.machine.0 % 2 == 0)
        .count();
    assert_eq!(rack0, 3);
}
