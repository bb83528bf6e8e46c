//! End-to-end tests of an experiment's outputs: the `--quick` form of the default
//! experiment (`configs/experiments/architectures.toml`) run with one and two threads, its
//! files compared byte for byte and snapshotted, sweeps with `--set`, and the report rendered
//! by headless Chromium as a person would see it.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use omega_metrics::dashboard::PANEL_IDS;
use omega_metrics::{NoProgress, ReportMeta, run_plan, write_outputs};
use omega_sim::{ExperimentPlan, PlanOptions, parse_seeds, parse_set};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn quick_plan() -> ExperimentPlan {
    let text =
        std::fs::read_to_string(root().join("configs/experiments/architectures.toml")).unwrap();
    let options = PlanOptions {
        quick: true,
        ..PlanOptions::default()
    };
    ExperimentPlan::from_toml("architectures", &text, &options).unwrap()
}

/// Runs `plan` on `jobs` threads into a fresh folder under the test's temporary directory.
fn run_into(plan: &ExperimentPlan, jobs: usize, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let outcomes = run_plan(plan, jobs, &NoProgress).unwrap();
    let meta = ReportMeta {
        config_path: "configs/experiments/architectures.toml".into(),
        git_revision: "test".into(),
        command: "experiment --quick".into(),
    };
    write_outputs(&dir, plan, &outcomes, 1.0, jobs, &meta).unwrap();
    dir
}

/// The quick run with one thread, made once for all tests of this file.
fn quick_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| run_into(&quick_plan(), 1, "quick-jobs-1"))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn one_and_two_threads_write_the_same_bytes() {
    let two = run_into(&quick_plan(), 2, "quick-jobs-2");
    for name in ["summary.json", "results.csv", "series.csv"] {
        assert!(
            read(quick_dir(), name) == read(&two, name),
            "{name} differs between --jobs 1 and --jobs 2"
        );
    }
    for id in PANEL_IDS {
        let chart = format!("charts/{id}.svg");
        assert_eq!(read(quick_dir(), &chart), read(&two, &chart), "{chart}");
    }
}

#[test]
fn results_csv_is_tidy_and_names_every_run() {
    let csv = read(quick_dir(), "results.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("experiment,run,architecture,machines,scheduler,class,metric,value")
    );
    let plan = quick_plan();
    let mut runs = std::collections::BTreeSet::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 8, "{line}");
        assert_eq!(fields[0], "architectures");
        let value: f64 = fields[7].parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(value.is_finite(), "{line}");
        runs.insert(fields[1].to_owned());
    }
    let planned: std::collections::BTreeSet<String> =
        plan.runs.iter().map(|r| r.id.clone()).collect();
    assert_eq!(runs, planned);
    let summary: serde_json::Value =
        serde_json::from_str(&read(quick_dir(), "summary.json")).unwrap();
    assert_eq!(summary["schema"], omega_metrics::SUMMARY_SCHEMA);
    assert_eq!(summary["runs"].as_array().unwrap().len(), 8);
    // Cost is never in the deterministic files.
    assert!(!read(quick_dir(), "summary.json").contains("wall"));
    let cost: serde_json::Value = serde_json::from_str(&read(quick_dir(), "cost.json")).unwrap();
    assert_eq!(cost["runs"].as_array().unwrap().len(), 8);
}

#[test]
fn a_set_sweep_gives_one_run_per_grid_point_and_seeds_aggregate() {
    let text = r#"
        horizon_us = 600_000_000
        [cluster]
        machines = 20
        [workload]
        load = 0.5
        [architecture]
        schedulers = [{ name = "all", policy = { kind = "batch" } }]
    "#;
    let options = PlanOptions {
        seeds: parse_seeds("1..2").unwrap(),
        set: vec![
            parse_set("cluster.machines=20,30,40").unwrap(),
            parse_set("workload.load=0.3,0.6").unwrap(),
        ],
        ..PlanOptions::default()
    };
    let plan = ExperimentPlan::from_toml("grid", text, &options).unwrap();
    let dir = run_into(&plan, 2, "grid");
    let summary: serde_json::Value = serde_json::from_str(&read(&dir, "summary.json")).unwrap();
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3 * 2 * 2);
    let machines: Vec<u64> = runs
        .iter()
        .map(|r| r["machines"].as_u64().unwrap())
        .collect();
    assert_eq!(machines, [20, 20, 20, 20, 30, 30, 30, 30, 40, 40, 40, 40]);
    let aggregates = summary["aggregates"].as_array().unwrap();
    assert!(!aggregates.is_empty());
    assert!(
        aggregates
            .iter()
            .all(|a| a["seeds"] == 1 || a["seeds"] == 2)
    );
    let throughput: Vec<&serde_json::Value> = aggregates
        .iter()
        .filter(|a| a["metric"] == "throughput_tasks_per_min")
        .filter(|a| a["scheduler"] == "" && a["class"] == "")
        .collect();
    assert_eq!(throughput.len(), 6, "one aggregate per grid point");
    assert!(
        throughput.iter().all(|a| a["seeds"] == 2),
        "two seeds per point"
    );
    let points: std::collections::BTreeSet<String> =
        aggregates.iter().map(|a| a["point"].to_string()).collect();
    assert_eq!(points.len(), 6, "{points:?}");
}

