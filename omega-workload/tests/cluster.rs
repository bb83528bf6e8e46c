//! Cluster specs: type counts from counts and fractions, the interleaved layout, racks,
//! explicit machine lists, sizes from 10 to 100,000 machines, and the fit check.

// Test helpers may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use omega_core::{FailureDomain, Job, JobId, Machine, Resources};
use omega_workload::{ClusterSpec, MachineType, WorkloadConfig};
use proptest::prelude::*;

#[test]
fn seed_mix_and_largest_remainder() {
    assert_eq!(
        ClusterSpec::seed(1_000).type_counts().unwrap(),
        vec![500, 300, 200]
    );
    // 7 machines: exact shares 3.5 / 2.1 / 1.4 → 3 / 2 / 1, the spare one to A (0.5 left).
    assert_eq!(ClusterSpec::seed(7).type_counts().unwrap(), vec![4, 2, 1]);
    assert_eq!(ClusterSpec::seed(10).type_counts().unwrap(), vec![5, 3, 2]);
    // Counts first, fractions share the rest.
    let mut spec = ClusterSpec::seed(100);
    spec.types[2].fraction = None;
    spec.types[2].count = Some(10);
    assert_eq!(spec.type_counts().unwrap(), vec![56, 34, 10]); // 90 × 5/8, 90 × 3/8
    assert_eq!(
        spec.capacity().unwrap(),
        Resources::new(
            (56 * 8 + 34 * 16 + 10 * 8) * 1000,
            20_000,
            (56 * 16 + 34 * 32 + 10 * 32) * 1024
        )
    );
}

#[test]
fn racks_hold_a_mix_of_types() {
    let spec = ClusterSpec::seed(1_000);
    let machines = spec.machines().unwrap();
    let mut per_rack: BTreeMap<u32, BTreeMap<String, u32>> = BTreeMap::new();
    for m in &machines {
        *per_rack
            .entry(m.failure_domain.0)
            .or_default()
            .entry(m.type_name.clone())
            .or_default() += 1;
        assert!(m.has_label(&format!("type={}", m.type_name)));
    }
    assert_eq!(per_rack.len(), 25);
    for (rack, types) in &per_rack {
        // 40 a rack: 20 A, 12 B, 8 C, within one.
        for (t, want) in [("A", 20i64), ("B", 12), ("C", 8)] {
            let got = i64::from(types.get(t).copied().unwrap_or(0));
            assert!((got - want).abs() <= 1, "rack {rack}: {t} = {got}");
        }
    }
    let c = machines.iter().find(|m| m.type_name == "C").unwrap();
    assert_eq!(c.capacity, Resources::new(8_000, 2_000, 32_768));
    assert!(c.has_label("gpu=T4"));
}

#[test]
fn any_size_from_10_to_100k() {
    for n in [10u32, 50, 1_000, 100_000] {
        let spec = ClusterSpec::seed(n);
        let cell = spec.build().unwrap();
        assert_eq!(cell.machine_count(), n as usize);
        assert_eq!(cell.capacity(), spec.capacity().unwrap());
        assert_eq!(spec.rack_count().unwrap(), n.div_ceil(40));
    }
    let u = ClusterSpec::uniform(10, Resources::new(4_000, 1_000, 8_192));
    let m = u.machines().unwrap();
    assert!(
        m.iter()
            .all(|m| m.capacity == Resources::new(4_000, 1_000, 8_192))
    );
}

#[test]
fn explicit_machine_lists() {
    let machines = vec![
        Machine::new("big", 32_000, 131_072, FailureDomain(0)).with_gpus(4, "A100"),
        Machine::new("small", 4_000, 8_192, FailureDomain(0)),
        Machine::new("small", 4_000, 8_192, FailureDomain(1)).with_label("ssd"),
        Machine::new("small", 4_000, 8_192, FailureDomain(2)),
    ];
    let spec = ClusterSpec::from_machines(machines.clone());
    assert_eq!(spec.machines().unwrap(), machines);
    assert_eq!(spec.machine_count().unwrap(), 4);
    assert_eq!(spec.rack_count().unwrap(), 3);
    let counts: Vec<(String, Option<u32>)> = spec
        .types
        .iter()
        .map(|t| (t.name.clone(), t.count))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("big".into(), Some(1)),
            ("small".into(), Some(2)),
            ("small#2".into(), Some(1))
        ]
    );
    assert_eq!(
        spec.capacity().unwrap(),
        Resources::new(44_000, 4_000, 131_072 + 3 * 8_192)
    );
    // The seed workload validates and streams on it (it has GPUs).
    let w = WorkloadConfig::seed().workload;
    assert!(w.stream(&spec, 1, u64::MAX).unwrap().take(10).count() == 10);
}

fn job(tasks: u32, r: Resources) -> Job {
    Job::new(JobId(0), "t", tasks, r, 1)
}

