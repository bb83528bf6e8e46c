//! Criterion benchmarks of omega-core: snapshot clone, a 16-claim incremental commit, and
//! `fail_machine` on a machine running 50 tasks, at 1k, 10k and 100k machines; and a
//! simulator's hot path, a commit of 16 claims and the release of those 16 tasks on a state
//! nobody else holds (`owned_commit_16`, `owned_release_16`), written the old way (`replace`:
//! `cell = cell.commit(&txn).state`) and in place.
//!
//! Targets (issue 2): the 100k clone within 1.5x of the 1k clone; the commit under 20 µs at
//! 100k machines.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use omega_core::*;

/// A cell of `n` machines of the seed's types (A, B, C in turn, 40 a rack), each running
/// `tasks_per_machine` small tasks.
fn loaded_cell(n: u32, tasks_per_machine: u32) -> CellState {
    let machines = (0..n).map(|i| match i % 3 {
        0 => Machine::new("A", 8_000, 16_384, FailureDomain(i / 40)),
        1 => Machine::new("B", 16_000, 32_768, FailureDomain(i / 40)),
        _ => Machine::new("C", 8_000, 32_768, FailureDomain(i / 40)).with_gpus(2, "T4"),
    });
    let mut cell = CellState::new(machines).expect("valid machines");
    for (job, chunk) in (0..n).collect::<Vec<_>>().chunks(1_000).enumerate() {
        let job = job as u64;
        let mut txn = Transaction::new(JobId(job));
        for &m in chunk {
            for t in 0..tasks_per_machine {
                txn.push(Claim::new(
                    TaskId::new(JobId(job), m * tasks_per_machine + t),
                    MachineId(m),
                    Resources::new(100, 0, 128),
                    0,
                ));
            }
        }
        cell = cell.commit(&txn).state;
    }
    cell
}

/// 16 claims of one new job on machines spread over the cell.
fn sixteen_claims(cell: &CellState) -> Transaction {
    let n = cell.slot_count();
    let mut txn = Transaction::new(JobId(1 << 40));
    for i in 0..16u32 {
        let m = MachineId((i.wrapping_mul(2_654_435_761) ^ 0x5bd1) % n);
        let seen = cell.state(m).map_or(0, |s| s.version);
        txn.push(Claim::new(
            TaskId::new(JobId(1 << 40), i),
            m,
            Resources::new(500, 0, 512),
            seen,
        ));
    }
    txn
}

fn bench_core(c: &mut Criterion) {
    let sizes = [1_000u32, 10_000, 100_000];
    let cells: Vec<(u32, CellState)> = sizes.iter().map(|&n| (n, loaded_cell(n, 5))).collect();

    let mut group = c.benchmark_group("snapshot_clone");
    for (n, cell) in &cells {
        group.bench_with_input(BenchmarkId::from_parameter(n), cell, |b, cell| {
            b.iter(|| black_box(cell.clone()))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("commit_16_incremental");
    for (n, cell) in &cells {
        let txn = sixteen_claims(cell);
        assert_eq!(cell.commit(&txn).accepted.len(), 16, "every claim fits");
        group.bench_with_input(BenchmarkId::from_parameter(n), cell, |b, cell| {
            b.iter(|| black_box(cell.commit(black_box(&txn))))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("fail_machine_50_tasks");
    for &n in &sizes {
        let cell = loaded_cell(n, 50);
        group.bench_with_input(BenchmarkId::from_parameter(n), &cell, |b, cell| {
            b.iter(|| black_box(cell.fail_machine(MachineId(n / 2)).expect("machine is up")))
        });
    }
    group.finish();
}

/// Times `commit` and `release` separately, alternating on one state that only the
/// benchmark holds, so the state is the same before every commit: `routine` gets the
/// state and the iteration count and returns the total time of its commits and of its
/// releases.
fn bench_owned(
    c: &mut Criterion,
    cells: &[(u32, CellState)],
    name: &str,
    mut routine: impl FnMut(&mut CellState, &Transaction, &[TaskId], u64) -> [Duration; 2],
) {
    for (n, cell) in cells {
        let txn = sixteen_claims(cell);
        let tasks: Vec<TaskId> = txn.claims.iter().map(|c| c.task).collect();
        // A state built the same way as `cell`, shared with nobody.
        let mut owned = loaded_cell(*n, 5);
        let mut group = c.benchmark_group("owned_commit_16");
        group.bench_function(BenchmarkId::new(name, n), |b| {
            b.iter_custom(|iters| routine(&mut owned, &txn, &tasks, iters)[0])
        });
        group.finish();
        let mut group = c.benchmark_group("owned_release_16");
        group.bench_function(BenchmarkId::new(name, n), |b| {
            b.iter_custom(|iters| routine(&mut owned, &txn, &tasks, iters)[1])
        });
        group.finish();
        assert_eq!(
            owned.task_count(),
            cell.task_count(),
            "every commit released"
        );
    }
}

/// The simulator's pattern before in-place commits: every commit and release makes a new
/// state from the old one, which is then dropped.
fn replace_routine(
    cell: &mut CellState,
    txn: &Transaction,
    tasks: &[TaskId],
    iters: u64,
) -> [Duration; 2] {
    let mut times = [Duration::ZERO; 2];
    for _ in 0..iters {
        let start = Instant::now();
        let commit = cell.commit(black_box(txn));
        *cell = commit.state;
        times[0] += start.elapsed();
        assert_eq!(commit.accepted.len(), 16);
        let start = Instant::now();
        let (next, released) = cell.release_all(tasks.iter().copied()).expect("running");
        *cell = next;
        times[1] += start.elapsed();
        black_box(released);
    }
    times
}

/// The simulator's pattern with in-place commits: the one state is changed where it is.
fn in_place_routine(
    cell: &mut CellState,
    txn: &Transaction,
    tasks: &[TaskId],
    iters: u64,
) -> [Duration; 2] {
    let mut times = [Duration::ZERO; 2];
    for _ in 0..iters {
        let start = Instant::now();
        let applied = cell.commit_in_place(black_box(txn));
        times[0] += start.elapsed();
        assert_eq!(applied.accepted.len(), 16);
        let start = Instant::now();
        let released = cell
            .release_all_in_place(tasks.iter().copied())
            .expect("running");
        times[1] += start.elapsed();
        black_box(released);
    }
    times
}

fn bench_owned_paths(c: &mut Criterion) {
    let cells: Vec<(u32, CellState)> = [1_000u32, 10_000, 100_000]
        .iter()
        .map(|&n| (n, loaded_cell(n, 5)))
        .collect();
    bench_owned(c, &cells, "replace", replace_routine);
    bench_owned(c, &cells, "in_place", in_place_routine);
}

criterion_group!(benches, bench_core, bench_owned_paths);
criterion_main!(benches);
