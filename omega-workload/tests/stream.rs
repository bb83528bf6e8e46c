//! The job stream: snapshot of the seed preset, determinism, order, independence of the
//! per-class random streams, dependencies, constraints, load calibration and prefill.

// Test helpers may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use omega_core::Job;
use omega_workload::{
    Arrivals, ClassSpec, ClusterSpec, DependencySpec, Dist, WorkloadConfig, WorkloadSpec,
};
use serde::Serialize;

const HOUR_US: u64 = 3_600_000_000;
const DAY_US: u64 = 24 * HOUR_US;

#[derive(Serialize)]
struct Row {
    id: u64,
    class: String,
    user: u32,
    priority: u32,
    submit_us: u64,
    tasks: u32,
    cpu_milli: u64,
    gpu_milli: u64,
    mem_mib: u64,
    duration_us: u64,
    max_tasks_per_domain: Option<u32>,
    depends_on: Vec<u64>,
}

fn row(j: &Job) -> Row {
    Row {
        id: j.id.0,
        class: j.class.to_string(),
        user: j.user.0,
        priority: j.priority.0,
        submit_us: j.submit_at_us,
        tasks: j.tasks,
        cpu_milli: j.task_resources.cpu_milli,
        gpu_milli: j.task_resources.gpu_milli,
        mem_mib: j.task_resources.mem_mib,
        duration_us: j.task_duration_us,
        max_tasks_per_domain: j.constraints.max_tasks_per_domain,
        depends_on: j.depends_on.iter().map(|d| d.0).collect(),
    }
}

/// What a job is, without its id (ids shift when other classes change).
fn key(j: &Job) -> (u64, u32, u32, omega_core::Resources, u64) {
    (
        j.submit_at_us,
        j.user.0,
        j.tasks,
        j.task_resources,
        j.task_duration_us,
    )
}

#[test]
fn first_20_jobs_of_the_seed_preset() {
    let config = WorkloadConfig::seed();
    let jobs: Vec<Row> = config
        .workload
        .stream(&config.cluster, 42, u64::MAX)
        .unwrap()
        .take(20)
        .map(|j| row(&j))
        .collect();
    insta::assert_yaml_snapshot!(jobs);
}

#[test]
fn calibration_report_of_the_seed_preset() {
    let config = WorkloadConfig::seed();
    let mut spec = config.workload.clone();
    spec.load = Some(0.7);
    let cal = spec.calibrate(&config.cluster).unwrap();
    assert!((cal.scaled_offered().max().0 - 0.7).abs() < 1e-9);
    assert_eq!(cal.bottleneck, "cpu");
    insta::assert_snapshot!(cal.to_string());
}

#[test]
fn same_seed_same_jobs_other_seed_other_jobs() {
    let config = WorkloadConfig::uniform();
    let a: Vec<Job> = config
        .workload
        .stream(&config.cluster, 9, 20 * DAY_US)
        .unwrap()
        .collect();
    let b: Vec<Job> = config
        .workload
        .stream(&config.cluster, 9, 20 * DAY_US)
        .unwrap()
        .collect();
    let c: Vec<Job> = config
        .workload
        .stream(&config.cluster, 10, 20 * DAY_US)
        .unwrap()
        .collect();
    assert!(a.len() > 10_000);
    assert_eq!(a, b);
    assert_ne!(a[..100], c[..100]);
    let p1 = config.workload.prefill(&config.cluster, 9).unwrap();
    let p2 = config.workload.prefill(&config.cluster, 9).unwrap();
    assert_eq!(p1, p2);
}

/// The seed's batch class with a share of MapReduce jobs whose workers are the paper's
/// common counts and whose shards allow `shards` × their workers.
fn batch_with_mapreduce(share: &str, shards: &str) -> WorkloadSpec {
    let text = format!(
        r#"
        [[classes]]
        name = "batch"
        arrivals = {{ exponential = {{ mean_s = 10 }} }}
        tasks = {{ lognormal = {{ mean = 10, std = 50 }} }}
        duration_s = {{ lognormal = {{ mean = 300, std = 600 }} }}
        cpu_cores = {{ normal = {{ mean = 2, std = 1, min = 0.1 }} }}
        mem_gib = {{ normal = {{ mean = 4, std = 2, min = 0.25 }} }}
        {share}
        [classes.mapreduce]
        workers = {{ choice = {{ values = [5, 11, 200, 1000], weights = [4, 3, 2, 1] }} }}
        {shards}
        "#
    );
    WorkloadSpec::from_toml(&text).unwrap()
}

