//! Simulator tests: conservation, determinism, the paper's analytic and qualitative
//! behaviour, each architecture's features at half load, two-level offers, MapReduce extra
//! workers, failures, and input the engine counts instead of dropping.

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
    // Exactly the analytic value: 360 decisions of exactly 1 s in an hour.
    assert_eq!(s.schedulers[0].busy_us, 360 * 1_000_000);
    assert_eq!(s.schedulers[0].busyness(HOUR_US), 0.1);
    assert_eq!(rec.attempts, 360);
    assert!(s.tasks.is_conserved());
}

#[test]
fn monolithic_busyness_with_per_task_think_time_is_exact_in_both_paths() {
    // Class a: one 3-task job every 20 s, 0.2 s + 0.1 s a task = 0.5 s; class b: one
    // 1-task job every 30 s, 1 s + 0.5 s = 1.5 s (multi-path) or a's 0.3 s (single-path).
    // Busyness: 0.5/20 + 1.5/30 = 0.075 multi-path; 0.5/20 + 0.3/30 = 0.035 single-path.
    let arch = |kind: &str| {
        config(&format!(
            r#"
            horizon_us = 3_600_000_000
            [architecture]
            kind = "{kind}"
            [[architecture.schedulers]]
            name = "a"
            classes = ["a"]
            policy = {{ kind = "batch", t_job_us = 200_000, t_task_us = 100_000 }}
            [[architecture.schedulers]]
            name = "b"
            classes = ["b"]
            policy = {{ kind = "batch", t_job_us = 1_000_000, t_task_us = 500_000 }}
            "#
        ))
    };
    let jobs = || {
        let mut jobs: Vec<Job> = constant_jobs("a", 0, 0, 20_000_000, 180, 3, 5_000_000).collect();
        jobs.extend(constant_jobs(
            "b", 1_000, 7_000_000, 30_000_000, 120, 1, 5_000_000,
        ));
        merged(jobs)
    };
    let (multi, _) = run_with(arch("monolithic-multi-path"), uniform_cell(10), jobs());
    assert_eq!(multi.schedulers[0].busy_us, 180 * 500_000 + 120 * 1_500_000);
    assert_eq!(multi.schedulers[0].busyness(HOUR_US), 0.075);
    let (single, _) = run_with(arch("monolithic-single-path"), uniform_cell(10), jobs());
    assert_eq!(single.schedulers[0].busy_us, 180 * 500_000 + 120 * 300_000);
    assert_eq!(single.schedulers[0].busyness(HOUR_US), 0.035);
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

/// One architecture at load 0.5 ([`half_load_experiment`], fine-grained conflicts).
fn healthy_run(kind: &str) -> (SimSummary, CountingRecorder) {
    let e = half_load_experiment(kind, "fine");
    let mut rec = CountingRecorder::default();
    let s = run_experiment(&e, &mut rec).unwrap();
    // A healthy regime: (nearly) everything is placed, no scheduler is near saturation, and
    // every task is accounted for. (Single-path decides service jobs with the batch policy,
    // which does not preempt: a few large ones are given up.)
    assert!(s.tasks.is_conserved(), "{kind}: {:?}", s.tasks);
    assert_eq!(s.tasks.unschedulable, 0, "{kind}: {:?}", s.tasks);
    assert!(
        s.tasks.abandoned * 10 < s.tasks.submitted,
        "{kind}: {:?}",
        s.tasks
    );
    assert!(s.tasks.finished > 800, "{kind}: {:?}", s.tasks);
    assert!(
        s.tasks.pending * 50 < s.tasks.submitted,
        "{kind}: {:?}",
        s.tasks
    );
    for w in &s.schedulers {
        assert!(
            w.busyness(s.end_us) < 0.1,
            "{kind}: {} is busy: {w:?}",
            w.name
        );
    }
    (s, rec)
}

#[test]
fn monolithic_is_one_scheduler_and_multi_path_gives_each_class_its_think_time() {
    let (single, single_rec) = healthy_run("monolithic-single-path");
    let (multi, multi_rec) = healthy_run("monolithic-multi-path");
    for (s, rec) in [(&single, &single_rec), (&multi, &multi_rec)] {
        assert_eq!(s.schedulers.len(), 1);
        assert_eq!(s.schedulers[0].name, "monolithic");
        assert_eq!(s.schedulers[0].attempts, rec.attempts);
        // One scheduler, one queue: nobody else commits, so nothing conflicts.
        assert_eq!(rec.conflicts, ConflictCounts::default());
    }
    // Single-path decides every job with the first scheduler's (batch) think time; in
    // multi-path service jobs take the service policy's 100 ms + 5 ms a task.
    assert!(
        multi.schedulers[0].busy_us >= single.schedulers[0].busy_us + 100_000,
        "multi {} µs, single {} µs",
        multi.schedulers[0].busy_us,
        single.schedulers[0].busy_us
    );
}

#[test]
fn omega_schedulers_decide_in_parallel_and_rarely_conflict_at_half_load() {
    let (s, rec) = healthy_run("omega");
    // The paper's randomized first fit spreads tasks over the cell, which fragments CPU: in
    // this run one 67-task batch job of 3.5-core tasks finds no machine with 3.5 free cores
    // for 100 attempts after placing 26 tasks (checked on the cell) and is given up. The
    // random-start scan packs tighter and abandons none here.
    assert!(rec.jobs_abandoned <= 1, "{:?} {rec:?}", s.tasks);
    assert_eq!(s.schedulers.len(), 2);
    let (batch, service) = (&s.schedulers[0], &s.schedulers[1]);
    assert!(batch.attempts > 100 && service.attempts > 0, "{s:?}");
    // Each decides with its own think time: service attempts cost at least 100 ms.
    assert!(service.busy_us >= service.attempts * 100_000, "{service:?}");
    assert!(batch.busy_us < batch.attempts * 100_000, "{batch:?}");
    // Fine-grained detection at half load: few conflicts (the paper's conflict fraction).
    assert!(rec.conflict_fraction() < 0.05, "{rec:?}");
}

#[test]
fn two_level_frameworks_work_through_offers_at_half_load() {
    let (s, rec) = healthy_run("two-level");
    assert_eq!(s.tasks.abandoned, 0, "{:?}", s.tasks);
    assert!(rec.offers > 100, "{rec:?}");
    // Frameworks decide only on offers, so every attempt was made inside one, and a
    // framework without work holds none: at most one offer per attempt and tick.
    assert!(rec.offers <= rec.attempts + 3_600, "{rec:?}");
    assert_eq!(rec.conflicts, ConflictCounts::default());
    assert_eq!(rec.tasks_preempted, 0);
    assert!(s.schedulers.iter().all(|w| w.attempts > 0), "{s:?}");
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
/// absent that one is skipped with a `SKIPPED` line on the terminal, unless
/// `OMEGA_REQUIRE_SHARED=1` (CI).
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
                    // Written to the terminal itself: the harness captures only `eprint!`.
                    let _ = std::io::Write::write_fmt(
                        &mut std::io::stderr(),
                        format_args!(
                            "SKIPPED {what}: {} is absent (OMEGA_REQUIRE_SHARED=1 makes this \
                             a failure, see README)\n",
                            trace.display()
                        ),
                    );
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
/// class and a service class of two-hour jobs every 5 minutes (so that both, not day-long
/// service jobs alone, make the load), without GPUs, prefilled; the schedulers ask for
/// `conflicts` detection.
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
        arrivals = {{ exponential = {{ mean_s = 300 }} }}
        tasks = {{ lognormal = {{ mean = 5, std = 10 }} }}
        duration_s = {{ lognormal = {{ mean = 7200, std = 3600 }} }}
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

/// A MapReduce job of `workers` one-core workers bringing `work_s` worker-seconds, at 0.
fn mapreduce_job(id: u64, workers: u32, work_s: u64) -> Job {
    let mut job = Job::new(
        JobId(id),
        "mr",
        workers,
        Resources::new(1_000, 0, 1_024),
        work_s * 1_000_000 / u64::from(workers),
    );
    job.mapreduce = Some(omega_core::MapReduceWork {
        requested_workers: workers,
        total_work_us: work_s * 1_000_000,
        max_workers: u32::MAX,
    });
    job
}

/// An Omega cell with a slow MapReduce scheduler (10 s think time) for class `mr` and a fast
/// batch scheduler for the rest.
fn mapreduce_and_batch(failures: &str) -> SimConfig {
    config(&format!(
        r#"
        horizon_us = 3_600_000_000
        [architecture]
        [[architecture.schedulers]]
        name = "mr"
        classes = ["mr"]
        policy = {{ kind = "mapreduce", t_job_us = 10_000_000, t_task_us = 0 }}
        [[architecture.schedulers]]
        name = "batch"
        policy = {{ kind = "batch", t_job_us = 1_000, t_task_us = 0 }}
        [failures]
        {failures}
        "#
    ))
}

/// When each task (own or extra) started, ended or was evicted, and the grants.
#[derive(Default, Debug)]
struct WorkerLog {
    durations: Vec<(omega_core::TaskId, u64)>,
    ends: std::collections::BTreeMap<omega_core::TaskId, u64>,
    placed: Vec<u32>,
    grants: Vec<(u32, u32, u64, u64)>,
}

impl Recorder for WorkerLog {
    fn record(&mut self, at_us: u64, fact: &Fact) {
        match fact {
            Fact::TaskStarted {
                task, duration_us, ..
            }
            | Fact::ExtraWorkerStarted {
                task, duration_us, ..
            } => self.durations.push((*task, *duration_us)),
            Fact::TaskFinished { task, .. } | Fact::ExtraWorkerFinished { task, .. } => {
                self.ends.insert(*task, at_us);
            }
            Fact::AttemptEnded {
                scheduler: 0,
                placed,
                ..
            } => self.placed.push(*placed),
            Fact::ExtraWorkersGranted {
                workers,
                extra_workers,
                duration_us,
                without_extras_us,
                ..
            } => self
                .grants
                .push((*workers, *extra_workers, *duration_us, *without_extras_us)),
            _ => {}
        }
    }
}

#[test]
fn mapreduce_durations_follow_the_extra_workers_the_commit_accepted() {
    // The MapReduce scheduler sees 160 free cores and proposes 2 workers + 158 extras; while
    // it thinks, a batch job takes 80 of them, so its commit accepts 80 claims. The 2,000
    // worker-seconds are then spread over what runs, not over the 160 it hoped for.
    let mut jobs = vec![mapreduce_job(1, 2, 2_000)];
    let mut filler = Job::new(
        JobId(2),
        "batch",
        80,
        Resources::new(1_000, 0, 1_024),
        HOUR_US,
    );
    filler.submit_at_us = 1_000_000;
    jobs.push(filler);
    let mut log = WorkerLog::default();
    let input = SimInput {
        cell: uniform_cell(10),
        prefill: Vec::new(),
        jobs: merged(jobs),
    };
    let s = Simulation::new(mapreduce_and_batch(""), input, &mut log)
        .unwrap()
        .run();
    assert_eq!(log.placed.first(), Some(&80), "{log:?}");
    let (own, extra, duration_us, without_us) = log.grants[0];
    assert_eq!(own + extra, 80);
    assert_eq!(without_us, 1_000_000_000);
    // Own workers accepted share their work with the extras accepted.
    assert_eq!(
        duration_us,
        (u64::from(own) * 1_000_000_000).div_ceil(u64::from(own + extra))
    );
    // Every worker of the grant runs its duration; a requested worker the commit rejected
    // is placed later and runs its own share alone.
    let durations: Vec<u64> = log
        .durations
        .iter()
        .filter(|(t, _)| t.job == JobId(1))
        .map(|(_, d)| *d)
        .collect();
    let in_grant = durations.iter().filter(|&&d| d == duration_us).count();
    assert_eq!(in_grant, 80, "{durations:?}");
    assert!(durations[80..].iter().all(|&d| d == without_us));
    assert_eq!(durations.len(), 80 + 2 - own as usize);
    assert_eq!(s.tasks.extra_started, u64::from(extra));
    assert_eq!(
        s.tasks.submitted, 82,
        "extra workers are not the job's tasks"
    );
    assert!(s.tasks.is_conserved(), "{:?}", s.tasks);
}

#[test]
fn survivors_of_evicted_extra_workers_take_over_their_work() {
    // 4 workers and 156 extras fill the 10 machines: 16,000 worker-seconds, 100 s each.
    let run = |failures: &str| {
        let mut log = WorkerLog::default();
        let input = SimInput {
            cell: uniform_cell(10),
            prefill: Vec::new(),
            jobs: Box::new(vec![mapreduce_job(1, 4, 16_000)].into_iter()),
        };
        let mut rec = CountingRecorder::default();
        let s = Simulation::new(
            mapreduce_and_batch(failures),
            input,
            &mut Tee(&mut log, &mut rec),
        )
        .unwrap()
        .run();
        (s, log, rec)
    };
    let (_, healthy, _) = run("");
    let (own, extra, duration_us, _) = healthy.grants[0];
    assert_eq!((own, extra, duration_us), (4, 156, 100_000_000));
    let started = 10_000_000; // the think time
    assert!(healthy.ends.values().all(|&at| at == started + duration_us));
    // Machine 9 (extra workers only, with this seed) fails 40 s in; detected 10 s later
    // (the default timeout).
    let (s, failed, rec) = run("scripted = [{ at_us = 50_000_000, machine = 9 }]");
    assert_eq!(
        rec.tasks_lost, 0,
        "machine 9 held a requested worker: {rec:?}"
    );
    assert_eq!(rec.extra_workers_evicted, 16, "{rec:?}");
    // Detected at 60 s with 50 s left: the survivors' work over fewer workers.
    let lost = rec.extra_workers_evicted;
    let survivors = 160 - lost;
    let detected = 60_000_000;
    let remaining = started + duration_us - detected;
    let expect = detected + remaining * 160 / survivors;
    for (task, at) in &failed.ends {
        assert!(
            at.abs_diff(expect) <= lost,
            "{task} ended at {at}, expected {expect} (±{lost} µs of rounding)"
        );
    }
    assert_eq!(s.tasks.extra_evicted, rec.extra_workers_evicted);
    assert!(s.tasks.is_conserved(), "{:?}", s.tasks);
}

/// Each MapReduce grant's speedup (alone / with its extra workers).
#[derive(Default)]
struct Speedups(Vec<f64>);

impl Recorder for Speedups {
    fn record(&mut self, _at_us: u64, fact: &Fact) {
        if let Fact::ExtraWorkersGranted {
            duration_us,
            without_extras_us,
            ..
        } = fact
        {
            self.0.push(*without_extras_us as f64 / *duration_us as f64);
        }
    }
}

/// (share of MapReduce jobs that gain, p80 speedup over all MapReduce jobs, largest) for
/// `configs/experiments/mapreduce-1k-day.toml` under growth policy `policy`.
fn mapreduce_day(policy: &str) -> (f64, f64, f64) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/experiments/mapreduce-1k-day.toml"
    );
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("\"max-parallelism\"", &format!("\"{policy}\""));
    let e = Experiment::from_toml(&text).unwrap();
    let mapreduce_jobs = build_input(&e)
        .unwrap()
        .jobs
        .filter(|j| j.mapreduce.is_some())
        .count();
    let mut speedups = Speedups::default();
    let mut counts = CountingRecorder::default();
    let s = run_experiment(&e, &mut Tee(&mut speedups, &mut counts)).unwrap();
    assert!(s.tasks.is_conserved(), "{policy}: {:?}", s.tasks);
    assert_eq!(counts.extra_workers_started, s.tasks.extra_started);
    let mut all = speedups.0;
    let gained = all.len();
    assert!(gained <= mapreduce_jobs);
    all.resize(mapreduce_jobs, 1.0); // the others ran as requested
    all.sort_by(f64::total_cmp);
    let p80 = all[(all.len() - 1) * 8 / 10];
    let gain_share = gained as f64 / mapreduce_jobs as f64;
    (gain_share, p80, all[all.len() - 1])
}

