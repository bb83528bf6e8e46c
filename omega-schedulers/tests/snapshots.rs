//! Snapshot tests: each policy on the fixed 12-machine cell (see `common::fixed_cell`) for a
//! table of jobs, rendered as readable tables of placements and scores. Every `.snap` file
//! was checked by hand; the reasoning is in the comment above each case.

#![allow(clippy::unwrap_used, clippy::type_complexity)] // tests may unwrap (see clippy.toml)

mod common;

use common::*;
use omega_core::*;
use omega_schedulers::*;
use rand::SeedableRng;

const SEED: u64 = 7;

fn rng() -> PolicyRng {
    PolicyRng::seed_from_u64(SEED)
}

fn all(job: &Job) -> Vec<u32> {
    (0..job.tasks).collect()
}

fn header(job: &Job, policy: &str) -> String {
    let c = &job.constraints;
    let any = if c.required_any_labels.is_empty() {
        String::new()
    } else {
        format!(", any of {:?}", c.required_any_labels)
    };
    format!(
        "policy: {policy}\njob {}: {} tasks of {}, priority {}, gang {}, labels {:?}{any}, one per machine {}, max per rack {:?}, mapreduce {:?}\n",
        job.id,
        job.tasks,
        job.task_resources,
        job.priority.0,
        job.gang,
        c.required_labels,
        c.one_task_per_machine,
        c.max_tasks_per_domain,
        job.mapreduce,
    )
}

/// The header and the decision, as every policy case's snapshot shows them.
fn rendered(job: &Job, policy: &str, cell: &CellState, d: &Decision) -> String {
    format!("{}{}", header(job, policy), describe_decision(cell, d))
}

/// Runs a policy and checks the transaction commits in full against the snapshot.
fn run(policy: &dyn Policy, job: &Job) -> (CellState, Decision) {
    let cell = fixed_cell();
    let d = policy.schedule(&cell, job, &all(job), &mut rng());
    let commit = cell.commit(&d.transaction);
    assert_eq!(
        commit.accepted.len(),
        d.transaction.claims.len(),
        "{:?}",
        commit.rejected
    );
    (cell, d)
}

fn service_case(config: ServiceConfig, job: &Job) -> String {
    let cell = fixed_cell();
    let policy = ServicePolicy::new(config.clone()).unwrap();
    let (d, why) = policy.explain(&cell, job, &all(job), &mut rng(), 5);
    // explain() decides exactly like schedule().
    assert_eq!(d, policy.schedule(&cell, job, &all(job), &mut rng()));
    let commit = cell.commit(&d.transaction);
    assert_eq!(
        commit.accepted.len(),
        d.transaction.claims.len(),
        "{:?}",
        commit.rejected
    );
    format!(
        "{}{}{}",
        header(
            job,
            &format!(
                "service, {:?}, devices {:?}",
                config.weights, config.device_choice
            )
        ),
        describe_decision(&cell, &d),
        describe_explanation(&cell, &why)
    )
}

#[test]
fn the_fixed_cell() {
    insta::assert_snapshot!(describe_cell(&fixed_cell()));
}

// The paper's randomized first fit: each task draws machines uniformly from the job's pool
// and takes the first with 1 core and 2 GiB free; m7 is down, so if it is drawn it leaves the
// pool and is never chosen. Here every draw (m6, m1, m4, m4) has room, so the decisions
// equal the scan's below, which starts at the same random machines.
#[test]
fn batch_small_job_random_first_fit() {
    let job = job(1, "batch", 4, 1_000, 0, 2 * GIB);
    let policy = BatchPolicy::new(BatchConfig::default()).unwrap();
    let (cell, d) = run(&policy, &job);
    assert!(
        d.transaction
            .claims
            .iter()
            .all(|c| c.machine != MachineId(7))
    );
    insta::assert_snapshot!(rendered(&job, "batch, random first fit", &cell, &d));
}

