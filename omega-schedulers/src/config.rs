//! Policy configuration as plain data, and building policies from it.
//!
//! [`PolicyConfig`] is what the simulator embeds in its TOML: one table per scheduler with a
//! `kind` (`"batch"`, `"service"` or `"mapreduce"`) and that policy's parameters, every one
//! of them optional (defaults are documented on each config struct). Unknown keys are
//! errors, so a typo never silently falls back to a default.
//!
//! The batch policy's `placement` key takes:
//! - `"random-first-fit"` (the default): the Omega paper simulator's randomized first fit,
//!   uniform draws from a pool of candidate machines that drops each machine a task does
//!   not fit on;
//! - `"random-start-scan"`: a scan in id order from a random start. This is what
//!   `"random-first-fit"` meant before the paper's rule was built; the old spelling is
//!   still accepted and now gives the paper's rule;
//! - `"power-of-choices"`: the least loaded of `choices` feasible machines.
//!
//! The `conflicts` key takes `"fine"` or `"coarse"`, the `commit` key `"incremental"` or
//! `"gang"`.
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use omega_schedulers::PolicyConfig;
//! let config: PolicyConfig = toml::from_str(r#"
//!     kind = "service"
//!     t_job_us = 1_000_000
//!     candidate_limit = 50
//!     conflicts = "coarse"
//!     [weights]
//!     spread = 4
//! "#).unwrap();
//! let policy = config.build().unwrap();
//! assert_eq!(policy.name(), "service");
//! assert!(toml::from_str::<PolicyConfig>("kind = \"batch\"\nchoises = 3").is_err());
//! # }
//! ```

use crate::{
    BatchConfig, BatchPolicy, MapReduceConfig, MapReducePolicy, Policy, ServiceConfig,
    ServicePolicy,
};

/// A policy's configuration, tagged by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "lowercase"))]
pub enum PolicyConfig {
    /// The batch policy.
    Batch(BatchConfig),
    /// The service policy.
    Service(ServiceConfig),
    /// The MapReduce policy.
    #[cfg_attr(feature = "serde", serde(rename = "mapreduce"))]
    MapReduce(MapReduceConfig),
}

impl PolicyConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            PolicyConfig::Batch(c) => c.validate(),
            PolicyConfig::Service(c) => c.validate(),
            PolicyConfig::MapReduce(c) => c.validate(),
        }
    }

    /// The policy this configuration describes, or why the configuration is invalid.
    pub fn build(&self) -> Result<Box<dyn Policy + Send + Sync>, ConfigError> {
        Ok(match self {
            PolicyConfig::Batch(c) => Box::new(BatchPolicy::new(c.clone())?),
            PolicyConfig::Service(c) => Box::new(ServicePolicy::new(c.clone())?),
            PolicyConfig::MapReduce(c) => Box::new(MapReducePolicy::new(c.clone())?),
        })
    }
}

