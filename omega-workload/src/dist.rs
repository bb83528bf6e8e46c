//! Distributions of job properties as they are written in TOML ([`Dist`]), their compiled,
//! fast form ([`Sampler`]), and the one rounding rule that turns samples into integers.
//!
//! Values are in the unit of the field that holds the distribution (`duration_s` in
//! seconds, `cpu_cores` in cores, …). In TOML a distribution is a one-key table:
//!
//! ```toml
//! tasks     = { lognormal = { mean = 10, std = 50 } }
//! cpu_cores = { normal = { mean = 2, std = 1, min = 0.1 } }
//! gpus      = { choice = { values = [1, 2], weights = [1, 1] } }
//! workers   = { constant = 11 }
//! ```
//!
//! Reading them is `forms.rs`'s job, so that a wrong shape names the forms above.
//!
//! # Rounding rule
//! A sample `x` in field units becomes an integer in base units (µs, millicores, MiB,
//! milli-GPUs, tasks) as `round(x × scale)` — [`f64::round`], halves away from zero —
//! then clamped to `[floor, ceiling]` of the field; NaN becomes the floor. See
//! [`to_units`].

use rand::{Rng, RngExt};
use rand_distr::{Exp1, StandardNormal};
use serde::Serialize;

use crate::WorkloadError;

/// How many times a truncated normal is redrawn before the sample is clamped into
/// `[min, max]` instead (only reached when the interval holds almost no probability mass).
pub const NORMAL_REJECTION_TRIES: u32 = 64;

/// A distribution of one job property, in the unit of the field that holds it.
///
/// ```
/// use omega_workload::Dist;
/// use rand::SeedableRng;
/// let d = Dist::Lognormal { mean: 10.0, std: 50.0 };
/// let s = d.compile("tasks")?;
/// let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
/// assert!(s.sample(&mut rng) > 0.0);
/// # Ok::<(), omega_workload::WorkloadError>(())
/// ```
///
/// A value of another shape is an error that lists these forms
/// ([`DIST_FORMS`](crate::DIST_FORMS)):
///
/// ```
/// use omega_workload::Dist;
/// #[derive(serde::Deserialize)]
/// struct Row { tasks: Dist }
/// let err = toml::from_str::<Row>("tasks = 50").err().map(|e| e.to_string());
/// assert!(err.is_some_and(|e| e.contains("`{ constant = 5 }`")));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dist {
    /// Always this value.
    Constant(f64),
    /// Uniform on `[min, max]`.
    Uniform {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
    },
    /// Exponential with this mean.
    Exponential {
        /// The mean (> 0).
        mean: f64,
    },
    /// Normal, truncated to `[min, max]` by redrawing (bounds optional).
    Normal {
        /// Mean before truncation.
        mean: f64,
        /// Standard deviation before truncation (>= 0).
        std: f64,
        /// Lower bound, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// Upper bound, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// Log-normal given by the mean and standard deviation of the value itself (not of its
    /// logarithm): `σ² = ln(1 + std²/mean²)`, `μ = ln(mean) − σ²/2`. Heavy-tailed when
    /// `std` is large against `mean`, as the seed's "tasks: mean 10, std 50".
    Lognormal {
        /// Mean of the value (> 0).
        mean: f64,
        /// Standard deviation of the value (>= 0).
        std: f64,
    },
    /// One of `values`, with probability proportional to `weights`.
    Choice {
        /// The possible values.
        values: Vec<f64>,
        /// One non-negative weight per value.
        weights: Vec<f64>,
    },
    /// An empirical CDF: `(value, cumulative probability)` points with both coordinates
    /// non-decreasing and the last probability 1. Values between points are interpolated
    /// linearly; the first point's probability is an atom at its value.
    Empirical {
        /// The CDF's points.
        points: Vec<(f64, f64)>,
    },
}

/// A compiled [`Dist`]: parameters precomputed, ready to sample fast.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampler(Kind);

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Constant(f64),
    Uniform {
        min: f64,
        span: f64,
    },
    Exponential {
        mean: f64,
    },
    Normal {
        mean: f64,
        std: f64,
        min: f64,
        max: f64,
    },
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    Choice {
        values: Vec<f64>,
        cumulative: Vec<f64>,
    },
    Empirical {
        values: Vec<f64>,
        probs: Vec<f64>,
    },
}

fn finite(field: &str, name: &str, x: f64) -> Result<f64, WorkloadError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(WorkloadError::invalid(
            format!("{field}.{name}"),
            format!("must be a finite number, got {x}"),
        ))
    }
}

