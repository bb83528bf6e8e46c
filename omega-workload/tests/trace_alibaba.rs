//! Alibaba GPU 2023 loader on the hand-written fixture in `tests/data/alibaba/`: cluster,
//! whole and fractional GPUs, GPU-type constraints, QoS classes, lifetimes; bad lines,
//! lenient mode, and a no-panic property test.

mod common;

use common::{S, assert_parse_error, data};

use omega_core::{JobId, Priority, Resources};
use omega_workload::trace::{self, TraceError, TraceFormat, TraceOptions, alibaba};
use proptest::prelude::*;

#[test]
fn fixture_loads_by_the_documented_rules() {
    let path = data("alibaba");
    assert_eq!(
        TraceFormat::detect(&path).unwrap(),
        TraceFormat::AlibabaGpu2023
    );
    let pods = path.join("openb_pod_list_test.csv");
    assert_eq!(
        TraceFormat::detect(&pods).unwrap(),
        TraceFormat::AlibabaGpu2023
    );
    let t = trace::load(&path, TraceFormat::AlibabaGpu2023, &TraceOptions::default()).unwrap();
    assert_eq!(
        t,
        trace::load(&pods, TraceFormat::AlibabaGpu2023, &TraceOptions::default()).unwrap()
    );

    let machines = t.machines.as_ref().unwrap();
    assert_eq!(machines.len(), 4);
    assert_eq!(machines[0].type_name, "cpu");
    assert_eq!(machines[0].capacity, Resources::new(32_000, 0, 131_072));
    assert_eq!(machines[1].capacity, Resources::new(48_000, 2_000, 196_608));
    assert!(machines[1].has_label("gpu=T4"));
    assert!(machines[2].has_label("gpu=V100M16"));
    assert!(machines[3].has_label("gpu=V100M32"));
    assert!(machines.iter().all(|m| m.validate().is_ok()));

    assert_eq!(t.horizon_us, 500 * S);
    assert!(t.prefill.is_empty());
    let ids: Vec<u64> = t.jobs.iter().map(|j| j.id.0).collect();
    assert_eq!(ids, vec![0, 4, 1, 2, 3], "creation order");
    let job = |id| t.jobs.iter().find(|j| j.id == JobId(id)).unwrap();

    let p0 = job(0);
    assert_eq!(
        (p0.tasks, p0.task_resources),
        (1, Resources::new(4_000, 0, 8_192))
    );
    assert_eq!((&*p0.class, p0.priority), ("BE", Priority(0)));
    assert_eq!(p0.task_duration_us, 100 * S);

    let p1 = job(1);
    assert_eq!(p1.task_resources.gpu_milli, 460, "a fraction of one GPU");
    assert_eq!(p1.constraints.required_labels, vec!["gpu=T4".to_owned()]);
    assert_eq!(
        (p1.submit_at_us, p1.task_duration_us),
        (10 * S, 480 * S),
        "no deletion: horizon"
    );
    assert_eq!(p1.priority, Priority(2));

    let p2 = job(2);
    assert_eq!(p2.task_resources.gpu_milli, 8_000);
    assert!(p2.constraints.required_labels.is_empty());
    assert_eq!(
        p2.constraints.required_any_labels,
        vec![vec!["gpu=V100M16".to_owned(), "gpu=V100M32".to_owned()]]
    );
    // Either V100 model will do; the T4 machine will not.
    assert!(!p2.constraints.allow(&machines[1]));
    assert!(p2.constraints.allow(&machines[2]) && p2.constraints.allow(&machines[3]));
    assert_eq!(
        (&*p2.class, p2.priority, p2.task_duration_us),
        ("Guaranteed", Priority(3), 460 * S)
    );

    let p3 = job(3);
    assert_eq!(
        p3.task_resources.gpu_milli, 1_000,
        "num_gpu 1 with gpu_milli 1000: whole"
    );
    assert_eq!(
        p3.task_duration_us,
        10 * S,
        "never scheduled: from creation"
    );

    let p4 = job(4);
    assert_eq!(p4.task_resources.gpu_milli, 2_000);
    assert_eq!(p4.task_duration_us, 195 * S);
}

const HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";
const GOOD: &str = "p0,4000,8192,1,460,T4,LS,Running,10,100,20\n";

fn parse(pods: &str, lenient: bool) -> Result<trace::Trace, TraceError> {
    alibaba::parse::<&[u8]>(
        None,
        pods.as_bytes(),
        "pods.csv",
        &TraceOptions {
            lenient,
            ..TraceOptions::default()
        },
    )
}

