//! The Omega paper's semantics as named options, and their effect on the numbers the paper
//! reports: the `[cluster] versions` key (which changes bump a machine's version) reaches the
//! cell a run builds, and the paper's choices — versions that only claims change, and the
//! pool-based randomized first fit — give fewer conflicts than the alternatives, by margins
//! that the same run without the option would fail.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use omega_core::{CellState, FailureDomain, Job, JobId, Machine, Resources, VersionPolicy};
use omega_sim::*;

const HOUR_US: u64 = 3_600_000_000;

/// Omega with one coarse-grained batch scheduler (the paper's 0.1 s + 5 ms a task) and one
/// service scheduler on a 200-machine seed cell for an hour, under version policy
/// `versions`. Batch: a 10-task, 1-core, 60 s job a second on average (about 29% of the
/// cell's CPU); service: a 5-task, 2-core, 1 h job a minute, with prefill (about 29%).
fn coarse_batch_experiment(versions: &str, seed: u64) -> Experiment {
    Experiment::from_toml(&format!(
        r#"
        seed = {seed}
        horizon_us = {HOUR_US}
        [cluster]
        preset = "seed"
        machines = 200
        versions = "{versions}"
        [workload]
        [[workload.classes]]
        name = "batch"
        arrivals = {{ exponential = {{ mean_s = 1 }} }}
        tasks = {{ lognormal = {{ mean = 10, std = 20 }} }}
        duration_s = {{ lognormal = {{ mean = 60, std = 60 }} }}
        cpu_cores = {{ normal = {{ mean = 1, std = 0.5, min = 0.1 }} }}
        mem_gib = {{ normal = {{ mean = 2, std = 1, min = 0.25 }} }}
        [[workload.classes]]
        name = "service"
        arrivals = {{ exponential = {{ mean_s = 60 }} }}
        tasks = {{ lognormal = {{ mean = 5, std = 10 }} }}
        duration_s = {{ lognormal = {{ mean = 3600, std = 1800 }} }}
        cpu_cores = {{ normal = {{ mean = 2, std = 1, min = 0.1 }} }}
        mem_gib = {{ normal = {{ mean = 4, std = 2, min = 0.25 }} }}
        priority = 100
        prefill = true
        [architecture]
        kind = "omega"
        [[architecture.schedulers]]
        name = "batch"
        classes = ["batch"]
        policy = {{ kind = "batch", conflicts = "coarse", t_job_us = 100_000, t_task_us = 5_000 }}
        [[architecture.schedulers]]
        name = "service"
        classes = ["service"]
        policy = {{ kind = "service" }}
        "#
    ))
    .unwrap()
}

fn run(experiment: &Experiment) -> (SimSummary, CountingRecorder) {
    let mut rec = CountingRecorder::default();
    let summary = run_experiment(experiment, &mut rec).unwrap();
    assert!(summary.tasks.is_conserved(), "{:?}", summary.tasks);
    (summary, rec)
}

#[test]
fn the_versions_key_reaches_generated_and_trace_cells() {
    for policy in VersionPolicy::ALL {
        let e = coarse_batch_experiment(policy.name(), 1);
        assert_eq!(e.cluster.versions, policy);
        assert_eq!(build_input(&e).unwrap().cell.version_policy(), policy);
    }
    let swf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../omega-workload/tests/data/small.swf"
    );
    let trace = |versions: &str| {
        Experiment::from_toml(&format!(
            "horizon_us = 1_000_000\n[cluster]\n{versions}\n[workload]\ntrace = \"swf\"\n\
             path = \"{swf}\"\n[architecture]\n[[architecture.schedulers]]\nname = \"x\"\n\
             policy = {{ kind = \"batch\" }}"
        ))
        .unwrap()
    };
    let claims = build_input(&trace("versions = \"claims\"")).unwrap();
    assert_eq!(claims.cell.version_policy(), VersionPolicy::Claims);
    // Without the key: today's behaviour, every change.
    let default = build_input(&trace("")).unwrap();
    assert_eq!(default.cell.version_policy(), VersionPolicy::EveryChange);
}

#[test]
fn an_unknown_versions_value_lists_the_allowed_ones() {
    let text = "horizon_us = 1\n[cluster]\nversions = \"claim\"\n[architecture]\n\
                [[architecture.schedulers]]\nname = \"x\"\npolicy = { kind = \"batch\" }";
    let err = Experiment::from_toml(text).unwrap_err().to_string();
    assert!(err.contains("claim"), "{err}");
    for policy in VersionPolicy::ALL {
        assert!(err.contains(&format!("`{}`", policy.name())), "{err}");
    }
    assert!(err.contains("line 3"), "{err}");
}

/// Coarse-grained conflicts (the paper's simulator, whose Fig. 14 compares coarse with fine
/// detection, changes a machine's version only when a claim is committed on it): with
/// "every-change", a task that ends on a machine the batch scheduler picked while it thought
/// breaks its claim; with "claims", only the service scheduler's claims do. Measured (seeds
/// 1 and 2): conflict fraction 0.0008 and 0.0011 with claims, 0.038 and 0.037 with every
/// change (35-45 times as many; the issue saw 4-14 times in its configurations). The margin,
/// 4 times and 0.02 apart, fails without the option: with the key ignored (checked by making
/// `with_version_policy` return the cell unchanged) both runs are the same run, ratio 1.
#[test]
fn coarse_conflicts_are_far_fewer_when_only_claims_bump_versions() {
    for seed in [1, 2] {
        let (s_claims, claims) = run(&coarse_batch_experiment("claims", seed));
        let (s_every, every) = run(&coarse_batch_experiment("every-change", seed));
        let (c, e) = (claims.conflict_fraction(), every.conflict_fraction());
        assert!(
            e >= 4.0 * c && e - c >= 0.02,
            "seed {seed}: conflict fraction {c:.4} with claims, {e:.4} with every change"
        );
        // A healthy regime: the batch scheduler is far from saturated in both runs.
        for s in [&s_claims, &s_every] {
            let busy = s.schedulers[0].busyness(s.end_us);
            assert!((0.05..0.6).contains(&busy), "seed {seed}: busyness {busy}");
        }
    }
}

