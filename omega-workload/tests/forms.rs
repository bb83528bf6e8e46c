//! TOML errors for distributions and arrival processes speak the config's language: a
//! value of the wrong shape says which forms the key accepts, with an example, and never
//! names a Rust type; every form that is written can be read back.

use omega_workload::{ARRIVAL_FORMS, Arrivals, DIST_FORMS, Dist};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize, PartialEq)]
struct Row {
    tasks: Dist,
    arrivals: Arrivals,
}

fn error(text: &str) -> String {
    match toml::from_str::<Row>(text) {
        Ok(row) => panic!("{text:?} parsed as {row:?}"),
        Err(e) => e.to_string(),
    }
}

const GOOD_ARRIVALS: &str = "arrivals = { constant = { interval_s = 60 } }";

#[test]
fn a_wrong_shape_lists_the_forms_with_examples() {
    let cases = [
        ("tasks = 50", "integer `50`", DIST_FORMS),
        ("tasks = \"lognormal\"", "string \"lognormal\"", DIST_FORMS),
        ("tasks = [1, 2]", "sequence", DIST_FORMS),
        ("tasks = {}", "an empty table", DIST_FORMS),
        (
            "tasks = { constnt = 5 }",
            "unknown kind `constnt`",
            DIST_FORMS,
        ),
        (
            "tasks = { constant = 5, uniform = { min = 1, max = 2 } }",
            "a second key `uniform` after `constant`",
            DIST_FORMS,
        ),
        (
            "tasks = { constant = { value = 5 } }",
            "a number, as in `{ constant = 5 }`",
            "",
        ),
        (
            "tasks = { normal = 1 }",
            "the normal law's parameters, as in `{ normal = { mean = 2, std = 1, min = 0.1 } }`",
            "",
        ),
        (
            "tasks = { lognormal = { mean = 10 } }",
            "missing field `std`",
            "",
        ),
    ];
    for (line, what, forms) in cases {
        let e = error(&format!("{line}\n{GOOD_ARRIVALS}\n"));
        assert!(e.contains(what), "{line}: {e}");
        assert!(e.contains(forms), "{line}: {e}");
        assert!(
            !e.contains("Dist::") && !e.contains("variant"),
            "{line}: {e}"
        );
    }
    let arrivals = [
        (
            "arrivals = { constant = 2 }",
            "the time between jobs in seconds, as in `{ constant = { interval_s = 60 } }`",
        ),
        ("arrivals = 10", ARRIVAL_FORMS),
        ("arrivals = { poisson = { mean_s = 10 } }", ARRIVAL_FORMS),
        (
            "arrivals = { exponential = { mean = 10 } }",
            "unknown field `mean`, expected `mean_s`",
        ),
    ];
    for (line, what) in arrivals {
        let e = error(&format!("tasks = {{ constant = 1 }}\n{line}\n"));
        assert!(e.contains(what), "{line}: {e}");
        assert!(
            !e.contains("Arrivals::") && !e.contains("variant"),
            "{line}: {e}"
        );
    }
}

#[test]
fn every_form_reads_back_what_is_written() {
    let dists = [
        Dist::Constant(5.0),
        Dist::Uniform {
            min: 1.0,
            max: 10.0,
        },
        Dist::Exponential { mean: 30.0 },
        Dist::Normal {
            mean: 2.0,
            std: 1.0,
            min: Some(0.1),
            max: None,
        },
        Dist::Normal {
            mean: 2.0,
            std: 1.0,
            min: None,
            max: Some(4.0),
        },
        Dist::Lognormal {
            mean: 10.0,
            std: 50.0,
        },
        Dist::Choice {
            values: vec![1.0, 2.0],
            weights: vec![3.0, 1.0],
        },
        Dist::Empirical {
            points: vec![(1.0, 0.5), (10.0, 1.0)],
        },
    ];
    let arrivals = [
        Arrivals::Exponential { mean_s: 30.0 },
        Arrivals::Constant { interval_s: 60.0 },
        Arrivals::Share { share: 0.2 },
    ];
    for tasks in &dists {
        for a in &arrivals {
            let row = Row {
                tasks: tasks.clone(),
                arrivals: a.clone(),
            };
            let text = toml::to_string(&row).unwrap();
            assert_eq!(toml::from_str::<Row>(&text).unwrap(), row, "{text}");
            let json = serde_json::to_string(&row).unwrap();
            assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), row, "{json}");
        }
    }
    // The documented examples parse, integers included.
    let row: Row =
        toml::from_str(&format!("tasks = {{ constant = 11 }}\n{GOOD_ARRIVALS}")).unwrap();
    assert_eq!(row.tasks, Dist::Constant(11.0));
}