// The scan: each task starts at a random machine and takes the first (in id order,
// wrapping) with 1 core and 2 GiB free; m7 is down and never chosen. (The same decisions as
// the default gave before the paper's rule was built: the same seed, the same draws.)
#[test]
fn batch_small_job_random_start_scan() {
    let job = job(1, "batch", 4, 1_000, 0, 2 * GIB);
    let config = BatchConfig {
        placement: BatchPlacement::RandomStartScan,
        ..BatchConfig::default()
    };
    let policy = BatchPolicy::new(config).unwrap();
    let (cell, d) = run(&policy, &job);
    assert!(
        d.transaction
            .claims
            .iter()
            .all(|c| c.machine != MachineId(7))
    );
    insta::assert_snapshot!(rendered(&job, "batch, random start scan", &cell, &d));
}

// Power of two choices: of two feasible machines, the less loaded after placement.
#[test]
fn batch_small_job_power_of_two() {
    let job = job(2, "batch", 4, 1_000, 0, 2 * GIB);
    let config = BatchConfig {
        placement: BatchPlacement::PowerOfChoices,
        ..BatchConfig::default()
    };
    let policy = BatchPolicy::new(config).unwrap();
    let (cell, d) = run(&policy, &job);
    insta::assert_snapshot!(rendered(&job, "batch, power of 2 choices", &cell, &d));
}

// Whole-GPU batch tasks go only to C machines with a fully free device: m8 gpu1, m9 gpu0,
// m10 gpu1, m11 gpu0/gpu1. Traced by hand: the first task drops m6, m1, m4, m3 (no GPU)
// from the pool and takes m9; the second drops m2 and takes m10; the third drops m7 (down),
// m10 and m9 (their free devices are gone), m5 and m0, and takes m8.
#[test]
fn batch_job_with_a_gpu() {
    let job = job(3, "batch", 3, 2_000, 1_000, 8 * GIB);
    let policy = BatchPolicy::new(BatchConfig::default()).unwrap();
    let (cell, d) = run(&policy, &job);
    for c in &d.transaction.claims {
        let m = cell.machine(c.machine).unwrap();
        let dev = c.gpus.iter().next().unwrap();
        assert_eq!(m.gpu_free_milli()[usize::from(dev)], 1000);
    }
    insta::assert_snapshot!(rendered(&job, "batch, random first fit", &cell, &d));
}

// Spread: one task per machine and at most one per rack, so the three tasks land in three
// different racks; the spread score drops to 0 in racks that already hold a task.
#[test]
fn service_job_needing_spread() {
    let mut job = job(4, "service", 3, 2_000, 0, 4 * GIB);
    job.constraints.one_task_per_machine = true;
    job.constraints.max_tasks_per_domain = Some(1);
    let text = service_case(ServiceConfig::default(), &job);
    insta::assert_snapshot!(text);
}

// A label constraint: only m4, m5 and m10 carry `ssd`; m5 has 4 cores and 8 GiB free, so it
// fits one task of 4 cores / 8 GiB. Task 0 takes the emptier m4; task 1 goes to m5 (rack2 has
// none yet); task 2 fills m4 rather than the GPU machine m10 (gpu_keep).
#[test]
fn service_job_with_a_label_constraint() {
    let mut job = job(5, "service", 3, 4_000, 0, 8 * GIB);
    job.constraints.required_labels = vec!["ssd".into()];
    insta::assert_snapshot!(service_case(ServiceConfig::default(), &job));
}

// A GPU type constraint: whole A100s are free on m11 (both devices) and m10 (device 1 only;
// device 0 is in use); the T4 machines m8 and m9 are filtered out. Task 0 takes m11's device
// 0 (more balanced); task 1 goes to m10 because rack2 already holds task 0 (spread).
#[test]
fn service_job_with_a_gpu_type_constraint() {
    let mut job = job(6, "service", 2, 2_000, 1_000, 8 * GIB);
    job.constraints.required_labels = vec!["gpu=A100".into()];
    insta::assert_snapshot!(service_case(ServiceConfig::default(), &job));
}

