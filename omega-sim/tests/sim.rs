//! Simulator tests: conservation, determinism, the paper's analytic and qualitative
//! behaviour, failures, and a snapshot of a small run's counts.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use omega_core::{CellState, FailureDomain, Job, JobId, Machine, Resources};
use omega_sim::*;

/// A uniform cell of `n` machines with 16 cores and 64 GiB each, 10 a rack.
fn uniform_cell(n: u32) -> CellState {
    CellState::new((0..n).map(|i| Machine::new("U", 16_000, 65_536, FailureDomain(i / 10))))
        .unwrap()
}

/// `count` jobs of class `class`, one every `gap_us` from `start_us`, ids from `first_id`.
fn constant_jobs(
    class: &'static str,
    first_id: u64,
    start_us: u64,
    gap_us: u64,
    count: u64,
    tasks: u32,
    duration_us: u64,
) -> impl Iterator<Item = Job> + Send {
    (0..count).map(move |i| {
        let mut j = Job::new(
            JobId(first_id + i),
            class,
            tasks,
            Resources::new(1_000, 0, 1_024),
            duration_us,
        );
        j.submit_at_us = start_us + i * gap_us;
        j
    })
}

/// Merges job iterators by submit time (ties by id).
fn merged(mut jobs: Vec<Job>) -> Box<dyn Iterator<Item = Job> + Send> {
    jobs.sort_by_key(|j| (j.submit_at_us, j.id));
    Box::new(jobs.into_iter())
}

fn config(text: &str) -> SimConfig {
    toml::from_str(text).unwrap()
}

fn run_with(
    cfg: SimConfig,
    cell: CellState,
    jobs: Box<dyn Iterator<Item = Job> + Send>,
) -> (SimSummary, CountingRecorder) {
    let mut rec = CountingRecorder::default();
    let input = SimInput {
        cell,
        prefill: Vec::new(),
        jobs,
    };
    let summary = Simulation::new(cfg, input, &mut rec).unwrap().run();
    (summary, rec)
}

const HOUR_US: u64 = 3_600_000_000;

#[test]
fn monolithic_busyness_is_arrival_rate_times_think_time() {
    // One job every 10 s, think time 1 s + 0 per task: busyness 0.1 (the scheduler is never
    // saturated, so every job is decided exactly once).
    let cfg = config(
        r#"
        horizon_us = 3_600_000_000
        [architecture]
        kind = "monolithic-single-path"
        [[architecture.schedulers]]
        name = "all"
        policy = { kind = "batch", t_job_us = 1_000_000, t_task_us = 0 }
        "#,
    );
    let jobs = constant_jobs("batch", 0, 0, 10_000_000, 360, 2, 30_000_000);
    let (s, rec) = run_with(cfg, uniform_cell(20), Box::new(jobs));
    let busyness = s.schedulers[0].busyness(HOUR_US);
    assert!((busyness - 0.1).abs() <= 0.001, "busyness {busyness}");
    assert_eq!(rec.attempts, 360);
    assert!(s.tasks.is_conserved());
}

fn two_schedulers(conflicts: &str, commit: &str, t_job_us: u64) -> SimConfig {
    config(&format!(
        r#"
        horizon_us = 7_200_000_000
        [architecture]
        kind = "omega"
        [[architecture.schedulers]]
        name = "a"
        classes = ["a"]
        policy = {{ kind = "batch", t_job_us = {t_job_us}, t_task_us = 0, conflicts = "{conflicts}", commit = "{commit}" }}
        [[architecture.schedulers]]
        name = "b"
        classes = ["b"]
        policy = {{ kind = "batch", t_job_us = {t_job_us}, t_task_us = 0, conflicts = "{conflicts}", commit = "{commit}" }}
        "#
    ))
}

/// Two classes of 4-task jobs on a small, busy cell.
fn contended_jobs() -> Box<dyn Iterator<Item = Job> + Send> {
    jobs_every(2_000_000)
}

/// Two classes of 4-task, 1-core, 60 s jobs, each class one job every `gap_us`.
fn jobs_every(gap_us: u64) -> Box<dyn Iterator<Item = Job> + Send> {
    let n = 7_200_000_000 / gap_us;
    let mut jobs: Vec<Job> = constant_jobs("a", 0, 0, gap_us, n, 4, 60_000_000).collect();
    jobs.extend(constant_jobs(
        "b",
        1 << 32,
        gap_us / 4,
        gap_us,
        n,
        4,
        60_000_000,
    ));
    merged(jobs)
}

