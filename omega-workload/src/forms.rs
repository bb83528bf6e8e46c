//! Reading [`Dist`] and [`Arrivals`] (one-key tables such as `{ lognormal = { mean = 10,
//! std = 50 } }`) with errors in the config's language: a wrong value says which forms
//! the key accepts, with an example, instead of "wanted string or table" or the name of
//! a Rust type. Writing them is serde's derived form, which these readers accept back.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::{Arrivals, Dist};

/// The forms a distribution key (`tasks`, `duration_s`, `cpu_cores`, ...) accepts, as
/// error messages list them.
pub const DIST_FORMS: &str = "a distribution, written as a table with one key: \
    `{ constant = 5 }`, `{ uniform = { min = 1, max = 10 } }`, \
    `{ exponential = { mean = 30 } }`, `{ normal = { mean = 2, std = 1, min = 0.1 } }` \
    (min and max optional), `{ lognormal = { mean = 10, std = 50 } }`, \
    `{ choice = { values = [1, 2], weights = [3, 1] } }` or \
    `{ empirical = { points = [[1, 0.5], [10, 1.0]] } }`";

/// The forms `arrivals` accepts, as error messages list them.
pub const ARRIVAL_FORMS: &str = "an arrival process, written as a table with one key: \
    `{ exponential = { mean_s = 30 } }` (Poisson, mean seconds between jobs), \
    `{ constant = { interval_s = 60 } }` (one job every 60 s) or \
    `{ share = { share = 0.2 } }` (a share of `total_mean_interarrival_s`)";

/// A number (integer or decimal) for `{ constant = ... }`.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, as in `{ constant = 5 }`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "the uniform law's bounds, as in `{ uniform = { min = 1, max = 10 } }`"
)]
struct UniformBody {
    min: f64,
    max: f64,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "the exponential law's mean, as in `{ exponential = { mean = 30 } }`"
)]
struct ExponentialBody {
    mean: f64,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "the normal law's parameters, as in `{ normal = { mean = 2, std = 1, min = 0.1 } }` \
                 (min and max optional)"
)]
struct NormalBody {
    mean: f64,
    std: f64,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "the log-normal law's mean and std (of the value), as in \
                 `{ lognormal = { mean = 10, std = 50 } }`"
)]
struct LognormalBody {
    mean: f64,
    std: f64,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "values and their weights, as in `{ choice = { values = [1, 2], weights = [3, 1] } }`"
)]
struct ChoiceBody {
    values: Vec<f64>,
    weights: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "CDF points `[value, cumulative probability]`, as in \
                 `{ empirical = { points = [[1, 0.5], [10, 1.0]] } }`"
)]
struct EmpiricalBody {
    points: Vec<(f64, f64)>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "the mean time between jobs in seconds, as in `{ exponential = { mean_s = 30 } }`"
)]
struct ExponentialArrivals {
    mean_s: f64,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "the time between jobs in seconds, as in `{ constant = { interval_s = 60 } }`"
)]
struct ConstantArrivals {
    interval_s: f64,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "the class's share of all jobs, as in `{ share = { share = 0.2 } }`"
)]
struct ShareArrivals {
    share: f64,
}

/// Reads a one-key table: the key (the kind) from `map`, then `body` reads the value for
/// that kind; `forms` is what the key accepts, for every error.
fn one_key<'de, A, T>(
    mut map: A,
    forms: &str,
    body: impl FnOnce(&str, &mut A) -> Option<Result<T, A::Error>>,
) -> Result<T, A::Error>
where
    A: MapAccess<'de>,
{
    let Some(kind) = map.next_key::<String>()? else {
        return Err(de::Error::custom(format!(
            "an empty table; expected {forms}"
        )));
    };
    let value = match body(&kind, &mut map) {
        Some(value) => value?,
        None => {
            return Err(de::Error::custom(format!(
                "unknown kind `{kind}`; expected {forms}"
            )));
        }
    };
    if let Some(extra) = map.next_key::<String>()? {
        return Err(de::Error::custom(format!(
            "a second key `{extra}` after `{kind}`; expected {forms}"
        )));
    }
    Ok(value)
}

struct DistVisitor;

impl<'de> Visitor<'de> for DistVisitor {
    type Value = Dist;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(DIST_FORMS)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Dist, A::Error> {
        one_key(map, DIST_FORMS, |kind, map| {
            Some(match kind {
                "constant" => map.next_value::<Number>().map(|n| Dist::Constant(n.0)),
                "uniform" => map.next_value::<UniformBody>().map(|b| Dist::Uniform {
                    min: b.min,
                    max: b.max,
                }),
                "exponential" => map
                    .next_value::<ExponentialBody>()
                    .map(|b| Dist::Exponential { mean: b.mean }),
                "normal" => map.next_value::<NormalBody>().map(|b| Dist::Normal {
                    mean: b.mean,
                    std: b.std,
                    min: b.min,
                    max: b.max,
                }),
                "lognormal" => map.next_value::<LognormalBody>().map(|b| Dist::Lognormal {
                    mean: b.mean,
                    std: b.std,
                }),
                "choice" => map.next_value::<ChoiceBody>().map(|b| Dist::Choice {
                    values: b.values,
                    weights: b.weights,
                }),
                "empirical" => map
                    .next_value::<EmpiricalBody>()
                    .map(|b| Dist::Empirical { points: b.points }),
                _ => return None,
            })
        })
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DistVisitor)
    }
}

struct ArrivalsVisitor;

impl<'de> Visitor<'de> for ArrivalsVisitor {
    type Value = Arrivals;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ARRIVAL_FORMS)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Arrivals, A::Error> {
        one_key(map, ARRIVAL_FORMS, |kind, map| {
            Some(match kind {
                "exponential" => map
                    .next_value::<ExponentialArrivals>()
                    .map(|b| Arrivals::Exponential { mean_s: b.mean_s }),
                "constant" => map
                    .next_value::<ConstantArrivals>()
                    .map(|b| Arrivals::Constant {
                        interval_s: b.interval_s,
                    }),
                "share" => map
                    .next_value::<ShareArrivals>()
                    .map(|b| Arrivals::Share { share: b.share }),
                _ => return None,
            })
        })
    }
}

impl<'de> Deserialize<'de> for Arrivals {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArrivalsVisitor)
    }
}
