//! Criterion benchmark of omega-metrics: the cost of measuring. The same run (seed cell of
//! 200 machines, seed workload at load 0.7, one simulated hour, Omega with one batch and one
//! service scheduler, failures on) with `NullRecorder` and with `MetricsRecorder` (plus its
//! `finish`); the budget is at most 15% more wall time with the metrics.

use criterion::{Criterion, criterion_group, criterion_main};
use omega_metrics::{MetricsOptions, MetricsRecorder};
use omega_sim::{Experiment, NullRecorder, run_experiment};

const EXPERIMENT: &str = r#"
seed = 42
horizon_us = 3_600_000_000
[cluster]
preset = "seed"
machines = 200
[workload]
preset = "seed"
load = 0.7
[architecture]
kind = "omega"
[[architecture.schedulers]]
name = "batch"
classes = ["batch"]
policy = { kind = "batch" }
[[architecture.schedulers]]
name = "service"
classes = ["service"]
policy = { kind = "service" }
[failures]
machine_mtbf_us = 86_400_000_000
"#;

fn bench_metrics(c: &mut Criterion) {
    let experiment = Experiment::from_toml(EXPERIMENT).expect("the experiment is valid");
    let mut group = c.benchmark_group("metrics");
    group.sample_size(10);
    group.bench_function("omega_seed_200_machines_1_hour_null", |b| {
        b.iter(|| run_experiment(&experiment, &mut NullRecorder).expect("the run succeeds"))
    });
    group.bench_function("omega_seed_200_machines_1_hour_metrics", |b| {
        b.iter(|| {
            let mut recorder = MetricsRecorder::new(MetricsOptions {
                horizon_us: experiment.horizon_us,
                series_step_us: None,
            });
            let summary = run_experiment(&experiment, &mut recorder).expect("the run succeeds");
            recorder.finish(&summary)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_metrics);
criterion_main!(benches);
