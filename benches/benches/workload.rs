//! Criterion benchmark of omega-workload: generating the seed preset's job stream (target,
//! issue 3: at least 2 million jobs a second on one core), plus the stream's set-up cost
//! (validation and load calibration) and building a 10,000-machine seed cell.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use omega_workload::{ClusterSpec, WorkloadConfig};

fn stream(c: &mut Criterion) {
    let config = WorkloadConfig::seed();
    let mut spec = config.workload.clone();
    spec.load = Some(0.7);
    let cluster = ClusterSpec::seed(10_000);
    const JOBS: u64 = 100_000;
    let mut g = c.benchmark_group("workload");
    g.throughput(Throughput::Elements(JOBS));
    // One stream, set up outside the timing; each iteration draws the next 100,000 jobs.
    let mut jobs = spec.stream(&cluster, 42, u64::MAX).expect("valid preset");
    g.bench_function("seed_stream_100k_jobs", |b| {
        b.iter(|| {
            let mut cpu = 0u64;
            for job in jobs.by_ref().take(JOBS as usize) {
                cpu = cpu.wrapping_add(job.task_resources.cpu_milli);
            }
            black_box(cpu)
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("seed_stream_setup", |b| {
        b.iter(|| black_box(spec.stream(&cluster, 42, u64::MAX).expect("valid preset")))
    });
    g.bench_function("seed_cell_10k_machines", |b| {
        b.iter(|| black_box(cluster.build().expect("valid cluster")))
    });
    g.finish();
}

criterion_group!(benches, stream);
criterion_main!(benches);