#[test]
fn bad_lines_name_file_line_column_and_expectation() {
    let cases = [
        ("p,x,1,0,0,,LS,Running,0,1,0", 2, "cpu_milli"),
        ("p,1,1,9,0,,LS,Running,0,1,0", 4, "num_gpu: at most 8"),
        (
            "p,1,1,1,1200,,LS,Running,0,1,0",
            5,
            "gpu_milli: at most 1000",
        ),
        ("p,1,1,0,0,,,Running,0,1,0", 7, "qos"),
        ("p,1,1,0,0,,LS,Running,,1,0", 9, "creation_time"),
        (
            "p,1,1,0,0,,LS,Running,5,1,3",
            10,
            "deletion_time: not before",
        ),
        ("p,1,1,0,0,,LS,Running,0,1,-3", 11, "scheduled_time"),
    ];
    for (line, column, expected) in cases {
        let text = format!("{HEADER}{GOOD}{line}\n");
        assert_parse_error(parse(&text, false), ("pods.csv", 3, column), expected, line);
        let t = parse(&text, true).unwrap();
        assert_eq!((t.skipped_lines, t.jobs.len()), (1, 1));
    }
    let err = parse("name,cpu_milli\np,1\n", false).unwrap_err();
    assert!(
        err.to_string()
            .contains("a header with a column named memory_mib"),
        "{err}"
    );
    assert!(
        parse("", true).is_err(),
        "an empty pod list has no header, even when lenient"
    );
}

/// A row with fewer or more fields than the header is an error naming the file, the line
/// and the first missing or extra column, in the pod list and in the node list.
#[test]
fn rows_of_the_wrong_width_are_errors_with_file_and_line() {
    let short = "p1,4000,8192,1,460,T4,LS,Running,10,100";
    let long = "p1,4000,8192,1,460,T4,LS,Running,10,100,20,extra";
    for (line, column) in [(short, 11), (long, 12)] {
        let text = format!("{HEADER}{GOOD}{line}\n");
        assert_parse_error(
            parse(&text, false),
            ("pods.csv", 3, column),
            "11 comma-separated fields, as the header has",
            line,
        );
        let t = parse(&text, true).unwrap();
        assert_eq!((t.skipped_lines, t.jobs.len()), (1, 1), "{line}");
    }
    let nodes_header = "sn,cpu_milli,memory_mib,gpu,model\n";
    for (line, column) in [("n1,32000,262144,2", 5), ("n1,32000,262144,2,T4,x", 6)] {
        let nodes = format!("{nodes_header}n0,32000,262144,2,T4\n{line}\n");
        let got = alibaba::parse(
            Some((nodes.as_bytes(), "nodes.csv".to_owned())),
            format!("{HEADER}{GOOD}").as_bytes(),
            "pods.csv",
            &TraceOptions::default(),
        );
        assert_parse_error(
            got,
            ("nodes.csv", 3, column),
            "5 comma-separated fields",
            line,
        );
    }
}

#[test]
fn gpu_spec_labels_are_canonical() {
    assert_eq!(alibaba::gpu_spec_labels("B|A|B"), ["gpu=A", "gpu=B"]);
    assert!(alibaba::gpu_spec_labels(" | ").is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random and mutated lines never panic, in the pod list or the node list.
    #[test]
    fn never_panics(
        random in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..4),
        edits in proptest::collection::vec((any::<usize>(), prop::sample::select(b",0123456789|-\n\"xA ".to_vec())), 0..6),
    ) {
        let mut line = GOOD.as_bytes().to_vec();
        for &(pos, byte) in &edits {
            let pos = pos % line.len();
            line[pos] = byte;
        }
        let mut text = HEADER.as_bytes().to_vec();
        text.extend(&line);
        for r in &random {
            text.extend(r);
            text.push(b'\n');
        }
        let nodes = b"sn,cpu_milli,memory_mib,gpu,model\nn0,1,2,3,T4\n".to_vec();
        let mut nodes_mut = nodes.clone();
        nodes_mut.extend(&line);
        for lenient in [false, true] {
            let opts = TraceOptions { lenient, ..TraceOptions::default() };
            let r = alibaba::parse(Some((&nodes_mut[..], "n.csv".to_owned())), &text[..], "p.csv", &opts);
            match r {
                Ok(t) => prop_assert!(t.jobs.len() <= 1 + random.len()),
                Err(e) => {
                    prop_assert!(!lenient, "lenient mode failed: {e}");
                    prop_assert!(e.is_line_error());
                }
            }
        }
    }
}

