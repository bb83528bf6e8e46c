//! Turns a [`MetricsRecorder`]'s accumulators into [`RunMetrics`] rows and series at the end
//! of a run: censoring of the jobs still alive, ratios with guarded denominators, daily
//! busyness, and the series in sorted order.

use std::collections::BTreeMap;

use omega_sim::SimSummary;

use crate::daily::{day_count, median, median_absolute_deviation};
use crate::groups::{CONFLICT_REASONS, GroupStats};
use crate::recorder::{MetricsRecorder, SchedulerTrack};
use crate::run_metrics::ValuesBuilder;
use crate::series::StepSignal;
use crate::{RunMetrics, Series};

/// Names of the groups of a run.
struct Names<'a> {
    schedulers: Vec<String>,
    classes: &'a [std::sync::Arc<str>],
}

impl Names<'_> {
    fn scheduler(&self, s: Option<usize>) -> String {
        match s {
            None => String::new(),
            Some(i) => self
                .schedulers
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("scheduler-{i}")),
        }
    }

    fn class(&self, c: Option<usize>) -> String {
        c.and_then(|i| self.classes.get(i))
            .map_or_else(String::new, |c| c.to_string())
    }
}

/// `numerator / denominator`, or 0 when the denominator is 0.
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// Counts the jobs still alive at the end: never attempted, never fully scheduled, and own
/// tasks lost to a failure that never started again.
fn censor(rec: &mut MetricsRecorder) {
    for state in rec.jobs.values() {
        if state.prefill {
            rec.grid.apply(state.scheduler, Some(state.class), |g| {
                g.tasks_lost_censored += state.lost.len() as u64;
            });
            continue;
        }
        let never_attempted = state.scheduler.is_none();
        let never_full = !state.fully_scheduled && !state.abandoned;
        rec.grid.apply(state.scheduler, Some(state.class), |g| {
            g.censored_first_attempt += u64::from(never_attempted);
            g.censored_fully_scheduled += u64::from(never_full);
            g.tasks_lost_censored += state.lost.len() as u64;
        });
    }
}

/// The rows every group has.
fn group_rows(v: &mut ValuesBuilder, s: &str, c: &str, g: &GroupStats, end_us: u64) {
    let counts = [
        ("jobs_submitted", g.jobs_submitted),
        ("prefill_jobs", g.prefill_jobs),
        ("jobs_finished", g.jobs_finished),
        ("tasks_finished", g.tasks_finished),
        ("prefill_tasks_finished", g.prefill_tasks_finished),
        ("mapreduce_extra_tasks", g.extra_tasks),
        ("mapreduce_extra_tasks_finished", g.extra_tasks_finished),
        ("jobs_abandoned", g.jobs_abandoned),
        ("jobs_unschedulable", g.jobs_unschedulable),
        ("jobs_cancelled", g.jobs_cancelled),
        ("jobs_censored.first_attempt", g.censored_first_attempt),
        ("jobs_censored.fully_scheduled", g.censored_fully_scheduled),
        ("tasks_preempted", g.tasks_preempted),
        ("tasks_lost", g.tasks_lost),
        ("tasks_lost_censored", g.tasks_lost_censored),
        ("attempts", g.attempts),
        ("successful_attempts", g.successful_attempts),
        ("conflicted_attempts", g.conflicted_attempts),
    ];
    for (name, n) in counts {
        v.count(s, c, name, n);
    }
    for (reason, n) in CONFLICT_REASONS.iter().zip(g.conflicts) {
        v.count(s, c, &format!("conflicts.{reason}"), n);
    }
    let conflicted = g.conflicted_attempts as f64;
    v.put(
        s,
        c,
        "conflict_fraction",
        ratio(conflicted, g.successful_attempts as f64),
    );
    v.put(
        s,
        c,
        "conflict_fraction_of_all",
        ratio(conflicted, g.attempts as f64),
    );
    let minutes = end_us as f64 / 60e6;
    v.put(
        s,
        c,
        "throughput_jobs_per_min",
        ratio(g.jobs_finished as f64, minutes),
    );
    v.put(
        s,
        c,
        "throughput_tasks_per_min",
        ratio(g.tasks_finished as f64, minutes),
    );
    v.distribution(s, c, "wait_first_attempt_s", &g.wait_first);
    v.distribution(s, c, "wait_fully_scheduled_s", &g.wait_full);
    v.distribution(s, c, "reschedule_s", &g.reschedule);
    if !s.is_empty() {
        let end = end_us as f64;
        v.put(s, c, "busyness", ratio(g.busy_us as f64, end));
        v.put(
            s,
            c,
            "busyness_useful",
            ratio(g.busy_us.saturating_sub(g.wasted_us) as f64, end),
        );
        v.put(s, c, "busyness_wasted", ratio(g.wasted_us as f64, end));
    }
}

/// A scheduler's daily busyness and offers (rows with class "").
fn scheduler_rows(v: &mut ValuesBuilder, s: &str, track: &SchedulerTrack, end_us: u64) {
    let (days, day_len_us) = day_count(end_us);
    let daily: Vec<f64> = (0..days as usize)
        .map(|k| ratio(track.busy_by_day.total_us(k) as f64, day_len_us as f64))
        .collect();
    v.count(s, "", "busyness.days", days);
    if let (Some(m), Some(mad)) = (median(&daily), median_absolute_deviation(&daily)) {
        v.put(s, "", "busyness.daily_median", m);
        v.put(s, "", "busyness.daily_mad", mad);
    }
    v.count(s, "", "offers_made", track.offers_made);
    v.count(s, "", "offer_tasks_placed", track.offer_tasks_placed);
    v.distribution(s, "", "offer_wait_s", &track.offer_wait);
    v.distribution(s, "", "offer_held_s", &track.offer_held);
}

