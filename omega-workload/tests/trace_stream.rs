//! The loaders as streams (`trace::open`): the jobs streamed equal what the collecting
//! readers give (`GoogleReader` fed the job table first, as `google::load` did before
//! streaming; `swf::parse`; `alibaba::parse`) on every fixture and on the shared excerpts;
//! the Google merge's buffer stays bounded on a generated multi-part trace; errors keep
//! their file, line and column, before the stream starts and in the middle of it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{S, data};
use omega_workload::trace::google::{GoogleReader, GoogleStream, STREAM_WINDOW_US};
use omega_workload::trace::{
    self, Trace, TraceError, TraceFormat, TraceOptions, TraceStats, alibaba, swf,
};
use proptest::prelude::*;

fn shared(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/traces")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !std::env::var("OMEGA_REQUIRE_SHARED").is_ok_and(|v| v == "1"),
        "OMEGA_REQUIRE_SHARED=1 but {} is missing",
        path.display()
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {}: {} is absent",
        std::thread::current().name().unwrap_or("a test"),
        path.display()
    );
    None
}

/// A fresh folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("omega-trace-stream-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// What the collecting readers give for the trace at `path`.
fn collected(path: &Path, format: TraceFormat, options: &TraceOptions) -> Trace {
    match format {
        TraceFormat::Google2011 => {
            let mut r = GoogleReader::new(options);
            r.read_folder(path).expect("the collecting Google reader");
            r.finish()
        }
        TraceFormat::Swf => {
            let file = if path.is_dir() {
                fs::read_dir(path)
                    .expect("a folder")
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .find(|p| p.to_string_lossy().contains(".swf"))
                    .expect("an .swf file")
            } else {
                path.to_path_buf()
            };
            swf::parse(
                fs::File::open(&file).expect("the SWF file"),
                &file.display().to_string(),
                options,
            )
            .expect("swf::parse")
        }
        TraceFormat::AlibabaGpu2023 => {
            let find = |part: &str| {
                fs::read_dir(path)
                    .expect("a folder")
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .find(|p| p.to_string_lossy().contains(part))
            };
            let pods = find("pod_list").expect("a pod list");
            let nodes = find("node_list").map(|p| {
                (
                    fs::File::open(&p).expect("the node list"),
                    p.display().to_string(),
                )
            });
            alibaba::parse(
                nodes,
                fs::File::open(&pods).expect("the pod list"),
                &pods.display().to_string(),
                options,
            )
            .expect("alibaba::parse")
        }
    }
}

/// The stream of `path` equals the collecting reader, and its up-front counts agree.
fn check_same(path: &Path, format: TraceFormat, options: &TraceOptions) -> Trace {
    let want = collected(path, format, options);
    let stream = trace::open(path, format, options).expect("trace::open");
    assert_eq!(
        stream.job_count,
        want.jobs.len() as u64,
        "{}",
        path.display()
    );
    let tasks: u64 = want.jobs.iter().map(|j| u64::from(j.tasks)).sum();
    assert_eq!(stream.task_count, tasks, "{}", path.display());
    let classes: std::collections::BTreeSet<String> = want
        .jobs
        .iter()
        .chain(&want.prefill)
        .map(|j| j.class.to_string())
        .collect();
    assert_eq!(stream.classes, classes, "{}", path.display());
    let got = stream.into_trace().expect("the stream to the end");
    assert_eq!(got, want, "{}: streamed != collected", path.display());
    assert_eq!(trace::load(path, format, options).expect("load"), want);
    want
}

fn lenient() -> TraceOptions {
    TraceOptions {
        lenient: true,
        ..TraceOptions::default()
    }
}

