//! Google 2011 loader on the hand-written fixture in `tests/data/google/` (one plain and one
//! gzip part of `task_events`, one `job_events` part), bad lines, lenient mode, truncated
//! gzip, and a no-panic property test.

use std::path::PathBuf;

use omega_core::{JobId, Priority, Resources, UserId};
use omega_workload::trace::google::GoogleReader;
use omega_workload::trace::{self, MachineSize, TraceError, TraceFormat, TraceOptions};
use proptest::prelude::*;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

const S: u64 = 1_000_000;

#[test]
fn fixture_loads_by_the_documented_rules() {
    let path = data("google");
    assert_eq!(TraceFormat::detect(&path).unwrap(), TraceFormat::Google2011);
    let t = trace::load(&path, TraceFormat::Google2011, &TraceOptions::default()).unwrap();
    assert_eq!(t.machines, None);
    assert_eq!(
        t.horizon_us,
        1_000 * S,
        "last applied event (the 2^63-1 one is ignored)"
    );
    assert_eq!(t.dropped_jobs, 1, "job 500 has no task events");
    assert_eq!(t.skipped_lines, 0);

    // Job 100 was running at time 0: prefill, durations counted from 0.
    assert_eq!(t.prefill.len(), 1);
    let p = &t.prefill[0];
    assert_eq!(p.id, JobId(100));
    assert_eq!(p.submit_at_us, 0);
    assert_eq!(p.tasks, 2);
    assert_eq!(p.task_durations_us, vec![900 * S, 1_000 * S]);
    assert_eq!(p.task_duration_us, 1_000 * S);
    assert_eq!(p.task_resources, Resources::new(4_000, 0, 4_096)); // 0.25, 0.125 of 16 cores, 32 GiB
    assert_eq!(&*p.class, "service");
    assert_eq!(p.user, UserId(0));
    assert_eq!(p.priority, Priority(9));

    let ids: Vec<u64> = t.jobs.iter().map(|j| j.id.0).collect();
    assert_eq!(ids, vec![200, 300, 400], "submit order");

    let j200 = &t.jobs[0];
    assert_eq!(j200.submit_at_us, 600 * S);
    assert_eq!(j200.tasks, 3);
    // Task 0: 610→650; task 1: 610→660 evicted, then 680→720 (sum 90 s); task 2 killed pending.
    assert_eq!(j200.task_durations_us, vec![40 * S, 90 * S, 0]);
    assert_eq!(
        j200.task_resources,
        Resources::new(2_000, 0, 2_048),
        "max over tasks"
    );
    assert_eq!(&*j200.class, "batch");
    assert_eq!(j200.user, UserId(1));

    let j300 = &t.jobs[1];
    assert_eq!(
        j300.task_duration_us,
        300 * S,
        "never ends: runs to the horizon"
    );
    assert!(j300.task_durations_us.is_empty());
    assert_eq!(&*j300.class, "service", "priority 10");
    assert_eq!(j300.task_resources, Resources::new(8_000, 0, 16_384));

    let j400 = &t.jobs[2];
    assert_eq!(&*j400.class, "service", "scheduling class 2");
    // Task 0 pending at the end: submit→horizon; task 1 killed while pending: 0.
    assert_eq!(j400.task_durations_us, vec![200 * S, 0]);
    assert_eq!(j400.task_resources, Resources::new(1_600, 0, 3_277));
}

#[test]
fn options_change_scale_split_and_horizon() {
    let opts = TraceOptions {
        machine_size: Some(MachineSize {
            cpu_milli: 32_000,
            mem_mib: 65_536,
        }),
        service_min_priority: 11,
        service_min_scheduling_class: 4,
        horizon_us: Some(700 * S),
        ..TraceOptions::default()
    };
    let t = trace::load(&data("google"), TraceFormat::Google2011, &opts).unwrap();
    assert_eq!(t.horizon_us, 700 * S);
    let ids: Vec<u64> = t.jobs.iter().map(|j| j.id.0).collect();
    assert_eq!(
        ids,
        vec![200, 300],
        "job 400 is submitted after the horizon"
    );
    assert!(t.jobs.iter().all(|j| &*j.class == "batch"));
    assert_eq!(t.prefill[0].task_resources, Resources::new(8_000, 0, 8_192));
    // Job 200 task 1 is evicted at 660 and rescheduled at 680; the horizon cuts that run.
    assert_eq!(t.jobs[0].task_durations_us, vec![40 * S, 70 * S, 100 * S]);
    assert_eq!(t.prefill[0].task_duration_us, 700 * S);
}

#[test]
fn options_deserialize_strictly() {
    let o: TraceOptions = toml::from_str("lenient = true\nhorizon_us = 5").unwrap();
    assert!(o.lenient);
    assert_eq!(o.horizon_us, Some(5));
    assert_eq!(o.service_min_priority, 9);
    assert!(toml::from_str::<TraceOptions>("lenient = true\nbogus = 1").is_err());
}

fn read(text: &str, lenient: bool) -> Result<trace::Trace, TraceError> {
    let mut r = GoogleReader::new(&TraceOptions {
        lenient,
        ..TraceOptions::default()
    });
    r.read_task_events(text.as_bytes(), "t.csv")?;
    Ok(r.finish())
}

const GOOD: &str = "600000000,,7,0,,0,u,0,0,0.5,0.25,0,0\n";

