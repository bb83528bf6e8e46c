//! Bad input is a clear error or a reported count, never silent loss: config traps
//! (scheduler classes, `count`, presets with classes of one's own, absurd sizes and
//! horizons, `load` on a trace), TOML errors in the config's language, and trace replays
//! that build the cell the trace describes and say what they built.
//!
//! The test on the shared NASA log needs `<repo>/../shared/traces`; where it is absent it
//! passes with a `SKIPPED` line on the terminal, unless `OMEGA_REQUIRE_SHARED=1` (CI).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use omega_sim::{Experiment, build, build_input};

const BATCH: &str = "[[architecture.schedulers]]\nname = \"batch\"\nclasses = [\"batch\"]\npolicy = { kind = \"batch\" }\n";
const SERVICE: &str = "[[architecture.schedulers]]\nname = \"service\"\nclasses = [\"service\"]\npolicy = { kind = \"service\" }\n";
const ALL: &str = "[[architecture.schedulers]]\nname = \"all\"\npolicy = { kind = \"batch\" }\n";

/// A seed-preset experiment on 50 machines with `extra` top-level lines and `schedulers`.
fn seed(extra: &str, kind: &str, schedulers: &str) -> String {
    format!(
        "horizon_us = 600_000_000\n{extra}\n[cluster]\nmachines = 50\n\
         [architecture]\nkind = \"{kind}\"\n{schedulers}"
    )
}

/// An experiment whose `[workload]` table is `workload`, with one scheduler for all.
fn with_workload(workload: &str) -> String {
    format!("horizon_us = 600_000_000\n[workload]\n{workload}\n[architecture]\n{ALL}")
}

/// One job class of the user's own, arriving every 100 s exactly.
const OWN_CLASS: &str = "[[workload.classes]]\nname = \"batch\"\n\
    arrivals = { constant = { interval_s = 100 } }\ntasks = { constant = 2 }\n\
    duration_s = { constant = 50 }\ncpu_cores = { constant = 1 }\nmem_gib = { constant = 1 }\n";