impl Dist {
    /// Checks the parameters and precomputes the sampler. `field` names the field in
    /// error messages (e.g. `workload.classes[batch].tasks`).
    pub fn compile(&self, field: &str) -> Result<Sampler, WorkloadError> {
        let kind = match self {
            Dist::Constant(v) => Kind::Constant(finite(field, "constant", *v)?),
            Dist::Uniform { min, max } => uniform(&format!("{field}.uniform"), *min, *max)?,
            Dist::Exponential { mean } => exponential(&format!("{field}.exponential"), *mean)?,
            Dist::Normal {
                mean,
                std,
                min,
                max,
            } => normal(&format!("{field}.normal"), *mean, *std, *min, *max)?,
            Dist::Lognormal { mean, std } => lognormal(&format!("{field}.lognormal"), *mean, *std)?,
            Dist::Choice { values, weights } => {
                choice(&format!("{field}.choice"), values, weights)?
            }
            Dist::Empirical { points } => empirical(&format!("{field}.empirical.points"), points)?,
        };
        Ok(Sampler(kind))
    }
}

/// `uniform` at field `f`: finite bounds, `min <= max`.
fn uniform(f: &str, min: f64, max: f64) -> Result<Kind, WorkloadError> {
    let (lo, hi) = (finite(f, "min", min)?, finite(f, "max", max)?);
    if lo > hi {
        return Err(WorkloadError::invalid(
            f,
            format!("min ({lo}) is larger than max ({hi})"),
        ));
    }
    Ok(Kind::Uniform {
        min: lo,
        span: hi - lo,
    })
}

/// `exponential` at field `f`: a finite mean > 0.
fn exponential(f: &str, mean: f64) -> Result<Kind, WorkloadError> {
    let m = finite(f, "mean", mean)?;
    if m <= 0.0 {
        return Err(WorkloadError::invalid(
            format!("{f}.mean"),
            format!("must be > 0, got {m}"),
        ));
    }
    Ok(Kind::Exponential { mean: m })
}

/// `normal` at field `f`: a finite mean, a finite std >= 0, optional finite bounds with
/// `min <= max` (absent: unbounded).
fn normal(
    f: &str,
    mean: f64,
    std: f64,
    min: Option<f64>,
    max: Option<f64>,
) -> Result<Kind, WorkloadError> {
    let m = finite(f, "mean", mean)?;
    let s = finite(f, "std", std)?;
    if s < 0.0 {
        return Err(WorkloadError::invalid(
            format!("{f}.std"),
            format!("must be >= 0, got {s}"),
        ));
    }
    let lo = match min {
        Some(v) => finite(f, "min", v)?,
        None => f64::NEG_INFINITY,
    };
    let hi = match max {
        Some(v) => finite(f, "max", v)?,
        None => f64::INFINITY,
    };
    if lo > hi {
        return Err(WorkloadError::invalid(
            f,
            format!("min ({lo}) is larger than max ({hi})"),
        ));
    }
    Ok(Kind::Normal {
        mean: m,
        std: s,
        min: lo,
        max: hi,
    })
}

/// `lognormal` at field `f`: a finite mean > 0 and std >= 0 of the values themselves,
/// turned into the underlying normal's `mu` and `sigma`.
fn lognormal(f: &str, mean: f64, std: f64) -> Result<Kind, WorkloadError> {
    let m = finite(f, "mean", mean)?;
    let s = finite(f, "std", std)?;
    if m <= 0.0 {
        return Err(WorkloadError::invalid(
            format!("{f}.mean"),
            format!("must be > 0, got {m}"),
        ));
    }
    if s < 0.0 {
        return Err(WorkloadError::invalid(
            format!("{f}.std"),
            format!("must be >= 0, got {s}"),
        ));
    }
    let var_log = (1.0 + (s / m) * (s / m)).ln();
    Ok(Kind::Lognormal {
        mu: m.ln() - var_log / 2.0,
        sigma: var_log.sqrt(),
    })
}

/// `choice` at field `f`: values and as many finite weights >= 0, not all zero; the
/// weights become cumulative probabilities.
fn choice(f: &str, values: &[f64], weights: &[f64]) -> Result<Kind, WorkloadError> {
    if values.is_empty() {
        return Err(WorkloadError::invalid(
            format!("{f}.values"),
            "must not be empty",
        ));
    }
    if values.len() != weights.len() {
        return Err(WorkloadError::invalid(
            format!("{f}.weights"),
            format!(
                "has {} entries but values has {}",
                weights.len(),
                values.len()
            ),
        ));
    }
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut total = 0.0;
    for (i, w) in weights.iter().enumerate() {
        let w = finite(f, &format!("weights[{i}]"), *w)?;
        if w < 0.0 {
            return Err(WorkloadError::invalid(
                format!("{f}.weights[{i}]"),
                format!("must be >= 0, got {w}"),
            ));
        }
        total += w;
        cumulative.push(total);
    }
    if total <= 0.0 {
        return Err(WorkloadError::invalid(
            format!("{f}.weights"),
            "must not all be zero",
        ));
    }
    for c in &mut cumulative {
        *c /= total;
    }
    for (i, v) in values.iter().enumerate() {
        finite(f, &format!("values[{i}]"), *v)?;
    }
    Ok(Kind::Choice {
        values: values.to_vec(),
        cumulative,
    })
}

