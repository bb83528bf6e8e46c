//! What a simulation did, read from what its runner left: the events processed and the
//! task starts plus task ends, from `summary.json` (`cargo xtask experiment`) or from the
//! stdout of the `run` example that older revisions have.
//!
//! Both give the same quantity. A task *start* is a placement that ran (prefill included);
//! an *end* is a task that finished, was preempted or was lost with its machine; extra
//! MapReduce workers count as tasks. From `summary.json`'s tally and its whole-run metric
//! rows: starts = `finished + running + tasks_preempted + tasks_lost + extra_started`, ends =
//! `finished + tasks_preempted + tasks_lost + extra_finished + extra_evicted`. From the
//! example's `CountingRecorder` dump: `tasks_started + tasks_finished + tasks_lost +
//! tasks_preempted` (that revision counts no extra workers apart).

use std::collections::BTreeMap;

use serde_json::Value;

/// The counts of one simulation; `None` where the runner's output does not tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events processed.
    pub events: Option<u64>,
    /// Task starts plus task ends (see the module docs).
    pub task_starts_ends: Option<u64>,
}

/// The counts in an `omega-experiment-summary` document, summed over its runs.
///
/// A field that an older schema lacks leaves its count `None` (the extra-worker tallies
/// count as 0 when absent); a document that is not such a summary is an error.
pub fn from_summary_json(text: &str) -> Result<Counts, String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("summary.json is not JSON: {e}"))?;
    let runs = doc
        .get("runs")
        .and_then(Value::as_array)
        .ok_or("summary.json has no `runs` array")?;
    if runs.is_empty() {
        return Err("summary.json lists no runs".to_owned());
    }
    let mut events = Some(0u64);
    let mut tasks = Some(0u64);
    for run in runs {
        events = add(events, run.get("events").and_then(Value::as_u64));
        tasks = add(tasks, run_task_starts_ends(run));
    }
    Ok(Counts {
        events,
        task_starts_ends: tasks,
    })
}

fn add(sum: Option<u64>, x: Option<u64>) -> Option<u64> {
    sum.zip(x).map(|(a, b)| a.saturating_add(b))
}

fn run_task_starts_ends(run: &Value) -> Option<u64> {
    let tally = run.get("tasks")?;
    let field = |name: &str| tally.get(name).and_then(Value::as_u64);
    let extra = |name: &str| match tally.get(name) {
        None => Some(0),
        Some(v) => v.as_u64(),
    };
    let finished = field("finished")?;
    let running = field("running")?;
    let evicted = whole_run_metric(run, "tasks_preempted")? + whole_run_metric(run, "tasks_lost")?;
    let starts = finished + running + evicted + extra("extra_started")?;
    let ends = finished + evicted + extra("extra_finished")? + extra("extra_evicted")?;
    Some(starts + ends)
}

/// A whole-run metric row (`scheduler` and `class` both `""`), as an integer count.
fn whole_run_metric(run: &Value, metric: &str) -> Option<u64> {
    let rows = run.get("metrics")?.as_array()?;
    let row = rows.iter().find(|m| {
        m.get("scheduler").and_then(Value::as_str) == Some("")
            && m.get("class").and_then(Value::as_str) == Some("")
            && m.get("metric").and_then(Value::as_str) == Some(metric)
    })?;
    let value = row.get("value")?.as_f64()?;
    (value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(53)).then_some(value as u64)
}

/// The counts in the stdout of `cargo run --example run` (revisions before
/// `cargo xtask experiment`): the `N events in X s wall` line and the `key: value,`
/// lines of its Debug dumps.
pub fn from_example_stdout(stdout: &str) -> Result<Counts, String> {
    let events = stdout
        .lines()
        .find(|l| l.contains(" events in ") && l.contains(" s wall"))
        .ok_or("its output has no `N events in X s wall` line")?
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("its `events in` line does not start with a count")?;
    let fields = debug_fields(stdout);
    let names = [
        "tasks_started",
        "tasks_finished",
        "tasks_lost",
        "tasks_preempted",
    ];
    let tasks = names
        .iter()
        .map(|n| fields.get(*n).copied())
        .try_fold(0u64, |sum, x| x.map(|x| sum.saturating_add(x)));
    Ok(Counts {
        events: Some(events),
        task_starts_ends: tasks,
    })
}