// Alternative GPU models (a trace's "any of T4 and A100"): four one-GPU tasks may use the T4
// machines m8 and m9 as well as the A100 machines m10 and m11, which the single-model case
// above could not.
#[test]
fn service_job_with_alternative_gpu_models() {
    let mut job = job(10, "service", 4, 2_000, 1_000, 8 * GIB);
    job.constraints.required_any_labels = vec![vec!["gpu=T4".into(), "gpu=A100".into()]];
    insta::assert_snapshot!(service_case(ServiceConfig::default(), &job));
}

// A group of alternatives of which the cell has one model decides exactly like requiring
// that model.
#[test]
fn an_alternative_only_one_machine_type_has_is_a_requirement() {
    let mut required = job(6, "service", 2, 2_000, 1_000, 8 * GIB);
    required.constraints.required_labels = vec!["gpu=A100".into()];
    let mut any = required.clone();
    any.constraints.required_labels.clear();
    any.constraints.required_any_labels = vec![vec!["gpu=H100".into(), "gpu=A100".into()]];
    let policy = ServicePolicy::new(ServiceConfig::default()).unwrap();
    let cell = fixed_cell();
    let a = policy.schedule(&cell, &required, &all(&required), &mut rng());
    let b = policy.schedule(&cell, &any, &all(&any), &mut rng());
    assert_eq!(a.transaction.claims.len(), 2);
    assert_eq!(a.transaction, b.transaction);
    // No model at all: nothing fits.
    let mut none = required.clone();
    none.constraints.required_any_labels = vec![vec!["gpu=H100".into()]];
    let d = policy.schedule(&cell, &none, &all(&none), &mut rng());
    assert!(d.transaction.claims.is_empty());
}

// Preemption: two tasks of 12 cores / 24 GiB, one per machine, priority 3. Only B machines
// are big enough. Task 0 fits on the empty m6. Task 1 must preempt: m4 needs one victim
// (101.0, priority 1), m5 two (102.0 and 102.1, priority 0): fewest victims wins, so m4.
#[test]
fn service_job_needing_preemption() {
    let mut job = job(7, "service", 2, 12_000, 0, 24 * GIB);
    job.priority = Priority(3);
    job.constraints.one_task_per_machine = true;
    insta::assert_snapshot!(service_case(ServiceConfig::default(), &job));
}

// Fractional GPU: quarter-GPU tasks. With least-fragmentation device choice, filling m10's
// device 0 (250 free -> 0) removes fragmentation (score 583); m8's device 0 (500 -> 250)
// leaves it unchanged (500); a fresh device (1000 -> 750) adds some (375).
#[test]
fn service_fractional_gpu_task() {
    let job = job(8, "service", 3, 1_000, 250, 2 * GIB);
    insta::assert_snapshot!(service_case(ServiceConfig::default(), &job));
}

// The same with best-fit devices and only the fragmentation weight, for comparison.
#[test]
fn service_fractional_gpu_task_best_fit() {
    let job = job(9, "service", 3, 1_000, 250, 2 * GIB);
    let config = ServiceConfig {
        device_choice: DeviceChoice::BestFit,
        weights: ScoreWeights {
            fit: 0,
            balance: 0,
            spread: 0,
            gpu_keep_free: 0,
            gpu_fragmentation: 1,
        },
        ..ServiceConfig::default()
    };
    insta::assert_snapshot!(service_case(config, &job));
}

// Gang: three 8-core / 16 GiB tasks fit (m1, m3, m4, m6, m11 have room), so the gang
// transaction holds all three.
#[test]
fn gang_job_that_fits() {
    let mut job = job(10, "batch", 3, 8_000, 0, 16 * GIB);
    job.gang = true;
    let policy = BatchPolicy::new(BatchConfig::default()).unwrap();
    let (cell, d) = run(&policy, &job);
    assert_eq!(d.transaction.commit, CommitMode::Gang);
    insta::assert_snapshot!(rendered(&job, "batch, random first fit", &cell, &d));
}

