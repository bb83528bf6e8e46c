//! The figures of a sweep and the text tables that show them: one build's figures per
//! simulation and in total, or two builds side by side with the ratios old/new.
//!
//! Totals: wall times are summed; events/s and task starts+ends per second are the summed
//! counts over the summed wall time; memory is the largest peak of one simulation (one
//! build) or, for the ratio, the mean peak per simulation (the ratio of the sums).

use super::outputs::Counts;

/// What one simulation cost, measured end to end by the bench.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measurement {
    /// Wall time of the runner's process, in seconds.
    pub wall_s: f64,
    /// The process's peak resident memory, in MiB (`None` where the platform does not say).
    pub peak_mib: Option<f64>,
    /// What the runner's outputs say it did.
    pub counts: Counts,
}

impl Measurement {
    /// Events per second of wall time.
    pub fn events_per_s(&self) -> Option<f64> {
        per_second(self.counts.events, self.wall_s)
    }

    /// Task starts plus task ends per second of wall time.
    pub fn tasks_per_s(&self) -> Option<f64> {
        per_second(self.counts.task_starts_ends, self.wall_s)
    }
}

fn per_second(count: Option<u64>, wall_s: f64) -> Option<f64> {
    count.and_then(|n| (wall_s > 0.0).then(|| n as f64 / wall_s))
}

/// The sum of several measurements: summed wall time and counts (a count that one of them
/// lacks is lacking in the sum), and the largest peak memory.
pub fn total(measurements: &[Measurement]) -> Measurement {
    let sum = |f: fn(&Counts) -> Option<u64>| {
        measurements
            .iter()
            .try_fold(0u64, |acc, m| f(&m.counts).map(|n| acc.saturating_add(n)))
    };
    Measurement {
        wall_s: measurements.iter().map(|m| m.wall_s).sum(),
        peak_mib: measurements
            .iter()
            .map(|m| m.peak_mib)
            .try_fold(0.0f64, |acc, p| p.map(|p| acc.max(p))),
        counts: Counts {
            events: sum(|c| c.events),
            task_starts_ends: sum(|c| c.task_starts_ends),
        },
    }
}

/// The mean peak memory per simulation, if every one has it.
pub fn mean_peak_mib(measurements: &[Measurement]) -> Option<f64> {
    if measurements.is_empty() {
        return None;
    }
    let sum = measurements
        .iter()
        .map(|m| m.peak_mib)
        .try_fold(0.0f64, |acc, p| p.map(|p| acc + p))?;
    Some(sum / measurements.len() as f64)
}

/// `old / new`, or `None` when either is missing or `new` is not positive.
pub fn ratio(old: Option<f64>, new: Option<f64>) -> Option<f64> {
    let (old, new) = old.zip(new)?;
    (new > 0.0 && old.is_finite() && new.is_finite()).then(|| old / new)
}

/// One build's table: a row per simulation and the total.
pub fn render_single(rows: &[(String, Measurement)]) -> String {
    let header = [
        "simulation",
        "wall s",
        "events",
        "events/s",
        "tasks/s",
        "peak MiB",
    ];
    let line = |name: &str, m: &Measurement| {
        vec![
            name.to_owned(),
            format!("{:.2}", m.wall_s),
            count(m.counts.events.map(|n| n as f64)),
            count(m.events_per_s()),
            count(m.tasks_per_s()),
            mib(m.peak_mib),
        ]
    };
    let mut body: Vec<Vec<String>> = rows.iter().map(|(n, m)| line(n, m)).collect();
    let all: Vec<Measurement> = rows.iter().map(|(_, m)| *m).collect();
    body.push(line("total", &total(&all)));
    let mut out = grid(&header, &body);
    out.push_str(
        "tasks/s: task starts + task ends per second of wall time. \
         total: wall summed, rates over the summed wall, peak MiB the largest.\n",
    );
    out
}