#[test]
fn mapreduce_speedups_are_in_the_papers_range() {
    // The paper (Fig. 15): 50-70% of MapReduce jobs gain; max-parallelism's p80 speedup is
    // 3-4x; relative job size (<= 4x) is nearly as good; a 60% global cap gains little on a
    // busy cell. One seeded day on 1,000 machines at 70% load (388 MapReduce jobs): the
    // figures are exact for this seed, the bounds are the paper's.
    let (max_share, max_p80, max_top) = mapreduce_day("max-parallelism");
    assert!((0.5..=0.7).contains(&max_share), "{max_share}");
    assert!((3.0..=4.0).contains(&max_p80), "{max_p80}");
    assert!(max_top > 4.0, "{max_top}");
    let (rel_share, rel_p80, rel_top) = mapreduce_day("relative-job-size");
    assert!(
        rel_top <= 4.0 && rel_p80 >= 0.75 * max_p80,
        "{rel_p80} {rel_top}"
    );
    assert!(rel_share >= 0.9 * max_share, "{rel_share}");
    let (cap_share, cap_p80, _) = mapreduce_day("global-cap");
    assert!(
        cap_share < 0.5 * max_share && cap_p80 < max_p80,
        "{cap_share} {cap_p80}"
    );
}

/// Prefill places free room only: a high-priority prefill job whose policy would preempt
/// the low-priority prefill filling the cell has those claims dropped and counted. Before
/// this rule, the service policy's prefill commit evicted batch prefill tasks behind the
/// engine's back, and their end events panicked (the Google part-0 experiment did). Flip
/// the `preempts.is_empty()` filter in `prefill.rs` and this test panics.
#[test]
fn prefill_never_preempts_and_counts_what_it_could_not_place() {
    let cfg = config(
        "horizon_us = 7_200_000_000\n[architecture]\nkind = \"omega\"\n\
         [[architecture.schedulers]]\nname = \"batch\"\nclasses = [\"batch\"]\npolicy = { kind = \"batch\" }\n\
         [[architecture.schedulers]]\nname = \"service\"\nclasses = [\"service\"]\npolicy = { kind = \"service\" }",
    );
    // 4 machines × 16 cores: the batch prefill takes every core for an hour.
    let fill = Job::new(
        JobId(1),
        "batch",
        64,
        Resources::new(1_000, 0, 1_024),
        HOUR_US,
    );
    let mut service = Job::new(
        JobId(2),
        "service",
        4,
        Resources::new(4_000, 0, 1_024),
        2 * HOUR_US,
    );
    service.priority = omega_core::Priority(100);
    let mut rec = CountingRecorder::default();
    let input = SimInput {
        cell: uniform_cell(4),
        prefill: vec![(fill, None), (service, None)],
        jobs: Box::new(std::iter::empty()),
    };
    let mut sim = Simulation::new(cfg, input, &mut rec).unwrap();
    sim.check_conservation().unwrap();
    sim.run_until(7_200_000_000);
    sim.check_conservation().unwrap();
    let s = sim.summary();
    assert_eq!(s.input.prefill_tasks_dropped, 4, "{:?}", s.input);
    assert_eq!(s.input.prefill_jobs_unplaced, 1, "{:?}", s.input);
    assert_eq!(
        s.tasks.finished, 64,
        "every batch prefill task ran to its end"
    );
}