#[test]
fn a_share_of_a_class_is_mapreduce_with_its_own_worker_counts() {
    let cluster = ClusterSpec::seed(1_000);
    let spec = batch_with_mapreduce(
        "mapreduce_share = 0.2",
        "shards_per_worker = { choice = { values = [1, 4], weights = [1, 1] } }",
    );
    spec.validate(&cluster).unwrap();
    let jobs: Vec<Job> = spec.stream(&cluster, 4, 20 * DAY_US).unwrap().collect();
    let mr: Vec<&Job> = jobs.iter().filter(|j| j.mapreduce.is_some()).collect();
    // 172,800 jobs: the share's standard error is 0.1%; allow 1%.
    let share = mr.len() as f64 / jobs.len() as f64;
    assert!(
        jobs.len() > 100_000 && (share - 0.2).abs() < 0.01,
        "{share}"
    );
    let mut counts = std::collections::BTreeMap::new();
    let mut limits = std::collections::BTreeMap::new();
    for j in &mr {
        let w = j.mapreduce.unwrap();
        assert_eq!(w.requested_workers, j.tasks);
        assert_eq!(w.total_work_us, j.task_duration_us * u64::from(j.tasks));
        *counts.entry(j.tasks).or_insert(0u32) += 1;
        *limits.entry(w.max_workers / j.tasks).or_insert(0u32) += 1;
        assert_eq!(w.max_workers % j.tasks, 0);
    }
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        [5, 11, 200, 1000]
    );
    assert!(counts[&5] > counts[&11] && counts[&11] > counts[&200] && counts[&200] > counts[&1000]);
    assert_eq!(limits.keys().copied().collect::<Vec<_>>(), [1, 4]);
    // The other jobs are what the class gives without the share: the coin, worker counts and
    // shards come from a stream of their own, so every other draw is the same.
    let plain = batch_with_mapreduce("mapreduce_share = 0.0", "");
    let others: Vec<Job> = plain.stream(&cluster, 4, 20 * DAY_US).unwrap().collect();
    assert_eq!(others.len(), jobs.len());
    for (a, b) in jobs.iter().zip(&others) {
        assert!(b.mapreduce.is_none());
        assert_eq!(a.submit_at_us, b.submit_at_us);
        assert_eq!(a.task_resources, b.task_resources);
        if a.mapreduce.is_none() {
            assert_eq!((a.tasks, a.task_duration_us), (b.tasks, b.task_duration_us));
        }
    }
    // Without shards a job has no limit of its own.
    let unlimited = batch_with_mapreduce("mapreduce_share = 1.0", "");
    let job = unlimited
        .stream(&cluster, 4, DAY_US)
        .unwrap()
        .next()
        .unwrap();
    assert_eq!(job.mapreduce.unwrap().max_workers, u32::MAX);
}

#[test]
fn a_mapreduce_share_needs_durations_and_a_probability() {
    let cluster = ClusterSpec::seed(100);
    let err = batch_with_mapreduce("mapreduce_share = 1.5", "")
        .validate(&cluster)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("workload.classes[batch].mapreduce_share"),
        "{err}"
    );
    let mut spec = batch_with_mapreduce("mapreduce_share = 0.5", "");
    spec.classes[0].duration_s = None;
    spec.classes[0].mapreduce.as_mut().unwrap().total_work_s = Some(Dist::Constant(60.0));
    let err = spec.validate(&cluster).unwrap_err().to_string();
    assert!(err.contains("duration_s: is needed"), "{err}");
}

#[test]
fn order_ids_horizon_and_floors() {
    let config = WorkloadConfig::uniform();
    let horizon = 10 * DAY_US;
    let jobs: Vec<Job> = config
        .workload
        .stream(&config.cluster, 3, horizon)
        .unwrap()
        .collect();
    for (i, j) in jobs.iter().enumerate() {
        assert_eq!(j.id.0, i as u64);
        assert!(j.submit_at_us < horizon);
        assert!(j.tasks >= 1 && j.task_duration_us >= 1);
        assert!(j.task_resources.cpu_milli >= 1 && j.task_resources.mem_mib >= 1);
    }
    assert!(
        jobs.windows(2)
            .all(|w| w[0].submit_at_us <= w[1].submit_at_us)
    );
    // MapReduce jobs: tasks = requested workers, duration = ceil(work / workers).
    let mr: Vec<&Job> = jobs.iter().filter(|j| &*j.class == "mapreduce").collect();
    assert!(mr.len() > 100);
    for j in &mr {
        let w = j.mapreduce.unwrap();
        assert_eq!(w.requested_workers, j.tasks);
        assert_eq!(
            j.task_duration_us,
            w.total_work_us.div_ceil(u64::from(j.tasks))
        );
        assert!([5, 11, 200, 1000].contains(&j.tasks));
    }
    // Service: one task per machine, as configured.
    assert!(
        jobs.iter()
            .filter(|j| &*j.class == "service")
            .all(|j| j.constraints.one_task_per_machine)
    );
}