#[test]
fn one_omega_scheduler_never_conflicts() {
    // Fine-grained: nobody else claims, and task ends only free resources. (In coarse mode
    // task ends bump versions, so even a lone scheduler can see `VersionChanged`.)
    let cfg = config(
        r#"
        horizon_us = 7_200_000_000
        [architecture]
        kind = "omega"
        [[architecture.schedulers]]
        name = "only"
        policy = { kind = "batch", t_job_us = 5_000_000, t_task_us = 0, conflicts = "fine" }
        "#,
    );
    let (s, rec) = run_with(cfg, uniform_cell(10), contended_jobs());
    assert!(rec.attempts > 1_000);
    assert_eq!(rec.conflicts.total(), 0);
    assert_eq!(s.schedulers[0].wasted_us, 0);
}

#[test]
fn two_schedulers_with_long_think_times_conflict() {
    let (s, rec) = run_with(
        two_schedulers("coarse", "incremental", 5_000_000),
        uniform_cell(10),
        contended_jobs(),
    );
    assert!(rec.conflicts.version_changed > 100, "{:?}", rec.conflicts);
    assert!(s.schedulers.iter().all(|w| w.wasted_us > 0));
    // Fine-grained detection conflicts only when the machine is really full: far fewer.
    let (_, fine) = run_with(
        two_schedulers("fine", "incremental", 5_000_000),
        uniform_cell(10),
        contended_jobs(),
    );
    assert!(
        fine.conflicts.total() < rec.conflicts.total(),
        "fine {:?} coarse {:?}",
        fine.conflicts,
        rec.conflicts
    );
}

#[test]
fn gang_transactions_conflict_at_least_as_often_as_incremental() {
    for conflicts in ["fine", "coarse"] {
        // 75% offered load, busyness 0.25 per scheduler: not saturated.
        let (_, inc) = run_with(
            two_schedulers(conflicts, "incremental", 1_000_000),
            uniform_cell(10),
            jobs_every(4_000_000),
        );
        let (_, gang) = run_with(
            two_schedulers(conflicts, "gang", 1_000_000),
            uniform_cell(10),
            jobs_every(4_000_000),
        );
        // The paper's conflict fraction: conflicts per successful transaction.
        assert!(
            gang.conflict_fraction() >= inc.conflict_fraction(),
            "{conflicts}: gang {} < incremental {}",
            gang.conflict_fraction(),
            inc.conflict_fraction()
        );
        assert!(
            inc.attempts_with_conflicts > 0,
            "{conflicts}: no conflicts at all"
        );
    }
}

/// Mean wait (submission to first attempt) of class `class`'s jobs, in µs.
#[derive(Default)]
struct WaitRecorder {
    submitted: std::collections::HashMap<JobId, (u64, bool)>,
    waits: Vec<u64>,
}