/// Whole-run rows: utilisation, offers, failures, fairness, the summary's tally.
fn run_rows(v: &mut ValuesBuilder, rec: &MetricsRecorder, summary: &SimSummary) {
    let cell = &rec.cell;
    let signals = [
        ("utilisation_cpu", &cell.cpu),
        ("utilisation_gpu", &cell.gpu),
        ("utilisation_mem", &cell.mem),
        ("offer_locked_share", &cell.locked),
        ("fairness_jain", &cell.jain_classes),
        ("fairness_jain_users", &cell.jain_users),
    ];
    for (name, signal) in signals {
        if let Some(mean) = signal.mean() {
            v.put("", "", name, mean);
        }
    }
    v.count("", "", "utilisation_samples", cell.samples);
    let mut offer_wait = crate::quantile::Histogram::default();
    let mut offers = 0;
    for track in &rec.schedulers {
        offers += track.offers_made;
        offer_wait.merge(&track.offer_wait);
    }
    v.count("", "", "offers_made", offers);
    v.distribution("", "", "offer_wait_s", &offer_wait);
    let f = rec.failures;
    v.count("", "", "machines_failed", f.machines_failed);
    v.count("", "", "failures_detected", f.failures_detected);
    v.count("", "", "machines_recovered", f.machines_recovered);
    let t = summary.tasks;
    let tally = [
        ("tally.submitted", t.submitted),
        ("tally.finished", t.finished),
        ("tally.running", t.running),
        ("tally.pending", t.pending),
        ("tally.abandoned", t.abandoned),
        ("tally.unschedulable", t.unschedulable),
        ("tally.cancelled", t.cancelled),
    ];
    for (name, n) in tally {
        v.count("", "", name, n);
    }
    v.put("", "", "run_end_s", summary.end_us as f64 / 1e6);
    v.count("", "", "events", summary.events);
    for (c, signal) in cell.class_shares.iter().enumerate() {
        if let Some(mean) = signal.mean() {
            v.put("", &rec.classes[c], "dominant_share", mean);
        }
    }
    for (c, signal) in cell.class_pending.iter().enumerate() {
        if let Some(mean) = signal.mean() {
            v.put("", &rec.classes[c], "tasks_pending", mean);
        }
    }
}

fn series_of(metric: &str, key: &str, step_us: u64, signal: &StepSignal) -> Series {
    Series {
        metric: metric.to_owned(),
        key: key.to_owned(),
        step_us,
        points: signal.points(),
    }
}

/// Every series, sorted by (metric, key).
fn all_series(rec: &MetricsRecorder, names: &Names<'_>, end_us: u64) -> Vec<Series> {
    let step = rec.step_us;
    let cell = &rec.cell;
    let mut out = vec![
        series_of("utilisation_cpu", "", step, &cell.cpu),
        series_of("utilisation_gpu", "", step, &cell.gpu),
        series_of("utilisation_mem", "", step, &cell.mem),
        series_of("offer_locked_share", "", step, &cell.locked),
        series_of("fairness_jain", "", step, &cell.jain_classes),
        series_of("fairness_jain_users", "", step, &cell.jain_users),
    ];
    for (c, signal) in cell.class_shares.iter().enumerate() {
        out.push(series_of("dominant_share", &rec.classes[c], step, signal));
    }
    for (c, signal) in cell.class_pending.iter().enumerate() {
        out.push(series_of("tasks_pending", &rec.classes[c], step, signal));
    }
    for (s, track) in rec.schedulers.iter().enumerate() {
        out.push(Series {
            metric: "busyness".to_owned(),
            key: names.scheduler(Some(s)),
            step_us: step,
            points: track.busy_by_step.shares(end_us),
        });
    }
    let sorted: BTreeMap<(String, String), Series> = out
        .into_iter()
        .map(|s| ((s.metric.clone(), s.key.clone()), s))
        .collect();
    sorted.into_values().collect()
}

/// The [`RunMetrics`] of a finished run.
pub(crate) fn build(mut rec: MetricsRecorder, summary: &SimSummary) -> RunMetrics {
    let end_us = summary.end_us;
    censor(&mut rec);
    let cell = &mut rec.cell;
    for signal in [
        &mut cell.cpu,
        &mut cell.gpu,
        &mut cell.mem,
        &mut cell.locked,
        &mut cell.jain_classes,
        &mut cell.jain_users,
    ] {
        signal.advance(end_us);
    }
    for signal in cell.class_shares.iter_mut().chain(&mut cell.class_pending) {
        signal.advance(end_us);
    }
    rec.grid.touch(None, None);
    for s in 0..summary.schedulers.len() {
        rec.grid.touch(Some(s), None);
        rec.ensure_scheduler(s);
    }
    let names = Names {
        schedulers: summary.schedulers.iter().map(|s| s.name.clone()).collect(),
        classes: &rec.classes,
    };
    let mut v = ValuesBuilder::default();
    for (s, c, g) in rec.grid.iter() {
        group_rows(&mut v, &names.scheduler(s), &names.class(c), g, end_us);
    }
    for (s, track) in rec.schedulers.iter().enumerate() {
        scheduler_rows(&mut v, &names.scheduler(Some(s)), track, end_us);
    }
    run_rows(&mut v, &rec, summary);
    RunMetrics {
        values: v.into_values(),
        series: all_series(&rec, &names, end_us),
    }
}
