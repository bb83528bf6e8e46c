//! [`Histogram`]: a log-linear histogram of microsecond durations with a stated error bound,
//! for the wait, reschedule and offer quantiles.
//!
//! Values below 1,024 µs are kept exactly. Above, each power of two is split into 1,024
//! equal buckets, so a bucket spans at most 1/1,024 of its lower edge; a quantile is reported
//! as its bucket's midpoint (clamped to the smallest and largest value seen), which is within
//! [`RELATIVE_ERROR`] (2⁻¹¹, under 0.05%) of the exact value. The count, sum (so the mean),
//! minimum and maximum are exact. Memory is one map entry per occupied bucket: at most about
//! 55,000 whatever the number of values, and a few hundred in practice.

use std::collections::BTreeMap;

/// Sub-bucket bits: each power of two above `2^SUB_BITS` µs is split into `2^SUB_BITS` buckets.
const SUB_BITS: u32 = 10;
const SUB_COUNT: u64 = 1 << SUB_BITS;

/// The largest relative error of [`Histogram::quantile`] against the exact nearest-rank
/// quantile: 2⁻¹¹ (values under 1,024 µs are exact).
pub const RELATIVE_ERROR: f64 = 1.0 / (2 * SUB_COUNT) as f64;

/// A streaming histogram of `u64` values (microseconds) with exact count, mean, min and max,
/// and quantiles within [`RELATIVE_ERROR`].
///
/// ```
/// use omega_metrics::Histogram;
/// let mut h = Histogram::default();
/// for us in [10, 20, 30, 40] {
///     h.record(us);
/// }
/// assert_eq!(h.count(), 4);
/// assert_eq!(h.mean(), Some(25.0));
/// // Nearest rank: the median of four values is the second.
/// assert_eq!(h.quantile(0.5), Some(20));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    buckets: BTreeMap<u32, u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

/// The bucket of `value`.
fn bucket_of(value: u64) -> u32 {
    if value < SUB_COUNT {
        return value as u32;
    }
    let exponent = 63 - value.leading_zeros(); // >= SUB_BITS
    let shift = exponent - SUB_BITS;
    let sub = (value >> shift) - SUB_COUNT; // 0..SUB_COUNT
    ((shift + 1) << SUB_BITS) + sub as u32
}

/// The smallest and largest value of bucket `bucket`.
fn bucket_range(bucket: u32) -> (u64, u64) {
    let group = bucket >> SUB_BITS;
    if group == 0 {
        return (u64::from(bucket), u64::from(bucket));
    }
    let shift = group - 1;
    let sub = u64::from(bucket) & (SUB_COUNT - 1);
    let lo = (SUB_COUNT + sub) << shift;
    (lo, lo + ((1u64 << shift) - 1))
}

impl Histogram {
    /// Adds one value.
    pub fn record(&mut self, value: u64) {
        *self.buckets.entry(bucket_of(value)).or_insert(0) += 1;
        if self.count == 0 || value < self.min {
            self.min = value;
        }
        self.max = self.max.max(value);
        self.count += 1;
        self.sum += u128::from(value);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        for (&bucket, &n) in &other.buckets {
            *self.buckets.entry(bucket).or_insert(0) += n;
        }
        if self.count == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.count += other.count;
        self.sum += other.sum;
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact mean, or `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The largest value, or `None` when empty.
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// The `p`-quantile (`p` in `[0, 1]`, clamped) by nearest rank: the value of rank
    /// `max(1, ceil(p × count))` in sorted order, within [`RELATIVE_ERROR`] (exact for the
    /// first and last rank: the minimum and maximum); `None` when empty.
    pub fn quantile(&self, p: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        let rank = ((p * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank == 1 {
            return Some(self.min);
        }
        if rank == self.count {
            return Some(self.max);
        }
        let mut seen = 0;
        for (&bucket, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                let (lo, hi) = bucket_range(bucket);
                let mid = lo + (hi - lo) / 2;
                return Some(mid.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_once() {
        for v in [
            0,
            1,
            1023,
            1024,
            1025,
            2047,
            2048,
            2049,
            999_999,
            u64::MAX / 3,
            u64::MAX,
        ] {
            let (lo, hi) = bucket_range(bucket_of(v));
            assert!(lo <= v && v <= hi, "{v} outside its bucket {lo}..={hi}");
            assert!(
                (hi - lo) as f64 <= lo as f64 / SUB_COUNT as f64,
                "bucket of {v} too wide"
            );
        }
        assert_eq!(bucket_of(1024), 1024);
        assert_eq!(bucket_range(1024), (1024, 1024));
        assert_eq!(bucket_range(bucket_of(2048)), (2048, 2049));
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), Some(50));
        assert_eq!(h.quantile(0.9), Some(90));
        assert_eq!(h.quantile(0.99), Some(99));
        assert_eq!(h.quantile(1.0), Some(100));
        assert_eq!(h.quantile(0.0), Some(1));
        assert_eq!(h.mean(), Some(50.5));
        assert_eq!(h.max(), Some(100));
    }

    #[test]
    fn large_values_are_within_the_bound() {
        // 1 s, 2 s, ..., 10 s: p90 is 9 s exactly, reported within 2^-11.
        let mut h = Histogram::default();
        for s in 1..=10u64 {
            h.record(s * 1_000_000);
        }
        let p90 = h.quantile(0.9).unwrap_or(0) as f64;
        assert!((p90 - 9e6).abs() <= 9e6 * RELATIVE_ERROR, "{p90}");
        assert_eq!(
            h.quantile(1.0),
            Some(10_000_000),
            "the last rank is the exact max"
        );
        assert_eq!(h.mean(), Some(5_500_000.0));
    }

    #[test]
    fn empty_has_no_statistics() {
        let h = Histogram::default();
        assert_eq!(
            (h.count(), h.mean(), h.quantile(0.5), h.max()),
            (0, None, None, None)
        );
    }
}
