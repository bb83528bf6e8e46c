//! Criterion benchmark of omega-sim: the seed workload on 1,000 machines for one simulated
//! day, Omega with one batch and one service scheduler (target: under 1 s wall).
//!
//! The 10,000-machine, 7-day run takes tens of seconds, too long for criterion; time it with
//! `cargo xtask experiment omega-10k-week`.

use criterion::{Criterion, criterion_group, criterion_main};
use omega_sim::{CountingRecorder, Experiment, run_experiment};

fn bench_sim(c: &mut Criterion) {
    let text = include_str!("../../configs/experiments/omega-1k-day.toml");
    let experiment = Experiment::from_toml(text).expect("the preset is valid");
    let mut group = c.benchmark_group("sim");
    group.sample_size(10);
    group.bench_function("omega_seed_1k_machines_1_day", |b| {
        b.iter(|| {
            let mut counts = CountingRecorder::default();
            run_experiment(&experiment, &mut counts).expect("the run succeeds")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_sim);
criterion_main!(benches);
