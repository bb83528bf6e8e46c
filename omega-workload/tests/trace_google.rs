//! Google 2011 loader on the hand-written fixture in `tests/data/google/` (one plain and one
//! gzip part of `task_events`, one `job_events` part), bad lines, lenient mode, truncated
//! gzip, and a no-panic property test; the batch/service options; streaming (jobs closed
//! once their end has passed: peak live tasks, late events, and a property test that
//! closing early never changes a consistent trace).

mod common;

use common::{S, assert_parse_error, data};

use omega_core::{JobId, Priority, Resources, UserId};
use omega_workload::trace::google::GoogleReader;
use omega_workload::trace::{self, MachineSize, TraceError, TraceFormat, TraceOptions};
use proptest::prelude::*;

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
    assert_eq!(
        &*j400.class, "batch",
        "priority 0; its scheduling class 2 is not used by default"
    );
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
        service_min_scheduling_class: Some(4),
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
fn the_scheduling_class_makes_service_only_when_asked() {
    let class = |min: Option<u32>| {
        let opts = TraceOptions {
            service_min_scheduling_class: min,
            ..TraceOptions::default()
        };
        let t = trace::load(&data("google"), TraceFormat::Google2011, &opts).unwrap();
        let classes: Vec<String> = t.jobs.iter().map(|j| j.class.to_string()).collect();
        classes
    };
    // Jobs 200 (priority 0, class 0), 300 (priority 10, class 1), 400 (priority 0, class 2).
    assert_eq!(class(None), ["batch", "service", "batch"]);
    assert_eq!(class(Some(2)), ["batch", "service", "service"]);
    assert_eq!(class(Some(1)), ["batch", "service", "service"]);
    assert_eq!(class(Some(0)), ["service", "service", "service"]);
}