// Gang that cannot fit: four full B machines are needed but only m6 is empty (m7 is down):
// nothing is claimed, every task is reported unplaced.
#[test]
fn gang_job_that_does_not_fit() {
    let mut job = job(11, "service", 4, 16_000, 0, 32 * GIB);
    job.gang = true;
    let policy = ServicePolicy::new(ServiceConfig::default()).unwrap();
    let (cell, d) = run(&policy, &job);
    assert!(d.transaction.claims.is_empty());
    insta::assert_snapshot!(rendered(&job, "service", &cell, &d));
}

fn mapreduce_job() -> Job {
    let mut job = job(12, "mapreduce", 2, 2_000, 0, 4 * GIB);
    job.mapreduce = Some(MapReduceWork {
        requested_workers: 2,
        total_work_us: 3_600_000_000,
        max_workers: u32::MAX,
    });
    job
}

fn mapreduce_case(policy: GrowthPolicy) -> String {
    let job = mapreduce_job();
    let config = MapReduceConfig {
        policy,
        ..MapReduceConfig::default()
    };
    let (cell, d) = run(&MapReducePolicy::new(config).unwrap(), &job);
    let util = {
        let after = cell.commit(&d.transaction).state;
        let (a, c) = (after.allocated(), after.capacity());
        format!(
            "cell cpu {} of {} m, mem {} of {} MiB after the commit\n",
            a.cpu_milli, c.cpu_milli, a.mem_mib, c.mem_mib
        )
    };
    format!(
        "{}{}{}",
        header(&job, &format!("mapreduce, {policy:?}")),
        describe_decision(&cell, &d),
        util
    )
}

// Max parallelism: 2-core / 4 GiB workers are added until none fits (the benefit limit of
// 3,600 workers is far away); duration = 1 h / workers.
#[test]
fn mapreduce_max_parallelism() {
    insta::assert_snapshot!(mapreduce_case(GrowthPolicy::MaxParallelism));
}

// Global cap: workers are added while CPU and memory utilisation stay at or below 60%.
#[test]
fn mapreduce_global_cap() {
    insta::assert_snapshot!(mapreduce_case(GrowthPolicy::GlobalCap));
}

// Relative job size: at most 4 x 2 = 8 workers, so 6 extra, 450 s each.
#[test]
fn mapreduce_relative_job_size() {
    insta::assert_snapshot!(mapreduce_case(GrowthPolicy::RelativeJobSize));
}

// DRF on three frameworks holding parts of the fixed cell's capacity.
#[test]
fn drf_offer_order() {
    let total = fixed_cell().capacity();
    let fws = [
        FrameworkShare {
            allocated: Resources::new(40_000, 0, 40 * GIB),
            weight: 1,
            demand: Resources::new(1, 0, 1),
        },
        FrameworkShare {
            allocated: Resources::new(8_000, 4_000, 16 * GIB),
            weight: 1,
            demand: Resources::new(1, 0, 1),
        },
        FrameworkShare {
            allocated: Resources::new(40_000, 0, 40 * GIB),
            weight: 2,
            demand: Resources::new(1, 0, 1),
        },
        FrameworkShare {
            allocated: Resources::ZERO,
            weight: 1,
            demand: Resources::ZERO,
        },
    ];
    let mut s = format!("total {total}\n");
    for (i, f) in fws.iter().enumerate() {
        let share = weighted_dominant_share(f.allocated, f.weight, total);
        s.push_str(&format!(
            "framework {i}: allocated {}, weight {}, demand {}, weighted dominant share {:.4}\n",
            f.allocated,
            f.weight,
            f.demand,
            share as f64 / 2f64.powi(64)
        ));
    }
    s.push_str(&format!("offer order: {:?}\n", drf_order(&fws, total)));
    insta::assert_snapshot!(s);
}