#[test]
fn fit_check() {
    let fit = ClusterSpec::seed(80).fit_check().unwrap(); // 2 racks, 16 C machines
    assert!(fit.fits(&job(1, Resources::new(16_000, 0, 32_768)))); // a whole B
    assert!(!fit.fits(&job(1, Resources::new(16_000, 1_000, 1_024)))); // no B has GPUs
    assert!(fit.fits(&job(1, Resources::new(8_000, 2_000, 32_768)))); // a whole C
    assert!(!fit.fits(&job(1, Resources::new(1_000, 3_000, 1_024)))); // 3 GPUs: none
    assert!(fit.fits(&job(1, Resources::new(1_000, 250, 1_024)))); // a share of one
    assert!(!fit.fits(&job(1, Resources::new(1_000, 1_500, 1_024)))); // not a valid shape
    assert!(!fit.fits(&job(1, Resources::new(1_000, 0, 40_000)))); // more memory than any
    let mut spread = job(81, Resources::new(1_000, 0, 1_024));
    spread.constraints.one_task_per_machine = true;
    assert!(!fit.fits(&spread));
    spread.tasks = 80;
    assert!(fit.fits(&spread));
    let mut gpu_spread = job(17, Resources::new(1_000, 1_000, 1_024));
    gpu_spread.constraints.one_task_per_machine = true;
    assert!(!fit.fits(&gpu_spread)); // only 16 machines have GPUs
    let mut per_rack = job(7, Resources::new(1_000, 0, 1_024));
    per_rack.constraints.max_tasks_per_domain = Some(3);
    assert!(!fit.fits(&per_rack)); // 2 racks × 3
    per_rack.tasks = 6;
    assert!(fit.fits(&per_rack));
    let mut labelled = job(1, Resources::new(1_000, 0, 1_024));
    labelled.constraints.required_labels = vec!["type=A".into()];
    assert!(fit.fits(&labelled));
    labelled.constraints.required_labels.push("gpu=T4".into());
    assert!(!fit.fits(&labelled));
    // Alternatives: type A or a T4 will do; two models nobody has will not.
    let mut any = job(1, Resources::new(1_000, 0, 1_024));
    any.constraints.required_any_labels = vec![vec!["gpu=T4".into(), "type=A".into()]];
    assert!(fit.fits(&any));
    any.constraints.required_any_labels = vec![vec!["gpu=H100".into(), "gpu=A100".into()]];
    assert!(!fit.fits(&any));
    // Every group must be met on the same machine type: A machines have no GPU.
    any.constraints.required_any_labels = vec![vec!["type=A".into()], vec!["gpu=T4".into()]];
    assert!(!fit.fits(&any));
}

#[test]
fn alternative_labels_in_a_workload() {
    let spec = ClusterSpec::seed(100);
    let mut w = WorkloadConfig::seed().workload;
    w.classes[0].constraints.required_any_labels = vec![vec!["gpu=H100".into(), "gpu=T4".into()]];
    w.validate(&spec).unwrap();
    let batch: Vec<_> = w
        .stream(&spec, 1, u64::MAX)
        .unwrap()
        .take(200)
        .filter(|j| *j.class == *w.classes[0].name)
        .collect();
    assert!(!batch.is_empty());
    assert!(batch.iter().all(
        |j| j.constraints.required_any_labels == [["gpu=H100".to_owned(), "gpu=T4".to_owned()]]
    ));
    // A group no machine type can meet is a config error that names the field.
    w.classes[0].constraints.required_any_labels = vec![vec!["gpu=H100".into()]];
    let err = w.validate(&spec).unwrap_err().to_string();
    assert!(
        err.contains("constraints.required_any_labels") && err.contains("H100"),
        "{err}"
    );
}

#[test]
fn required_labels_of_explicit_types() {
    let mut spec = ClusterSpec::seed(100);
    spec.types.push(MachineType {
        labels: vec!["ssd".into()],
        ..MachineType::with_fraction("D", 8.0, 0, 16.0, 0.1)
    });
    let mut w = WorkloadConfig::seed().workload;
    w.classes[0].constraints.required_labels = vec!["ssd".into()];
    w.validate(&spec).unwrap();
    let fit = spec.fit_check().unwrap();
    assert!(
        w.stream(&spec, 1, u64::MAX)
            .unwrap()
            .take(200)
            .all(|j| j.constraints.required_labels == ["ssd"] || &*j.class == "service")
    );
    assert!(
        w.stream(&spec, 1, u64::MAX)
            .unwrap()
            .take(200)
            .filter(|j| &*j.class == "batch")
            .any(|j| fit.fits(&j))
    );
}

proptest! {
    /// Counts and fractions always give exactly `machines` machines, each fraction type
    /// within one machine of its exact share.
    #[test]
    fn counts_add_up(machines in 1u32..5_000, fractions in prop::collection::vec(0.0f64..1.0, 1..5), counted in 0u32..3) {
        let mut spec = ClusterSpec::seed(machines);
        spec.types = fractions.iter().enumerate().map(|(i, &f)| MachineType::with_fraction(&format!("T{i}"), 4.0, 0, 8.0, f)).collect();
        let fixed = counted.min(machines);
        spec.types.push(MachineType { count: Some(fixed), fraction: None, ..MachineType::with_fraction("X", 2.0, 0, 4.0, 0.0) });
        let sum: f64 = fractions.iter().sum();
        match spec.type_counts() {
            Ok(counts) => {
                prop_assert_eq!(counts.iter().map(|&c| u64::from(c)).sum::<u64>(), u64::from(machines));
                prop_assert_eq!(*counts.last().unwrap(), fixed);
                let rest = f64::from(machines - fixed);
                for (c, f) in counts.iter().zip(&fractions) {
                    prop_assert!((f64::from(*c) - rest * f / sum).abs() < 1.0 + 1e-9);
                }
                prop_assert_eq!(spec.machines().unwrap().len(), machines as usize);
            }
            Err(_) => prop_assert!(sum <= 0.0 && machines > fixed),
        }
    }
}
