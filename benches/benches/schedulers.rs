//! Criterion benchmarks of omega-schedulers on a 10,000-machine seed cell (types A, B, C in
//! turn, 40 machines a rack): batch placements (the paper's randomized first fit, the scan
//! from a random start, and power of two choices) at 50% and 90% allocation, and service
//! placements with scoring and the candidate limit at 50%. At 90% a 1-core task fits only on
//! the B machines, so the first fit drops most machines it draws from its pool.
//!
//! Targets (issue 5): batch >= 2 million task placements a second at 50% on one core;
//! service >= 100,000 a second. Throughput is reported in placed tasks (elements).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use omega_core::*;
use omega_schedulers::*;

const MACHINES: u32 = 10_000;

/// The seed cell with every machine running one task that holds `percent`% of its CPU and
/// memory.
fn seed_cell(percent: u64) -> CellState {
    let machines = (0..MACHINES).map(|i| match i % 3 {
        0 => Machine::new("A", 8_000, 16_384, FailureDomain(i / 40)),
        1 => Machine::new("B", 16_000, 32_768, FailureDomain(i / 40)),
        _ => Machine::new("C", 8_000, 32_768, FailureDomain(i / 40)).with_gpus(2, "T4"),
    });
    let cell = CellState::new(machines).expect("valid machines");
    let mut txn = Transaction::new(JobId(0));
    for m in 0..MACHINES {
        let cap = cell.spec(MachineId(m)).expect("machine").capacity;
        let r = Resources::new(
            cap.cpu_milli * percent / 100,
            0,
            cap.mem_mib * percent / 100,
        );
        txn.push(Claim::new(TaskId::new(JobId(0), m), MachineId(m), r, 0));
    }
    let commit = cell.commit(&txn);
    assert_eq!(commit.accepted.len(), MACHINES as usize);
    commit.state
}

fn job(tasks: u32) -> (Job, Vec<u32>) {
    sized_job(tasks, Resources::new(500, 0, 1_024))
}

fn sized_job(tasks: u32, r: Resources) -> (Job, Vec<u32>) {
    let job = Job::new(JobId(1), "bench", tasks, r, 1_000_000);
    (job, (0..tasks).collect())
}

fn bench_policy(c: &mut Criterion, group: &str, policy: &dyn Policy, cell: &CellState, tasks: u32) {
    bench_job(c, group, policy, cell, job(tasks));
}

fn bench_job(
    c: &mut Criterion,
    group: &str,
    policy: &dyn Policy,
    cell: &CellState,
    (job, pending): (Job, Vec<u32>),
) {
    let tasks = job.tasks;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(u64::from(tasks)));
    let mut rng = policy_rng(derive_seed(1, group));
    // Every task must be placed, or the throughput would be a lie.
    let check = policy.schedule(cell, &job, &pending, &mut rng);
    assert_eq!(
        check.transaction.claims.len(),
        tasks as usize,
        "{group}: not all placed"
    );
    g.bench_function(BenchmarkId::from_parameter(format!("{tasks}_tasks")), |b| {
        b.iter(|| black_box(policy.schedule(black_box(cell), &job, &pending, &mut rng)))
    });
    g.finish();
}

/// Attribution: the cost of only applying a first-fit decision's 100 claims to a fresh O(1)
/// clone of the snapshot with `CellState::assume` (the local optimistic update every policy
/// does per claim), without searching for machines.
fn bench_assume_only(c: &mut Criterion, cell: &CellState, policy: &dyn Policy) {
    let (job, pending) = job(100);
    let decision = policy.schedule(cell, &job, &pending, &mut policy_rng(3));
    let mut g = c.benchmark_group("assume_only_50pct");
    g.throughput(Throughput::Elements(100));
    g.bench_function("100_claims", |b| {
        b.iter(|| {
            let mut local = cell.clone();
            for claim in &decision.transaction.claims {
                let _ = black_box(local.assume(claim));
            }
            black_box(local)
        })
    });
    g.finish();
}

fn bench_schedulers(c: &mut Criterion) {
    let half = seed_cell(50);
    let ninety = seed_cell(90);
    let first_fit = BatchPolicy::new(BatchConfig::default()).expect("valid");
    let two_choices = BatchPolicy::new(BatchConfig {
        placement: BatchPlacement::PowerOfChoices,
        ..BatchConfig::default()
    })
    .expect("valid");
    let scan = BatchPolicy::new(BatchConfig {
        placement: BatchPlacement::RandomStartScan,
        ..BatchConfig::default()
    })
    .expect("valid");
    let service = ServicePolicy::new(ServiceConfig::default()).expect("valid");
    let one_core = || sized_job(100, Resources::new(1_000, 0, 1_024));

    bench_policy(c, "batch_first_fit_50pct", &first_fit, &half, 100);
    bench_policy(c, "batch_first_fit_90pct", &first_fit, &ninety, 100);
    bench_policy(c, "batch_two_choices_50pct", &two_choices, &half, 100);
    bench_policy(c, "batch_two_choices_90pct", &two_choices, &ninety, 100);
    bench_policy(c, "batch_first_fit_50pct_big_job", &first_fit, &half, 1_000);
    bench_policy(c, "batch_scan_50pct", &scan, &half, 100);
    bench_policy(c, "batch_scan_90pct", &scan, &ninety, 100);
    bench_job(
        c,
        "batch_first_fit_90pct_1core",
        &first_fit,
        &ninety,
        one_core(),
    );
    bench_job(c, "batch_scan_90pct_1core", &scan, &ninety, one_core());
    bench_assume_only(c, &half, &first_fit);
    bench_policy(c, "service_limit100_50pct", &service, &half, 10);
    bench_policy(c, "service_limit100_90pct", &service, &ninety, 10);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench_schedulers
}
criterion_main!(benches);