impl Recorder for WaitRecorder {
    fn record(&mut self, at_us: u64, fact: &Fact) {
        match fact {
            Fact::JobSubmitted { job, class, .. } => {
                self.submitted.insert(*job, (at_us, &**class == "batch"));
            }
            Fact::AttemptStarted { job, .. } => {
                if let Some((t, true)) = self.submitted.remove(job) {
                    self.waits.push(at_us - t);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn multi_path_batch_waits_less_than_single_path_when_service_thinks_long() {
    let arch = |kind: &str| {
        config(&format!(
            r#"
            horizon_us = 7_200_000_000
            [architecture]
            kind = "{kind}"
            [[architecture.schedulers]]
            name = "service"
            classes = ["service"]
            policy = {{ kind = "batch", t_job_us = 20_000_000, t_task_us = 0 }}
            [[architecture.schedulers]]
            name = "batch"
            classes = ["batch"]
            policy = {{ kind = "batch", t_job_us = 100_000, t_task_us = 0 }}
            "#
        ))
    };
    let jobs = || {
        let mut jobs: Vec<Job> =
            constant_jobs("batch", 0, 0, 5_000_000, 1_400, 1, 10_000_000).collect();
        jobs.extend(constant_jobs(
            "service",
            10_000,
            1_000,
            100_000_000,
            70,
            1,
            1_000_000_000,
        ));
        merged(jobs)
    };
    let mean = |kind: &str| {
        let mut rec = WaitRecorder::default();
        let input = SimInput {
            cell: uniform_cell(20),
            prefill: Vec::new(),
            jobs: jobs(),
        };
        Simulation::new(arch(kind), input, &mut rec).unwrap().run();
        rec.waits.iter().sum::<u64>() as f64 / rec.waits.len() as f64
    };
    let single = mean("monolithic-single-path");
    let multi = mean("monolithic-multi-path");
    assert!(
        multi < single,
        "multi-path {multi} µs, single-path {single} µs"
    );
    // Multi-path batch jobs still wait behind service decisions (head-of-line blocking).
    assert!(multi > 100_000.0, "multi-path {multi} µs");
}

fn seed_experiment(kind: &str, seed: u64, failures: &str) -> Experiment {
    Experiment::from_toml(&format!(
        r#"
        seed = {seed}
        horizon_us = 1_800_000_000
        [cluster]
        preset = "seed"
        machines = 100
        [workload]
        preset = "seed"
        [architecture]
        kind = "{kind}"
        [[architecture.schedulers]]
        name = "batch"
        classes = ["batch"]
        policy = {{ kind = "batch" }}
        [[architecture.schedulers]]
        name = "service"
        classes = ["service"]
        policy = {{ kind = "service" }}
        [failures]
        {failures}
        "#
    ))
    .unwrap()
}

const ARCHITECTURES: [&str; 4] = [
    "monolithic-single-path",
    "monolithic-multi-path",
    "two-level",
    "omega",
];

#[test]
fn conservation_holds_at_random_points_in_every_architecture() {
    for (i, kind) in ARCHITECTURES.iter().enumerate() {
        let e = seed_experiment(
            kind,
            11 + i as u64,
            "machine_mtbf_us = 3_600_000_000\nrack_probability = 0.1",
        );
        let mut rec = CountingRecorder::default();
        let mut sim = Simulation::new(e.sim_config(), build_input(&e).unwrap(), &mut rec).unwrap();
        let mut t = 0;
        while t < e.horizon_us {
            t += 37_000_000 + (t % 11) * 1_000_000;
            sim.run_until(t);
            sim.check_conservation()
                .unwrap_or_else(|err| panic!("{kind} at {t}: {err}"));
        }
        let s = sim.summary();
        assert!(s.tasks.is_conserved(), "{kind}: {:?}", s.tasks);
        assert!(s.tasks.finished > 0, "{kind}: nothing finished");
        assert!(rec.failures_detected > 0, "{kind}: no failure was injected");
    }
}

#[test]
fn with_failures_nothing_is_lost_over_100_seeds() {
    for seed in 0..100 {
        let e = Experiment::from_toml(&format!(
            r#"
            seed = {seed}
            horizon_us = 600_000_000
            [cluster]
            machines = 20
            [workload]
            load = 0.6
            [architecture]
            [[architecture.schedulers]]
            name = "batch"
            classes = ["batch"]
            policy = {{ kind = "batch" }}
            [[architecture.schedulers]]
            name = "service"
            policy = {{ kind = "service" }}
            [failures]
            machine_mtbf_us = 3_000_000_000
            rack_probability = 0.2
            scripted = [{{ at_us = 120_000_000, rack = 0 }}]
            "#
        ))
        .unwrap();
        let mut rec = CountingRecorder::default();
        let mut sim = Simulation::new(e.sim_config(), build_input(&e).unwrap(), &mut rec).unwrap();
        sim.run_until(e.horizon_us);
        sim.check_conservation()
            .unwrap_or_else(|err| panic!("seed {seed}: {err}"));
        assert!(rec.failures_detected > 0);
    }
}

#[test]
fn same_seed_same_event_digest() {
    for kind in ARCHITECTURES {
        let e = seed_experiment(kind, 5, "machine_mtbf_us = 7_200_000_000");
        let digest = || {
            let mut d = DigestRecorder::default();
            run_experiment(&e, &mut d).unwrap();
            d
        };
        let (a, b) = (digest(), digest());
        assert_eq!(a, b, "{kind}");
        assert!(a.facts > 1_000, "{kind}: only {} facts", a.facts);
        let mut other = e.clone();
        other.seed = 6;
        let mut c = DigestRecorder::default();
        run_experiment(&other, &mut c).unwrap();
        assert_ne!(a.digest, c.digest, "{kind}: another seed gave the same run");
    }
}

#[test]
fn a_sweep_gives_the_same_results_with_one_or_two_threads() {
    let sweep = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            use rayon::prelude::*;
            (0..6u64)
                .into_par_iter()
                .map(|seed| {
                    let e = seed_experiment(ARCHITECTURES[seed as usize % 4], seed, "");
                    let mut d = DigestRecorder::default();
                    let s = run_experiment(&e, &mut d).unwrap();
                    (d.digest, s)
                })
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(sweep(1), sweep(2));
}

#[test]
fn two_level_offers_lock_resources_and_frameworks_wait() {
    let e = seed_experiment("two-level", 3, "");
    let mut rec = CountingRecorder::default();
    let s = run_experiment(&e, &mut rec).unwrap();
    assert!(rec.offers > 10);
    // Pessimistic locking: a framework only places inside its offer, so nothing conflicts
    // on resources.
    assert_eq!(
        rec.conflicts.insufficient_resources, 0,
        "{:?}",
        rec.conflicts
    );
    assert!(s.tasks.is_conserved());
}

#[test]
fn bad_experiments_are_clear_errors() {
    let cases = [
        (
            "unknown key",
            "horizon_us = 1\nhorizn = 2\n[architecture]\nschedulers = []",
        ),
        (
            "no scheduler",
            "horizon_us = 1\n[architecture]\nschedulers = []",
        ),
        (
            "bad probability",
            "horizon_us = 1\n[failures]\nrack_probability = 1.5\n[architecture]\n[[architecture.schedulers]]\nname = \"x\"\npolicy = { kind = \"batch\" }",
        ),
        (
            "scripted failure without target",
            "horizon_us = 1\n[failures]\nscripted = [{ at_us = 5 }]\n[architecture]\n[[architecture.schedulers]]\nname = \"x\"\npolicy = { kind = \"batch\" }",
        ),
    ];
    let messages: Vec<String> = cases
        .iter()
        .map(|(name, text)| format!("{name}: {}", Experiment::from_toml(text).unwrap_err()))
        .collect();
    insta::assert_snapshot!(messages.join("\n---\n"));
}

#[test]
fn small_run_counts() {
    let e = seed_experiment("omega", 42, "machine_mtbf_us = 7_200_000_000");
    let mut rec = CountingRecorder::default();
    let s = run_experiment(&e, &mut rec).unwrap();
    insta::assert_debug_snapshot!((s.tasks, rec));
}

/// When each task finished, in µs.
#[derive(Default)]
struct EndRecorder {
    ends: std::collections::BTreeMap<omega_core::TaskId, u64>,
}

impl Recorder for EndRecorder {
    fn record(&mut self, at_us: u64, fact: &Fact) {
        if let Fact::TaskFinished { task, .. } = fact {
            self.ends.insert(*task, at_us);
        }
    }
}

#[test]
fn prefill_tasks_run_their_residual_or_their_own_durations() {
    let cfg = config(
        r#"
        horizon_us = 3_600_000_000
        [architecture]
        [[architecture.schedulers]]
        name = "all"
        policy = { kind = "batch" }
        "#,
    );
    const S: u64 = 1_000_000;
    // A trace's running job: each task's duration is what it has left.
    let mut traced = Job::new(JobId(1), "x", 3, Resources::new(1_000, 0, 1_024), 30 * S);
    traced.task_durations_us = vec![10 * S, 20 * S, 30 * S];
    // A synthetic running job: a residual lifetime for every task, whatever its duration.
    let synthetic = Job::new(JobId(2), "x", 2, Resources::new(1_000, 0, 1_024), 600 * S);
    let input = SimInput {
        cell: uniform_cell(4),
        prefill: vec![(traced, None), (synthetic, Some(5 * S))],
        jobs: Box::new(std::iter::empty()),
    };
    let mut rec = EndRecorder::default();
    let s = Simulation::new(cfg, input, &mut rec).unwrap().run();
    let ends: Vec<(u64, u32, u64)> = rec
        .ends
        .iter()
        .map(|(t, at)| (t.job.0, t.index, *at))
        .collect();
    assert_eq!(
        ends,
        vec![
            (1, 0, 10 * S),
            (1, 1, 20 * S),
            (1, 2, 30 * S),
            (2, 0, 5 * S),
            (2, 1, 5 * S)
        ]
    );
    assert_eq!(s.tasks.finished, 5);
}

#[test]
fn a_trace_replays_as_an_experiment() {
    // The SWF fixture of omega-workload: gang jobs with a dependency, on the header's cluster.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../omega-workload/tests/data/small.swf"
    );
    let e = Experiment::from_toml(&format!(
        r#"
        horizon_us = 86_400_000_000
        [workload]
        trace = "swf"
        path = "{path}"
        [architecture]
        [[architecture.schedulers]]
        name = "all"
        policy = {{ kind = "batch" }}
        "#
    ))
    .unwrap();
    let mut rec = CountingRecorder::default();
    let s = run_experiment(&e, &mut rec).unwrap();
    assert!(rec.jobs_submitted > 0);
    assert!(s.tasks.is_conserved(), "{:?}", s.tasks);
    assert!(rec.jobs_finished > 0, "{rec:?}");
    // A trace without a path is a clear error.
    let err = Experiment::from_toml(
        "horizon_us = 1\n[workload]\ntrace = \"swf\"\n[architecture]\n[[architecture.schedulers]]\nname = \"x\"\npolicy = { kind = \"batch\" }",
    )
    .unwrap_err();
    assert!(err.to_string().contains("needs both"), "{err}");
}

/// Every experiment in `configs/experiments/` parses and builds, every run of its plan
/// (variants and sweep points) and of its `--quick` form where it has one. A trace replay
/// reads its trace (paths are relative to the repository root); where `../shared/traces` is
/// absent that one is skipped with a note, unless `OMEGA_REQUIRE_SHARED=1` (CI).
#[test]
fn every_checked_in_experiment_builds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("configs/experiments");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    let mut runs_built = 0;
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let mut runs = ExperimentPlan::from_toml(stem, &text, &PlanOptions::default())
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
            .runs;
        if text.contains("[quick]") {
            let quick = PlanOptions {
                quick: true,
                ..PlanOptions::default()
            };
            let plan = ExperimentPlan::from_toml(stem, &text, &quick)
                .unwrap_or_else(|err| panic!("{} --quick: {err}", path.display()));
            runs.extend(plan.runs);
        }
        for run in runs {
            let mut e = run.experiment;
            let what = format!("{} ({})", path.display(), run.id);
            if let Some(trace) = &e.workload.path {
                let trace = root.join(trace);
                if !trace.exists() {
                    let required = std::env::var("OMEGA_REQUIRE_SHARED").is_ok_and(|v| v == "1");
                    assert!(!required, "{what}: {} is missing", trace.display());
                    eprintln!("skipped {what}: {} is missing", trace.display());
                    continue;
                }
                e.workload.path = Some(trace);
            } else {
                // Synthetic cells are built in full; keep the test quick on the big ones.
                e.cluster.machines = e.cluster.machines.map(|m| m.min(1_000));
            }
            let input = build_input(&e).unwrap_or_else(|err| panic!("{what}: {err}"));
            assert!(input.cell.machine_count() > 0, "{what}");
            if e.workload.trace == Some(omega_workload::trace::TraceFormat::Google2011) {
                // The shared part starts with 3,976 jobs already running.
                assert!(input.prefill.len() > 3_000, "{what}");
            }
            assert!(input.jobs.take(10).count() == 10, "{what}");
            runs_built += 1;
        }
    }
    // architectures.toml alone has 16 runs and 8 quick ones.
    assert!(runs_built >= 24, "{runs_built}");
}

/// The seed cell's machine types, 100 machines, at load 0.5 for an hour: the seed's batch
/// and service classes without GPUs, service arriving 25× less often than in the seed (so
/// that batch, not day-long service jobs, carries most of the arrivals), prefilled; the
/// schedulers ask for `conflicts` detection.
fn half_load_experiment(kind: &str, conflicts: &str) -> Experiment {
    Experiment::from_toml(&format!(
        r#"
        seed = 3
        horizon_us = 3_600_000_000
        [cluster]
        preset = "seed"
        machines = 100
        [workload]
        load = 0.5
        [[workload.classes]]
        name = "batch"
        arrivals = {{ exponential = {{ mean_s = 10 }} }}
        tasks = {{ lognormal = {{ mean = 10, std = 50 }} }}
        duration_s = {{ lognormal = {{ mean = 300, std = 600 }} }}
        cpu_cores = {{ normal = {{ mean = 2, std = 1, min = 0.1 }} }}
        mem_gib = {{ normal = {{ mean = 4, std = 2, min = 0.25 }} }}
        [[workload.classes]]
        name = "service"
        arrivals = {{ exponential = {{ mean_s = 1500 }} }}
        tasks = {{ lognormal = {{ mean = 5, std = 10 }} }}
        duration_s = {{ lognormal = {{ mean = 86400, std = 43200 }} }}
        cpu_cores = {{ normal = {{ mean = 4, std = 2, min = 0.1 }} }}
        mem_gib = {{ normal = {{ mean = 8, std = 4, min = 0.25 }} }}
        priority = 100
        prefill = true
        [architecture]
        kind = "{kind}"
        [[architecture.schedulers]]
        name = "batch"
        classes = ["batch"]
        policy = {{ kind = "batch", conflicts = "{conflicts}" }}
        [[architecture.schedulers]]
        name = "service"
        classes = ["service"]
        policy = {{ kind = "service", conflicts = "{conflicts}" }}
        "#
    ))
    .unwrap()
}

#[test]
fn two_level_places_inside_its_offers_without_conflicts_in_either_mode() {
    // Pessimistic locking: a framework owns its offer, so neither a version change (locks,
    // unlocks, task ends elsewhere on the machine) nor a lack of room can reject a claim.
    let mut fine_placed = 0;
    for conflicts in ["fine", "coarse"] {
        let e = half_load_experiment("two-level", conflicts);
        let mut rec = CountingRecorder::default();
        let s = run_experiment(&e, &mut rec).unwrap();
        assert_eq!(rec.conflicts, ConflictCounts::default(), "{conflicts}");
        assert_eq!(rec.conflict_fraction(), 0.0, "{conflicts}");
        assert!(rec.successful_attempts > 100, "{conflicts}: {rec:?}");
        assert!(s.tasks.finished > 100, "{conflicts}: {:?}", s.tasks);
        assert_eq!(s.tasks.abandoned, 0, "{conflicts}: {:?}", s.tasks);
        // Coarse detection has nothing to detect inside an offer: the same placements.
        if conflicts == "fine" {
            fine_placed = rec.tasks_started;
        } else {
            assert_eq!(rec.tasks_started, fine_placed);
        }
    }
}

/// A uniform cell of 50 machines filled by long 1-core batch tasks, and a 4-task
/// priority-100 service job every 60 s: who preempts whom.
fn full_cell_and_service_jobs(kind: &str) -> CountingRecorder {
    let cfg = config(&format!(
        r#"
        horizon_us = 1_800_000_000
        [architecture]
        kind = "{kind}"
        [[architecture.schedulers]]
        name = "batch"
        classes = ["batch"]
        policy = {{ kind = "batch" }}
        [[architecture.schedulers]]
        name = "service"
        classes = ["service"]
        policy = {{ kind = "service" }}
        "#
    ));
    // 50 × 16 cores: 10 jobs of 80 one-core tasks fill the cell for two hours.
    let mut jobs: Vec<Job> = constant_jobs("batch", 0, 0, 1_000, 10, 80, 2 * HOUR_US).collect();
    jobs.extend(
        constant_jobs("service", 100, 60_000_000, 60_000_000, 29, 4, HOUR_US).map(|mut j| {
            j.priority = omega_core::Priority(100);
            j
        }),
    );
    run_with(cfg, uniform_cell(50), merged(jobs)).1
}

#[test]
fn two_level_frameworks_do_not_preempt_other_frameworks() {
    // Omega's service scheduler sees the whole cell and preempts batch tasks for room.
    let omega = full_cell_and_service_jobs("omega");
    assert!(omega.tasks_preempted >= 100, "{omega:?}");
    // A Mesos framework sees only its offer: no preemption across frameworks (the
    // allocator's revocation is not modelled), so service jobs wait for free resources.
    let two_level = full_cell_and_service_jobs("two-level");
    assert_eq!(two_level.tasks_preempted, 0, "{two_level:?}");
    assert!(two_level.offers > 0, "{two_level:?}");
}

#[test]
fn a_heartbeat_timeout_that_overflows_time_is_a_clear_error() {
    let cfg = |timeout: &str| {
        config(&format!(
            r#"
            horizon_us = 600_000_000
            [architecture]
            [[architecture.schedulers]]
            name = "all"
            policy = {{ kind = "batch" }}
            [failures]
            heartbeat_timeout_us = {timeout}
            scripted = [{{ at_us = 120_000_000, machine = 3 }}]
            "#
        ))
    };
    let input = || SimInput {
        cell: uniform_cell(10),
        prefill: Vec::new(),
        jobs: Box::new(constant_jobs("batch", 0, 0, 10_000_000, 50, 4, 300_000_000)),
    };
    let mut rec = CountingRecorder::default();
    let err = Simulation::new(cfg("18446744073709551615"), input(), &mut rec).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("failures.heartbeat_timeout_us"), "{text}");
    assert!(text.contains("horizon_us"), "{text}");
    // A timeout far beyond the horizon (but representable) means "never detected".
    let mut rec = CountingRecorder::default();
    let s = Simulation::new(cfg("1_000_000_000_000_000"), input(), &mut rec)
        .unwrap()
        .run();
    assert_eq!(rec.machines_failed, 1);
    assert_eq!(rec.failures_detected, 0, "{rec:?}");
    assert!(s.tasks.is_conserved());
}

#[test]
fn prefill_that_no_scheduler_takes_or_that_does_not_fit_is_counted() {
    let cfg = config(
        r#"
        horizon_us = 600_000_000
        [architecture]
        [[architecture.schedulers]]
        name = "batch"
        classes = ["batch"]
        policy = { kind = "batch" }
        "#,
    );
    let job = |id: u64, class: &'static str, tasks: u32, cpu_milli: u64| {
        Job::new(
            JobId(id),
            class,
            tasks,
            Resources::new(cpu_milli, 0, 1_024),
            HOUR_US,
        )
    };
    let input = SimInput {
        cell: uniform_cell(4),
        prefill: vec![
            // Nobody takes class "x".
            (job(1, "x", 3, 1_000), Some(HOUR_US)),
            // 17 cores fit no 16-core machine.
            (job(2, "batch", 2, 17_000), Some(HOUR_US)),
            // Four of five 10-core tasks fit the four machines.
            (job(3, "batch", 5, 10_000), Some(HOUR_US)),
        ],
        jobs: Box::new(std::iter::empty()),
    };
    let mut rec = CountingRecorder::default();
    let s = Simulation::new(cfg, input, &mut rec).unwrap().run();
    assert_eq!(
        s.input,
        InputTally {
            prefill_jobs_unrouted: 1,
            prefill_jobs_unplaced: 1,
            prefill_tasks_dropped: 3 + 2 + 1,
            missing_dependencies: 0,
        }
    );
    assert_eq!((rec.jobs_submitted, s.tasks.submitted), (1, 4));
    assert!(s.tasks.is_conserved());
}