#[test]
fn dependencies_point_at_recent_earlier_jobs_of_the_class() {
    let config = WorkloadConfig::uniform();
    let jobs: Vec<Job> = config
        .workload
        .stream(&config.cluster, 5, 60 * DAY_US)
        .unwrap()
        .collect();
    let mr: Vec<&Job> = jobs.iter().filter(|j| &*j.class == "mapreduce").collect();
    let mut with = 0;
    for (k, j) in mr.iter().enumerate() {
        if j.depends_on.is_empty() {
            continue;
        }
        with += 1;
        assert!(j.depends_on.len() <= 2);
        assert!(
            j.depends_on.windows(2).all(|w| w[0] < w[1]),
            "sorted and distinct"
        );
        let window: Vec<u64> = mr[k.saturating_sub(50)..k].iter().map(|d| d.id.0).collect();
        for d in &j.depends_on {
            assert!(
                window.contains(&d.0),
                "job {} depends on {} outside the window",
                j.id,
                d
            );
        }
    }
    // 20% of the jobs have dependencies: over ~2,000 jobs SE ≈ 0.009; allow 0.04.
    let frac = with as f64 / mr.len() as f64;
    assert!(
        mr.len() > 1_000 && (frac - 0.2).abs() < 0.04,
        "{} jobs, {frac}",
        mr.len()
    );
}

#[test]
fn spread_over_racks() {
    let config = WorkloadConfig::seed();
    // 1,000 machines, 40 a rack: 25 racks, so the spread is over 4 of them.
    let jobs = config
        .workload
        .stream(&config.cluster, 1, u64::MAX)
        .unwrap()
        .take(20_000);
    let mut seen = 0;
    for j in jobs.filter(|j| &*j.class == "service") {
        assert_eq!(
            j.constraints.max_tasks_per_domain,
            Some(j.tasks.div_ceil(4))
        );
        seen += 1;
    }
    assert!(seen > 1_000);
    // In a two-rack cell the spread is over both racks.
    let small = ClusterSpec::seed(80);
    let jobs = config
        .workload
        .stream(&small, 1, u64::MAX)
        .unwrap()
        .take(20_000);
    for j in jobs.filter(|j| &*j.class == "service") {
        assert_eq!(
            j.constraints.max_tasks_per_domain,
            Some(j.tasks.div_ceil(2))
        );
    }
}

fn without(spec: &WorkloadSpec, f: impl Fn(&mut ClassSpec)) -> WorkloadSpec {
    let mut s = spec.clone();
    for c in &mut s.classes {
        if c.name == "service" {
            f(c);
        }
    }
    s
}

#[test]
fn changing_or_adding_a_class_leaves_the_others_alone() {
    let cluster = ClusterSpec::seed(1_000);
    let base = WorkloadSpec::seed_preset();
    let batch = |spec: &WorkloadSpec| -> Vec<_> {
        spec.stream(&cluster, 11, 7 * DAY_US)
            .unwrap()
            .filter(|j| &*j.class == "batch")
            .map(|j| key(&j))
            .collect()
    };
    let reference = batch(&base);
    assert!(reference.len() > 50_000);
    // A different service CPU distribution and arrival rate.
    let changed = without(&base, |c| {
        c.cpu_cores = Dist::Constant(3.0);
        c.arrivals = Arrivals::Exponential { mean_s: 7.0 };
    });
    assert_eq!(batch(&changed), reference);
    // One more class.
    let mut more = base.clone();
    let mut extra = base.classes[1].clone();
    extra.name = "analytics".into();
    extra.dependencies = Some(DependencySpec {
        probability: 0.5,
        on_class: "batch".into(),
        max_jobs: 3,
        window: 10,
    });
    more.classes.push(extra);
    assert_eq!(batch(&more), reference);
    // Service shapes do not depend on the service arrival stream either.
    let svc = |spec: &WorkloadSpec| -> Vec<_> {
        spec.stream(&cluster, 11, 30 * DAY_US)
            .unwrap()
            .filter(|j| &*j.class == "service")
            .map(|j| (j.tasks, j.task_resources.mem_mib, j.task_duration_us))
            .collect()
    };
    let faster = without(&base, |c| {
        c.arrivals = Arrivals::Exponential { mean_s: 30.0 }
    });
    let (a, b) = (svc(&base), svc(&faster));
    assert!(b.len() > a.len() && b[..a.len()] == a[..]);
}

