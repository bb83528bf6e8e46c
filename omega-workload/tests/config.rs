//! TOML configs: the embedded presets equal the checked-in files, round trips, and clear
//! errors (never panics) for bad configs.

// Test helpers may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use omega_workload::{
    ClusterSpec, SEED_TOML, UNIFORM_TOML, WorkloadConfig, WorkloadError, WorkloadSpec,
};
use proptest::prelude::*;

fn configs_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs")
}

#[test]
fn embedded_presets_are_the_checked_in_configs() {
    let seed = std::fs::read_to_string(configs_dir().join("seed.toml")).unwrap();
    let uniform = std::fs::read_to_string(configs_dir().join("uniform.toml")).unwrap();
    assert_eq!(
        seed, SEED_TOML,
        "configs/seed.toml differs from omega-workload/presets/seed.toml"
    );
    assert_eq!(
        uniform, UNIFORM_TOML,
        "configs/uniform.toml differs from the embedded copy"
    );
    assert_eq!(WorkloadSpec::seed_preset(), WorkloadConfig::seed().workload);
}

#[test]
fn seed_preset_says_what_the_seed_says() {
    let c = WorkloadConfig::seed();
    assert_eq!(c.cluster, ClusterSpec::seed(1_000));
    let names: Vec<&str> = c.workload.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["batch", "service"]);
    let batch = &c.workload.classes[0];
    assert_eq!(
        batch.tasks,
        omega_workload::Dist::Lognormal {
            mean: 10.0,
            std: 50.0
        }
    );
    assert_eq!(batch.gpu.as_ref().unwrap().probability, 0.1);
    let service = &c.workload.classes[1];
    assert_eq!(
        service.duration_s,
        Some(omega_workload::Dist::Lognormal {
            mean: 86_400.0,
            std: 43_200.0
        })
    );
    assert_eq!(service.gpu.as_ref().unwrap().probability, 0.05);
    assert!(service.prefill && !batch.prefill);
}

#[test]
fn toml_round_trip() {
    for config in [WorkloadConfig::seed(), WorkloadConfig::uniform()] {
        let text = config.to_toml().unwrap();
        let back = WorkloadConfig::from_toml(&text).unwrap();
        assert_eq!(back, config);
        // And the workload alone.
        let w = toml::to_string(&config.workload).unwrap();
        assert_eq!(WorkloadSpec::from_toml(&w).unwrap(), config.workload);
    }
}