/// A configuration value out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The field `field` has a value the policy cannot use.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, as `<kind>.<name>`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Serde for [`omega_core::ConflictMode`] as `"fine"` / `"coarse"`.
#[cfg(feature = "serde")]
pub(crate) mod conflict_mode {
    use omega_core::ConflictMode;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(mode: &ConflictMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match mode {
            ConflictMode::Fine => "fine",
            ConflictMode::Coarse => "coarse",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ConflictMode, D::Error> {
        match String::deserialize(d)?.as_str() {
            "fine" => Ok(ConflictMode::Fine),
            "coarse" => Ok(ConflictMode::Coarse),
            other => Err(D::Error::unknown_variant(other, &["fine", "coarse"])),
        }
    }
}

/// Serde for [`omega_core::CommitMode`] as `"incremental"` / `"gang"`.
#[cfg(feature = "serde")]
pub(crate) mod commit_mode {
    use omega_core::CommitMode;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(mode: &CommitMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match mode {
            CommitMode::Incremental => "incremental",
            CommitMode::Gang => "gang",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CommitMode, D::Error> {
        match String::deserialize(d)?.as_str() {
            "incremental" => Ok(CommitMode::Incremental),
            "gang" => Ok(CommitMode::Gang),
            other => Err(D::Error::unknown_variant(other, &["incremental", "gang"])),
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;
    use crate::{BatchPlacement, DeviceChoice, GrowthPolicy, ScoreWeights};
    use omega_core::{CommitMode, ConflictMode};

    #[test]
    fn a_bare_kind_gives_the_documented_defaults() {
        let batch: PolicyConfig = toml::from_str("kind = \"batch\"").unwrap();
        assert_eq!(batch, PolicyConfig::Batch(BatchConfig::default()));
        let PolicyConfig::Batch(b) = batch else {
            unreachable!()
        };
        assert_eq!((b.t_job_us, b.t_task_us, b.choices), (10_000, 500, 2));
        let service: PolicyConfig = toml::from_str("kind = \"service\"").unwrap();
        let PolicyConfig::Service(s) = service else {
            panic!("not service")
        };
        assert_eq!(
            (s.t_job_us, s.t_task_us, s.candidate_limit),
            (100_000, 5_000, 100)
        );
        assert_eq!(s.weights, ScoreWeights::default());
        let mr: PolicyConfig = toml::from_str("kind = \"mapreduce\"").unwrap();
        let PolicyConfig::MapReduce(m) = mr else {
            panic!("not mapreduce")
        };
        assert_eq!((m.global_cap_percent, m.max_worker_factor), (60, 4));
    }

    #[test]
    fn every_field_round_trips_through_toml() {
        let configs = [
            PolicyConfig::Batch(BatchConfig {
                placement: BatchPlacement::PowerOfChoices,
                choices: 3,
                conflicts: ConflictMode::Coarse,
                commit: CommitMode::Gang,
                ..BatchConfig::default()
            }),
            PolicyConfig::Service(ServiceConfig {
                weights: ScoreWeights {
                    fit: 2,
                    balance: 0,
                    spread: 3,
                    gpu_keep_free: 4,
                    gpu_fragmentation: 5,
                },
                candidate_percent: 5,
                device_choice: DeviceChoice::BestFit,
                fragmentation_sizes_milli: vec![100, 1000],
                preemption: false,
                ..ServiceConfig::default()
            }),
            PolicyConfig::MapReduce(MapReduceConfig {
                policy: GrowthPolicy::GlobalCap,
                efficiency_percent: 80,
                ..MapReduceConfig::default()
            }),
        ];
        for config in configs {
            let text = toml::to_string(&config).unwrap();
            let back: PolicyConfig = toml::from_str(&text).unwrap();
            assert_eq!(back, config, "{text}");
        }
    }

    #[test]
    fn batch_placements_have_the_documented_spellings() {
        for (text, want) in [
            ("random-first-fit", BatchPlacement::RandomFirstFit),
            ("random-start-scan", BatchPlacement::RandomStartScan),
            ("power-of-choices", BatchPlacement::PowerOfChoices),
        ] {
            let config: PolicyConfig =
                toml::from_str(&format!("kind = \"batch\"\nplacement = \"{text}\"")).unwrap();
            let PolicyConfig::Batch(b) = config else {
                panic!("not batch")
            };
            assert_eq!(b.placement, want, "{text}");
        }
        assert_eq!(
            BatchConfig::default().placement,
            BatchPlacement::RandomFirstFit
        );
        let err = toml::from_str::<PolicyConfig>("kind = \"batch\"\nplacement = \"scan\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("random-first-fit") && err.contains("random-start-scan"),
            "{err}"
        );
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        assert!(toml::from_str::<PolicyConfig>("kind = \"service\"\ncandidate_limt = 3").is_err());
        assert!(toml::from_str::<PolicyConfig>("kind = \"service\"\n[weights]\nfitt = 1").is_err());
        assert!(toml::from_str::<PolicyConfig>("kind = \"batch\"\nconflicts = \"Fine\"").is_err());
        assert!(toml::from_str::<PolicyConfig>("kind = \"scheduler\"").is_err());
        let zero_k: PolicyConfig = toml::from_str("kind = \"batch\"\nchoices = 0").unwrap();
        assert!(matches!(
            zero_k.build(),
            Err(ConfigError::Invalid {
                field: "batch.choices",
                ..
            })
        ));
        let pct: PolicyConfig =
            toml::from_str("kind = \"service\"\ncandidate_percent = 101").unwrap();
        assert!(pct.build().is_err());
        let sizes: PolicyConfig =
            toml::from_str("kind = \"service\"\nfragmentation_sizes_milli = [0]").unwrap();
        assert!(sizes.validate().is_err());
        let eff: PolicyConfig =
            toml::from_str("kind = \"mapreduce\"\nefficiency_percent = 0").unwrap();
        let err = eff.build().err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid mapreduce.efficiency_percent: must be in 1..=100"
        );
    }
}
