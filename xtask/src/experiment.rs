//! `cargo xtask experiment [NAME]`: runs an experiment file of `configs/experiments/` (or any
//! file with `--config`), shows progress on stderr, prints a comparison table and writes the
//! outputs (`summary.json`, `results.csv`, `series.csv`, `cost.json`, `charts/*.svg`,
//! `report.html`) to `target/experiments/NAME/`. `cargo xtask experiment all` runs every
//! experiment file in name order; with `--figures DIR` it copies each one's SVG charts to
//! `DIR/NAME/` (the charts EXPERIMENTS.md shows live in `docs/figures/`).
//!
//! Everything but argument handling, progress and printing lives in `omega-sim` (plans) and
//! `omega-metrics` (runs, metrics, outputs), where it is tested.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use omega_metrics::{Progress, ReportMeta, dashboard, run_plan, write_outputs};
use omega_sim::{ExperimentPlan, PlanOptions, parse_seeds, parse_set};

/// The experiment run when none is named.
const DEFAULT_EXPERIMENT: &str = "architectures";

/// Arguments of `cargo xtask experiment`.
#[derive(Clone, Debug, clap::Args)]
pub struct ExperimentArgs {
    /// The experiment: a file stem of `configs/experiments/` (see `--list`), or `all`.
    #[arg(default_value = DEFAULT_EXPERIMENT, conflicts_with = "config")]
    pub name: String,
    /// Run this experiment file instead of a named one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// List the experiments of `configs/experiments/`, one line each, and exit.
    #[arg(long)]
    pub list: bool,
    /// The experiment's `[quick]` form: seconds instead of minutes, for CI and trying things.
    #[arg(long)]
    pub quick: bool,
    /// Run with this seed instead of the file's.
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Repeat every run with these seeds (`1..5`, both ends included, or `1,2,7`); the
    /// report shows mean and spread.
    #[arg(long, value_name = "SPEC")]
    pub seeds: Option<String>,
    /// Sweep a config key: `--set cluster.machines=50,100`. Several form a grid.
    #[arg(long, value_name = "KEY=V1,V2,...")]
    pub set: Vec<String>,
    /// Simulations run in parallel (default 1); the output is the same for any number.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Output folder (default `target/experiments/NAME/`; with `all`, `DIR/NAME/`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With `all`: copy each experiment's `charts/*.svg` to `DIR/NAME/`.
    #[arg(long, value_name = "DIR")]
    pub figures: Option<PathBuf>,
}

/// `experiment all`: every experiment file in name order, each with the same options, its
/// charts copied to `--figures DIR/NAME/` when asked.
fn run_all(args: &ExperimentArgs) -> Result<(), Box<dyn std::error::Error>> {
    let cwd = std::env::current_dir()?;
    let started = Instant::now();
    let mut skipped = Vec::new();
    for (name, path) in known_experiments()? {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if args.quick && !ExperimentPlan::has_quick_form(&text)? {
            eprintln!("skipping {name}: it has no [quick] table, so no --quick form");
            skipped.push(name);
            continue;
        }
        let out = match &args.out {
            Some(dir) => cwd.join(dir).join(&name),
            None => workspace_root()
                .join("target")
                .join("experiments")
                .join(&name),
        };
        let one = ExperimentArgs {
            name: name.clone(),
            out: Some(out.clone()),
            figures: None,
            ..args.clone()
        };
        run(one)?;
        if let Some(figures) = &args.figures {
            copy_charts(&out.join("charts"), &cwd.join(figures).join(&name))?;
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    if skipped.is_empty() {
        println!("\nall experiments in {wall_s:.1} s");
    } else {
        println!(
            "\nall experiments in {wall_s:.1} s, but {} skipped (no --quick form): {}",
            skipped.len(),
            skipped.join(", ")
        );
    }
    Ok(())
}

/// Copies the `*.svg` files of `from` into `to` (created; stale charts there are removed).
fn copy_charts(from: &Path, to: &Path) -> Result<(), Box<dyn std::error::Error>> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "svg") {
            if let Some(file) = path.file_name() {
                std::fs::copy(&path, to.join(file))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// The workspace root (xtask lives one folder below it).
pub(crate) fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

fn experiments_dir() -> PathBuf {
    workspace_root().join("configs").join("experiments")
}

/// The experiments of `configs/experiments/`: (name, path), sorted by name.
fn known_experiments() -> Result<Vec<(String, PathBuf)>, Box<dyn std::error::Error>> {
    let dir = experiments_dir();
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
        match stem {
            Some(stem) if path.extension().is_some_and(|e| e == "toml") => out.push((stem, path)),
            _ => {}
        }
    }
    out.sort();
    Ok(out)
}

fn list() -> Result<(), Box<dyn std::error::Error>> {
    let known = known_experiments()?;
    let width = known.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, path) in known {
        let text = std::fs::read_to_string(&path)?;
        let description = ExperimentPlan::description_of(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // One line each: the first sentence.
        let line = match description.split_once(". ") {
            Some((first, _)) => format!("{first}."),
            None => description,
        };
        println!("{name:<width$}  {line}");
    }
    Ok(())
}

/// The experiment's name and file.
fn locate(args: &ExperimentArgs) -> Result<(String, PathBuf), Box<dyn std::error::Error>> {
    if let Some(path) = &args.config {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: not a file name", path.display()))?;
        return Ok((name.to_owned(), path.clone()));
    }
    let known = known_experiments()?;
    match known.iter().find(|(n, _)| *n == args.name) {
        Some((n, p)) => Ok((n.clone(), p.clone())),
        None => {
            let names: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
            Err(format!(
                "no experiment `{}` in {}; known experiments: {} (or run any file with --config FILE)",
                args.name,
                experiments_dir().display(),
                names.join(", ")
            )
            .into())
        }
    }
}

/// Progress on stderr: runs done, and the simulated time of the running ones. Hidden when
/// stderr is not a terminal.
struct Bar {
    bar: ProgressBar,
    ids: Vec<String>,
    running: Mutex<BTreeMap<usize, (u64, u64)>>,
}

impl Bar {
    fn new(plan: &ExperimentPlan) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(plan.runs.len() as u64),
            ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} simulations  {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            ids: plan.runs.iter().map(|r| r.id.clone()).collect(),
            running: Mutex::new(BTreeMap::new()),
        }
    }

    fn show(&self, running: &BTreeMap<usize, (u64, u64)>) {
        let parts: Vec<String> = running
            .iter()
            .take(3)
            .map(|(i, (now, horizon))| {
                format!(
                    "{} {:.1}/{:.1} h",
                    self.ids[*i],
                    *now as f64 / 3.6e9,
                    *horizon as f64 / 3.6e9
                )
            })
            .collect();
        self.bar.set_message(parts.join(" | "));
    }
}

