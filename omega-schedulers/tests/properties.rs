//! Property tests on random cells and jobs: every policy's transaction commits in full
//! against the snapshot (so every claim fits after the earlier ones, on an up machine, with
//! valid GPU devices), spread limits hold, preemption victims have lower priority, gang
//! transactions are all or nothing, and the same seed gives the same decision.

#![allow(clippy::unwrap_used, clippy::type_complexity)] // tests may unwrap (see clippy.toml)

use std::collections::BTreeMap;

use omega_core::*;
use omega_schedulers::*;
use proptest::prelude::*;
use rand::SeedableRng;

#[derive(Clone, Debug)]
struct MachineSpec {
    kind: u8,
    gpus: u8,
    domain: u32,
    ssd: bool,
    down: bool,
}

#[derive(Clone, Debug)]
struct LoadSpec {
    machine: usize,
    cpu: u64,
    gpu: u64,
    mem: u64,
    priority: u32,
}

fn machine_spec() -> impl Strategy<Value = MachineSpec> {
    (
        0u8..3,
        1u8..5,
        0u32..4,
        any::<bool>(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(kind, gpus, domain, ssd, down)| MachineSpec {
            kind,
            gpus,
            domain,
            ssd,
            down,
        })
}

fn load_spec() -> impl Strategy<Value = LoadSpec> {
    (
        0usize..64,
        1u64..10_000,
        prop::sample::select(vec![0u64, 0, 250, 500, 750, 1000, 2000]),
        1u64..20_000,
        0u32..5,
    )
        .prop_map(|(machine, cpu, gpu, mem, priority)| LoadSpec {
            machine,
            cpu,
            gpu,
            mem,
            priority,
        })
}

/// Builds the cell; load entries that do not fit are skipped.
fn build_cell(machines: &[MachineSpec], load: &[LoadSpec]) -> CellState {
    let ms = machines.iter().map(|m| {
        let d = FailureDomain(m.domain);
        let base = match m.kind {
            0 => Machine::new("A", 8_000, 16_384, d),
            1 => Machine::new("B", 16_000, 32_768, d),
            _ => Machine::new("C", 8_000, 32_768, d)
                .with_gpus(m.gpus, if m.gpus % 2 == 0 { "T4" } else { "A100" }),
        };
        if m.ssd { base.with_label("ssd") } else { base }
    });
    let mut cell = CellState::new(ms).unwrap();
    for (i, l) in load.iter().enumerate() {
        let m = MachineId((l.machine % machines.len()) as u32);
        let view = cell.machine(m).unwrap();
        let r = Resources::new(l.cpu, l.gpu, l.mem);
        let gpus = match r.gpu_request() {
            Some(GpuRequest::Fraction(f)) => view
                .gpu_free_milli()
                .iter()
                .position(|&x| x >= f)
                .map(|d| GpuDevices::one(d as u8)),
            Some(GpuRequest::Whole(n)) => {
                let free: Vec<u8> = view
                    .gpu_free_milli()
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| **x == 1000)
                    .map(|(d, _)| d as u8)
                    .take(usize::from(n))
                    .collect();
                (free.len() == usize::from(n))
                    .then(|| free.iter().fold(GpuDevices::NONE, |s, &d| s.with(d)))
            }
            _ => Some(GpuDevices::NONE),
        };
        let Some(gpus) = gpus else { continue };
        let job = JobId(1_000 + i as u64);
        let mut txn = Transaction::new(job);
        txn.push(
            Claim::new(TaskId::new(job, 0), m, r, 0)
                .with_gpus(gpus)
                .with_priority(Priority(l.priority)),
        );
        cell = cell.commit(&txn).state;
    }
    for (i, m) in machines.iter().enumerate() {
        if m.down {
            cell = cell.fail_machine(MachineId(i as u32)).unwrap().0;
        }
    }
    cell
}

