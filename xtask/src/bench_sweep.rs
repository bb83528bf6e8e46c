//! `cargo xtask bench-sweep [--jobs N] [--against REV] [--filter SUBSTR] [--config-dir DIR]`:
//! runs every experiment file of `configs/bench/` (the paper-style sweep) end to end, as a
//! user does — the release `xtask experiment --config FILE --out TMPDIR`, outputs included —
//! and prints per simulation its wall time, events/s, task starts+ends per second and the
//! process's peak memory, and the total.
//!
//! With `--against REV` it also builds REV in a temporary worktree ([`revision`]) and runs
//! the same files with both builds interleaved (per file: REV, then this checkout), then
//! prints both builds' figures and the ratios old/new. Machines here are shared and noisy:
//! only ratios measured in one run mean much.
//!
//! Wall time and memory are measured from outside the runner ([`measure`]); events and
//! task counts come from the runner's own outputs ([`outputs`]).

mod measure;
mod outputs;
mod revision;
mod table;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use measure::{MeasureArgs, wrapper as measure_wrapper};
use revision::{Build, Runner};
use table::Measurement;

/// Arguments of `cargo xtask bench-sweep`.
#[derive(Debug, clap::Args)]
pub struct BenchSweepArgs {
    /// Simulations run at once (default 1: one after another).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Also build this git revision (in a temporary worktree) and run the sweep with both
    /// builds interleaved, printing the ratios old/new.
    #[arg(long, value_name = "REV")]
    pub against: Option<String>,
    /// Only the files whose name contains this.
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Option<String>,
    /// The folder of experiment files (default `configs/bench/`).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

/// What can go wrong in a sweep.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or program could not be read, written or started.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or program.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No experiment file matched.
    #[error("no experiment files (*.toml){filter} in {}", dir.display())]
    NoFiles {
        /// The folder.
        dir: PathBuf,
        /// ` matching "…"` when `--filter` was given.
        filter: String,
    },
    /// `--against` names no commit.
    #[error("`{rev}` is not a revision of this repository: {detail}")]
    BadRevision {
        /// What was given.
        rev: String,
        /// Why.
        detail: String,
    },
    /// The revision has no way to run an experiment file.
    #[error(
        "revision {rev} has neither `cargo xtask experiment` (xtask/src/experiment.rs) nor \
         the `run` example (omega-sim/examples/run.rs): it cannot run experiment files"
    )]
    NoRunner {
        /// The revision.
        rev: String,
    },
    /// A build or helper command failed.
    #[error("{what} failed ({status}):\n{stderr_tail}")]
    Command {
        /// The command.
        what: String,
        /// Its exit status.
        status: String,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// A simulation exited with an error.
    #[error(
        "{file} with {build}: the simulation failed ({status}); its stderr ends:\n{stderr_tail}"
    )]
    Simulation {
        /// The experiment file.
        file: String,
        /// The build.
        build: String,
        /// Its exit status.
        status: String,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// A simulation's outputs could not be read.
    #[error("{file} with {build}: {reason}")]
    Output {
        /// The experiment file.
        file: String,
        /// The build.
        build: String,
        /// What is wrong.
        reason: String,
    },
}

/// One experiment file of the sweep.
#[derive(Clone, Debug)]
struct SweepFile {
    name: String,
    path: PathBuf,
}

/// Runs the sweep and prints its table.
pub fn run(args: BenchSweepArgs) -> Result<(), Box<dyn std::error::Error>> {
    let root = crate::experiment::workspace_root();
    let cwd = std::env::current_dir()?;
    let dir = match &args.config_dir {
        Some(d) => cwd.join(d),
        None => root.join("configs").join("bench"),
    };
    let files = sweep_files(&dir, args.filter.as_deref())?;
    let jobs = usize::from(args.jobs);
    let current = Build::current(&root)?;
    match &args.against {
        None => {
            let started = std::time::Instant::now();
            let results = run_all(&[&current], &files, jobs)?;
            let elapsed_s = started.elapsed().as_secs_f64();
            let rows: Vec<(String, Measurement)> = files
                .iter()
                .zip(results)
                .map(|(f, r)| (f.name.clone(), r[0]))
                .collect();
            println!("{} simulation(s) with {}:", rows.len(), current.label);
            print!("{}", table::render_single(&rows));
            // With --jobs N the summed wall overstates what the sweep took: say both.
            println!(
                "the sweep took {elapsed_s:.2} s from first start to last end with {jobs} at once \
                 (summed wall / elapsed = {:.2})",
                table::total(&rows.iter().map(|r| r.1).collect::<Vec<_>>()).wall_s
                    / elapsed_s.max(1e-9)
            );
        }
        Some(rev) => {
            let old = revision::prepare(&root, rev)?;
            let results = run_all(&[&old.build, &current], &files, jobs)?;
            let rows: Vec<(String, Measurement, Measurement)> = files
                .iter()
                .zip(results)
                .map(|(f, r)| (f.name.clone(), r[0], r[1]))
                .collect();
            println!(
                "{} simulation(s), interleaved: old = {} ({}), new = {}",
                rows.len(),
                old.build.label,
                runner_note(old.build.runner),
                current.label
            );
            print!("{}", table::render_comparison(&rows));
        }
    }
    Ok(())
}

