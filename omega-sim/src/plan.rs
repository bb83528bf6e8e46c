//! Experiment files with variants, sweeps and a quick form, expanded into the list of runs
//! they describe ([`ExperimentPlan`]).
//!
//! An experiment file is an [`Experiment`] plus three optional tables:
//!
//! ```toml
//! description = "Omega against two-level on growing cells"   # one line for `--list`
//! seed = 42
//! horizon_us = 86_400_000_000
//! [cluster]
//! preset = "seed"
//! [workload]
//! load = 0.7
//!
//! [[variants]]                  # named overrides of any key, merged into the base
//! name = "omega"
//! architecture.kind = "omega"
//! architecture.schedulers = [{ name = "all", policy = { kind = "batch" } }]
//!
//! [[variants]]
//! name = "two-level"
//! architecture.kind = "two-level"
//! architecture.schedulers = [{ name = "all", policy = { kind = "batch" } }]
//!
//! [sweep]                        # key path -> values; several keys form a grid
//! "cluster.machines" = [50, 100]
//!
//! [quick]                        # overrides for `--quick` (a `sweep` table inside replaces lists)
//! horizon_us = 600_000_000
//! sweep = { "cluster.machines" = [50] }
//! ```
//!
//! Each run's configuration is the base, then its variant, then `[quick]` (with `--quick`),
//! then its sweep point, merged key by key (tables merge, everything else replaces). Runs
//! are ordered variant by variant (file order), then by sweep point (keys in name order, then
//! `--set` keys in the order given, the last key varying fastest), then by seed.
//!
//! ```
//! use omega_sim::{ExperimentPlan, PlanOptions};
//! let text = r#"
//!     horizon_us = 60_000_000
//!     [architecture]
//!     schedulers = [{ name = "all", policy = { kind = "batch" } }]
//!     [sweep]
//!     "cluster.machines" = [50, 100]
//! "#;
//! let options = PlanOptions { seeds: vec![1, 2], ..PlanOptions::default() };
//! let plan = ExperimentPlan::from_toml("demo", text, &options)?;
//! assert_eq!(plan.runs.len(), 4);
//! assert_eq!(plan.runs[1].id, "omega cluster.machines=50 seed=2");
//! assert_eq!(plan.runs[2].experiment.cluster.machines, Some(100));
//! # Ok::<(), omega_sim::SimError>(())
//! ```

use std::collections::BTreeMap;

use crate::{Experiment, SimError};

/// Keys of an experiment file that are not part of an [`Experiment`].
const PLAN_KEYS: [&str; 4] = ["description", "variants", "sweep", "quick"];

/// How to expand an experiment file: the command line's choices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanOptions {
    /// Apply the file's `[quick]` table (an error if it has none).
    pub quick: bool,
    /// Run every point with each of these seeds instead of the file's (empty: the file's).
    pub seeds: Vec<u64>,
    /// Extra sweep keys (`--set key.path=v1,v2`): each replaces the file's sweep of that key.
    pub set: Vec<(String, Vec<toml::Value>)>,
}

/// One simulation of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    /// Its place in the plan (0-based); outputs are written in this order.
    pub index: usize,
    /// A readable, unique id: the variant, the sweep point's `key=value`s and the seed.
    pub id: String,
    /// The variant's name (the architecture's name when the file has no variants).
    pub variant: String,
    /// The sweep point: each swept key with its value here.
    pub point: Vec<(String, toml::Value)>,
    /// The resolved experiment.
    pub experiment: Experiment,
}

impl PlannedRun {
    /// The resolved experiment as TOML (what the report shows).
    pub fn resolved_toml(&self) -> String {
        toml::to_string(&self.experiment).unwrap_or_else(|e| format!("# not printable: {e}"))
    }
}

/// An experiment file expanded into its runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentPlan {
    /// The experiment's name (its file stem).
    pub name: String,
    /// Its `description` line (empty if the file has none).
    pub description: String,
    /// The keys that vary across runs, in grid order.
    pub sweep_keys: Vec<String>,
    /// The runs, in output order.
    pub runs: Vec<PlannedRun>,
}