fn error(text: &str) -> String {
    match Experiment::from_toml(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn config_traps_are_errors_naming_the_key_and_what_is_allowed() {
    let two_batch = BATCH
        .replace("\"batch\"]", "\"batch\", \"service\"]")
        .replace("name = \"batch\"", "name = \"batch2\"");
    let counted = BATCH.replace("classes", "count = 2\nclasses");
    let big = seed("", "omega", &format!("{BATCH}{SERVICE}"))
        .replace("machines = 50", "machines = 10_000_000");
    let trace = "trace = \"swf\"\npath = \"no/such/file.swf\"\n";
    let cases: Vec<(&str, String)> = vec![
        (
            "a scheduler class no job has",
            seed(
                "",
                "omega",
                &format!("{BATCH}{}", SERVICE.replace("\"service\"]", "\"servce\"]")),
            ),
        ),
        ("a job class no scheduler takes", seed("", "omega", BATCH)),
        (
            "a class two schedulers take",
            seed("", "omega", &format!("{BATCH}{two_batch}")),
        ),
        (
            "two schedulers take every other class",
            seed(
                "",
                "omega",
                &format!("{ALL}{}", ALL.replace("\"all\"", "\"rest\"")),
            ),
        ),
        (
            "count outside Omega",
            seed("", "two-level", &format!("{counted}{SERVICE}")),
        ),
        ("ten million machines", big),
        (
            "a horizon of u64::MAX",
            seed("", "omega", &format!("{BATCH}{SERVICE}")).replace(
                "horizon_us = 600_000_000",
                "horizon_us = 18446744073709551615",
            ),
        ),
        (
            "load on a trace",
            with_workload(&format!("{trace}load = 0.5")),
        ),
        (
            "classes on a trace",
            with_workload(&format!("{trace}{OWN_CLASS}")),
        ),
        (
            "arrival_scale without a trace",
            with_workload("arrival_scale = 2.0"),
        ),
        (
            "arrival_scale out of range",
            with_workload(&format!("{trace}arrival_scale = 0.0")),
        ),
        (
            "tasks = 50",
            with_workload(&OWN_CLASS.replace("tasks = { constant = 2 }", "tasks = 50")),
        ),
        (
            "arrivals = { constant = 2 }",
            with_workload(&OWN_CLASS.replace(
                "arrivals = { constant = { interval_s = 100 } }",
                "arrivals = { constant = 2 }",
            )),
        ),
    ];
    let messages: Vec<String> = cases
        .iter()
        .map(|(name, text)| format!("{name}: {}", error(text)))
        .collect();
    insta::assert_snapshot!(messages.join("\n---\n"));
}

/// `machines = 10_000_000` used to build 7 GB of machines before an unrelated error: the
/// bound is checked first, so the error comes at once.
#[test]
fn a_huge_cell_fails_before_anything_is_built() {
    let text = seed("", "omega", BATCH).replace("machines = 50", "machines = 10_000_000");
    let start = Instant::now();
    let e = error(&text);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(
        e.contains("cluster.machines") && e.contains("allowed: 1 to 1000000"),
        "{e}"
    );
}

/// With classes of one's own, the uniform preset's `load = 0.7` no longer rescales them:
/// a class arriving every 100 s arrives every 100 s; `load` given by the user still works.
#[test]
fn own_classes_arrive_as_written_unless_a_load_is_given() {
    let own = format!("preset = \"uniform\"\n{OWN_CLASS}");
    let e = Experiment::from_toml(&with_workload(&own)).unwrap();
    assert_eq!(e.workload.spec().load, None);
    assert_eq!(e.workload.spec().total_mean_interarrival_s, None);
    let submits: Vec<u64> = build_input(&e)
        .unwrap()
        .jobs
        .take(5)
        .map(|j| j.submit_at_us)
        .collect();
    let gaps: Vec<u64> = submits.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, vec![100_000_000; 4], "{submits:?}");

    let loaded = with_workload(&format!("preset = \"uniform\"\nload = 0.5\n{OWN_CLASS}"));
    let e = Experiment::from_toml(&loaded).unwrap();
    assert_eq!(e.workload.spec().load, Some(0.5));
    let first: Vec<u64> = build_input(&e)
        .unwrap()
        .jobs
        .take(2)
        .map(|j| j.submit_at_us)
        .collect();
    assert_ne!(first[1] - first[0], 100_000_000, "the user's load rescales");
}

/// A temporary folder for this test process.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omega-bad-input-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// An SWF log of a 4-node, 8-processor machine with two queues and three jobs submitted at
/// 0, 30 and 61 s.
const SWF: &str = "; MaxNodes: 4\n; MaxProcs: 8\n; Queue: 0 interactive\n; Queue: 1 batch\n\
    1 0 -1 60 4 -1 -1 -1 -1 -1 1 3 1 -1 1 -1 -1 -1\n\
    2 30 -1 60 2 -1 -1 -1 -1 -1 1 3 1 -1 1 -1 -1 -1\n\
    3 61 -1 60 1 -1 -1 -1 -1 -1 1 3 1 -1 0 -1 -1 -1\n";

fn swf_experiment(path: &Path, workload: &str, schedulers: &str) -> Experiment {
    let text = format!(
        "horizon_us = 600_000_000\n[workload]\ntrace = \"swf\"\npath = {:?}\n{workload}\n\
         [architecture]\n{schedulers}",
        path.display().to_string()
    );
    Experiment::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// An SWF replay builds the nodes its header gives (8 processors on 4 nodes: 2 cores
/// each), not nodes the size of the experiment cluster's largest machine (16 cores), and
/// says so; `options.machine_size` overrides the node size. A folder holding the file works.
#[test]
fn an_swf_replay_builds_the_header_cell_and_says_what_it_built() {
    let dir = temp_dir("swf-cell");
    let file = dir.join("small.swf");
    std::fs::write(&file, SWF).unwrap();
    let built = build(&swf_experiment(&file, "", ALL)).unwrap();
    let d = &built.description;
    assert_eq!(d.cell_source, "the trace's SWF header");
    assert_eq!((d.machines, d.capacity.cpu_milli), (4, 8_000));
    let caps: Vec<u64> = built
        .input
        .cell
        .machines()
        .map(|m| m.spec.capacity.cpu_milli)
        .collect();
    assert_eq!(caps, vec![2_000; 4]);
    let t = d.trace.as_ref().unwrap();
    assert_eq!((t.jobs, t.tasks, t.machine_size), (3, 7, None));
    let text = d.to_string();
    assert!(
        text.contains("cell: 4 machines from the trace's SWF header: 4 × node (2000 cpu_milli"),
        "{text}"
    );
    assert!(
        text.contains("trace: swf, 3 jobs (7 tasks), arrival scale 1;"),
        "{text}"
    );

    let sized = "[workload.options]\nmachine_size = { cpu_milli = 4_000, mem_mib = 1_024 }";
    let built = build(&swf_experiment(&file, sized, ALL)).unwrap();
    assert_eq!(built.description.capacity.cpu_milli, 16_000);

    let from_folder = build(&swf_experiment(&dir, "", ALL)).unwrap();
    assert_eq!(from_folder.description.machines, 4);

    // `[cluster]` sizes would be ignored beside the header's cell: an error says so.
    let mut sized_cluster = swf_experiment(&file, "", ALL);
    sized_cluster.cluster.machines = Some(1_000);
    let e = build(&sized_cluster).unwrap_err().to_string();
    assert!(
        e.contains(
            "invalid cluster.machines: this swf trace brings its own cell (the trace's SWF header)"
        ),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `arrival_scale` divides a trace's inter-arrival times (2: twice as fast), in integers.
#[test]
fn arrival_scale_divides_a_traces_inter_arrival_times() {
    let dir = temp_dir("swf-scale");
    let file = dir.join("small.swf");
    std::fs::write(&file, SWF).unwrap();
    let submits = |workload: &str| -> Vec<u64> {
        let built = build(&swf_experiment(&file, workload, ALL)).unwrap();
        built.input.jobs.map(|j| j.submit_at_us / 1_000).collect()
    };
    assert_eq!(submits(""), vec![0, 30_000, 61_000]);
    assert_eq!(submits("arrival_scale = 2.0"), vec![0, 15_000, 30_500]);
    assert_eq!(submits("arrival_scale = 0.5"), vec![0, 60_000, 122_000]);
    let built = build(&swf_experiment(&file, "arrival_scale = 2.0", ALL)).unwrap();
    assert_eq!(built.description.trace.unwrap().arrival_scale, 2.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A trace's classes are known once it is read: a class no scheduler takes is an error
/// naming it and the trace's classes, not a run where those jobs are unschedulable.
#[test]
fn a_trace_class_no_scheduler_takes_is_an_error() {
    let dir = temp_dir("swf-classes");
    let file = dir.join("small.swf");
    std::fs::write(&file, SWF).unwrap();
    let e = build(&swf_experiment(&file, "", BATCH))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no scheduler takes job class \"interactive\" (the trace's classes are: batch, interactive)"),
        "{e}"
    );
    let typo = BATCH.replace("\"batch\"]", "\"interactiv\"]");
    let e = build(&swf_experiment(&file, "", &typo))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no job class is named \"interactiv\""), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The shared NASA iPSC/860 log: 128 nodes of one processor (the machine's 128 cores),
/// where the replay used to build 128 nodes of 16 cores and run the log at 1/16 of its load.
#[test]
fn the_nasa_log_runs_on_its_own_128_processors() {
    let Some(path) = shared("swf") else {
        return;
    };
    let built = build(&swf_experiment(&path, "", ALL)).unwrap();
    let d = &built.description;
    assert_eq!((d.machines, d.capacity.cpu_milli), (128, 128_000));
    assert_eq!(d.trace.as_ref().map(|t| t.jobs), Some(500));
}

/// The checked-in replay of Google's part 0 says what it cannot replay as is: 132,982
/// tasks running at the start (censored), 71 of duration 0, 5 job records without tasks,
/// and a prefill asking 151% of the 12,500-machine cell's CPU (so 37,709 of its tasks
/// cannot be placed; the engine counts those).
#[test]
fn the_google_part_reports_what_it_cannot_replay_as_is() {
    let Some(trace) = shared("google-2011") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text =
        std::fs::read_to_string(root.join("configs/experiments/google-2011-part0.toml")).unwrap();
    let mut e = Experiment::from_toml(&text).unwrap();
    e.workload.path = Some(trace);
    let d = build(&e).unwrap().description;
    assert_eq!(
        (d.cell_source.as_str(), d.machines),
        ("the experiment's [cluster]", 12_500)
    );
    assert_eq!((d.prefill_jobs, d.prefill_tasks), (3_976, 144_321));
    assert_eq!(
        (d.prefill_requested.cpu_milli, d.capacity.cpu_milli),
        (196_588_520, 130_000_000)
    );
    let t = d.trace.as_ref().unwrap();
    assert_eq!(
        (
            t.censored_tasks,
            t.zero_duration_tasks,
            t.dropped_jobs,
            t.skipped_lines
        ),
        (132_982, 71, 5, 0)
    );
    assert!(d.to_string().contains("151.2% of the cell's CPU"), "{d}");
}

/// `<repo>/../shared/traces/<name>`, or `None` with a `SKIPPED` line on the terminal (a
/// panic under `OMEGA_REQUIRE_SHARED=1`).
fn shared(name: &str) -> Option<PathBuf> {
    use std::io::Write;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/traces")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("OMEGA_REQUIRE_SHARED").is_ok_and(|v| v == "1") {
        panic!("OMEGA_REQUIRE_SHARED=1 but {} is missing", path.display());
    }
    // Written to the terminal itself: the harness captures only `print!`/`eprint!`.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {}: {} is absent (OMEGA_REQUIRE_SHARED=1 makes this a failure, see README)",
        std::thread::current().name().unwrap_or("a test"),
        path.display()
    );
    None
}

/// A trace that cannot be read to the end during the run (here: rewritten with a bad line
/// after the loader checked it) fails the run with the file and line, never a silent
/// stop: the stream ends there and `BuiltInput::errors` says why.
#[test]
fn a_trace_read_error_during_the_run_fails_it_with_file_and_line() {
    use omega_sim::{CountingRecorder, Simulation};
    let dir = temp_dir("mid-run");
    let file = dir.join("t.swf");
    let line = |i: u64, procs: &str| {
        format!("{i} {i} -1 60 {procs} -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1\n")
    };
    // Past the loader's first read buffer (256 KiB), so the run reads the rewrite.
    let text: String = std::iter::once("; MaxNodes: 4\n".to_owned())
        .chain((1..=10_000).map(|i| line(i, "1")))
        .collect();
    std::fs::write(&file, &text).unwrap();
    let e = Experiment::from_toml(&format!(
        "horizon_us = 20_000_000_000\n[workload]\ntrace = \"swf\"\npath = \"{}\"\n\
         [architecture]\n{ALL}",
        file.display()
    ))
    .unwrap();
    let built = build(&e).expect("the trace is well formed when loaded");
    let broken = text.replacen(&line(9_000, "1"), &line(9_000, "x"), 1);
    std::fs::write(&file, broken).unwrap();
    let mut rec = CountingRecorder::default();
    let sim = Simulation::new(e.sim_config(), built.input, &mut rec).unwrap();
    let summary = sim.run();
    let err = built
        .errors
        .check()
        .expect_err("the run must fail")
        .to_string();
    assert!(err.contains("workload.path"), "{err}");
    assert!(err.contains("t.swf:9001: column 5"), "{err}");
    assert!(rec.jobs_submitted < 9_000, "{summary:?}");
    // Unchanged, the same run passes the check.
    std::fs::write(&file, &text).unwrap();
    let built = build(&e).unwrap();
    let mut rec = CountingRecorder::default();
    Simulation::new(e.sim_config(), built.input, &mut rec)
        .unwrap()
        .run();
    built.errors.check().expect("read to the end");
    assert_eq!(rec.jobs_submitted, 10_000);
    let _ = std::fs::remove_dir_all(&dir);
}
