//! Feasibility of one task on one machine, GPU device choice, and GPU fragmentation.
//!
//! These are the small, shared links of every policy's chain: does a task fit a machine
//! (cheapest checks first: up, totals, devices, labels), which device(s) it should use, and
//! how much a fractional-GPU placement fragments a device. All integer arithmetic.

use omega_core::{
    Constraints, GPU_MILLI_PER_DEVICE, GpuDevices, GpuRequest, Machine, MachineState,
    MachineStatus, Placement, Resources,
};

/// How a policy picks the GPU device(s) of a task on a chosen machine.
///
/// Whole-GPU requests always take the lowest-numbered fully free devices; the choice only
/// matters for fractional requests, which must fit on one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum DeviceChoice {
    /// The tightest device that fits: least free milli-GPU left over (ties: lowest index).
    #[default]
    BestFit,
    /// The device whose fragmentation grows least (see [`device_fragmentation_milli`];
    /// ties: tightest, then lowest index).
    LeastFragmentation,
}

/// Reference GPU request sizes, in milli-GPU, that fragmentation is measured against by
/// default: a quarter, a half and a whole device.
pub const DEFAULT_FRAGMENTATION_SIZES_MILLI: [u16; 3] = [250, 500, 1000];

/// The fragmentation of one GPU device with `free_milli` free, against reference request
/// sizes `sizes_milli`: the average, over the sizes, of the free milli-GPU that a request of
/// that size could not use (all of it when it is smaller than the size, none otherwise).
///
/// This is the per-device measure of Alibaba's fragmentation-gradient-descent policy
/// (Weng et al., ATC '23) with the workload's request-size distribution replaced by a
/// uniform list of reference sizes. An empty list means no fragmentation.
///
/// ```
/// use omega_schedulers::device_fragmentation_milli;
/// let sizes = [250, 500, 1000];
/// assert_eq!(device_fragmentation_milli(1000, &sizes), 0); // a free device is usable by all
/// assert_eq!(device_fragmentation_milli(0, &sizes), 0); // a full device wastes nothing
/// assert_eq!(device_fragmentation_milli(300, &sizes), 200); // 300 is lost to 500 and 1000
/// ```
pub fn device_fragmentation_milli(free_milli: u16, sizes_milli: &[u16]) -> u32 {
    if sizes_milli.is_empty() {
        return 0;
    }
    let lost: u32 = sizes_milli
        .iter()
        .filter(|&&s| free_milli < s)
        .map(|_| u32::from(free_milli))
        .sum();
    lost / sizes_milli.len() as u32
}

/// A task's request, read once per decision.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape<'a> {
    pub resources: Resources,
    /// `None` if the GPU request has an invalid shape: such a task fits nowhere.
    pub gpu: Option<GpuRequest>,
    /// The job's constraints, for their labels; `None` if they name no label.
    pub labels: Option<&'a Constraints>,
}

impl<'a> Shape<'a> {
    pub fn new(resources: Resources, constraints: &'a Constraints) -> Self {
        Self {
            resources,
            gpu: resources.gpu_request(),
            labels: constraints.has_labels().then_some(constraints),
        }
    }

    /// True if the machine meets the job's label constraints.
    #[inline]
    pub fn labels_allow(&self, spec: &Machine) -> bool {
        self.labels.is_none_or(|c| c.allow(spec))
    }
}

/// Free resources of a machine.
#[inline]
pub(crate) fn free_of(spec: &Machine, state: &MachineState) -> Resources {
    spec.capacity.saturating_sub(&state.allocated)
}

/// Checks that never change during a run: the machine is big enough and has the labels.
#[inline]
pub(crate) fn statically_feasible(spec: &Machine, shape: &Shape<'_>) -> bool {
    shape.gpu.is_some() && shape.resources.fits(&spec.capacity) && shape.labels_allow(spec)
}

/// True if `free` per-device GPU can take `request`.
#[inline]
pub(crate) fn devices_fit(free: &[u16], request: GpuRequest) -> bool {
    match request {
        GpuRequest::None => true,
        GpuRequest::Fraction(m) => free.iter().any(|&f| f >= m),
        GpuRequest::Whole(n) => {
            free.iter()
                .filter(|&&f| u64::from(f) == GPU_MILLI_PER_DEVICE)
                .count()
                >= usize::from(n)
        }
    }
}

/// Everything a commit would check, except versions: the machine is up, the totals fit,
/// the devices fit and it has the labels. Cheapest checks first.
#[inline]
pub(crate) fn fits_now(spec: &Machine, state: &MachineState, shape: &Shape<'_>) -> bool {
    let Some(request) = shape.gpu else {
        return false;
    };
    state.status == MachineStatus::Up
        && shape.resources.fits(&free_of(spec, state))
        && (request == GpuRequest::None
            || devices_fit(&state.gpu_free_milli[..spec.gpus.len()], request))
        && shape.labels_allow(spec)
}

