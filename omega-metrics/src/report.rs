//! The self-contained HTML report: the dashboard's panels as inline SVG, the comparison
//! table, every run's numbers, the simulator's cost and the full resolved config of every
//! run, with the seed and git revision. It loads nothing from anywhere.

use std::fmt::Write as _;

use crate::charts::{Panel, render_chart};
use crate::files::Cost;
use crate::{MetricsError, RunOutcome, dashboard};

/// What the report says about how it was made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportMeta {
    /// The experiment file that was run.
    pub config_path: String,
    /// The git revision of the code (`unknown` outside a checkout).
    pub git_revision: String,
    /// The command line, as typed.
    pub command: String,
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1800px;\
padding:0 1em;color:#222}h1{margin-bottom:0.2em}table{border-collapse:collapse;margin:1em 0;\
font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f0f0f0}\
td.num{text-align:right;font-variant-numeric:tabular-nums}section.panel{margin:2em 0}\
.charts{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:560px;max-width:100%}\
figure svg{width:100%;height:auto}pre{background:#f6f6f6;padding:1em;\
overflow-x:auto;font-size:13px}.meta td:first-child{font-weight:600}details{margin:0.5em 0}";

/// The report of an experiment: `panels` are the dashboard's (see
/// [`dashboard::panels`]), already built so the same ones are written to `charts/`.
pub fn report_html(
    plan: &omega_sim::ExperimentPlan,
    outcomes: &[RunOutcome],
    panels: &[Panel],
    cost: &Cost,
    meta: &ReportMeta,
) -> Result<String, MetricsError> {
    let mut h = String::new();
    let title = format!("omega experiment: {}", plan.name);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    if !plan.description.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", escape(&plan.description));
    }
    meta_table(&mut h, plan, outcomes, cost, meta);
    comparison_table(&mut h, plan, outcomes);
    for p in panels {
        let _ = writeln!(
            h,
            "<section class=\"panel\" id=\"panel-{}\"><h2>{}</h2><div class=\"charts\">",
            escape(&p.id),
            escape(&p.title)
        );
        for chart in &p.charts {
            let _ = writeln!(
                h,
                "<figure>{}</figure>",
                strip_xml_prolog(&render_chart(chart)?)
            );
        }
        h.push_str("</div></section>\n");
    }
    runs_table(&mut h, outcomes);
    cost_table(&mut h, cost);
    h.push_str("<h2 id=\"configs\">Resolved configuration of every run</h2>\n");
    for o in outcomes {
        let _ = writeln!(
            h,
            "<details><summary>{}</summary><pre>{}</pre></details>",
            escape(&o.run.id),
            escape(&o.run.resolved_toml())
        );
    }
    h.push_str(
        "<p>Metric definitions: <code>omega-metrics/METRICS.md</code>. Numbers: \
        <code>summary.json</code> and <code>results.csv</code> beside this file.</p>\n",
    );
    h.push_str("</body></html>\n");
    Ok(h)
}

fn strip_xml_prolog(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

fn meta_table(
    h: &mut String,
    plan: &omega_sim::ExperimentPlan,
    outcomes: &[RunOutcome],
    cost: &Cost,
    meta: &ReportMeta,
) {
    let mut seeds: Vec<u64> = outcomes.iter().map(|o| o.run.experiment.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
    let horizons: std::collections::BTreeSet<String> = outcomes
        .iter()
        .map(|o| format!("{} s", o.run.experiment.horizon_us as f64 / 1e6))
        .collect();
    let rows = [
        ("experiment", plan.name.clone()),
        ("config", meta.config_path.clone()),
        ("command", meta.command.clone()),
        ("git revision", meta.git_revision.clone()),
        ("seeds", seeds.join(", ")),
        (
            "simulated horizon",
            horizons.into_iter().collect::<Vec<_>>().join(", "),
        ),
        ("runs", outcomes.len().to_string()),
        (
            "wall time",
            format!("{:.1} s with {} thread(s)", cost.total_wall_s, cost.jobs),
        ),
    ];
    h.push_str("<table class=\"meta\">\n");
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><td>{k}</td><td>{}</td></tr>", escape(&v));
    }
    h.push_str("</table>\n");
}

fn comparison_table(h: &mut String, plan: &omega_sim::ExperimentPlan, outcomes: &[RunOutcome]) {
    let (x_label, rows) = dashboard::table(&plan.sweep_keys, outcomes);
    let Some(first) = rows.first() else {
        return;
    };
    h.push_str(
        "<h2 id=\"comparison\">Comparison</h2>\n<table id=\"comparison-table\"><tr><th>run</th>",
    );
    let _ = write!(h, "<th>{}</th><th>seeds</th>", escape(&x_label));
    for (c, _) in &first.cells {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr>\n");
    for r in &rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            escape(&r.name),
            crate::charts::short_number(r.x),
            r.seeds
        );
        for (_, v) in &r.cells {
            let _ = write!(h, "<td class=\"num\">{}</td>", escape(v));
        }
        h.push_str("</tr>\n");
    }
    h.push_str(
        "</table>\n<p>Means over seeds. Wait is from submission to the first scheduling \
        attempt (the Omega paper's job wait time); busyness is the share of simulated time a \
        scheduler spends deciding; the conflict fraction is conflicted attempts per successful \
        one.</p>\n",
    );
}

fn runs_table(h: &mut String, outcomes: &[RunOutcome]) {
    h.push_str(
        "<h2 id=\"runs\">Runs</h2>\n<table><tr><th>run</th><th>architecture</th>\
        <th>machines</th><th>events</th><th>tasks submitted</th><th>finished</th>\
        <th>running</th><th>pending</th><th>abandoned</th><th>unschedulable</th>\
        <th>cancelled</th></tr>\n",
    );
    for o in outcomes {
        let t = o.summary.tasks;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td>",
            escape(&o.run.id),
            escape(&o.architecture)
        );
        for n in [
            u64::from(o.machines),
            o.summary.events,
            t.submitted,
            t.finished,
            t.running,
            t.pending,
            t.abandoned,
            t.unschedulable,
            t.cancelled,
        ] {
            let _ = write!(h, "<td class=\"num\">{n}</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn cost_table(h: &mut String, cost: &Cost) {
    h.push_str(
        "<h2 id=\"cost\">Simulator cost</h2>\n<table><tr><th>run</th><th>wall (s)</th>\
        <th>events</th><th>events / s</th></tr>\n",
    );
    for r in &cost.runs {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{:.0}</td></tr>",
            escape(&r.run),
            r.cost.wall_s,
            r.cost.events,
            r.cost.events_per_s
        );
    }
    let peak = cost.peak_rss_mib.map_or_else(
        || "not known on this platform".to_owned(),
        |m| format!("{m:.0} MiB"),
    );
    let _ = writeln!(
        h,
        "</table>\n<p>Process peak memory: {}. These figures vary from run to run; they are in \
         <code>cost.json</code>, never in <code>summary.json</code>.</p>",
        escape(&peak)
    );
}