#[test]
fn load_target_is_reached_by_the_stream() {
    let config = WorkloadConfig::seed();
    let mut spec = config.workload.clone();
    spec.load = Some(0.7);
    let horizon = 60 * DAY_US;
    let stream = spec.stream(&config.cluster, 2, horizon).unwrap();
    let cap = config.cluster.capacity().unwrap();
    let mut cpu_us = 0.0;
    for j in stream {
        cpu_us += j.tasks as f64 * j.task_resources.cpu_milli as f64 * j.task_duration_us as f64;
    }
    // Offered CPU over the run / CPU capacity over the run. About 20,000 service jobs carry
    // almost all of it (CV of tasks × cpu × duration ≈ 2.5): SE ≈ 2%; allow 10%.
    let offered = cpu_us / (cap.cpu_milli as f64 * horizon as f64);
    assert!((offered / 0.7 - 1.0).abs() < 0.1, "offered cpu {offered}");
}

#[test]
fn prefill_reaches_steady_state_with_residual_lives() {
    let mut config = WorkloadConfig::seed();
    config.cluster = ClusterSpec::seed(10_000);
    config.workload.load = Some(0.7);
    let run = config
        .workload
        .generate(&config.cluster, 4, HOUR_US)
        .unwrap();
    let pre = &run.prefill;
    // Little's law: λ × E[duration] service jobs are running (Poisson, SE = sqrt(n)).
    let svc = &run.calibration.classes[1];
    let want = svc.jobs_per_hour * run.calibration.scale * svc.mean_task_duration_s / 3600.0;
    let n = pre.len() as f64;
    assert!(
        (n - want).abs() < 4.0 * want.sqrt(),
        "{n} running, want {want}"
    );
    for (i, p) in pre.iter().enumerate() {
        assert_eq!(p.job.id.0, i as u64);
        assert_eq!(&*p.job.class, "service");
        assert_eq!(p.started_before_us + p.remaining_us, p.job.task_duration_us);
        assert!(p.remaining_us > 0);
    }
    assert!(
        pre.windows(2)
            .all(|w| w[0].started_before_us >= w[1].started_before_us)
    );
    // Residual life of a log-normal 24 h ± 12 h: E[D²] / (2 E[D]) = 15 h (not 12 h, not
    // 24 h). About 3,400 jobs, CV ≈ 0.6: SE ≈ 1%; allow 5%.
    let mean_rem_h = pre.iter().map(|p| p.remaining_us as f64).sum::<f64>() / n / 3.6e9;
    assert!(
        (mean_rem_h / 15.0 - 1.0).abs() < 0.05,
        "mean remaining {mean_rem_h} h"
    );
    // Running jobs are longer than average (inspection paradox): E[D²]/E[D] = 30 h.
    let mean_len_h = pre
        .iter()
        .map(|p| p.job.task_duration_us as f64)
        .sum::<f64>()
        / n
        / 3.6e9;
    assert!(
        (mean_len_h / 30.0 - 1.0).abs() < 0.05,
        "mean length {mean_len_h} h"
    );
    // The prefill's CPU is the service class's steady-state share, within 10%.
    let cap = config.cluster.capacity().unwrap();
    let cpu: f64 = pre
        .iter()
        .map(|p| p.job.tasks as f64 * p.job.task_resources.cpu_milli as f64)
        .sum();
    let want_cpu = svc.offered.cpu * run.calibration.scale;
    assert!((cpu / cap.cpu_milli as f64 / want_cpu - 1.0).abs() < 0.1);
    // The stream continues the ids.
    let first = run.stream.take(1).next().unwrap();
    assert_eq!(first.id.0, pre.len() as u64);
}

mod invariants {
    use omega_core::GpuRequest;
    use omega_workload::{
        Arrivals, ClassSpec, ClusterSpec, ConstraintSpec, DependencySpec, Dist, GpuSpec,
        MapReduceSpec, UserSpec, WorkloadSpec,
    };
    use proptest::prelude::*;

    fn dist() -> impl Strategy<Value = Dist> {
        prop_oneof![
            (-5.0f64..50.0).prop_map(Dist::Constant),
            (0.0f64..10.0, 0.0f64..10.0).prop_map(|(a, b)| Dist::Uniform { min: a, max: a + b }),
            (0.01f64..100.0).prop_map(|mean| Dist::Exponential { mean }),
            (-5.0f64..20.0, 0.0f64..20.0).prop_map(|(mean, std)| Dist::Normal {
                mean,
                std,
                min: Some(0.0),
                max: None
            }),
            (0.01f64..100.0, 0.0f64..500.0).prop_map(|(mean, std)| Dist::Lognormal { mean, std }),
        ]
    }

