//! Daily values as the Omega paper reports them: the median of per-day values and their
//! median absolute deviation ([`median`], [`median_absolute_deviation`]), and how a run is cut
//! into days ([`day_count`]).

/// One simulated day, in µs.
pub const DAY_US: u64 = 86_400_000_000;

/// The days of a run that ends at `end_us`: the whole days `[k·24 h, (k+1)·24 h)` inside it
/// (a trailing part shorter than a day is left out of the daily values), or, for a run
/// shorter than a day, one "day" that is the whole run. Returns `(days, day_length_us)`.
pub fn day_count(end_us: u64) -> (u64, u64) {
    if end_us < DAY_US {
        (u64::from(end_us > 0), end_us)
    } else {
        (end_us / DAY_US, DAY_US)
    }
}

/// The median of `values` (the mean of the two middle ones for an even count), `None` when
/// empty.
///
/// ```
/// use omega_metrics::median;
/// assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
/// assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
/// ```
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

/// The median absolute deviation `median(|x - median(x)|)`, unscaled (no 1.4826 factor),
/// `None` when empty.
///
/// ```
/// use omega_metrics::median_absolute_deviation;
/// assert_eq!(median_absolute_deviation(&[1.0, 2.0, 3.0, 4.0, 100.0]), Some(1.0));
/// ```
pub fn median_absolute_deviation(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let deviations: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    median(&deviations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_of_short_and_long_runs() {
        assert_eq!(day_count(0), (0, 0));
        assert_eq!(day_count(1_800_000_000), (1, 1_800_000_000));
        assert_eq!(day_count(DAY_US), (1, DAY_US));
        assert_eq!(day_count(DAY_US * 7 + DAY_US / 2), (7, DAY_US));
    }

    #[test]
    fn statistics_of_nothing_are_none() {
        assert_eq!(median(&[]), None);
        assert_eq!(median_absolute_deviation(&[]), None);
        assert_eq!(median_absolute_deviation(&[5.0]), Some(0.0));
    }
}
