//! `cargo xtask experiment` as a user meets it: help, the list, and clear errors with a
//! non-zero exit for an unknown experiment, an unknown `--set` key and a value of the wrong
//! type (none of these cases runs a simulation).

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_names_every_option() {
    let o = xtask(&["experiment", "--help"]);
    assert!(o.status.success(), "{}", text(&o));
    let help = text(&o);
    for option in [
        "--config", "--list", "--quick", "--seed", "--seeds", "--set", "--jobs", "--out",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
}

#[test]
fn list_shows_each_experiment_with_its_description() {
    let o = xtask(&["experiment", "--list"]);
    assert!(o.status.success(), "{}", text(&o));
    let list = String::from_utf8_lossy(&o.stdout);
    let line = list
        .lines()
        .find(|l| l.starts_with("architectures "))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("Monolithic, two-level and Omega"), "{line}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["experiment", "architecturs"],
            &["no experiment `architecturs`", "architectures"],
        ),
        (
            &["experiment", "--quick", "--set", "cluster.machinez=5"],
            &["unknown key `machinez`", "nearest known key is `machines`"],
        ),
        (
            &["experiment", "--quick", "--set", "cluster.machines=lots"],
            &["cluster.machines=lots", "invalid type"],
        ),
        (&["experiment", "--seeds", "9..2"], &["--seeds"]),
        (&["experiment", "--jobs", "0"], &["--jobs"]),
    ];
    for (args, expected) in cases {
        let o = xtask(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let message = text(&o);
        for e in expected {
            assert!(
                message.contains(e),
                "{args:?}: `{e}` missing from:\n{message}"
            );
        }
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}
