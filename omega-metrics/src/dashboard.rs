//! The dashboard of an experiment: which panels it has, what each draws, and the comparison
//! table. Lines are the plan's variants (and the sweep keys other than the x axis), points
//! are the sweep's x values, and several seeds become a mean with a min–max error bar.

use std::collections::BTreeSet;

use crate::RunOutcome;
use crate::charts::{Chart, Line, Panel, Point};

/// The ids of the panels every report has, in order.
pub const PANEL_IDS: [&str; 7] = [
    "throughput",
    "wait",
    "utilisation",
    "utilisation-over-time",
    "conflicts",
    "scalability",
    "fairness",
];

/// The x axis of the dashboard: the first numeric sweep key, else the cell size.
#[derive(Clone, Debug, PartialEq)]
pub struct XAxis {
    /// The sweep key, or `None` for the cell size.
    pub key: Option<String>,
    /// Its label, with its unit.
    pub label: String,
    /// A log scale (the values span more than a decade).
    pub log: bool,
}

/// One line of the dashboard: runs that differ only in the x value and the seed.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    name: String,
    /// Indexes into the outcomes, with their x value.
    runs: Vec<(f64, usize)>,
}

/// The x value of a run.
fn x_of(axis: &XAxis, o: &RunOutcome) -> f64 {
    match &axis.key {
        None => f64::from(o.machines),
        Some(key) => o
            .run
            .point
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            .unwrap_or(0.0),
    }
}

/// Chooses the x axis of a set of outcomes.
pub fn x_axis(sweep_keys: &[String], outcomes: &[RunOutcome]) -> XAxis {
    let numeric = |key: &String| {
        outcomes.iter().all(|o| {
            o.run
                .point
                .iter()
                .any(|(k, v)| k == key && (v.is_integer() || v.is_float()))
        })
    };
    let key = sweep_keys.iter().find(|k| numeric(k)).cloned();
    let label = match key.as_deref() {
        None | Some("cluster.machines") => "machines".to_owned(),
        Some(k) if k.ends_with("_us") => format!("{k} (µs)"),
        Some(k) if k.ends_with("_s") => format!("{k} (s)"),
        Some(k) => k.to_owned(),
    };
    let mut axis = XAxis {
        key,
        label,
        log: false,
    };
    let xs: Vec<f64> = outcomes.iter().map(|o| x_of(&axis, o)).collect();
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    axis.log = lo > 0.0 && hi / lo >= 10.0;
    axis
}

fn groups(axis: &XAxis, outcomes: &[RunOutcome]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        let mut name = o.run.variant.clone();
        for (k, v) in &o.run.point {
            if Some(k) != axis.key.as_ref() {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                name.push_str(&format!(" {k}={v}"));
            }
        }
        let x = x_of(axis, o);
        match out.iter_mut().find(|g| g.name == name) {
            Some(g) => g.runs.push((x, i)),
            None => out.push(Group {
                name,
                runs: vec![(x, i)],
            }),
        }
    }
    out
}

/// Mean and (min, max) of the values at each x, in x order.
fn points(runs: &[(f64, usize)], value: impl Fn(usize) -> Option<f64>) -> Vec<Point> {
    let mut xs: Vec<f64> = runs.iter().map(|r| r.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.into_iter()
        .filter_map(|x| {
            let v: Vec<f64> = runs
                .iter()
                .filter(|r| r.0 == x)
                .filter_map(|r| value(r.1))
                .collect();
            if v.is_empty() {
                return None;
            }
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Some((x, mean, (v.len() > 1).then_some((lo, hi))))
        })
        .collect()
}

struct Builder<'a> {
    axis: XAxis,
    outcomes: &'a [RunOutcome],
    groups: Vec<Group>,
}

