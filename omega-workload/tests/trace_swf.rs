//! SWF loader on the hand-written fixture `tests/data/small.swf`: header cluster, gang jobs,
//! unknown fields, dependencies, queues; bad lines, lenient mode, and a no-panic property
//! test.

mod common;

use common::{S, assert_parse_error, data};

use omega_core::{JobId, Resources, UserId};
use omega_workload::trace::{self, MachineSize, TraceError, TraceFormat, TraceOptions, swf};
use proptest::prelude::*;

#[test]
fn fixture_loads_by_the_documented_rules() {
    let path = data("small.swf");
    assert_eq!(TraceFormat::detect(&path).unwrap(), TraceFormat::Swf);
    let t = trace::load(&path, TraceFormat::Swf, &TraceOptions::default()).unwrap();
    let machines = t.machines.as_ref().unwrap();
    assert_eq!(machines.len(), 4, "MaxNodes");
    // 16 processors on 4 nodes; 4 MiB per processor at most (job 2).
    assert!(
        machines
            .iter()
            .all(|m| m.capacity == Resources::new(4_000, 0, 16))
    );
    assert_eq!(
        t.dropped_jobs, 1,
        "job 3 has neither processors nor a duration"
    );
    assert_eq!(t.horizon_us, 310 * S);
    let ids: Vec<u64> = t.jobs.iter().map(|j| j.id.0).collect();
    assert_eq!(ids, vec![1, 2, 4, 5]);
    assert!(t.jobs.iter().all(|j| j.gang));

    let j1 = &t.jobs[0];
    assert_eq!((j1.tasks, j1.task_duration_us), (8, 100 * S));
    assert_eq!(
        j1.task_resources,
        Resources::new(1_000, 0, 2),
        "used memory 2048 KB"
    );
    assert_eq!((&*j1.class, j1.user), ("batch", UserId(7)));

    let j2 = &t.jobs[1];
    assert_eq!(
        (j2.tasks, j2.task_duration_us),
        (4, 300 * S),
        "requested procs and time"
    );
    assert_eq!(j2.task_resources.mem_mib, 4);
    assert_eq!(j2.depends_on, vec![JobId(1)]);
    assert_eq!((&*j2.class, j2.submit_at_us), ("interactive", 10 * S));

    let j4 = &t.jobs[2];
    assert_eq!((&*j4.class, j4.user), ("queue-3", UserId(0)));
    let j5 = &t.jobs[3];
    assert_eq!(&*j5.class, "batch", "unknown queue");
    assert_eq!(j5.depends_on, vec![JobId(2)]);
}

#[test]
fn options_override_the_header_cluster() {
    let opts = TraceOptions {
        node_count: Some(2),
        machine_size: Some(MachineSize {
            cpu_milli: 8_000,
            mem_mib: 1_024,
        }),
        horizon_us: Some(30 * S),
        ..TraceOptions::default()
    };
    let t = trace::load(&data("small.swf"), TraceFormat::Swf, &opts).unwrap();
    let machines = t.machines.unwrap();
    assert_eq!(machines.len(), 2);
    assert_eq!(machines[1].capacity, Resources::new(8_000, 0, 1_024));
    assert_eq!(t.jobs.len(), 3, "job 5 is submitted after the horizon");
}

fn parse(text: &str, lenient: bool) -> Result<trace::Trace, TraceError> {
    swf::parse(
        text.as_bytes(),
        "t.swf",
        &TraceOptions {
            lenient,
            ..TraceOptions::default()
        },
    )
}

const GOOD: &str = "1 0 -1 60 4 -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1\n";

#[test]
fn bad_lines_name_file_line_column_and_expectation() {
    let cases = [
        (
            "2 x -1 60 4 -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1",
            2,
            "an integer >= 0, or -1",
        ),
        (
            "2 0 -1 60 -4 -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1",
            5,
            "an integer >= 0, or -1",
        ),
        (
            "-1 0 -1 60 4 -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1",
            1,
            "a job number",
        ),
        ("2 0 -1 60 4", 6, "18 whitespace-separated fields"),
        (
            "2 0 -1 60 4 -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1 9",
            19,
            "18 whitespace-separated fields",
        ),
        (
            "2 0 -1 60 4 -1 -1 -1 -1 -1 1 3 1 -1 -7 -1 -1 -1",
            15,
            "a queue number",
        ),
        (
            "2 99999999999999 -1 60 4 -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1",
            2,
            "fits in µs",
        ),
        ("; MaxNodes: many", 1, "MaxNodes: a positive integer"),
    ];
    for (line, column, expected) in cases {
        let text = format!("{GOOD}{line}\n");
        assert_parse_error(parse(&text, false), ("t.swf", 2, column), expected, line);
        let t = parse(&text, true).unwrap();
        assert_eq!((t.skipped_lines, t.jobs.len()), (1, 1));
    }
}

/// A folder holding one SWF file loads as that file (what `cargo xtask trace-stats
/// ../shared/traces/swf` does); a folder with none or several is an error naming it.
#[test]
fn a_folder_with_one_swf_file_is_that_file() {
    let dir = std::env::temp_dir().join(format!("omega-swf-folder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("README.md"), "not a trace").unwrap();
    let none = trace::load(&dir, TraceFormat::Swf, &TraceOptions::default()).unwrap_err();
    assert!(none.to_string().contains("found none"), "{none}");
    std::fs::copy(data("small.swf"), dir.join("small.swf")).unwrap();
    assert_eq!(TraceFormat::detect(&dir).unwrap(), TraceFormat::Swf);
    let from_folder = trace::load(&dir, TraceFormat::Swf, &TraceOptions::default()).unwrap();
    let from_file = trace::load(
        &data("small.swf"),
        TraceFormat::Swf,
        &TraceOptions::default(),
    )
    .unwrap();
    assert_eq!(from_folder, from_file);
    std::fs::copy(data("small.swf"), dir.join("again.swf")).unwrap();
    let several = trace::load(&dir, TraceFormat::Swf, &TraceOptions::default()).unwrap_err();
    assert!(
        several
            .to_string()
            .contains("several .swf files (again.swf, small.swf)"),
        "{several}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn absurd_cluster_sizes_are_refused_not_allocated() {
    let err = parse("; MaxNodes: 99999999999\n", false).unwrap_err();
    assert!(matches!(err, TraceError::Format { .. }), "{err:?}");
    let t = parse("; MaxProcs: 99999999999\n; MaxNodes: 2\n", false).unwrap();
    assert_eq!(t.machines.unwrap().len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random and mutated lines never panic; lenient mode loads unless the header asks for
    /// an absurd cluster.
    #[test]
    fn never_panics(
        random in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..4),
        edits in proptest::collection::vec((any::<usize>(), prop::sample::select(b" 0123456789-;:\nx".to_vec())), 0..6),
    ) {
        let mut line = GOOD.as_bytes().to_vec();
        for &(pos, byte) in &edits {
            let pos = pos % line.len();
            line[pos] = byte;
        }
        let mut text = b"; MaxNodes: 8\n".to_vec();
        text.extend(&line);
        for r in &random {
            text.extend(r);
            text.push(b'\n');
        }
        for lenient in [false, true] {
            let opts = TraceOptions { lenient, ..TraceOptions::default() };
            match swf::parse(&text[..], "p.swf", &opts) {
                Ok(t) => prop_assert!(t.jobs.len() + (t.dropped_jobs as usize) <= 2 + random.len() * 60),
                Err(TraceError::Format { .. }) => {}
                Err(e) => prop_assert!(!lenient && e.is_line_error(), "{e}"),
            }
        }
    }
}
