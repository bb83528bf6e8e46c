//! Interim recorder (development only, replaced by the streaming recorder).
#![allow(missing_docs)]
use crate::{MetricValue, RunMetrics, Series, SeriesPoint};
use omega_sim::{Fact, Recorder, SimSummary};
#[derive(Debug, Clone, Copy)]
pub struct MetricsOptions {
    pub horizon_us: u64,
    pub series_step_us: Option<u64>,
}
#[derive(Debug, Default)]
pub struct MetricsRecorder {
    finished: u64,
    jobs_done: u64,
    cpu: Vec<SeriesPoint>,
    waits: Vec<f64>,
    submit: std::collections::HashMap<u64, u64>,
}
impl MetricsRecorder {
    pub fn new(_o: MetricsOptions) -> Self {
        Self::default()
    }
    pub fn finish(self, s: &SimSummary) -> RunMetrics {
        let mut values = Vec::new();
        let mins = s.end_us as f64 / 6e7;
        let mut put = |sch: &str, m: &str, v: f64| {
            values.push(MetricValue {
                scheduler: sch.into(),
                class: String::new(),
                metric: m.into(),
                value: v,
            })
        };
        put("", "throughput_jobs_per_min", self.jobs_done as f64 / mins);
        put("", "throughput_tasks_per_min", self.finished as f64 / mins);
        let mut w = self.waits.clone();
        w.sort_by(f64::total_cmp);
        if !w.is_empty() {
            put("", "wait_first_attempt_s.p90", w[w.len() * 9 / 10]);
            put("", "wait_first_attempt_s.p50", w[w.len() / 2]);
        }
        let u = self.cpu.iter().map(|p| p.value).sum::<f64>() / self.cpu.len().max(1) as f64;
        put("", "utilisation_cpu", u);
        for sc in &s.schedulers {
            put(&sc.name, "busyness", sc.busyness(s.end_us));
            put(
                &sc.name,
                "conflict_fraction",
                sc.conflicted_attempts as f64 / sc.attempts.max(1) as f64,
            );
        }
        values.sort_by(|a, b| {
            (&a.scheduler, &a.class, &a.metric).cmp(&(&b.scheduler, &b.class, &b.metric))
        });
        RunMetrics {
            values,
            series: vec![Series {
                metric: "utilisation_cpu".into(),
                key: String::new(),
                step_us: 60_000_000,
                points: self.cpu,
            }],
        }
    }
}
impl Recorder for MetricsRecorder {
    fn record(&mut self, at: u64, f: &Fact) {
        match f {
            Fact::TaskFinished { .. } => self.finished += 1,
            Fact::JobFinished { .. } => self.jobs_done += 1,
            Fact::JobSubmitted {
                job,
                prefill: false,
                ..
            } => {
                self.submit.insert(job.0, at);
            }
            Fact::AttemptStarted { job, .. } => {
                if let Some(s) = self.submit.remove(&job.0) {
                    self.waits.push((at - s) as f64 / 1e6);
                }
            }
            Fact::Utilisation {
                allocated,
                capacity,
                ..
            } => self.cpu.push(SeriesPoint {
                at_us: at,
                value: allocated.cpu_milli as f64 / capacity.cpu_milli.max(1) as f64,
            }),
            _ => {}
        }
    }
}