#[test]
fn dependencies_on_jobs_that_never_arrive_are_counted_and_failed_ones_cancel() {
    let cfg = config(
        r#"
        horizon_us = 3_600_000_000
        [architecture]
        [[architecture.schedulers]]
        name = "all"
        policy = { kind = "batch" }
        "#,
    );
    // 200 one-task jobs, each depending on the one before it; job 50 also depends on job
    // 10_000, which never comes, and job 100 on job 99_999 (never) and on the 17-core job
    // 500, which fits nowhere, so job 100 and everything after it are cancelled.
    let mut jobs: Vec<Job> = constant_jobs("batch", 0, 0, 5_000_000, 200, 1, 1_000_000)
        .map(|mut j| {
            if j.id.0 > 0 {
                j.depends_on.push(JobId(j.id.0 - 1));
            }
            j
        })
        .collect();
    jobs[50].depends_on.push(JobId(10_000));
    jobs[100].depends_on.extend([JobId(500), JobId(99_999)]);
    let mut big = Job::new(JobId(500), "batch", 1, Resources::new(17_000, 0, 1_024), 1);
    big.submit_at_us = 1;
    jobs.push(big);
    let input = SimInput {
        cell: uniform_cell(4),
        prefill: Vec::new(),
        jobs: merged(jobs),
    };
    let mut rec = CountingRecorder::default();
    let mut sim = Simulation::new(cfg, input, &mut rec).unwrap();
    sim.run_until(3_600_000_000);
    let s = sim.summary();
    assert_eq!(s.input.missing_dependencies, 2, "{:?}", s.input);
    assert_eq!(s.tasks.finished, 100);
    assert_eq!(s.tasks.cancelled, 100);
    assert_eq!(s.tasks.unschedulable, 1);
    // Only the failed jobs are remembered for later dependants: the unschedulable one and
    // the 100 cancelled ones, none of the 100 finished.
    assert_eq!(sim.failed_jobs_remembered(), 101);
    sim.check_conservation().unwrap();
}