const NODES_ALL: &str = "sn,cpu_milli,memory_mib,gpu,model\n\
    node-a,32000,262144,0,\n\
    node-b,96000,786432,8,V100M16\n";
const NODES_GPU: &str = "sn,cpu_milli,memory_mib,gpu,model\n\
    node-b,96000,786432,8,V100M16\n";
const POD_HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,\
    pod_phase,creation_time,deletion_time,scheduled_time\n";

/// A made-up folder in Alibaba's released `csv/` layout: `pod_lists` are (file name,
/// number of pods) pairs, beside the two released node lists.
fn released_layout(test: &str, pod_lists: &[(&str, usize)]) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("alibaba-layout")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a test folder under the target dir");
    std::fs::write(dir.join("openb_node_list_all_node.csv"), NODES_ALL)
        .expect("write the node list");
    std::fs::write(dir.join("openb_node_list_gpu_node.csv"), NODES_GPU)
        .expect("write the node list");
    for (name, pods) in pod_lists {
        let mut text = POD_HEADER.to_owned();
        for i in 0..*pods {
            text.push_str(&format!(
                "pod-{i},1000,1024,1,500,,BE,Running,{i},{},{i}\n",
                i + 100
            ));
        }
        std::fs::write(dir.join(name), text).expect("write a pod list");
    }
    dir
}

fn machines_and_pods(dir: &std::path::Path, options: &TraceOptions) -> (usize, usize) {
    let t =
        trace::load(dir, TraceFormat::AlibabaGpu2023, options).expect("the made-up folder loads");
    (t.machines.map_or(0, |m| m.len()), t.jobs.len())
}

#[test]
fn released_layout_reads_the_default_pod_list_and_the_all_node_list() {
    let dir = released_layout(
        "defaults",
        &[
            ("openb_pod_list_default.csv", 3),
            ("openb_pod_list_gpushare100.csv", 5),
        ],
    );
    let (nodes, pods) = alibaba::files(&dir, &TraceOptions::default()).unwrap();
    assert_eq!(pods, dir.join("openb_pod_list_default.csv"));
    assert_eq!(nodes, Some(dir.join("openb_node_list_all_node.csv")));
    assert_eq!(machines_and_pods(&dir, &TraceOptions::default()), (2, 3));
}

#[test]
fn options_name_the_pod_list_and_the_node_list_and_gpu_nodes_only_filters() {
    let dir = released_layout(
        "named",
        &[
            ("openb_pod_list_default.csv", 3),
            ("openb_pod_list_gpushare100.csv", 5),
        ],
    );
    let named = TraceOptions {
        pod_list: Some("openb_pod_list_gpushare100.csv".into()),
        node_list: Some("openb_node_list_gpu_node.csv".into()),
        ..TraceOptions::default()
    };
    assert_eq!(machines_and_pods(&dir, &named), (1, 5));
    let gpu_only = TraceOptions {
        gpu_nodes_only: true,
        ..TraceOptions::default()
    };
    assert_eq!(machines_and_pods(&dir, &gpu_only), (1, 3));
    // The same options from an experiment file's TOML.
    let toml_options: TraceOptions =
        toml::from_str("pod_list = \"openb_pod_list_gpushare100.csv\"\ngpu_nodes_only = true")
            .unwrap();
    assert_eq!(machines_and_pods(&dir, &toml_options), (1, 5));
}

#[test]
fn a_missing_named_file_or_an_ambiguous_folder_is_an_error_naming_it() {
    let dir = released_layout(
        "ambiguous",
        &[
            ("openb_pod_list_gpushare20.csv", 1),
            ("openb_pod_list_gpushare100.csv", 1),
        ],
    );
    let err = alibaba::files(&dir, &TraceOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("openb_pod_list_gpushare20.csv")
            && text.contains("openb_pod_list_default.csv"),
        "{text}"
    );
    let missing = TraceOptions {
        pod_list: Some("openb_pod_list_typo.csv".into()),
        ..TraceOptions::default()
    };
    let err = alibaba::files(&dir, &missing).unwrap_err().to_string();
    assert!(err.contains("openb_pod_list_typo.csv"), "{err}");
}