impl Progress for Bar {
    fn advanced(&self, index: usize, now_us: u64, horizon_us: u64) {
        if let Ok(mut running) = self.running.lock() {
            running.insert(index, (now_us, horizon_us));
            self.show(&running);
        }
    }

    fn finished(&self, index: usize) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(&index);
            self.show(&running);
        }
        self.bar.inc(1);
    }
}

fn git_revision() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) => match run(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(s) if !s.is_empty() => format!("{rev} (with uncommitted changes)"),
            _ => rev,
        },
        None => "unknown".to_owned(),
    }
}

/// Runs the experiment and writes its outputs.
pub fn run(args: ExperimentArgs) -> Result<(), Box<dyn std::error::Error>> {
    if args.list {
        return list();
    }
    if args.name == "all" && args.config.is_none() {
        return run_all(&args);
    }
    if args.figures.is_some() {
        return Err("--figures goes with `experiment all`".into());
    }
    let (name, path) = locate(&args)?;
    // Paths inside experiment files (traces) are relative to the repository root, as the
    // files say; the command-line paths stay relative to where the command was run.
    let cwd = std::env::current_dir()?;
    let path = cwd.join(path);
    let out_arg = args.out.as_ref().map(|o| cwd.join(o));
    std::env::set_current_dir(workspace_root())?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut options = PlanOptions {
        quick: args.quick,
        ..PlanOptions::default()
    };
    if let Some(seed) = args.seed {
        options.seeds = vec![seed];
    }
    if let Some(spec) = &args.seeds {
        options.seeds = parse_seeds(spec)?;
    }
    for s in &args.set {
        options.set.push(parse_set(s)?);
    }
    let plan = ExperimentPlan::from_toml(&name, &text, &options)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let out = out_arg.unwrap_or_else(|| {
        workspace_root()
            .join("target")
            .join("experiments")
            .join(&name)
    });
    let jobs = usize::from(args.jobs);
    eprintln!(
        "experiment {name}: {} simulation(s) on {jobs} thread(s)",
        plan.runs.len()
    );
    let started = Instant::now();
    let bar = Bar::new(&plan);
    let outcomes = run_plan(&plan, jobs, &bar);
    bar.bar.finish_and_clear();
    let outcomes = outcomes?;
    let wall_s = started.elapsed().as_secs_f64();
    let meta = ReportMeta {
        config_path: path
            .strip_prefix(workspace_root())
            .unwrap_or(&path)
            .display()
            .to_string(),
        git_revision: git_revision(),
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    };
    let written = write_outputs(&out, &plan, &outcomes, wall_s, jobs, &meta)?;
    print!("{}", dashboard::table_text(&plan.sweep_keys, &outcomes));
    println!(
        "\n{} simulation(s) in {wall_s:.1} s. Report: {}",
        outcomes.len(),
        written.report.display()
    );
    println!(
        "Numbers: {} and results.csv beside it; charts in {}",
        written.dir.join("summary.json").display(),
        written.dir.join("charts").display()
    );
    Ok(())
}