#[test]
fn the_report_holds_every_panel_and_the_resolved_configs() {
    let html = read(quick_dir(), "report.html");
    for id in PANEL_IDS {
        assert!(html.contains(&format!("id=\"panel-{id}\"")), "panel {id}");
        let svg = read(quick_dir(), &format!("charts/{id}.svg"));
        assert!(svg.starts_with("<svg"), "{id}.svg");
    }
    assert!(html.contains("id=\"comparison-table\""));
    for run in quick_plan().runs {
        assert!(html.contains(&run.id), "{}", run.id);
    }
    assert!(
        html.contains("horizon_us = 7200000000"),
        "resolved config shown"
    );
    for link in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(
            !html.contains(link),
            "the report loads {link}...: not self-contained"
        );
    }
}

/// Headless Chromium, as `.ci/run` installs it (`OMEGA_CHROMIUM` names another binary).
fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("OMEGA_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn chromium_run(binary: &Path, profile: &Path, args: &[String]) -> std::process::Output {
    let mut command = std::process::Command::new(binary);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command.args(args);
    let output = command.output().unwrap();
    assert!(output.status.success(), "chromium failed: {output:?}");
    output
}

/// Renders the quick report as a browser does: every panel is in the DOM with its chart, and
/// the screenshot is a picture, not one colour. Fails (does not skip) in CI without Chromium.
#[test]
fn chromium_renders_every_panel() {
    let Some(binary) = chromium() else {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !ci,
            "CI needs Chromium for the report test: .ci/run installs it"
        );
        println!(
            "SKIPPED chromium_renders_every_panel: no chromium on PATH (apt-get install chromium)"
        );
        return;
    };
    let dir = quick_dir();
    let report = dir.join("report.html").canonicalize().unwrap();
    let url = format!("file://{}", report.display());
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium-profile");
    let dom = chromium_run(&binary, &profile, &["--dump-dom".into(), url.clone()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for id in PANEL_IDS {
        let start = dom
            .find(&format!("id=\"panel-{id}\""))
            .unwrap_or_else(|| panic!("panel {id} is not in the rendered DOM"));
        let section = &dom[start..];
        let end = section.find("</section>").unwrap();
        assert!(section[..end].contains("<svg"), "panel {id} has no chart");
    }
    let shot = dir.join("report.png");
    chromium_run(
        &binary,
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,2400".into(),
            url,
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let bytes = &pixels[..info.buffer_size()];
    let channels = info.color_type.samples();
    let colours: std::collections::BTreeSet<&[u8]> = bytes.chunks(channels).collect();
    assert!(
        colours.len() > 16,
        "the screenshot has {} colours: the report did not render",
        colours.len()
    );
    // Most of the picture is drawn on white, but not all of it.
    let white = bytes
        .chunks(channels)
        .filter(|c| c.iter().all(|&b| b > 250))
        .count();
    let total = bytes.len() / channels;
    assert!(
        white < total * 99 / 100,
        "{white} of {total} pixels are white"
    );
}

/// The quick run's numbers, reviewed: a change to the model or to a metric shows here as a
/// diff of named rows.
#[test]
fn quick_outputs_snapshot() {
    insta::assert_snapshot!("quick_results_csv", read(quick_dir(), "results.csv"));
    // summary.json's metric rows are results.csv's (checked below); the snapshot keeps its
    // shape, the runs and their tallies, with each list of rows as its length.
    let mut summary: serde_json::Value =
        serde_json::from_str(&read(quick_dir(), "summary.json")).unwrap();
    let csv_rows = read(quick_dir(), "results.csv").lines().count() - 1;
    let mut json_rows = 0;
    for run in summary["runs"].as_array_mut().unwrap() {
        let n = run["metrics"].as_array().unwrap().len();
        json_rows += n;
        run["metrics"] = serde_json::json!(format!("{n} rows"));
    }
    assert_eq!(
        json_rows, csv_rows,
        "summary.json and results.csv hold the same rows"
    );
    let n = summary["aggregates"].as_array().unwrap().len();
    summary["aggregates"] = serde_json::json!(format!("{n} rows"));
    insta::assert_snapshot!(
        "quick_summary_json",
        serde_json::to_string_pretty(&summary).unwrap()
    );
}
