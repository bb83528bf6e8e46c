//! The one error type of the crate: bad TOML, invalid specs, and cells that cannot be built.

/// What went wrong while reading, checking or using a cluster or workload spec.
///
/// Every variant names the field at fault (as a dotted path such as
/// `workload.classes[batch].cpu_cores.normal.std`) or, for TOML syntax and unknown keys,
/// carries the parser's message with the line and column.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WorkloadError {
    /// The TOML text could not be parsed into a spec (syntax error, unknown key, wrong type).
    #[error("invalid TOML: {0}")]
    Toml(String),
    /// A spec could not be written as TOML.
    #[error("cannot write TOML: {0}")]
    TomlWrite(String),
    /// A field holds a value that is not allowed.
    #[error("{field}: {reason}")]
    Invalid {
        /// Dotted path of the field, e.g. `cluster.types[A].cpu_cores`.
        field: String,
        /// Why the value is not allowed.
        reason: String,
    },
    /// The machines could not be put into a cell.
    #[error("cannot build the cell: {0}")]
    Cell(#[from] omega_core::CoreError),
}

impl WorkloadError {
    /// An [`WorkloadError::Invalid`] for `field`.
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        WorkloadError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
