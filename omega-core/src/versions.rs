//! `VersionPolicy`: which changes to a machine bump its version, the number a coarse-grained
//! commit compares with the version the scheduler saw.
//!
//! The Omega paper's simulator changes a machine's sequence number only when a claim is
//! committed on it; a task that ends leaves it alone. Bumping on every change instead makes
//! coarse-grained detection reject claims on machines that only gained free room, which
//! conflicts several times more often. The cell offers both (and claims with releases), and
//! keeps today's "every change" as its default so that existing results stay put.

/// Which changes to a machine bump its version (see [`CellState::with_version_policy`]).
///
/// Under every policy a committed claim bumps its machine's version once per transaction,
/// and so does a change of the machine's status (failure, recovery, removal): a machine that
/// went down and came back is never mistaken for the one a scheduler saw. Preemption counts
/// as a claim: its victims always run on the machine the preempting claim takes, and that
/// claim's commit bumps the machine once, victims and all. The policies differ in what a
/// task that ends (a release) does:
///
/// | policy | claim (and its preemptions) | release | failure, recovery, removal |
/// |---|---|---|---|
/// | `claims` (the paper's) | bumps | no bump | bumps |
/// | `claims-and-releases` | bumps | bumps | bumps |
/// | `every-change` (default) | bumps | bumps | bumps |
///
/// With the changes the cell makes today, `claims-and-releases` and `every-change` give the
/// same versions: every change is a claim, a release or a status change. `every-change` is
/// the rule "any change bumps" under its own name, so that a kind of change added later
/// bumps under it and not under the other two without renaming anyone's configuration.
///
/// The serde names (feature `serde`) are the kebab-case ones in the table.
///
/// ```
/// use omega_core::*;
/// let cell = CellState::new([Machine::new("A", 8_000, 16_384, FailureDomain(0))])?;
/// let claim = |i, seen| Claim::new(TaskId::new(JobId(1), i), MachineId(0),
///                                  Resources::new(1_000, 0, 1_024), seen);
/// for (policy, version_after_release) in [(VersionPolicy::Claims, 1), (VersionPolicy::EveryChange, 2)] {
///     let cell = cell.clone().with_version_policy(policy);
///     let mut txn = Transaction::new(JobId(1)).with_conflicts(ConflictMode::Coarse);
///     txn.push(claim(0, 0));
///     let placed = cell.commit(&txn).state;                  // a claim: version 1
///     let (ended, _) = placed.release(TaskId::new(JobId(1), 0))?;
///     assert_eq!(ended.machine(MachineId(0)).unwrap().version(), version_after_release);
///     // A scheduler that saw version 1 before the task ended: only the paper's policy
///     // lets its coarse-grained claim through.
///     let mut late = Transaction::new(JobId(1)).with_conflicts(ConflictMode::Coarse);
///     late.push(claim(1, 1));
///     assert_eq!(ended.commit(&late).accepted.len(), usize::from(policy == VersionPolicy::Claims));
/// }
/// # Ok::<(), CoreError>(())
/// ```
///
/// [`CellState::with_version_policy`]: crate::CellState::with_version_policy
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum VersionPolicy {
    /// Only committed claims (with their preemptions) and status changes bump: the Omega
    /// paper's simulator, where a task that ends does not change its machine's version.
    Claims,
    /// Claims, releases and status changes bump.
    ClaimsAndReleases,
    /// Every change bumps: claims, releases, preemptions, failures, recoveries, removals.
    /// The default.
    #[default]
    EveryChange,
}

impl VersionPolicy {
    /// Every policy, in the order of the table above.
    pub const ALL: [VersionPolicy; 3] = [
        VersionPolicy::Claims,
        VersionPolicy::ClaimsAndReleases,
        VersionPolicy::EveryChange,
    ];

    /// The policy's configuration name (`"claims"`, `"claims-and-releases"`,
    /// `"every-change"`), as serde spells it.
    pub fn name(self) -> &'static str {
        match self {
            VersionPolicy::Claims => "claims",
            VersionPolicy::ClaimsAndReleases => "claims-and-releases",
            VersionPolicy::EveryChange => "every-change",
        }
    }

    /// True if a task that ends bumps its machine's version under this policy.
    pub fn bumps_on_release(self) -> bool {
        match self {
            VersionPolicy::Claims => false,
            VersionPolicy::ClaimsAndReleases | VersionPolicy::EveryChange => true,
        }
    }
}

impl std::fmt::Display for VersionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::VersionPolicy;

    #[test]
    fn serde_names_are_the_documented_ones() {
        for policy in VersionPolicy::ALL {
            let json = serde_json::to_string(&policy).unwrap();
            assert_eq!(json, format!("\"{}\"", policy.name()));
            let back: VersionPolicy = serde_json::from_str(&json).unwrap();
            assert_eq!(back, policy);
        }
        let err = serde_json::from_str::<VersionPolicy>("\"claim\"").unwrap_err();
        let text = err.to_string();
        for policy in VersionPolicy::ALL {
            assert!(text.contains(policy.name()), "{text}");
        }
    }
}
