//! `TraceStats` on the hand-written fixtures (counts and percentiles checked by hand) and
//! the nearest-rank percentile rule against a naive oracle.

mod common;

use common::data;

use omega_workload::trace::{self, Summary, TraceFormat, TraceOptions, TraceStats};
use proptest::prelude::*;

#[test]
fn google_fixture_stats() {
    let t = trace::load(
        &data("google"),
        TraceFormat::Google2011,
        &TraceOptions::default(),
    )
    .unwrap();
    let s = TraceStats::of(&t);
    assert_eq!(
        (s.jobs, s.tasks, s.prefill_jobs, s.prefill_tasks),
        (4, 8, 1, 2)
    );
    assert_eq!(
        (s.first_submit_us, s.last_submit_us),
        (600_000_000, 800_000_000)
    );
    assert_eq!(s.dropped_jobs, 1);
    // cpu: 2 × 4000 + 3 × 2000 + 8000 + 2 × 1600.
    assert_eq!(s.requested.cpu_milli, 25_200);
    let names: Vec<&str> = s.classes.iter().map(|c| c.class.as_str()).collect();
    assert_eq!(names, vec!["all", "batch", "service"]);
    let batch = &s.classes[1];
    // Jobs 200 and 400 (priority 0; job 400's scheduling class 2 is not used by default).
    assert_eq!((batch.jobs, batch.tasks), (2, 5));
    // Durations 40, 90, 0 s and 200, 0 s: median 40 s, p99 200 s, mean 66 s.
    assert_eq!(
        batch.duration_us,
        Summary {
            mean: 66_000_000.0,
            p50: 40_000_000,
            p99: 200_000_000
        }
    );
    let all = &s.classes[0];
    // Tasks per job 2, 3, 1, 2.
    assert_eq!(
        all.tasks_per_job,
        Summary {
            mean: 2.0,
            p50: 2,
            p99: 3
        }
    );
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(json["classes"][2]["class"], "service");
    assert_eq!(json["tasks"], 8);
    let text = s.to_text();
    assert!(text.contains("jobs           4 (1 prefill"), "{text}");
    assert!(text.lines().all(|l| l == l.trim_end()));
}

#[test]
fn alibaba_and_swf_fixture_stats() {
    let t = trace::load(
        &data("alibaba"),
        TraceFormat::AlibabaGpu2023,
        &TraceOptions::default(),
    )
    .unwrap();
    let s = TraceStats::of(&t);
    assert_eq!(s.constrained_jobs, 2);
    assert_eq!(s.requested.gpu_milli, 460 + 8_000 + 1_000 + 2_000);
    let cluster = s.cluster.unwrap();
    assert_eq!((cluster.machines, cluster.capacity.gpu_milli), (4, 18_000));
    assert_eq!(cluster.types.get("cpu"), Some(&1));

    let t = trace::load(
        &data("small.swf"),
        TraceFormat::Swf,
        &TraceOptions::default(),
    )
    .unwrap();
    let s = TraceStats::of(&t);
    assert_eq!(
        (s.jobs, s.tasks, s.gang_jobs, s.dependent_jobs),
        (4, 15, 4, 2)
    );
    assert_eq!(
        s.classes
            .iter()
            .map(|c| c.class.as_str())
            .collect::<Vec<_>>(),
        vec!["all", "batch", "interactive", "queue-3"]
    );
}

proptest! {
    /// Weighted nearest rank equals the nearest rank of the expanded list.
    #[test]
    fn percentiles_match_expanded_oracle(values in proptest::collection::vec((0u64..1_000, 0u64..5), 1..30)) {
        let mut expanded: Vec<u64> = values.iter().flat_map(|&(v, w)| std::iter::repeat_n(v, w as usize)).collect();
        expanded.sort_unstable();
        let s = Summary::of_weighted(values);
        if expanded.is_empty() {
            prop_assert_eq!((s.p50, s.p99), (0, 0));
        } else {
            let n = expanded.len();
            let rank = |p: usize| expanded[(n * p).div_ceil(100).max(1) - 1];
            prop_assert_eq!(s.p50, rank(50));
            prop_assert_eq!(s.p99, rank(99));
            let mean = expanded.iter().sum::<u64>() as f64 / n as f64;
            prop_assert!((s.mean - mean).abs() <= 0.0005 + 1e-9);
        }
    }
}