#[test]
fn options_deserialize_strictly() {
    let o: TraceOptions = toml::from_str("lenient = true\nhorizon_us = 5").unwrap();
    assert!(o.lenient);
    assert_eq!(o.horizon_us, Some(5));
    assert_eq!(o.service_min_priority, 9);
    assert_eq!(
        o.service_min_scheduling_class, None,
        "priority alone by default"
    );
    let o: TraceOptions = toml::from_str("service_min_scheduling_class = 2").unwrap();
    assert_eq!(o.service_min_scheduling_class, Some(2));
    assert!(toml::from_str::<TraceOptions>("service_min_scheduling_class = -1").is_err());
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
        assert_parse_error(read(&text, false), ("t.csv", 2, column), expected, line);
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

/// A slice read without part 0 starts with tasks already running: their first event is an
/// end or an UPDATE_RUNNING. They run from time 0 (censored: the durations are lower
/// bounds) in a prefill job, where they used to be zero-duration tasks. Tasks SCHEDULEd
/// at time 0 are censored too; a task killed while pending (or first seen killed) is
/// counted as of duration 0.
#[test]
fn a_slice_without_part_0_marks_running_tasks_censored() {
    let line = |t: u64, job: u64, index: u32, event: u8| {
        format!("{},,{job},{index},,{event},u,0,0,0.5,0.25,0,0\n", t * S)
    };
    let text = [
        line(0, 9, 0, 1), // part 0 style: running at the trace's start
        line(700, 9, 0, 4),
        line(6_000, 7, 0, 4), // first seen finishing: ran since before the slice
        line(6_000, 8, 0, 0), // submitted in the slice ...
        line(6_050, 8, 0, 5), // ... and killed while pending: duration 0
        line(6_100, 7, 1, 8), // first seen running (UPDATE_RUNNING)
        line(6_500, 7, 1, 4),
        line(6_600, 10, 0, 5), // first seen killed: pending or running, unknown
    ]
    .concat();
    let t = read(&text, false).unwrap();
    assert_eq!((t.censored_tasks, t.zero_duration_tasks), (3, 2));
    let prefill: Vec<(u64, u64, Vec<u64>)> = t
        .prefill
        .iter()
        .map(|j| {
            let durations = (0..j.tasks).map(|i| j.duration_of(i) / S).collect();
            (j.id.0, j.submit_at_us, durations)
        })
        .collect();
    assert_eq!(
        prefill,
        vec![(7, 0, vec![6_000, 6_500]), (9, 0, vec![700])],
        "running tasks run from time 0 to their end"
    );
    let jobs: Vec<(u64, u64)> = t
        .jobs
        .iter()
        .map(|j| (j.id.0, j.task_duration_us))
        .collect();
    assert_eq!(jobs, vec![(8, 0), (10, 0)]);
    let stats = trace::TraceStats::of(&t);
    assert_eq!((stats.censored_tasks, stats.zero_duration_tasks), (3, 2));
    assert!(
        stats.to_text().contains("3 tasks censored"),
        "{}",
        stats.to_text()
    );
}

// ---- Streaming: working memory bounded by the jobs alive at once ----

use omega_workload::trace::google::CLOSE_GRACE_US;

/// `jobs` jobs of `tasks` tasks each, one after the other: job `j` is submitted at
/// `1000 s + 100 s × j`, its tasks run 1 s → `10 + i` s, and the job FINISHes at 50 s.
/// Returns (job_events, task_events).
fn sequential(jobs: u64, tasks: u32) -> (String, String) {
    let (mut job_events, mut task_events) = (String::new(), String::new());
    for j in 0..jobs {
        let t0 = (1_000 + 100 * j) * S;
        let id = 1 + j;
        job_events.push_str(&format!("{t0},,{id},0,u{j},0,n,l\n"));
        job_events.push_str(&format!("{},,{id},4,u{j},0,n,l\n", t0 + 50 * S));
        let mut events = Vec::new();
        for i in 0..tasks {
            events.push((t0, i, 0));
            events.push((t0 + S, i, 1));
            events.push((t0 + (10 + u64::from(i)) * S, i, 4));
        }
        events.sort();
        for (t, i, e) in events {
            task_events.push_str(&format!("{t},,{id},{i},m,{e},u{j},0,0,0.1,0.1,0,0\n"));
        }
    }
    (job_events, task_events)
}

fn read_both(job_events: &str, task_events: &str, options: &TraceOptions) -> GoogleReader {
    let mut r = GoogleReader::new(options);
    r.read_job_events(job_events.as_bytes(), "j.csv")
        .expect("valid job events");
    r.read_task_events(task_events.as_bytes(), "t.csv")
        .expect("valid task events");
    r
}

/// Turns the terminal job events (FAIL 3, FINISH 4, KILL 5, LOST 6) into UPDATE_PENDING (7),
/// keeping their times (the horizon): the reader then keeps every job open to the end, as
/// the loader did before streaming.
fn without_ends(job_events: &str) -> String {
    job_events
        .lines()
        .map(|l| {
            let mut fields: Vec<&str> = l.split(',').collect();
            if matches!(fields[3], "3" | "4" | "5" | "6") {
                fields[3] = "7";
            }
            format!("{}\n", fields.join(","))
        })
        .collect()
}

#[test]
fn jobs_one_after_another_hold_one_job_of_tasks() {
    let (jobs, tasks) = (50, 20);
    let (job_events, task_events) = sequential(jobs, tasks);
    let r = read_both(&job_events, &task_events, &TraceOptions::default());
    assert_eq!(
        r.peak_live_tasks(),
        20,
        "one job's tasks at a time, not 1,000"
    );
    assert_eq!(
        (r.live_jobs(), r.live_tasks()),
        (1, 20),
        "the last job: the clock never passes its end"
    );
    assert_eq!(r.late_events(), 0);
    let t = r.finish();
    assert_eq!(t.jobs.len(), 50);
    assert_eq!(t.jobs[3].id, JobId(4));
    assert_eq!(t.jobs[3].submit_at_us, 1_300 * S);
    let expected: Vec<u64> = (0..20).map(|i| (9 + i) * S).collect();
    assert!(t.jobs.iter().all(|j| j.task_durations_us == expected));

    // Without the job ends nothing can close early, and the trace is the same.
    let open = read_both(
        &without_ends(&job_events),
        &task_events,
        &TraceOptions::default(),
    );
    assert_eq!(open.peak_live_tasks(), 1_000);
    assert_eq!(open.finish(), t);
}

#[test]
fn closing_waits_for_the_grace_and_for_every_task_to_settle() {
    assert_eq!(CLOSE_GRACE_US, 10 * S);
    // Job 1 ends at 100 s. Job 2 ends at 100 s too, but its task 1 is still running then
    // (the trace lost its end). Job 3 is killed at 50 s, resubmitted at 60 s and finishes
    // at 120 s. Job 4 only has job events.
    let job_events = "\
0,,1,0,a,0,n,l
100000000,,1,4,a,0,n,l
0,,2,0,b,0,n,l
100000000,,2,4,b,0,n,l
0,,3,0,c,0,n,l
50000000,,3,5,c,0,n,l
60000000,,3,0,c,0,n,l
120000000,,3,4,c,0,n,l
0,,4,0,d,0,n,l
10000000,,4,5,d,0,n,l
";
    let task_events = "\
10000000,,1,0,m,1,a,0,0,0.1,0.1,0,0
10000000,,2,0,m,1,b,0,0,0.1,0.1,0,0
10000000,,2,1,m,1,b,0,0,0.1,0.1,0,0
10000000,,3,0,m,1,c,0,0,0.1,0.1,0,0
50000000,,3,0,m,5,c,0,0,0.1,0.1,0,0
70000000,,3,0,m,1,c,0,0,0.1,0.1,0,0
90000000,,1,0,m,4,a,0,0,0.1,0.1,0,0
90000000,,2,0,m,4,b,0,0,0.1,0.1,0,0
105000000,,1,0,m,7,a,0,0,0.5,0.1,0,0
110000000,,3,0,m,4,c,0,0,0.1,0.1,0,0
111000000,,3,1,m,0,c,0,0,0.1,0.1,0,0
111000000,,3,1,m,5,c,0,0,0.1,0.1,0,0
112000000,,1,0,m,7,a,0,0,0.9,0.1,0,0
95000000,,1,0,m,7,a,0,0,0.9,0.1,0,0
150000000,,2,1,m,4,b,0,0,0.1,0.1,0,0
200000000,,9,0,m,1,z,0,0,0.1,0.1,0,0
";
    let r = read_both(job_events, task_events, &TraceOptions::default());
    // Job 1: the UPDATE at 105 s (inside the grace) applies; the clock passes 110 s at
    // 111 s and job 1 closes; the events at 112 s and 95 s (out of order) are late.
    // Job 2 stays open; its task 1 finishes at 150 s. Job 3 closes at 200 s (job 9's event).
    assert_eq!(r.late_events(), 2);
    assert_eq!(
        (r.live_jobs(), r.live_tasks()),
        (2, 3),
        "jobs 2 and 9 stay open"
    );
    assert_eq!(
        r.peak_live_tasks(),
        4,
        "job 1 closes before job 3's task 1 arrives"
    );
    let t = r.finish();
    assert_eq!(t.dropped_jobs, 1, "job 4 never had tasks");
    let ids: Vec<u64> = t.jobs.iter().map(|j| j.id.0).collect();
    assert_eq!(ids, vec![1, 2, 3, 9]);
    assert_eq!(t.jobs[0].task_duration_us, 80 * S);
    assert_eq!(
        t.jobs[0].task_resources.cpu_milli, 8_000,
        "0.5 of 16 cores: the 0.9 updates were late"
    );
    assert_eq!(t.jobs[1].task_durations_us, vec![80 * S, 140 * S]);
    assert_eq!(t.jobs[2].task_durations_us, vec![80 * S, 0]);
}

#[test]
fn a_closed_job_ignores_later_job_events_too() {
    let mut r = GoogleReader::new(&TraceOptions::default());
    r.read_job_events(&b"0,,1,0,a,0,n,l\n10000000,,1,4,a,0,n,l\n"[..], "j1.csv")
        .unwrap();
    r.read_task_events(
        &b"0,,1,0,m,1,a,0,0,0.1,0.1,0,0\n5000000,,1,0,m,4,a,0,0,0.1,0.1,0,0\n30000000,,2,0,m,1,b,0,0,0.1,0.1,0,0\n"[..],
        "t.csv",
    )
    .unwrap();
    assert_eq!(r.live_jobs(), 1, "job 1 closed at 30 s");
    r.read_job_events(&b"40000000,,1,0,a,3,n,l\n"[..], "j2.csv")
        .unwrap();
    assert_eq!(r.late_events(), 1);
    let t = r.finish();
    assert_eq!(t.prefill.len(), 1);
    assert_eq!(&*t.prefill[0].class, "batch", "the late class 3 is ignored");
    assert_eq!(t.prefill[0].task_duration_us, 5 * S);
}

/// One random job: (submit ms, tasks as lists of (gap ms, event type), end: None or an
/// offset in ms from the job's last task event).
type JobSpec = (u64, Vec<Vec<(u64, u8)>>, Option<i64>);

/// Builds (job_events, task_events) from random jobs; task events are sorted by time plus a
/// jitter below half the grace (slight disorder), and no task event lies more than half the
/// grace after its job's end: a consistent trace.
fn random_trace(jobs: &[JobSpec], jitter_ms: &[u64]) -> (String, String) {
    let ms = 1_000u64;
    let half_grace_ms = CLOSE_GRACE_US / ms / 2;
    let mut job_events = String::new();
    let mut events = Vec::new();
    for (j, (submit_ms, tasks, end)) in jobs.iter().enumerate() {
        let id = j + 1;
        job_events.push_str(&format!("{},,{id},0,u{j},0,n,l\n", submit_ms * ms));
        let mut last_ms = *submit_ms;
        for (i, task) in tasks.iter().enumerate() {
            let mut t_ms = *submit_ms;
            for &(gap, kind) in task {
                t_ms += gap;
                last_ms = last_ms.max(t_ms);
                let jitter = jitter_ms[events.len() % jitter_ms.len()] % half_grace_ms;
                events.push((t_ms + jitter, t_ms, id, i, kind, j));
            }
        }
        if let Some(offset) = end {
            let end_ms = (last_ms as i64 + offset).max(*submit_ms as i64) as u64;
            let kind = 3 + (j % 4);
            job_events.push_str(&format!("{},,{id},{kind},u{j},0,n,l\n", end_ms * ms));
        }
    }
    events.sort();
    let mut task_events = String::new();
    for (_, t_ms, id, i, kind, j) in events {
        task_events.push_str(&format!(
            "{},,{id},{i},m,{kind},u{j},{},{},0.{},0.1,0,0\n",
            t_ms * ms,
            j % 4,
            (j * 7) % 12,
            i + 1
        ));
    }
    (job_events, task_events)
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    let half_grace_ms = (CLOSE_GRACE_US / 1_000 / 2) as i64;
    (
        prop_oneof![Just(0u64), 0u64..200_000],
        proptest::collection::vec(
            proptest::collection::vec((prop_oneof![Just(0u64), 0u64..60_000], 0u8..9), 1..5),
            1..5,
        ),
        proptest::option::of(-half_grace_ms..200_000),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Closing jobs early never changes the trace of a consistent input (task events at
    /// most half the grace after their job's end, disorder below half the grace), with or
    /// without a horizon, and never holds more tasks than the whole trace.
    #[test]
    fn streaming_matches_keeping_every_job_open(
        jobs in proptest::collection::vec(job_spec(), 1..12),
        jitter_ms in proptest::collection::vec(0u64..100_000, 1..20),
        horizon_ms in proptest::option::of(0u64..400_000),
    ) {
        let (job_events, task_events) = random_trace(&jobs, &jitter_ms);
        let options = TraceOptions {
            horizon_us: horizon_ms.map(|h| h * 1_000),
            ..TraceOptions::default()
        };
        let streaming = read_both(&job_events, &task_events, &options);
        let open = read_both(&without_ends(&job_events), &task_events, &options);
        prop_assert_eq!(streaming.late_events(), 0);
        prop_assert!(streaming.peak_live_tasks() <= open.peak_live_tasks());
        prop_assert_eq!(open.live_tasks(), open.peak_live_tasks());
        prop_assert_eq!(streaming.finish(), open.finish());
    }
}

/// Task indexes far apart (not 0, 1, 2, ...) still give the tasks in index order, with no
/// memory for the gaps.
#[test]
fn sparse_task_indexes_keep_index_order() {
    let text = "\
0,,7,5,,0,u,0,0,0.1,0.1,0,0
0,,7,0,,0,u,0,0,0.1,0.1,0,0
10000000,,7,5,m,1,u,0,0,0.1,0.1,0,0
10000000,,7,0,m,1,u,0,0,0.1,0.1,0,0
10000000,,7,4000000000,m,1,u,0,0,0.1,0.1,0,0
10000000,,7,3,m,1,u,0,0,0.1,0.1,0,0
20000000,,7,0,m,4,u,0,0,0.1,0.1,0,0
30000000,,7,4000000000,m,4,u,0,0,0.1,0.1,0,0
40000000,,7,5,m,4,u,0,0,0.1,0.1,0,0
50000000,,7,3,m,4,u,0,0,0.1,0.1,0,0
60000000,,7,4294967295,m,5,u,0,0,0.1,0.1,0,0
";
    let mut r = GoogleReader::new(&TraceOptions::default());
    r.read_task_events(text.as_bytes(), "t.csv").unwrap();
    assert_eq!((r.live_tasks(), r.peak_live_tasks()), (5, 5));
    let t = r.finish();
    let j = &t.jobs[0];
    assert_eq!(j.tasks, 5);
    // Indexes 0, 3, 5, 4e9, 2^32 - 1 (killed while pending).
    assert_eq!(j.task_durations_us, vec![10 * S, 40 * S, 30 * S, 20 * S, 0]);
}
