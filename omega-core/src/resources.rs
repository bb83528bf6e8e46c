//! Resource vectors in integer units, and how a request uses GPU devices.
//!
//! CPU is in millicores, GPU in milli-GPUs, memory in MiB. A GPU request is either a
//! fraction of one device (`1..=999` milli) or a whole number of devices (a multiple of
//! 1000); [`Resources::gpu_request`] tells which. [`GpuDevices`] names the devices a claim
//! uses on its machine.

use core::fmt;

/// Milli-GPUs in one whole GPU device.
pub const GPU_MILLI_PER_DEVICE: u64 = 1000;

/// The most GPU devices one machine may have.
pub const MAX_GPUS_PER_MACHINE: usize = 8;

/// An amount of each resource: CPU millicores, milli-GPUs and MiB of memory.
///
/// ```
/// use omega_core::Resources;
/// let machine = Resources::new(8_000, 2_000, 32_768);
/// let task = Resources::new(2_000, 0, 4_096);
/// assert!(task.fits(&machine));
/// assert_eq!(machine.checked_sub(&task), Some(Resources::new(6_000, 2_000, 28_672)));
/// ```
/// Not ordered: no order of resource vectors means anything (compare a component, or use
/// [`Resources::fits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Resources {
    /// CPU in millicores (1000 = one core).
    pub cpu_milli: u64,
    /// GPU in milli-GPUs (1000 = one whole device).
    pub gpu_milli: u64,
    /// Memory in MiB.
    pub mem_mib: u64,
}

/// The shape of a GPU request, as [`Resources::gpu_request`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuRequest {
    /// No GPU.
    None,
    /// A share of one device, in milli-GPUs (`1..=999`); it must fit on a single device.
    Fraction(u16),
    /// This many whole, fully free devices.
    Whole(u8),
}

impl Resources {
    /// No resources at all.
    pub const ZERO: Resources = Resources {
        cpu_milli: 0,
        gpu_milli: 0,
        mem_mib: 0,
    };

    /// A resource vector from its three parts.
    pub const fn new(cpu_milli: u64, gpu_milli: u64, mem_mib: u64) -> Self {
        Self {
            cpu_milli,
            gpu_milli,
            mem_mib,
        }
    }

    /// True if every component of `self` is at most the same component of `available`.
    ///
    /// This compares totals only; whether a GPU request fits on particular devices is
    /// decided per device by the cell.
    pub const fn fits(&self, available: &Resources) -> bool {
        self.cpu_milli <= available.cpu_milli
            && self.gpu_milli <= available.gpu_milli
            && self.mem_mib <= available.mem_mib
    }

    /// Component-wise sum, or `None` on overflow.
    pub fn checked_add(&self, other: &Resources) -> Option<Resources> {
        Some(Resources {
            cpu_milli: self.cpu_milli.checked_add(other.cpu_milli)?,
            gpu_milli: self.gpu_milli.checked_add(other.gpu_milli)?,
            mem_mib: self.mem_mib.checked_add(other.mem_mib)?,
        })
    }

    /// Component-wise difference, or `None` if any component would go below zero.
    pub fn checked_sub(&self, other: &Resources) -> Option<Resources> {
        Some(Resources {
            cpu_milli: self.cpu_milli.checked_sub(other.cpu_milli)?,
            gpu_milli: self.gpu_milli.checked_sub(other.gpu_milli)?,
            mem_mib: self.mem_mib.checked_sub(other.mem_mib)?,
        })
    }

    /// Component-wise difference, clamped at zero.
    pub fn saturating_sub(&self, other: &Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli.saturating_sub(other.cpu_milli),
            gpu_milli: self.gpu_milli.saturating_sub(other.gpu_milli),
            mem_mib: self.mem_mib.saturating_sub(other.mem_mib),
        }
    }

    /// Component-wise product with a count, or `None` on overflow.
    pub fn checked_mul(&self, n: u64) -> Option<Resources> {
        Some(Resources {
            cpu_milli: self.cpu_milli.checked_mul(n)?,
            gpu_milli: self.gpu_milli.checked_mul(n)?,
            mem_mib: self.mem_mib.checked_mul(n)?,
        })
    }

    /// True if every component is zero.
    pub const fn is_zero(&self) -> bool {
        self.cpu_milli == 0 && self.gpu_milli == 0 && self.mem_mib == 0
    }

    /// How the GPU part of this request uses devices, or `None` if it is neither a fraction
    /// of one device nor a whole number of at most [`MAX_GPUS_PER_MACHINE`] devices.
    ///
    /// ```
    /// use omega_core::{GpuRequest, Resources};
    /// assert_eq!(Resources::new(1, 460, 1).gpu_request(), Some(GpuRequest::Fraction(460)));
    /// assert_eq!(Resources::new(1, 2000, 1).gpu_request(), Some(GpuRequest::Whole(2)));
    /// assert_eq!(Resources::new(1, 1500, 1).gpu_request(), None);
    /// ```
    pub fn gpu_request(&self) -> Option<GpuRequest> {
        match self.gpu_milli {
            0 => Some(GpuRequest::None),
            g if g < GPU_MILLI_PER_DEVICE => Some(GpuRequest::Fraction(g as u16)),
            g if g % GPU_MILLI_PER_DEVICE == 0
                && g / GPU_MILLI_PER_DEVICE <= MAX_GPUS_PER_MACHINE as u64 =>
            {
                Some(GpuRequest::Whole((g / GPU_MILLI_PER_DEVICE) as u8))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}m cpu, {}m gpu, {} MiB",
            self.cpu_milli, self.gpu_milli, self.mem_mib
        )
    }
}

/// A set of GPU device indexes on one machine (bit `i` = device `i`).
///
/// A claim names the devices it uses: one device for a fractional request, as many as it
/// asks for whole devices, none without GPUs.
///
/// ```
/// use omega_core::GpuDevices;
/// let d = GpuDevices::NONE.with(0).with(3);
/// assert_eq!(d.len(), 2);
/// assert_eq!(d.iter().collect::<Vec<_>>(), vec![0, 3]);
/// assert!(d.contains(3) && !d.contains(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GpuDevices(pub u8);

impl GpuDevices {
    /// No device.
    pub const NONE: GpuDevices = GpuDevices(0);

    /// The single device `index`.
    pub const fn one(index: u8) -> Self {
        GpuDevices(1 << (index & 7))
    }

    /// This set plus device `index` (`index < 8`).
    pub const fn with(self, index: u8) -> Self {
        GpuDevices(self.0 | (1 << (index & 7)))
    }

    /// True if device `index` is in the set.
    pub const fn contains(self, index: u8) -> bool {
        index < 8 && self.0 & (1 << index) != 0
    }

    /// How many devices are in the set.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// True if the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The device indexes, in increasing order.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (0u8..8).filter(move |i| self.0 & (1 << i) != 0)
    }
}