#[test]
fn streams_equal_the_collecting_readers_on_the_fixtures() {
    for options in [TraceOptions::default(), lenient()] {
        check_same(&data("google"), TraceFormat::Google2011, &options);
        check_same(&data("small.swf"), TraceFormat::Swf, &options);
        check_same(&data("alibaba"), TraceFormat::AlibabaGpu2023, &options);
    }
    let horizon = TraceOptions {
        horizon_us: Some(700 * S),
        ..TraceOptions::default()
    };
    check_same(&data("google"), TraceFormat::Google2011, &horizon);
    check_same(&data("small.swf"), TraceFormat::Swf, &horizon);
    check_same(&data("alibaba"), TraceFormat::AlibabaGpu2023, &horizon);
}

#[test]
fn streams_equal_the_collecting_readers_on_the_shared_excerpts() {
    for (name, format) in [
        ("google-2011", TraceFormat::Google2011),
        ("swf", TraceFormat::Swf),
        ("alibaba-gpu-2023", TraceFormat::AlibabaGpu2023),
    ] {
        let Some(path) = shared(name) else {
            continue;
        };
        let t = check_same(&path, format, &TraceOptions::default());
        assert!(!t.jobs.is_empty(), "{name}");
        let stats = TraceStats::of_stream(
            trace::open(&path, format, &TraceOptions::default()).expect("open"),
        )
        .expect("stats");
        assert_eq!(stats, TraceStats::of(&t), "{name}: streamed stats");
    }
    if let Some(path) = shared("google-2011") {
        // Half the part: jobs end inside it, so the short-job path carries some.
        let options = TraceOptions {
            horizon_us: Some(3_000 * S),
            ..TraceOptions::default()
        };
        check_same(&path, TraceFormat::Google2011, &options);
    }
}

/// A Google trace of `parts` parts: `total` jobs, one submitted every 10 s, each with 5
/// tasks that run 30 to 34 s and a FINISH job event after them; job 1 also runs a long
/// task from the start to the end (it is finalised only at the horizon). Each table is
/// sorted by time and cut into parts of equal length, as the real trace is.
fn generated_google(dir: &Path, parts: usize, total: usize) -> usize {
    fs::create_dir_all(dir.join("job_events")).expect("job_events/");
    fs::create_dir_all(dir.join("task_events")).expect("task_events/");
    let end_us = (total as u64 + 10) * 10 * S + 600 * S;
    let mut jobs = Vec::new();
    let mut tasks = Vec::new();
    for job_id in 1..=total as u64 {
        let t0 = 600 * S + job_id * 10 * S;
        let user = job_id % 7;
        jobs.push((t0, format!("{t0},,{job_id},0,u{user},0,n,l")));
        for i in 0..5u64 {
            let task = |t: u64, e: u8| format!("{t},,{job_id},{i},m,{e},u{user},0,0,0.01,0.01,0,0");
            let run_end = if job_id == 1 && i == 0 {
                end_us
            } else {
                t0 + S + (30 + i) * S
            };
            tasks.push((t0, task(t0, 0)));
            tasks.push((t0 + S, task(t0 + S, 1)));
            tasks.push((run_end, task(run_end, 4)));
        }
        let done = if job_id == 1 { end_us } else { t0 + 40 * S };
        jobs.push((done, format!("{done},,{job_id},4,u{user},0,n,l")));
    }
    jobs.sort();
    tasks.sort();
    for (table, rows) in [("job_events", jobs), ("task_events", tasks)] {
        let per_part = rows.len().div_ceil(parts);
        for (part, chunk) in rows.chunks(per_part).enumerate() {
            let text: String = chunk.iter().map(|(_, l)| format!("{l}\n")).collect();
            let name = format!("part-{part:05}-of-{parts:05}.csv");
            fs::write(dir.join(table).join(name), text).expect("a part");
        }
    }
    total
}