    fn class(name: &'static str) -> impl Strategy<Value = ClassSpec> {
        (
            dist(),
            dist(),
            dist(),
            dist(),
            0.0f64..=1.0,
            dist(),
            0u8..3,
            prop::option::of(1u32..6),
            0.0f64..=1.0,
            1u32..50,
        )
            .prop_map(
                move |(tasks, dur, cpu, mem, gpu_p, gpus, mr, spread, dep_p, users)| ClassSpec {
                    name: name.to_owned(),
                    arrivals: Arrivals::Exponential { mean_s: 5.0 },
                    tasks: tasks.clone(),
                    // mr: 0 no MapReduce, 1 a class of MapReduce jobs with their total work,
                    // 2 a share of MapReduce jobs with their own workers and shards.
                    duration_s: (mr != 1).then_some(dur.clone()),
                    cpu_cores: cpu,
                    mem_gib: mem.clone(),
                    gpu: Some(GpuSpec {
                        probability: gpu_p,
                        per_task: gpus,
                    }),
                    priority: 1,
                    gang: mr == 1,
                    constraints: ConstraintSpec {
                        spread_over_domains: spread,
                        ..ConstraintSpec::default()
                    },
                    dependencies: Some(DependencySpec {
                        probability: dep_p,
                        on_class: "a".into(),
                        max_jobs: 3,
                        window: 5,
                    }),
                    users: UserSpec {
                        count: users,
                        zipf_s: 1.2,
                        first: 7,
                    },
                    mapreduce_share: (mr == 2).then_some(dep_p),
                    mapreduce: match mr {
                        1 => Some(MapReduceSpec {
                            total_work_s: Some(dur),
                            ..MapReduceSpec::default()
                        }),
                        2 => Some(MapReduceSpec {
                            workers: Some(tasks.clone()),
                            shards_per_worker: Some(mem.clone()),
                            ..MapReduceSpec::default()
                        }),
                        _ => None,
                    },
                    prefill: false,
                    prefill_window_s: None,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the distributions: jobs in submit order with dense ids, at least one
        /// task, resources at their floors or above, GPU requests of a shape the cell
        /// understands, dependencies on earlier jobs of class `a`, users in range.
        #[test]
        fn every_stream_is_well_formed(a in class("a"), b in class("b"), machines in 10u32..300, seed: u64) {
            let spec = WorkloadSpec { load: None, total_mean_interarrival_s: None, classes: vec![a, b] };
            let cluster = ClusterSpec::seed(machines);
            let fit = cluster.fit_check().unwrap();
            let jobs: Vec<_> = spec.stream(&cluster, seed, u64::MAX).unwrap().take(300).collect();
            prop_assert_eq!(jobs.len(), 300);
            let mut last = 0;
            for (i, j) in jobs.iter().enumerate() {
                prop_assert_eq!(j.id.0, i as u64);
                prop_assert!(j.submit_at_us >= last);
                last = j.submit_at_us;
                prop_assert!(j.tasks >= 1 && j.task_duration_us >= 1);
                prop_assert!(j.task_resources.cpu_milli >= 1 && j.task_resources.mem_mib >= 1);
                // GPU requests are a share of one device or whole devices; more than 8 whole
                // devices is a request no machine can hold, and the fit check says so.
                match j.task_resources.gpu_request() {
                    Some(GpuRequest::None) => prop_assert_eq!(j.task_resources.gpu_milli, 0),
                    Some(_) => {}
                    None => {
                        prop_assert!(j.task_resources.gpu_milli > 8_000 && j.task_resources.gpu_milli % 1_000 == 0);
                        prop_assert!(!fit.fits(j));
                    }
                }
                prop_assert!((7..57).contains(&j.user.0));
                for d in &j.depends_on {
                    prop_assert!(d.0 < j.id.0);
                    prop_assert_eq!(&*jobs[d.0 as usize].class, "a");
                }
                if let Some(w) = j.mapreduce {
                    prop_assert_eq!(w.requested_workers, j.tasks);
                    prop_assert!(w.max_workers >= w.requested_workers);
                    prop_assert_eq!(j.task_duration_us, w.total_work_us.div_ceil(u64::from(j.tasks)).max(1));
                }
                if let Some(per) = j.constraints.max_tasks_per_domain {
                    prop_assert!(u64::from(per) * u64::from(cluster.rack_count().unwrap()) >= u64::from(j.tasks));
                }
            }
        }
    }
}