/// A uniform cell of `n` machines with 16 cores and 64 GiB each, 10 a rack.
fn uniform_cell(n: u32) -> CellState {
    CellState::new((0..n).map(|i| Machine::new("U", 16_000, 65_536, FailureDomain(i / 10))))
        .unwrap()
}

/// `count` jobs of `class`: 4 tasks of 4 cores and 4 GiB for 60 s, one every `gap_us` from
/// `start_us`, ids from `first_id`.
fn four_core_jobs(class: &'static str, first_id: u64, start_us: u64, gap_us: u64) -> Vec<Job> {
    (0..2 * HOUR_US / gap_us)
        .map(|i| {
            let r = Resources::new(4_000, 0, 4_096);
            let mut j = Job::new(JobId(first_id + i), class, 4, r, 60_000_000);
            j.submit_at_us = start_us + i * gap_us;
            j
        })
        .collect()
}

/// Two batch schedulers with fine-grained conflicts and placement `placement` on 400 uniform
/// machines, 160 of which a long-running job fills (placed by the paper's rule, so they lie
/// at random): each scheduler gets a 4-task job every 2 s and thinks 1 s about it (busyness
/// 0.5 each); CPU use is about 65% (40% the filler, 25% the batch tasks). Two hours.
fn two_batch_schedulers(placement: &str, seed: u64) -> (SimSummary, CountingRecorder) {
    let cfg: SimConfig = toml::from_str(&format!(
        r#"
        seed = {seed}
        horizon_us = {horizon}
        [architecture]
        kind = "omega"
        [[architecture.schedulers]]
        name = "filler"
        classes = ["filler"]
        policy = {{ kind = "batch" }}
        [[architecture.schedulers]]
        name = "a"
        classes = ["a"]
        policy = {{ kind = "batch", placement = "{placement}", t_job_us = 1_000_000, t_task_us = 0 }}
        [[architecture.schedulers]]
        name = "b"
        classes = ["b"]
        policy = {{ kind = "batch", placement = "{placement}", t_job_us = 1_000_000, t_task_us = 0 }}
        "#,
        horizon = 2 * HOUR_US
    ))
    .unwrap();
    let gap_us = 2_000_000;
    let mut jobs = four_core_jobs("a", 1_000, 0, gap_us);
    jobs.extend(four_core_jobs("b", 1 << 32, gap_us / 4, gap_us));
    jobs.sort_by_key(|j| (j.submit_at_us, j.id));
    let filler = Job::new(
        JobId(1),
        "filler",
        160,
        Resources::new(16_000, 0, 16_384),
        4 * HOUR_US,
    );
    let input = SimInput {
        cell: uniform_cell(400),
        prefill: vec![(filler, Some(4 * HOUR_US))],
        jobs: Box::new(jobs.into_iter()),
    };
    let mut rec = CountingRecorder::default();
    let summary = Simulation::new(cfg, input, &mut rec).unwrap().run();
    assert!(summary.tasks.is_conserved(), "{:?}", summary.tasks);
    assert_eq!(summary.tasks.abandoned + summary.tasks.pending, 0);
    (summary, rec)
}

/// Fine-grained conflicts (Fig. 9, 13, 14 count them): a scan from a random start takes the
/// first machine with room after the start, so a free machine behind a long run of full
/// ones is picked far more often than one behind a short run, and two schedulers collide
/// there; the paper's pool draws every candidate alike. Measured (seeds 1 and 2): 13 and 13
/// attempts with conflicts under the paper's rule (conflict fraction 0.0018), 66 and 61
/// under the scan (0.0091 and 0.0084: about 5 times; the issue saw about 1.6 times in its
/// configuration, where fewer machines are full). The margin, twice as many, fails when both
/// runs use the same rule: checked by sending `random-start-scan` to the paper's rule, which
/// makes the two runs identical (ratio 1).
#[test]
fn fine_conflicts_are_fewer_under_the_paper_random_first_fit_than_under_the_scan() {
    let (mut paper, mut scan) = (0, 0);
    for seed in [1, 2] {
        let (s_paper, r_paper) = two_batch_schedulers("random-first-fit", seed);
        let (s_scan, r_scan) = two_batch_schedulers("random-start-scan", seed);
        for s in [&s_paper, &s_scan] {
            for w in &s.schedulers[1..] {
                let busy = w.busyness(s.end_us);
                assert!((0.3..0.7).contains(&busy), "seed {seed}: busyness {busy}");
            }
        }
        assert!(
            r_scan.conflict_fraction() >= 2.0 * r_paper.conflict_fraction(),
            "seed {seed}: conflict fraction {:.4} under the paper's rule, {:.4} under the scan",
            r_paper.conflict_fraction(),
            r_scan.conflict_fraction()
        );
        paper += r_paper.attempts_with_conflicts;
        scan += r_scan.attempts_with_conflicts;
    }
    assert!(
        scan >= 2 * paper,
        "{paper} conflicted attempts (paper) vs {scan} (scan)"
    );
    assert!(paper > 0, "no conflicts at all: the regime tests nothing");
}
