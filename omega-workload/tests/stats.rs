//! Statistical tests of the samplers and of the seed preset's job stream: fixed seeds,
//! at least 100,000 samples each, tolerances stated next to each assertion (about 4–5
//! standard errors unless said otherwise).

// Test helpers may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use omega_core::Job;
use omega_workload::{Arrivals, ClusterSpec, Dist, WorkloadConfig, WorkloadSpec};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

const N: usize = 200_000;

fn samples(d: &Dist, seed: u64) -> Vec<f64> {
    let s = d.compile("test").unwrap();
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    (0..N).map(|_| s.sample(&mut rng)).collect()
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

/// Mean and std of a normal(mean, std) truncated to [lo, ∞), by Simpson integration.
fn truncated_normal_moments(mean: f64, std: f64, lo: f64) -> (f64, f64) {
    let pdf = |x: f64| (-(x - mean) * (x - mean) / (2.0 * std * std)).exp();
    let hi = mean + 12.0 * std;
    let steps = 20_000;
    let h = (hi - lo) / steps as f64;
    let (mut z, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for i in 0..=steps {
        let x = lo + i as f64 * h;
        let w = if i == 0 || i == steps {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let p = w * pdf(x);
        z += p;
        m1 += p * x;
        m2 += p * x * x;
    }
    let m = m1 / z;
    (m, (m2 / z - m * m).sqrt())
}

fn check_lognormal_in_log_space(mean: f64, std: f64, seed: u64) {
    let xs = samples(&Dist::Lognormal { mean, std }, seed);
    let var_log = (1.0 + (std / mean).powi(2)).ln();
    let (mu, sigma) = (mean.ln() - var_log / 2.0, var_log.sqrt());
    let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    let (m, s) = mean_std(&logs);
    // SE of the mean is sigma / sqrt(N) (≈ 0.004 for sigma 1.8); allow 5 SE.
    let se = sigma / (N as f64).sqrt();
    assert!((m - mu).abs() < 5.0 * se, "log mean {m} vs {mu}");
    // SE of the std is about sigma / sqrt(2N); allow 5 SE.
    assert!(
        (s - sigma).abs() < 5.0 * sigma / (2.0 * N as f64).sqrt(),
        "log std {s} vs {sigma}"
    );
}

#[test]
fn seed_heavy_tails_match_in_log_space() {
    check_lognormal_in_log_space(10.0, 50.0, 1); // batch tasks
    check_lognormal_in_log_space(300.0, 600.0, 2); // batch duration
    check_lognormal_in_log_space(5.0, 10.0, 3); // service tasks
}

#[test]
fn lognormal_has_the_stated_mean_and_std() {
    // Service duration, 24 h ± 12 h: light tail (CV 0.5), so check the moments directly.
    // SE of the mean = 0.5 / sqrt(N) ≈ 0.11%; allow 0.6%. Std: allow 2%.
    let xs = samples(
        &Dist::Lognormal {
            mean: 86_400.0,
            std: 43_200.0,
        },
        4,
    );
    let (m, s) = mean_std(&xs);
    assert!((m / 86_400.0 - 1.0).abs() < 0.006, "mean {m}");
    assert!((s / 43_200.0 - 1.0).abs() < 0.02, "std {s}");
    // Batch tasks, mean 10 std 50 (CV 5): the sample mean is within 10% (about 4 SE).
    let xs = samples(
        &Dist::Lognormal {
            mean: 10.0,
            std: 50.0,
        },
        5,
    );
    assert!((mean_std(&xs).0 / 10.0 - 1.0).abs() < 0.1);
}

#[test]
fn truncated_normals_of_the_seed_resources() {
    for (mean, std, lo, seed) in [
        (2.0, 1.0, 0.1, 6),
        (4.0, 2.0, 0.25, 7),
        (4.0, 2.0, 0.1, 8),
        (8.0, 4.0, 0.25, 9),
    ] {
        let xs = samples(
            &Dist::Normal {
                mean,
                std,
                min: Some(lo),
                max: None,
            },
            seed,
        );
        assert!(xs.iter().all(|&x| x >= lo));
        let (m, s) = mean_std(&xs);
        let (em, es) = truncated_normal_moments(mean, std, lo);
        // SE of the mean ≈ std / sqrt(N) ≈ 0.0022 × std; allow 5 SE. Std: allow 1.5%.
        assert!(
            (m - em).abs() < 5.0 * std / (N as f64).sqrt(),
            "mean {m} vs {em}"
        );
        assert!((s / es - 1.0).abs() < 0.015, "std {s} vs {es}");
    }
}

#[test]
fn other_distributions() {
    let (m, s) = mean_std(&samples(&Dist::Exponential { mean: 10.0 }, 10));
    assert!(
        (m / 10.0 - 1.0).abs() < 0.012 && (s / 10.0 - 1.0).abs() < 0.02,
        "{m} {s}"
    );
    let xs = samples(&Dist::Uniform { min: 2.0, max: 6.0 }, 11);
    let (m, s) = mean_std(&xs);
    assert!(xs.iter().all(|&x| (2.0..=6.0).contains(&x)));
    // Uniform std = 4 / sqrt(12) ≈ 1.1547.
    assert!((m - 4.0).abs() < 0.012 && (s - 4.0 / 12f64.sqrt()).abs() < 0.01);
    let xs = samples(
        &Dist::Choice {
            values: vec![5.0, 11.0, 200.0],
            weights: vec![2.0, 1.0, 1.0],
        },
        12,
    );
    let frac = |v: f64| xs.iter().filter(|&&x| x == v).count() as f64 / N as f64;
    // SE of a proportion ≤ 0.0011: allow 0.005.
    assert!((frac(5.0) - 0.5).abs() < 0.005 && (frac(11.0) - 0.25).abs() < 0.005);
    assert!((frac(200.0) - 0.25).abs() < 0.005);
    // Empirical CDF: atom 0.2 at 1, linear to 10 at 0.6, linear to 20 at 1.
    let xs = samples(
        &Dist::Empirical {
            points: vec![(1.0, 0.2), (10.0, 0.6), (20.0, 1.0)],
        },
        13,
    );
    let below = |v: f64| xs.iter().filter(|&&x| x <= v).count() as f64 / N as f64;
    assert!((below(1.0) - 0.2).abs() < 0.005);
    assert!((below(5.5) - 0.4).abs() < 0.005);
    assert!((below(15.0) - 0.8).abs() < 0.005);
    assert!(xs.iter().all(|&x| (1.0..=20.0).contains(&x)));
    // Mean = 0.2×1 + 0.4×5.5 + 0.4×15 = 8.4.
    assert!((mean_std(&xs).0 - 8.4).abs() < 0.06);
}

fn seed_jobs(spec: &WorkloadSpec, n: usize) -> Vec<Job> {
    let cluster = ClusterSpec::seed(1_000);
    spec.stream(&cluster, 7, u64::MAX)
        .unwrap()
        .take(n)
        .collect()
}

fn of_class<'a>(jobs: &'a [Job], class: &'a str) -> impl Iterator<Item = &'a Job> + 'a {
    jobs.iter().filter(move |j| &*j.class == class)
}

#[test]
fn seed_stream_gpu_fractions_mix_arrivals_and_users() {
    let jobs = seed_jobs(&WorkloadSpec::seed_preset(), N);
    let batch: Vec<&Job> = of_class(&jobs, "batch").collect();
    let service: Vec<&Job> = of_class(&jobs, "service").collect();
    // Class mix: the preset keeps the 10 s / 60 s arrival means, so batch is 6/7 of jobs.
    // SE ≈ 0.0008; allow 1 percentage point.
    let share = batch.len() as f64 / N as f64;
    assert!((share - 6.0 / 7.0).abs() < 0.01, "batch share {share}");
    // GPU fractions within ±1 percentage point.
    let gpu_frac = |js: &[&Job]| {
        js.iter().filter(|j| j.task_resources.gpu_milli > 0).count() as f64 / js.len() as f64
    };
    assert!(
        (gpu_frac(&batch) - 0.10).abs() < 0.01,
        "batch {}",
        gpu_frac(&batch)
    );
    assert!(
        (gpu_frac(&service) - 0.05).abs() < 0.01,
        "service {}",
        gpu_frac(&service)
    );
    assert!(
        batch
            .iter()
            .all(|j| matches!(j.task_resources.gpu_milli, 0 | 1000))
    );
    let svc_gpu: Vec<u64> = service
        .iter()
        .map(|j| j.task_resources.gpu_milli)
        .filter(|&g| g > 0)
        .collect();
    assert!(svc_gpu.iter().all(|&g| g == 1000 || g == 2000));
    let two = svc_gpu.iter().filter(|&&g| g == 2000).count() as f64 / svc_gpu.len() as f64;
    // About 1,400 GPU service jobs: SE ≈ 0.013; allow 0.06.
    assert!((two - 0.5).abs() < 0.06, "two-GPU share {two}");
    // Batch inter-arrival times: mean 10 s, CV 1 (Poisson). SE of the mean ≈ 0.24%.
    let gaps: Vec<f64> = batch
        .windows(2)
        .map(|w| (w[1].submit_at_us - w[0].submit_at_us) as f64 / 1e6)
        .collect();
    let (m, s) = mean_std(&gaps);
    assert!((m / 10.0 - 1.0).abs() < 0.012, "mean gap {m}");
    assert!((s / m - 1.0).abs() < 0.02, "cv {}", s / m);
    // Users: Zipf with s = 1 over 100 users: P(rank k) = 1 / (k × H_100).
    let h100: f64 = (1..=100).map(|k| 1.0 / k as f64).sum();
    for k in 1..=5u32 {
        let f = batch.iter().filter(|j| j.user.0 == k - 1).count() as f64 / batch.len() as f64;
        let want = 1.0 / (f64::from(k) * h100);
        // SE ≤ 0.001; allow 0.005.
        assert!((f - want).abs() < 0.005, "user {k}: {f} vs {want}");
    }
    assert!(batch.iter().all(|j| j.user.0 < 100));
    assert!(service.iter().all(|j| (100..120).contains(&j.user.0)));
    // Tasks: the integer counts keep the log-normal's median (exp(mu) ≈ 1.96 → 2).
    let mut tasks: Vec<u32> = batch.iter().map(|j| j.tasks).collect();
    tasks.sort_unstable();
    assert_eq!(tasks[tasks.len() / 2], 2);
    assert!(tasks[0] >= 1);
}

#[test]
fn the_80_20_reading_is_expressible() {
    let mut spec = WorkloadSpec::seed_preset();
    spec.total_mean_interarrival_s = Some(10.0);
    spec.classes[0].arrivals = Arrivals::Share { share: 0.8 };
    spec.classes[1].arrivals = Arrivals::Share { share: 0.2 };
    spec.validate(&WorkloadConfig::seed().cluster).unwrap();
    let jobs = seed_jobs(&spec, N);
    let share = of_class(&jobs, "batch").count() as f64 / N as f64;
    // SE ≈ 0.0009; allow 1 percentage point.
    assert!((share - 0.8).abs() < 0.01, "batch share {share}");
    // All jobs together arrive every 10 s on average.
    let span_s = jobs[N - 1].submit_at_us as f64 / 1e6;
    assert!((span_s / N as f64 / 10.0 - 1.0).abs() < 0.012);
}
