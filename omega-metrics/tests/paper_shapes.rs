//! Shape checks of the Omega paper reproduction: each experiment file of
//! `configs/experiments/` that reproduces a paper figure runs in its `--quick` form (two
//! simulated hours on the 1,000-machine cell, three service think times) and the paper's
//! qualitative result is asserted as a property with a margin. Each test's comment says which
//! model switch, flipped, makes it fail.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};

use omega_metrics::{NoProgress, RunOutcome, run_plan};
use omega_sim::{ExperimentPlan, PlanOptions};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The quick form of `configs/experiments/NAME.toml`, run on two threads.
fn quick(name: &str) -> Vec<RunOutcome> {
    let path = root().join(format!("configs/experiments/{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let options = PlanOptions {
        quick: true,
        ..PlanOptions::default()
    };
    let plan = ExperimentPlan::from_toml(name, &text, &options).unwrap();
    run_plan(&plan, 2, &NoProgress).unwrap()
}

/// The outcome of `variant` at service `t_job_us`.
fn at<'a>(outcomes: &'a [RunOutcome], variant: &str, t_job_us: u64) -> &'a RunOutcome {
    let id = format!("architecture.schedulers.0.policy.t_job_us={t_job_us}");
    outcomes
        .iter()
        .find(|o| o.run.variant == variant && o.run.id.contains(&id))
        .unwrap_or_else(|| panic!("no run {variant} {id}"))
}

/// Batch jobs' p90 wait to their first attempt in `variant` at service `t_job_us`.
fn batch_wait_p90(outcomes: &[RunOutcome], variant: &str, t_job_us: u64) -> f64 {
    metric(
        at(outcomes, variant, t_job_us),
        "",
        "batch",
        "wait_first_attempt_s.p90",
    )
}

fn metric(o: &RunOutcome, scheduler: &str, class: &str, name: &str) -> f64 {
    o.metrics
        .get(scheduler, class, name)
        .unwrap_or_else(|| panic!("{}: no {scheduler}/{class}/{name}", o.run.id))
}

/// Fig. 5/6: with a 100 s service decision, single-path monolithic makes batch jobs wait
/// behind service decisions; multi-path does not. Flip: give the multi-path variant
/// `architecture.kind = "monolithic-single-path"` and the ratio is 1.
#[test]
fn monolithic_multi_path_spares_batch_from_slow_service_decisions() {
    let outcomes = quick("monolithic");
    let single = batch_wait_p90(&outcomes, "monolithic-single-path", 100_000_000);
    let multi = batch_wait_p90(&outcomes, "monolithic-multi-path", 100_000_000);
    assert!(
        single > 10.0 * multi.max(0.01),
        "single {single} s, multi {multi} s"
    );
}

/// Fig. 7/8: in Omega the batch scheduler is unaffected by the service scheduler's think
/// time: its p90 wait changes by less than 20% between service t_job 10 ms and 100 s.
/// Flip: set `architecture.kind = "monolithic-single-path"` in shared-state.toml and batch
/// waits grow by orders of magnitude.
#[test]
fn omega_batch_wait_ignores_service_think_time() {
    let outcomes = quick("shared-state");
    let fast = batch_wait_p90(&outcomes, "omega", 10_000);
    let slow = batch_wait_p90(&outcomes, "omega", 100_000_000);
    let change = (slow - fast).abs() / fast.max(1e-3);
    assert!(
        change < 0.2,
        "batch wait p90 {fast} s -> {slow} s ({change:.2})"
    );
}

/// Fig. 14: with incremental commits, coarse-grained conflict detection (any change to a
/// machine since the snapshot) conflicts more than fine-grained (the machine no longer
/// fits): the paper finds 2-3x more. The quick form shows it at service t_job 100 s. Flip:
/// set `conflicts = "fine"` in the coarse-incremental variant and the ratio falls to 1.
#[test]
fn coarse_conflicts_exceed_fine_ones() {
    let outcomes = quick("conflict-modes");
    let t = 100_000_000;
    let frac = |v: &str| metric(at(&outcomes, v, t), "service", "", "conflict_fraction");
    let (coarse, fine) = (frac("coarse-incremental"), frac("fine-incremental"));
    assert!(
        coarse > 2.0 * fine.max(1e-3),
        "coarse {coarse}, fine {fine}"
    );
}