/// Two builds side by side, with the ratios old/new of wall time and peak memory (above
/// 1: the new build is faster or smaller).
pub fn render_comparison(rows: &[(String, Measurement, Measurement)]) -> String {
    let header = [
        "simulation",
        "old s",
        "new s",
        "wall old/new",
        "old MiB",
        "new MiB",
        "mem old/new",
        "old ev/s",
        "new ev/s",
        "old tasks/s",
        "new tasks/s",
    ];
    let line = |name: &str, old: &Measurement, new: &Measurement| {
        vec![
            name.to_owned(),
            format!("{:.2}", old.wall_s),
            format!("{:.2}", new.wall_s),
            times(ratio(Some(old.wall_s), Some(new.wall_s))),
            mib(old.peak_mib),
            mib(new.peak_mib),
            times(ratio(old.peak_mib, new.peak_mib)),
            count(old.events_per_s()),
            count(new.events_per_s()),
            count(old.tasks_per_s()),
            count(new.tasks_per_s()),
        ]
    };
    let mut body: Vec<Vec<String>> = rows.iter().map(|(n, o, w)| line(n, o, w)).collect();
    let olds: Vec<Measurement> = rows.iter().map(|(_, o, _)| *o).collect();
    let news: Vec<Measurement> = rows.iter().map(|(_, _, w)| *w).collect();
    let mut old_total = total(&olds);
    let mut new_total = total(&news);
    old_total.peak_mib = mean_peak_mib(&olds);
    new_total.peak_mib = mean_peak_mib(&news);
    body.push(line("total", &old_total, &new_total));
    let mut out = grid(&header, &body);
    out.push_str(
        "Ratios old/new: above 1 the new build is faster or smaller. tasks/s: task starts + \
         task ends per second. total: wall summed, rates over the summed wall, MiB the mean \
         peak per simulation.\n",
    );
    out
}

/// Columns padded to their widest cell: the first left-aligned, the others right-aligned.
fn grid(header: &[&str], body: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in body {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(body) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| match i {
                0 => format!("{cell:<w$}"),
                _ => format!("{cell:>w$}"),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A count or rate: whole below 10,000, then in k or M with three significant digits.
fn count(x: Option<f64>) -> String {
    match x {
        None => "n/a".to_owned(),
        Some(x) if x < 10_000.0 => format!("{x:.0}"),
        Some(x) if x < 1e6 => format!("{:.1} k", x / 1e3),
        Some(x) => format!("{:.2} M", x / 1e6),
    }
}

fn mib(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.1}"))
}

fn times(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.2}x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(wall_s: f64, peak: Option<f64>, events: Option<u64>, tasks: Option<u64>) -> Measurement {
        Measurement {
            wall_s,
            peak_mib: peak,
            counts: Counts {
                events,
                task_starts_ends: tasks,
            },
        }
    }

    #[test]
    fn totals_sum_walls_and_counts_and_keep_the_largest_peak() {
        let t = total(&[
            m(1.5, Some(10.0), Some(1_000), Some(400)),
            m(2.5, Some(30.0), Some(3_000), Some(600)),
        ]);
        assert_eq!(t.wall_s, 4.0);
        assert_eq!(t.peak_mib, Some(30.0));
        assert_eq!(t.counts.events, Some(4_000));
        assert_eq!(t.events_per_s(), Some(1_000.0));
        assert_eq!(t.tasks_per_s(), Some(250.0));
    }

    #[test]
    fn a_missing_count_or_peak_is_missing_in_the_total() {
        let t = total(&[
            m(1.0, None, Some(1), None),
            m(1.0, Some(5.0), None, Some(2)),
        ]);
        assert_eq!(t.peak_mib, None);
        assert_eq!(t.counts, Counts::default());
        assert_eq!(t.events_per_s(), None);
        assert_eq!(
            mean_peak_mib(&[m(1.0, Some(4.0), None, None), m(1.0, Some(8.0), None, None)]),
            Some(6.0)
        );
        assert_eq!(mean_peak_mib(&[]), None);
    }

    #[test]
    fn ratios_are_old_over_new_and_refuse_a_zero_denominator() {
        assert_eq!(ratio(Some(8.0), Some(2.0)), Some(4.0));
        assert_eq!(ratio(Some(1.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
        assert_eq!(m(0.0, None, Some(5), Some(5)).events_per_s(), None);
    }

    #[test]
    fn counts_are_shown_with_units() {
        assert_eq!(count(Some(9_999.4)), "9999");
        assert_eq!(count(Some(91_472.2)), "91.5 k");
        assert_eq!(count(Some(2_200_000.0)), "2.20 M");
        assert_eq!(count(None), "n/a");
    }

    #[test]
    fn a_single_build_table() {
        let rows = vec![
            (
                "mono-single-tjob-0.1".to_owned(),
                m(0.42, Some(12.5), Some(40_000), Some(55_000)),
            ),
            (
                "two-level-tjob-10".to_owned(),
                m(3.0, Some(43.0), Some(2_500_000), None),
            ),
        ];
        insta::assert_snapshot!(render_single(&rows));
    }

    #[test]
    fn a_comparison_table() {
        let rows = vec![
            (
                "omega-fine-gang-tjob-1".to_owned(),
                m(0.80, Some(20.0), Some(18_000), Some(50_000)),
                m(0.20, Some(10.0), Some(18_000), Some(50_000)),
            ),
            (
                "two-level-tjob-0.1".to_owned(),
                m(12.0, Some(40.0), Some(3_000_000), None),
                m(2.0, Some(50.0), Some(3_100_000), Some(60_000)),
            ),
        ];
        insta::assert_snapshot!(render_comparison(&rows));
    }
}