/// `empirical` points at field `f`: finite (value, probability) pairs, both
/// non-decreasing, probabilities within [0, 1] and the last one 1.
fn empirical(f: &str, points: &[(f64, f64)]) -> Result<Kind, WorkloadError> {
    if points.is_empty() {
        return Err(WorkloadError::invalid(f, "must not be empty"));
    }
    let mut prev = (f64::NEG_INFINITY, 0.0);
    for (i, &(v, p)) in points.iter().enumerate() {
        let fi = format!("{f}[{i}]");
        if !v.is_finite() || !p.is_finite() {
            return Err(WorkloadError::invalid(fi, "must hold finite numbers"));
        }
        if !(0.0..=1.0).contains(&p) {
            return Err(WorkloadError::invalid(
                fi,
                format!("probability {p} is outside [0, 1]"),
            ));
        }
        if v < prev.0 || p < prev.1 {
            return Err(WorkloadError::invalid(
                fi,
                "values and probabilities must both be non-decreasing",
            ));
        }
        prev = (v, p);
    }
    if prev.1 != 1.0 {
        return Err(WorkloadError::invalid(
            f,
            format!("the last probability must be 1, got {}", prev.1),
        ));
    }
    Ok(Kind::Empirical {
        values: points.iter().map(|p| p.0).collect(),
        probs: points.iter().map(|p| p.1).collect(),
    })
}

impl Sampler {
    /// One sample, in the unit of the field.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match &self.0 {
            Kind::Constant(v) => *v,
            Kind::Uniform { min, span } => min + span * rng.random::<f64>(),
            Kind::Exponential { mean } => {
                let e: f64 = rng.sample(Exp1);
                mean * e
            }
            Kind::Normal {
                mean,
                std,
                min,
                max,
            } => {
                let mut x = *mean;
                for _ in 0..NORMAL_REJECTION_TRIES {
                    let z: f64 = rng.sample(StandardNormal);
                    x = mean + std * z;
                    if x >= *min && x <= *max {
                        return x;
                    }
                }
                x.clamp(*min, *max)
            }
            Kind::Lognormal { mu, sigma } => {
                let z: f64 = rng.sample(StandardNormal);
                (mu + sigma * z).exp()
            }
            Kind::Choice { values, cumulative } => {
                let u: f64 = rng.random();
                let i = cumulative.partition_point(|&c| c <= u);
                values[i.min(values.len() - 1)]
            }
            Kind::Empirical { values, probs } => {
                let u: f64 = rng.random();
                let i = probs.partition_point(|&p| p <= u);
                if i == 0 {
                    values[0]
                } else if i >= values.len() {
                    values[values.len() - 1]
                } else {
                    let (p0, p1) = (probs[i - 1], probs[i]);
                    let (v0, v1) = (values[i - 1], values[i]);
                    v0 + (u - p0) / (p1 - p0) * (v1 - v0)
                }
            }
        }
    }

    /// The parameters `(μ, σ)` of the underlying normal, for a log-normal sampler.
    pub fn lognormal_params(&self) -> Option<(f64, f64)> {
        match self.0 {
            Kind::Lognormal { mu, sigma } => Some((mu, sigma)),
            _ => None,
        }
    }

    /// True if the sampler always returns the same value.
    pub fn is_constant(&self) -> bool {
        matches!(self.0, Kind::Constant(_))
    }
}

/// The rounding rule: `x` in field units to base units (`x × scale`, rounded half away
/// from zero), clamped to `[floor, ceiling]`; NaN gives `floor`.
///
/// ```
/// use omega_workload::to_units;
/// assert_eq!(to_units(2.0005, 1000.0, 1, u64::MAX), 2001); // 2000.5 rounds up
/// assert_eq!(to_units(-3.0, 1000.0, 1, u64::MAX), 1);      // floor
/// assert_eq!(to_units(f64::NAN, 1.0, 1, 10), 1);
/// assert_eq!(to_units(1e30, 1.0, 1, 10), 10);              // ceiling
/// ```
#[inline]
pub fn to_units(x: f64, scale: f64, floor: u64, ceiling: u64) -> u64 {
    // `as` saturates: negative and NaN give 0, huge values u64::MAX.
    (((x * scale).round()) as u64).clamp(floor, ceiling)
}