#[test]
fn bad_lines_name_file_line_column_and_expectation() {
    let cases = [
        (
            "x00,,7,0,,0,u,0,0,0.5,0.25,0,0",
            1,
            "a time in microseconds",
        ),
        ("1,,7,0,,9,u,0,0,0.5,0.25,0,0", 6, "an event type 0-8"),
        ("1,,7,-1,,0,u,0,0,0.5,0.25,0,0", 4, "a task index"),
        (
            "1,,7,0,,0,u,0,0,NaN,0.25,0,0",
            10,
            "a normalised CPU request",
        ),
        (
            "1,,7,0,,0,u,0,0,0.5,-1,0,0",
            11,
            "a normalised memory request",
        ),
        ("1,,7,0,,0,u,0,0,0.5", 11, "13 comma-separated fields"),
        (
            "1,,7,0,,0,u,0,0,0.5,0.25,0,0,extra",
            14,
            "13 comma-separated fields",
        ),
    ];
    for (line, column, expected) in cases {
        let text = format!("{GOOD}{line}\n");
        match read(&text, false) {
            Err(TraceError::Parse {
                file,
                line: l,
                column: c,
                expected: e,
                ..
            }) => {
                assert_eq!((file.as_str(), l, c), ("t.csv", 2, column), "{line}");
                assert!(e.contains(expected), "{e:?} for {line}");
            }
            other => panic!("{line}: expected a parse error, got {other:?}"),
        }
        let t = read(&text, true).unwrap();
        assert_eq!(t.skipped_lines, 1);
        assert_eq!(t.jobs.len(), 1, "the good line still counts");
    }
    let msg = read("1,,7,0,,9,u,0,0,0.5,0.25,0,0\n", false)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "t.csv:1: column 6: expected an event type 0-8, found \"9\""
    );
}

#[test]
fn truncated_gzip_is_an_error_even_when_lenient() {
    for lenient in [false, true] {
        let opts = TraceOptions {
            lenient,
            ..TraceOptions::default()
        };
        let err =
            trace::load(&data("google_truncated"), TraceFormat::Google2011, &opts).unwrap_err();
        assert!(
            matches!(err, TraceError::Truncated { .. }),
            "expected Truncated, got {err:?}"
        );
        assert!(err.to_string().contains("truncated gzip"));
    }
}

#[test]
fn missing_folder_is_a_format_error() {
    let err = trace::load(
        &data("alibaba"),
        TraceFormat::Google2011,
        &TraceOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, TraceError::Format { .. }), "{err:?}");
}

fn mutate(line: &str, ops: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = line.as_bytes().to_vec();
    for &(op, pos, byte) in ops {
        let pos = pos % (bytes.len() + 1);
        match op % 3 {
            0 if pos < bytes.len() => bytes[pos] = byte,
            1 => bytes.insert(pos, byte),
            _ if pos < bytes.len() => {
                bytes.remove(pos);
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random and mutated lines never panic; lenient mode always loads; strict errors point
    /// at a real line.
    #[test]
    fn never_panics(
        random in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..5),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), prop::sample::select(b",0123456789.-e\n\"x ".to_vec())), 0..6),
    ) {
        let mut text = GOOD.as_bytes().to_vec();
        text.extend(mutate(GOOD, &ops));
        for r in &random {
            text.extend(r);
            text.push(b'\n');
        }
        // The CSV reader ends records at `\n`, `\r` or both.
        let lines = text.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64 + 1;
        for lenient in [false, true] {
            let mut reader = GoogleReader::new(&TraceOptions { lenient, ..TraceOptions::default() });
            let result = reader.read_task_events(&text[..], "p.csv");
            match result {
                Ok(()) => {
                    let t = reader.finish();
                    prop_assert!(t.skipped_lines <= lines);
                }
                Err(TraceError::Parse { line, .. }) => {
                    prop_assert!(!lenient);
                    prop_assert!(line >= 1 && line <= lines);
                }
                Err(e) => prop_assert!(false, "unexpected error {e:?}"),
            }
            let mut jobs = GoogleReader::new(&TraceOptions { lenient, ..TraceOptions::default() });
            let _ = jobs.read_job_events(&text[..], "j.csv");
        }
    }
}

/// Cutting a gzip part anywhere before its end is an error, never a silent early end.
#[test]
fn every_cut_of_a_gzip_part_is_an_error() {
    let src = data("google/task_events/part-00001-of-00002.csv.gz");
    let bytes = std::fs::read(&src).unwrap();
    let dir = std::env::temp_dir().join(format!("omega-trace-cut-{}", std::process::id()));
    let parts = dir.join("task_events");
    std::fs::create_dir_all(&parts).unwrap();
    let part = parts.join("part-00000-of-00001.csv.gz");
    for cut in (2..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        std::fs::write(&part, &bytes[..cut]).unwrap();
        let result = trace::load(&dir, TraceFormat::Google2011, &TraceOptions::default());
        assert!(
            matches!(
                result,
                Err(TraceError::Truncated { .. }) | Err(TraceError::Io { .. })
            ),
            "cut at {cut} of {}: {result:?}",
            bytes.len()
        );
    }
    std::fs::write(&part, &bytes).unwrap();
    assert!(trace::load(&dir, TraceFormat::Google2011, &TraceOptions::default()).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loading_twice_gives_the_same_trace() {
    let a = trace::load(
        &data("google"),
        TraceFormat::Google2011,
        &TraceOptions::default(),
    );
    let b = trace::load(
        &data("google"),
        TraceFormat::Google2011,
        &TraceOptions::default(),
    );
    assert_eq!(a.unwrap(), b.unwrap());
}