/// `name: 123,` lines of a pretty Debug dump (the first of each name).
fn debug_fields(text: &str) -> BTreeMap<&str, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim().trim_end_matches(',');
        if let Some((name, value)) = line.split_once(": ")
            && let Ok(n) = value.parse::<u64>()
        {
            out.entry(name).or_insert(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stdout of `cargo run --release -p omega-sim --example run -- FILE` at ef03d24 for
    /// `configs/bench/omega-fine-incremental-tjob-0.1.toml`, as captured.
    const EXAMPLE_STDOUT: &str = "\
TaskTally {
    submitted: 28420,
    finished: 24691,
    running: 1935,
    pending: 0,
    abandoned: 1770,
    unschedulable: 24,
    cancelled: 0,
}
CountingRecorder {
    jobs_submitted: 2759,
    attempts: 7227,
    attempts_with_conflicts: 0,
    successful_attempts: 2449,
    conflicts: ConflictCounts {
        machine_missing: 0,
        machine_down: 0,
        version_changed: 0,
        insufficient_resources: 0,
        victim_gone: 0,
        invalid: 0,
    },
    tasks_started: 26647,
    tasks_finished: 24691,
    tasks_lost: 0,
    tasks_preempted: 21,
    machines_failed: 0,
    failures_detected: 0,
    machines_recovered: 0,
    offers: 0,
    jobs_fully_scheduled: 2378,
    jobs_finished: 2375,
    jobs_abandoned: 30,
    jobs_unschedulable: 1,
    jobs_cancelled: 0,
    samples: 1441,
}
batch: busyness 0.004, wasted 0.000, attempts 5334
service: busyness 0.003, wasted 0.000, attempts 1893
18317 events in 0.26 s wall: 70327 events/s
";

    #[test]
    fn the_example_output_gives_events_and_task_starts_and_ends() {
        let counts = from_example_stdout(EXAMPLE_STDOUT).unwrap();
        assert_eq!(counts.events, Some(18_317));
        // started = finished + running + preempted there: 26,647 = 24,691 + 1,935 + 21.
        assert_eq!(counts.task_starts_ends, Some(26_647 + 24_691 + 21));
    }

    #[test]
    fn an_example_output_without_the_recorder_dump_has_no_task_count() {
        let counts = from_example_stdout("5 events in 0.01 s wall: 500 events/s\n").unwrap();
        assert_eq!(counts.events, Some(5));
        assert_eq!(counts.task_starts_ends, None);
    }

    #[test]
    fn an_example_output_without_the_events_line_is_an_error() {
        let err = from_example_stdout("TaskTally {\n    finished: 3,\n}\n").unwrap_err();
        assert!(err.contains("events in"), "{err}");
    }

    fn summary(tasks: &str, preempted: &str, lost: &str) -> String {
        format!(
            r#"{{"schema": "omega-experiment-summary/1", "runs": [{{
                "run": "omega seed=42", "events": 17826, "tasks": {tasks},
                "metrics": [
                  {{"scheduler": "", "class": "", "metric": "tasks_preempted", "value": {preempted}}},
                  {{"scheduler": "", "class": "batch", "metric": "tasks_lost", "value": 99}},
                  {{"scheduler": "", "class": "", "metric": "tasks_lost", "value": {lost}}}
                ]}}]}}"#
        )
    }

    #[test]
    fn the_summary_gives_events_and_task_starts_and_ends() {
        let tasks = r#"{"submitted": 28420, "finished": 24683, "running": 1937, "pending": 0,
            "abandoned": 1776, "unschedulable": 24, "cancelled": 0, "extra_started": 10,
            "extra_finished": 6, "extra_evicted": 1, "extra_running": 3}"#;
        let counts = from_summary_json(&summary(tasks, "23.0", "2.0")).unwrap();
        assert_eq!(counts.events, Some(17_826));
        let starts = 24_683 + 1_937 + 23 + 2 + 10;
        let ends = 24_683 + 23 + 2 + 6 + 1;
        assert_eq!(counts.task_starts_ends, Some(starts + ends));
    }

    #[test]
    fn a_summary_without_extra_tallies_counts_them_as_zero() {
        let tasks = r#"{"finished": 10, "running": 5}"#;
        let counts = from_summary_json(&summary(tasks, "1", "0")).unwrap();
        assert_eq!(counts.task_starts_ends, Some((10 + 5 + 1) + (10 + 1)));
    }

    #[test]
    fn a_summary_without_whole_run_rows_has_no_task_count() {
        let text = r#"{"runs": [{"events": 4, "tasks": {"finished": 1, "running": 0},
            "metrics": []}]}"#;
        let counts = from_summary_json(text).unwrap();
        assert_eq!(counts.events, Some(4));
        assert_eq!(counts.task_starts_ends, None);
    }

    #[test]
    fn runs_are_summed_and_a_run_without_events_hides_the_sum() {
        let text = r#"{"runs": [{"events": 4}, {"events": 6}]}"#;
        assert_eq!(from_summary_json(text).unwrap().events, Some(10));
        let text = r#"{"runs": [{"events": 4}, {"run": "x"}]}"#;
        assert_eq!(from_summary_json(text).unwrap().events, None);
    }

    #[test]
    fn what_is_not_a_summary_is_an_error() {
        assert!(from_summary_json("not json").is_err());
        assert!(from_summary_json("{}").is_err());
        assert!(from_summary_json(r#"{"runs": []}"#).is_err());
    }
}