#[test]
fn the_google_merge_holds_the_jobs_alive_not_the_trace() {
    let dir = scratch("bounded");
    let total = generated_google(&dir, 1, 3_000);
    let mut stream = GoogleStream::open(&dir, &TraceOptions::default()).expect("open");
    let mut jobs = Vec::new();
    for job in &mut stream {
        jobs.push(job.expect("a job"));
    }
    assert_eq!(jobs.len(), total);
    assert!(
        jobs.windows(2)
            .all(|w| (w[0].submit_at_us, w[0].id) < (w[1].submit_at_us, w[1].id))
    );
    // A job lives 40 s and closes 10 s after its end: about 5 jobs are open or waiting at
    // once (one submitted every 10 s), plus job 1, held whole from the first pass.
    assert!(
        stream.peak_buffered_jobs() <= 10,
        "peak {} jobs buffered of {total}",
        stream.peak_buffered_jobs()
    );
    assert!(
        stream.peak_live_tasks() <= 50,
        "{}",
        stream.peak_live_tasks()
    );
    let want = {
        let mut r = GoogleReader::new(&TraceOptions::default());
        r.read_folder(&dir).expect("collecting");
        r.finish()
    };
    assert_eq!(jobs, want.jobs);
    assert!(
        want.jobs[0].task_duration_us > STREAM_WINDOW_US,
        "job 1 is a long job"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_multi_part_google_trace_streams_in_bounded_memory() {
    // 4,000 jobs in 5 parts of each table.
    let dir = scratch("parts");
    let total = generated_google(&dir, 5, 4_000);
    let mut stream = GoogleStream::open(&dir, &TraceOptions::default()).expect("open");
    let mut count = 0;
    for job in &mut stream {
        job.expect("a job");
        count += 1;
    }
    assert_eq!(count, total);
    assert!(
        stream.peak_buffered_jobs() <= 10,
        "{}",
        stream.peak_buffered_jobs()
    );
    check_same(&dir, TraceFormat::Google2011, &TraceOptions::default());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_line_in_a_later_part_is_an_error_before_the_stream_starts() {
    let dir = scratch("bad-line");
    generated_google(&dir, 2, 100);
    let part = dir.join("task_events/part-00001-of-00002.csv");
    let mut text = fs::read_to_string(&part).expect("part 1");
    text.insert_str(0, "");
    text.push_str("99999999999,,7,0,m,x,u,0,0,0.1,0.1,0,0\n");
    let line = text.lines().count() as u64;
    fs::write(&part, text).expect("rewrite");
    match trace::open(&dir, TraceFormat::Google2011, &TraceOptions::default()) {
        Err(TraceError::Parse {
            file,
            line: l,
            column,
            expected,
            ..
        }) => {
            assert!(file.ends_with("part-00001-of-00002.csv"), "{file}");
            assert_eq!((l, column), (line, 6));
            assert!(expected.contains("event type"), "{expected}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    let s = trace::open(&dir, TraceFormat::Google2011, &lenient()).expect("lenient");
    assert_eq!(s.skipped_lines, 1);
    let t = s.into_trace().expect("to the end");
    assert_eq!(t.jobs.len(), 100);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_read_error_mid_stream_is_an_item_with_file_and_line_then_the_end() {
    // Google: the second part is opened only when the stream reaches it.
    let dir = scratch("mid-google");
    generated_google(&dir, 2, 100);
    let mut stream =
        trace::open(&dir, TraceFormat::Google2011, &TraceOptions::default()).expect("open");
    let part = dir.join("task_events/part-00001-of-00002.csv");
    fs::write(&part, "1,,1,0,m,1,u,0,0,0.1,0.1,0,0\nnot a line\n").expect("rewrite");
    let items: Vec<Result<_, _>> = (&mut stream).collect();
    let errors: Vec<&TraceError> = items.iter().filter_map(|i| i.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "one error, then the end");
    assert!(
        items.last().is_some_and(Result::is_err),
        "the error is the last item"
    );
    let message = errors[0].to_string();
    assert!(message.contains("part-00001-of-00002.csv:2:"), "{message}");
    assert!(stream.next().is_none());
    let _ = fs::remove_dir_all(&dir);

    // SWF: the second pass reads the file again (past the first read buffer here).
    let dir = scratch("mid-swf");
    let file = dir.join("t.swf");
    let lines: Vec<String> = (1..=10_000).map(|i| swf_line(i, i, 60, 1)).collect();
    let text = format!("; MaxNodes: 4\n{}", lines.concat());
    fs::write(&file, &text).expect("an SWF file");
    let stream = trace::open(&file, TraceFormat::Swf, &TraceOptions::default()).expect("open");
    let bad = swf_line(9_000, 9_000, 60, 1).replacen(" 60 1 ", " 60 x ", 1);
    let changed = text.replacen(&swf_line(9_000, 9_000, 60, 1), &bad, 1);
    fs::write(&file, changed).expect("rewrite");
    match stream.into_trace() {
        Err(e) => assert!(e.to_string().contains("t.swf:9001: column 5"), "{e}"),
        Ok(t) => panic!("expected an error, got {} jobs", t.jobs.len()),
    }
    let _ = fs::remove_dir_all(&dir);
}

/// An SWF job line: id, submit (s), run time (s), processors.
fn swf_line(id: u64, submit_s: u64, run_s: u64, procs: u32) -> String {
    format!("{id} {submit_s} -1 {run_s} {procs} -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any order of lines (sorted, slightly or wildly out of order, repeated ids, equal
    /// submit times) streams as the collecting parser sorts it.
    #[test]
    fn swf_streams_in_submit_order_whatever_the_file_order(
        rows in prop::collection::vec((0u64..40, 0u64..500, 0u64..100, 1u32..4), 0..60),
    ) {
        let dir = scratch(&format!("swf-prop-{}", rows.len()));
        let file = dir.join("p.swf");
        let text: String = std::iter::once("; MaxProcs: 8\n".to_owned())
            .chain(rows.iter().map(|&(id, s, r, p)| swf_line(id, s, r, p)))
            .collect();
        fs::write(&file, &text).expect("write");
        let want = swf::parse(text.as_bytes(), &file.display().to_string(), &TraceOptions::default())
            .expect("parse");
        let got = trace::load(&file, TraceFormat::Swf, &TraceOptions::default()).expect("load");
        prop_assert_eq!(got, want);
        let _ = fs::remove_dir_all(&dir);
    }
}

#[test]
fn tables_out_of_time_order_across_parts_end_the_stream_with_an_error_not_a_misorder() {
    let dir = scratch("disorder");
    // 400 jobs: job 1 lives over an hour, so it comes from the first pass and the stream
    // hands out jobs while it reads the first part.
    generated_google(&dir, 2, 400);
    // A job whose events sit in the second part but happened at the trace's start.
    let part = dir.join("task_events/part-00001-of-00002.csv");
    let text = fs::read_to_string(&part).expect("part 1");
    let early = "601000000,,999,0,m,0,u,0,0,0.1,0.1,0,0\n601000000,,999,0,m,1,u,0,0,0.1,0.1,0,0\n\
                 602000000,,999,0,m,4,u,0,0,0.1,0.1,0,0\n";
    fs::write(&part, format!("{early}{text}")).expect("rewrite");
    // It ends in the job table too, so it is a short job, streamed by the second pass.
    let part = dir.join("job_events/part-00001-of-00002.csv");
    let text = fs::read_to_string(&part).expect("part 1");
    let early = "601000000,,999,0,u,0,n,l\n603000000,,999,4,u,0,n,l\n";
    fs::write(&part, format!("{early}{text}")).expect("rewrite");
    let stream = trace::open(&dir, TraceFormat::Google2011, &TraceOptions::default())
        .expect("the first pass reads it");
    let mut last = None;
    let mut error = None;
    for item in stream {
        match item {
            Ok(job) => {
                let key = (job.submit_at_us, job.id);
                assert!(
                    last.is_none_or(|l| l < key),
                    "out of order: {key:?} after {last:?}"
                );
                last = Some(key);
            }
            Err(e) => error = Some(e),
        }
    }
    match error {
        Some(TraceError::Format { reason, .. }) => {
            assert!(reason.contains("out of time order"), "{reason}");
            assert!(reason.contains("job 999"), "{reason}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    let _ = fs::remove_dir_all(&dir);
}