/// The device(s) a task uses on a machine whose devices have `free` milli-GPU each, or
/// `None` if it does not fit.
pub(crate) fn choose_devices(
    free: &[u16],
    request: GpuRequest,
    choice: DeviceChoice,
    sizes_milli: &[u16],
) -> Option<GpuDevices> {
    match request {
        GpuRequest::None => Some(GpuDevices::NONE),
        GpuRequest::Whole(n) => {
            let mut set = GpuDevices::NONE;
            let mut taken = 0u8;
            for (i, &f) in free.iter().enumerate() {
                if taken == n {
                    break;
                }
                if u64::from(f) == GPU_MILLI_PER_DEVICE {
                    set = set.with(i as u8);
                    taken += 1;
                }
            }
            (taken == n).then_some(set)
        }
        GpuRequest::Fraction(m) => {
            // Key to minimise: (fragmentation added, free left, index).
            let mut best: Option<(i64, u16, usize)> = None;
            for (i, &f) in free.iter().enumerate() {
                if f < m {
                    continue;
                }
                let left = f - m;
                let added = match choice {
                    DeviceChoice::BestFit => 0,
                    DeviceChoice::LeastFragmentation => fragmentation_added(f, m, sizes_milli),
                };
                let key = (added, left, i);
                if best.is_none_or(|b| key < b) {
                    best = Some(key);
                }
            }
            best.map(|(_, _, i)| GpuDevices::one(i as u8))
        }
    }
}

/// How much placing `request_milli` on a device with `free_milli` free changes its
/// fragmentation (negative: it shrinks).
#[inline]
pub(crate) fn fragmentation_added(free_milli: u16, request_milli: u16, sizes_milli: &[u16]) -> i64 {
    let after = device_fragmentation_milli(free_milli.saturating_sub(request_milli), sizes_milli);
    let before = device_fragmentation_milli(free_milli, sizes_milli);
    i64::from(after) - i64::from(before)
}

/// The milli-GPU a running placement holds on each of its devices.
pub(crate) fn per_device_share(p: &Placement) -> u16 {
    match p.resources.gpu_request() {
        Some(GpuRequest::Fraction(m)) => m,
        Some(GpuRequest::Whole(_)) => GPU_MILLI_PER_DEVICE as u16,
        _ => 0,
    }
}

/// Utilisation in permille of `used` out of `capacity` (0 when the capacity is zero).
#[inline]
pub(crate) fn permille(used: u64, capacity: u64) -> u64 {
    if capacity == 0 {
        0
    } else {
        (u128::from(used) * 1000 / u128::from(capacity)).min(1000) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragmentation_counts_free_share_too_small_for_each_size() {
        let sizes = [250, 500, 1000];
        // 600 free: usable by 250 and 500, lost to 1000 => 600 / 3.
        assert_eq!(device_fragmentation_milli(600, &sizes), 200);
        // 100 free: lost to all three sizes.
        assert_eq!(device_fragmentation_milli(100, &sizes), 100);
        assert_eq!(device_fragmentation_milli(500, &[]), 0);
    }

    #[test]
    fn best_fit_takes_the_tightest_device() {
        let free = [1000, 300, 600, 300];
        let d = choose_devices(&free, GpuRequest::Fraction(250), DeviceChoice::BestFit, &[]);
        assert_eq!(d, Some(GpuDevices::one(1)));
        let d = choose_devices(&free, GpuRequest::Fraction(700), DeviceChoice::BestFit, &[]);
        assert_eq!(d, Some(GpuDevices::one(0)));
        let d = choose_devices(&free, GpuRequest::Fraction(900), DeviceChoice::BestFit, &[]);
        assert_eq!(d, Some(GpuDevices::one(0)));
        assert_eq!(
            choose_devices(
                &[200],
                GpuRequest::Fraction(250),
                DeviceChoice::BestFit,
                &[]
            ),
            None
        );
    }

    #[test]
    fn least_fragmentation_can_differ_from_best_fit() {
        // Against a single reference size of 500: a 300 request on [1000, 700] free.
        // Best fit takes device 1 (leaves 400, which a 500 request cannot use: +400);
        // least fragmentation takes device 0 (leaves 700, still usable: +0).
        let sizes = [500];
        let free = [1000, 700];
        let req = GpuRequest::Fraction(300);
        assert_eq!(fragmentation_added(700, 300, &sizes), 400);
        assert_eq!(fragmentation_added(1000, 300, &sizes), 0);
        let bf = choose_devices(&free, req, DeviceChoice::BestFit, &sizes);
        let lf = choose_devices(&free, req, DeviceChoice::LeastFragmentation, &sizes);
        assert_eq!(bf, Some(GpuDevices::one(1)));
        assert_eq!(lf, Some(GpuDevices::one(0)));
        // With the default sizes, filling a partly used device is the better move:
        // 600 -> 100 loses 100 of fragmentation, 1000 -> 500 adds 166.
        let sizes = DEFAULT_FRAGMENTATION_SIZES_MILLI;
        assert_eq!(fragmentation_added(600, 500, &sizes), -100);
        assert_eq!(fragmentation_added(1000, 500, &sizes), 166);
        let lf = choose_devices(
            &[1000, 600],
            GpuRequest::Fraction(500),
            DeviceChoice::LeastFragmentation,
            &sizes,
        );
        assert_eq!(lf, Some(GpuDevices::one(1)));
    }

    #[test]
    fn whole_requests_take_free_devices_in_order() {
        let free = [1000, 500, 1000, 1000];
        let d = choose_devices(&free, GpuRequest::Whole(2), DeviceChoice::BestFit, &[]);
        assert_eq!(d, Some(GpuDevices::one(0).with(2)));
        assert_eq!(
            choose_devices(&free, GpuRequest::Whole(4), DeviceChoice::BestFit, &[]),
            None
        );
        assert!(devices_fit(&free, GpuRequest::Whole(3)));
        assert!(!devices_fit(&free, GpuRequest::Whole(4)));
    }
}
