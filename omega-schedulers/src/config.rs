//! Policy configuration as plain data, and building policies from it.
//!
//! [`PolicyConfig`] is what the simulator embeds in its TOML: one table per scheduler with a
//! `kind` (`"batch"`, `"service"` or `"mapreduce"`) and that policy's parameters, every one
//! of them optional (defaults are documented on each config struct). Unknown keys are
//! errors, so a typo never silently falls back to a default.
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