#[derive(Clone, Debug)]
struct JobSpec {
    tasks: u32,
    cpu: u64,
    gpu: u64,
    mem: u64,
    priority: u32,
    ssd: bool,
    /// 0: any GPU; 1: requires `gpu=A100`; 2: any of T4 and A100; 3: any of A100 and a
    /// model no machine has, and any of `ssd` and `gpu=T4`.
    gpu_model: u8,
    one_per_machine: bool,
    per_domain: Option<u32>,
    gang: bool,
    work_s: u64,
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    (
        (
            1u32..12,
            100u64..12_000,
            prop::sample::select(vec![0u64, 0, 0, 250, 500, 1000, 2000]),
            100u64..24_000,
        ),
        (
            0u32..6,
            prop::bool::weighted(0.2),
            prop::sample::select(vec![0u8, 0, 0, 0, 0, 0, 1, 2, 3]),
            any::<bool>(),
        ),
        (
            prop::option::weighted(0.4, 1u32..4),
            prop::bool::weighted(0.2),
            1u64..100_000,
        ),
    )
        .prop_map(
            |(
                (tasks, cpu, gpu, mem),
                (priority, ssd, gpu_model, one_per_machine),
                (per_domain, gang, work_s),
            )| {
                JobSpec {
                    tasks,
                    cpu,
                    gpu,
                    mem,
                    priority,
                    ssd,
                    gpu_model,
                    one_per_machine,
                    per_domain,
                    gang,
                    work_s,
                }
            },
        )
}

fn build_job(s: &JobSpec) -> Job {
    let mut job = Job::new(
        JobId(1),
        "test",
        s.tasks,
        Resources::new(s.cpu, s.gpu, s.mem),
        1_000_000,
    );
    job.priority = Priority(s.priority);
    if s.ssd {
        job.constraints.required_labels.push("ssd".into());
    }
    let any = |labels: &[&str]| labels.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    match s.gpu_model {
        1 if s.gpu > 0 => job.constraints.required_labels.push("gpu=A100".into()),
        2 if s.gpu > 0 => job.constraints.required_any_labels = vec![any(&["gpu=T4", "gpu=A100"])],
        3 => {
            job.constraints.required_any_labels =
                vec![any(&["gpu=A100", "gpu=H100"]), any(&["ssd", "gpu=T4"])];
        }
        _ => {}
    }
    job.constraints.one_task_per_machine = s.one_per_machine;
    job.constraints.max_tasks_per_domain = s.per_domain;
    job.gang = s.gang;
    job.mapreduce = Some(MapReduceWork {
        requested_workers: s.tasks,
        total_work_us: s.work_s * 1_000_000,
        // A third of the jobs have no limit of their own, the rest 1–5× their workers.
        max_workers: if s.work_s % 3 == 0 {
            u32::MAX
        } else {
            s.tasks.saturating_mul(1 + (s.work_s % 5) as u32)
        },
    });
    job
}