/// The seed preset with the first occurrence of `from` outside comments replaced.
fn edit(from: &str, to: &str) -> String {
    let mut done = false;
    let mut out = String::new();
    for line in SEED_TOML.lines() {
        if !done && !line.trim_start().starts_with('#') && line.contains(from) {
            out.push_str(&line.replacen(from, to, 1));
            done = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert!(done, "the seed preset has no {from:?}");
    out
}

#[test]
fn bad_configs_give_clear_errors() {
    let batch_cpu = "cpu_cores = { normal = { mean = 2, std = 1, min = 0.1 } }";
    let cases: Vec<(&str, String)> = vec![
        (
            "unknown key in a class",
            edit("priority = 100", "priority = 100\nprioity = 3"),
        ),
        (
            "unknown key in the cluster",
            edit(
                "machines_per_rack = 40",
                "machines_per_rack = 40\nracks = 3",
            ),
        ),
        (
            "unknown key in a distribution",
            edit(batch_cpu, "cpu_cores = { normal = { mean = 2, sd = 1 } }"),
        ),
        (
            "unknown distribution",
            edit(
                "{ lognormal = { mean = 10, std = 50 } }",
                "{ pareto = { mean = 10 } }",
            ),
        ),
        ("wrong type", edit("machines = 1000", "machines = \"many\"")),
        ("syntax error", edit("[workload]", "[workload")),
        (
            "negative std",
            edit(batch_cpu, "cpu_cores = { normal = { mean = 2, std = -1 } }"),
        ),
        (
            "NaN mean",
            edit(
                batch_cpu,
                "cpu_cores = { normal = { mean = nan, std = 1 } }",
            ),
        ),
        (
            "infinite lognormal std",
            edit(
                "{ lognormal = { mean = 10, std = 50 } }",
                "{ lognormal = { mean = 10, std = inf } }",
            ),
        ),
        ("zero exponential mean", edit("mean_s = 10", "mean_s = 0")),
        (
            "GPU probability above 1",
            edit("probability = 0.1", "probability = 1.5"),
        ),
        (
            "GPU probability below 0",
            edit("probability = 0.05", "probability = -0.05"),
        ),
        ("zero machines", edit("machines = 1000", "machines = 0")),
        ("no machine types", {
            let start = SEED_TOML.find("[workload]").unwrap();
            format!(
                "[cluster]\nmachines = 10\ntypes = []\n\n{}",
                &SEED_TOML[start..]
            )
        }),
        ("fraction above 1", edit("fraction = 0.5", "fraction = 1.5")),
        (
            "count and fraction",
            edit("fraction = 0.5", "fraction = 0.5\ncount = 3"),
        ),
        ("too many GPUs", edit("gpus = 2", "gpus = 9")),
        ("zero CPU machine", edit("cpu_cores = 16", "cpu_cores = 0")),
        (
            "zero machines per rack",
            edit("machines_per_rack = 40", "machines_per_rack = 0"),
        ),
        ("empty workload", {
            let start = SEED_TOML.find("[[workload.classes]]").unwrap();
            format!("{}classes = []\n", &SEED_TOML[..start])
        }),
        (
            "required label no machine has",
            edit(
                "constraints = { spread_over_domains = 4 }",
                "constraints = { required_labels = [\"ssd\"] }",
            ),
        ),
        (
            "spread over zero racks",
            edit("spread_over_domains = 4", "spread_over_domains = 0"),
        ),
        (
            "duplicate class",
            edit("name = \"service\"", "name = \"batch\""),
        ),
        (
            "missing duration",
            edit("duration_s = { lognormal = { mean = 300, std = 600 } }", ""),
        ),
        (
            "share without total",
            edit(
                "arrivals = { exponential = { mean_s = 10 } }",
                "arrivals = { share = { share = 0.8 } }",
            ),
        ),
        (
            "share above 1",
            edit(
                "arrivals = { exponential = { mean_s = 10 } }",
                "arrivals = { share = { share = 1.8 } }",
            ),
        ),
        (
            "choice weights mismatch",
            edit("weights = [1, 1]", "weights = [1]"),
        ),
        (
            "choice weights all zero",
            edit("weights = [1, 1]", "weights = [0, 0]"),
        ),
        (
            "empirical CDF not ending at 1",
            edit(
                batch_cpu,
                "cpu_cores = { empirical = { points = [[1, 0.5], [2, 0.9]] } }",
            ),
        ),
        (
            "empirical CDF decreasing",
            edit(
                batch_cpu,
                "cpu_cores = { empirical = { points = [[1, 0.5], [0.5, 1.0]] } }",
            ),
        ),
        (
            "uniform min above max",
            edit(batch_cpu, "cpu_cores = { uniform = { min = 3, max = 1 } }"),
        ),
        (
            "zero users",
            edit(
                "users = { count = 100, zipf_s = 1.0 }",
                "users = { count = 0 }",
            ),
        ),
        (
            "negative Zipf exponent",
            edit(
                "users = { count = 100, zipf_s = 1.0 }",
                "users = { count = 10, zipf_s = -1 }",
            ),
        ),
        (
            "dependency on an unknown class",
            edit(
                "priority = 0",
                "priority = 0\ndependencies = { probability = 0.1, on_class = \"etl\", max_jobs = 2 }",
            ),
        ),
        (
            "dependency probability above 1",
            edit(
                "priority = 0",
                "priority = 0\ndependencies = { probability = 2, on_class = \"batch\", max_jobs = 2 }",
            ),
        ),
        (
            "negative load",
            edit("[workload]", "[workload]\nload = -0.7"),
        ),
        ("NaN load", edit("[workload]", "[workload]\nload = nan")),
    ];
    let mut report = Vec::new();
    for (name, text) in &cases {
        let err = WorkloadConfig::from_toml(text).expect_err(name);
        report.push(format!("{name}: {err}"));
    }
    insta::assert_snapshot!(report.join("\n\n"));
}

#[test]
fn gpu_jobs_need_gpu_machines() {
    let config = WorkloadConfig::seed();
    let no_gpus = ClusterSpec::uniform(100, omega_core::Resources::new(16_000, 0, 65_536));
    let err = config.workload.validate(&no_gpus).unwrap_err();
    assert!(
        matches!(&err, WorkloadError::Invalid { field, .. } if field == "workload.classes[batch].gpu"),
        "{err}"
    );
    assert!(config.workload.stream(&no_gpus, 1, 1).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any number in the seed config replaced by any float (NaN, ±inf, negative, huge):
    /// the result is a config or an error, never a panic, and a config streams jobs.
    #[test]
    fn no_config_value_panics(which in 0usize..60, value in prop_oneof![
        Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(0.0), Just(1e300),
        -1e6f64..1e6,
    ]) {
        let mut nth = 0;
        let mut out = String::new();
        for line in SEED_TOML.lines() {
            let mut l = line.to_owned();
            let eq = if line.trim_start().starts_with('#') { None } else { line.find(" = ") };
            if let Some(eq) = eq {
                let rest = &line[eq + 3..];
                if rest.parse::<f64>().is_ok() {
                    if nth == which {
                        l = format!("{} = {value:?}", &line[..eq]);
                        l = l.replace("NaN", "nan");
                    }
                    nth += 1;
                }
            }
            out.push_str(&l);
            out.push('\n');
        }
        if let Ok(config) = WorkloadConfig::from_toml(&out) {
            let jobs: Vec<_> = config.workload.stream(&config.cluster, 1, u64::MAX).unwrap().take(200).collect();
            prop_assert!(jobs.iter().all(|j| j.tasks >= 1));
            let _ = config.workload.prefill(&config.cluster, 1);
        }
    }
}

#[test]
fn configs_that_would_exhaust_memory_or_time_are_errors() {
    let huge = edit("machines = 1000", "machines = 4000000000");
    let err = WorkloadConfig::from_toml(&huge).unwrap_err();
    assert!(err.to_string().starts_with("cluster.machines: "), "{err}");
    let long = edit("prefill = true", "prefill = true\nprefill_window_s = 1e13");
    let config = WorkloadConfig::from_toml(&long).unwrap();
    let err = config.workload.prefill(&config.cluster, 1).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("workload.classes[service].prefill_window_s: "),
        "{err}"
    );
}