fn runner_note(runner: Runner) -> &'static str {
    match runner {
        Runner::Xtask => "cargo xtask experiment, outputs included",
        Runner::Example => "the omega-sim `run` example: no output files",
    }
}

/// The `*.toml` files of `dir` whose stem contains `filter`, sorted by name.
fn sweep_files(dir: &Path, filter: Option<&str>) -> Result<Vec<SweepFile>, BenchError> {
    let io = |source| BenchError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let wanted = filter.is_none_or(|f| stem.contains(f));
        if path.extension().is_some_and(|e| e == "toml") && wanted {
            files.push(SweepFile {
                name: stem.to_owned(),
                path: path.clone(),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    if files.is_empty() {
        return Err(BenchError::NoFiles {
            dir: dir.to_owned(),
            filter: filter.map_or(String::new(), |f| format!(" matching \"{f}\"")),
        });
    }
    Ok(files)
}

/// Runs every file with every build (per file, the builds in order), `jobs` at once;
/// returns per file the builds' measurements. Stops at the first failure.
fn run_all(
    builds: &[&Build],
    files: &[SweepFile],
    jobs: usize,
) -> Result<Vec<Vec<Measurement>>, BenchError> {
    let tasks: Vec<(usize, usize)> = (0..files.len())
        .flat_map(|f| (0..builds.len()).map(move |b| (f, b)))
        .collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<Measurement, BenchError>>>> =
        Mutex::new((0..tasks.len()).map(|_| None).collect());
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(tasks.len()) {
            scope.spawn(|| {
                while !failed.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(f, b)) = tasks.get(i) else { break };
                    let result = run_one(builds[b], &files[f], i);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    report_progress(n, tasks.len(), &files[f], builds[b], &result);
                    failed.fetch_or(result.is_err(), Ordering::SeqCst);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(result);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut flat = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Some(Ok(m)) => flat.push(m),
            Some(Err(e)) => return Err(e),
            // Not run because another one failed first; that one's error comes first.
            None => {}
        }
    }
    Ok(flat.chunks(builds.len()).map(<[_]>::to_vec).collect())
}

fn report_progress(
    n: usize,
    of: usize,
    file: &SweepFile,
    build: &Build,
    result: &Result<Measurement, BenchError>,
) {
    match result {
        Ok(m) => eprintln!(
            "[{n}/{of}] {} with {}: {:.2} s, {} MiB",
            file.name,
            build.label,
            m.wall_s,
            m.peak_mib.map_or("n/a".to_owned(), |p| format!("{p:.1}"))
        ),
        Err(_) => eprintln!("[{n}/{of}] {} with {}: failed", file.name, build.label),
    }
}

/// One simulation: the runner under the measuring wrapper, then its outputs read.
fn run_one(build: &Build, file: &SweepFile, index: usize) -> Result<Measurement, BenchError> {
    let scratch = std::env::temp_dir().join(format!(
        "omega-bench-sweep-run-{}-{index}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|source| BenchError::Io {
        path: scratch.clone(),
        source,
    })?;
    let out = scratch.join("out");
    let command = build.command(&file.path, &out);
    let result = measure::run_measured(&command, &scratch.join("report.txt"))
        .and_then(|(report, output)| measurement(build, file, &out, &report, &output));
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn measurement(
    build: &Build,
    file: &SweepFile,
    out: &Path,
    report: &measure::Report,
    output: &std::process::Output,
) -> Result<Measurement, BenchError> {
    let output_error = |reason: String| BenchError::Output {
        file: file.name.clone(),
        build: build.label.clone(),
        reason,
    };
    if !report.success {
        return Err(BenchError::Simulation {
            file: file.name.clone(),
            build: build.label.clone(),
            status: report.status.clone(),
            stderr_tail: measure::tail(&output.stderr),
        });
    }
    let counts = match build.runner {
        Runner::Xtask => {
            let path = out.join("summary.json");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| output_error(format!("{}: {e}", path.display())))?;
            outputs::from_summary_json(&text).map_err(output_error)?
        }
        Runner::Example => outputs::from_example_stdout(&String::from_utf8_lossy(&output.stdout))
            .map_err(output_error)?,
    };
    Ok(Measurement {
        wall_s: report.wall_s,
        peak_mib: report.peak_mib(),
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use omega_sim::{ExperimentPlan, PlanOptions};

    fn bench_dir() -> PathBuf {
        crate::experiment::workspace_root()
            .join("configs")
            .join("bench")
    }

    /// The sweep the issue asks for: 7 architectures × service t_job 0.1, 1 and 10 s.
    #[test]
    fn the_bench_folder_holds_the_21_files_of_the_sweep() {
        let names: Vec<String> = sweep_files(&bench_dir(), None)
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        let mut expected = Vec::new();
        let kinds = [
            "mono-single",
            "mono-multi",
            "two-level",
            "omega-coarse-gang",
            "omega-coarse-incremental",
            "omega-fine-gang",
            "omega-fine-incremental",
        ];
        for kind in kinds {
            for t in ["0.1", "1", "10"] {
                expected.push(format!("{kind}-tjob-{t}"));
            }
        }
        expected.sort();
        assert_eq!(names, expected);
    }

    /// Every file is one simulation today, on 1,000 machines for a day, with its service
    /// think time as its name says; building its input and ten simulated minutes check the rest.
    #[test]
    fn every_bench_file_parses_as_one_experiment_today() {
        for file in sweep_files(&bench_dir(), None).unwrap() {
            let text = std::fs::read_to_string(&file.path).unwrap();
            let plan = ExperimentPlan::from_toml(&file.name, &text, &PlanOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", file.name));
            assert_eq!(plan.runs.len(), 1, "{}", file.name);
            let e = &plan.runs[0].experiment;
            assert_eq!(e.horizon_us, 86_400_000_000, "{}", file.name);
            assert_eq!(e.cluster.machines, Some(1_000), "{}", file.name);
            let t_job_us = match file.name.rsplit_once("-tjob-").map(|(_, t)| t) {
                Some("0.1") => 100_000,
                Some("1") => 1_000_000,
                Some("10") => 10_000_000,
                other => panic!("{}: t_job {other:?}", file.name),
            };
            let service = e
                .architecture
                .schedulers
                .iter()
                .find(|s| s.name == "service");
            match service.map(|s| &s.policy) {
                Some(omega_schedulers::PolicyConfig::Service(c)) => {
                    assert_eq!(c.t_job_us, t_job_us, "{}", file.name)
                }
                other => panic!("{}: service policy {other:?}", file.name),
            }
            let input =
                omega_sim::build_input(e).unwrap_or_else(|err| panic!("{}: {err}", file.name));
            assert_eq!(input.cell.machine_count(), 1_000, "{}", file.name);
            assert!(!input.prefill.is_empty(), "{}: prefill", file.name);
            // Ten simulated minutes run (a day is for the bench, not for tests).
            let mut short = e.clone();
            short.horizon_us = 600_000_000;
            let mut counts = omega_sim::CountingRecorder::default();
            let summary = omega_sim::run_experiment(&short, &mut counts)
                .unwrap_or_else(|err| panic!("{}: {err}", file.name));
            assert!(
                summary.events > 0 && summary.tasks.is_conserved(),
                "{}",
                file.name
            );
        }
    }

    #[test]
    fn a_filter_that_matches_nothing_is_a_clear_error() {
        let err = sweep_files(&bench_dir(), Some("no-such-architecture")).unwrap_err();
        assert!(
            err.to_string()
                .contains("matching \"no-such-architecture\""),
            "{err}"
        );
        let two_level = sweep_files(&bench_dir(), Some("two-level")).unwrap();
        assert_eq!(two_level.len(), 3);
    }
}