fn policy_config() -> impl Strategy<Value = PolicyConfig> {
    prop_oneof![
        (0u8..3, 1u32..4).prop_map(|(placement, choices)| PolicyConfig::Batch(BatchConfig {
            placement: match placement {
                0 => BatchPlacement::RandomFirstFit,
                1 => BatchPlacement::RandomStartScan,
                _ => BatchPlacement::PowerOfChoices,
            },
            choices,
            ..BatchConfig::default()
        })),
        (
            (0u32..3, 0u32..3, 0u32..3, 0u32..3, 0u32..3),
            0u32..6,
            any::<bool>(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(
                |((fit, balance, spread, keep, frag), limit, lf, preemption, coarse)| {
                    PolicyConfig::Service(ServiceConfig {
                        weights: ScoreWeights {
                            fit,
                            balance,
                            spread,
                            gpu_keep_free: keep,
                            gpu_fragmentation: frag,
                        },
                        candidate_limit: limit,
                        device_choice: if lf {
                            DeviceChoice::LeastFragmentation
                        } else {
                            DeviceChoice::BestFit
                        },
                        preemption,
                        conflicts: if coarse {
                            ConflictMode::Coarse
                        } else {
                            ConflictMode::Fine
                        },
                        ..ServiceConfig::default()
                    })
                }
            ),
        (0u8..3, 1u32..101, 1u32..6).prop_map(|(p, cap, factor)| PolicyConfig::MapReduce(
            MapReduceConfig {
                policy: [
                    GrowthPolicy::MaxParallelism,
                    GrowthPolicy::GlobalCap,
                    GrowthPolicy::RelativeJobSize
                ][usize::from(p)],
                global_cap_percent: cap,
                max_worker_factor: factor,
                ..MapReduceConfig::default()
            }
        )),
    ]
}

/// Checks one decision against the snapshot it was made on and returns the new state.
fn check_decision(
    snapshot: &CellState,
    job: &Job,
    pending: &[u32],
    d: &Decision,
) -> Result<CellState, TestCaseError> {
    let claims = &d.transaction.claims;
    // Task indexes: distinct; requested ones among the pending, extras exactly tasks..tasks+x.
    let mut seen = std::collections::BTreeSet::new();
    for c in claims {
        prop_assert_eq!(c.task.job, job.id);
        prop_assert!(seen.insert(c.task.index), "task {} claimed twice", c.task);
        prop_assert!(
            pending.contains(&c.task.index)
                || (c.task.index >= job.tasks && c.task.index < job.tasks + d.extra_workers),
            "task {} neither pending nor an extra worker",
            c.task
        );
        prop_assert_eq!(c.priority, job.priority);
        prop_assert_eq!(c.resources, job.task_resources);
        let before = snapshot
            .machine(c.machine)
            .expect("claim on a missing machine");
        prop_assert!(before.is_up(), "claim on down machine {}", c.machine);
        prop_assert_eq!(
            c.seen_version,
            before.version(),
            "claims record the snapshot's version"
        );
        if job.task_resources.gpu_milli > 0 {
            prop_assert!(!c.gpus.is_empty(), "GPU task without devices");
        } else {
            prop_assert!(c.gpus.is_empty());
        }
        for v in &c.preempts {
            let p = snapshot.placement(*v).expect("victim runs in the snapshot");
            prop_assert!(
                p.priority < job.priority,
                "victim {} priority {:?} >= {:?}",
                v,
                p.priority,
                job.priority
            );
            prop_assert_eq!(p.machine, c.machine);
        }
    }
    // Extras: only when the whole job is placed at once, never beyond its own limit.
    if d.extra_workers > 0 {
        let work = job
            .mapreduce
            .expect("extras for a job without a MapReduce part");
        prop_assert_eq!(pending.len(), job.tasks as usize);
        prop_assert!(
            u64::from(job.tasks) + u64::from(d.extra_workers) <= u64::from(work.max_workers)
        );
    }
    // Gang: all pending or nothing, and no extras.
    if job.gang {
        prop_assert_eq!(d.transaction.commit, CommitMode::Gang);
        prop_assert!(claims.is_empty() || claims.len() == pending.len());
        prop_assert_eq!(d.extra_workers, 0);
    }
    // Every claim fits the snapshot after the earlier claims: the commit accepts them all,
    // with fine and with coarse conflict detection (nothing changed since the snapshot).
    let fine = snapshot.commit(&d.transaction.clone().with_conflicts(ConflictMode::Fine));
    prop_assert_eq!(
        fine.accepted.len(),
        claims.len(),
        "rejected: {:?}",
        fine.rejected
    );
    prop_assert!(!fine.aborted);
    let coarse = snapshot.commit(&d.transaction.clone().with_conflicts(ConflictMode::Coarse));
    prop_assert_eq!(
        coarse.accepted.len(),
        claims.len(),
        "rejected: {:?}",
        coarse.rejected
    );
    // Spread limits over the job's running tasks after the commit.
    let after = fine.state;
    let mut per_machine: BTreeMap<MachineId, u32> = BTreeMap::new();
    let mut per_domain: BTreeMap<FailureDomain, u32> = BTreeMap::new();
    for (t, p) in after
        .running_tasks()
        .filter(|(t, _)| t.job == job.id && t.index < job.tasks)
    {
        let _ = t;
        *per_machine.entry(p.machine).or_default() += 1;
        *per_domain
            .entry(after.spec(p.machine).unwrap().failure_domain)
            .or_default() += 1;
    }
    if job.constraints.one_task_per_machine {
        prop_assert!(per_machine.values().all(|&n| n <= 1), "{:?}", per_machine);
    }
    if let Some(cap) = job.constraints.max_tasks_per_domain {
        prop_assert!(per_domain.values().all(|&n| n <= cap), "{:?}", per_domain);
    }
    // Labels.
    for c in claims {
        let spec = after.spec(c.machine).unwrap();
        for l in &job.constraints.required_labels {
            prop_assert!(spec.has_label(l), "{} lacks {}", c.machine, l);
        }
        for group in &job.constraints.required_any_labels {
            prop_assert!(
                group.iter().any(|l| spec.has_label(l)),
                "{} has none of {:?}",
                c.machine,
                group
            );
        }
    }
    Ok(after)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// Two decisions in a row (the second for the tasks the first did not cover, against the
    /// state after the first commit), each checked against its snapshot.
    #[test]
    fn decisions_are_valid_and_deterministic(
        machines in prop::collection::vec(machine_spec(), 1..20),
        load in prop::collection::vec(load_spec(), 0..30),
        spec in job_spec(),
        config in policy_config(),
        split in 0u32..12,
        seed in any::<u64>(),
    ) {
        let cell = build_cell(&machines, &load);
        let job = build_job(&spec);
        let policy = config.build().unwrap();
        let split = split.min(job.tasks);
        let first: Vec<u32> = (0..split).collect();
        let second: Vec<u32> = (split..job.tasks).collect();

        let mut rng = PolicyRng::seed_from_u64(seed);
        let d1 = policy.schedule(&cell, &job, &first, &mut rng);
        let again = policy.schedule(&cell, &job, &first, &mut PolicyRng::seed_from_u64(seed));
        prop_assert_eq!(&d1, &again, "same seed, same decision");
        let c = match &config {
            PolicyConfig::Batch(c) => (c.t_job_us, c.t_task_us),
            PolicyConfig::Service(c) => (c.t_job_us, c.t_task_us),
            PolicyConfig::MapReduce(c) => (c.t_job_us, c.t_task_us),
        };
        prop_assert_eq!(d1.think_time_us, c.0 + c.1 * first.len() as u64);
        let next = check_decision(&cell, &job, &first, &d1)?;

        // Extra workers only come once the job is complete; skip them in the second round.
        let pending2: Vec<u32> = second.iter().copied()
            .chain(first.iter().copied().filter(|i| next.placement(TaskId::new(job.id, *i)).is_none()))
            .collect();
        if d1.extra_workers == 0 {
            let d2 = policy.schedule(&next, &job, &pending2, &mut rng);
            check_decision(&next, &job, &pending2, &d2)?;
        }
    }

    /// The service policy places a task whenever some machine can take it (without
    /// preemption and constraints), and never preempts when something fits.
    #[test]
    fn service_places_when_something_fits(
        machines in prop::collection::vec(machine_spec(), 1..20),
        load in prop::collection::vec(load_spec(), 0..30),
        cpu in 100u64..16_000,
        gpu in prop::sample::select(vec![0u64, 250, 1000]),
        seed in any::<u64>(),
    ) {
        let cell = build_cell(&machines, &load);
        let mut job = Job::new(JobId(1), "service", 1, Resources::new(cpu, gpu, 1_024), 1);
        job.priority = Priority(9);
        let fits_somewhere = cell.up_machines().any(|m| {
            job.task_resources.fits(&m.free())
                && match job.task_resources.gpu_request() {
                    Some(GpuRequest::Fraction(f)) => m.gpu_free_milli().iter().any(|&x| x >= f),
                    Some(GpuRequest::Whole(n)) => m.whole_free_gpus() >= u32::from(n),
                    _ => true,
                }
        });
        let policy = ServicePolicy::new(ServiceConfig::default()).unwrap();
        let d = policy.schedule(&cell, &job, &[0], &mut PolicyRng::seed_from_u64(seed));
        if fits_somewhere {
            prop_assert_eq!(d.transaction.claims.len(), 1);
            prop_assert!(d.transaction.claims[0].preempts.is_empty());
        }
        check_decision(&cell, &job, &[0], &d)?;
    }
}