impl Builder<'_> {
    /// A chart of a whole-run metric (scheduler `""`), one line a group.
    fn run_chart(&self, title: &str, y_label: &str, class: &str, metric: &str) -> Chart {
        let lines = self
            .groups
            .iter()
            .enumerate()
            .map(|(c, g)| {
                let pts = points(&g.runs, |i| self.outcomes[i].metrics.get("", class, metric));
                Line::new(&g.name, c, pts)
            })
            .filter(|l| !l.points.is_empty())
            .collect();
        self.chart(title, y_label, lines, false)
    }

    /// A chart of a per-scheduler metric, one line a (group, scheduler); lines that are zero
    /// everywhere are left out when `skip_zero`.
    fn scheduler_chart(&self, title: &str, y_label: &str, metric: &str, skip_zero: bool) -> Chart {
        let mut lines = Vec::new();
        for (c, g) in self.groups.iter().enumerate() {
            let names: BTreeSet<&str> = g
                .runs
                .iter()
                .flat_map(|r| self.outcomes[r.1].summary.schedulers.iter())
                .map(|s| s.name.as_str())
                .collect();
            for name in names {
                let pts = points(&g.runs, |i| self.outcomes[i].metrics.get(name, "", metric));
                if pts.is_empty() || (skip_zero && pts.iter().all(|p| p.1 == 0.0)) {
                    continue;
                }
                lines.push(Line::new(&format!("{}/{name}", g.name), c, pts));
            }
        }
        // Several schedulers of one variant: every line its own colour.
        for (i, line) in lines.iter_mut().enumerate() {
            line.colour = i;
        }
        self.chart(title, y_label, lines, skip_zero)
    }

    fn chart(&self, title: &str, y_label: &str, lines: Vec<Line>, zero_skipped: bool) -> Chart {
        let title = match (lines.is_empty(), zero_skipped) {
            (false, _) => title.to_owned(),
            (true, true) => format!("{title}: zero in every run"),
            (true, false) => format!("{title}: not measured"),
        };
        Chart {
            title,
            x_label: self.axis.label.clone(),
            y_label: y_label.to_owned(),
            log_x: self.axis.log,
            lines,
        }
    }

    /// A chart of a series over simulated hours, at the largest x of each group (first
    /// seed there).
    fn series_chart(&self, title: &str, y_label: &str, metric: &str, key: &str) -> Chart {
        let mut lines = Vec::new();
        for (c, g) in self.groups.iter().enumerate() {
            let Some(&(_, i)) = g
                .runs
                .iter()
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
            else {
                continue;
            };
            let o = &self.outcomes[i];
            let Some(s) = o
                .metrics
                .series
                .iter()
                .find(|s| s.metric == metric && s.key == key)
            else {
                continue;
            };
            let pts = s
                .points
                .iter()
                .map(|p| (p.at_us as f64 / 3.6e9, p.value, None))
                .collect();
            lines.push(Line::new(
                &format!("{} ({} machines)", g.name, o.machines),
                c,
                pts,
            ));
        }
        let mut chart = self.chart(title, y_label, lines, false);
        chart.x_label = "simulated time (h)".to_owned();
        chart.log_x = false;
        chart
    }

    /// The job classes with wait metrics, in name order.
    fn classes(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .outcomes
            .iter()
            .flat_map(|o| o.metrics.values.iter())
            .filter(|v| v.metric == "wait_first_attempt_s.p90" && !v.class.is_empty())
            .map(|v| v.class.as_str())
            .collect();
        set.into_iter().map(str::to_owned).collect()
    }
}

/// The dashboard's panels for these outcomes (one per [`PANEL_IDS`] entry, in that order).
pub fn panels(sweep_keys: &[String], outcomes: &[RunOutcome]) -> Vec<Panel> {
    let axis = x_axis(sweep_keys, outcomes);
    let b = Builder {
        groups: groups(&axis, outcomes),
        axis,
        outcomes,
    };
    vec![
        b.throughput_panel(),
        b.wait_panel(),
        b.utilisation_panel(),
        b.utilisation_over_time_panel(),
        b.conflicts_panel(),
        b.scalability_panel(),
        b.fairness_panel(),
    ]
}

/// A panel of `charts`.
fn panel(id: &str, title: &str, charts: Vec<Chart>) -> Panel {
    Panel {
        id: id.to_owned(),
        title: title.to_owned(),
        charts,
    }
}

/// The panels, one method each, in [`PANEL_IDS`] order.
impl Builder<'_> {
    fn throughput_panel(&self) -> Panel {
        panel(
            "throughput",
            "Throughput",
            vec![
                self.run_chart(
                    "Jobs completed",
                    "jobs / min",
                    "",
                    "throughput_jobs_per_min",
                ),
                self.run_chart(
                    "Tasks completed",
                    "tasks / min",
                    "",
                    "throughput_tasks_per_min",
                ),
            ],
        )
    }

    /// One chart per job class (wait to first attempt), then all jobs' wait until fully
    /// scheduled.
    fn wait_panel(&self) -> Panel {
        let mut wait: Vec<Chart> = self
            .classes()
            .iter()
            .map(|c| {
                self.run_chart(
                    &format!("Wait to first attempt, {c} jobs (p90)"),
                    "seconds",
                    c,
                    "wait_first_attempt_s.p90",
                )
            })
            .collect();
        wait.push(self.run_chart(
            "Wait until fully scheduled, all jobs (p90)",
            "seconds",
            "",
            "wait_fully_scheduled_s.p90",
        ));
        panel("wait", "Wait time", wait)
    }

    fn utilisation_panel(&self) -> Panel {
        let share = "share of capacity";
        panel(
            "utilisation",
            "Utilisation (time-weighted mean)",
            vec![
                self.run_chart("CPU allocated", share, "", "utilisation_cpu"),
                self.run_chart("GPU allocated", share, "", "utilisation_gpu"),
                self.run_chart("Memory allocated", share, "", "utilisation_mem"),
                self.run_chart(
                    "Locked in offers (two-level)",
                    share,
                    "",
                    "offer_locked_share",
                ),
            ],
        )
    }

    fn utilisation_over_time_panel(&self) -> Panel {
        let share = "share of capacity";
        panel(
            "utilisation-over-time",
            "Utilisation over time (largest cell)",
            vec![
                self.series_chart("CPU allocated", share, "utilisation_cpu", ""),
                self.series_chart("GPU allocated", share, "utilisation_gpu", ""),
                self.series_chart("Memory allocated", share, "utilisation_mem", ""),
            ],
        )
    }

    fn conflicts_panel(&self) -> Panel {
        panel(
            "conflicts",
            "Conflicts",
            vec![
                self.scheduler_chart(
                    "Conflict fraction (conflicted / successful)",
                    "conflicts per success",
                    "conflict_fraction",
                    true,
                ),
                self.scheduler_chart("Wasted busyness", "share of time", "busyness_wasted", true),
            ],
        )
    }

    fn scalability_panel(&self) -> Panel {
        panel(
            "scalability",
            "Scalability",
            vec![
                self.scheduler_chart("Scheduler busyness", "share of time", "busyness", false),
                self.run_chart(
                    "Wait to first attempt, all jobs (p90)",
                    "seconds",
                    "",
                    "wait_first_attempt_s.p90",
                ),
                self.run_chart("Jobs abandoned", "jobs", "", "jobs_abandoned"),
            ],
        )
    }

    fn fairness_panel(&self) -> Panel {
        panel(
            "fairness",
            "DRF fairness",
            vec![
                self.run_chart(
                    "Jain's index of dominant shares (time mean)",
                    "Jain's index (1 = fair)",
                    "",
                    "fairness_jain",
                ),
                self.series_chart(
                    "Jain's index over time",
                    "Jain's index",
                    "fairness_jain",
                    "",
                ),
            ],
        )
    }
}