impl ExperimentPlan {
    /// Whether an experiment file has a `[quick]` table, i.e. a `--quick` form.
    ///
    /// ```
    /// use omega_sim::ExperimentPlan;
    /// assert!(ExperimentPlan::has_quick_form("[quick]\nhorizon_us = 1")?);
    /// assert!(!ExperimentPlan::has_quick_form("description = \"x\"")?);
    /// # Ok::<(), omega_sim::SimError>(())
    /// ```
    pub fn has_quick_form(text: &str) -> Result<bool, SimError> {
        let file: toml::Table = toml::from_str(text)?;
        Ok(file.contains_key("quick"))
    }

    /// Reads an experiment file and expands it. Errors name the variant, the key path and,
    /// for an unknown key, the nearest known one.
    pub fn from_toml(name: &str, text: &str, options: &PlanOptions) -> Result<Self, SimError> {
        let mut file: toml::Table = toml::from_str(text)?;
        let description = match file.remove("description") {
            None => String::new(),
            Some(toml::Value::String(s)) => s,
            Some(_) => return Err(config_error("description", "must be a string")),
        };
        let variants = take_variants(&mut file)?;
        let mut sweep = take_sweep(file.remove("sweep"), "sweep")?;
        let mut quick = match file.remove("quick") {
            None => None,
            Some(toml::Value::Table(t)) => Some(t),
            Some(_) => return Err(config_error("quick", "must be a table")),
        };
        if options.quick {
            let Some(q) = quick.as_mut() else {
                return Err(config_error(
                    "quick",
                    &format!("experiment `{name}` has no [quick] table, so it has no --quick form"),
                ));
            };
            for (key, values) in take_sweep(q.remove("sweep"), "quick.sweep")? {
                sweep.insert(key, values);
            }
        }
        let mut sweep_keys: Vec<String> = sweep.keys().cloned().collect();
        for (key, values) in &options.set {
            if values.is_empty() {
                return Err(config_error(key, "--set needs at least one value"));
            }
            sweep.insert(key.clone(), values.clone());
            sweep_keys.retain(|k| k != key);
            sweep_keys.push(key.clone());
        }
        let grid = grid(&sweep_keys, &sweep);
        let quick = quick.filter(|_| options.quick);
        let mut runs = Vec::new();
        for (variant_name, variant) in &variants {
            let mut base = file.clone();
            merge(&mut base, variant.clone());
            if let Some(q) = &quick {
                merge(&mut base, q.clone());
            }
            for point in &grid {
                expand_point(&base, variant_name.as_deref(), point, options, &mut runs)?;
            }
        }
        Ok(Self {
            name: name.to_owned(),
            description,
            sweep_keys,
            runs,
        })
    }

    /// The file's `description` without expanding it (for `--list`): the `description`
    /// key, or else the comment lines the file opens with, joined.
    pub fn description_of(text: &str) -> Result<String, SimError> {
        let file: toml::Table = toml::from_str(text)?;
        if let Some(toml::Value::String(s)) = file.get("description") {
            return Ok(s.clone());
        }
        let opening: Vec<&str> = text
            .lines()
            .map(str::trim)
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').trim())
            .collect();
        Ok(opening.join(" ").trim().to_owned())
    }
}

/// Parses a `--set key.path=v1,v2,...` argument. Each value is read as a TOML value (`50`,
/// `0.5`, `true`, `"text"`); anything else is taken as a string (`omega`).
///
/// ```
/// let (key, values) = omega_sim::parse_set("cluster.machines=50,100")?;
/// assert_eq!(key, "cluster.machines");
/// assert_eq!(values, vec![toml::Value::Integer(50), toml::Value::Integer(100)]);
/// # Ok::<(), omega_sim::SimError>(())
/// ```
pub fn parse_set(arg: &str) -> Result<(String, Vec<toml::Value>), SimError> {
    let Some((key, values)) = arg.split_once('=') else {
        return Err(config_error(
            arg,
            "--set wants key.path=value[,value...], e.g. --set cluster.machines=50,100",
        ));
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(config_error(arg, "the key path has an empty part"));
    }
    let values = values
        .split(',')
        .map(|v| parse_value(v.trim()))
        .collect::<Vec<_>>();
    if values.iter().any(|v| v.as_str() == Some("")) {
        return Err(config_error(key, "--set has an empty value"));
    }
    Ok((key.to_owned(), values))
}

