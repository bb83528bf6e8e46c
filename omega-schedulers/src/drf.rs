//! Dominant Resource Fairness (Ghodsi et al., NSDI '11) for the two-level architecture: the
//! order in which a Mesos-style allocator offers resources to frameworks.
//!
//! A framework's dominant share is the largest, over CPU, GPU and memory, of its allocation
//! divided by the cell's total; a weighted framework's share is divided by its weight. The
//! allocator offers to the framework with the lowest (weighted) dominant share first.
//! Everything is integer arithmetic, so orders are exact and identical on every platform.

use std::cmp::Ordering;

use omega_core::Resources;

/// One framework as the allocator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FrameworkShare {
    /// What the framework holds now.
    pub allocated: Resources,
    /// Its weight: a framework of weight 2 is entitled to twice the share. 0 counts as 1.
    pub weight: u32,
    /// What it still wants; a framework that wants nothing gets no offer.
    pub demand: Resources,
}

/// A dominant share as an exact fixed-point number: `share × 2^64`, divided by the weight.
///
/// ```
/// use omega_core::Resources;
/// use omega_schedulers::weighted_dominant_share;
/// let total = Resources::new(10_000, 0, 100_000);
/// // 2 of 10 cores (20%) against 50 of 100 GiB-ish memory (50%): memory dominates.
/// let share = weighted_dominant_share(Resources::new(2_000, 0, 50_000), 1, total);
/// assert_eq!(share, 1u128 << 63); // one half
/// assert_eq!(weighted_dominant_share(Resources::new(2_000, 0, 50_000), 2, total), 1u128 << 62);
/// ```
pub fn weighted_dominant_share(allocated: Resources, weight: u32, total: Resources) -> u128 {
    let share = |used: u64, total: u64| -> u128 {
        if used == 0 {
            0
        } else if total == 0 {
            // Holding something the cell has none of: the largest share there is.
            u128::MAX
        } else {
            (u128::from(used) << 64) / u128::from(total)
        }
    };
    let dominant = share(allocated.cpu_milli, total.cpu_milli)
        .max(share(allocated.gpu_milli, total.gpu_milli))
        .max(share(allocated.mem_mib, total.mem_mib));
    dominant / u128::from(weight.max(1))
}

/// The order in which to offer resources: indexes of the frameworks with a non-zero demand,
/// lowest weighted dominant share first; ties by index.
///
/// ```
/// use omega_core::Resources;
/// use omega_schedulers::{FrameworkShare, drf_order};
/// let total = Resources::new(9_000, 0, 18_432);
/// let fw = |cpu, mem, weight| FrameworkShare {
///     allocated: Resources::new(cpu, 0, mem),
///     weight,
///     demand: Resources::new(1_000, 0, 1_024),
/// };
/// // The NSDI paper's example: A holds 3 tasks of <1 CPU, 4 GiB>, B holds 2 of <3 CPU, 1 GiB>;
/// // both dominant shares are 2/3, so the tie goes to the lower index.
/// let frameworks = [fw(3_000, 12_288, 1), fw(6_000, 2_048, 1), fw(0, 0, 1)];
/// assert_eq!(drf_order(&frameworks, total), vec![2, 0, 1]);
/// ```
pub fn drf_order(frameworks: &[FrameworkShare], total: Resources) -> Vec<usize> {
    let mut keyed: Vec<(u128, usize)> = frameworks
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.demand.is_zero())
        .map(|(i, f)| (weighted_dominant_share(f.allocated, f.weight, total), i))
        .collect();
    keyed.sort_unstable_by(|a, b| match a.0.cmp(&b.0) {
        Ordering::Equal => a.1.cmp(&b.1),
        o => o,
    });
    keyed.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fw(cpu: u64, gpu: u64, mem: u64, weight: u32) -> FrameworkShare {
        FrameworkShare {
            allocated: Resources::new(cpu, gpu, mem),
            weight,
            demand: Resources::new(1, 0, 1),
        }
    }

    #[test]
    fn lowest_dominant_share_first_over_every_resource() {
        let total = Resources::new(100_000, 10_000, 100_000);
        // Dominant shares: 0: cpu 30%; 1: gpu 20%; 2: mem 40%; 3: nothing.
        let f = [
            fw(30_000, 0, 10_000, 1),
            fw(10_000, 2_000, 10_000, 1),
            fw(0, 0, 40_000, 1),
            fw(0, 0, 0, 1),
        ];
        assert_eq!(drf_order(&f, total), vec![3, 1, 0, 2]);
    }

    #[test]
    fn weights_divide_shares() {
        let total = Resources::new(100_000, 0, 100_000);
        // 0 holds 40% at weight 4 (10%), 1 holds 20% at weight 1 (20%).
        let f = [fw(40_000, 0, 0, 4), fw(20_000, 0, 0, 1)];
        assert_eq!(drf_order(&f, total), vec![0, 1]);
        // Weight 0 counts as weight 1.
        let f = [fw(40_000, 0, 0, 0), fw(20_000, 0, 0, 1)];
        assert_eq!(drf_order(&f, total), vec![1, 0]);
    }

    #[test]
    fn frameworks_without_demand_are_left_out_and_ties_go_by_index() {
        let total = Resources::new(10, 0, 10);
        let mut f = [fw(1, 0, 1, 1), fw(1, 0, 1, 1), fw(0, 0, 0, 1)];
        f[2].demand = Resources::ZERO;
        assert_eq!(drf_order(&f, total), vec![0, 1]);
        assert!(drf_order(&[], total).is_empty());
    }

    #[test]
    fn holding_a_resource_the_cell_lacks_sorts_last() {
        let total = Resources::new(10, 0, 10);
        let f = [fw(0, 1_000, 0, 1), fw(10, 0, 10, 1)];
        assert_eq!(drf_order(&f, total), vec![1, 0]);
    }
}