/// One row of the comparison table: a (line, x) of the dashboard, means over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct TableRow {
    /// The line's name (variant and other sweep keys).
    pub name: String,
    /// The x value.
    pub x: f64,
    /// Seeds joined in this row.
    pub seeds: usize,
    /// (column, text) pairs.
    pub cells: Vec<(String, String)>,
}

/// The comparison table's rows, and the x axis label.
pub fn table(sweep_keys: &[String], outcomes: &[RunOutcome]) -> (String, Vec<TableRow>) {
    let axis = x_axis(sweep_keys, outcomes);
    let mut rows = Vec::new();
    for g in groups(&axis, outcomes) {
        let mut xs: Vec<f64> = g.runs.iter().map(|r| r.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        for x in xs {
            let runs: Vec<usize> = g.runs.iter().filter(|r| r.0 == x).map(|r| r.1).collect();
            let mean = |scheduler: &str, class: &str, metric: &str| {
                let v: Vec<f64> = runs
                    .iter()
                    .filter_map(|&i| outcomes[i].metrics.get(scheduler, class, metric))
                    .collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            let fmt = |v: Option<f64>, digits: usize| {
                v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
            };
            let schedulers: Vec<String> = outcomes[runs[0]]
                .summary
                .schedulers
                .iter()
                .map(|s| s.name.clone())
                .collect();
            let per_scheduler = |metric: &str| {
                schedulers
                    .iter()
                    .map(|s| format!("{s} {}", fmt(mean(s, "", metric), 3)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let cells = vec![
                (
                    "jobs/min".to_owned(),
                    fmt(mean("", "", "throughput_jobs_per_min"), 1),
                ),
                (
                    "wait p50 / p90 (s)".to_owned(),
                    format!(
                        "{} / {}",
                        fmt(mean("", "", "wait_first_attempt_s.p50"), 2),
                        fmt(mean("", "", "wait_first_attempt_s.p90"), 2)
                    ),
                ),
                ("busyness".to_owned(), per_scheduler("busyness")),
                (
                    "conflict fraction".to_owned(),
                    per_scheduler("conflict_fraction"),
                ),
                (
                    "CPU util".to_owned(),
                    fmt(mean("", "", "utilisation_cpu"), 3),
                ),
                (
                    "mem util".to_owned(),
                    fmt(mean("", "", "utilisation_mem"), 3),
                ),
                (
                    "abandoned".to_owned(),
                    fmt(mean("", "", "jobs_abandoned"), 0),
                ),
            ];
            rows.push(TableRow {
                name: g.name.clone(),
                x,
                seeds: runs.len(),
                cells,
            });
        }
    }
    (axis.label, rows)
}

/// The comparison table as aligned plain text (what the command prints).
pub fn table_text(sweep_keys: &[String], outcomes: &[RunOutcome]) -> String {
    let (x_label, rows) = table(sweep_keys, outcomes);
    let Some(first) = rows.first() else {
        return String::new();
    };
    let mut header = vec!["run".to_owned(), x_label];
    header.extend(first.cells.iter().map(|c| c.0.clone()));
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![r.name.clone(), crate::charts::short_number(r.x)];
            cells.extend(r.cells.iter().map(|c| c.1.clone()));
            cells
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            body.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(&header);
    out.push('\n');
    for r in &body {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}
