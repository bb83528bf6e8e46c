//! Machines: their fixed description ([`Machine`]) and their changing state ([`MachineState`]).
//!
//! What never changes during a run (type, capacity, GPU models, rack, labels) is kept apart
//! from what changes on every claim (allocation, per-device free GPU, version, up/down), so
//! the changing part is small, `Copy` and cheap to copy inside a persistent vector.

use std::collections::BTreeSet;

use crate::{FailureDomain, GPU_MILLI_PER_DEVICE, MAX_GPUS_PER_MACHINE, MachineId, Resources};

/// One GPU device of a machine.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GpuDevice {
    /// The device's model, e.g. `"V100"`; schedulers match it against constraints.
    pub model: String,
}

/// The fixed description of a machine: what it is, not what runs on it.
///
/// `capacity.gpu_milli` must be `1000 ×` the number of devices in `gpus`
/// ([`Machine::new`] keeps the two in step).
///
/// ```
/// use omega_core::{FailureDomain, Machine};
/// let c = Machine::new("C", 8_000, 32_768, FailureDomain(2))
///     .with_gpus(2, "T4")
///     .with_label("ssd");
/// assert_eq!(c.capacity.gpu_milli, 2_000);
/// assert!(c.has_label("ssd") && c.has_label("gpu=T4"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Machine {
    /// The machine type's name (e.g. `"A"`).
    pub type_name: String,
    /// Total resources of the machine.
    pub capacity: Resources,
    /// The GPU devices, at most [`MAX_GPUS_PER_MACHINE`].
    pub gpus: Vec<GpuDevice>,
    /// The failure domain (rack) the machine is in.
    pub failure_domain: FailureDomain,
    /// Labels that placement constraints can require.
    pub labels: BTreeSet<String>,
}

impl Machine {
    /// A machine of type `type_name` with the given CPU and memory and no GPU.
    pub fn new(
        type_name: impl Into<String>,
        cpu_milli: u64,
        mem_mib: u64,
        failure_domain: FailureDomain,
    ) -> Self {
        Self {
            type_name: type_name.into(),
            capacity: Resources::new(cpu_milli, 0, mem_mib),
            gpus: Vec::new(),
            failure_domain,
            labels: BTreeSet::new(),
        }
    }

    /// This machine with `count` GPU devices of model `model`; also adds the label
    /// `gpu=<model>` so constraints can ask for a GPU type.
    pub fn with_gpus(mut self, count: u8, model: &str) -> Self {
        self.gpus = (0..count)
            .map(|_| GpuDevice {
                model: model.to_owned(),
            })
            .collect();
        self.capacity.gpu_milli = u64::from(count) * GPU_MILLI_PER_DEVICE;
        if count > 0 {
            self.labels.insert(format!("gpu={model}"));
        }
        self
    }

    /// This machine with one more label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.labels.insert(label.into());
        self
    }

    /// True if the machine carries `label`.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.contains(label)
    }

    /// Checks that the description is consistent: at most [`MAX_GPUS_PER_MACHINE`]
    /// devices and `capacity.gpu_milli` equal to 1000 per device.
    pub fn validate(&self) -> Result<(), crate::CoreError> {
        let devices = self.gpus.len();
        if devices > MAX_GPUS_PER_MACHINE
            || self.capacity.gpu_milli != devices as u64 * GPU_MILLI_PER_DEVICE
        {
            return Err(crate::CoreError::InvalidMachine {
                reason: format!(
                    "{} GPU devices (at most {MAX_GPUS_PER_MACHINE}) and gpu_milli {} \
                     (must be 1000 per device)",
                    devices, self.capacity.gpu_milli
                ),
            });
        }
        Ok(())
    }
}

/// Whether a machine can run tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum MachineStatus {
    /// Running and accepting claims.
    Up,
    /// Failed: runs nothing and rejects claims until it recovers.
    Down,
    /// Taken out of the cell for good; its id is never reused.
    Removed,
}

/// The changing state of one machine: small and `Copy`, so persistent copies stay cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MachineState {
    /// Resources claimed by running tasks (`gpu_milli` is the sum over devices).
    pub allocated: Resources,
    /// Bumped by the changes the cell's [`VersionPolicy`](crate::VersionPolicy) names:
    /// committed claims (with their preemptions) and status changes always, releases
    /// unless the policy is the paper's `Claims`. Never goes down.
    pub version: u64,
    /// Up, down or removed.
    pub status: MachineStatus,
    /// Free milli-GPU of each device (entries past the device count are zero).
    pub gpu_free_milli: [u16; MAX_GPUS_PER_MACHINE],
}

impl MachineState {
    pub(crate) fn fresh(machine: &Machine) -> Self {
        let mut gpu_free_milli = [0u16; MAX_GPUS_PER_MACHINE];
        for slot in gpu_free_milli.iter_mut().take(machine.gpus.len()) {
            *slot = GPU_MILLI_PER_DEVICE as u16;
        }
        Self {
            allocated: Resources::ZERO,
            version: 0,
            status: MachineStatus::Up,
            gpu_free_milli,
        }
    }
}

/// A read-only view of one machine in a [`CellState`](crate::CellState): its description
/// and its current state together.
#[derive(Clone, Copy, Debug)]
pub struct MachineView<'a> {
    /// The machine's id.
    pub id: MachineId,
    /// Its fixed description.
    pub spec: &'a Machine,
    /// Its current state.
    pub state: MachineState,
}

impl MachineView<'_> {
    /// Resources not yet claimed (for GPUs, the sum of free milli-GPU over devices).
    pub fn free(&self) -> Resources {
        self.spec.capacity.saturating_sub(&self.state.allocated)
    }

    /// True if the machine is up.
    pub fn is_up(&self) -> bool {
        self.state.status == MachineStatus::Up
    }

    /// The machine's version.
    pub fn version(&self) -> u64 {
        self.state.version
    }

    /// Free milli-GPU of each of the machine's devices.
    pub fn gpu_free_milli(&self) -> &[u16] {
        &self.state.gpu_free_milli[..self.spec.gpus.len()]
    }

    /// Number of devices that are completely free.
    pub fn whole_free_gpus(&self) -> u32 {
        self.gpu_free_milli()
            .iter()
            .filter(|&&f| u64::from(f) == GPU_MILLI_PER_DEVICE)
            .count() as u32
    }
}
