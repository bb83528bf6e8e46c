//! Fairness: [`dominant_share`] (DRF's measure) and [`jain_index`] over the shares of those
//! with unmet demand.

use omega_core::Resources;

/// The largest of `held`'s shares of `capacity` over CPU, GPU and memory, skipping a
/// resource the capacity has none of (so never infinite: a class holding GPUs while no GPU
/// machine is up counts by its CPU and memory).
///
/// ```
/// use omega_core::Resources;
/// use omega_metrics::dominant_share;
/// let cell = Resources::new(100_000, 0, 400_000);
/// assert_eq!(dominant_share(&Resources::new(10_000, 1_000, 80_000), &cell), 0.2);
/// ```
pub fn dominant_share(held: &Resources, capacity: &Resources) -> f64 {
    let share = |used: u64, total: u64| -> f64 {
        if total == 0 {
            0.0
        } else {
            used as f64 / total as f64
        }
    };
    share(held.cpu_milli, capacity.cpu_milli)
        .max(share(held.gpu_milli, capacity.gpu_milli))
        .max(share(held.mem_mib, capacity.mem_mib))
}

/// Jain's fairness index `(Σx)² / (n · Σx²)` of `shares`: 1 when all are equal, `1/n` when
/// one holds everything. With nobody (`n = 0`: no one is starved) or everybody at 0 (all
/// equal) it is 1.
///
/// ```
/// use omega_metrics::jain_index;
/// assert_eq!(jain_index(&[0.3, 0.3]), 1.0);
/// assert_eq!(jain_index(&[0.6, 0.0]), 0.5);
/// assert_eq!(jain_index(&[]), 1.0);
/// ```
pub fn jain_index(shares: &[f64]) -> f64 {
    let sum: f64 = shares.iter().sum();
    let sum_sq: f64 = shares.iter().map(|x| x * x).sum();
    if shares.is_empty() || sum_sq == 0.0 {
        1.0
    } else {
        sum * sum / (shares.len() as f64 * sum_sq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_of_three_unequal_shares() {
        // (0.1 + 0.2 + 0.3)^2 / (3 * (0.01 + 0.04 + 0.09)) = 0.36 / 0.42.
        let j = jain_index(&[0.1, 0.2, 0.3]);
        assert!((j - 0.36 / 0.42).abs() < 1e-12, "{j}");
        assert_eq!(jain_index(&[0.0, 0.0]), 1.0);
    }

    #[test]
    fn dominant_share_takes_the_largest_resource() {
        let cell = Resources::new(10_000, 4_000, 1_000);
        assert_eq!(
            dominant_share(&Resources::new(1_000, 2_000, 100), &cell),
            0.5
        );
        assert_eq!(dominant_share(&Resources::ZERO, &Resources::ZERO), 0.0);
    }
}