/// Parses `--seeds`: a range `A..B` (both ends included: `1..5` is five seeds) or a list
/// `1,2,7`.
///
/// ```
/// assert_eq!(omega_sim::parse_seeds("1..3")?, vec![1, 2, 3]);
/// assert_eq!(omega_sim::parse_seeds("7,9")?, vec![7, 9]);
/// assert!(omega_sim::parse_seeds("5..1").is_err());
/// # Ok::<(), omega_sim::SimError>(())
/// ```
pub fn parse_seeds(arg: &str) -> Result<Vec<u64>, SimError> {
    let bad = || config_error("--seeds", "wants A..B (both included) or a list like 1,2,7");
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    if let Some((a, b)) = arg.split_once("..") {
        let (a, b) = (number(a)?, number(b.trim_start_matches('='))?);
        if a > b || b - a >= 10_000 {
            return Err(config_error(
                "--seeds",
                "the range must go up and hold at most 10,000 seeds",
            ));
        }
        return Ok((a..=b).collect());
    }
    arg.split(',').map(number).collect()
}

fn config_error(field: &str, reason: &str) -> SimError {
    SimError::Config {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `[[variants]]` of a file, each as its name and its overrides; one unnamed variant
/// (no overrides) when the file has none.
type Variants = Vec<(Option<String>, toml::Table)>;

fn take_variants(file: &mut toml::Table) -> Result<Variants, SimError> {
    let Some(value) = file.remove("variants") else {
        return Ok(vec![(None, toml::Table::new())]);
    };
    let toml::Value::Array(items) = value else {
        return Err(config_error(
            "variants",
            "must be an array of tables ([[variants]])",
        ));
    };
    if items.is_empty() {
        return Err(config_error("variants", "is empty: give at least one"));
    }
    let mut out: Variants = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let toml::Value::Table(mut t) = item else {
            return Err(config_error(&format!("variants[{i}]"), "must be a table"));
        };
        let Some(toml::Value::String(name)) = t.remove("name") else {
            return Err(config_error(
                &format!("variants[{i}].name"),
                "every variant needs a `name` string",
            ));
        };
        if out.iter().any(|(n, _)| n.as_deref() == Some(name.as_str())) {
            return Err(config_error(
                &format!("variants[{i}].name"),
                &format!("`{name}` names two variants"),
            ));
        }
        if let Some(key) = PLAN_KEYS.iter().find(|k| t.contains_key(**k)) {
            return Err(config_error(
                &format!("variants[{i}].{key}"),
                "belongs at the top of the file, not in a variant",
            ));
        }
        out.push((Some(name), t));
    }
    Ok(out)
}

fn take_sweep(
    value: Option<toml::Value>,
    field: &str,
) -> Result<BTreeMap<String, Vec<toml::Value>>, SimError> {
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let toml::Value::Table(t) = value else {
        return Err(config_error(
            field,
            "must be a table of key path -> list of values",
        ));
    };
    let mut out = BTreeMap::new();
    for (key, values) in t {
        match values {
            toml::Value::Array(v) if !v.is_empty() => {
                out.insert(key, v);
            }
            _ => {
                return Err(config_error(
                    &format!("{field}.\"{key}\""),
                    "must be a non-empty list of values, e.g. [50, 100]",
                ));
            }
        }
    }
    Ok(out)
}

/// Every combination of the swept keys' values, the last key varying fastest.
fn grid(
    keys: &[String],
    sweep: &BTreeMap<String, Vec<toml::Value>>,
) -> Vec<Vec<(String, toml::Value)>> {
    let mut points: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for key in keys {
        let values = &sweep[key];
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

/// Merges `over` into `base`: tables merge key by key, everything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Sets `path` (dotted; numbers index arrays) in `table`, making tables on the way.
fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) -> Result<(), SimError> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut here = table;
    for (depth, part) in parts.iter().enumerate() {
        let last = depth + 1 == parts.len();
        if last {
            here.insert((*part).to_owned(), value);
            return Ok(());
        }
        let next = here
            .entry((*part).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = match next {
            toml::Value::Table(t) => t,
            toml::Value::Array(items) => {
                let rest = parts[depth + 1..].join(".");
                let (index, tail) = rest.split_once('.').unwrap_or((rest.as_str(), ""));
                let i: usize = index.parse().map_err(|_| {
                    config_error(path, &format!("`{part}` is a list: index it with a number"))
                })?;
                let len = items.len();
                let Some(item) = items.get_mut(i) else {
                    return Err(config_error(
                        path,
                        &format!("`{part}` has {len} entries, no index {i}"),
                    ));
                };
                if tail.is_empty() {
                    *item = value;
                    return Ok(());
                }
                let toml::Value::Table(t) = item else {
                    return Err(config_error(path, &format!("`{part}.{i}` is not a table")));
                };
                return set_path(t, tail, value);
            }
            _ => {
                return Err(config_error(
                    path,
                    &format!("`{part}` is a value, not a table"),
                ));
            }
        };
    }
    Ok(())
}

fn run_context(variant: Option<&str>, point: &[(String, toml::Value)]) -> String {
    let mut parts = Vec::new();
    if let Some(v) = variant {
        parts.push(format!("variant `{v}`"));
    }
    for (k, v) in point {
        parts.push(format!("{k}={}", value_text(v)));
    }
    parts.join(", ")
}

/// Builds and checks one run's experiment; an unknown key names the nearest known one.
fn resolve(table: &toml::Table, context: &str) -> Result<Experiment, SimError> {
    let text = toml::to_string(table).map_err(|e| config_error(context, &e.to_string()))?;
    Experiment::from_toml(&text).map_err(|e| {
        let reason = match unknown_key_hint(&e.to_string()) {
            Some(hint) => format!("{hint}\n{e}"),
            None => e.to_string(),
        };
        if context.is_empty() {
            SimError::Config {
                field: "experiment".to_owned(),
                reason,
            }
        } else {
            SimError::Config {
                field: context.to_owned(),
                reason,
            }
        }
    })
}

/// From serde's "unknown field `x`, expected one of `a`, `b`", the sentence naming the
/// nearest known key.
fn unknown_key_hint(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let (unknown, rest) = rest.split_once('`')?;
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let nearest = known
        .iter()
        .min_by_key(|k| strsim::levenshtein(unknown, k))?;
    Some(format!(
        "unknown key `{unknown}`: the nearest known key is `{nearest}`"
    ))
}

/// The runs of one grid point of one variant (`base`: the file with the variant merged in),
/// one per seed, appended to `runs` in order.
fn expand_point(
    base: &toml::Table,
    variant_name: Option<&str>,
    point: &[(String, toml::Value)],
    options: &PlanOptions,
    runs: &mut Vec<PlannedRun>,
) -> Result<(), SimError> {
    let mut table = base.clone();
    for (key, value) in point {
        set_path(&mut table, key, value.clone())?;
    }
    let context = run_context(variant_name, point);
    let experiment = resolve(&table, &context)?;
    let seeds = if options.seeds.is_empty() {
        vec![experiment.seed]
    } else {
        options.seeds.clone()
    };
    let variant = variant_name
        .map(str::to_owned)
        .unwrap_or_else(|| experiment.architecture.kind.name().to_owned());
    for seed in seeds {
        let mut experiment = experiment.clone();
        experiment.seed = seed;
        let mut id = variant.clone();
        for (k, v) in point {
            id.push_str(&format!(" {k}={}", value_text(v)));
        }
        id.push_str(&format!(" seed={seed}"));
        runs.push(PlannedRun {
            index: runs.len(),
            id,
            variant: variant.clone(),
            point: point.to_vec(),
            experiment,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const BASE: &str = r#"
        seed = 3
        horizon_us = 60_000_000
        [cluster]
        machines = 50
        [architecture]
        schedulers = [{ name = "all", policy = { kind = "batch" } }]
    "#;

    #[test]
    fn descriptions_come_from_the_key_or_the_opening_comment() {
        let commented = format!("# One line,\n# and its rest.\n{BASE}");
        assert_eq!(
            ExperimentPlan::description_of(&commented).unwrap(),
            "One line, and its rest."
        );
        let keyed = format!("description = \"Keyed\"\n{commented}");
        assert_eq!(ExperimentPlan::description_of(&keyed).unwrap(), "Keyed");
        assert_eq!(ExperimentPlan::description_of(BASE).unwrap(), "");
    }

    #[test]
    fn a_plain_experiment_is_one_run() {
        let plan = ExperimentPlan::from_toml("x", BASE, &PlanOptions::default()).unwrap();
        assert_eq!(plan.runs.len(), 1);
        assert_eq!(plan.runs[0].id, "omega seed=3");
        assert_eq!(
            plan.runs[0].experiment,
            Experiment::from_toml(BASE).unwrap()
        );
    }

    #[test]
    fn variants_quick_and_sweeps_merge_in_order() {
        let text = format!(
            "{BASE}\n{}",
            r#"
            [[variants]]
            name = "two"
            architecture.kind = "two-level"
            [[variants]]
            name = "mono"
            architecture.kind = "monolithic-single-path"
            timing.retry_delay_us = 5
            [sweep]
            "cluster.machines" = [100, 200]
            "workload.load" = [0.3, 0.5]
            [quick]
            horizon_us = 1_000
            timing.retry_delay_us = 7
            sweep = { "cluster.machines" = [60] }
        "#
        );
        let full = ExperimentPlan::from_toml("x", &text, &PlanOptions::default()).unwrap();
        assert_eq!(full.runs.len(), 8);
        assert_eq!(full.sweep_keys, vec!["cluster.machines", "workload.load"]);
        assert_eq!(
            full.runs[1].id,
            "two cluster.machines=100 workload.load=0.5 seed=3"
        );
        assert_eq!(full.runs[5].experiment.timing.retry_delay_us, 5);
        assert_eq!(full.runs[7].experiment.cluster.machines, Some(200));
        assert_eq!(full.runs[7].experiment.horizon_us, 60_000_000);
        let quick = PlanOptions {
            quick: true,
            ..PlanOptions::default()
        };
        let q = ExperimentPlan::from_toml("x", &text, &quick).unwrap();
        assert_eq!(q.runs.len(), 4);
        assert!(q.runs.iter().all(|r| r.experiment.horizon_us == 1_000));
        assert!(
            q.runs
                .iter()
                .all(|r| r.experiment.cluster.machines == Some(60))
        );
        // [quick] comes after the variant: the variant's retry delay is overridden.
        assert_eq!(q.runs[3].experiment.timing.retry_delay_us, 7);
    }

    #[test]
    fn set_adds_a_grid_dimension_and_seeds_repeat_points() {
        let options = PlanOptions {
            seeds: vec![1, 2],
            set: vec![
                parse_set("cluster.machines=50,60,70").unwrap(),
                parse_set("architecture.schedulers.0.policy.kind=batch,service").unwrap(),
            ],
            ..PlanOptions::default()
        };
        let plan = ExperimentPlan::from_toml("x", BASE, &options).unwrap();
        assert_eq!(plan.runs.len(), 12);
        let ids: Vec<&str> = plan.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids[..3],
            [
                "omega cluster.machines=50 architecture.schedulers.0.policy.kind=batch seed=1",
                "omega cluster.machines=50 architecture.schedulers.0.policy.kind=batch seed=2",
                "omega cluster.machines=50 architecture.schedulers.0.policy.kind=service seed=1",
            ]
        );
        assert_eq!(plan.runs[11].experiment.cluster.machines, Some(70));
        assert_eq!(plan.runs[11].experiment.seed, 2);
    }

    #[test]
    fn bad_plans_are_clear_errors() {
        let err = |text: &str, options: &PlanOptions| {
            ExperimentPlan::from_toml("x", text, options)
                .unwrap_err()
                .to_string()
        };
        let set = |arg: &str| PlanOptions {
            set: vec![parse_set(arg).unwrap()],
            ..PlanOptions::default()
        };
        let typo = err(BASE, &set("cluster.machinez=5"));
        assert!(
            typo.contains("unknown key `machinez`: the nearest known key is `machines`"),
            "{typo}"
        );
        let wrong_type = err(BASE, &set("cluster.machines=many"));
        assert!(
            wrong_type.contains("cluster.machines=many") && wrong_type.contains("invalid type"),
            "{wrong_type}"
        );
        let index = err(BASE, &set("architecture.schedulers.3.count=2"));
        assert!(index.contains("has 1 entries, no index 3"), "{index}");
        let no_quick = err(
            BASE,
            &PlanOptions {
                quick: true,
                ..PlanOptions::default()
            },
        );
        assert!(no_quick.contains("has no [quick] table"), "{no_quick}");
        let unnamed = err(&format!("{BASE}\n[[variants]]\nseed = 1"), &set("seed=1"));
        assert!(unnamed.contains("variants[0].name"), "{unnamed}");
        let empty_sweep = err(
            &format!("{BASE}\n[sweep]\n\"seed\" = []"),
            &PlanOptions::default(),
        );
        assert!(empty_sweep.contains("non-empty list"), "{empty_sweep}");
        assert!(parse_set("cluster.machines").is_err());
        assert!(parse_set("a..b=1").is_err());
        assert!(parse_seeds("x..3").is_err());
    }
}