/// Offers hold free room and nothing else: at every utilisation sample, what offers hold
/// (`locked`) fits in what the cell has free, offers of two frameworks are outstanding at
/// once (the service framework thinks 10 s on the whole cell while batch gets the room freed
/// meanwhile), and no claim inside an offer conflicts. The engine also checks every offer's
/// total against its view's free room (a debug assertion in `two_level.rs`, on in tests).
/// Offering only when no other offer is outstanding fails the concurrency assertion; not
/// hiding other offers' room from a new offer's view fails the engine's check.
#[test]
fn concurrent_offers_hold_only_free_room() {
    #[derive(Default)]
    struct Offers {
        outstanding: std::collections::BTreeSet<usize>,
        most_at_once: usize,
        samples: u32,
        violations: Vec<String>,
    }
    impl Recorder for Offers {
        fn record(&mut self, at_us: u64, fact: &Fact) {
            match fact {
                Fact::OfferMade { framework, .. } => {
                    self.outstanding.insert(*framework);
                    self.most_at_once = self.most_at_once.max(self.outstanding.len());
                }
                Fact::OfferReturned { framework, .. } => {
                    self.outstanding.remove(framework);
                }
                Fact::Utilisation {
                    allocated,
                    locked,
                    capacity,
                } => {
                    self.samples += 1;
                    let free = capacity.saturating_sub(allocated);
                    if !locked.fits(&free) {
                        self.violations
                            .push(format!("{at_us} µs: locked {locked:?} > free {free:?}"));
                    }
                }
                _ => {}
            }
        }
    }
    // A healthy regime (load 0.5): at the seed's rates as written the batch framework is
    // backlogged at every round and, first in DRF order, takes the whole cell each time.
    let e = Experiment::from_toml(
        "seed = 5\nhorizon_us = 3_600_000_000\n[cluster]\npreset = \"seed\"\nmachines = 1_000\n\
         [workload]\npreset = \"seed\"\nload = 0.5\n[architecture]\nkind = \"two-level\"\n\
         [[architecture.schedulers]]\nname = \"batch\"\nclasses = [\"batch\"]\npolicy = { kind = \"batch\" }\n\
         [[architecture.schedulers]]\nname = \"service\"\nclasses = [\"service\"]\npolicy = { kind = \"service\" }",
    )
    .unwrap();
    let mut counts = CountingRecorder::default();
    let mut offers = Offers::default();
    let mut cfg = e.sim_config();
    for s in &mut cfg.architecture.schedulers {
        if s.name == "service" {
            s.policy = toml::from_str("kind = \"service\"\nt_job_us = 10_000_000").unwrap();
        }
    }
    cfg.timing.sample_interval_us = 1_000_000;
    let mut both = Tee(&mut counts, &mut offers);
    let mut sim = Simulation::new(cfg, build_input(&e).unwrap(), &mut both).unwrap();
    sim.run_until(e.horizon_us);
    sim.check_conservation().unwrap();
    drop(sim);
    assert!(offers.samples > 3_500, "{} samples", offers.samples);
    assert!(
        offers.violations.is_empty(),
        "{:?}",
        &offers.violations[..3.min(offers.violations.len())]
    );
    assert_eq!(
        offers.most_at_once, 2,
        "batch and service offers were never out at once"
    );
    assert_eq!(counts.conflicts.total(), 0, "{:?}", counts.conflicts);
    assert!(counts.offers > 50, "{} offers", counts.offers);
}
